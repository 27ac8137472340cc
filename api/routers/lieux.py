"""``/api/v1/lieux``: what a person typed (« Strasbourg », « 67000 », an address) as a place.

The card page uses it for its place search; it goes through the same geocoder as the
orientation (local by default, Géoplateforme when configured).
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from api.deps import get_session
from api.routers.orientation import resolve_place

router = APIRouter(prefix="/api/v1/lieux", tags=["Lieux"])


@router.get("", summary="Géocoder une commune, un code postal ou une adresse",
            responses={404: {"description": "Lieu introuvable (problem+json)"}})
def find_place(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    q: Annotated[str, Query(min_length=2, max_length=200, description="Commune, code postal "
                                                                       "ou adresse")],
) -> dict:
    place = resolve_place(request, session, None, None, None, q)
    return {"libelle": place.libelle, "lon": place.lon, "lat": place.lat,
            "precision": place.precision, "code_commune": place.code_commune}
