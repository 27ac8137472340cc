"""Our own light basemap: région, département and commune outlines as vector tiles.

When no tile server can be reached (no network, the IGN Géoplateforme down, a hospital
proxy), the pages draw these instead of a grey square (``maps/static/fond.js``). They come
from the territories we already hold (IGN Admin Express), so they always load with the page.
Tiles are kept per data version, like the offers' tiles (``cartographie.cache``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path
from fastapi.responses import Response
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from api.deps import get_session
from api.routers.tiles import MVT, tile_bounds
from cartographie.cache import DataVersionCache

router = APIRouter(prefix="/tiles/contours", tags=["Tuiles vectorielles"])
# (table, layer, first zoom): communes only where they are a few pixels wide at least.
LEVELS = (("region", "regions", 0), ("departement", "departements", 5),
          ("commune", "communes", 9))
MAX_ZOOM = 14  # beyond, the client over-zooms the level-14 tile
OUTLINE_TILES = DataVersionCache(size=2_000)
CACHING = {"Cache-Control": "public, max-age=86400"}


@router.get("/{z}/{x}/{y}.mvt",
            summary="Fond de carte de secours : contours des régions, départements, communes",
            responses={200: {"content": {MVT: {}}}, 204: {"description": "Tuile vide"}})
def outline_tile(session: Annotated[Session, Depends(get_session)],
                 z: Annotated[int, Path(ge=0, le=MAX_ZOOM)], x: Annotated[int, Path(ge=0)],
                 y: Annotated[int, Path(ge=0)]) -> Response:
    if x >= 2**z or y >= 2**z:
        raise HTTPException(422, f"tuile hors de la grille du niveau {z} : x et y < {2**z}")
    body = OUTLINE_TILES.get(session.connection(), (z, x, y),
                             lambda connection: _render(connection, z, x, y))
    if not body:
        return Response(status_code=204, headers=CACHING)
    return Response(body, media_type=MVT, headers=CACHING)


def _render(connection: Connection, z: int, x: int, y: int) -> bytes:
    west, south, east, north = tile_bounds(z, x, y)
    params = {"z": z, "x": x, "y": y, "west": west, "south": south, "east": east,
              "north": north, "tolerance": (east - west) / 512}  # about one pixel
    layers = " || ".join(f"""
        (SELECT coalesce(ST_AsMVT(t, '{layer}', 4096, 'geom'), ''::bytea) FROM (
            SELECT code, nom,
                   ST_AsMVTGeom(ST_Transform(ST_SimplifyPreserveTopology(geom, :tolerance),
                                             3857), ST_TileEnvelope(:z, :x, :y)) AS geom
            FROM {table}
            WHERE geom && ST_MakeEnvelope(:west, :south, :east, :north, 4326)
        ) t WHERE geom IS NOT NULL)""" for table, layer, first in LEVELS if z >= first)
    return bytes(connection.execute(text(f"SELECT {layers}"), params).scalar_one() or b"")
