"""``/api/v1/offres/grille``: offers counted on a grid over a bounding box, for maps.

A card page zoomed out over France cannot draw tens of thousands of markers: it asks for
at most ``cellules``² cells, each with its count and the mean position of its offers, and
draws one bubble per cell. Same filters as ``/api/v1/offres``.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.deps import get_session
from api.filters import offer_filters
from cartographie.recherche import Filtres, where

router = APIRouter(prefix="/api/v1/offres/grille", tags=["Offres"])


@router.get("", summary="Offres regroupées par cellules d'une grille (cartes à petite échelle)")
def grid(
    filters: Annotated[Filtres, Depends(offer_filters)],
    session: Annotated[Session, Depends(get_session)],
    cellules: Annotated[int, Query(ge=1, le=128, description="Cellules par côté")] = 48,
) -> dict:
    if filters.bbox is None:
        raise HTTPException(422, "bbox est obligatoire pour la grille")
    condition, params = where(filters)
    params.update(cells=cellules)
    rows = session.execute(text(f"""
        SELECT count(*) AS nombre, avg(ST_X(o.geom)) AS lon, avg(ST_Y(o.geom)) AS lat,
               CASE WHEN count(*) = 1 THEN min(o.id) END AS id,
               CASE WHEN count(*) = 1 THEN min(o.nom) END AS nom
        FROM offre o
        WHERE {condition} AND o.geom IS NOT NULL
        GROUP BY floor((ST_X(o.geom) - :xmin) * :cells / (:xmax - :xmin)),
                 floor((ST_Y(o.geom) - :ymin) * :cells / (:ymax - :ymin))
    """), params).mappings().all()
    return {"total": sum(row["nombre"] for row in rows),
            "cellules": [dict(row) for row in rows]}
