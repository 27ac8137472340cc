"""Régions, départements and communes: load the shipped reference, place points and codes.

Offers carry their commune, département and région codes so that users can filter by
territory and an ARS sees its own région. Codes come from the source when it has them
(resolved through older codes and arrondissements) or from the commune outline a point
falls in, with the nearest commune as fallback for points a simplified outline misses.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, text

# A point farther than this from every commune is not in France: it gets no commune.
NEAREST_COMMUNE_MAX_M = 2000


def _read(path: Path):
    """A shipped GeoJSON (gzip) as a GeoDataFrame; geopandas is only needed for this load."""
    import geopandas as gpd

    return gpd.read_file(f"/vsigzip/{path}" if path.suffix == ".gz" else path)


def copy_rows(connection: Connection, table: str, columns: list[str], rows) -> None:
    """COPY rows into a table: the fast, set-based path for tens of thousands of rows."""
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(
        f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row(row)


def _wkb(geometry) -> str | None:
    return None if geometry is None else geometry.wkb_hex


def _number(value) -> float | None:
    """GeoJSON nulls come back from pandas as NaN."""
    return None if value is None or value != value else value


def load_territoires(connection: Connection, folder: Path) -> dict[str, int]:
    """Load (or refresh) the territories in the caller's transaction; idempotent."""
    regions = _read(folder / "regions.geojson.gz")
    departements = _read(folder / "departements.geojson.gz")
    communes = _read(folder / "communes.geojson.gz")
    with (folder / "communes_alias.csv").open(encoding="utf-8", newline="") as handle:
        aliases = list(csv.DictReader(handle))

    connection.execute(text("""
        CREATE TEMP TABLE tmp_region (code text, nom text, zone text, geom text) ON COMMIT DROP;
        CREATE TEMP TABLE tmp_departement (code text, nom text, code_region text, zone text,
            geom text) ON COMMIT DROP;
        CREATE TEMP TABLE tmp_commune (code text, nom text, code_departement text,
            code_region text, population int, codes_postaux text[], lon float8, lat float8,
            geom text) ON COMMIT DROP;
        CREATE TEMP TABLE tmp_commune_alias (code text, code_commune text, nom text, type text)
            ON COMMIT DROP;
    """))
    copy_rows(connection, "tmp_region", ["code", "nom", "zone", "geom"],
               ((r.code, r.nom, r.zone, _wkb(r.geometry)) for r in regions.itertuples()))
    copy_rows(connection, "tmp_departement", ["code", "nom", "code_region", "zone", "geom"],
               ((d.code, d.nom, d.region, d.zone, _wkb(d.geometry))
                for d in departements.itertuples()))
    copy_rows(
        connection, "tmp_commune",
        ["code", "nom", "code_departement", "code_region", "population", "codes_postaux",
         "lon", "lat", "geom"],
        ((c.code, c.nom, c.departement, c.region,
          None if _number(c.population) is None else int(c.population),
          [p for p in (c.codes_postaux or "").split("|") if p], _number(c.centre_lon),
          _number(c.centre_lat), _wkb(c.geometry))
         for c in communes.itertuples()),
    )
    copy_rows(connection, "tmp_commune_alias", ["code", "code_commune", "nom", "type"],
               ((a["code"], a["code_commune"], a["nom"], a["type"]) for a in aliases))

    connection.execute(text("""
        INSERT INTO region (code, nom, zone, geom)
        SELECT code, nom, zone, ST_Multi(ST_GeomFromWKB(decode(geom, 'hex'), 4326))
        FROM tmp_region
        ON CONFLICT (code) DO UPDATE SET nom = excluded.nom, zone = excluded.zone,
            geom = excluded.geom;
        INSERT INTO departement (code, nom, code_region, zone, geom)
        SELECT code, nom, code_region, zone, ST_Multi(ST_GeomFromWKB(decode(geom, 'hex'), 4326))
        FROM tmp_departement
        ON CONFLICT (code) DO UPDATE SET nom = excluded.nom, code_region = excluded.code_region,
            zone = excluded.zone, geom = excluded.geom;
        INSERT INTO commune (code, nom, code_departement, code_region, population,
                             codes_postaux, centre, geom)
        SELECT code, nom, code_departement, code_region, population, codes_postaux,
               ST_SetSRID(ST_MakePoint(lon, lat), 4326),
               ST_Multi(ST_GeomFromWKB(decode(geom, 'hex'), 4326))
        FROM tmp_commune
        ON CONFLICT (code) DO UPDATE SET nom = excluded.nom,
            code_departement = excluded.code_departement, code_region = excluded.code_region,
            population = excluded.population, codes_postaux = excluded.codes_postaux,
            centre = excluded.centre, geom = excluded.geom;
        INSERT INTO commune_alias (code, code_commune, nom, type)
        SELECT code, code_commune, nom, type FROM tmp_commune_alias
        ON CONFLICT (code) DO UPDATE SET code_commune = excluded.code_commune,
            nom = excluded.nom, type = excluded.type;
    """))
    return {
        "regions": len(regions),
        "departements": len(departements),
        "communes": len(communes),
        "alias": len(aliases),
    }


@dataclass(frozen=True)
class Place:
    """A commune as a place: what « code_commune=… » turns into."""

    code: str
    nom: str
    code_departement: str
    code_region: str
    population: int | None
    lon: float
    lat: float


def commune_place(connection: Connection, code: str) -> Place | None:
    """The current commune for a code (also an older code or an arrondissement municipal)."""
    row = connection.execute(
        text("""
            SELECT c.code, c.nom, c.code_departement, c.code_region, c.population,
                   ST_X(c.centre) AS lon, ST_Y(c.centre) AS lat
            FROM commune c
            WHERE c.centre IS NOT NULL AND c.code = coalesce(
                (SELECT code FROM commune WHERE code = :code),
                (SELECT code_commune FROM commune_alias WHERE code = :code))
        """),
        {"code": code.strip().upper()},
    ).one_or_none()
    return Place(*row) if row else None


def fill_territory_codes(connection: Connection, table: str = "offre", key: str = "id") -> int:
    """Give rows their commune/département/région codes, set-based.

    Works on ``offre`` or on any table with the same place columns (``code_commune``,
    ``code_departement``, ``code_region``, ``code_postal``, ``geom``): an ingestion places
    its staged rows before they reach ``offre``, so each offer is written once.
    Four passes: a known code (older codes and arrondissements resolved to the current
    commune), then the outline the point lies in, then the nearest commune within
    ``NEAREST_COMMUNE_MAX_M`` (simplified outlines leave thin gaps along borders and coasts),
    then the postcode (for the few overseas communes no open source draws).
    Returns the number of placed rows (with a point) still without a commune.
    """
    if not (re.fullmatch(r"[a-z_]+", table) and re.fullmatch(r"[a-z_]+", key)):
        raise ValueError(f"nom de table ou de colonne invalide : {table}.{key}")
    statements = [
        """UPDATE {table} o SET code_commune = a.code_commune
           FROM commune_alias a
           WHERE o.code_commune = a.code
             AND NOT EXISTS (SELECT 1 FROM commune c WHERE c.code = o.code_commune)""",
        """UPDATE {table} o SET code_commune = NULL
           WHERE o.code_commune IS NOT NULL AND o.geom IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM commune c WHERE c.code = o.code_commune)""",
        """UPDATE {table} o SET code_commune = c.code
           FROM commune c
           WHERE o.code_commune IS NULL AND o.geom IS NOT NULL AND ST_Covers(c.geom, o.geom)""",
        """UPDATE {table} o SET code_commune = nearest.code
           FROM (
               SELECT o.{key} AS row_key, (
                   SELECT c.code FROM commune c
                   WHERE ST_DWithin(c.geom, o.geom, :max_deg)
                     AND ST_Distance(c.geom::geography, o.geom::geography) <= :max_m
                   ORDER BY c.geom <-> o.geom LIMIT 1) AS code
               FROM {table} o WHERE o.code_commune IS NULL AND o.geom IS NOT NULL
           ) nearest
           WHERE o.{key} = nearest.row_key AND nearest.code IS NOT NULL""",
        """UPDATE {table} o SET code_commune = (
               SELECT c.code FROM commune c WHERE c.codes_postaux @> ARRAY[o.code_postal]
               ORDER BY c.population DESC NULLS LAST LIMIT 1)
           WHERE o.code_commune IS NULL AND o.code_postal IS NOT NULL""",
        """UPDATE {table} o SET code_departement = c.code_departement, code_region = c.code_region
           FROM commune c
           WHERE o.code_commune = c.code
             AND (o.code_departement IS DISTINCT FROM c.code_departement
                  OR o.code_region IS DISTINCT FROM c.code_region)""",
    ]
    parameters = {"max_m": NEAREST_COMMUNE_MAX_M, "max_deg": NEAREST_COMMUNE_MAX_M / 50_000}
    for statement in statements:
        connection.execute(text(statement.format(table=table, key=key)), parameters)
    return connection.execute(text(
        f"SELECT count(*) FROM {table} WHERE code_commune IS NULL AND geom IS NOT NULL"
    )).scalar_one()


# Where a point of France can be: metropolitan France with Corsica, the DROM and the COM.
# A source point outside every box is an error in the source (swapped or projected values).
FRANCE_BOXES: dict[str, tuple[float, float, float, float]] = {
    "métropole": (-5.6, 41.2, 9.8, 51.2),
    "Antilles (Guadeloupe, Saint-Martin, Saint-Barthélemy)": (-63.2, 15.8, -60.8, 18.2),
    "Martinique": (-61.3, 14.3, -60.7, 15.0),
    "Guyane": (-54.7, 2.0, -51.5, 6.0),
    "La Réunion": (55.1, -21.5, 55.9, -20.8),
    "Mayotte": (44.9, -13.1, 45.4, -12.5),
    "Saint-Pierre-et-Miquelon": (-56.5, 46.7, -56.1, 47.2),
    "Wallis-et-Futuna": (-178.3, -14.4, -176.0, -13.1),
    "Polynésie française": (-155.0, -28.0, -134.0, -7.0),
    "Nouvelle-Calédonie": (163.0, -23.0, 169.0, -19.0),
}


def in_france(lon: float, lat: float) -> bool:
    return any(
        west <= lon <= east and south <= lat <= north
        for west, south, east, north in FRANCE_BOXES.values()
    )
