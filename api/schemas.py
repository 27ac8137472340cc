"""Response models of the public API: French field names, stable contract."""

from __future__ import annotations

import datetime as dt
import re

from pydantic import BaseModel, ConfigDict, computed_field


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
        """« 0 800 23 13 13 » → « tel:+33800231313 »; short numbers (« 39 89 ») stay short."""
        if not self.telephone:
            return None
        digits = re.sub(r"\D", "", self.telephone)
        if len(digits) == 10 and digits.startswith("0"):
            return f"tel:+33{digits[1:]}"
        return f"tel:{digits}"


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
