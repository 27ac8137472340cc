"""Orientation after the bilan: for each chosen card, the nearest suitable offers.

« Suitable »: published, on the card, open to the person's age. The search radius widens
(5, 10, 20, 50, 100, 200 km) until enough offers are found, so a rural commune gets answers
as well as a city. Each card also brings its national remote resources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from cartographie import recherche

RADII_KM = (5, 10, 20, 50, 100, 200)
WANTED = 5


@dataclass
class Resultat:
    carte: dict[str, Any]
    rayon_km: float
    offres: list[dict[str, Any]]
    ressources: list[dict[str, Any]]


def orient(connection: Connection, lon: float, lat: float, cartes: list[str],
           age: int | None, wanted: int = WANTED) -> list[Resultat]:
    results = []
    for slug in cartes:
        card = connection.execute(text("SELECT slug, nom, resume FROM carte WHERE slug = :s"),
                                  {"s": slug}).mappings().one()
        offers: list[dict[str, Any]] = []
        radius = RADII_KM[-1]
        for radius in RADII_KM:
            filters = recherche.Filtres(carte=slug, age=age, lon=lon, lat=lat, rayon_km=radius)
            offers = recherche.page(connection, filters, limit=wanted)
            if len(offers) >= wanted:
                break
        resources = connection.execute(text("""
            SELECT r.slug, r.nom, r.description, r.telephone, r.url, r.horaires, r.cout
            FROM carte_ressource cr JOIN ressource_nationale r ON r.slug = cr.ressource_slug
            WHERE cr.carte_slug = :s ORDER BY cr.ordre
        """), {"s": slug}).mappings().all()
        results.append(Resultat(dict(card), radius, offers, [dict(r) for r in resources]))
    return results
