"""OGC API – Features (Part 1: core, GeoJSON, OpenAPI 3.0) under ``/ogc``.

So that QGIS, GDAL/OGR and other GIS tools read the offers natively: one collection with
all offers, one per thematic card, and the professionals who carry out the bilan
(``bilan-professionnels``, as ``/api/v1/bilan/professionnels``). Offer items take ``bbox``,
``limit``, ``offset`` and the same filters as ``/api/v1/offres``, and page through ``next``
links: a keyset ``curseur`` (stable while offers change) unless ordered by distance.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.deps import get_session
from api.filters import feed_filters
from api.representation import GEOJSON, offer_feature, public_base
from api.routers.bilan import professional_feature
from cartographie import bilan, recherche
from cartographie.recherche import MAX_LIMIT, Filtres

router = APIRouter(prefix="/ogc", tags=["OGC API – Features"])
ALL = "offres"
BILAN = "bilan-professionnels"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
FRANCE_EXTENT = [-63.2, -21.4, 55.9, 51.2]  # métropole et DROM
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def base(request: Request) -> str:
    return public_base(request) + "/ogc"


def collections(session: Session) -> list[dict]:
    cards = session.execute(text("SELECT slug, nom, resume FROM carte ORDER BY ordre")).all()
    return [{"id": ALL, "title": "Toutes les offres de prévention",
             "description": "Toutes les offres publiées, toutes cartes confondues."}] + [
        {"id": slug, "title": nom, "description": resume} for slug, nom, resume in cards] + [
        {"id": BILAN, "title": "Professionnels qui font « Mon bilan prévention »",
         "description": "Médecins, pharmaciens, infirmiers et sages-femmes qui ont déclaré "
                        "faire le bilan, à chacun de leurs lieux d'exercice."}]


def describe(request: Request, collection: dict) -> dict:
    root = base(request)
    return {
        **collection,
        "itemType": "feature",
        "crs": [CRS84],
        "extent": {"spatial": {"bbox": [FRANCE_EXTENT], "crs": CRS84}},
        "links": [
            {"href": f"{root}/collections/{collection['id']}", "rel": "self",
             "type": "application/json", "title": collection["title"]},
            {"href": f"{root}/collections/{collection['id']}/items", "rel": "items",
             "type": GEOJSON, "title": "Offres"},
        ],
    }


def collection_or_404(session: Session, collection_id: str) -> dict:
    found = next((c for c in collections(session) if c["id"] == collection_id), None)
    if found is None:
        raise HTTPException(404, f"Collection inconnue : « {collection_id} ».")
    return found


CollectionId = Annotated[str, Path(max_length=100, description="offres, ou une carte")]
FormatParam = Annotated[str | None, Query(pattern="^(json|geojson)$")]


@router.get("", summary="Page d'accueil OGC API – Features")
def landing(request: Request, f: FormatParam = None) -> dict:
    root, site = base(request), public_base(request)
    return {
        "title": "Cartographie des ressources de prévention",
        "description": "Offres de prévention (« Mon bilan prévention ») en OGC API – Features.",
        "links": [
            {"href": root, "rel": "self", "type": "application/json", "title": "Cette page"},
            {"href": f"{site}/openapi.json", "rel": "service-desc",
             "type": "application/vnd.oai.openapi+json;version=3.0", "title": "OpenAPI"},
            {"href": f"{site}/docs", "rel": "service-doc", "type": "text/html",
             "title": "Documentation"},
            {"href": f"{root}/conformance", "rel": "conformance", "type": "application/json",
             "title": "Conformité"},
            {"href": f"{root}/collections", "rel": "data", "type": "application/json",
             "title": "Collections"},
        ],
    }


@router.get("/conformance", summary="Classes de conformité")
def conformance(f: FormatParam = None) -> dict:
    return {"conformsTo": CONFORMANCE}


@router.get("/collections", summary="Les collections : toutes les offres, et une par carte")
def list_collections(request: Request, session: Annotated[Session, Depends(get_session)],
                     f: FormatParam = None) -> dict:
    return {
        "links": [{"href": f"{base(request)}/collections", "rel": "self",
                   "type": "application/json"}],
        "collections": [describe(request, c) for c in collections(session)],
    }


@router.get("/collections/{collection_id}", summary="Une collection")
def get_collection(request: Request, collection_id: CollectionId,
                   session: Annotated[Session, Depends(get_session)],
                   f: FormatParam = None) -> dict:
    return describe(request, collection_or_404(session, collection_id))


@router.get("/collections/{collection_id}/items", summary="Les offres d'une collection",
            responses={200: {"content": {GEOJSON: {}}}})
def items(
    request: Request,
    collection_id: CollectionId,
    filters: Annotated[Filtres, Depends(feed_filters)],
    session: Annotated[Session, Depends(get_session)],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    f: FormatParam = None,
) -> JSONResponse:
    collection_or_404(session, collection_id)
    if collection_id == BILAN:
        total, rows = bilan.professionnels(session.connection(),
                                           bilan.Recherche(limit=limit, offset=offset))
        features = [professional_feature(row) for row in rows]
    else:
        if collection_id != ALL:
            filters.carte = collection_id
        total, rows = recherche.search(session.connection(), filters, limit, offset)
        features = [offer_feature(row) for row in rows]
    url = f"{base(request)}/collections/{collection_id}/items"
    query = {k: v for k, v in request.query_params.items()
             if k not in ("offset", "limit", "curseur")}

    def page(rel: str, title: str, **position: int | str) -> dict[str, str]:
        href = f"{url}?{urlencode({**query, 'limit': limit, **position})}"
        return {"href": href, "rel": rel, "type": GEOJSON, "title": title}

    if filters.near or collection_id == BILAN:  # by distance, or professionals: offsets
        links = [page("self", "Cette page", offset=offset)]
        if offset + len(rows) < total:
            links.append(page("next", "Page suivante", offset=offset + limit))
        if offset > 0:
            links.append(page("prev", "Page précédente", offset=max(0, offset - limit)))
    else:  # by id: « next » is a keyset cursor, stable while the offers change
        here = {"offset": offset} if filters.apres_id is None else {"curseur": filters.apres_id}
        links = [page("self", "Cette page", **here)]
        if len(rows) == limit:
            links.append(page("next", "Page suivante", curseur=rows[-1]["id"]))
    body = {"type": "FeatureCollection", "numberMatched": total,
            "numberReturned": len(features), "features": features, "links": links}
    body["timeStamp"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return JSONResponse(body, media_type=GEOJSON)


@router.get("/collections/{collection_id}/items/{feature_id}", summary="Une offre",
            responses={200: {"content": {GEOJSON: {}}}})
def item(
    request: Request,
    collection_id: CollectionId,
    feature_id: Annotated[int, Path(ge=1, le=2**62)],
    session: Annotated[Session, Depends(get_session)],
    f: FormatParam = None,
) -> JSONResponse:
    collection_or_404(session, collection_id)
    if collection_id == BILAN:
        rows = bilan.professionnels(session.connection(),
                                    bilan.Recherche(declaration_id=feature_id))[1]
        feature = professional_feature(rows[0]) if rows else None
    else:
        filters = Filtres(ids=[feature_id],
                          carte=None if collection_id == ALL else collection_id)
        rows = recherche.page(session.connection(), filters, 1, 0)
        feature = offer_feature(rows[0]) if rows else None
    if feature is None:
        raise HTTPException(404, f"L'élément {feature_id} n'est pas dans « {collection_id} ».")
    url = f"{base(request)}/collections/{collection_id}"
    feature["links"] = [
        {"href": f"{url}/items/{feature_id}", "rel": "self", "type": GEOJSON},
        {"href": url, "rel": "collection", "type": "application/json"},
    ]
    return JSONResponse(feature, media_type=GEOJSON)
