"""Build the compact territories reference shipped in ``data/territoires/`` from ../shared/data.

Why a build step: the real sources are large (46 MB of commune outlines) and describe communes
as of 2018, while offers carry 2026 codes. This script maps every 2018 outline to its current
commune (merged communes are dissolved into their commune nouvelle), simplifies the outlines
to ~100 m, and writes small gzip GeoJSON files with the 2026 names, codes and populations.

Usage: python scripts/build_territoires.py [--shared ../shared/data] [--out data/territoires]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import MultiPolygon, Point, Polygon

COMMUNE_TOLERANCE = 0.001  # degrees, about 100 m: enough to place an offer in its commune
AREA_TOLERANCE = 0.002  # départements and régions are drawn, never used to place points
COMMUNE_OUTLINES = "communes-avec-outre-mer-2018.geojson.gz"
PRECISION = 4  # about 10 m


def as_multipolygon(geometry):
    if isinstance(geometry, Polygon):
        return MultiPolygon([geometry])
    if isinstance(geometry, MultiPolygon):
        return geometry
    parts = [g for g in getattr(geometry, "geoms", []) if isinstance(g, Polygon)]
    return MultiPolygon(parts) if parts else None


def simplified(frame: gpd.GeoDataFrame, tolerance: float) -> gpd.GeoDataFrame:
    frame = frame.copy()
    frame["geometry"] = frame.geometry.simplify(tolerance, preserve_topology=True)
    frame["geometry"] = frame.geometry.map(as_multipolygon)
    return frame


def write_geojson_gz(frame: gpd.GeoDataFrame, path: Path) -> None:
    plain = path.with_suffix("")
    frame.to_file(plain, driver="GeoJSON", COORDINATE_PRECISION=PRECISION, RFC7946="YES")
    with plain.open("rb") as source, gzip.open(path, "wb", compresslevel=9) as target:
        target.write(source.read())
    plain.unlink()


def postcode_points(path: Path) -> dict[str, Point]:
    """La Poste gives one point per commune (« lat,lon »): the fallback centre."""
    points: dict[str, Point] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            gps = row["coordonnees_gps"].strip()
            if gps and row["Code_commune_INSEE"] not in points:
                lat, lon = (float(v) for v in gps.split(","))
                points[row["Code_commune_INSEE"]] = Point(lon, lat)
    return points


def build(shared: Path, out: Path) -> dict[str, int]:
    reference = shared / "reference"
    with gzip.open(reference / "decoupage-administratif-2026-communes.json.gz") as handle:
        cog = json.load(handle)
    current = {c["code"]: c for c in cog if c["type"] == "commune-actuelle"}

    aliases = []
    for entry in cog:
        if entry["type"] != "commune-actuelle" and entry.get("commune") in current:
            aliases.append((entry["code"], entry["commune"], entry["nom"], entry["type"]))
        for old in entry.get("anciensCodes", []) if entry["type"] == "commune-actuelle" else []:
            aliases.append((old, entry["code"], entry["nom"], "ancien-code"))
    alias_target = {code: target for code, target, _, _ in aliases}

    outlines = gpd.read_file(f"/vsigzip/{shared}/boundaries/{COMMUNE_OUTLINES}")
    outlines["code_2026"] = outlines["code"].map(
        lambda c: c if c in current else alias_target.get(c)
    )
    unmapped = outlines[outlines["code_2026"].isna()]
    dissolved = outlines.dropna(subset=["code_2026"]).dissolve(by="code_2026", as_index=False)
    shapes = dict(
        zip(dissolved["code_2026"], simplified(dissolved, COMMUNE_TOLERANCE).geometry, strict=True)
    )

    fallback = postcode_points(shared / "geocoding" / "laposte_hexasmal.csv")
    rows, unplaced = [], []
    for code, commune in current.items():
        shape = shapes.get(code)
        centre = fallback.get(code) if shape is None else shape.representative_point()
        if centre is None:
            unplaced.append(f"{code} {commune['nom']} ({commune['zone']})")
        rows.append(
            {
                "code": code,
                "nom": commune["nom"],
                "departement": commune["departement"],
                "region": commune["region"],
                "population": commune.get("population"),
                "codes_postaux": "|".join(commune.get("codesPostaux", [])),
                "centre_lon": round(centre.x, PRECISION) if centre else None,
                "centre_lat": round(centre.y, PRECISION) if centre else None,
                "geometry": shape,
            }
        )
    communes = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    communes["population"] = communes["population"].astype("Int64")

    out.mkdir(parents=True, exist_ok=True)
    write_geojson_gz(communes, out / "communes.geojson.gz")
    with (out / "communes_alias.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "code_commune", "nom", "type"])
        listed = set(communes["code"])
        writer.writerows(sorted({a for a in aliases if a[1] in listed and a[0] not in listed}))

    for level, source_name in (("departements", "departements"), ("regions", "regions")):
        listing = pd.DataFrame(json.loads((reference / f"decoupage-administratif-2026-{level}.json")
                                          .read_text(encoding="utf-8")))
        boundary = gpd.read_file(shared / "boundaries" / f"{source_name}-avec-outre-mer.geojson")
        boundary = simplified(boundary, AREA_TOLERANCE)[["code", "geometry"]]
        columns = ["code", "nom", "zone"] + (["region"] if level == "departements" else [])
        merged = gpd.GeoDataFrame(
            listing[columns].merge(boundary, on="code", how="left"), geometry="geometry",
            crs="EPSG:4326",
        )
        write_geojson_gz(merged, out / f"{level}.geojson.gz")

    return {
        "communes": len(communes),
        "communes_sans_contour": int(communes.geometry.isna().sum()),
        "communes_sans_position": len(unplaced),
        "zones_non_placees": sorted({u.rsplit("(", 1)[1] for u in unplaced}),
        "contours_2018_sans_commune_2026": len(unmapped),
        "alias": len(aliases),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--shared", type=Path, default=root.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=root / "data" / "territoires")
    args = parser.parse_args()
    for key, value in build(args.shared, args.out).items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
