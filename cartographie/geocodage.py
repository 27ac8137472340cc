"""Turning what a person types (« 67000 Strasbourg », « Strasbourg ») into a place.

Two backends behind one interface: a local geocoder over the shipped communes reference
(default: offline, precision « commune »), and the Géoplateforme geocoding service
(``data.geopf.fr/geocodage``: address precision), chosen by ``CARTOGRAPHIE_GEOCODEUR``,
with retries and a rate limit as its terms of use ask.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Protocol

import httpx
from sqlalchemy import Connection, text

GEOPLATEFORME_URL = "https://data.geopf.fr/geocodage/search"
POSTCODE = re.compile(r"\b(\d{5})\b")


@dataclass(frozen=True)
class Lieu:
    libelle: str
    lon: float
    lat: float
    precision: str  # adresse, voie, commune
    code_commune: str | None


class Geocodeur(Protocol):
    def geocode(self, query: str) -> Lieu | None: ...


class GeocodeurLocal:
    """Communes by name and/or postcode, from the territories loaded in the database."""

    def __init__(self, connection: Connection):
        self.connection = connection

    def geocode(self, query: str) -> Lieu | None:
        postcode_match = POSTCODE.search(query)
        postcode = postcode_match.group(1) if postcode_match else None
        name = " ".join(POSTCODE.sub(" ", query).replace(",", " ").split())
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
