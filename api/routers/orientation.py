"""``/api/v1/orientation``: for a place, an age and 1–3 cards, the nearest suitable offers."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.deps import get_session
from api.representation import offer_json
from cartographie import orientation
from cartographie.geocodage import GeocodeurGeoplateforme, GeocodeurLocal, Lieu
from cartographie.territoires import commune_place

router = APIRouter(prefix="/api/v1/orientation", tags=["Orientation"])
MAX_CARDS = 3


def resolve_place(request: Request, session: Session, lat: float | None, lon: float | None,
                  code_commune: str | None, adresse: str | None) -> Lieu:
    given = [name for name, value in (("lat/lon", lat), ("code_commune", code_commune),
                                      ("adresse", adresse)) if value is not None]
    if len(given) != 1 or (lat is None) != (lon is None):
        raise HTTPException(422, "donnez un seul lieu : lat et lon, ou code_commune, ou adresse")
    if lat is not None:
        return Lieu(f"{lat:.5f}, {lon:.5f}", lon, lat, "point", None)
    if code_commune is not None:
        place = commune_place(session.connection(), code_commune)
        if place is None:
            raise HTTPException(404, f"commune inconnue ou sans position : « {code_commune} »")
        return Lieu(f"{place.nom} ({place.code})", place.lon, place.lat, "commune", place.code)
    settings = request.app.state.settings
    geocoder = (GeocodeurGeoplateforme(settings.geoplateforme_url)
                if settings.geocodeur == "geoplateforme"
                else GeocodeurLocal(session.connection()))
    found = geocoder.geocode(adresse)
    if found is None:
        raise HTTPException(404, f"adresse introuvable : « {adresse} »")
    return found


def card_slugs(session: Session, cartes: str) -> list[str]:
    slugs = [s.strip() for s in cartes.split(",") if s.strip()]
    if not 1 <= len(slugs) <= MAX_CARDS or len(set(slugs)) != len(slugs):
        raise HTTPException(422, f"cartes : de 1 à {MAX_CARDS} cartes différentes, séparées "
                                 "par des virgules")
    known = set(session.scalars(text("SELECT slug FROM carte WHERE slug = ANY(:s)"),
                                {"s": slugs}))
    unknown = [s for s in slugs if s not in known]
    if unknown:
        raise HTTPException(422, f"cartes : valeur inconnue « {unknown[0]} »")
    return slugs


@router.get("", summary="Les offres les plus proches et adaptées, carte par carte")
def orient(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    cartes: Annotated[str, Query(max_length=400, description="1 à 3 cartes, séparées par "
                                                             "des virgules")],
    age: Annotated[int | None, Query(ge=0, le=120)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    code_commune: Annotated[str | None, Query(pattern=r"^[0-9][0-9AB][0-9]{3}$")] = None,
    adresse: Annotated[str | None, Query(min_length=2, max_length=200)] = None,
) -> dict:
    slugs = card_slugs(session, cartes)
    place = resolve_place(request, session, lat, lon, code_commune, adresse)
    return answer(session, place, slugs, age)


def answer(session: Session, place: Lieu, slugs: list[str], age: int | None) -> dict:
    """Per card, the nearest suitable offers and the national resources (API and pages)."""
    results = orientation.orient(session.connection(), place.lon, place.lat, slugs, age)
    return {
        "lieu": {"libelle": place.libelle, "lon": place.lon, "lat": place.lat,
                 "precision": place.precision, "code_commune": place.code_commune},
        "age": age,
        "cartes": [{"carte": r.carte, "rayon_km": r.rayon_km,
                    "offres": [offer_json(o) for o in r.offres],
                    "ressources": r.ressources} for r in results],
    }
