"""Orientation after the bilan: per chosen card, its jeux d'offres in order, specialised first.

Why by jeu: sorting a whole card by distance buries a CSAPA behind ten closer pharmacies. A
card orders its jeux (``data/jeux/<carte>.yaml``: CSAPA, then centres de santé, then
pharmacies); each jeu whose public includes the person brings its nearest suitable offers,
searched up to ``MAX_RADIUS_KM``, so the nearest specialised offer is always there when one
exists (the next ones only if not far beyond it), and each offer says why it is there (its
jeu). Then come the card's national remote
resources that fit the person's age. An optional need (« besoin ») keeps the jeux linked to it.

Three judgements on top of the card's order. An offer closed on the day asked (a temporary
closure, ``cartographie.temporaire``) is skipped when its jeu has another offer to show; when
it has none, it stays, and says until when it is closed. A jeu whose nearest offer is beyond
``NEAR_KM`` comes after the jeux that have one nearer (card order kept within each group): a CeGIDD
150 km away is still shown, but after the dispensaire 3 km away. And a person overseas is
only sent within their own territory (a vaccination centre of Martinique is no answer in
Guadeloupe, 187 km across the sea).

A card's jeux are searched together with ``recherche.nearest_per_jeu`` (one statement, the
answer of ``recherche.page(Filtres(jeu=[slug], …))`` for each): nearest-first on each jeu's
own membership index (migration 0008), so a jeu of twenty offers never walks the offers of
the others.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from cartographie import recherche, temporaire

MAX_RADIUS_KM = 200
PER_JEU = 3
# After a jeu's nearest offer, the next ones are shown only if they are not much farther:
# a BAPU 1 km away is not followed by two in another city 150 km away.
NEAR_KM = 30
TAIL_FACTOR = 3
# More candidates per jeu than shown, so that offers closed that day leave room for others.
CLOSED_SLACK = 3


@dataclass
class Section:
    """One jeu of a card: whom it serves and its nearest suitable offers."""

    jeu: dict[str, Any]
    rayon_km: float | None
    offres: list[dict[str, Any]]


@dataclass
class Resultat:
    carte: dict[str, Any]
    besoin: dict[str, Any] | None
    sections: list[Section]
    ressources: list[dict[str, Any]]

    @property
    def rayon_km(self) -> float | None:
        """The farthest radius any section reached."""
        reached = [s.rayon_km for s in self.sections if s.rayon_km is not None]
        return max(reached) if reached else None


def serves(public: dict[str, Any], age: int | None) -> bool:
    """Whether a jeu or a resource is open to a person of this age (unknown age: yes)."""
    if age is None:
        return True
    return ((public.get("age_min") is None or public["age_min"] <= age)
            and (public.get("age_max") is None or public["age_max"] >= age))


def cards_jeux(connection: Connection, cartes: list[str],
               besoins: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Each card's jeux in its order; with a need, those linked to it (all if none is)."""
    rows = connection.execute(text("""
        SELECT j.carte_slug, j.slug, j.nom, j.description, j.age_min, j.age_max, j.publics,
               EXISTS (SELECT 1 FROM jeu_offre m WHERE m.jeu_slug = j.slug) AS membres,
               EXISTS (SELECT 1 FROM besoin_jeu bj WHERE bj.jeu_slug = j.slug
                       AND bj.besoin_slug = (CAST(:besoins AS jsonb) ->> j.carte_slug))
                   AS pour_besoin
        FROM jeu j WHERE j.carte_slug = ANY(:cartes) ORDER BY j.ordre
    """), {"cartes": cartes, "besoins": json.dumps(besoins)}).mappings().all()
    by_card: dict[str, list[dict[str, Any]]] = {}
    for slug in cartes:
        jeux = [dict(r) for r in rows if r["carte_slug"] == slug]
        linked = [j for j in jeux if j["pour_besoin"]] if slug in besoins else []
        by_card[slug] = [{k: v for k, v in j.items() if k not in ("pour_besoin", "carte_slug")}
                         for j in (linked or jeux)]
    return by_card


def remote_resources(connection: Connection, cartes: list[str],
                     age: int | None) -> dict[str, list[dict]]:
    """Each card's national remote resources open to the person, in the card's order."""
    rows = connection.execute(text("""
        SELECT cr.carte_slug, r.slug, r.nom, r.description, r.telephone, r.url, r.horaires,
               r.cout, r.age_min, r.age_max, r.publics
        FROM carte_ressource cr JOIN ressource_nationale r ON r.slug = cr.ressource_slug
        WHERE cr.carte_slug = ANY(:s) ORDER BY cr.ordre
    """), {"s": cartes}).mappings().all()
    return {slug: [{k: v for k, v in r.items() if k != "carte_slug"} for r in rows
                   if r["carte_slug"] == slug and serves(r, age)] for slug in cartes}


def territory(connection: Connection, lon: float, lat: float) -> str | None:
    """The région a point overseas belongs to (its offers only are reachable), else None."""
    return connection.execute(text("""
        SELECT d.code_region FROM commune c JOIN departement d ON d.code = c.code_departement
        WHERE d.zone <> 'metro'
          AND ST_Intersects(c.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
        LIMIT 1
    """), {"lon": lon, "lat": lat}).scalar_one_or_none()


def orient(connection: Connection, lon: float, lat: float, cartes: list[str],
           age: int | None, besoins: dict[str, str] | None = None,
           per_jeu: int = PER_JEU, day: dt.date | None = None) -> list[Resultat]:
    """Per card, its sections (jeu by jeu) and its remote resources; ``besoins``: card → need;
    ``day``: the day the person would go (today in Paris by default).

    The cards are read together (their jeux, resources and nearest offers in one statement
    each): an answer costs a handful of round trips whatever the number of cards.
    """
    besoins = besoins or {}
    filters = recherche.Filtres(age=age, lon=lon, lat=lat, rayon_km=MAX_RADIUS_KM,
                                code_region=territory(connection, lon, lat))
    cards = {row["slug"]: dict(row) for row in connection.execute(text(
        "SELECT slug, nom, resume FROM carte WHERE slug = ANY(:s)"), {"s": cartes}).mappings()}
    needs = {row["slug"]: dict(row) for row in connection.execute(text(
        "SELECT slug, libelle FROM besoin WHERE slug = ANY(:b)"),
        {"b": list(besoins.values())}).mappings()} if besoins else {}
    jeux_by_card = {slug: [jeu for jeu in jeux if jeu["membres"] and serves(jeu, age)]
                    for slug, jeux in cards_jeux(connection, cartes, besoins).items()}
    # Enough candidates for the jeu at rank k even if the k before it showed their offers
    # in it: the first per_jeu not yet shown are those a search of exactly
    # per_jeu + len(shown) would give. A jeu belongs to one card, so its slug is a key.
    limits = {jeu["slug"]: per_jeu * (rank + 1) + CLOSED_SLACK
              for jeux in jeux_by_card.values() for rank, jeu in enumerate(jeux)}
    nearest = recherche.nearest_per_jeu(connection, filters, limits) if limits else {}
    resources = remote_resources(connection, cartes, age)
    return [Resultat(cards[slug], needs.get(besoins.get(slug)) if slug in besoins else None,
                     sections(jeux_by_card[slug], nearest, per_jeu, day or temporaire.today()),
                     resources[slug])
            for slug in cartes]


def sections(jeux: list[dict[str, Any]], nearest: dict[str, list[dict[str, Any]]],
             per_jeu: int, day: dt.date) -> list[Section]:
    """A card's sections from its jeux' nearest offers: an offer already shown under a more
    specialised jeu is not repeated, one closed on ``day`` only if its jeu has nothing else,
    a jeu's far tail is cut, near jeux come first."""
    found_sections, shown = [], set()
    for jeu in jeux:
        candidates = [o for o in nearest[jeu["slug"]] if o["id"] not in shown]
        opened = [o for o in candidates if not temporaire.closed_on(o.get("temporaires"), day)]
        found = (opened or candidates)[:per_jeu]
        if not found:
            continue
        reach = max(NEAR_KM * 1000, TAIL_FACTOR * (found[0]["distance_m"] or 0))
        found = [found[0], *(o for o in found[1:] if (o["distance_m"] or 0) <= reach)]
        shown.update(o["id"] for o in found)
        for offer in found:
            offer["jeu"] = {"slug": jeu["slug"], "nom": jeu["nom"]}
        farthest = max((o["distance_m"] or 0) for o in found) / 1000
        found_sections.append(Section(jeu, round(farthest, 1), found))
    # Jeux with an offer within NEAR_KM first, each group in the card's order.
    found_sections.sort(key=lambda s: (s.offres[0]["distance_m"] or 0) > NEAR_KM * 1000)
    return found_sections
