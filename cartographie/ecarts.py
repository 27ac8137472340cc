"""Reading the coverage for an ARS: per commune, who is far, where to act, and « what if ».

All figures come from ``couverture_commune`` (see ``cartographie.couverture``) for the current
data version, joined with the commune's population, deprivation and urban / rural class.

- Age bands: a commune's population in a bilan age band is estimated as its population times
  the share of that band in its département (INSEE 2023, ages spread evenly within 5-year
  bands). No age structure per commune is open data; the estimate ignores local differences.
- Deprivation: national F-EDI quintile weighted by population (1 = least, 5 = most deprived);
  the gap is the share of the most deprived fifth beyond a distance minus that of the least
  deprived fifth, in percentage points.
- Where to act: greedy choice of commune points where a new offer would bring, within X km,
  the most people who have none today, each person counted with the weight of their commune's
  quintile (``POIDS_QUINTILES``, configurable): universalisme proportionné made explicit.
  After a commune is chosen, the people it covers no longer count for the next ones.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from cartographie.contexte import AGE_BANDS
from cartographie.couverture import DISTANCES_KM, run_script

POIDS_QUINTILES = (1.0, 1.25, 1.5, 1.75, 2.0)  # quintile 1 (least deprived) … 5 (most)
POIDS_SANS_QUINTILE = 1.0  # overseas communes: F-EDI does not cover them
ESPACES_ORDRE = ("urbain", "periurbain", "rural", "inconnu")  # AAV: pôles, couronnes, hors aire
ESPACE_SQL = ("CASE cx.categorie_aav WHEN '20' THEN 'periurbain' WHEN '30' THEN 'rural' "
              "WHEN '11' THEN 'urbain' WHEN '12' THEN 'urbain' WHEN '13' THEN 'urbain' "
              "ELSE 'inconnu' END")
MISSING_NOTES = {
    "sans_position": "commune sans position dans les contours livrés : accès non calculé",
    "sans_fedi": "F-EDI absent (outre-mer ou commune non couverte) : quintile inconnu",
    "sans_aav": "commune absente du zonage en aires d'attraction des villes",
    "sans_ages": "structure par âge du département inconnue (collectivité d'outre-mer)",
    "sans_population": "population légale inconnue",
}


@dataclass(frozen=True)
class Perimetre:
    """What the coverage is about: a card, or one of its jeux, over a territory."""

    carte: str
    jeu: str | None = None
    code_region: str | None = None
    code_departement: str | None = None


def _territory(perimetre: Perimetre) -> tuple[str, dict[str, Any]]:
    clauses, params = [], {}
    if perimetre.code_region:
        clauses.append("k.code_region = :code_region")
        params["code_region"] = perimetre.code_region
    if perimetre.code_departement:
        clauses.append("k.code_departement = :code_departement")
        params["code_departement"] = perimetre.code_departement
    return " AND ".join(clauses) or "true", params


COMMUNE_ROWS = """
    FROM commune k
    LEFT JOIN couverture_commune cc ON cc.code_commune = k.code AND cc.groupe_id = :groupe
    LEFT JOIN commune_contexte cx ON cx.code_commune = k.code
    LEFT JOIN departement_ages a ON a.code_departement = k.code_departement
"""


def communes(connection: Connection, groupe: int, perimetre: Perimetre) -> list[dict[str, Any]]:
    """One row per commune of the territory, with what is missing said in ``manques``."""
    condition, params = _territory(perimetre)
    rows = connection.execute(text(f"""
        SELECT k.code AS code_commune, k.nom, k.code_departement, k.code_region, k.population,
               ST_X(k.centre) AS lon, ST_Y(k.centre) AS lat,
               round(cc.distance_m::numeric / 1000, 1)::float8 AS distance_km,
               coalesce(cc.offres_10km, 0) AS offres_10km,
               coalesce(cc.offres_20km, 0) AS offres_20km,
               coalesce(cc.offres_30km, 0) AS offres_30km,
               coalesce(cc.acces_e2sfca, 0) AS acces_e2sfca,
               round(cx.fedi::numeric, 2)::float8 AS fedi, cx.quintile_fedi,
               {ESPACE_SQL} AS espace,
               k.centre IS NULL AS sans_position, cx.quintile_fedi IS NULL AS sans_fedi,
               cx.categorie_aav IS NULL AS sans_aav, a.code_departement IS NULL AS sans_ages,
               k.population IS NULL AS sans_population
        {COMMUNE_ROWS}
        WHERE {condition} ORDER BY k.code
    """), {"groupe": groupe, **params}).mappings()
    result = []
    for row in rows:
        item = {key: value for key, value in row.items() if key not in MISSING_NOTES}
        if row["sans_position"]:
            item.update(distance_km=None, offres_10km=None, offres_20km=None,
                        offres_30km=None, acces_e2sfca=None)
        item["manques"] = [note for key, note in MISSING_NOTES.items() if row[key]]
        result.append(item)
    return result


def _population_sums() -> str:
    """SQL sums of people (all, then per age band), in total and beyond each distance."""
    people = [("population", "coalesce(k.population, 0)")] + [
        (f"age_{band}", f"coalesce(k.population, 0) * a.part_{band}") for band in AGE_BANDS]
    sums = [f"sum({expression}) AS {name}" for name, expression in people]
    for km in DISTANCES_KM:
        sums += [f"sum({expression}) FILTER (WHERE coalesce(cc.offres_{km}km, 0) = 0) "
                 f"AS {name}_au_dela_{km}" for name, expression in people]
    return ",\n".join(sums)


def _share(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _block(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals and people beyond 10/20/30 km (with their age bands) over some grouped rows."""
    def total(key: str) -> float:
        return sum(row[key] or 0 for row in rows)

    population = total("population")
    block: dict[str, Any] = {"population": round(population)}
    for km in DISTANCES_KM:
        beyond = total(f"population_au_dela_{km}")
        ages = {}
        for band in AGE_BANDS:
            whole = total(f"age_{band}")
            part = total(f"age_{band}_au_dela_{km}")
            ages[band] = {"population": round(part), "part_pct": _share(part, whole)}
        block[f"au_dela_{km}km"] = {"population": round(beyond),
                                    "part_pct": _share(beyond, population),
                                    "tranches_age": ages}
    return block


def eloignement(connection: Connection, groupe: int, perimetre: Perimetre) -> dict[str, Any]:
    """Who is far: per territory and per département, by age band, quintile and espace."""
    condition, params = _territory(perimetre)
    rows = [dict(r) for r in connection.execute(text(f"""
        SELECT k.code_departement, d.nom AS departement, cx.quintile_fedi,
               {ESPACE_SQL} AS espace, count(*) AS communes,
               {_population_sums()}
        {COMMUNE_ROWS}
        JOIN departement d ON d.code = k.code_departement
        WHERE {condition} AND k.centre IS NOT NULL
        GROUP BY 1, 2, 3, 4
    """), {"groupe": groupe, **params}).mappings()]
    unplaced = connection.execute(text(f"""
        SELECT count(*), coalesce(sum(k.population), 0) FROM commune k
        WHERE {condition} AND k.centre IS NULL
    """), params).one()
    by: dict[str, dict[Any, list]] = {"departement": defaultdict(list),
                                      "quintile": defaultdict(list), "espace": defaultdict(list)}
    for row in rows:
        by["departement"][(row["code_departement"], row["departement"])].append(row)
        by["quintile"][row["quintile_fedi"]].append(row)
        by["espace"][row["espace"]].append(row)
    quintiles = {str(q) if q is not None else "inconnu": _block(group)
                 for q, group in sorted(by["quintile"].items(), key=lambda kv: kv[0] or 9)}
    gap = {}
    for km in DISTANCES_KM:
        most, least = quintiles.get("5"), quintiles.get("1")
        shares = [q[f"au_dela_{km}km"]["part_pct"] if q else None for q in (most, least)]
        gap[f"{km}km"] = (None if None in shares
                          else round(shares[0] - shares[1], 1))  # type: ignore[operator]
    return {
        **_block(rows),
        "communes": sum(row["communes"] for row in rows),
        "communes_sans_position": unplaced[0],
        "population_sans_position": int(unplaced[1]),
        "ecart_q5_q1_pts": gap,
        "par_quintile_fedi": quintiles,
        "par_espace": {espace: _block(by["espace"][espace]) for espace in ESPACES_ORDRE
                       if espace in by["espace"]},
        "par_departement": [
            {"code_departement": code, "nom": nom, **_block(group)}
            for (code, nom), group in sorted(by["departement"].items())],
    }


def _weight(quintile: int | None, poids: tuple[float, ...]) -> float:
    return POIDS_SANS_QUINTILE if quintile is None else poids[quintile - 1]


def priorites(connection: Connection, groupe: int, perimetre: Perimetre, rayon_km: int,
              poids: tuple[float, ...] = POIDS_QUINTILES, limite: int = 10
              ) -> list[dict[str, Any]]:
    """Where a new offer would bring the most (weighted) people within ``rayon_km`` km.

    Candidates and the people they would serve are the placed communes of the territory;
    people who already have an offer within ``rayon_km`` do not count.
    """
    condition, params = _territory(perimetre)
    params.update(groupe=groupe, rayon_m=rayon_km * 1000)
    run_script(connection, f"""
        DROP TABLE IF EXISTS ecarts_lieu;
        CREATE TEMP TABLE ecarts_lieu AS
            SELECT k.code, k.nom, k.code_departement, coalesce(k.population, 0) AS population,
                   cx.quintile_fedi, coalesce(cc.offres_{rayon_km}km, 0) = 0 AS loin,
                   ST_Transform(ST_Force3D(k.centre), 4978) AS p
            {COMMUNE_ROWS}
            WHERE {condition} AND k.centre IS NOT NULL;
        CREATE INDEX ON ecarts_lieu USING gist (p gist_geometry_ops_nd);
        ANALYZE ecarts_lieu
    """, params)
    served = {code: set(codes) for code, codes in connection.execute(text("""
        SELECT candidat.code, array_agg(servi.code)
        FROM ecarts_lieu servi JOIN ecarts_lieu candidat
          ON ST_3DDWithin(candidat.p, servi.p, :rayon_m)
        WHERE servi.loin AND servi.population > 0
        GROUP BY candidat.code
    """), params)}
    names: dict[str, tuple[str, str]] = {}
    people: dict[str, tuple[int, int | None]] = {}
    for code, nom, departement, population, quintile in connection.execute(text(
            "SELECT code, nom, code_departement, population, quintile_fedi FROM ecarts_lieu")):
        names[code] = (nom, departement)
        people[code] = (population, quintile)
    connection.execute(text("DROP TABLE ecarts_lieu"))
    weighted = {code: population * _weight(quintile, poids)
                for code, (population, quintile) in people.items()}

    def gain(code: str, covered: set[str]) -> float:
        return sum(weighted[s] for s in served[code] if s not in covered)

    # Lazy greedy: a gain only shrinks as communes get covered, so a stale heap top that is
    # still the best after recomputation is the best.
    covered: set[str] = set()
    heap = [(-gain(code, covered), code) for code in served]
    heapq.heapify(heap)
    chosen = []
    while heap and len(chosen) < limite:
        _, code = heapq.heappop(heap)
        fresh = gain(code, covered)
        if fresh <= 0:
            continue
        if heap and fresh < -heap[0][0]:  # another one may now bring more: look again later
            heapq.heappush(heap, (-fresh, code))
            continue
        new = served[code] - covered
        by_quintile: dict[str, int] = defaultdict(int)
        for s in new:
            by_quintile[str(people[s][1]) if people[s][1] else "inconnu"] += people[s][0]
        chosen.append({
            "rang": len(chosen) + 1, "code_commune": code, "nom": names[code][0],
            "code_departement": names[code][1], "communes_servies": len(new),
            "population_gagnee": sum(people[s][0] for s in new),
            "population_ponderee": round(fresh),
            "par_quintile_fedi": dict(sorted(by_quintile.items())),
        })
        covered |= new
    return chosen


def simulation(connection: Connection, groupe: int, lon: float, lat: float
               ) -> dict[str, Any]:
    """« What if » an offer opened at this point: people who would come within 10/20/30 km."""
    result: dict[str, Any] = {}
    for km in DISTANCES_KM:
        within = [dict(r) for r in connection.execute(text(f"""
            SELECT cx.quintile_fedi, coalesce(k.population, 0) AS population,
                   coalesce(cc.offres_{km}km, 0) = 0 AS loin,
                   {", ".join(f"coalesce(k.population, 0) * a.part_{b} AS age_{b}"
                              for b in AGE_BANDS)}
            {COMMUNE_ROWS}
            WHERE k.centre IS NOT NULL AND ST_DWithin(
                k.centre::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography,
                :rayon_m)
        """), {"groupe": groupe, "lon": lon, "lat": lat, "rayon_m": km * 1000}).mappings()]
        gained = [r for r in within if r["loin"]]
        by_quintile: dict[str, int] = defaultdict(int)
        for r in gained:
            by_quintile[str(r["quintile_fedi"]) if r["quintile_fedi"] else "inconnu"] += \
                r["population"]
        result[f"{km}km"] = {
            "communes": len(within), "population": sum(r["population"] for r in within),
            "population_gagnee": sum(r["population"] for r in gained),
            "tranches_age_gagnees": {b: round(sum(r[f"age_{b}"] or 0 for r in gained))
                                     for b in AGE_BANDS},
            "par_quintile_fedi": dict(sorted(by_quintile.items())),
        }
    return result
