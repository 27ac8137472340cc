"""``/api/v1/offres``: an offer's provenance (sources, owner of each field, history)."""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.deps import get_session
from cartographie import provenance

router = APIRouter(prefix="/api/v1/offres", tags=["Offres"])


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
    offre_id: Annotated[int, Path(ge=1, le=2**62, description="Identifiant de l'offre")],
    session: Annotated[Session, Depends(get_session)],
) -> ProvenanceOut:
    found = provenance.of_offer(session.connection(), offre_id)
    if found is None:
        raise HTTPException(404, f"L'offre {offre_id} n'existe pas.")
    return ProvenanceOut.model_validate(found)
