"""``/donnees``: the page listing the bulk files, and the files (``api.telechargements``).

A full file is answered with a weak ETag (its format and data version) and Last-Modified
(when it was built), so a reuser polling it gets an empty 304 until the data change; the
body is the stored gzip itself when the client accepts gzip, else decompressed on the fly.
"""

from __future__ import annotations

import datetime as dt
import threading
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api import telechargements
from api.deps import get_session
from api.representation import public_base
from api.routers.pages import page
from api.telechargements import TELECHARGEMENTS, Depot, Fichier, Telechargement

router = APIRouter(tags=["Téléchargements"])
MAX_AGE_SECONDS = 300
PAGE_WAIT_SECONDS = 3


def depot(request: Request) -> Depot:
    return Depot(request.app.state.settings.resolved_telechargements_dir)


@router.get("/donnees", response_class=HTMLResponse, include_in_schema=False)
def donnees_page(request: Request,
                 session: Annotated[Session, Depends(get_session)]) -> HTMLResponse:
    """Each file with its size, rows and date. A file the data version lacks is built in
    the background: the page waits a little for it, else shows the previous one (the link
    already gives the new one, waiting for it), never a page that hangs for minutes."""
    connection = session.connection()
    fichiers = []
    for export in TELECHARGEMENTS:
        made = depot(request).pret(connection, export)
        if made is None:
            made = built_in_background(connection.engine, depot(request), export)
        en_cours = made is None
        fichiers.append(described(export, made or depot(request).dernier(export), en_cours))
    return page(request, "donnees.html", fichiers=fichiers, base=public_base(request),
                colonnes=telechargements.COLONNES)


def built_in_background(engine: Engine, store: Depot, export: Telechargement) -> Fichier | None:
    """Start building the file on its own connection; it if is ready within
    ``PAGE_WAIT_SECONDS`` (a région, the demo), else None (the country, after a publication)."""
    made: list[Fichier] = []

    def build() -> None:
        with engine.connect() as connection:
            made.append(store.fichier(connection, export))

    worker = threading.Thread(target=build, name=f"telechargement-{export.slug}", daemon=True)
    worker.start()
    worker.join(PAGE_WAIT_SECONDS)
    return made[0] if made else None


def described(export: Telechargement, made: Fichier | None,
              en_cours: bool) -> dict[str, object]:
    """What the page says of a file, written the French way (« 12,3 Mo », « 1 234 »)."""
    if made is None:
        return {"format": export, "en_cours": True}
    return {"format": export, "en_cours": en_cours,
            "lignes": f"{made.lignes:,}".replace(",", "\u202f"),
            "taille": octets(made.taille), "taille_gzip": octets(made.taille_gzip),
            "date": made.genere.strftime("%d/%m/%Y à %H:%M UTC")}


def octets(size: int) -> str:
    for unit, scale in (("Go", 10**9), ("Mo", 10**6), ("ko", 10**3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}".replace(".", ",")
    return f"{size} octets"


def accepts_gzip(request: Request) -> bool:
    """``Accept-Encoding`` names gzip (or ``*``) with a quality above zero."""
    for part in request.headers.get("accept-encoding", "").split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        quality = next((p[2:] for p in params if p.startswith("q=")), "1")
        try:
            wanted = float(quality) > 0
        except ValueError:
            wanted = False
        if coding.lower() in ("gzip", "*") and wanted:
            return True
    return False


def not_modified(request: Request, made: Fichier) -> bool:
    """RFC 9110: If-None-Match (weak comparison) wins over If-Modified-Since."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or made.etag.removeprefix("W/") in tags
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        asked = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False  # an unreadable date is ignored, as the RFC says
    return asked.tzinfo is not None and made.genere <= asked


def streamed(request: Request, export: Telechargement, stream, headers: dict[str, str],
             ) -> StreamingResponse:
    gzip_ok = accepts_gzip(request)
    headers = {**headers, "Vary": "Accept-Encoding",
               "Content-Disposition": f'attachment; filename="{export.fichier}"'}
    if gzip_ok:
        headers["Content-Encoding"] = "gzip"
    return StreamingResponse(telechargements.chunks(stream, decompress=not gzip_ok),
                             media_type=export.media_type, headers=headers)


@router.get("/donnees/{fichier}", summary="Fichier complet des offres publiées (CSV, "
            "GeoJSON, NDJSON), ou seulement les modifications depuis un instant",
            responses={304: {"description": "Inchangé depuis l'ETag ou la date donnés"},
                       404: {"description": "Fichier inconnu (problem+json)"}})
def download(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    fichier: Annotated[str, Path(max_length=100, description="offres.csv, offres.geojson, "
                                                            "offres.ndjson ou "
                                                            "hsds-3.0-tabulaire.zip")],
    modified_after: Annotated[dt.datetime | None, Query(
        description="Seulement les offres modifiées après cet instant (ISO 8601, UTC sans "
                    "fuseau), les retirées comprises (« statut » : retiree), comme "
                    "/api/v1/offres")] = None,
) -> Response:
    export = telechargements.par_fichier(fichier)
    if export is None:
        names = ", ".join(t.fichier for t in TELECHARGEMENTS)
        raise HTTPException(404, f"Fichier inconnu « {fichier} » : les fichiers sont {names}.")
    connection = session.connection()
    if modified_after is not None and not export.suit_les_changements:
        raise HTTPException(422, f"« {fichier} » est toujours complet : pour ne lire que les "
                                 "changements, utilisez /hsds/services?modified_after=….")
    if modified_after is not None:
        if modified_after.tzinfo is None:
            modified_after = modified_after.replace(tzinfo=dt.UTC)
        stream, _, complete_until = telechargements.changes(connection, export, modified_after)
        return streamed(request, export, stream, {
            "Cache-Control": "no-cache",
            "Prochain-Modified-After": complete_until.isoformat()})
    made, stream = depot(request).ouvrir(connection, export)
    headers = {"ETag": made.etag, "Last-Modified": format_datetime(made.genere, usegmt=True),
               "Cache-Control": f"public, max-age={MAX_AGE_SECONDS}",
               "Prochain-Modified-After": made.prochain_modified_after}
    if not_modified(request, made):
        stream.close()
        return Response(status_code=304, headers=headers | {"Vary": "Accept-Encoding"})
    return streamed(request, export, stream, headers)
