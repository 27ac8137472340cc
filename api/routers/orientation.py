"""``/api/v1/orientation``: for a place, an age and 1–3 cards, jeu by jeu, specialised first."""

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.deps import get_session
from api.representation import offer_json
from api.schemas import OrientationOut
from cartographie import orientation, temporaire
from cartographie.geocodage import GeocodeurGeoplateforme, GeocodeurLocal, Lieu
from cartographie.territoires import commune_place

router = APIRouter(prefix="/api/v1/orientation", tags=["Orientation"])
MAX_CARDS = 3
DATE_DOC = ("Le jour où la personne irait (AAAA-MM-JJ, aujourd'hui par défaut) : les offres "
            "fermées temporairement ce jour-là ne sont gardées que si leur jeu n'a rien d'autre")
BESOINS_DOC = ("Au plus un besoin par carte, séparés par des virgules (ex. « tabac-arreter ») : "
               "la carte ne garde que les jeux liés à ce besoin")


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


def besoin_by_card(session: Session, besoins: str | None, slugs: list[str]) -> dict[str, str]:
    """``besoins=tabac-arreter,…``: at most one need per chosen card, each on one of them."""
    wanted = [b.strip() for b in (besoins or "").split(",") if b.strip()]
    if not wanted:
        return {}
    cards = dict(session.execute(text("SELECT slug, carte_slug FROM besoin "
                                      "WHERE slug = ANY(:b)"), {"b": wanted}).all())
    by_card: dict[str, str] = {}
    for besoin in wanted:
        if besoin not in cards:
            raise HTTPException(422, f"besoins : valeur inconnue « {besoin} »")
        if cards[besoin] not in slugs:
            raise HTTPException(422, f"besoins : « {besoin} » n'est pas un besoin des cartes "
                                     "choisies")
        if cards[besoin] in by_card:
            raise HTTPException(422, f"besoins : un seul besoin par carte (« {cards[besoin]} »)")
        by_card[cards[besoin]] = besoin
    return by_card


@router.get("", summary="Par carte, ses jeux d'offres dans l'ordre (spécialisés d'abord), "
                        "les offres adaptées les plus proches de chacun, puis les aides à "
                        "distance", response_model=OrientationOut)
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
    besoins: Annotated[str | None, Query(max_length=400, description=BESOINS_DOC)] = None,
    date: Annotated[dt.date | None, Query(description=DATE_DOC)] = None,
) -> dict:
    slugs = card_slugs(session, cartes)
    by_card = besoin_by_card(session, besoins, slugs)
    place = resolve_place(request, session, lat, lon, code_commune, adresse)
    return answer(session, place, slugs, age, by_card, date)


PUBLIC_KEYS = ("age_min", "age_max", "publics")


def public(row: dict) -> dict:
    return {"age_min": row.get("age_min"), "age_max": row.get("age_max"),
            "publics": list(row.get("publics") or [])}


def answer(session: Session, place: Lieu, slugs: list[str], age: int | None,
           besoins: dict[str, str] | None = None, day: dt.date | None = None) -> dict:
    """Per card, its jeux with their nearest suitable offers, then the national resources
    open to the person (API and pages); ``day``: the day the person would go."""
    results = orientation.orient(session.connection(), place.lon, place.lat, slugs, age,
                                 besoins, day=day)
    # Another day than today: the offers as they will be that day, at this time of day.
    now = dt.datetime.now(temporaire.PARIS)
    at = now.replace(year=day.year, month=day.month, day=day.day) if day else None

    def offers(rows: list[dict]) -> list[dict]:
        return [offer_json(o, at) | {"jeu": o["jeu"]} for o in rows]

    return {
        "lieu": {"libelle": place.libelle, "lon": place.lon, "lat": place.lat,
                 "precision": place.precision, "code_commune": place.code_commune},
        "age": age,
        "date": (day or temporaire.today()).isoformat(),
        "cartes": [{
            "carte": r.carte, "besoin": r.besoin, "rayon_km": r.rayon_km,
            "jeux": [{"jeu": {"slug": s.jeu["slug"], "nom": s.jeu["nom"],
                              "description": s.jeu["description"], "public": public(s.jeu)},
                      "rayon_km": s.rayon_km, "offres": offers(s.offres)} for s in r.sections],
            "ressources": [{k: v for k, v in res.items() if k not in PUBLIC_KEYS}
                           | {"public": public(res)} for res in r.ressources],
        } for r in results],
    }
