"""Turning what a person types (« 67000 Strasbourg », « 12 rue de Rivoli 75004 Paris ») into
a place, with the precision reached: « adresse », « voie » or « commune ».

Backends behind one interface: a local geocoder (default, offline) over the Base Adresse
Nationale files found in ``CARTOGRAPHIE_BAN_DIR`` (address, else street) and the communes
reference (commune); and the Géoplateforme geocoding service (``data.geopf.fr/geocodage``),
one query at a time for people, by batch (its CSV endpoint) for imports, chosen by
``CARTOGRAPHIE_GEOCODEUR``, with retries and a rate limit as its terms of use ask.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import threading
import time
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import httpx
from sqlalchemy import Connection, text

GEOPLATEFORME_URL = "https://data.geopf.fr/geocodage/search"
POSTCODE = re.compile(r"\b(\d{5})\b")
# « 12 », « 12 bis », « 12b »; not the « r » of « 12 r. de Rivoli ».
HOUSE_NUMBER = re.compile(r"^\s*(\d+)(?:\s*(bis|ter|quater)|([a-z]))?\b[\s,]*",
                          re.IGNORECASE)
# How people shorten street types; the BAN writes them in full.
STREET_TYPES = {
    "AV": "AVENUE", "AVE": "AVENUE", "BD": "BOULEVARD", "BLD": "BOULEVARD", "R": "RUE",
    "PL": "PLACE", "CHE": "CHEMIN", "CH": "CHEMIN", "IMP": "IMPASSE", "ALL": "ALLEE",
    "RTE": "ROUTE", "QU": "QUAI", "SQ": "SQUARE", "FG": "FAUBOURG", "FBG": "FAUBOURG",
    "PAS": "PASSAGE", "CRS": "COURS", "ST": "SAINT", "STE": "SAINTE",
}


@dataclass(frozen=True)
class Lieu:
    libelle: str
    lon: float
    lat: float
    precision: str  # adresse, voie, commune
    code_commune: str | None


class Geocodeur(Protocol):
    def geocode(self, query: str) -> Lieu | None: ...


def street_key(value: str) -> str:
    """« Bd de l'Hôpital » → « BOULEVARD DE L HOPITAL »: how a street is looked up."""
    value = unicodedata.normalize("NFD", value.upper())
    value = "".join(c for c in value if unicodedata.category(c) != "Mn")
    words = re.sub(r"[^A-Z0-9]+", " ", value).split()
    return " ".join(STREET_TYPES.get(word, word) for word in words)


class AdressesBAN:
    """An in-memory index of Base Adresse Nationale files (``adresses-<dép>.csv.gz``).

    Street and postcode lead to the address points of the street; a known house number
    gives the address, an unknown one the street's middle point (precision « voie »).
    """

    def __init__(self, files: Sequence[Path]):
        points: dict[tuple[str, str], dict[str, tuple[float, float, str]]] = defaultdict(dict)
        for path in files:
            with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
                for row in csv.DictReader(handle, delimiter=";"):
                    key = (street_key(row["nom_voie"]), row["code_postal"])
                    number = f"{row['numero']}{row['rep'] or ''}".upper()
                    points[key][number] = (float(row["lon"]), float(row["lat"]),
                                           row["code_insee"])
        self.points = dict(points)
        self.files = [path.name for path in files]

    def __len__(self) -> int:
        return sum(len(street) for street in self.points.values())

    def find(self, address: str, postcode: str) -> tuple[float, float, str, str] | None:
        """(lon, lat, code INSEE, precision) of « 12 rue X » in a postcode, or None."""
        number_match = HOUSE_NUMBER.match(address)
        number = "".join(part or "" for part in number_match.groups()).upper() if number_match \
            else ""
        street = self.points.get((street_key(HOUSE_NUMBER.sub("", address, count=1)), postcode))
        if not street:
            return None
        if number in street:
            lon, lat, code = street[number]
            return lon, lat, code, "adresse"
        ordered = sorted(street.values())
        lon, lat, code = ordered[len(ordered) // 2]
        return lon, lat, code, "voie"


@lru_cache(maxsize=4)
def ban_index(folder: Path) -> AdressesBAN | None:
    """The BAN files of a folder, read once per process; None when there are none."""
    files = sorted(folder.glob("adresses-*.csv.gz")) if folder.is_dir() else []
    return AdressesBAN(files) if files else None


class GeocodeurLocal:
    """Offline: BAN addresses when the files are there, else communes by name and postcode."""

    def __init__(self, connection: Connection, adresses: AdressesBAN | None = None):
        self.connection = connection
        self.adresses = adresses

    def geocode(self, query: str) -> Lieu | None:
        postcode_match = POSTCODE.search(query)
        if postcode_match and self.adresses is not None:
            street_part = query[:postcode_match.start()].strip(" ,")
            found = self.adresses.find(street_part, postcode_match.group(1)) \
                if street_part else None
            if found:
                lon, lat, code, precision = found
                return Lieu(query, lon, lat, precision, code)
        return self.commune(query)

    def commune(self, query: str) -> Lieu | None:
        """The commune a query names (postcode and/or name), at its centre."""
        postcode_match = POSTCODE.search(query)
        postcode = postcode_match.group(1) if postcode_match else None
        # The town follows the postcode (« 67000 Strasbourg ») or precedes it.
        name = query
        if postcode_match:
            name = query[postcode_match.end():].strip(" ,") or query[:postcode_match.start()]
        name = " ".join(name.replace(",", " ").split())
        if not name and not postcode:
            return None
        row = self.connection.execute(text("""
            SELECT c.code, c.nom, ST_X(c.centre), ST_Y(c.centre)
            FROM commune c
            WHERE c.centre IS NOT NULL
              AND (CAST(:cp AS text) IS NULL OR c.codes_postaux @> ARRAY[CAST(:cp AS text)])
              AND (CAST(:name AS text) = ''
                   OR lower(unaccent(c.nom)) = lower(unaccent(:name))
                   OR lower(unaccent(replace(c.nom, '-', ' ')))
                      = lower(unaccent(replace(:name, '-', ' ')))
                   OR lower(unaccent(:name)) LIKE '%' || lower(unaccent(c.nom)))
            ORDER BY lower(unaccent(c.nom)) = lower(unaccent(:name)) DESC,
                     c.population DESC NULLS LAST
            LIMIT 1
        """), {"cp": postcode, "name": name}).first()
        if row is None:
            return None
        code, nom, lon, lat = row
        return Lieu(f"{nom} ({code})", lon, lat, "commune", code)


class GeocodeurGeoplateforme:
    """The national geocoder (BAN), politely: at most ``per_second`` calls, a few retries."""

    def __init__(self, url: str = GEOPLATEFORME_URL, per_second: float = 10.0,
                 retries: int = 3, client: httpx.Client | None = None):
        self.url = url
        self.interval = 1.0 / per_second
        self.retries = retries
        self.client = client or httpx.Client(timeout=10)
        self._lock = threading.Lock()
        self._last = 0.0

    def _wait_turn(self) -> None:
        with self._lock:
            delay = self._last + self.interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._last = time.monotonic()

    def geocode(self, query: str) -> Lieu | None:
        for attempt in range(self.retries + 1):
            self._wait_turn()
            try:
                response = self.client.get(self.url, params={"q": query, "limit": 1})
                if response.status_code == 429 or response.status_code >= 500:
                    raise httpx.HTTPStatusError("réessayer", request=response.request,
                                                response=response)
                response.raise_for_status()
                features = response.json().get("features") or []
                break
            except httpx.HTTPError:
                if attempt == self.retries:
                    return None
                time.sleep(min(2.0, 0.2 * 2**attempt))
        if not features:
            return None
        feature = features[0]
        lon, lat = feature["geometry"]["coordinates"]
        properties = feature.get("properties") or {}
        precision = {"housenumber": "adresse", "street": "voie"}.get(
            properties.get("type"), "commune")
        return Lieu(properties.get("label") or query, lon, lat, precision,
                    properties.get("citycode"))


class GeocodeurGeoplateformeLot:
    """The Géoplateforme's batch endpoint (``…/search/csv``): one request for a whole import."""

    def __init__(self, url: str = GEOPLATEFORME_URL, client: httpx.Client | None = None,
                 retries: int = 2):
        self.url = url.rstrip("/") + "/csv"
        self.client = client or httpx.Client(timeout=120)
        self.retries = retries

    def geocode_many(self, queries: Sequence[str]) -> list[Lieu | None]:
        body = io.StringIO()
        writer = csv.writer(body)
        writer.writerow(["q"])
        writer.writerows([q] for q in queries)
        for attempt in range(self.retries + 1):
            try:
                response = self.client.post(
                    self.url, files={"data": ("adresses.csv", body.getvalue().encode(),
                                              "text/csv")},
                    data={"columns": "q", "indexes": "address"})
                response.raise_for_status()
                break
            except httpx.HTTPError:
                if attempt == self.retries:
                    return [None] * len(queries)
                time.sleep(0.5 * 2**attempt)
        places: list[Lieu | None] = []
        for row in csv.DictReader(io.StringIO(response.text)):
            if not row.get("latitude") or not row.get("longitude"):
                places.append(None)
                continue
            precision = {"housenumber": "adresse", "street": "voie"}.get(
                row.get("result_type") or "", "commune")
            places.append(Lieu(row.get("result_label") or row["q"], float(row["longitude"]),
                               float(row["latitude"]), precision,
                               row.get("result_citycode") or None))
        return places


def geocode_many(geocoder: Geocodeur | GeocodeurGeoplateformeLot,
                 queries: Sequence[str]) -> list[Lieu | None]:
    """Many queries at once: by batch where the backend has one, else one by one."""
    if isinstance(geocoder, GeocodeurGeoplateformeLot):
        return geocoder.geocode_many(queries)
    return [geocoder.geocode(query) for query in queries]
