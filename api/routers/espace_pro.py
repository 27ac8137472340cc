"""Espace professionnels de santé: sign in with Pro Santé Connect, then say, place by place,
« j'effectue des bilans prévention ici » (with a booking link if wished), or withdraw it.

The session is a random value in an HttpOnly cookie (its SHA-256 stored in ``session_pro``)
with the RPPS taken from the verified ID token: nobody declares for someone else's places.
Cookies are SameSite=Lax because the provider's answer arrives as a cross-site navigation;
every POST carries the session's CSRF token, and the sign-in's state is bound to the browser
by its own cookie (``api.pro_sante_connect``).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import text
from sqlalchemy.orm import Session

from api import pro_sante_connect
from api.deps import get_write_session
from api.pro_sante_connect import ConnexionRefusee
from api.routers.contributions import client_ip
from api.routers.pages import page
from cartographie import bilan, comptes
from cartographie.bilan import LienInvalide, Reponse
from cartographie.contributions import Refus

PREFIX = "/pro"
CALLBACK_PATH = f"{PREFIX}/connexion/retour"
SESSION_COOKIE = "cartographie_pro"
CSRF_COOKIE = "cartographie_pro_csrf"
STATE_COOKIE = "cartographie_pro_etat"
SESSION_LIFETIME = dt.timedelta(hours=4)
WriteSession = Annotated[Session, Depends(get_write_session)]

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _cookie(request: Request, response: Response, name: str, value: str, seconds: int) -> None:
    response.set_cookie(name, value, max_age=seconds, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path=PREFIX)


def redirect_uri(request: Request) -> str:
    base = request.app.state.settings.url_publique or str(request.base_url)
    return base.rstrip("/") + CALLBACK_PATH


@dataclass(frozen=True)
class Professionnel:
    rpps: str
    csrf: str


def professionnel(request: Request, session: WriteSession) -> Professionnel | None:
    value, csrf = request.cookies.get(SESSION_COOKIE), request.cookies.get(CSRF_COOKIE)
    if not value or not csrf:
        return None
    row = session.execute(text("""
        SELECT rpps, csrf_empreinte FROM session_pro WHERE empreinte = :d AND expire_le > now()
    """), {"d": comptes.digest(value)}).first()
    if row is None or not comptes.csrf_matches(row[1], csrf):
        return None
    return Professionnel(row[0], csrf)


def connecte(pro: Annotated[Professionnel | None, Depends(professionnel)],
             csrf: Annotated[str | None, Form(max_length=200)] = None) -> Professionnel:
    """The professional behind a POST whose form carries the session's CSRF token."""
    if pro is None:
        raise HTTPException(401, "Votre session a expiré : reconnectez-vous avec Pro Santé "
                                 "Connect.")
    if csrf is None or not secrets.compare_digest(csrf, pro.csrf):
        raise HTTPException(403, "Jeton CSRF absent ou invalide : rechargez la page puis "
                                 "recommencez.")
    return pro


Connecte = Annotated[Professionnel, Depends(connecte)]


def _espace(request: Request, session: Session, pro: Professionnel | None,
            message: str | None = None, erreurs: dict[int, str] | None = None,
            saisies: dict[int, dict[str, str]] | None = None,
            status: int = 200) -> HTMLResponse:
    """The page; a refused answer shows its reason beside its place, as it was typed."""
    lieux = bilan.lieux(session.connection(), pro.rpps) if pro else []
    shown = {lieu["id"] for lieu in lieux}
    # A refusal about a place that is not listed (not theirs) is shown at the top.
    generales = [refus for place, refus in (erreurs or {}).items() if place not in shown]
    delay = request.app.state.settings.bilan_delai_publication_minutes
    return page(request, "pro.html", status, pro=pro, lieux=lieux, message=message,
                erreurs=erreurs or {}, erreurs_generales=generales, saisies=saisies or {},
                professions=bilan.PROFESSIONS,
                delai_minutes=delay, maintenant=dt.datetime.now(dt.UTC))


@router.get("", response_class=HTMLResponse)
def espace(request: Request, session: WriteSession,
           pro: Annotated[Professionnel | None, Depends(professionnel)]) -> HTMLResponse:
    return _espace(request, session, pro)


@router.get("/connexion")
def sign_in(request: Request, session: WriteSession) -> Response:
    settings = request.app.state.settings
    try:
        url, state = pro_sante_connect.commencer(session.connection(), settings,
                                                 redirect_uri(request))
    except ConnexionRefusee as exc:
        raise HTTPException(503, str(exc)) from exc
    session.commit()
    response = RedirectResponse(url, status_code=303)
    _cookie(request, response, STATE_COOKIE, state, pro_sante_connect.SIGN_IN_LIFETIME_SECONDS)
    return response


@router.get("/connexion/retour")
def callback(request: Request, session: WriteSession) -> Response:
    connection = session.connection()
    try:
        rpps = pro_sante_connect.terminer(
            connection, request.app.state.settings, redirect_uri(request),
            dict(request.query_params), request.cookies.get(STATE_COOKIE))
    except ConnexionRefusee as exc:
        session.commit()  # the sign-in's row is consumed even when it fails
        raise HTTPException(401, str(exc)) from exc
    value, csrf = comptes.new_session(connection, "session_pro", "rpps", rpps,
                                      SESSION_LIFETIME)
    session.commit()
    response = RedirectResponse(PREFIX, status_code=303)
    seconds = int(SESSION_LIFETIME.total_seconds())
    _cookie(request, response, SESSION_COOKIE, value, seconds)
    _cookie(request, response, CSRF_COOKIE, csrf, seconds)
    response.delete_cookie(STATE_COOKIE, path=PREFIX)
    return response


@router.post("/deconnexion")
def sign_out(request: Request, session: WriteSession, pro: Connecte) -> Response:
    session.execute(text("DELETE FROM session_pro WHERE empreinte = :d"),
                    {"d": comptes.digest(request.cookies.get(SESSION_COOKIE, ""))})
    session.commit()
    response = RedirectResponse(PREFIX, status_code=303)
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path=PREFIX)
    return response


@router.post("/lieux/{activite_id}", response_class=HTMLResponse)
def declare(request: Request, activite_id: int, session: WriteSession, pro: Connecte,
            realise_bilan: Annotated[str, Form(max_length=10)] = "",
            lien_rdv: Annotated[str, Form(max_length=4000)] = "") -> HTMLResponse:
    """One place's answers; a refused answer is shown again with its reason, nothing lost."""
    typed = {activite_id: {"realise_bilan": realise_bilan, "lien_rdv": lien_rdv}}
    try:
        if realise_bilan not in ("oui", "non"):
            raise Refus(422, "Répondez « Oui » ou « Non » à « Effectuez-vous des bilans "
                             "prévention ici ? ».")
        link = bilan.lien_rdv(lien_rdv) if lien_rdv else None
        delay = dt.timedelta(minutes=request.app.state.settings.bilan_delai_publication_minutes)
        bilan.declarer(session.connection(), pro.rpps,
                       Reponse(activite_id, realise_bilan == "oui", link), delay,
                       client_ip(request))
    except (Refus, LienInvalide) as exc:
        session.rollback()
        return _espace(request, session, pro, erreurs={activite_id: str(exc)}, saisies=typed,
                       status=getattr(exc, "status", 422))
    session.commit()
    return _espace(request, session, pro, message="Votre réponse est enregistrée.")


@router.post("/lieux/{activite_id}/retrait", response_class=HTMLResponse)
def withdraw(request: Request, activite_id: int, session: WriteSession,
             pro: Connecte) -> HTMLResponse:
    try:
        bilan.retirer(session.connection(), pro.rpps, activite_id, client_ip(request))
    except Refus as exc:
        session.rollback()
        return _espace(request, session, pro, erreurs={activite_id: str(exc)},
                       status=exc.status)
    session.commit()
    return _espace(request, session, pro, message="Votre déclaration est retirée : ce lieu "
                                                  "n'apparaît plus sur la carte.")
