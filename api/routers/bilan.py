"""« Faire mon bilan prévention »: the declared professionals near a place, for citizens.

``/api/v1/bilan/professionnels`` (JSON or GeoJSON) and the ``/bilan`` page (a plain form,
its list and a folium map in a frame, numbered alike) read the same query
(``cartographie.bilan.professionnels``): only declarations that are public.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.orm import Session

from api.deps import get_session
from api.filters import paging
from api.representation import GEOJSON, wants_geojson
from api.routers.orientation import resolve_place
from api.routers.pages import TEMPLATES, page, place_from_form
from cartographie import bilan
from cartographie.bilan import PROFESSION_SLUGS, Recherche
from maps import folium_maps

router = APIRouter(tags=["Bilan prévention"])
Format = Annotated[str | None, Query(pattern="^(json|geojson)$",
                                     description="json (défaut) ou geojson")]
Profession = Annotated[str | None, Query(
    pattern="^(medecin|pharmacien|sage-femme|infirmier)$",
    description="medecin, pharmacien, sage-femme ou infirmier")]
PAGE_RESULTS = 30
# « Prochain bilan » on the orientation page and sheet (``_prochain_bilan.html``).
TEMPLATES.env.globals["prochain_bilan"] = bilan.prochaine_tranche


def display_name(row: dict[str, Any]) -> str:
    """« Dr Claire Martin — Médecin », as the list and the map show a professional."""
    title = "Dr " if row.get("code_profession") == "10" else ""
    person = " ".join(filter(None, (row.get("prenom"), row.get("nom"))))
    return f"{title}{person} — {row.get('profession')}"


def professional_json(row: dict[str, Any]) -> dict[str, Any]:
    body = {key: row.get(key) for key in (
        "id", "profession", "code_profession", "civilite", "nom", "prenom", "lieu_nom",
        "adresse", "code_postal", "code_commune", "ville", "telephone", "lien_rdv",
        "precision_geo", "lon", "lat")}
    body["date_maj"] = row["date_maj"].isoformat() if row.get("date_maj") else None
    if row.get("distance_m") is not None:
        body["distance_m"] = round(row["distance_m"], 1)
    return body


def professional_feature(row: dict[str, Any]) -> dict[str, Any]:
    properties = professional_json(row)
    lon, lat = properties.pop("lon"), properties.pop("lat")
    return {"type": "Feature", "id": row["id"],
            "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": properties}


@router.get("/api/v1/bilan/professionnels",
            summary="Professionnels qui font « Mon bilan prévention », les plus proches d'abord",
            responses={200: {"content": {GEOJSON: {}}}})
def list_professionals(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    page_: Annotated[tuple[int, int], Depends(paging)],
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    code_commune: Annotated[str | None, Query(pattern=r"^\d[\dAB]\d{3}$")] = None,
    adresse: Annotated[str | None, Query(min_length=2, max_length=200)] = None,
    rayon_km: Annotated[float, Query(ge=0.1, le=200)] = 30,
    profession: Profession = None,
    code_region: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
    f: Format = None,
) -> JSONResponse:
    limit, offset = page_
    place = None
    if any(v is not None for v in (lat, lon, code_commune, adresse)):
        place = resolve_place(request, session, lat, lon, code_commune, adresse)
    total, rows = bilan.professionnels(session.connection(), Recherche(
        lon=place.lon if place else None, lat=place.lat if place else None,
        rayon_km=rayon_km, profession=PROFESSION_SLUGS.get(profession or ""),
        code_region=code_region, limit=limit, offset=offset))
    if wants_geojson(request, f):
        return JSONResponse({"type": "FeatureCollection", "numberMatched": total,
                             "numberReturned": len(rows),
                             "features": [professional_feature(r) for r in rows]},
                            media_type=GEOJSON)
    return JSONResponse({"total": total, "limit": limit, "offset": offset,
                         "professionnels": [professional_json(r) for r in rows]})


def _search(request: Request, session: Session, lieu: str, profession: str | None):
    place = place_from_form(request, session, lieu)
    total, rows = bilan.professionnels(session.connection(), Recherche(
        lon=place.lon, lat=place.lat, profession=PROFESSION_SLUGS.get(profession or ""),
        limit=PAGE_RESULTS))
    return place, total, rows


@router.get("/bilan", response_class=HTMLResponse, include_in_schema=False)
def bilan_page(
    request: Request, session: Annotated[Session, Depends(get_session)],
    lieu: Annotated[str, Query(max_length=200)] = "",
    profession: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    """The citizen's page: what the bilan is, then whom to see near the place typed."""
    error, status, place, total, rows = None, 200, None, 0, []
    if profession and profession not in PROFESSION_SLUGS:
        error, status = "Profession inconnue : choisissez-en une dans la liste.", 422
    elif lieu.strip():
        try:
            place, total, rows = _search(request, session, lieu.strip(), profession or None)
        except HTTPException as refused:
            error, status = refused.detail, refused.status_code
    query = request.url.query
    return page(request, "bilan.html", status, lieu=lieu, profession=profession,
                professions=PROFESSION_SLUGS, tranches=bilan.TRANCHES_AGE, place=place,
                total=total, professionnels=rows, error=error, query=query)


@router.get("/bilan/carte", response_class=HTMLResponse, include_in_schema=False)
def bilan_map(
    request: Request, session: Annotated[Session, Depends(get_session)],
    lieu: Annotated[str, Query(min_length=1, max_length=200)],
    profession: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    """The page's map (in a frame): the place and the numbered professionals of the list."""
    place, _, rows = _search(request, session, lieu.strip(), profession or None)
    settings = request.app.state.settings
    markers = [{"nom": display_name(row), "lat": row["lat"], "lon": row["lon"]} for row in rows]
    m = folium_maps.sheet_map({"lat": place.lat, "lon": place.lon, "libelle": place.libelle},
                              [{"jeux": [{"offres": markers}]}], settings.fond_carte_url,
                              settings.fond_carte_attribution, interactive=True)
    return HTMLResponse(folium_maps.with_nonce(folium_maps.render(m), request.state.csp_nonce))
