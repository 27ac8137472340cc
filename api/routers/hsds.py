"""``/hsds``: the published offers as an Open Referral HSDS 3.0 API (services, places,
organizations, taxonomies), for the directories of the social and health sector.

The paths, parameters and page object follow the HSDS 3.0 API reference (``openapi.json`` of
openreferral/specification); the items are those of ``cartographie.hsds``; the filters are the
search API's own (``recherche.where``), so that ``search`` or a card means the same here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from api.deps import get_session
from api.representation import public_base
from cartographie import hsds, recherche
from cartographie.recherche import MAX_LIMIT, MAX_RADIUS_KM, Filtres

router = APIRouter(prefix="/hsds", tags=["HSDS 3.0"])
NDJSON = "application/x-ndjson"
STREAM_BATCH = 500
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "Inconnu, ou rien de publié (problem+json)"}}
EARLIEST = dt.datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC)
HsdsId = Annotated[str, Path(max_length=36, description="Identifiant HSDS (UUID)")]
Format = Annotated[str, Query(pattern="^(json|ndjson)$", description=(
    "json (défaut, paginé) ou ndjson : tous les résultats, un objet par ligne, en flux"))]


def hsds_paging(
    page: Annotated[int, Query(ge=1, le=1_000_000, description="Numéro de page (1 d'abord)")] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Éléments par page")] = 50,
) -> tuple[int, int]:
    return page, per_page


def hsds_filters(
    session: Annotated[Session, Depends(get_session)],
    search: Annotated[str | None, Query(min_length=1, max_length=200, description=(
        "Recherche en texte libre (nom, nom dans la source, description)"))] = None,
    taxonomy_term_id: Annotated[str | None, Query(max_length=36, description=(
        "Un terme de /hsds/taxonomy_terms : sujet clé, carte, type d'offre ou besoin"))] = None,
    modified_after: Annotated[dt.datetime | None, Query(description=(
        "Seulement ce qui a changé à cet instant ou après (ISO 8601, UTC sans fuseau)"))] = None,
) -> Filtres:
    filters = Filtres(q=search, a_distance=True)
    if taxonomy_term_id is not None:
        known = {term["id"]: key for key, term in hsds.taxonomy_terms(session.connection()).items()}
        if taxonomy_term_id not in known:
            raise HTTPException(422, f"taxonomy_term_id : terme inconnu « {taxonomy_term_id} » "
                                     "(voir /hsds/taxonomy_terms)")
        kind, slug = known[taxonomy_term_id]  # theme, carte, type_offre or besoin
        setattr(filters, kind, slug)
    if modified_after is not None:
        if modified_after.tzinfo is None:
            modified_after = modified_after.replace(tzinfo=dt.UTC)
        # HSDS says « on or after »; our clause is strictly after.
        filters.modifie_apres = max(modified_after, EARLIEST) - dt.timedelta(microseconds=1)
    return filters


def page_object(total: int, page: int, per_page: int, contents: list[Any]) -> dict[str, Any]:
    """The page of the HSDS API reference (``components.schemas.Page``) with its contents."""
    total_pages = math.ceil(total / per_page)
    return {"total_items": total, "total_pages": total_pages, "page_number": page,
            "size": len(contents), "first_page": page == 1, "last_page": page >= total_pages,
            "empty": not contents, "contents": contents}


def stream(connection: Connection, filters: Filtres, items) -> StreamingResponse:
    """``format=ndjson``: every item, one JSON object per line, sent as it is written."""
    def lines() -> Iterator[bytes]:
        for rows in hsds.batches(connection, filters, STREAM_BATCH):
            context = hsds.context(connection, [row["id"] for row in rows])
            yield b"".join(orjson.dumps(item) + b"\n" for item in items(rows, context))

    return StreamingResponse(lines(), media_type=NDJSON)


@router.get("/", summary="L'API HSDS : version et profil")
def api_info(request: Request) -> dict[str, str]:
    base = public_base(request)
    return {"version": hsds.HSDS_VERSION, "profile": f"{base}/hsds/profil",
            "openapi_url": f"{base}/openapi.json"}


@router.get("/profil", summary="Le profil HSDS de cette API : d'où vient chaque objet")
def profile() -> dict[str, Any]:
    return {"version": hsds.HSDS_VERSION, **hsds.PROFIL, "taxonomies": hsds.taxonomies()}


def _services(rows: list[dict[str, Any]], context: hsds.Contexte) -> list[dict[str, Any]]:
    return [hsds.service(row, context) for row in rows]


def _services_at_locations(rows: list[dict[str, Any]],
                           context: hsds.Contexte) -> list[dict[str, Any]]:
    return [item for row in rows
            if (item := hsds.service_at_location(row, context, with_service=True))]


def _listing(session: Session, filters: Filtres, paging: tuple[int, int], format_: str,
             items) -> Response:
    connection = session.connection()
    if format_ == "ndjson":
        return stream(connection, filters, items)
    page, per_page = paging
    total = recherche.count(connection, filters)
    offset = (page - 1) * per_page
    if offset and not filters.near and filters.apres_id is None:
        first = recherche.id_at(connection, filters, offset)
        filters.apres_id, offset = (first - 1, 0) if first is not None else (None, offset)
    rows = recherche.page(connection, filters, per_page, offset)
    context = hsds.context(connection, [row["id"] for row in rows])
    # orjson: a page of 1 000 services is megabytes, twice as fast to write as with json.
    return Response(orjson.dumps(page_object(total, page, per_page, items(rows, context))),
                    media_type="application/json")


@router.get("/services", summary="Les services (offres publiées), paginés ou en NDJSON")
def list_services(
    filters: Annotated[Filtres, Depends(hsds_filters)],
    paging: Annotated[tuple[int, int], Depends(hsds_paging)],
    session: Annotated[Session, Depends(get_session)],
    format: Format = "json",
) -> Response:
    return _listing(session, filters, paging, format, _services)


def _published_offer(session: Session, entity: str,
                     value: str) -> tuple[dict[str, Any], hsds.Contexte]:
    """The published offer behind an HSDS id of ``entity``, and what its item needs."""
    number = hsds.entity_number(entity, value)
    row = recherche.offer(session.connection(), number) if number else None
    if row is None:
        raise HTTPException(404, f"{value} : aucun élément publié n'a cet identifiant.")
    return row, hsds.context(session.connection(), [row["id"]])


@router.get("/services/{id}", summary="Un service, avec son lieu, ses termes et sa structure",
            responses=NOT_FOUND)
def get_service(
    id: HsdsId, session: Annotated[Session, Depends(get_session)],
) -> JSONResponse:
    row, context = _published_offer(session, "service", id)
    structure = (hsds.structure(session.connection(), row["structure_id"])
                 if row["structure_id"] else None)
    return JSONResponse(hsds.service(
        row, context, organization_item=hsds.organization(structure) if structure else None,
        nested_terms=True))


@router.get("/service_at_locations", summary=(
    "Les services en leurs lieux (offres sur place), paginés ou en NDJSON ; autour d'un "
    "point (lat, lon, rayon_km) : les plus proches d'abord"))
def list_services_at_locations(
    filters: Annotated[Filtres, Depends(hsds_filters)],
    paging: Annotated[tuple[int, int], Depends(hsds_paging)],
    session: Annotated[Session, Depends(get_session)],
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    rayon_km: Annotated[float | None, Query(ge=0.1, le=MAX_RADIUS_KM)] = None,
    format: Format = "json",
) -> Response:
    if (lat is None) != (lon is None):
        raise HTTPException(422, "lat et lon vont ensemble : donnez les deux ou aucun")
    if rayon_km is not None and lat is None:
        raise HTTPException(422, "rayon_km demande un point (lat et lon)")
    filters.a_distance = False  # a remote offer has no place
    filters.lat, filters.lon, filters.rayon_km = lat, lon, rayon_km
    return _listing(session, filters, paging, format, _services_at_locations)


@router.get("/service_at_locations/{id}", summary="Un service en son lieu",
            responses=NOT_FOUND)
def get_service_at_location(
    id: HsdsId, session: Annotated[Session, Depends(get_session)],
) -> JSONResponse:
    item = hsds.service_at_location(*_published_offer(session, "service_at_location", id),
                                    with_service=True)
    if item is None:
        raise HTTPException(404, f"{id} : cette offre est à distance, sans lieu.")
    return JSONResponse(item)


@router.get("/organizations", summary="Les structures qui portent des offres publiées")
def list_organizations(
    filters: Annotated[Filtres, Depends(hsds_filters)],
    paging: Annotated[tuple[int, int], Depends(hsds_paging)],
    session: Annotated[Session, Depends(get_session)],
) -> JSONResponse:
    page, per_page = paging
    total, rows = hsds.structures(session.connection(), filters, per_page,
                                  (page - 1) * per_page)
    return JSONResponse(page_object(total, page, per_page,
                                    [hsds.organization(row) for row in rows]))


@router.get("/organizations/{id}", summary="Une structure, avec ses identifiants",
            responses=NOT_FOUND)
def get_organization(
    id: HsdsId, session: Annotated[Session, Depends(get_session)],
) -> JSONResponse:
    number = hsds.entity_number("organization", id)
    row = hsds.structure(session.connection(), number) if number else None
    if row is None:
        raise HTTPException(404, f"{id} : aucune structure publiée n'a cet identifiant.")
    return JSONResponse(hsds.organization(row))


@router.get("/taxonomies", summary="Nos taxonomies : sujets clés, cartes, types d'offre, besoins")
def list_taxonomies() -> dict[str, Any]:
    items = hsds.taxonomies()
    return page_object(len(items), 1, max(len(items), 1), items)


@router.get("/taxonomies/{id}", summary="Une taxonomie",
            responses=NOT_FOUND)
def get_taxonomy(id: HsdsId) -> dict[str, Any]:
    found = next((item for item in hsds.taxonomies() if item["id"] == id), None)
    if found is None:
        raise HTTPException(404, f"{id} : taxonomie inconnue (voir /hsds/taxonomies).")
    return found


@router.get("/taxonomy_terms", summary="Les termes : sujets clés, cartes, types d'offre, besoins")
def list_taxonomy_terms(
    session: Annotated[Session, Depends(get_session)],
    paging: Annotated[tuple[int, int], Depends(hsds_paging)],
    taxonomy_id: Annotated[str | None, Query(max_length=36, description=(
        "Seulement les termes de cette taxonomie"))] = None,
) -> dict[str, Any]:
    page, per_page = paging
    terms = [term for term in hsds.taxonomy_terms(session.connection()).values()
             if taxonomy_id is None or term["taxonomy_id"] == taxonomy_id]
    return page_object(len(terms), page, per_page,
                       terms[(page - 1) * per_page:page * per_page])


@router.get("/taxonomy_terms/{id}", summary="Un terme",
            responses=NOT_FOUND)
def get_taxonomy_term(
    id: HsdsId, session: Annotated[Session, Depends(get_session)],
) -> dict[str, Any]:
    terms = hsds.taxonomy_terms(session.connection()).values()
    found = next((term for term in terms if term["id"] == id), None)
    if found is None:
        raise HTTPException(404, f"{id} : terme inconnu (voir /hsds/taxonomy_terms).")
    return found


@router.get("/export.zip", summary="Toutes les offres publiées en paquet tabulaire HSDS "
                                   "(CSV + datapackage.json)",
            responses={308: {"description": "Le fichier de /donnees, refait à chaque version "
                                            "des données"}})
def tabular_export() -> RedirectResponse:
    """The package is one of the downloads (built once per data version, shared by the
    workers, ETag and gzip): this address leads there."""
    return RedirectResponse("/donnees/hsds-3.0-tabulaire.zip", status_code=308)
