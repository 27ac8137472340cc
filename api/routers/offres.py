"""``/api/v1/offres``: filterable offers (JSON or GeoJSON), one offer, its provenance."""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.deps import get_session
from api.filters import feed_filters, paging
from api.representation import GEOJSON, feature_collection, offer_json, wants_geojson
from cartographie import provenance, recherche, score
from cartographie.recherche import Filtres

router = APIRouter(prefix="/api/v1/offres", tags=["Offres"])
OfferId = Annotated[int, Path(ge=1, le=2**62, description="Identifiant de l'offre")]
Format = Annotated[str | None, Query(pattern="^(json|geojson)$",
                                     description="json (défaut) ou geojson")]


@router.get("", summary="Offres filtrées, paginées (décalage ou curseur stable) ; triées par "
                        "distance autour d'un point ; modifications depuis un instant",
            responses={200: {"content": {GEOJSON: {}}}})
def list_offers(
    request: Request,
    filters: Annotated[Filtres, Depends(feed_filters)],
    page: Annotated[tuple[int, int], Depends(paging)],
    session: Annotated[Session, Depends(get_session)],
    f: Format = None,
    ouvert_le: Annotated[dt.datetime | None, Query(
        description="Seulement les offres ouvertes à cet instant (ISO 8601, ex. "
                    "2026-07-14T10:30+02:00 ; sans fuseau : l'heure du lieu de l'offre) ; "
                    "« ouverture » de chaque offre est alors son état à cet instant")] = None,
) -> JSONResponse:
    limit, offset = page
    connection = session.connection()
    feed = filters.modifie_apres is not None or filters.apres_id is not None
    # Read before the offers: every change not in this answer is stamped after it.
    complete_until = recherche.complete_until(connection) if feed else None
    if ouvert_le is None:
        total, rows = recherche.search(connection, filters, limit, offset)
    else:
        total, rows = recherche.search_open(connection, filters, ouvert_le, limit, offset)
    if wants_geojson(request, f):
        body = feature_collection(rows, total, at=ouvert_le)
    else:
        body = {"total": total, "limit": limit, "offset": offset,
                "offres": [offer_json(row, ouvert_le) for row in rows]}
    if feed:
        body["curseur_suivant"] = str(rows[-1]["id"]) if len(rows) == limit else None
        body["prochain_modified_after"] = complete_until.isoformat()
    return JSONResponse(body, media_type=GEOJSON if wants_geojson(request, f) else None)


@router.get("/{offre_id}", summary="Une offre, avec sa structure, ses jeux, ses cartes et la "
                                    "source de chaque champ",
            responses={404: {"description": "Offre inconnue (problem+json)"},
                       200: {"content": {GEOJSON: {}}}})
def get_offer(
    request: Request, offre_id: OfferId, session: Annotated[Session, Depends(get_session)],
    f: Format = None,
) -> JSONResponse:
    connection = session.connection()
    row = recherche.offer(connection, offre_id)
    if row is None:
        raise HTTPException(404, f"L'offre {offre_id} n'existe pas ou n'est pas publiée.")
    if wants_geojson(request, f):
        return JSONResponse(feature_collection([row], 1)["features"][0], media_type=GEOJSON)
    body = offer_json(row)
    body["structure"] = None if row["structure_nom"] is None else {
        "nom": row["structure_nom"], "finess_et": row["finess_et"], "siret": row["siret"],
        "categorie": row["categorie_finess_libelle"],
    }
    body["qualite"] = {
        "score": row["score_qualite"],
        "parties": {name: row[f"score_{name}"] for name in score.PARTS},
        "maximum": score.MAXIMA, "manque": score.missing(row),
    }
    origin = provenance.of_offer(connection, offre_id)
    body["sources"] = {
        "champs": origin["champs"],
        "enregistrements": [
            {"source": s["source"], "cle": s["cle"], "actif": s["actif"],
             "derniere_vue": s["derniere_vue"].isoformat()} for s in origin["sources"]
        ],
    }
    return JSONResponse(body)


class SourceOut(BaseModel):
    source: str
    cle: str
    actif: bool
    score: float | None
    raison: str | None
    premier_run_id: int | None
    dernier_run_id: int | None
    premiere_vue: dt.datetime
    derniere_vue: dt.datetime


class ChangementOut(BaseModel):
    champ: str
    ancienne_valeur: Any
    nouvelle_valeur: Any
    source: str
    run_id: int | None
    le: dt.datetime


class ProvenanceOut(BaseModel):
    id: int
    nom: str
    maj_le: dt.datetime
    champs: dict[str, str]
    sources: list[SourceOut]
    historique: list[ChangementOut]


@router.get(
    "/{offre_id}/provenance",
    response_model=ProvenanceOut,
    summary="Sources d'une offre, source de chaque champ et historique des changements",
    responses={404: {"description": "Offre inconnue (problem+json)"}},
)
def offer_provenance(
    offre_id: OfferId, session: Annotated[Session, Depends(get_session)],
) -> ProvenanceOut:
    found = provenance.of_offer(session.connection(), offre_id)
    if found is None:
        raise HTTPException(404, f"L'offre {offre_id} n'existe pas ou n'est pas publiée.")
    return ProvenanceOut.model_validate(found)
