"""Errors as RFC 9457 problem+json with a French ``detail``, for every failure path.

Why: API users (and the pages) show these messages to people; they must be in French and
never leak a stack trace.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
# Paths answered with problem+json; anything else is a page, whose errors are pages too.
MACHINE_PREFIXES = ("/api/", "/ogc", "/tiles/", "/static/", "/docs", "/openapi.json",
                    "/sante", "/hsds", "/donnees/")
# Seconds a client waits before trying again while the database is unreachable.
RETRY_AFTER_SECONDS = 30
logger = logging.getLogger(__name__)

TITLES = {
    400: "Requête invalide",
    401: "Authentification requise",
    403: "Accès refusé",
    404: "Ressource introuvable",
    405: "Méthode non autorisée",
    406: "Format non disponible",
    409: "Conflit",
    413: "Contenu trop volumineux",
    422: "Paramètres invalides",
    429: "Trop de requêtes",
    500: "Erreur interne",
    503: "Service indisponible",
}

# Pydantic's error types, said in French.
VALIDATION_MESSAGES = {
    "missing": "ce paramètre est obligatoire",
    "int_parsing": "un nombre entier est attendu",
    "float_parsing": "un nombre est attendu",
    "bool_parsing": "« true » ou « false » est attendu",
    "greater_than_equal": "la valeur doit être supérieure ou égale à {ge}",
    "less_than_equal": "la valeur doit être inférieure ou égale à {le}",
    "greater_than": "la valeur doit être supérieure à {gt}",
    "less_than": "la valeur doit être inférieure à {lt}",
    "string_too_long": "le texte dépasse {max_length} caractères",
    "string_too_short": "le texte doit faire au moins {min_length} caractères",
    "literal_error": "valeur non reconnue (attendu : {expected})",
    "enum": "valeur non reconnue (attendu : {expected})",
    "string_pattern_mismatch": "format invalide",
    "json_invalid": "JSON invalide",
}


def problem(status: int, detail: str, *, title: str | None = None, **extra) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title or TITLES.get(status, HTTPStatus(status).phrase),
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _french_validation_message(error: dict) -> str:
    location = ".".join(str(part) for part in error.get("loc", ()) if part not in ("query", "body"))
    template = VALIDATION_MESSAGES.get(error.get("type", ""))
    if template is None:
        message = "valeur invalide"
    else:
        try:
            message = template.format(**error.get("ctx", {}))
        except (KeyError, IndexError):
            message = template
    return f"{location} : {message}" if location else message


def error_response(request: Request, status: int, detail: str, **extra) -> Response:
    """problem+json for tools; the app's error page (if it has one) for people's pages."""
    error_page = getattr(request.app.state, "error_page", None)
    if error_page is not None and not request.url.path.startswith(MACHINE_PREFIXES):
        return error_page(request, status, detail)
    return problem(status, detail, **extra)


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def refuse_nul_characters(request: Request, call_next):
        """PostgreSQL text cannot hold U+0000: say so before any query sees it."""
        if "\x00" in unquote(request.url.query) or "\x00" in unquote(request.url.path):
            return problem(422, "les paramètres ne peuvent pas contenir de caractère nul")
        return await call_next(request)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "")
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"Aucune ressource à l'adresse {request.url.path}."
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = "Corps de la requête illisible : du JSON en UTF-8 est attendu."
        if exc.status_code == 405 and detail == "Method Not Allowed":
            detail = f"La méthode {request.method} n'est pas acceptée ici."
        response = error_response(request, exc.status_code, detail)
        response.headers.update(exc.headers or {})  # e.g. WWW-Authenticate on a 401
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [_french_validation_message(e) for e in exc.errors()]
        return error_response(request, 422, " ; ".join(errors), erreurs=errors)

    async def database_unreachable(request: Request, exc: Exception) -> Response:
        """The database is down, restarting or overloaded: a 503 to retry, not a 500; the
        connection pool reconnects by itself (pre-ping) once it is back."""
        logger.warning("Base de données injoignable sur %s : %s", request.url.path, exc)
        response = error_response(request, 503, "La base de données est momentanément "
                                                "injoignable ; réessayez dans quelques "
                                                "instants.")
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    app.add_exception_handler(OperationalError, database_unreachable)
    app.add_exception_handler(InterfaceError, database_unreachable)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> Response:
        logger.exception("Erreur inattendue sur %s", request.url.path)
        response = error_response(request, 500,
                                  "Une erreur inattendue est survenue ; elle a été journalisée.")
        # The server closes the connection after an unexpected error: say so to the client.
        response.headers["Connection"] = "close"
        return response
