"""« Signaler une erreur »: the public form of an offer (``/offres/{id}/signaler``, plain
HTML, no JavaScript needed) and the moderation queue of the Espace ARS (``/ars/signalements``)
with its JSON twin for tools (``/api/v1/ars/signalements``, token, région-scoped).

The rules are ``cartographie.signalements``'. The anonymous form is protected from other
sites by the Origin check of the logins (``connexions.check_origin``): no cookie, no account;
its body is bounded before it is read (``ReportBodyLimit``). A bot that fills the hidden
field gets the same thanks as anyone, and nothing is stored.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from api import connexions
from api.auth import CurrentAccount
from api.deps import get_session
from api.problems import error_response, problem
from api.routers.contributions import REFUSALS, client_ip
from api.routers.espace_ars import (
    PAGE_SIZE,
    PREFIX,
    Connecte,
    OfferId,
    OptionalRegion,
    Verifie,
    WriteSession,
    refused,
)
from api.routers.pages import page
from cartographie import signalements
from cartographie.contributions import Refus, read_scope
from cartographie.signalements import Limites, SignalementInvalide, TropDeSignalements

SignalementId = Annotated[int, Path(ge=1, le=2**62, description="Identifiant du signalement")]
ReadSession = Annotated[Session, Depends(get_session)]
Statut = Annotated[str, Query(pattern=r"^(ouvert|corrige|rejete)$",
                              description="ouvert (à traiter), corrige ou rejete")]
Numero = Annotated[int, Query(alias="page", ge=1, le=100_000)]
QUEUE_PATH = f"{PREFIX}/signalements"
API_PATH = "/api/v1/ars/signalements"
BODY_MAX = 32_768  # the text's 2 000 characters, percent-encoded, with room to spare
FORM_PATH = re.compile(r"^/offres/[0-9]+/signaler$")
HONEYPOT = "site_internet"  # hidden from people (CSS, aria-hidden); bots fill it

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix=API_PATH, tags=["Contributions ARS"])


class ReportBodyLimit:
    """Refuse a report's POST whose body is too large (413) or of unknown length (411)
    before any of it is read. Plain ASGI, and only on the form's path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and FORM_PATH.match(
                scope["path"]):
            request = Request(scope)
            length = request.headers.get("content-length")
            refusal = None
            if length is None:
                refusal = error_response(request, 411, "En-tête Content-Length obligatoire.")
            elif not length.isdigit() or int(length) > BODY_MAX:
                refusal = error_response(request, 413, "Signalement trop volumineux : au plus "
                                                       f"{BODY_MAX} octets.")
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def limites(request: Request) -> Limites:
    return Limites.of(request.app.state.settings)


# A path of this service: no second slash or backslash after the first, and no space or control
# character anywhere (browsers drop tabs and newlines, so « /\t/ailleurs.fr » would be « //… »).
SAME_SITE_PATH = re.compile(r"/(?![/\\])[^\x00-\x20\\]*")


def back_link(retour: str) -> str:
    """Where « Revenir » leads: a page of this service (a path, never another site)."""
    ok = SAME_SITE_PATH.fullmatch(retour) is not None
    return retour if ok and len(retour) <= 2000 else "/"


def reportable(session: Session, offre_id: int) -> dict[str, Any]:
    offre = signalements.reportable_offer(session.connection(), offre_id)
    if offre is None:
        raise HTTPException(404, f"L'offre {offre_id} n'existe pas.")
    return offre


def report_form(request: Request, offre: dict[str, Any], retour: str, status: int = 200,
                valeurs: dict[str, str] | None = None, erreurs: dict[str, str] | None = None,
                alerte: str | None = None) -> HTMLResponse:
    return page(request, "signaler.html", status, offre=offre, retour=back_link(retour),
                valeurs=valeurs or {}, erreurs=erreurs or {}, alerte=alerte,
                limites=limites(request), piege=HONEYPOT)


@router.get("/offres/{offre_id}/signaler", response_class=HTMLResponse)
def report_page(request: Request, offre_id: OfferId, session: ReadSession,
                retour: Annotated[str, Query(max_length=2000)] = "/") -> HTMLResponse:
    return report_form(request, reportable(session, offre_id), retour)


@router.post("/offres/{offre_id}/signaler")
def report(request: Request, offre_id: OfferId, session: WriteSession,
           motif: Annotated[str, Form(max_length=50)] = "",
           texte: Annotated[str, Form(max_length=20_000)] = "",
           contact: Annotated[str, Form(max_length=2_000)] = "",
           retour: Annotated[str, Form(max_length=2000)] = "/",
           piege: Annotated[str, Form(alias=HONEYPOT, max_length=2_000)] = ""
           ) -> Response:
    """Record the report, then the thanks page (after a redirect: reloading it sends
    nothing twice). A refused one comes back on the form, with what was typed."""
    connexions.check_origin(request, "Signalement refusé")
    offre = reportable(session, offre_id)
    thanks = RedirectResponse(f"/offres/{offre_id}/signaler/merci?"
                              + urlencode({"retour": back_link(retour)}), status_code=303)
    if piege.strip():
        return thanks
    valeurs = {"motif": motif, "texte": texte, "contact": contact}
    try:
        checked = signalements.checked(motif, texte, contact, limites(request))
        signalements.submit(session.connection(), offre, checked,
                            client_ip(request) or "inconnue", limites(request))
    except SignalementInvalide as exc:
        return report_form(request, offre, retour, 422, valeurs, exc.erreurs)
    except TropDeSignalements as exc:
        session.rollback()
        response = report_form(request, offre, retour, 429, valeurs, alerte=str(exc))
        response.headers["Retry-After"] = str(exc.attente)
        return response
    session.commit()
    return thanks


@router.get("/offres/{offre_id}/signaler/merci", response_class=HTMLResponse)
def thanks_page(request: Request, offre_id: OfferId, session: ReadSession,
                retour: Annotated[str, Query(max_length=2000)] = "/") -> HTMLResponse:
    return page(request, "signaler_merci.html", offre=reportable(session, offre_id),
                retour=back_link(retour))


# -- the Espace ARS queue --------------------------------------------------------------------


def region_queue(session: Session, request: Request, scope: str | None, statut: str,
                 numero: int) -> tuple[int, list[dict[str, Any]]]:
    """One page of the queue; first, contacts past their keeping time are erased."""
    connection = session.connection()
    signalements.erase_old_contacts(connection, limites(request))
    found = signalements.queue(connection, scope, statut, PAGE_SIZE, (numero - 1) * PAGE_SIZE)
    session.commit()
    return found


@router.get(QUEUE_PATH, response_class=HTMLResponse)
def queue_page(request: Request, visiteur: Connecte, session: WriteSession,
               statut: Statut = "ouvert", region: OptionalRegion = "", numero: Numero = 1,
               traite: Annotated[int | None, Query(ge=1, le=2**62)] = None) -> HTMLResponse:
    try:
        scope = read_scope(visiteur.compte, region or None)
    except Refus as exc:
        raise refused(exc) from exc
    total, rows = region_queue(session, request, scope, statut, numero)
    query = urlencode({k: v for k, v in {"statut": statut, "region": region}.items() if v})
    return page(request, "ars/signalements.html", visiteur=visiteur, signalements=rows,
                total=total, statut=statut, region=region, numero=numero, query=query,
                pages=max(1, -(-total // PAGE_SIZE)), traite=traite,
                motifs=signalements.MOTIFS, decisions=signalements.DECISIONS)


@router.post(f"{QUEUE_PATH}/{{signalement_id}}/traitement")
def resolve_from_page(request: Request, signalement_id: SignalementId, visiteur: Verifie,
                      session: WriteSession,
                      decision: Annotated[str, Form(max_length=20)] = "",
                      motif_rejet: Annotated[str, Form(max_length=500)] = "",
                      retour: Annotated[str, Form(max_length=2000)] = QUEUE_PATH
                      ) -> RedirectResponse:
    try:
        signalements.resolve(session.connection(), visiteur.compte, signalement_id, decision,
                             motif_rejet, client_ip(request))
    except Refus as exc:
        session.rollback()
        raise refused(exc) from exc
    session.commit()
    back = retour if retour.startswith(QUEUE_PATH) else QUEUE_PATH
    return RedirectResponse(f"{back}{'&' if '?' in back else '?'}traite={signalement_id}",
                            status_code=303)


# -- the JSON API ------------------------------------------------------------------------------


class Traitement(BaseModel):
    decision: str = Field(pattern=r"^(corrige|rejete)$",
                          description="« corrige » (l'offre a été corrigée) ou « rejete »")
    motif_rejet: str | None = Field(None, max_length=500,
                                    description="Obligatoire pour « rejete »")


def _as_json(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if hasattr(value, "isoformat") else value
            for key, value in row.items()}


@api_router.get("", summary="Signalements « Signaler une erreur » de la région (avec les "
                            "contacts laissés : données personnelles)",
                responses=REFUSALS)
def list_reports(request: Request, compte: CurrentAccount, session: WriteSession,
                 statut: Statut = "ouvert",
                 region: Annotated[str | None, Query(pattern=r"^[0-9]{2}$")] = None,
                 numero: Numero = 1):
    try:
        scope = read_scope(compte, region)
    except Refus as exc:
        return problem(exc.status, str(exc))
    total, rows = region_queue(session, request, scope, statut, numero)
    return JSONResponse({"total": total, "page": numero, "par_page": PAGE_SIZE,
                         "signalements": [_as_json(row) for row in rows]},
                        headers={"Cache-Control": "no-store"})


@api_router.post("/{signalement_id}/traitement",
                 summary="Marque un signalement « corrigé » ou « rejeté » (modérateur)",
                 responses={**REFUSALS, 404: {"description": "Inconnu dans votre région"},
                            409: {"description": "Déjà traité"}})
def resolve(signalement_id: SignalementId, body: Traitement, request: Request,
            compte: CurrentAccount, session: WriteSession):
    try:
        done = signalements.resolve(session.connection(), compte, signalement_id,
                                    body.decision, body.motif_rejet, client_ip(request))
    except Refus as exc:
        session.rollback()
        return problem(exc.status, str(exc))
    session.commit()
    return {"id": done["id"], "statut": done["statut"], "motif_rejet": done["motif_rejet"]}
