"""ARS moderation of the « je fais des bilans » declarations of its région: approve early
(public now instead of after the operator's delay) or hide with a reason.

The API (Bearer token, ``/api/v1/contributions/bilan``) and the Espace ARS page
(``/ars/bilan``, session + CSRF) call the same rules (``cartographie.bilan``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.auth import CurrentAccount
from api.deps import get_write_session
from api.problems import problem
from api.routers.contributions import REFUSALS, client_ip
from api.routers.espace_ars import Connecte, Verifie
from api.routers.pages import page
from cartographie import bilan
from cartographie.contributions import Refus, read_scope

DeclarationId = Annotated[int, Path(ge=1, le=2**62, description="Identifiant de la déclaration")]
WriteSession = Annotated[Session, Depends(get_write_session)]
PAGE_PATH = "/ars/bilan"

router = APIRouter()


class Masquage(BaseModel):
    motif: str = Field(min_length=1, max_length=500, description="Vu par le professionnel")


def _apply(session: Session, action) -> JSONResponse | None:
    try:
        action(session.connection())
    except Refus as exc:
        session.rollback()
        return problem(exc.status, str(exc))
    session.commit()
    return None


@router.get("/api/v1/contributions/bilan/declarations", tags=["Contributions ARS"],
            summary="Déclarations « bilan prévention » de la région, à modérer d'abord",
            responses=REFUSALS)
def list_declarations(compte: CurrentAccount, session: WriteSession):
    rows = bilan.a_moderer(session.connection(), read_scope(compte))
    return {"declarations": [{**row, "declaree_le": row["declaree_le"].isoformat(),
                              "visible_le": row["visible_le"].isoformat(),
                              "disparu_le": row["disparu_le"] and row["disparu_le"].isoformat()}
                             for row in rows]}


@router.post("/api/v1/contributions/bilan/declarations/{declaration_id}/validation",
             tags=["Contributions ARS"], summary="Rend une déclaration publique sans attendre",
             responses=REFUSALS, status_code=204)
def approve(declaration_id: DeclarationId, request: Request, compte: CurrentAccount,
            session: WriteSession):
    return _apply(session, lambda c: bilan.valider(c, compte, declaration_id,
                                                   client_ip(request)))


@router.post("/api/v1/contributions/bilan/declarations/{declaration_id}/masquage",
             tags=["Contributions ARS"], summary="Masque une déclaration, avec son motif",
             responses=REFUSALS, status_code=204)
def hide(declaration_id: DeclarationId, body: Masquage, request: Request,
         compte: CurrentAccount, session: WriteSession):
    return _apply(session, lambda c: bilan.masquer(c, compte, declaration_id, body.motif,
                                                   client_ip(request)))


@router.get(PAGE_PATH, response_class=HTMLResponse, include_in_schema=False)
def moderation_page(request: Request, visiteur: Connecte, session: WriteSession) -> HTMLResponse:
    rows = bilan.a_moderer(session.connection(), visiteur.compte.code_region)
    return page(request, "ars/bilan.html", visiteur=visiteur, declarations=rows,
                professions=bilan.PROFESSIONS)


def _from_page(session: Session, action) -> RedirectResponse:
    try:
        action(session.connection())
    except Refus as exc:
        session.rollback()
        raise HTTPException(exc.status, str(exc)) from exc
    session.commit()
    return RedirectResponse(PAGE_PATH, status_code=303)


@router.post(f"{PAGE_PATH}/{{declaration_id}}/validation", include_in_schema=False)
def approve_from_page(request: Request, declaration_id: DeclarationId, visiteur: Verifie,
                      session: WriteSession):
    return _from_page(session, lambda c: bilan.valider(
        c, visiteur.compte, declaration_id, client_ip(request)))


@router.post(f"{PAGE_PATH}/{{declaration_id}}/masquage", include_in_schema=False)
def hide_from_page(request: Request, declaration_id: DeclarationId, visiteur: Verifie,
                   session: WriteSession,
                   motif: Annotated[str, Form(max_length=500)] = ""):
    return _from_page(session, lambda c: bilan.masquer(
        c, visiteur.compte, declaration_id, motif, client_ip(request)))
