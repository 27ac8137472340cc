"""Espace ARS, « À revoir »: the région's offers nobody confirmed within their card's review
period, and « Confirmer » (one, or all those ticked), each confirmation audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import text

from api.routers.contributions import client_ip
from api.routers.espace_ars import (
    PREFIX,
    Connecte,
    OptionalRegion,
    Verifie,
    WriteSession,
    refused,
)
from api.routers.pages import page
from cartographie import contributions, verification
from cartographie.contributions import Refus

router = APIRouter(prefix=PREFIX, include_in_schema=False)
SHOWN = 200


@router.get("/a-revoir", response_class=HTMLResponse)
def review_page(request: Request, visiteur: Connecte, session: WriteSession,
                region: OptionalRegion = "",
                confirmees: Annotated[int | None, Query(ge=0, le=10_000)] = None) -> HTMLResponse:
    try:
        code_region = contributions.region_of(visiteur.compte, region or None)
    except Refus as exc:
        raise refused(exc) from exc
    connection = session.connection()
    total, offres = verification.to_review(connection, code_region, SHOWN)
    nom_region = connection.execute(text("SELECT nom FROM region WHERE code = :r"),
                                    {"r": code_region}).scalar_one_or_none()
    return page(request, "ars/a_revoir.html", visiteur=visiteur, offres=offres, total=total,
                region=code_region, nom_region=nom_region or code_region,
                confirmees=confirmees)


@router.post("/confirmation")
def confirm(request: Request, visiteur: Verifie, session: WriteSession,
            choix: Annotated[list[int], Form(max_length=verification.MAX_CONFIRMED)] = [],  # noqa: B006
            une: Annotated[int | None, Form(ge=1)] = None,
            region: Annotated[str, Form(pattern=r"^([0-9]{2})?$")] = "") -> RedirectResponse:
    """« Confirmer » on one row (``une``) or on the ticked rows (``choix``)."""
    ids = [une] if une is not None else choix
    try:
        done = verification.confirm(session.connection(), visiteur.compte, ids,
                                    client_ip(request))
    except Refus as exc:
        session.rollback()
        raise HTTPException(exc.status, str(exc)) from exc
    session.commit()
    back = f"{PREFIX}/a-revoir?confirmees={len(done)}" + (f"&region={region}" if region else "")
    return RedirectResponse(back, status_code=303)
