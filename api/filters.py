"""Query parameters of the offer endpoints, validated once, in French, for every output.

One dependency turns the contract's parameters (``carte``, ``bbox``, ``lat``/``lon``/
``rayon_km``…) into ``cartographie.recherche.Filtres``; JSON, GeoJSON, OGC API and tiles use
it, so a parameter means the same everywhere and bad input is refused the same way.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends, HTTPException, Query
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.deps import get_session
from cartographie.recherche import MAX_LIMIT, MAX_RADIUS_KM, Filtres

SLUG = r"^[a-z0-9][a-z0-9-]{0,99}$"
CODE = r"^[0-9][0-9AB][0-9]{0,3}$"
SLUG_LIST = r"^[a-z0-9][a-z0-9-]{0,99}(,[a-z0-9][a-z0-9-]{0,99}){0,31}$"
SLUG_TABLES = {"carte": "carte", "theme": "theme", "besoin": "besoin",
               "type_offre": "type_offre", "jeu": "jeu"}


def parse_bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    parts = value.split(",")
    try:
        numbers = tuple(float(p) for p in parts)
    except ValueError:
        numbers = ()
    if len(numbers) != 4:
        raise HTTPException(422, "bbox : quatre nombres attendus, « minlon,minlat,maxlon,maxlat »")
    west, south, east, north = numbers
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise HTTPException(422, "bbox : il faut -180 ≤ minlon < maxlon ≤ 180 et "
                                 "-90 ≤ minlat < maxlat ≤ 90")
    return west, south, east, north


def offer_filters(
    session: Annotated[Session, Depends(get_session)],
    carte: Annotated[str | None, Query(pattern=SLUG, description="Carte thématique")] = None,
    theme: Annotated[str | None, Query(pattern=SLUG, description="Sujet clé")] = None,
    besoin: Annotated[str | None, Query(pattern=SLUG, description="Besoin exprimé")] = None,
    type_offre: Annotated[str | None, Query(pattern=SLUG, description="Type d'offre")] = None,
    jeu: Annotated[str | None, Query(pattern=SLUG_LIST, max_length=2000,
                                     description="Jeu d'offres ; plusieurs : séparés par "
                                                 "des virgules")] = None,
    age: Annotated[int | None, Query(ge=0, le=120, description="Âge de la personne")] = None,
    gratuit: Annotated[bool | None, Query(description="Seulement les offres gratuites")] = None,
    code_commune: Annotated[str | None, Query(pattern=r"^[0-9][0-9AB][0-9]{3}$")] = None,
    code_departement: Annotated[str | None, Query(pattern=r"^[0-9][0-9AB][0-9]?$")] = None,
    code_region: Annotated[str | None, Query(pattern=r"^[0-9]{2,3}$")] = None,
    bbox: Annotated[str | None, Query(max_length=200,
                                      description="minlon,minlat,maxlon,maxlat (WGS84)")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    rayon_km: Annotated[float | None, Query(ge=0.1, le=MAX_RADIUS_KM)] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200,
                                   description="Recherche en texte libre")] = None,
    a_distance: Annotated[bool, Query(description="Inclure les offres à distance")] = False,
    score_min: Annotated[int | None, Query(ge=0, le=100, description=(
        "Score de qualité minimal (0 à 100 : position, contact, horaires, public, "
        "description, fraîcheur)"))] = None,
) -> Filtres:
    if (lat is None) != (lon is None):
        raise HTTPException(422, "lat et lon vont ensemble : donnez les deux ou aucun")
    if rayon_km is not None and lat is None:
        raise HTTPException(422, "rayon_km demande un point (lat et lon)")
    jeux = jeu.split(",") if jeu else None
    values = {"carte": carte, "theme": theme, "besoin": besoin, "type_offre": type_offre}
    asked = {name: [value] for name, value in values.items() if value is not None}
    if jeux:
        asked["jeu"] = jeux
    for name, slugs in asked.items():  # one query per kind of slug, however many are asked
        known = set(session.scalars(
            text(f"SELECT slug FROM {SLUG_TABLES[name]} WHERE slug = ANY(:slugs)"),
            {"slugs": slugs}))
        unknown = next((slug for slug in slugs if slug not in known), None)
        if unknown is not None:
            raise HTTPException(422, f"{name} : valeur inconnue « {unknown} »")
    return Filtres(**values, jeu=jeux, age=age, gratuit=gratuit, code_commune=code_commune,
                   code_departement=code_departement, code_region=code_region,
                   bbox=parse_bbox(bbox), lat=lat, lon=lon, rayon_km=rayon_km, q=q,
                   a_distance=a_distance, score_min=score_min)


def paging(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Offres par page")] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Décalage")] = 0,
) -> tuple[int, int]:
    return limit, offset


def feed_filters(
    filters: Annotated[Filtres, Depends(offer_filters)],
    modified_after: Annotated[dt.datetime | None, Query(
        description="Seulement les offres modifiées après cet instant (ISO 8601, UTC sans "
                    "fuseau), les offres retirées depuis comprises (« statut » : retiree)")] = None,
    curseur: Annotated[int | None, Query(
        ge=0, le=2**62, description="Pagination stable : le « curseur_suivant » de la page "
                                    "précédente (0 pour commencer)")] = None,
) -> Filtres:
    """The offer filters plus the change feed and keyset cursor, both in id order."""
    if filters.near and (modified_after is not None or curseur is not None):
        raise HTTPException(422, "curseur et modified_after suivent l'ordre des identifiants : "
                                 "pas avec lat et lon (ordre par distance)")
    if modified_after is not None and modified_after.tzinfo is None:
        modified_after = modified_after.replace(tzinfo=dt.UTC)
    filters.modifie_apres, filters.apres_id = modified_after, curseur
    return filters
