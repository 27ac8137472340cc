"""Access of every commune to the on-site offers of every card and jeu, set-based in PostGIS.

What an ARS needs to see where the gaps are: per commune and card (and per jeu), the distance
to the nearest suitable offer, the number of offers within 10, 20 and 30 km, and an E2SFCA
accessibility index. The whole country is computed in a handful of statements per set of cards
or jeux and stored in ``couverture_commune`` with the data version (``version_donnees``) it
describes: a card or jeu is recomputed on demand when a publication, an edit or a new
territory vintage changed that version, and read from the table otherwise.

Choices (docs/couverture.md says why, for people):

- Suitable offer: published (``statut = 'publiee'``), on site, placed, member of a jeu of the
  card. Offers at the same point are one place with several offers (the supply).
- Nearest offer: within the same basin (metropolitan France, or one overseas territory); none
  there is said as such (NULL), never measured across an ocean.
- Commune point: ``commune.centre``, a point inside the commune's outline (shapely's
  ``representative_point``, like ``ST_PointOnSurface``): a centroid can fall outside a
  crescent-shaped or coastal commune, and no population-weighted centre is open data.
- Distance: straight line between the points on the WGS84 ellipsoid (geocentric EPSG:4978,
  indexed in 3D); within 30 km it differs from the geodesic by less than 3 cm, and one
  computation serves metropolitan France and the DROM alike. The nearest offer beyond 30 km is
  found by the same 3D index, then measured on the ellipsoid (``geography``).
- E2SFCA (Luo & Qi 2009, enhanced two-step floating catchment area), catchment 30 km, weights
  by zone ``DECAY``: supply S_j = offers at place j, demand P_k = commune population,
  R_j = S_j / Σ_k P_k·W(d_kj), A_i = Σ_j R_j·W(d_ij), given per 100 000 inhabitants.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, text

DISTANCES_KM = (10, 20, 30)
# E2SFCA weights per distance zone (upper bound in metres, weight): Luo & Qi's Gaussian steps.
DECAY = ((10_000, 1.0), (20_000, 0.68), (30_000, 0.22))
CATCHMENT_M = DECAY[-1][0]
PER_INHABITANTS = 100_000
LOCK_KEY = 151_515  # pg_advisory_xact_lock: one recomputation at a time

# The basin of a place: metropolitan France (Corsica included) is one, each overseas région or
# collectivité is its own; an offer 7 000 km away across an ocean is no « nearest offer ».
BASIN = "CASE WHEN r.zone = 'metro' THEN 'metro' ELSE r.code END"  # r: the région
# In float8, like the stored index: numeric arithmetic over 6.7 million pairs cost seconds.
WEIGHT = "CASE " + " ".join(f"WHEN p.d <= {limit} THEN {weight}::float8"
                            for limit, weight in DECAY[:-1]) + f" ELSE {DECAY[-1][1]}::float8 END"

TEMP_TABLES = ("couv_commune, couv_groupe, couv_offre, couv_lieu, couv_groupe_lieu, "
               "couv_lieu_profil, couv_profil_groupe, couv_paire, couv_demande, "
               "couv_commune_profil, couv_resultat, couv_loin, couv_lieu_groupe")

PREPARE = f"""
DROP TABLE IF EXISTS {TEMP_TABLES};
-- x, y, z: the geocentric coordinates as numbers, so that the 6.7 million pair distances
-- are plain arithmetic (the same formula as ST_3DDistance) instead of geometry calls.
CREATE TEMP TABLE couv_commune AS
    SELECT *, ST_X(p) AS x, ST_Y(p) AS y, ST_Z(p) AS z
    FROM (SELECT row_number() OVER (ORDER BY k.code)::int AS id, k.code,
                 coalesce(k.population, 0) AS population, k.centre::geography AS geog,
                 ST_Transform(ST_Force3D(k.centre), 4978) AS p, {BASIN} AS bassin
          FROM commune k JOIN region r ON r.code = k.code_region
          WHERE k.centre IS NOT NULL) k;
CREATE INDEX ON couv_commune USING gist (p gist_geometry_ops_nd);
CREATE TEMP TABLE couv_groupe AS
    SELECT id, carte_slug, jeu_slug FROM couverture_groupe WHERE id = ANY(:groupes);
CREATE TEMP TABLE couv_offre AS
    SELECT o.id AS offre_id, o.geom, j.carte_slug, j.slug AS jeu_slug,
           {BASIN} AS bassin
    FROM offre o JOIN jeu_offre jo ON jo.offre_id = o.id JOIN jeu j ON j.slug = jo.jeu_slug
    LEFT JOIN region r ON r.code = o.code_region
    WHERE o.statut = 'publiee' AND o.mode = 'sur_place' AND o.geom IS NOT NULL
      AND EXISTS (SELECT 1 FROM couv_groupe g WHERE g.carte_slug = j.carte_slug
                  AND (g.jeu_slug IS NULL OR g.jeu_slug = j.slug));
CREATE TEMP TABLE couv_lieu AS
    SELECT *, ST_X(p) AS x, ST_Y(p) AS y, ST_Z(p) AS z
    FROM (SELECT row_number() OVER ()::int AS id, geom,
                 ST_Transform(ST_Force3D(geom), 4978) AS p, bassin
          FROM (SELECT DISTINCT ON (geom) geom, bassin FROM couv_offre
                ORDER BY geom, bassin) g) l;
CREATE INDEX ON couv_lieu USING gist (p gist_geometry_ops_nd);
-- Supply of each card and jeu at each place.
CREATE TEMP TABLE couv_groupe_lieu AS
    SELECT g.id AS groupe, l.id AS lieu, count(DISTINCT o.offre_id)::int AS offres
    FROM couv_offre o JOIN couv_lieu l ON l.geom = o.geom
    JOIN couv_groupe g ON g.carte_slug = o.carte_slug
                      AND (g.jeu_slug IS NULL OR g.jeu_slug = o.jeu_slug)
    GROUP BY 1, 2;
-- Places with the same supply in every group share a profile (pharmacies, CMP…): pairs are
-- summed once per profile, then multiplied out per group.
CREATE TEMP TABLE couv_lieu_profil AS
    SELECT lieu, dense_rank() OVER (ORDER BY cle)::int AS profil
    FROM (SELECT lieu, array_agg(groupe || ':' || offres ORDER BY groupe) AS cle
          FROM couv_groupe_lieu GROUP BY lieu) supply;
CREATE TEMP TABLE couv_profil_groupe AS
    SELECT DISTINCT lp.profil, gl.groupe, gl.offres
    FROM couv_lieu_profil lp JOIN couv_groupe_lieu gl USING (lieu);
ANALYZE couv_commune;
ANALYZE couv_lieu;
-- One row per commune–place pair within the catchment, with the place's profile so that
-- neither step below joins back to the places; analysed so that both steps hash-join the
-- small tables instead of sorting 6.7 million pairs.
CREATE TEMP TABLE couv_paire AS
    SELECT commune, lieu, profil, d::real AS d
    FROM (SELECT c.id AS commune, l.id AS lieu, lp.profil,
                 sqrt((l.x - c.x) * (l.x - c.x) + (l.y - c.y) * (l.y - c.y)
                      + (l.z - c.z) * (l.z - c.z)) AS d
          FROM couv_lieu l JOIN couv_lieu_profil lp ON lp.lieu = l.id
          JOIN couv_commune c ON c.p &&& ST_Expand(l.p, {CATCHMENT_M})
          OFFSET 0) candidate
    WHERE d <= {CATCHMENT_M};
ANALYZE couv_paire;
-- E2SFCA step 1: the weighted population around each place (1 / demand, kept per place).
CREATE TEMP TABLE couv_demande AS
    SELECT p.lieu, 1 / nullif(sum(c.population * {WEIGHT}), 0) AS inverse
    FROM couv_paire p JOIN couv_commune c ON c.id = p.commune GROUP BY p.lieu;
ANALYZE couv_demande;
CREATE TEMP TABLE couv_commune_profil AS
    SELECT p.commune, p.profil,
           count(*) FILTER (WHERE p.d <= 10000) AS n10,
           count(*) FILTER (WHERE p.d <= 20000) AS n20,
           count(*) AS n30,
           coalesce(sum({WEIGHT} * dm.inverse), 0) AS acces,
           min(p.d) AS dmin
    FROM couv_paire p JOIN couv_demande dm USING (lieu)
    GROUP BY 1, 2;
-- E2SFCA step 2 and the counts, per card and jeu.
CREATE TEMP TABLE couv_resultat AS
    SELECT pg.groupe, cp.commune, min(cp.dmin)::float8 AS distance,
           sum(cp.n10 * pg.offres)::int AS o10, sum(cp.n20 * pg.offres)::int AS o20,
           sum(cp.n30 * pg.offres)::int AS o30,
           sum(cp.acces * pg.offres) * {PER_INHABITANTS} AS acces
    FROM couv_commune_profil cp JOIN couv_profil_groupe pg USING (profil) GROUP BY 1, 2;
-- The communes left without any offer of a group within the catchment, in one anti-join for
-- all groups; only where the commune's basin has a place of the group (elsewhere there is no
-- nearest offer to find, and a search would read every place of the group in vain).
CREATE TEMP TABLE couv_loin AS
    SELECT b.groupe, c.id AS commune
    FROM (SELECT DISTINCT gl.groupe, l.bassin
          FROM couv_groupe_lieu gl JOIN couv_lieu l ON l.id = gl.lieu) b
    JOIN couv_commune c ON c.bassin = b.bassin
    WHERE NOT EXISTS (SELECT 1 FROM couv_resultat r
                      WHERE r.groupe = b.groupe AND r.commune = c.id);
"""

# Communes with no offer of the group within the catchment: the nearest one of the same basin,
# farther away, through a small 3D index of the group's places (one index per group keeps each
# search short).
BEYOND_CATCHMENT = """
DROP TABLE IF EXISTS couv_lieu_groupe;
CREATE TEMP TABLE couv_lieu_groupe AS
    SELECT l.geom, l.p, l.bassin FROM couv_lieu l JOIN couv_groupe_lieu gl ON gl.lieu = l.id
    WHERE gl.groupe = :groupe;
CREATE INDEX ON couv_lieu_groupe USING gist (p gist_geometry_ops_nd);
ANALYZE couv_lieu_groupe;
INSERT INTO couv_resultat (groupe, commune, distance, o10, o20, o30, acces)
SELECT :groupe, c.id, ST_Distance(c.geog, nearest.geom::geography), 0, 0, 0, 0
FROM couv_loin f JOIN couv_commune c ON c.id = f.commune
CROSS JOIN LATERAL (SELECT geom FROM couv_lieu_groupe lg WHERE lg.bassin = c.bassin
                    ORDER BY lg.p <<->> c.p LIMIT 1) nearest
WHERE f.groupe = :groupe
"""

# Rows in primary-key order: the index grows at its end instead of splitting pages.
STORE = f"""
DELETE FROM couverture_commune WHERE groupe_id = ANY(:groupes);
INSERT INTO couverture_commune (groupe_id, code_commune, distance_m, offres_10km, offres_20km,
                                offres_30km, acces_e2sfca)
SELECT r.groupe, c.code, r.distance, r.o10, r.o20, r.o30, r.acces
FROM couv_resultat r JOIN couv_commune c ON c.id = r.commune
ORDER BY r.groupe, c.code;
DROP TABLE IF EXISTS {TEMP_TABLES}
"""


# Every card, and every jeu of a card, is a group; a new jeu gets the next free number.
SYNC_GROUPS = """
INSERT INTO couverture_groupe (id, carte_slug, jeu_slug)
SELECT (SELECT coalesce(max(id), 0) FROM couverture_groupe)
       + row_number() OVER (ORDER BY g.carte_slug, g.jeu_slug NULLS FIRST), g.carte_slug, g.jeu_slug
FROM (SELECT slug AS carte_slug, NULL::text AS jeu_slug FROM carte
      UNION ALL SELECT carte_slug, slug FROM jeu) g
WHERE NOT EXISTS (SELECT 1 FROM couverture_groupe x WHERE x.carte_slug = g.carte_slug
                  AND x.jeu_slug IS NOT DISTINCT FROM g.jeu_slug);
DELETE FROM couverture_commune cc USING couverture_groupe x
WHERE cc.groupe_id = x.id AND NOT EXISTS (
    SELECT 1 FROM jeu j WHERE j.carte_slug = x.carte_slug
    AND (x.jeu_slug IS NULL OR j.slug = x.jeu_slug));
DELETE FROM couverture_groupe x WHERE NOT EXISTS (
    SELECT 1 FROM carte c LEFT JOIN jeu j ON j.carte_slug = c.slug
    WHERE c.slug = x.carte_slug AND (x.jeu_slug IS NULL OR j.slug = x.jeu_slug))
"""


def run_script(connection: Connection, script: str, params: dict[str, Any] | None = None
               ) -> None:
    """Statements separated by « ;\\n », one by one: bound parameters allow one per call."""
    for statement in script.split(";\n"):
        if statement.strip():
            connection.execute(text(statement), params or {})


def _version(connection: Connection) -> str:
    """The data version this transaction sees: its own writes included (migration 0006)."""
    return connection.execute(text("SELECT version_donnees_courante()")).scalar_one()


def recompute(connection: Connection, groupes: list[int]) -> float:
    """Recompute these groups over the whole country in the caller's transaction.

    Returns the seconds spent. The caller holds the advisory lock.
    """
    started = time.perf_counter()
    version = _version(connection)
    # Large hash aggregates stay in memory; JIT would compile each big statement anew for a
    # few hundred milliseconds more than it saves.
    connection.execute(text("SET LOCAL work_mem = '256MB'"))
    connection.execute(text("SET LOCAL jit = off"))
    params = {"groupes": groupes}
    run_script(connection, PREPARE, params)
    with_offers = connection.execute(text(
        "SELECT DISTINCT groupe FROM couv_loin ORDER BY 1")).scalars().all()
    for group in with_offers:
        run_script(connection, BEYOND_CATCHMENT, {"groupe": group})
    run_script(connection, STORE, params)
    seconds = time.perf_counter() - started
    connection.execute(text("""
        UPDATE couverture_groupe SET version = :version, calcule_le = now(), duree_s = :duree
        WHERE id = ANY(:groupes)
    """), {"version": version, "duree": seconds, **params})
    return seconds


def _lock_and_sync(connection: Connection) -> None:
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    run_script(connection, SYNC_GROUPS)


def fresh_group(connection: Connection, carte: str, jeu: str | None = None) -> int | None:
    """The key of a card (``jeu`` None) or jeu whose stored coverage is of the current data
    version, computed first if it is older; None if there is no such card or jeu.

    Concurrent callers wait on one advisory lock, then find the fresh result.
    """
    find = text("SELECT id, version FROM couverture_groupe WHERE carte_slug = :carte "
                "AND jeu_slug IS NOT DISTINCT FROM :jeu")
    found = connection.execute(find, {"carte": carte, "jeu": jeu}).one_or_none()
    if found is not None and found.version == _version(connection):
        return found.id
    _lock_and_sync(connection)
    found = connection.execute(find, {"carte": carte, "jeu": jeu}).one_or_none()
    if found is None:
        return None
    if found.version != _version(connection):
        recompute(connection, [found.id])
    return found.id


def recompute_all(connection: Connection, jeux: bool = False) -> tuple[int, float]:
    """Every card (and, with ``jeux``, every jeu): the national recomputation, timed."""
    _lock_and_sync(connection)
    groupes = connection.execute(text(
        "SELECT id FROM couverture_groupe WHERE :jeux OR jeu_slug IS NULL ORDER BY id"),
        {"jeux": jeux}).scalars().all()
    return len(groupes), recompute(connection, list(groupes))


def etat(connection: Connection, groupe: int) -> dict[str, Any]:
    """When the group's coverage was computed, for which data version, in how long."""
    row = connection.execute(text(
        "SELECT version, calcule_le, duree_s FROM couverture_groupe WHERE id = :id"),
        {"id": groupe}).mappings().one()
    return dict(row)
