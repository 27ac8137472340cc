"""Who is calling the write side: an API token (``Authorization: Bearer``) or, for the pages,
a browser session opened with a token.

The session cookie is HttpOnly (scripts cannot read it) and SameSite=Strict (other sites
cannot send it); on top of that, every cookie-authenticated write must carry the session's
CSRF token in the ``X-CSRF-Token`` header, a token bound to the session and stored hashed.
A Bearer token is never sent by a browser on its own, so it needs no CSRF token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from api import connexions
from api.deps import get_write_session
from cartographie import comptes
from cartographie.comptes import Compte

SESSION_COOKIE = "cartographie_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

router = APIRouter(prefix="/api/v1/session", tags=["Authentification"])


def _unauthenticated(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def current_account(
    request: Request, session: Annotated[Session, Depends(get_write_session)],
) -> Compte:
    """The caller's account, or a 401 (no credential, unknown or revoked) / 403 (CSRF)."""
    connection = session.connection()
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthenticated("En-tête Authorization invalide : « Bearer <jeton> » attendu.")
        connexions.check_attempt(request)
        compte = comptes.authenticate(connection, token.strip())
        if compte is None:
            connexions.record_failure(request)
            raise _unauthenticated("Jeton inconnu ou révoqué.")
        session.commit()  # keeps the token's last use
        return compte
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = comptes.session_account(connection, cookie)
        if found is None:
            raise _unauthenticated("Session expirée ou révoquée : reconnectez-vous.")
        compte, csrf_digest = found
        if request.method not in SAFE_METHODS and not comptes.csrf_matches(
                csrf_digest, request.headers.get(CSRF_HEADER)):
            raise HTTPException(403, f"Jeton CSRF absent ou invalide (en-tête {CSRF_HEADER}).")
        return compte
    raise _unauthenticated("Authentification requise : en-tête « Authorization: Bearer "
                           "<jeton> » ou session ouverte.")


CurrentAccount = Annotated[Compte, Depends(current_account)]


def set_private_cookie(request: Request, response: Response, name: str, value: str) -> None:
    """A cookie scripts cannot read (HttpOnly) and other sites cannot send (SameSite=Strict),
    living as long as a session."""
    response.set_cookie(
        name, value, max_age=int(comptes.SESSION_LIFETIME.total_seconds()),
        httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/",
    )


def start_session(connection: Connection, compte: Compte, request: Request,
                  response: Response) -> str:
    """Open a browser session for the account, set its cookie; returns its CSRF token."""
    value, csrf = comptes.open_session(connection, compte)
    set_private_cookie(request, response, SESSION_COOKIE, value)
    return csrf


def end_session(connection: Connection, request: Request, response: Response) -> None:
    """Close the request's browser session (if any) and drop its cookie."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        comptes.close_session(connection, cookie)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


class Connexion(BaseModel):
    jeton: str = Field(min_length=1, max_length=200, description="Jeton d'API du compte")


class SessionOuverte(BaseModel):
    utilisateur: str
    role: str
    code_region: str | None
    csrf: str = Field(description=f"À renvoyer dans l'en-tête {CSRF_HEADER} de chaque écriture")


@router.post("", summary="Ouvre une session de navigateur en échange d'un jeton d'API",
             response_model=SessionOuverte,
             responses={401: {"description": "Jeton inconnu ou révoqué (problem+json)"},
                        403: {"description": "Origine d'un autre site (problem+json)"},
                        429: {"description": "Trop d'échecs depuis cette adresse"}})
def open_session(
    body: Connexion, request: Request, response: Response,
    session: Annotated[Session, Depends(get_write_session)],
) -> SessionOuverte:
    connexions.check_origin(request)
    connexions.check_attempt(request)
    connection = session.connection()
    compte = comptes.authenticate(connection, body.jeton.strip())
    if compte is None:
        connexions.record_failure(request)
        raise _unauthenticated("Jeton inconnu ou révoqué.")
    csrf = start_session(connection, compte, request, response)
    session.commit()
    return SessionOuverte(utilisateur=compte.nom, role=compte.role,
                          code_region=compte.code_region, csrf=csrf)


@router.delete("", status_code=204, summary="Ferme la session du navigateur")
def close_session(
    request: Request, compte: CurrentAccount,
    session: Annotated[Session, Depends(get_write_session)],
) -> Response:
    response = Response(status_code=204)
    end_session(session.connection(), request, response)
    session.commit()
    return response
