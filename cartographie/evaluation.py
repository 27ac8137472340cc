"""The orientation's own evaluation: what a professional relies on, checked on real answers.

Why here: the tests run it on a sample of the Grand Est data, ``benchmarks/orientation_eval.py``
on a few hundred national queries; both must judge with the same criteria. Each criterion is
checked against the database independently of the orientation's own SQL:

- ``public`` — every offer, jeu and remote resource shown is open to the person's age;
- ``exclusion`` — no dental-only or ophthalmology-only centre on a card that excludes them;
- ``specialise`` — when the card's first jeu open to the person has a suitable offer within
  ``NEAR_KM``, the answer shows that jeu with an offer within ``NEAR_KM``;
- ``distance`` — each distance shown agrees with the WGS84 geodesic (pyproj) within 1 m + 0.1 %.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pyproj import Geod
from sqlalchemy import Connection, text

NEAR_KM = 30
BANDS = ((18, 25), (45, 50), (60, 65), (70, 75))  # the four bilan age bands
# Three cards per query, in rotation: every card is asked, the sparsest among others.
CARD_SETS = (
    "addiction-tabac,sante-mentale,vaccination-voyageur",
    "activite-physique,depistage,sante-sexuelle",
    "vaccination-adulte,addiction-alcool,nutrition",
    "addiction-drogues,addiction-jeux,addiction-produits-consommation-courante",
)
EXCLUDING_CARDS = ("vaccination-adulte", "depistage", "addiction-tabac", "sante-sexuelle")
DENTAL_OR_EYES = (r"(dentaire|dentiste|\mdent\M|odontolog|orthodont|stomatolog|ophtalm)")
MIXED = r"(medical|medico|polyvalent|pluri|generaliste)"
GEOD = Geod(ellps="WGS84")


@dataclass
class Verdict:
    """One query's failures, per criterion (empty lists: the answer holds)."""

    query: dict[str, Any]
    failures: dict[str, list[str]] = field(default_factory=dict)

    def fail(self, criterion: str, message: str) -> None:
        self.failures.setdefault(criterion, []).append(message)


def _open_to(public: dict[str, Any], age: int | None) -> bool:
    return age is None or ((public.get("age_min") is None or public["age_min"] <= age)
                           and (public.get("age_max") is None or public["age_max"] >= age))


def _first_specialised(connection: Connection, card: str, age: int | None, lon: float,
                       lat: float) -> tuple[str, float] | None:
    """The card's first jeu open to the person and its nearest suitable offer's distance."""
    row = connection.execute(text("""
        SELECT j.slug, (
            SELECT min(ST_Distance(o.geom::geography,
                                   ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography))
            FROM jeu_offre jo JOIN offre o ON o.id = jo.offre_id
            WHERE jo.jeu_slug = j.slug AND o.statut = 'publiee' AND o.mode = 'sur_place'
              AND ST_DWithin(o.geom::geography,
                             ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :near_m)
              AND (CAST(:age AS int) IS NULL
                   OR ((o.public_age_min IS NULL OR o.public_age_min <= :age)
                       AND (o.public_age_max IS NULL OR o.public_age_max >= :age))))
        FROM jeu j
        WHERE j.carte_slug = :card AND (CAST(:age AS int) IS NULL
              OR ((j.age_min IS NULL OR j.age_min <= :age)
                  AND (j.age_max IS NULL OR j.age_max >= :age)))
          AND EXISTS (SELECT 1 FROM jeu_offre jo WHERE jo.jeu_slug = j.slug)
        ORDER BY j.ordre LIMIT 1
    """), {"card": card, "age": age, "lon": lon, "lat": lat,
           "near_m": NEAR_KM * 1000}).one_or_none()
    if row is None or row[1] is None:
        return None
    return row[0], row[1]


def _excluded_ids(connection: Connection, ids: Iterable[int]) -> dict[int, str]:
    """Among these offers, the dental- or eye-only centres, with their names."""
    rows = connection.execute(text(f"""
        SELECT id, nom FROM offre
        WHERE id = ANY(:ids)
          AND unaccent(lower(nom || ' ' || coalesce(nom_source, ''))) ~ '{DENTAL_OR_EYES}'
          AND unaccent(lower(nom || ' ' || coalesce(nom_source, ''))) !~ '{MIXED}'
    """), {"ids": list(ids)})
    return dict(rows.all())


def judge(connection: Connection, query: dict[str, Any], answer: dict[str, Any]) -> Verdict:
    """Check one orientation answer (the API's JSON layout) against the four criteria."""
    verdict = Verdict(query)
    age = answer.get("age")
    lon, lat = answer["lieu"]["lon"], answer["lieu"]["lat"]
    for card in answer["cartes"]:
        slug = card["carte"]["slug"]
        offers = [o for section in card["jeux"] for o in section["offres"]]
        for section in card["jeux"]:
            if not _open_to(section["jeu"]["public"], age):
                jeu = section["jeu"]["slug"]
                verdict.fail("public", f"{slug} : jeu « {jeu} » fermé à {age} ans")
        for offer in offers:
            public = {"age_min": offer.get("public_age_min"),
                      "age_max": offer.get("public_age_max")}
            if not _open_to(public, age):
                verdict.fail("public", f"{slug} : « {offer['nom']} » fermé à {age} ans")
            if offer.get("distance_m") is not None and offer.get("lon") is not None:
                _, _, truth = GEOD.inv(lon, lat, offer["lon"], offer["lat"])
                if abs(truth - offer["distance_m"]) > 1 + truth / 1000:
                    shown = offer["distance_m"]
                    verdict.fail("distance", f"{slug} : « {offer['nom']} » à {shown:.0f} m "
                                             f"au lieu de {truth:.0f} m")
        for resource in card["ressources"]:
            if not _open_to(resource["public"], age):
                verdict.fail("public", f"{slug} : ressource « {resource['slug']} » fermée à "
                                       f"{age} ans")
        if slug in EXCLUDING_CARDS:
            for name in _excluded_ids(connection, [o["id"] for o in offers]).values():
                verdict.fail("exclusion", f"{slug} : « {name} » (centre dentaire ou "
                                          "d'ophtalmologie)")
        nearest = _first_specialised(connection, slug, age, lon, lat)
        if nearest is not None:
            jeu, _ = nearest
            shown = next((s for s in card["jeux"] if s["jeu"]["slug"] == jeu), None)
            if shown is None or not any((o.get("distance_m") or 0) <= NEAR_KM * 1000
                                        for o in shown["offres"]):
                verdict.fail("specialise", f"{slug} : « {jeu} » a une offre à moins de "
                                           f"{NEAR_KM} km, absente de la réponse")
    return verdict


def summary(verdicts: list[Verdict]) -> dict[str, int]:
    """Queries failing each criterion, and in total."""
    counts = {c: 0 for c in ("public", "exclusion", "specialise", "distance")}
    for verdict in verdicts:
        for criterion in verdict.failures:
            counts[criterion] += 1
    counts["requetes"] = len(verdicts)
    counts["requetes_en_echec"] = sum(1 for v in verdicts if v.failures)
    return counts


def queries(communes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each commune at the four age bands (one bound of each, alternately), cards rotating."""
    return [{"code_commune": commune["code"], "age": band[(i + b) % 2],
             "cartes": CARD_SETS[(i + b) % len(CARD_SETS)]}
            for i, commune in enumerate(communes) for b, band in enumerate(BANDS)]


def sample_communes(connection: Connection, per_departement: int, seed: float,
                    departements: list[str] | None = None) -> list[dict[str, Any]]:
    """Real communes across France: a few per département, drawn reproducibly."""
    connection.execute(text("SELECT setseed(:s)"), {"s": seed})
    rows = connection.execute(text("""
        SELECT code, nom, code_departement FROM (
            SELECT c.code, c.nom, c.code_departement,
                   row_number() OVER (PARTITION BY c.code_departement ORDER BY random()) AS n
            FROM commune c WHERE c.centre IS NOT NULL
              AND (CAST(:deps AS text[]) IS NULL OR c.code_departement = ANY(:deps))
        ) ranked WHERE n <= :k ORDER BY code
    """), {"k": per_departement, "deps": departements}).mappings().all()
    return [dict(r) for r in rows]
