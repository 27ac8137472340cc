"""Vector tiles (MVT) of the offers for the maps, with the same filters as the API.

At low zoom, points are aggregated on a grid inside PostGIS (one feature per cell with a
``nombre``), so that no tile carries more than a few thousand features; from
``DETAIL_ZOOM`` on, each offer is its own feature. An empty tile is a cheap 204.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path
from fastapi.responses import Response
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.deps import get_session
from api.filters import offer_filters
from cartographie.recherche import Filtres, where

router = APIRouter(prefix="/tiles", tags=["Tuiles vectorielles"])
MVT = "application/vnd.mapbox-vector-tile"
DETAIL_ZOOM = 11
GRID_CELLS = 64  # per tile side at aggregated zooms: at most 4 096 features
LAYER = "offres"


@router.get("/{z}/{x}/{y}.mvt", summary="Tuile vectorielle des offres (couche « offres »)",
            responses={200: {"content": {MVT: {}}}, 204: {"description": "Tuile vide"}})
def tile(
    z: Annotated[int, Path(ge=0, le=22)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
    filters: Annotated[Filtres, Depends(offer_filters)],
    session: Annotated[Session, Depends(get_session)],
) -> Response:
    if x >= 2**z or y >= 2**z:
        raise HTTPException(422, f"tuile hors de la grille du niveau {z} : x et y < {2**z}")
    condition, params = where(filters)
    params.update(z=z, x=x, y=y, cells=GRID_CELLS)
    if z >= DETAIL_ZOOM:
        features = """
            SELECT o.id, o.nom, 1 AS nombre,
                   ST_AsMVTGeom(ST_Transform(o.geom, 3857), b.env) AS geom
            FROM offre o, bounds b
            WHERE o.geom && b.env4326 AND {condition}
        """
    else:
        features = """
            SELECT min(o.id) AS id, CASE WHEN count(*) = 1 THEN min(o.nom) END AS nom,
                   count(*) AS nombre,
                   ST_AsMVTGeom(ST_Centroid(ST_Collect(ST_Transform(o.geom, 3857))), b.env)
                       AS geom
            FROM offre o, bounds b
            WHERE o.geom && b.env4326 AND {condition}
            GROUP BY b.env, ST_SnapToGrid(ST_Transform(o.geom, 3857),
                     ST_XMin(b.env), ST_YMin(b.env),
                     (ST_XMax(b.env) - ST_XMin(b.env)) / :cells,
                     (ST_YMax(b.env) - ST_YMin(b.env)) / :cells)
        """
    sql = f"""
        WITH bounds AS (
            SELECT ST_TileEnvelope(:z, :x, :y) AS env,
                   ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326) AS env4326),
        features AS ({features.format(condition=condition)})
        SELECT ST_AsMVT(features, '{LAYER}', 4096, 'geom', 'id') FROM features
        WHERE geom IS NOT NULL
    """
    body = session.execute(text(sql), params).scalar_one()
    if not body:
        return Response(status_code=204)
    return Response(bytes(body), media_type=MVT)
