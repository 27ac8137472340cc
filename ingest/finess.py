"""What the three FINESS formats share: numbers and their key, categories, offer fields.

Each FINESS establishment (ET) in a prevention-relevant category becomes a structure and
one offer. Which categories are relevant, and the kinds of offer, gratuité and public they
imply, is the table ``data/finess/categories.csv`` (formats.md §1.4), not code.

Some services are filed under the category of the hospital that runs them: 471 CMP of the
national file are ET of a psychiatric or general hospital (292, 355…), the only CMP of
Martinique among them. ``data/finess/reclassements.csv`` names them by their name, so they
are offered as what they are while the structure keeps its declared category.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from cartographie.territoires import in_france
from ingest.projections import repair_overseas
from ingest.records import OutOfScope, Record, Rejection, noms

FINESS_PATTERN = re.compile(r"^[0-9][0-9AB][0-9]{7}$")
SOURCE = "finess"


def luhn_ok(number: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def finess_problem(number: str | None) -> str | None:
    """Why a FINESS number is unusable, in French, or ``None`` when it is fine.

    Corsican numbers (2A/2B) are checked against the pattern only: how their letters enter
    the key is not documented (formats.md §1.3).
    """
    if not number:
        return "numéro FINESS absent"
    if not FINESS_PATTERN.match(number):
        return f"numéro FINESS « {number} » mal formé (9 caractères attendus)"
    if number[1] not in "AB" and not luhn_ok(number):
        return f"numéro FINESS « {number} » : clé de contrôle invalide"
    return None


def display_phone(raw: str | None) -> str | None:
    """« 0474454647 » → « 04 74 45 46 47 »; other forms are kept as written."""
    if not raw:
        return None
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 10:
        return " ".join(digits[i : i + 2] for i in range(0, 10, 2))
    return raw.strip() or None


@dataclass(frozen=True)
class Category:
    code: str
    libelle: str
    code_agrege: str
    prevention: bool
    types_offre: tuple[str, ...]
    gratuit: bool | None
    age_min: int | None
    age_max: int | None
    # Out of scope, except an ET whose name matches: then it is offered as ``comme``.
    reclassement: tuple[re.Pattern[str], Category] | None = None

    def for_name(self, nom: str) -> Category | None:
        """The category an ET of this category and name is offered as, or ``None``."""
        if self.prevention:
            return self
        if self.reclassement is None:
            return None
        pattern, comme = self.reclassement
        return comme if pattern.search(_comparable(nom)) else None


def _comparable(nom: str) -> str:
    """Capitals without accents, the form the reclassification patterns are written in."""
    decomposed = unicodedata.normalize("NFKD", nom.upper())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


@lru_cache
def categories(path: Path) -> dict[str, Category]:
    """The categories of ``path``, with the reclassifications of ``reclassements.csv`` beside it."""
    table = _read_categories(path)
    reclassements = path.with_name("reclassements.csv")
    if reclassements.exists():
        with reclassements.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter=";"):
                rule = (re.compile(row["nom"]), table[row["comme"]])
                for code in row["categories"].split("|"):
                    table[code] = replace(table[code], reclassement=rule)
    return table


def _read_categories(path: Path) -> dict[str, Category]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {
            row["code"]: Category(
                code=row["code"],
                libelle=row["libelle"],
                code_agrege=row["code_agrege"],
                prevention=row["prevention"] == "oui",
                types_offre=tuple(t for t in row["types_offre"].split("|") if t),
                gratuit=True if row["gratuit"] == "oui" else None,
                age_min=int(row["age_min"]) if row["age_min"] else None,
                age_max=int(row["age_max"]) if row["age_max"] else None,
            )
            for row in csv.DictReader(handle, delimiter=";")
        }


@dataclass
class Establishment:
    """A FINESS ET as any of the three formats describes it."""

    finess_et: str | None
    finess_ej: str | None
    nom: str
    nom_long: str | None
    adresse: str | None
    code_postal: str | None
    ville: str | None
    code_commune: str | None
    telephone: str | None
    siret: str | None
    categorie: str | None
    date_maj: str | None
    lon: float | None
    lat: float | None


def to_record(
    et: Establishment, ligne: int | None, ressource: str | None, brut: dict[str, Any],
    table: dict[str, Category], *, repair: bool = False,
) -> Record | Rejection | OutOfScope:
    """Check an establishment and turn it into the normalised offer record, or say why not.

    ``repair``: the source is known to have projected overseas coordinates as Lambert-93
    (the FHIR conversion); such positions are recomputed rather than rejected.
    """
    problem = finess_problem(et.finess_et)
    if problem:
        return Rejection(ligne, ressource or et.finess_et, problem)
    if not et.categorie:
        return Rejection(ligne, et.finess_et, "catégorie d'établissement absente")
    declared = table.get(et.categorie)
    if declared is None:
        return Rejection(ligne, et.finess_et,
                         f"catégorie d'établissement inconnue « {et.categorie} »")
    category = declared.for_name(et.nom)
    if category is None:
        return OutOfScope(ligne)
    repaired = False
    if et.lon is not None and et.lat is not None and not in_france(et.lon, et.lat):
        fixed = repair_overseas(et.lon, et.lat, et.code_postal) if repair else None
        if fixed is None or not in_france(*fixed):
            return Rejection(
                ligne, et.finess_et,
                f"coordonnées hors de France et de ses territoires d'outre-mer "
                f"(longitude {et.lon:.5f}, latitude {et.lat:.5f})",
            )
        et.lon, et.lat = fixed
        repaired = True
    telephone = display_phone(et.telephone)
    champs = {
        **noms(et.nom, et.adresse),
        "code_postal": et.code_postal,
        "ville": et.ville,
        "code_commune": et.code_commune,
        "telephone": telephone,
        "contacts": [{"type": "telephone", "valeur": telephone}] if telephone else [],
        "gratuit": category.gratuit,
        "age_min": category.age_min,
        "age_max": category.age_max,
        "types_offre": list(category.types_offre),
        "precision_geo": "etablissement" if et.lon is not None else "commune",
        "attributs": {
            "categorie_finess": category.code,
            "categorie_finess_agregee": category.code_agrege,
            **({"categorie_finess_declaree": declared.code} if declared is not category else {}),
            "siret": et.siret,
            "date_maj": et.date_maj,
            **({"coordonnees_reprojetees": True} if repaired else {}),
        },
        "structure": {
            "finess_et": et.finess_et,
            "finess_ej": et.finess_ej,
            "siret": et.siret,
            "nom": " ".join(et.nom.split()),
            "nom_long": " ".join(et.nom_long.split()) if et.nom_long else None,
            "categorie_finess": declared.code,
            "categorie_finess_libelle": declared.libelle,
        },
    }
    return Record(et.finess_et, ligne, brut, champs, et.lon, et.lat)
