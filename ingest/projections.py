"""Coordinate systems of the FINESS sources and the way back to WGS84 (EPSG:4326).

FINESS stores projected coordinates: Lambert-93 in metropolitan France, a local UTM zone in
each overseas territory (formats.md §1.1, checked on control points). The FHIR conversion of
the 2021 national file projected overseas UTM coordinates as if they were Lambert-93, which
puts Guadeloupe in the Gulf of Guinea: ``repair_overseas`` undoes that.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pyproj import Transformer

LAMBERT_93 = 2154
# INSEE département (or FINESS letter) → EPSG of its current projection.
OVERSEAS_EPSG = {
    "971": 5490, "9A": 5490, "972": 5490, "9B": 5490,  # RGAF09 / UTM 20N
    "973": 2972, "9C": 2972,  # RGFG95 / UTM 22N
    "974": 2975, "9D": 2975,  # RGR92 / UTM 40S
    "976": 4471, "9F": 4471,  # RGM04 / UTM 38S
    "975": 32621, "9E": 32621,  # Saint-Pierre-et-Miquelon, WGS 84 / UTM 21N
    "977": 5490, "978": 5490,  # Saint-Barthélemy, Saint-Martin
}
LEGACY_TOKENS = {
    "LAMBERT_93": 2154, "L93_METROPOLE": 2154, "UTM_N20": 5490, "UTM_N21": 32621,
    "UTM_N22": 2972, "UTM_S38": 4471, "UTM_S40": 2975,
}
EPSG_IN_TEXT = re.compile(r"EPSG:(\d+)")


@lru_cache(maxsize=32)
def _transformer(source: int, target: int) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def to_wgs84(x: float, y: float, epsg: int) -> tuple[float, float]:
    return _transformer(epsg, 4326).transform(x, y)


def epsg_of(sourcecoordet: str | None, departement: str | None) -> int | None:
    """The EPSG named by FINESS' ``sourcecoordet`` (last part), else the territory's own."""
    last = (sourcecoordet or "").split(",")[-1].strip()
    if match := EPSG_IN_TEXT.search(last):
        return int(match.group(1))
    if last in LEGACY_TOKENS:
        return LEGACY_TOKENS[last]
    if "UTM ZONE 21N" in last.upper():
        return 32621
    if departement:
        return OVERSEAS_EPSG.get(departement, LAMBERT_93 if departement[:1] != "9" else None)
    return None


def overseas_epsg_for_postcode(postcode: str | None) -> int | None:
    if not postcode or not postcode.startswith("97"):
        return None
    if postcode in ("97133",):
        return OVERSEAS_EPSG["977"]
    if postcode in ("97150",):
        return OVERSEAS_EPSG["978"]
    return OVERSEAS_EPSG.get(postcode[:3])


def repair_overseas(lon: float, lat: float, postcode: str | None) -> tuple[float, float] | None:
    """Undo a UTM position projected as Lambert-93; ``None`` when it does not apply."""
    epsg = overseas_epsg_for_postcode(postcode)
    if epsg is None:
        return None
    x, y = _transformer(4326, LAMBERT_93).transform(lon, lat)
    return to_wgs84(x, y, epsg)
