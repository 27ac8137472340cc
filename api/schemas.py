"""Response models of the public API: French field names, stable contract."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, computed_field

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


class RessourceOut(Schema):
    slug: str
    nom: str
    description: str
    telephone: str | None
    url: str | None
    horaires: str | None
    cout: str | None
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
