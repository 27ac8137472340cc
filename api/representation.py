"""How an offer is written out: JSON for people's tools, GeoJSON for maps and GIS.

Values that come from sources or users are returned as data, never as markup: escaping is
the job of whoever renders them (the pages do).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from cartographie.horaires import describe_hours

GEOJSON = "application/geo+json"
PROPERTIES = (
    "id", "statut", "nom", "description", "adresse", "code_postal", "code_commune", "commune",
    "code_departement", "code_region", "mode", "gratuit", "age_min", "age_max", "horaires",
    "contacts", "reservation_url", "site_web", "accessibilite", "modalites", "precision_geo",
    "types_offre", "jeux", "cartes", "maj_le", "nom_source", "public_age_min",
    "public_age_max", "public_publics", "finess_et", "identifiants",
)


def wants_geojson(request: Request, f: str | None) -> bool:
    if f is not None:
        return f.lower() == "geojson"
    return GEOJSON in request.headers.get("accept", "")


def offer_json(row: dict[str, Any]) -> dict[str, Any]:
    if row.get("statut") == "retiree":  # in a change feed: what a mirror needs to delete it
        return {"id": row["id"], "statut": "retiree", "maj_le": row["maj_le"].isoformat(),
                "retiree_le": row["retiree_le"].isoformat() if row["retiree_le"] else None}
    body = {key: row.get(key) for key in PROPERTIES}
    body["maj_le"] = row["maj_le"].isoformat() if row.get("maj_le") else None
    body["horaires_texte"] = describe_hours(row.get("horaires"))
    body["lon"], body["lat"] = row.get("lon"), row.get("lat")
    if row.get("distance_m") is not None:
        body["distance_m"] = round(row["distance_m"], 1)
    return body


def offer_feature(row: dict[str, Any]) -> dict[str, Any]:
    properties = offer_json(row)
    lon, lat = properties.pop("lon", None), properties.pop("lat", None)
    geometry = None if lon is None else {"type": "Point", "coordinates": [lon, lat]}
    return {"type": "Feature", "id": row["id"], "geometry": geometry, "properties": properties}


def feature_collection(rows: list[dict[str, Any]], total: int,
                       links: list[dict[str, str]] | None = None) -> dict[str, Any]:
    collection = {
        "type": "FeatureCollection",
        "numberMatched": total,
        "numberReturned": len(rows),
        "features": [offer_feature(row) for row in rows],
    }
    if links is not None:
        collection["links"] = links
    return collection
