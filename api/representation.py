"""How an offer is written out: JSON for people's tools, GeoJSON for maps and GIS.

Values that come from sources or users are returned as data, never as markup: escaping is
the job of whoever renders them (the pages do).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request

from cartographie import temporaire
from cartographie.horaires import describe_hours

GEOJSON = "application/geo+json"
PROPERTIES = (
    "id", "statut", "nom", "description", "adresse", "code_postal", "code_commune", "commune",
    "code_departement", "code_region", "mode", "gratuit", "age_min", "age_max", "horaires",
    "contacts", "reservation_url", "site_web", "accessibilite", "modalites", "precision_geo",
    "types_offre", "jeux", "cartes", "maj_le", "nom_source", "public_age_min",
    "public_age_max", "public_publics", "score_qualite", "verifie_par", "finess_et",
    "identifiants",
)


def public_base(request: Request) -> str:
    """The service's address for absolute links (OGC API, the sheet's QR code): the
    configured public address (``url_publique``), so that a ``Host`` header sent by anyone
    does not end up in links that caches keep; without it, the request's own address (and the
    cached responses then say ``Vary: Host``, see ``api.caching``)."""
    return (request.app.state.settings.url_publique or str(request.base_url)).rstrip("/")


def wants_geojson(request: Request, f: str | None) -> bool:
    if f is not None:
        return f.lower() == "geojson"
    return GEOJSON in request.headers.get("accept", "")


def offer_json(row: dict[str, Any], at: dt.datetime | None = None) -> dict[str, Any]:
    """An offer as the API writes it; ``ouverture`` is its state at ``at`` (default: now)."""
    if row.get("statut") == "retiree":  # in a change feed: what a mirror needs to delete it
        return {"id": row["id"], "statut": "retiree", "maj_le": row["maj_le"].isoformat(),
                "retiree_le": row["retiree_le"].isoformat() if row["retiree_le"] else None}
    body = {key: row.get(key) for key in PROPERTIES}
    for moment in ("maj_le", "verifie_le"):
        body[moment] = row[moment].isoformat() if row.get(moment) else None
    body["horaires_texte"] = describe_hours(row.get("horaires"))
    moment = at or dt.datetime.now(dt.UTC)
    periods = row.get("temporaires")
    body["informations_temporaires"] = temporaire.in_force(periods, temporaire.day_of(moment))
    body["ouverture"] = temporaire.state(row.get("horaires"), periods,
                                         row.get("code_departement"), moment).as_json()
    body["lon"], body["lat"] = row.get("lon"), row.get("lat")
    if row.get("distance_m") is not None:
        body["distance_m"] = round(row["distance_m"], 1)
    return body


def offer_feature(row: dict[str, Any], at: dt.datetime | None = None) -> dict[str, Any]:
    return feature(offer_json(row, at))


def feature(properties: dict[str, Any]) -> dict[str, Any]:
    """An offer's JSON as a GeoJSON feature (its position becomes the geometry)."""
    properties = dict(properties)
    lon, lat = properties.pop("lon", None), properties.pop("lat", None)
    geometry = None if lon is None else {"type": "Point", "coordinates": [lon, lat]}
    return {"type": "Feature", "id": properties["id"], "geometry": geometry,
            "properties": properties}


def feature_collection(rows: list[dict[str, Any]], total: int,
                       links: list[dict[str, str]] | None = None,
                       at: dt.datetime | None = None) -> dict[str, Any]:
    collection = {
        "type": "FeatureCollection",
        "numberMatched": total,
        "numberReturned": len(rows),
        "features": [offer_feature(row, at) for row in rows],
    }
    if links is not None:
        collection["links"] = links
    return collection
