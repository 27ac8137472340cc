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
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, text

from ingest import cles
from ingest.ressemblance import Fiche, Ressemblance, compare, phones

AMBIGUITY = 0.05  # two offers scoring this close: a person decides


@dataclass(frozen=True)
class Thresholds:
    distance_m: float
    fusion: float
    quasi: float


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
           thresholds: Thresholds, region: str | None = None) -> dict[str, int]:
    """Point unlinked staged records at the offers they describe; log every decision.

    ``region``: a région's contribution only ever matches that région's offers — a public
    SIRET must not let one ARS take over another's offer.
    """
    params = {"source": source, "run": run_id, "region": region}
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
              AND (CAST(:region AS text) IS NULL OR o.code_region = :region)
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
              AND (CAST(:region AS text) IS NULL OR o.code_region = :region)
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

    strong += _confirmed(connection, params)
    pairs = candidates(connection, source, thresholds.distance_m, region)
    fuzzy, near = _decide(pairs, _name_weights(connection) if pairs else None, thresholds)
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


def _confirmed(connection: Connection, params: dict) -> int:
    """Records a person already said are an offer (« c'est l'offre N »): merged again."""
    return connection.execute(text("""
        WITH confirmed AS (
            SELECT DISTINCT ON (n.cle) n.cle, d.offre_id AS offre, d.le
            FROM nouvelles_valeurs n
            JOIN rapprochement_decision d ON d.source = :source AND d.cle = n.cle
                 AND d.decision = 'confirme'
            JOIN offre o ON o.id = d.offre_id AND o.statut <> 'retiree'
            WHERE n.offre_existante IS NULL AND NOT n.fusion
              AND (CAST(:region AS text) IS NULL OR o.code_region = :region)
              AND NOT EXISTS (SELECT 1 FROM offre_source os
                              WHERE os.offre_id = o.id AND os.source = :source AND os.actif)
              AND NOT EXISTS (SELECT 1 FROM nouvelles_valeurs m
                              WHERE m.fusion AND m.offre_id = o.id)
            ORDER BY n.cle, d.le DESC),
        merged AS (
            UPDATE nouvelles_valeurs n SET offre_id = c.offre, fusion = true
            FROM confirmed c WHERE n.cle = c.cle
            RETURNING n.cle, c.offre, c.le)
        INSERT INTO decision_fusion (run_id, source, cle, offre_id, decision, score, raison)
        SELECT :run, :source, cle, offre, 'fusion', 1.0,
               'rapprochement confirmé par l''ARS le ' || to_char(le, 'DD/MM/YYYY')
        FROM merged
    """), params).rowcount


@dataclass(frozen=True)
class Candidat:
    """A staged record and an existing offer it could be, with what is compared of each."""

    cle: str
    offre: int
    record: Fiche
    offer: Fiche
    distance_m: float | None
    same_commune: bool


def candidates(connection: Connection, source: str, distance_m: float,
               region: str | None = None) -> list[Candidat]:
    """The offers each unlinked record could be: those within ``distance_m`` of a placed
    record; for a record placed at its commune only, the offers of that commune and of its
    neighbours; anywhere in the département, the offers with the same phone number.

    Never: two FINESS establishments, an offer already taken in this run or holding a record
    of this source, a pair a person rejected, an offer outside ``region`` (a contribution).
    """
    rows = connection.execute(text("""
        WITH records AS (
            SELECT n.cle, n.geom, n.precision_geo, n.code_commune, n.code_departement,
                   n.contacts
            FROM nouvelles_valeurs n
            WHERE n.offre_existante IS NULL AND NOT n.fusion AND n.geom IS NOT NULL),
        pairs AS (
            SELECT r.cle, o.id AS offre FROM records r
            JOIN offre o ON r.precision_geo <> 'commune' AND ST_DWithin(o.geom, r.geom, :degrees)
                 AND ST_DWithin(o.geom::geography, r.geom::geography, :meters)
            UNION
            SELECT r.cle, o.id FROM records r
            JOIN commune k ON r.precision_geo = 'commune' AND k.code = r.code_commune
            JOIN commune v ON v.code = k.code OR ST_Intersects(v.geom, k.geom)
            JOIN offre o ON o.code_commune = v.code
            UNION
            SELECT r.cle, o.id FROM records r
            CROSS JOIN LATERAL jsonb_array_elements(r.contacts) c
            JOIN offre o ON o.code_departement = r.code_departement
                 AND o.contacts @> jsonb_build_array(jsonb_build_object(
                         'type', 'telephone', 'valeur', c->>'valeur'))
            WHERE c->>'type' = 'telephone')
        SELECT p.cle, o.id AS offre, n.nom AS nom_n, o.nom AS nom_o, n.adresse AS adresse_n,
               o.adresse AS adresse_o, n.contacts AS contacts_n, o.contacts AS contacts_o,
               kn.nom AS commune_n, ko.nom AS commune_o,
               o.code_commune IS NOT DISTINCT FROM n.code_commune AS same_commune,
               CASE WHEN 'commune' IN (n.precision_geo, o.precision_geo) THEN NULL
                    ELSE ST_Distance(n.geom::geography, o.geom::geography) END AS distance
        FROM pairs p
        JOIN nouvelles_valeurs n ON n.cle = p.cle
        JOIN offre o ON o.id = p.offre
        LEFT JOIN structure sn ON sn.id = n.structure_id
        LEFT JOIN structure so ON so.id = o.structure_id
        LEFT JOIN commune kn ON kn.code = n.code_commune
        LEFT JOIN commune ko ON ko.code = o.code_commune
        WHERE o.statut <> 'retiree'
          AND (CAST(:region AS text) IS NULL OR o.code_region = :region)
          -- two FINESS establishments are never one; within one establishment the strong
          -- keys have decided (a CJC is not the CSAPA that hosts it)
          AND NOT (sn.finess_et IS NOT NULL AND so.finess_et IS NOT NULL)
          AND NOT EXISTS (SELECT 1 FROM nouvelles_valeurs m WHERE m.fusion AND m.offre_id = o.id)
          AND NOT EXISTS (SELECT 1 FROM offre_source os
                          WHERE os.offre_id = o.id AND os.source = :source AND os.actif)
          AND NOT EXISTS (SELECT 1 FROM rapprochement_decision d
                          WHERE d.source = :source AND d.cle = p.cle AND d.offre_id = o.id
                            AND d.decision = 'rejete')
        ORDER BY p.cle, o.id  -- equal scores break the same way whatever the plan
    """), {"source": source, "region": region, "meters": distance_m,
           "degrees": distance_m / 50_000}).mappings()
    return [Candidat(r["cle"], r["offre"],
                     Fiche(r["nom_n"], r["adresse_n"], phones(r["contacts_n"]), r["commune_n"]),
                     Fiche(r["nom_o"], r["adresse_o"], phones(r["contacts_o"]), r["commune_o"]),
                     r["distance"], r["same_commune"]) for r in rows]


def _name_weights(connection: Connection) -> cles.Weights:
    """Word frequencies over the offers' names, counted in SQL (national: ~0.6 s)."""
    total = connection.execute(text(
        "SELECT count(*) FROM offre WHERE statut <> 'retiree'")).scalar_one()
    return cles.Weights(total, connection.execute(text("""
        SELECT w, count(*) FROM offre o,
             regexp_split_to_table(lower(unaccent(o.nom)), '[^a-z0-9]+') AS w
        WHERE o.statut <> 'retiree' AND w <> '' GROUP BY w
    """)).all())


def _decide(pairs: list[Candidat], weights, thresholds: Thresholds
            ) -> tuple[list[dict], list[dict]]:
    """Score every pair; each record joins its best offer at or above the threshold when no
    other offer comes as close (then both are near misses for a person to settle), and an
    offer takes at most one record; the other close pairs are near misses, except offers of
    another kind of service (never the same)."""
    by_record: dict[str, list[tuple[Ressemblance, int]]] = {}
    for pair in pairs:
        found = compare(pair.record, pair.offer, distance_m=pair.distance_m,
                        same_commune=pair.same_commune, weights=weights)
        by_record.setdefault(pair.cle, []).append((found, pair.offre))
    best: list[tuple[str, int, Ressemblance]] = []
    near: list[dict] = []

    def near_miss(cle: str, offre: int, found: Ressemblance, why: str) -> None:
        near.append({"cle": cle, "offre": offre, "score": found.score,
                     "raison": f"rapprochement manqué : {found.raison()} ({why})"})

    for cle, scored in by_record.items():
        # The score is capped at 1: between two capped offers, the closer name decides.
        scored.sort(key=lambda item: (-item[0].score, -item[0].nom))
        mergeable = [(r, o) for r, o in scored if r.score >= thresholds.fusion and r.fusionnable]
        ambiguous = len(mergeable) > 1 and (
            mergeable[0][0].score - mergeable[1][0].score < AMBIGUITY
            and mergeable[0][0].nom - mergeable[1][0].nom < AMBIGUITY)
        if mergeable and not ambiguous:
            best.append((cle, mergeable[0][1], mergeable[0][0]))
        for found, offre in scored:
            if (mergeable and not ambiguous and offre == mergeable[0][1]) or not found.proposable \
                    or found.score < thresholds.quasi:
                continue
            if ambiguous and found.fusionnable and found.score >= thresholds.fusion:
                why = "deux offres aussi proches, à départager"
            elif found.score >= thresholds.fusion:
                why = "preuves insuffisantes pour fusionner"
            else:
                why = f"sous le seuil {thresholds.fusion:.2f}"
            near_miss(cle, offre, found, why)
    taken: set[int] = set()
    fuzzy = []
    for cle, offre, found in sorted(best, key=lambda item: -item[2].score):
        if offre in taken:
            near_miss(cle, offre, found, "offre déjà rejointe par une autre ligne de ce fichier")
            continue
        taken.add(offre)
        fuzzy.append({"cle": cle, "offre": offre, "score": found.score,
                      "raison": f"noms et lieux proches : {found.raison()}"})
    return fuzzy, near


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
