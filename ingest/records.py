"""What every parser yields: usable records and rejected rows, in one normalised shape.

A ``Record`` carries the fields of one offer (and of its structure when the source knows it),
so that one publishing step serves every source. ``champs`` keys:

- offer: ``nom`` (display form, see ``cartographie.noms``), ``nom_source`` (as the source
  wrote it), ``description``, ``adresse``, ``code_postal``, ``ville``, ``code_commune``,
  ``telephone``, ``site_web``, ``reservation_url``, ``horaires`` (OSM opening_hours),
  ``accessibilite`` (dict), ``gratuit``, ``age_min``, ``age_max``, ``modalites`` (list),
  ``types_offre`` (list of slugs), ``attributs`` (source attributes read by the jeux rules);
- ``structure`` (optional dict): ``finess_et``, ``finess_ej``, ``siret``, ``nom``,
  ``nom_long``, ``categorie_finess``, ``categorie_finess_libelle``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cartographie.noms import adresse_affichage, nom_affichage


@dataclass
class Record:
    """One usable row or resource of a source, normalised, with its raw payload."""

    cle: str
    ligne: int | None
    brut: dict[str, Any]
    champs: dict[str, Any]
    lon: float | None = None
    lat: float | None = None


def noms(nom: str, adresse: str | None) -> dict[str, str | None]:
    """Name and address as people read them, and the source's name kept for search."""
    source = " ".join(nom.split())
    return {"nom": nom_affichage(source) or source, "nom_source": source,
            "adresse": adresse_affichage(adresse) or None}


@dataclass
class Rejection:
    """A row that cannot be used: kept in quarantine with where it was and why, in French."""

    ligne: int | None
    ressource: str | None
    raison: str
    contenu: str | None = None


@dataclass
class OutOfScope:
    """A valid row this service does not publish (e.g. a hospital): counted, not quarantined."""

    ligne: int | None


class WrongFormat(Exception):
    """The file is not of the expected kind at all: the run fails and nothing is published."""
