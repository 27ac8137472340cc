"""Response models of the public API: French field names, stable contract."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from cartographie.contacts import telephone_uri


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CarteResume(Schema):
    slug: str
    nom: str
    resume: str


class ThemeOut(Schema):
    slug: str
    nom: str
    description: str
    cartes: list[CarteResume]


class ThemeRef(Schema):
    slug: str
    nom: str


class TypeOffreOut(Schema):
    slug: str
    libelle: str
    description: str


class BesoinOut(Schema):
    slug: str
    libelle: str
    description: str
    types_offre: list[str]


class RessourceBase(Schema):
    slug: str
    nom: str
    description: str
    telephone: str | None
    url: str | None
    horaires: str | None
    cout: str | None


class RessourceOut(RessourceBase):
    verifie_le: dt.date

    @computed_field
    @property
    def telephone_uri(self) -> str | None:
        return telephone_uri(self.telephone)


class JeuOut(Schema):
    slug: str
    nom: str
    description: str
    nombre_offres: int


class CarteOut(Schema):
    slug: str
    nom: str
    theme: ThemeRef
    resume: str
    texte_editorial: str
    ressources: list[RessourceOut]
    besoins: list[BesoinOut]
    types_offre: list[TypeOffreOut]
    jeux: list[JeuOut]


# -- orientation (GET /api/v1/orientation) ------------------------------------------------
class PublicOut(Schema):
    """Whom a jeu or a resource serves: ages inclusive (none: no bound), reserved publics."""

    age_min: int | None = None
    age_max: int | None = None
    publics: list[str] = []


class JeuOrientation(Schema):
    slug: str
    nom: str
    description: str
    public: PublicOut


class SectionOrientation(Schema):
    """One jeu of the card, in the card's order (specialised first)."""

    jeu: JeuOrientation
    rayon_km: float | None = Field(description="Distance de l'offre la plus lointaine montrée")
    offres: list[dict[str, Any]] = Field(
        description="Les offres adaptées les plus proches de ce jeu, comme dans /api/v1/offres, "
                    "avec « jeu » : le jeu qui les amène (pourquoi elles sont là)")


class RessourceOrientation(RessourceBase):
    public: PublicOut


class BesoinRef(Schema):
    slug: str
    libelle: str


class CarteOrientation(Schema):
    carte: CarteResume
    besoin: BesoinRef | None = Field(description="Le besoin choisi sur cette carte, s'il y en a")
    rayon_km: float | None
    jeux: list[SectionOrientation]
    ressources: list[RessourceOrientation] = Field(
        description="Les aides à distance de la carte ouvertes à l'âge de la personne")


class LieuOut(Schema):
    libelle: str
    lon: float
    lat: float
    precision: str
    code_commune: str | None


class OrientationOut(Schema):
    lieu: LieuOut
    age: int | None
    date: dt.date = Field(description="Le jour de la réponse : celui demandé, ou aujourd'hui")
    cartes: list[CarteOrientation]
