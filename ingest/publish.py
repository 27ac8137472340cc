"""Publishing one run's staged records, set-based, inside the run's single transaction.

What it guarantees: a record seen again unchanged changes nothing; a record that describes
an offer already known from another source joins it (``ingest.merge``); each field of an
offer comes from the highest-ranked source that gives it (ARS > ROR > FINESS > national
lists; the geometry from the most precise position), each change written to the history;
a record gone from a complete file is retired, and so is an offer left with no active source
(kept, hidden, dated — never deleted); a record that comes back brings its offer back.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, text

from cartographie.settings import get_settings
from cartographie.territoires import fill_territory_codes
from ingest import merge

# Offer fields taken by precedence; who gave each one is recorded in offre.provenance.
TEXT_FIELDS = ("nom", "nom_source", "description", "adresse", "code_postal", "horaires",
               "reservation_url", "site_web")
JSON_FIELDS = ("contacts", "accessibilite")
ARRAY_FIELDS = ("modalites", "zone_codes")
SCALAR_FIELDS = ("gratuit", "age_min", "age_max")
OWNED_FIELDS = TEXT_FIELDS + JSON_FIELDS + ARRAY_FIELDS + SCALAR_FIELDS + ("geom",)
SOURCE_RANK = {"ars": 4, "ror": 3, "finess": 2, "vaccination": 1}
PRECISION_RANK = {"adresse": 4, "voie": 3, "etablissement": 2, "commune": 1}

# A complete file does not lose a fifth of its establishments overnight: more than this
# looks like a partial or truncated file, and retiring would hide real offers.
RETIREMENT_GUARD_RATIO = 0.2
RETIREMENT_GUARD_MIN = 50
RETIRED_BECAUSE_GONE = "disparue de toutes ses sources"


class UnsafeRun(Exception):
    """Publishing would do more harm than a partial file justifies; nothing is published."""


@dataclass(frozen=True)
class NewOffers:
    """How offers first seen in a run are created: a national source publishes them at once;
    an ARS's offers start as drafts of its région, published by a moderator.

    ``region`` also bounds what the contribution touches: it matches only that région's
    offers, and moves an existing offer only within the région and, for a national offer,
    only within ``contributions_deplacement_max_m`` (``pin_places``).
    """

    statut: str = "publiee"
    origine: str = "national"
    region: str | None = None


def _rank(expression: str, ranks: dict[str, int]) -> str:
    cases = " ".join(f"WHEN '{name}' THEN {rank}" for name, rank in ranks.items())
    return f"(CASE {expression} {cases} ELSE 0 END)"


def _present(field: str) -> str:
    """SQL: the staged record gives a value for ``field``."""
    if field in TEXT_FIELDS:
        return f"coalesce(n.{field}, '') <> ''"
    if field in JSON_FIELDS:
        return f"n.{field}::text NOT IN ('[]', '{{}}')"
    if field in ARRAY_FIELDS:
        return f"cardinality(n.{field}) > 0"
    return f"n.{field} IS NOT NULL"


def _taken_fields_sql() -> str:
    """Which fields each record takes on its offer: all for a new offer, else by precedence."""
    source_rank = _rank("CAST(:source AS text)", SOURCE_RANK)
    tests = []
    for field in OWNED_FIELDS:
        owner = f"o.provenance->>'{field}'"
        wins = f"{_rank(owner, SOURCE_RANK)} <= {source_rank}"
        if field == "geom":
            # The most precise position wins, except over a position an ARS placed by hand.
            wins = (f"({owner} IS DISTINCT FROM 'ars' OR :source = 'ars') AND "
                    f"({_rank('n.precision_geo', PRECISION_RANK)} > "
                    f"{_rank('o.precision_geo', PRECISION_RANK)} OR "
                    f"({_rank('n.precision_geo', PRECISION_RANK)} = "
                    f"{_rank('o.precision_geo', PRECISION_RANK)} AND {wins}))")
        kept = " AND n.lieu_garde IS NULL" if field == "geom" else ""
        tests.append(f"('{field}', ({_present(field)} OR {owner} = :source) AND "
                     f"({owner} = :source OR {owner} IS NULL OR {wins}){kept})")
    return f"""
        UPDATE nouvelles_valeurs n SET prend = coalesce((
            SELECT jsonb_agg(f.champ) FROM (VALUES {", ".join(tests)}) AS f(champ, prend)
            WHERE f.prend), '[]')
        FROM offre o WHERE o.id = n.offre_id AND (n.offre_existante IS NOT NULL OR n.fusion)
    """


def _new_values_sql() -> str:
    """The offer values each changed record asks for, one row per record."""
    texts = ",\n".join(f"i.champs->>'{f}' AS {f}" for f in TEXT_FIELDS)
    jsons = ",\n".join(f"coalesce(i.champs->'{f}', '{default}'::jsonb) AS {f}"
                       for f, default in zip(JSON_FIELDS, ("[]", "{}"), strict=True))
    arrays = ",\n".join(
        f"ARRAY(SELECT jsonb_array_elements_text(coalesce(i.champs->'{f}', '[]'))) AS {f}"
        for f in ARRAY_FIELDS
    )
    return f"""
        CREATE TEMP TABLE nouvelles_valeurs ON COMMIT DROP AS
        SELECT i.cle, r.id AS source_record_id, os.offre_id AS offre_existante,
               coalesce(os.offre_id, nextval(pg_get_serial_sequence('offre', 'id'))) AS offre_id,
               false AS fusion, NULL::jsonb AS prend,
               (i.champs->>'offre_corrigee')::bigint AS offre_corrigee,
               st.id AS structure_id,
               {texts},
               {jsons},
               {arrays},
               coalesce(i.champs->'attributs', '{{}}'::jsonb) AS attributs,
               (i.champs->>'gratuit')::boolean AS gratuit,
               (i.champs->>'age_min')::smallint AS age_min,
               (i.champs->>'age_max')::smallint AS age_max,
               coalesce(i.geom, place.centre) AS geom,
               CASE WHEN i.geom IS NOT NULL THEN i.champs->>'precision_geo' ELSE 'commune' END
                   AS precision_geo,
               CASE WHEN i.geom IS NOT NULL THEN i.champs->>'code_commune' ELSE place.code END
                   AS code_commune,
               NULL::text AS code_departement, NULL::text AS code_region,
               NULL::text AS lieu_garde
        FROM changed c
        JOIN incoming i ON i.cle = c.cle
        JOIN source_record r ON r.source = :source AND r.cle = i.cle
        LEFT JOIN offre_source os ON os.source = :source AND os.cle = i.cle
        LEFT JOIN structure st ON st.finess_et = i.champs->'structure'->>'finess_et'
        LEFT JOIN LATERAL (
            -- No coordinates: the commune it names, else the postcode's best-matching commune.
            SELECT k.code, k.centre FROM commune k
            WHERE i.geom IS NULL AND (
                k.code = i.champs->>'code_commune'
                OR k.codes_postaux @> ARRAY[i.champs->>'code_postal'])
            ORDER BY k.code = i.champs->>'code_commune' DESC,
                     upper(unaccent(k.nom)) = upper(unaccent(coalesce(i.champs->>'ville', '')))
                         DESC,
                     k.population DESC NULLS LAST
            LIMIT 1
        ) place ON true
        -- new ids in record order, whatever the plan (nextval runs after the sort): the same
        -- file gives the same ids, and ties in the merge break the same way
        ORDER BY i.cle;
        CREATE INDEX ON nouvelles_valeurs (offre_id);
        CREATE INDEX ON nouvelles_valeurs (cle);
    """


def _history_sql() -> str:
    pairs = ",\n".join(
        f"('{f}', to_jsonb(o.{f}), to_jsonb(n.{f}))" for f in OWNED_FIELDS if f != "geom"
    )
    return f"""
        INSERT INTO historique (offre_id, champ, ancienne_valeur, nouvelle_valeur, source, run_id)
        SELECT o.id, f.champ, f.avant, f.apres, :source, :run
        FROM nouvelles_valeurs n
        JOIN offre o ON o.id = n.offre_id
        CROSS JOIN LATERAL (VALUES
            {pairs},
            ('geom', to_jsonb(ST_AsText(o.geom)), to_jsonb(ST_AsText(n.geom)))
        ) AS f(champ, avant, apres)
        WHERE n.prend ? f.champ AND f.avant IS DISTINCT FROM f.apres
    """


def _update_sql() -> str:
    assignments = ",\n".join(
        f"{f} = CASE WHEN n.prend ? '{f}' THEN n.{f} ELSE o.{f} END" for f in OWNED_FIELDS
    )
    geometry_follows = ",\n".join(
        f"{f} = CASE WHEN n.prend ? 'geom' THEN n.{f} ELSE o.{f} END"
        for f in ("precision_geo", "code_commune", "code_departement", "code_region")
    )
    return f"""
        UPDATE offre o SET
            {assignments},
            {geometry_follows},
            attributs = o.attributs || n.attributs,
            provenance = o.provenance || coalesce((
                SELECT jsonb_object_agg(champ, CAST(:source AS text))
                FROM jsonb_array_elements_text(n.prend) AS champ), '{{}}'),
            structure_id = coalesce(o.structure_id, n.structure_id),
            statut = CASE WHEN o.motif_retrait = '{RETIRED_BECAUSE_GONE}' THEN 'publiee'
                          ELSE o.statut END,
            retiree_le = CASE WHEN o.motif_retrait = '{RETIRED_BECAUSE_GONE}' THEN NULL
                              ELSE o.retiree_le END,
            motif_retrait = CASE WHEN o.motif_retrait = '{RETIRED_BECAUSE_GONE}' THEN NULL
                                 ELSE o.motif_retrait END,
            maj_le = now()
        FROM nouvelles_valeurs n
        WHERE o.id = n.offre_id AND (n.offre_existante IS NOT NULL OR n.fusion)
    """


def _insert_sql() -> str:
    columns = ", ".join(OWNED_FIELDS)
    return f"""
        INSERT INTO offre (id, structure_id, {columns}, attributs, precision_geo, code_commune,
                           code_departement, code_region, region_contributrice, statut, origine,
                           mode, provenance)
        SELECT offre_id, structure_id, {columns}, attributs, precision_geo, code_commune,
               code_departement, code_region, :region, :statut, :origine, 'sur_place',
               CAST(:provenance AS jsonb)
        FROM nouvelles_valeurs WHERE offre_existante IS NULL AND NOT fusion
    """


# A contribution's new place for an existing offer that it may not take, and why (French,
# shown in the row's report): never into another région; a national offer only a short way.
PIN_PLACES_SQL = """
    UPDATE nouvelles_valeurs n SET lieu_garde = CASE
        WHEN n.code_region IS DISTINCT FROM o.code_region THEN
            'lieu non modifié : le lieu donné est hors de la région de l''offre ' || o.id
        ELSE format('lieu non modifié : le lieu donné est à %s m de celui de l''offre nationale '
                    '%s, une contribution ARS la déplace d''au plus %s m (signalez une erreur '
                    'de position plus grande à la source nationale)',
                    round(ST_Distance(o.geom::geography, n.geom::geography)), o.id,
                    round(CAST(:max_m AS numeric)))
        END
    FROM offre o
    WHERE o.id = n.offre_id AND (n.offre_existante IS NOT NULL OR n.fusion)
      AND n.geom IS NOT NULL AND o.geom IS NOT NULL
      AND (n.code_region IS DISTINCT FROM o.code_region
           OR (o.origine = 'national'
               AND NOT ST_DWithin(o.geom::geography, n.geom::geography, :max_m)))
"""


def publish(connection: Connection, source: str, run_id: int, data_dir: Path, *,
            accept_retirements: bool = False, complete: bool = True,
            new_offers: NewOffers = NewOffers()) -> dict[str, int]:
    """Publish the session's ``staging`` table for ``source``; returns the run's counts.

    ``complete``: the staged records are the whole source, so records missing from it are
    retired; an ARS import only adds or changes rows (``complete=False``). A staged record
    whose ``champs`` name an ``offre_corrigee`` attaches to that offer (an ARS correction of
    a national offer) instead of being matched.
    """
    params = {"source": source, "run": run_id, "complete": complete}

    def execute(sql: str, **extra):
        """Run one or more statements (parameters cannot go with a multi-statement string)."""
        result = None
        for statement in re.split(r";\s*\n", sql):
            if statement.strip():
                result = connection.execute(text(statement), {**params, **extra})
        return result

    execute("""
        CREATE TEMP TABLE incoming ON COMMIT DROP AS
        SELECT cle, brut, champs,
               md5(champs::text || '|' || coalesce(lon::text, '') || ',' || coalesce(lat::text, ''))
                   AS empreinte,
               CASE WHEN lon IS NOT NULL AND lat IS NOT NULL
                    THEN ST_SetSRID(ST_MakePoint(lon, lat), 4326) END AS geom
        FROM staging;
        CREATE UNIQUE INDEX ON incoming (cle);
        ANALYZE incoming;
    """)
    missing, active = execute("""
        SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM incoming i WHERE i.cle = r.cle)),
               count(*)
        FROM source_record r WHERE r.source = :source AND r.retire_le IS NULL
    """).one()
    if (complete and not accept_retirements and missing >= RETIREMENT_GUARD_MIN
            and missing > RETIREMENT_GUARD_RATIO * active):
        raise UnsafeRun(
            f"{missing} enregistrement(s) sur {active} disparaîtraient de la source « {source} » "
            f"({100 * missing / active:.0f} %) : le fichier semble partiel. Rien n'a été publié ; "
            "si ces disparitions sont réelles, relancez avec --accepter-retraits."
        )

    execute("""
        CREATE TEMP TABLE changed (id bigint, cle text, inserted boolean) ON COMMIT DROP;
        WITH upserted AS (
            INSERT INTO source_record AS r (source, cle, premier_run_id, dernier_run_id,
                                            empreinte, brut, normalise, geom)
            SELECT :source, cle, :run, :run, empreinte, brut, champs, geom FROM incoming
            ON CONFLICT (source, cle) DO UPDATE SET
                dernier_run_id = excluded.dernier_run_id, vu_le = now(),
                empreinte = excluded.empreinte, brut = excluded.brut,
                normalise = excluded.normalise, geom = excluded.geom, retire_le = NULL
            WHERE r.empreinte IS DISTINCT FROM excluded.empreinte OR r.retire_le IS NOT NULL
            RETURNING r.id, r.cle, (xmax = 0) AS inserted)
        INSERT INTO changed SELECT id, cle, inserted FROM upserted;
        CREATE INDEX ON changed (cle);
        UPDATE source_record r SET dernier_run_id = :run, vu_le = now()
        FROM incoming i WHERE r.source = :source AND r.cle = i.cle AND r.dernier_run_id <> :run;
        UPDATE offre_source os SET dernier_run_id = :run, derniere_vue = now(), actif = true
        FROM incoming i WHERE os.source = :source AND os.cle = i.cle;
    """)
    execute("""
        CREATE TEMP TABLE offres_sans_ce_record (offre_id bigint) ON COMMIT DROP;
        WITH gone AS (
            UPDATE source_record r SET retire_le = now()
            WHERE :complete AND r.source = :source AND r.retire_le IS NULL
              AND NOT EXISTS (SELECT 1 FROM incoming i WHERE i.cle = r.cle)
            RETURNING r.cle),
        deactivated AS (
            UPDATE offre_source os SET actif = false
            FROM gone WHERE os.source = :source AND os.cle = gone.cle
            RETURNING os.offre_id)
        INSERT INTO offres_sans_ce_record SELECT offre_id FROM deactivated
    """)
    retired = execute("""  -- now() is the transaction's time: retired by this run
        SELECT count(*) FROM source_record WHERE source = :source AND retire_le = now()
    """).scalar_one()

    execute("""
        INSERT INTO structure AS s (nom, nom_long, finess_et, finess_ej, siret, categorie_finess,
                                    categorie_finess_libelle, adresse, code_postal, code_commune,
                                    telephone)
        SELECT DISTINCT ON (st->>'finess_et')  -- one establishment, several offers (ROR)
               st->>'nom', st->>'nom_long', st->>'finess_et', st->>'finess_ej', st->>'siret',
               st->>'categorie_finess', st->>'categorie_finess_libelle', i.champs->>'adresse',
               i.champs->>'code_postal', i.champs->>'code_commune', i.champs->>'telephone'
        FROM changed c JOIN incoming i ON i.cle = c.cle
        CROSS JOIN LATERAL (SELECT i.champs->'structure' AS st) x
        WHERE st->>'finess_et' IS NOT NULL
        ORDER BY st->>'finess_et', i.cle
        ON CONFLICT (finess_et) DO UPDATE SET
            -- a source that does not know a field leaves what another source said
            nom = coalesce(excluded.nom, s.nom), nom_long = coalesce(excluded.nom_long, s.nom_long),
            finess_ej = coalesce(excluded.finess_ej, s.finess_ej),
            siret = coalesce(excluded.siret, s.siret),
            categorie_finess = coalesce(excluded.categorie_finess, s.categorie_finess),
            categorie_finess_libelle = coalesce(excluded.categorie_finess_libelle,
                                                s.categorie_finess_libelle),
            adresse = coalesce(excluded.adresse, s.adresse),
            code_postal = coalesce(excluded.code_postal, s.code_postal),
            code_commune = coalesce(excluded.code_commune, s.code_commune),
            telephone = coalesce(excluded.telephone, s.telephone), maj_le = now()
    """)
    execute(_new_values_sql())
    execute("""
        UPDATE nouvelles_valeurs SET offre_id = offre_corrigee, fusion = true
        WHERE offre_existante IS NULL AND offre_corrigee IS NOT NULL
    """)
    fill_territory_codes(connection, table="nouvelles_valeurs", key="offre_id")
    settings = get_settings()
    merges = merge.attach(
        connection, source, run_id, data_dir / "fusion" / "equivalences.csv",
        merge.Thresholds(settings.fusion_distance_m, settings.fusion_seuil,
                         settings.fusion_seuil_quasi),
        region=new_offers.region,
    )
    if new_offers.region:
        execute(PIN_PLACES_SQL, max_m=settings.contributions_deplacement_max_m)
    execute(_taken_fields_sql())
    execute(_history_sql())
    execute(_update_sql())
    execute(_insert_sql(), provenance=json.dumps({field: source for field in OWNED_FIELDS}),
            statut=new_offers.statut, origine=new_offers.origine, region=new_offers.region)
    execute("""
        INSERT INTO offre_source (offre_id, source_record_id, source, cle, premier_run_id,
                                  dernier_run_id, score, raison)
        SELECT n.offre_id, n.source_record_id, :source, n.cle, :run, :run, d.score,
               coalesce(d.raison, 'identifiant de la source')
        FROM nouvelles_valeurs n
        LEFT JOIN decision_fusion d ON d.run_id = :run AND d.source = :source
             AND d.cle = n.cle AND d.decision = 'fusion'
        WHERE n.offre_existante IS NULL
    """)
    # Kinds of offer: the union of what every active source of the offer says. The sources
    # are read per touched offer (LATERAL, by index): as a plain join on the statistics of
    # a fresh base, PostgreSQL expanded the types of every record of the country (11 s).
    execute("""
        CREATE TEMP TABLE offres_touchees ON COMMIT DROP AS
        SELECT offre_id FROM nouvelles_valeurs UNION SELECT offre_id FROM offres_sans_ce_record;
        DELETE FROM offre_type_offre ot USING offres_touchees t WHERE ot.offre_id = t.offre_id;
        INSERT INTO offre_type_offre (offre_id, type_offre_slug)
        SELECT DISTINCT t.offre_id, k.slug
        FROM offres_touchees t
        CROSS JOIN LATERAL (
            SELECT jsonb_array_elements_text(coalesce(r.normalise->'types_offre', '[]')) AS slug
            FROM offre_source os JOIN source_record r ON r.id = os.source_record_id
            WHERE os.offre_id = t.offre_id AND os.actif) k
        ON CONFLICT DO NOTHING;
    """)
    execute(f"""
        UPDATE offre o SET statut = 'retiree', retiree_le = now(),
                           motif_retrait = '{RETIRED_BECAUSE_GONE}', maj_le = now()
        WHERE o.statut <> 'retiree' AND o.origine = 'national'
          AND EXISTS (SELECT 1 FROM offre_source os WHERE os.offre_id = o.id)
          AND NOT EXISTS (SELECT 1 FROM offre_source os WHERE os.offre_id = o.id AND os.actif)
    """)
    staged, new_records, changed_existing = execute("""
        SELECT (SELECT count(*) FROM incoming),
               count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
        FROM changed
    """).one()
    return {
        "inseres": new_records,
        "mis_a_jour": changed_existing,
        "inchanges": staged - new_records - changed_existing,
        "retires": retired,
        "fusions": merges["fusions"],
        "quasi": merges["quasi"],
    }
