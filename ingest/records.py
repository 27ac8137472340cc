"""What every parser yields: usable records and rejected rows, in one normalised shape.

A ``Record`` carries the fields of one offer (and of its structure when the source knows it),
so that one publishing step serves every source. ``champs`` keys:

- offer: ``nom``, ``description``, ``adresse``, ``code_postal``, ``ville``, ``code_commune``,
  ``telephone``, ``site_web``, ``reservation_url``, ``horaires`` (OSM opening_hours),
  ``accessibilite`` (dict), ``gratuit``, ``age_min``, ``age_max``, ``modalites`` (list),
  ``types_offre`` (list of slugs), ``attributs`` (source attributes read by the jeux rules);
- ``structure`` (optional dict): ``finess_et``, ``finess_ej``, ``siret``, ``nom``,
  ``nom_long``, ``categorie_finess``, ``categorie_finess_libelle``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Record:
    """One usable row or resource of a source, normalised, with its raw payload."""

    cle: str
    ligne: int | None
    brut: dict[str, Any]
    champs: dict[str, Any]
    lon: float | None = None
    lat: float | None = None


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
