"""Entity resolution: one offer per real-world service, whatever the number of sources.

Run inside each ingestion, after the run's records are staged in ``nouvelles_valeurs`` and
before any offer is written. A record not yet linked to an offer is matched, set-based:

1. **strong keys** — the same FINESS establishment (structure) and an equivalent kind of
   offer (``data/fusion/equivalences.csv``: FINESS category ↔ ROR type d'offre), e.g. the
   FINESS CSAPA and the ROR « CSAPA » offer of that establishment; for a record without
   FINESS, the same SIRET (a ROR offer « hors FINESS » is the same ROR offer id across runs
   through ``offre_source``);
2. **similarity** — otherwise, offers of other sources within ``fusion_distance_m`` are
   scored on name (rapidfuzz ``token_set_ratio`` on normalised names), address and
   distance; at or above ``fusion_seuil`` the record joins the offer, between
   ``fusion_seuil_quasi`` and it the near miss is recorded for review.

Two different FINESS establishments are never merged, similarity never overrides the strong
keys of one establishment, and an offer never takes two records of one source. Every
decision is stored in ``decision_fusion`` with its score and reason.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz
from sqlalchemy import Connection, text

LEGAL_FORMS = re.compile(
    r"\b(SELARL|SELAS|SELAFA|SARL|SAS|SASU|SNC|EURL|SCP|SCM|SA|SISA|ASSOCIATION|ASSO)\b"
)
NAME_WEIGHT, ADDRESS_WEIGHT, DISTANCE_WEIGHT = 0.65, 0.2, 0.15


@dataclass(frozen=True)
class Thresholds:
    distance_m: float
    fusion: float
    quasi: float


def normalised(name: str | None) -> str:
    """« SELARL Pharmacie de l'Église » → « PHARMACIE DE L EGLISE »: what names share."""
    text_value = unicodedata.normalize("NFD", (name or "").upper())
    text_value = "".join(c for c in text_value if unicodedata.category(c) != "Mn")
    text_value = LEGAL_FORMS.sub(" ", re.sub(r"[^A-Z0-9 ]+", " ", text_value))
    return " ".join(text_value.split())


def score(name_a: str, name_b: str, address_a: str | None, address_b: str | None,
          distance_m: float, max_distance_m: float) -> tuple[float, str]:
    """Similarity of two offers (0–1) and the reason, in French, for the log."""
    name = fuzz.token_set_ratio(normalised(name_a), normalised(name_b)) / 100
    address = (fuzz.token_set_ratio(normalised(address_a), normalised(address_b)) / 100
               if address_a and address_b else 0.5)
    closeness = max(0.0, 1 - distance_m / max_distance_m)
    total = NAME_WEIGHT * name + ADDRESS_WEIGHT * address + DISTANCE_WEIGHT * closeness
    reason = (f"nom {name:.2f}, adresse {address:.2f}, distance {distance_m:.0f} m "
              f"→ score {total:.2f}")
    return round(total, 4), reason


def _load_equivalences(connection: Connection, path: Path) -> None:
    connection.execute(text("""
        CREATE TEMP TABLE IF NOT EXISTS equivalence (categorie_finess text,
            type_offre_ror text, priorite int) ON COMMIT DROP
    """))
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [{"c": r["categorie_finess"], "t": r["type_offre_ror"], "p": int(r["priorite"])}
                for r in csv.DictReader(handle, delimiter=";")]
    connection.execute(text("INSERT INTO equivalence VALUES (:c, :t, :p)"), rows)


def attach(connection: Connection, source: str, run_id: int, equivalences: Path,
           thresholds: Thresholds) -> dict[str, int]:
    """Point unlinked staged records at the offers they describe; log every decision."""
    params = {"source": source, "run": run_id}
    _load_equivalences(connection, equivalences)
    strong = connection.execute(text("""
        WITH candidates AS (
            SELECT DISTINCT ON (n.cle) n.cle, o.id AS offre, e.priorite,
                   coalesce(n.attributs->>'categorie_finess', o.attributs->>'categorie_finess')
                       AS categorie,
                   coalesce(n.attributs->>'type_offre_ror', o.attributs->>'type_offre_ror')
                       AS type_ror
            FROM nouvelles_valeurs n
            JOIN offre o ON o.structure_id = n.structure_id AND o.statut <> 'retiree'
            JOIN equivalence e ON
                 (e.categorie_finess = n.attributs->>'categorie_finess'
                  AND e.type_offre_ror = o.attributs->>'type_offre_ror')
              OR (e.categorie_finess = o.attributs->>'categorie_finess'
                  AND e.type_offre_ror = n.attributs->>'type_offre_ror')
            WHERE n.offre_existante IS NULL AND n.structure_id IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM offre_source os
                              WHERE os.offre_id = o.id AND os.source = :source AND os.actif)
            ORDER BY n.cle, e.priorite, o.id),
        unique_offers AS (  -- two records of this run never land on the same offer
            SELECT DISTINCT ON (offre) * FROM candidates ORDER BY offre, priorite, cle),
        merged AS (
            UPDATE nouvelles_valeurs n SET offre_id = u.offre, fusion = true
            FROM unique_offers u WHERE n.cle = u.cle
            RETURNING n.cle, u.offre, u.categorie, u.type_ror)
        INSERT INTO decision_fusion (run_id, source, cle, offre_id, decision, score, raison)
        SELECT :run, :source, cle, offre, 'fusion', 1.0,
               'même établissement FINESS et même type d''offre (catégorie FINESS '
               || categorie || ' ↔ type ROR ' || type_ror || ')'
        FROM merged
    """), params).rowcount

    strong += connection.execute(text("""
        -- SIRET: for records without FINESS (ROR « hors FINESS », ARS), same establishment
        WITH candidates AS (
            SELECT DISTINCT ON (n.cle) n.cle, o.id AS offre, n.attributs->>'siret' AS siret
            FROM nouvelles_valeurs n
            JOIN offre o ON o.attributs->>'siret' = n.attributs->>'siret'
                 AND o.statut <> 'retiree'
            WHERE n.offre_existante IS NULL AND NOT n.fusion AND n.structure_id IS NULL
              AND coalesce(n.attributs->>'siret', '') <> ''
              AND NOT EXISTS (SELECT 1 FROM offre_source os
                              WHERE os.offre_id = o.id AND os.source = :source AND os.actif)
              AND NOT EXISTS (SELECT 1 FROM nouvelles_valeurs m
                              WHERE m.fusion AND m.offre_id = o.id)
            ORDER BY n.cle, o.id),
        unique_offers AS (SELECT DISTINCT ON (offre) * FROM candidates ORDER BY offre, cle),
        merged AS (
            UPDATE nouvelles_valeurs n SET offre_id = u.offre, fusion = true
            FROM unique_offers u WHERE n.cle = u.cle
            RETURNING n.cle, u.offre, u.siret)
        INSERT INTO decision_fusion (run_id, source, cle, offre_id, decision, score, raison)
        SELECT :run, :source, cle, offre, 'fusion', 1.0, 'même SIRET ' || siret FROM merged
    """), params).rowcount

    candidates = connection.execute(text("""
        SELECT n.cle, o.id, n.nom, o.nom, n.adresse, o.adresse,
               ST_Distance(n.geom::geography, o.geom::geography) AS distance
        FROM nouvelles_valeurs n
        JOIN offre o ON ST_DWithin(o.geom, n.geom, :degrees)
             AND ST_DWithin(o.geom::geography, n.geom::geography, :meters)
        LEFT JOIN structure sn ON sn.id = n.structure_id
        LEFT JOIN structure so ON so.id = o.structure_id
        WHERE n.offre_existante IS NULL AND NOT n.fusion AND n.geom IS NOT NULL
          AND o.statut <> 'retiree'
          -- two FINESS establishments are never one; within one establishment the strong
          -- keys have decided (a CJC is not the CSAPA that hosts it)
          AND NOT (sn.finess_et IS NOT NULL AND so.finess_et IS NOT NULL)
          AND NOT EXISTS (SELECT 1 FROM nouvelles_valeurs m WHERE m.fusion AND m.offre_id = o.id)
          AND NOT EXISTS (SELECT 1 FROM offre_source os
                          WHERE os.offre_id = o.id AND os.source = :source AND os.actif)
        ORDER BY n.cle, o.id  -- equal scores break the same way whatever the plan
    """), {**params, "meters": thresholds.distance_m,
           "degrees": thresholds.distance_m / 50_000}).all()
    best: dict[str, tuple[float, int, str]] = {}
    near: list[dict] = []
    for cle, offre, name_n, name_o, address_n, address_o, distance in candidates:
        value, reason = score(name_n, name_o, address_n, address_o, distance,
                              thresholds.distance_m)
        if value >= thresholds.fusion and value > best.get(cle, (0.0, 0, ""))[0]:
            best[cle] = (value, offre, reason)
        elif thresholds.quasi <= value < thresholds.fusion:
            near.append({"cle": cle, "offre": offre, "score": value,
                         "raison": f"rapprochement manqué : {reason} < seuil "
                                   f"{thresholds.fusion:.2f}"})
    taken: set[int] = set()
    fuzzy = []
    for cle, (value, offre, reason) in sorted(best.items(), key=lambda item: -item[1][0]):
        if offre not in taken:
            taken.add(offre)
            fuzzy.append({"cle": cle, "offre": offre, "score": value,
                          "raison": f"noms et lieux proches : {reason}"})
    if fuzzy:
        connection.execute(text("""
            UPDATE nouvelles_valeurs SET offre_id = :offre, fusion = true WHERE cle = :cle
        """), fuzzy)
    rows = [dict(r, decision="fusion") for r in fuzzy] + [dict(r, decision="quasi")
                                                          for r in near]
    if rows:
        connection.execute(text("""
            INSERT INTO decision_fusion (run_id, source, cle, offre_id, decision, score, raison)
            VALUES (:run, :source, :cle, :offre, :decision, :score, :raison)
        """), [{**params, **r} for r in rows])
    return {"fusions": strong + len(fuzzy), "quasi": len(near)}


def explain(connection: Connection, offer_id: int) -> dict[str, list[tuple]]:
    """The sources of an offer and every merge decision that involved it."""
    sources = connection.execute(text("""
        SELECT os.source, os.cle, os.actif, coalesce(os.score::text, ''), coalesce(os.raison, ''),
               to_char(os.premiere_vue, 'YYYY-MM-DD'), to_char(os.derniere_vue, 'YYYY-MM-DD')
        FROM offre_source os WHERE os.offre_id = :id ORDER BY os.premiere_vue, os.id
    """), {"id": offer_id}).all()
    decisions = connection.execute(text("""
        SELECT d.decision, d.source, d.cle, round(d.score::numeric, 2)::text, d.raison,
               coalesce(d.run_id::text, '')
        FROM decision_fusion d WHERE d.offre_id = :id ORDER BY d.le, d.id
    """), {"id": offer_id}).all()
    fields = connection.execute(text("""
        SELECT key, value #>> '{}' FROM offre, jsonb_each(provenance)
        WHERE id = :id ORDER BY key
    """), {"id": offer_id}).all()
    return {"sources": sources, "decisions": decisions, "champs": fields}


def report(connection: Connection, limit: int = 50) -> dict[str, list[tuple]]:
    """Merges made, near misses under the threshold, and offers whose sources disagree."""
    merges = connection.execute(text("""
        SELECT d.offre_id, d.source, d.cle, round(d.score::numeric, 2)::text, d.raison
        FROM decision_fusion d WHERE d.decision = 'fusion' ORDER BY d.le DESC, d.id DESC
        LIMIT :limit
    """), {"limit": limit}).all()
    near = connection.execute(text("""
        SELECT d.offre_id, d.source, d.cle, round(d.score::numeric, 2)::text, d.raison
        FROM decision_fusion d WHERE d.decision = 'quasi' ORDER BY d.score DESC, d.id
        LIMIT :limit
    """), {"limit": limit}).all()
    conflicts = connection.execute(text("""
        SELECT o.id, o.nom, string_agg(DISTINCT r.source || ' : ' || (r.normalise->>'nom'), ' | ')
        FROM offre o
        JOIN offre_source os ON os.offre_id = o.id AND os.actif
        JOIN source_record r ON r.id = os.source_record_id
        GROUP BY o.id, o.nom
        HAVING count(DISTINCT upper(unaccent(r.normalise->>'nom'))) > 1
        ORDER BY o.id LIMIT :limit
    """), {"limit": limit}).all()
    return {"fusions": merges, "quasi": near, "conflits": conflicts}
