"""Espace ARS, « Qualité » page: the région's quality scores per card and the offers that
need work first, each with what it lacks and a link to correct it.

Scores are computed on published data only (``cartographie.score``): nothing here is
private, so a user may look at another région; the default is the user's own.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import text

from api.routers.espace_ars import PREFIX, Connecte, WriteSession, regions
from api.routers.pages import page
from cartographie import qualite, score

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/qualite", response_class=HTMLResponse)
def quality_page(request: Request, visiteur: Connecte, session: WriteSession,
                 region: Annotated[str, Query(pattern=r"^([0-9]{2,3})?$")] = "") -> HTMLResponse:
    code_region = region or visiteur.compte.code_region or "11"
    connection = session.connection()
    nom_region = connection.execute(text("SELECT nom FROM region WHERE code = :r"),
                                    {"r": code_region}).scalar_one_or_none()
    if nom_region is None:
        raise HTTPException(422, f"région : code inconnu « {code_region} »")
    scored = qualite.scores(connection, code_region)
    return page(request, "ars/qualite.html", visiteur=visiteur, regions=regions(connection),
                region=code_region, nom_region=nom_region, par_carte=scored["score_par_carte"],
                ensemble=scored["score_par_region"], a_reprendre=qualite.lowest(connection,
                                                                                code_region),
                bas=qualite.LOW_SCORE, maxima=score.MAXIMA, libelles=score.LABELS)
