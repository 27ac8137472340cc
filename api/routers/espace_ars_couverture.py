"""Espace ARS, « Couverture » page: for one card of the région, who is far from its offers,
where a new offer would help most, and « what if » an offer opened at a place.

A page over the same functions as ``/api/v1/couverture``: the choropleth reads our own vector
tiles of commune outlines (``/tiles/couverture``), the indicators, ranked list and « what if »
are rendered here, so they also read without JavaScript. Coverage figures are public open data;
the page sits in the Espace ARS because it is the ARS teams' tool to decide where to act.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import text

from api.routers.couverture import METHODE, demande
from api.routers.espace_ars import PREFIX, Connecte, WriteSession, regions
from api.routers.orientation import resolve_place
from api.routers.pages import page
from cartographie import catalogue, ecarts
from cartographie.couverture import DISTANCES_KM

router = APIRouter(prefix=PREFIX, include_in_schema=False)
# Distance to the nearest offer, in classes read on the map (upper bound in km, colour, label):
# a sequential viridis scale, readable with every common colour vision deficiency; grey with
# its own label for « no offer in the territory ».
CLASSES = ((5, "#fde725", "moins de 5 km"), (10, "#5ec962", "5 à 10 km"),
           (20, "#21918c", "10 à 20 km"), (30, "#3b528b", "20 à 30 km"),
           (None, "#440154", "plus de 30 km"))
SANS_OFFRE = "#bdbdbd"


@router.get("/couverture", response_class=HTMLResponse)
def coverage_page(
    request: Request, visiteur: Connecte, session: WriteSession,
    carte: Annotated[str, Query(max_length=100)] = "sante-mentale",
    jeu: Annotated[str, Query(max_length=100)] = "",
    region: Annotated[str, Query(pattern=r"^([0-9]{2,3})?$")] = "",
    rayon_km: Annotated[int, Query()] = 10,
    adresse: Annotated[str, Query(max_length=200)] = "",
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
) -> HTMLResponse:
    code_region = region or visiteur.compte.code_region or "11"
    if rayon_km not in DISTANCES_KM:
        raise HTTPException(422, "rayon_km : 10, 20 ou 30")
    asked = demande(session, carte, jeu or None, code_region, None)
    connection = asked.connection
    place, simulation = None, None
    if adresse.strip() or lat is not None:
        place = resolve_place(request, session, lat, lon if lat is not None else None, None,
                              adresse.strip() or None)
        simulation = ecarts.simulation(connection, asked.groupe, place.lon, place.lat)
    west, south, east, north = connection.execute(text(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        "(SELECT ST_Extent(geom) AS e FROM commune WHERE code_region = :r) x"),
        {"r": code_region}).one()
    query = {"carte": carte, "code_region": code_region, **({"jeu": jeu} if jeu else {})}
    settings = request.app.state.settings
    config = {
        "tuiles": f"/tiles/couverture/{{z}}/{{x}}/{{y}}.mvt?{urlencode(query)}",
        "emprise": None if west is None else [[south, west], [north, east]],
        "classes": [{"max_km": c[0], "couleur": c[1], "libelle": c[2]} for c in CLASSES],
        "sans_offre": SANS_OFFRE,
        "fond": {"url": settings.fond_carte_url, "attribution": settings.fond_carte_attribution},
        "point": None if place is None else [place.lat, place.lon],
    }
    return page(
        request, "ars/couverture.html", visiteur=visiteur, cards=catalogue.cards(session),
        jeux=connection.execute(text("SELECT slug, nom FROM jeu WHERE carte_slug = :c "
                                     "ORDER BY ordre"), {"c": carte}).all(),
        regions=regions(connection), choix={"carte": carte, "jeu": jeu, "region": code_region,
                                            "rayon_km": rayon_km, "adresse": adresse},
        nom_region=connection.execute(text("SELECT nom FROM region WHERE code = :r"),
                                      {"r": code_region}).scalar_one(),
        eloignement=ecarts.eloignement(connection, asked.groupe, asked.perimetre),
        priorites=ecarts.priorites(connection, asked.groupe, asked.perimetre, rayon_km,
                                   ecarts.POIDS_QUINTILES),
        poids=ecarts.POIDS_QUINTILES, distances=DISTANCES_KM, lieu=place,
        simulation=simulation, classes=CLASSES, sans_offre=SANS_OFFRE, methode=METHODE,
        config=config, api=f"/api/v1/couverture?{urlencode(query)}")
