"""Vector tiles (MVT) of the offers for the maps, with the same filters as the API.

At low zoom, points are aggregated on a grid inside PostGIS (one feature per cell with a
``nombre``), so that no tile carries more than a few thousand features; from
``DETAIL_ZOOM`` on, each offer is its own feature. An empty tile is a cheap 204.
Aggregated tiles of a whole card, or of every offer, are read from the grid the writes keep
exact (``cellule_offre``, migration 0008): fast on the first request after a write too.
With other filters they aggregate up to every offer of the country: those are kept per data
version (``cartographie.cache``), so each is computed once per publish and process.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path
from fastapi.responses import Response
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from api.deps import get_session
from api.filters import offer_filters
from cartographie.cache import DataVersionCache
from cartographie.recherche import Filtres, grid_layer, where

router = APIRouter(prefix="/tiles", tags=["Tuiles vectorielles"])
MVT = "application/vnd.mapbox-vector-tile"
DETAIL_ZOOM = 11
GRID_CELLS = 64  # per tile side at aggregated zooms: at most 4 096 features
LAYER = "offres"
# Web Mercator by arithmetic: PostGIS' ST_Transform sets PROJ up again in every query
# (~250 ms here), more than the whole tile is worth.
EARTH_HALF = 20037508.342789244
AGGREGATED_TILES = DataVersionCache(size=2_000)


def mercator(lon: str, lat: str) -> str:
    """SQL for the EPSG:3857 point of WGS84 ``lon``/``lat`` expressions."""
    return (f"ST_SetSRID(ST_MakePoint(({lon}) * {EARTH_HALF} / 180, "
            f"ln(tan((90 + ({lat})) * pi() / 360)) / (pi() / 180) * {EARTH_HALF} / 180), 3857)")


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """WGS84 bounds of a Web Mercator tile: west, south, east, north."""
    n = 2**z

    def latitude(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, latitude(y + 1), (x + 1) / n * 360 - 180, latitude(y)


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
    west, south, east, north = tile_bounds(z, x, y)
    params.update(z=z, x=x, y=y, cells=GRID_CELLS, west=west, south=south, east=east,
                  north=north)
    if z >= DETAIL_ZOOM:
        features = f"""
            SELECT o.id, o.nom, 1 AS nombre,
                   ST_AsMVTGeom({mercator("ST_X(o.geom)", "ST_Y(o.geom)")},
                                ST_TileEnvelope(:z, :x, :y)) AS geom
            FROM offre o
            WHERE o.geom && ST_MakeEnvelope(:west, :south, :east, :north, 4326) AND {condition}
        """
    elif (layer := grid_layer(filters)) is not None:
        # A whole card or every offer: the cells the writes keep (migration 0008), at most
        # GRID_CELLS² rows read by primary key; the id is the offer's when a cell holds one.
        params.update(couche=layer)
        features = f"""
            SELECT CASE WHEN c.nombre = 1 THEN c.somme_id END AS id, o.nom, c.nombre,
                   ST_AsMVTGeom({mercator("c.somme_lon / c.nombre", "c.somme_lat / c.nombre")},
                                ST_TileEnvelope(:z, :x, :y)) AS geom
            FROM cellule_offre c LEFT JOIN offre o ON c.nombre = 1 AND o.id = c.somme_id
            WHERE c.couche = :couche AND c.z = :z AND c.nombre > 0
              AND c.cx BETWEEN :x * :cells AND :x * :cells + :cells - 1
              AND c.cy BETWEEN :y * :cells AND :y * :cells + :cells - 1
        """
    else:
        # Cells are integer pairs over the tile in degrees: no geometry is built or projected
        # per offer, only one point per non-empty cell.
        features = f"""
            SELECT min(o.id) AS id, CASE WHEN count(*) = 1 THEN min(o.nom) END AS nom,
                   count(*) AS nombre,
                   ST_AsMVTGeom({mercator("avg(ST_X(o.geom))", "avg(ST_Y(o.geom))")},
                                ST_TileEnvelope(:z, :x, :y)) AS geom
            FROM offre o
            WHERE o.geom && ST_MakeEnvelope(:west, :south, :east, :north, 4326) AND {condition}
            GROUP BY floor((ST_X(o.geom) - :west) * :cells / (:east - :west)),
                     floor((ST_Y(o.geom) - :south) * :cells / (:north - :south))
        """
    sql = f"""
        WITH features AS ({features})
        SELECT ST_AsMVT(features, '{LAYER}', 4096, 'geom', 'id') FROM features
        WHERE geom IS NOT NULL
    """

    def render(connection: Connection) -> bytes:
        return bytes(connection.execute(text(sql), params).scalar_one() or b"")

    connection = session.connection()
    body = (render(connection) if z >= DETAIL_ZOOM
            else AGGREGATED_TILES.get(connection, (z, x, y, repr(filters)), render))
    if not body:
        return Response(status_code=204)
    return Response(body, media_type=MVT)
