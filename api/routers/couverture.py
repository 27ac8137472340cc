"""``/api/v1/couverture``: access to each card's offers per commune, who is far, where to act.

Public aggregated open data (no personal data): per commune distances, counts and E2SFCA;
per territory the population beyond 10/20/30 km by age band, deprivation and urban / rural;
ranked places for a new offer; « what if » an offer opened here. Also the commune outlines as
vector tiles, coloured by the pages. Results come from ``cartographie.couverture`` (stored per
data version, computed on the primary database when stale, hence the write session).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from api.deps import get_write_session
from api.representation import GEOJSON
from api.routers.orientation import resolve_place
from api.routers.tiles import MVT, tile_bounds
from cartographie import couverture, ecarts
from cartographie.cache import DataVersionCache
from cartographie.contributions import export_csv
from cartographie.couverture import DISTANCES_KM
from cartographie.ecarts import POIDS_QUINTILES, Perimetre

router = APIRouter(tags=["Couverture"])
PREFIX = "/api/v1/couverture"
SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"
CSV_COLUMNS = ("code_commune", "nom", "code_departement", "code_region", "population",
               "distance_km", "offres_10km", "offres_20km", "offres_30km", "acces_e2sfca",
               "fedi", "quintile_fedi", "espace", "manques")
COMMUNE_TILES = DataVersionCache(size=2_000)
TILE_LAYER = "communes"
METHODE = {
    "point_commune": "point intérieur au contour de la commune (point sur la surface)",
    "offres": "offres publiées, sur place, localisées, d'un jeu de la carte",
    "distance": "ellipsoïde WGS84 ; en ligne droite, pas en temps de trajet",
    "e2sfca": {"zones_km": [10, 20, 30], "poids": [w for _, w in couverture.DECAY],
               "offre": "nombre d'offres au même lieu", "demande": "population légale",
               "unite": f"offres pour {couverture.PER_INHABITANTS:,} habitants".replace(",", " ")},
    "tranches_age": "part de la tranche dans le département (INSEE 2023) × population",
    "quintile_fedi": "quintiles nationaux pondérés par la population, 5 = plus défavorisé",
}

Carte = Annotated[str, Query(pattern=SLUG, max_length=100, description="Carte thématique")]
Jeu = Annotated[str | None, Query(pattern=SLUG, max_length=100,
                                  description="Un jeu d'offres de la carte (sinon : la carte)")]
Region = Annotated[str | None, Query(pattern=r"^[0-9]{2,3}$", description="Code région")]
Departement = Annotated[str | None, Query(pattern=r"^[0-9][0-9AB][0-9]?$",
                                          description="Code département")]
WriteSession = Annotated[Session, Depends(get_write_session)]


@dataclass(frozen=True)
class Demande:
    """A validated request: what it is about, and the stored group to read."""

    perimetre: Perimetre
    groupe: int
    connection: Connection


def demande(session: WriteSession, carte: Carte, jeu: Jeu = None, code_region: Region = None,
            code_departement: Departement = None) -> Demande:
    """Check the card, jeu and territory, and make the card's coverage current."""
    connection = session.connection()
    if connection.execute(text("SELECT 1 FROM carte WHERE slug = :s"), {"s": carte}).first() \
            is None:
        raise HTTPException(422, f"carte : valeur inconnue « {carte} »")
    if jeu is not None and connection.execute(text(
            "SELECT 1 FROM jeu WHERE slug = :s AND carte_slug = :c"),
            {"s": jeu, "c": carte}).first() is None:
        raise HTTPException(422, f"jeu : « {jeu} » n'est pas un jeu de la carte « {carte} »")
    for table, code in (("region", code_region), ("departement", code_departement)):
        if code is not None and connection.execute(text(
                f"SELECT 1 FROM {table} WHERE code = :c"), {"c": code}).first() is None:
            raise HTTPException(404, f"code_{table} inconnu : « {code} »")
    groupe = couverture.fresh_group(connection, carte, jeu)
    assert groupe is not None  # the card and jeu were just checked
    session.commit()
    return Demande(Perimetre(carte, jeu, code_region, code_departement), groupe,
                   session.connection())


Asked = Annotated[Demande, Depends(demande)]


def _head(asked: Demande) -> dict[str, Any]:
    state = couverture.etat(asked.connection, asked.groupe)
    return {"carte": asked.perimetre.carte, "jeu": asked.perimetre.jeu,
            "code_region": asked.perimetre.code_region,
            "code_departement": asked.perimetre.code_departement,
            "version_donnees": state["version"],
            "calcule_le": state["calcule_le"].isoformat(), "methode": METHODE}


def _csv(rows: list[dict[str, Any]]) -> str:
    return export_csv([{**row, "manques": " ; ".join(row["manques"])} for row in rows],
                      CSV_COLUMNS)


@router.get(PREFIX, summary="Accès aux offres d'une carte (ou d'un jeu), commune par commune",
            responses={200: {"content": {GEOJSON: {}, "text/csv": {}}}})
def communes(request: Request, asked: Asked,
             f: Annotated[str | None, Query(pattern="^(json|geojson|csv)$",
                                            description="json (défaut), geojson ou csv")] = None
             ) -> Response:
    rows = ecarts.communes(asked.connection, asked.groupe, asked.perimetre)
    if f == "csv" or (f is None and "text/csv" in request.headers.get("accept", "")):
        name = "-".join(v for v in (asked.perimetre.carte, asked.perimetre.jeu,
                                    asked.perimetre.code_region,
                                    asked.perimetre.code_departement) if v)
        return Response(_csv(rows), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="couverture-{name}.csv"'})
    if f == "geojson" or (f is None and GEOJSON in request.headers.get("accept", "")):
        features = []
        for row in rows:
            properties = {k: v for k, v in row.items() if k not in ("lon", "lat")}
            geometry = (None if row["lon"] is None
                        else {"type": "Point", "coordinates": [row["lon"], row["lat"]]})
            features.append({"type": "Feature", "id": row["code_commune"],
                             "geometry": geometry, "properties": properties})
        return JSONResponse({"type": "FeatureCollection", **_head(asked),
                             "features": features}, media_type=GEOJSON)
    missing = {note: sum(note in row["manques"] for row in rows)
               for note in ecarts.MISSING_NOTES.values()}
    return JSONResponse({**_head(asked), "total": len(rows),
                         "manques": {k: v for k, v in missing.items() if v},
                         "communes": rows})


@router.get(f"{PREFIX}/eloignement",
            summary="Qui est loin : population au-delà de 10, 20 et 30 km, par tranche d'âge, "
                    "quintile de défavorisation (F-EDI) et espace urbain / rural")
def eloignement(asked: Asked) -> JSONResponse:
    return JSONResponse({**_head(asked),
                         **ecarts.eloignement(asked.connection, asked.groupe, asked.perimetre)})


def poids_quintiles(poids: Annotated[str | None, Query(
        max_length=100, description="5 poids, du quintile le moins défavorisé au plus "
                                    "défavorisé, séparés par des virgules "
                                    f"(défaut {','.join(map(str, POIDS_QUINTILES))})")] = None
                    ) -> tuple[float, ...]:
    if poids is None:
        return POIDS_QUINTILES
    try:
        values = tuple(float(v) for v in poids.split(","))
    except ValueError:
        values = ()
    if len(values) != 5 or not all(0 <= v <= 100 for v in values):
        raise HTTPException(422, "poids : 5 nombres entre 0 et 100 séparés par des virgules, "
                                 "du quintile 1 (moins défavorisé) au quintile 5")
    return values


@router.get(f"{PREFIX}/priorites",
            summary="Où agir : communes où une nouvelle offre toucherait le plus de personnes "
                    "aujourd'hui loin, pondérées vers les plus défavorisées")
def priorites(asked: Asked, poids: Annotated[tuple[float, ...], Depends(poids_quintiles)],
              rayon_km: Annotated[int, Query(description="10, 20 ou 30")] = 10,
              limite: Annotated[int, Query(ge=1, le=50)] = 10) -> JSONResponse:
    if rayon_km not in DISTANCES_KM:
        raise HTTPException(422, "rayon_km : 10, 20 ou 30")
    if not (asked.perimetre.code_region or asked.perimetre.code_departement):
        raise HTTPException(422, "donnez code_region ou code_departement : le classement se "
                                 "fait dans un territoire")
    ranked = ecarts.priorites(asked.connection, asked.groupe, asked.perimetre, rayon_km, poids,
                              limite)
    return JSONResponse({**_head(asked), "rayon_km": rayon_km,
                         "poids_quintiles": list(poids), "priorites": ranked})


@router.get(f"{PREFIX}/simulation",
            summary="Et si une offre ouvrait ici ? Population qui passerait à moins de "
                    "10, 20 et 30 km, par tranche d'âge et quintile de défavorisation")
def simulation(request: Request, session: WriteSession, asked: Asked,
               lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
               lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
               code_commune: Annotated[str | None,
                                       Query(pattern=r"^[0-9][0-9AB][0-9]{3}$")] = None,
               adresse: Annotated[str | None, Query(min_length=3, max_length=200)] = None
               ) -> JSONResponse:
    place = resolve_place(request, session, lat, lon, code_commune, adresse)
    gained = ecarts.simulation(asked.connection, asked.groupe, place.lon, place.lat)
    return JSONResponse({**_head(asked), "lieu": {"libelle": place.libelle, "lon": place.lon,
                                                   "lat": place.lat}, "gain": gained})


@router.get("/tiles/couverture/{z}/{x}/{y}.mvt",
            summary="Tuile vectorielle des contours des communes avec leur accès à la carte",
            responses={200: {"content": {MVT: {}}}, 204: {"description": "Tuile vide"}})
def commune_tile(asked: Asked, z: Annotated[int, Path(ge=0, le=16)],
                 x: Annotated[int, Path(ge=0)], y: Annotated[int, Path(ge=0)]) -> Response:
    if x >= 2**z or y >= 2**z:
        raise HTTPException(422, f"tuile hors de la grille du niveau {z} : x et y < {2**z}")
    west, south, east, north = tile_bounds(z, x, y)
    condition = "true"
    params: dict[str, Any] = {"z": z, "x": x, "y": y, "west": west, "south": south,
                              "east": east, "north": north, "groupe": asked.groupe,
                              # about one pixel of the tile: the outline keeps its shape
                              "tolerance": (east - west) / 512}
    for level in ("code_region", "code_departement"):
        value = getattr(asked.perimetre, level)
        if value:
            condition += f" AND k.{level} = :{level}"
            params[level] = value
    sql = f"""
        WITH features AS (
            SELECT k.code, k.nom, k.population,
                   round(cc.distance_m::numeric / 1000, 1)::float8 AS distance_km,
                   coalesce(cc.offres_10km, 0) AS offres_10km, cx.quintile_fedi,
                   ST_AsMVTGeom(ST_Transform(ST_SimplifyPreserveTopology(k.geom, :tolerance),
                                             3857), ST_TileEnvelope(:z, :x, :y)) AS geom
            FROM commune k
            LEFT JOIN couverture_commune cc ON cc.code_commune = k.code
                                           AND cc.groupe_id = :groupe
            LEFT JOIN commune_contexte cx ON cx.code_commune = k.code
            WHERE k.geom && ST_MakeEnvelope(:west, :south, :east, :north, 4326)
              AND {condition}
        )
        SELECT ST_AsMVT(features, '{TILE_LAYER}', 4096, 'geom') FROM features
        WHERE geom IS NOT NULL
    """

    def render(connection: Connection) -> bytes:
        return bytes(connection.execute(text(sql), params).scalar_one() or b"")

    body = COMMUNE_TILES.get(asked.connection, (z, x, y, asked.groupe,
                                                asked.perimetre.code_region,
                                                asked.perimetre.code_departement), render)
    if not body:
        return Response(status_code=204)
    return Response(body, media_type=MVT)
