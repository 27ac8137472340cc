"""Jeux d'offres: declarative sets of offers that fill the cards (``data/jeux/*.yaml``).

A jeu belongs to one card. It keeps the offers matched by any of its rules (a rule is an AND
of criteria on normalised attributes), minus those matched by its ``sauf`` rules, plus the
offers listed in ``inclure``, minus those in ``exclure``. Every membership records why: the
rule's name, or « manuel ». Rules compile to one SQL statement each: recomputing all jeux
is a handful of set-based queries, run after each ingestion and each edit.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from cartographie.taxonomy import CARTES
from cartographie.yamlsource import SourceError, line_of, read_yaml

NAMES = "unaccent(lower(' ' || o.nom || ' ' || coalesce(o.nom_source, '') || ' '))"
# criterion → (SQL over the offer « o », kind of value). Values are always bound parameters.
CRITERIA: dict[str, tuple[str, str]] = {
    "source": ("EXISTS (SELECT 1 FROM offre_source s WHERE s.offre_id = o.id AND s.actif "
               "AND s.source = ANY(:{p}))", "liste"),
    "categorie_finess": ("o.attributs->>'categorie_finess' = ANY(:{p})", "liste"),
    "type_offre_ror": ("o.attributs->>'type_offre_ror' = ANY(:{p})", "liste"),
    "activite_ror": ("o.attributs->'activites' ?| :{p}", "liste"),
    "mode_prise_en_charge_ror": ("o.attributs->'modes_prise_en_charge' ?| :{p}", "liste"),
    "public_ror": ("o.attributs->'publics' ?| :{p}", "liste"),
    "type_offre": ("EXISTS (SELECT 1 FROM offre_type_offre t WHERE t.offre_id = o.id "
                   "AND t.type_offre_slug = ANY(:{p}))", "liste"),
    # Names are matched on the display name and the source's spelling, space-delimited so
    # that « dent » can be asked as a word (« CDS DENT. LYON ») without matching « président ».
    "nom_contient": (f"{NAMES} LIKE ANY(:{{p}})", "motifs"),
    "nom_ne_contient_pas": (f"NOT {NAMES} LIKE ANY(:{{p}})", "motifs"),
    "mots_cles": ("o.recherche @@ websearch_to_tsquery('cartographie_fr', :{p})", "texte"),
    "age_max_au_plus": ("o.age_max <= :{p}", "entier"),
    "age_min_au_moins": ("o.age_min >= :{p}", "entier"),
    "carte_declaree": ("o.attributs->'cartes' ?| :{p}", "liste"),
}
RULE_KEYS = {"nom", *CRITERIA}


@dataclass
class Rule:
    nom: str
    criteres: dict[str, Any]
    ligne: int


@dataclass
class JeuDef:
    slug: str
    carte: str
    nom: str
    description: str
    regles: list[Rule]
    sauf: list[Rule] = field(default_factory=list)
    inclure: list[int] = field(default_factory=list)
    exclure: list[int] = field(default_factory=list)
    besoins: list[str] = field(default_factory=list)
    fichier: str = ""
    age_min: int | None = None
    age_max: int | None = None
    publics: list[str] = field(default_factory=list)
    revision_jours: int | None = None  # None: the card's review period


def _rule(entry: Any, where: str, problems: list[str]) -> Rule | None:
    if not isinstance(entry, dict):
        problems.append(f"{where} : une règle est un dictionnaire de critères")
        return None
    location = f"{where.rsplit(':', 1)[0]}:{line_of(entry)}"
    unknown = sorted(set(entry) - RULE_KEYS)
    if unknown:
        problems.append(f"{location} : attribut inconnu « {unknown[0]} » (connus : "
                        f"{', '.join(sorted(CRITERIA))})")
        return None
    criteria = {k: v for k, v in entry.items() if k != "nom"}
    if not criteria:
        problems.append(f"{location} : une règle a au moins un critère")
        return None
    for key, value in criteria.items():
        kind = CRITERIA[key][1]
        ok = (
            (kind in ("liste", "motifs") and isinstance(value, list) and value
             and all(isinstance(v, str | int) for v in value))
            or (kind == "texte" and isinstance(value, str) and value.strip())
            or (kind == "entier" and isinstance(value, int) and not isinstance(value, bool))
        )
        if not ok:
            expected = {"liste": "une liste de codes", "motifs": "une liste de textes",
                        "texte": "un texte", "entier": "un nombre entier"}[kind]
            problems.append(f"{location} : « {key} » attend {expected}")
            return None
    return Rule(str(entry.get("nom") or ", ".join(criteria)), criteria, line_of(entry))


PUBLIC_KEYS = {"age_min", "age_max", "publics"}
MAX_REVIEW_DAYS = 3650  # « revision_jours » of a jeu: its offers are « à revoir » after it


def _public(entry: Any, where: str, problems: list[str]) -> dict[str, Any]:
    """The « public: » of a jeu: whom its offers serve (ages inclusive, reserved publics)."""
    if entry is None:
        return {}
    if not isinstance(entry, dict) or set(entry) - PUBLIC_KEYS:
        problems.append(f"{where} : « public » attend age_min, age_max et/ou publics")
        return {}
    bounds = [entry.get("age_min"), entry.get("age_max")]
    if any(b is not None and (not isinstance(b, int) or isinstance(b, bool) or not 0 <= b <= 120)
           for b in bounds):
        problems.append(f"{where} : un âge du public est un nombre entier de 0 à 120")
        return {}
    if None not in bounds and bounds[0] > bounds[1]:
        problems.append(f"{where} : public : age_min ({bounds[0]}) dépasse age_max ({bounds[1]})")
        return {}
    publics = entry.get("publics") or []
    if not isinstance(publics, list) or not all(isinstance(p, str) for p in publics):
        problems.append(f"{where} : « publics » attend une liste de textes")
        return {}
    return {"age_min": bounds[0], "age_max": bounds[1], "publics": [str(p) for p in publics]}


def read_jeux(folder: Path, besoins_by_card: dict[str, set[str]] | None = None) -> list[JeuDef]:
    """Read and check every definition; ``SourceError`` lists each problem with file:line."""
    problems: list[str] = []
    jeux: list[JeuDef] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        document = read_yaml(path)
        if not isinstance(document, dict):
            problems.append(f"{path}:1 : le fichier doit contenir « carte: » et « jeux: »")
            continue
        card = document.get("carte")
        if card not in CARTES:
            problems.append(f"{path}:{line_of(card, line_of(document))} : carte inconnue "
                            f"« {card} » (attendues : {', '.join(CARTES)})")
            continue
        entries = document.get("jeux")
        if not isinstance(entries, list) or not entries:
            problems.append(f"{path}:{line_of(document)} : une liste « jeux: » est attendue")
            continue
        for entry in entries:
            where = f"{path}:{line_of(entry)}"
            if not isinstance(entry, dict) or not entry.get("slug") or not entry.get("nom"):
                problems.append(f"{where} : un jeu a au moins « slug » et « nom »")
                continue
            slug = entry["slug"]
            if slug in seen:
                problems.append(f"{where} : jeu « {slug} » en double (déjà en {seen[slug]})")
                continue
            seen[slug] = where
            rules = [r for e in entry.get("regles") or [] if (r := _rule(e, where, problems))]
            excepts = [r for e in entry.get("sauf") or [] if (r := _rule(e, where, problems))]
            if not rules and not entry.get("inclure"):
                problems.append(f"{where} : le jeu « {slug} » n'a ni règle ni offre incluse")
            besoins = list(entry.get("besoins") or [])
            if besoins_by_card is not None:
                for besoin in besoins:
                    if besoin not in besoins_by_card.get(card, set()):
                        problems.append(f"{path}:{line_of(besoin)} : besoin « {besoin} » "
                                        f"inconnu sur la carte « {card} »")
            public = _public(entry.get("public"), where, problems)
            revision = entry.get("revision_jours")
            if revision is not None and (isinstance(revision, bool)
                                         or not isinstance(revision, int)
                                         or not 1 <= revision <= MAX_REVIEW_DAYS):
                problems.append(f"{where} : « revision_jours » attend un nombre de jours entier "
                                f"de 1 à {MAX_REVIEW_DAYS}")
                revision = None
            jeux.append(JeuDef(
                slug=slug, carte=card, nom=entry["nom"], description=entry.get("description")
                or "", regles=rules, sauf=excepts, inclure=list(entry.get("inclure") or []),
                exclure=list(entry.get("exclure") or []), besoins=besoins, fichier=str(path),
                revision_jours=revision, **public,
            ))
    covered = {jeu.carte for jeu in jeux}
    for card in CARTES:
        if card not in covered:
            problems.append(f"{folder}:1 : la carte « {card} » n'a aucun jeu d'offres")
    if problems:
        raise SourceError(problems)
    return jeux


def without_accents(value: str) -> str:
    """« pédo » → « pedo », as PostgreSQL's unaccent does on the other side."""
    return "".join(c for c in unicodedata.normalize("NFD", value)
                   if unicodedata.category(c) != "Mn")


def compile_rule(rule: Rule, prefix: str) -> tuple[str, dict[str, Any]]:
    """One rule as a SQL condition on ``o`` with its bound parameters (never inlined)."""
    clauses, params = [], {}
    for index, (key, value) in enumerate(sorted(rule.criteres.items())):
        name = f"{prefix}_{index}"
        sql, kind = CRITERIA[key]
        clauses.append(sql.format(p=name))
        if kind == "liste":
            params[name] = [str(v) for v in value]
        elif kind == "motifs":
            params[name] = [f"%{without_accents(str(v).lower())}%" for v in value]
        else:
            params[name] = value
    return " AND ".join(f"({c})" for c in clauses), params


def save_definitions(connection: Connection, jeux: list[JeuDef]) -> None:
    """The jeux and their links to needs, as defined in the files (idempotent)."""
    slugs = [jeu.slug for jeu in jeux]
    connection.execute(text("DELETE FROM besoin_jeu"))
    connection.execute(text("DELETE FROM jeu WHERE NOT (slug = ANY(:slugs))"), {"slugs": slugs})
    for order, jeu in enumerate(jeux):
        definition = {"regles": [r.criteres | {"nom": r.nom} for r in jeu.regles],
                      "sauf": [r.criteres | {"nom": r.nom} for r in jeu.sauf],
                      "inclure": jeu.inclure, "exclure": jeu.exclure}
        connection.execute(text("""
            INSERT INTO jeu (slug, carte_slug, nom, description, definition, ordre,
                             age_min, age_max, publics, revision_jours)
            VALUES (:slug, :carte, :nom, :description, CAST(:definition AS jsonb), :ordre,
                    :age_min, :age_max, :publics, :revision_jours)
            ON CONFLICT (slug) DO UPDATE SET carte_slug = excluded.carte_slug,
                nom = excluded.nom, description = excluded.description,
                definition = excluded.definition, ordre = excluded.ordre,
                age_min = excluded.age_min, age_max = excluded.age_max,
                publics = excluded.publics, revision_jours = excluded.revision_jours
        """), {"slug": jeu.slug, "carte": jeu.carte, "nom": jeu.nom,
               "description": jeu.description, "definition": json.dumps(definition),
               "ordre": order, "age_min": jeu.age_min, "age_max": jeu.age_max,
               "publics": jeu.publics, "revision_jours": jeu.revision_jours})
        for besoin in jeu.besoins:
            connection.execute(text("""
                INSERT INTO besoin_jeu (besoin_slug, jeu_slug) VALUES (:besoin, :jeu)
                ON CONFLICT DO NOTHING
            """), {"besoin": besoin, "jeu": jeu.slug})


def recompute(connection: Connection, jeux: list[JeuDef]) -> dict[str, int]:
    """Rebuild every membership from the rules, set-based; returns offers per jeu.

    The memberships are computed aside, then only the difference is written: an ARS edit
    changes a handful of rows instead of rewriting every membership of the country (and the
    card rows and counts the triggers of migration 0008 derive from them).
    """
    connection.execute(text("""
        CREATE TEMP TABLE IF NOT EXISTS jeu_offre_calcul (
            jeu_slug text, offre_id bigint, raison text, regle text,
            PRIMARY KEY (jeu_slug, offre_id)) ON COMMIT DROP
    """))
    connection.execute(text("TRUNCATE jeu_offre_calcul"))
    for jeu in jeux:
        excluded = ["false"]
        params: dict[str, Any] = {"jeu": jeu.slug, "exclure": jeu.exclure}
        for index, rule in enumerate(jeu.sauf):
            condition, rule_params = compile_rule(rule, f"s{index}")
            excluded.append(f"coalesce(({condition}), false)")  # unknown age: not excluded
            params.update(rule_params)
        for index, rule in enumerate(jeu.regles):
            condition, rule_params = compile_rule(rule, f"r{index}")
            connection.execute(text(f"""
                INSERT INTO jeu_offre_calcul (jeu_slug, offre_id, raison, regle)
                SELECT :jeu, o.id, 'regle', :regle FROM offre o
                WHERE {condition} AND NOT ({' OR '.join(excluded)})
                  AND NOT (o.id = ANY(:exclure))
                ON CONFLICT DO NOTHING
            """), {**params, **rule_params, "regle": rule.nom})
        if jeu.inclure:
            connection.execute(text("""
                INSERT INTO jeu_offre_calcul (jeu_slug, offre_id, raison, regle)
                SELECT :jeu, o.id, 'manuel', 'inclusion manuelle' FROM offre o
                WHERE o.id = ANY(:inclure)
                ON CONFLICT (jeu_slug, offre_id) DO UPDATE SET raison = 'manuel',
                    regle = 'inclusion manuelle'
            """), {"jeu": jeu.slug, "inclure": jeu.inclure})
    connection.execute(text("ANALYZE jeu_offre_calcul"))
    connection.execute(text("""
        DELETE FROM jeu_offre jo WHERE NOT EXISTS (
            SELECT 1 FROM jeu_offre_calcul c
            WHERE c.jeu_slug = jo.jeu_slug AND c.offre_id = jo.offre_id)
    """))
    connection.execute(text("""
        UPDATE jeu_offre jo SET raison = c.raison, regle = c.regle FROM jeu_offre_calcul c
        WHERE c.jeu_slug = jo.jeu_slug AND c.offre_id = jo.offre_id
          AND (jo.raison, jo.regle) IS DISTINCT FROM (c.raison, c.regle)
    """))
    connection.execute(text("""
        INSERT INTO jeu_offre (jeu_slug, offre_id, raison, regle)
        SELECT jeu_slug, offre_id, raison, regle FROM jeu_offre_calcul c
        WHERE NOT EXISTS (SELECT 1 FROM jeu_offre jo
                          WHERE jo.jeu_slug = c.jeu_slug AND jo.offre_id = c.offre_id)
    """))
    # After the difference is written: the public is derived from the memberships as they are.
    recompute_public(connection)
    rows = connection.execute(text("""
        SELECT j.slug, count(jo.offre_id) FROM jeu j
        LEFT JOIN jeu_offre jo ON jo.jeu_slug = j.slug GROUP BY j.slug
    """))
    return {slug: count for slug, count in rows}


def recompute_public(connection: Connection) -> None:
    """Every offer's effective public, from its sources' ages and the publics of its jeux.

    An offer serves what its jeux serve together (the widest of their ranges; a jeu without
    bounds does not restrict), within the ages its sources declare. Each bound keeps where it
    came from, in ``public_provenance``. One statement: run after each membership rebuild.
    """
    connection.execute(text("""
        WITH par_jeu AS (
            SELECT jo.offre_id,
                   CASE WHEN bool_or(j.age_min IS NULL) THEN NULL ELSE min(j.age_min) END
                       AS age_min,
                   CASE WHEN bool_or(j.age_max IS NULL) THEN NULL ELSE max(j.age_max) END
                       AS age_max,
                   bool_or(cardinality(j.publics) = 0) AS tous_publics,
                   coalesce(jsonb_agg(jsonb_build_object(
                       'jeu', j.slug, 'age_min', j.age_min, 'age_max', j.age_max,
                       'publics', to_jsonb(j.publics)) ORDER BY j.slug)
                       FILTER (WHERE j.age_min IS NOT NULL OR j.age_max IS NOT NULL
                               OR cardinality(j.publics) > 0), '[]') AS provenance
            FROM jeu_offre jo JOIN jeu j ON j.slug = jo.jeu_slug
            GROUP BY jo.offre_id
        ), publics_reserves AS (
            SELECT jo.offre_id, array_agg(DISTINCT p ORDER BY p) AS publics
            FROM jeu_offre jo JOIN jeu j ON j.slug = jo.jeu_slug, unnest(j.publics) p
            GROUP BY jo.offre_id
        ), effectif AS (
            SELECT o.id,
                   greatest(o.age_min, pj.age_min) AS age_min,
                   least(o.age_max, pj.age_max) AS age_max,
                   CASE WHEN pj.tous_publics IS NOT false THEN '{}'::text[]
                        ELSE pr.publics END AS publics,
                   CASE WHEN o.age_min IS NULL AND o.age_max IS NULL THEN '[]'::jsonb
                        ELSE jsonb_build_array(jsonb_build_object(
                            'source', coalesce(o.provenance->>'age_min',
                                               o.provenance->>'age_max', o.origine),
                            'age_min', o.age_min, 'age_max', o.age_max))
                   END || coalesce(pj.provenance, '[]') AS provenance
            FROM offre o LEFT JOIN par_jeu pj ON pj.offre_id = o.id
            LEFT JOIN publics_reserves pr ON pr.offre_id = o.id
        )
        UPDATE offre o SET public_age_min = e.age_min, public_age_max = e.age_max,
                           public_publics = e.publics, public_provenance = e.provenance
        FROM effectif e
        WHERE e.id = o.id AND (o.public_age_min IS DISTINCT FROM e.age_min
            OR o.public_age_max IS DISTINCT FROM e.age_max
            OR o.public_publics IS DISTINCT FROM e.publics
            OR o.public_provenance IS DISTINCT FROM e.provenance)
    """))


def explain(connection: Connection, offer_id: int) -> list[tuple[str, str, str, str]]:
    """Why an offer is in each jeu: (carte, jeu, raison, règle)."""
    return [tuple(row) for row in connection.execute(text("""
        SELECT j.carte_slug, j.slug, jo.raison, coalesce(jo.regle, '')
        FROM jeu_offre jo JOIN jeu j ON j.slug = jo.jeu_slug
        WHERE jo.offre_id = :id ORDER BY j.carte_slug, j.ordre
    """), {"id": offer_id})]


def ars_jeux() -> list[JeuDef]:
    """On every card, the offers an ARS declared for it (the « cartes » of a contribution).

    Built here rather than written in each file: an ARS chooses the cards of its offers, so
    this jeu is the same rule on every card.
    """
    return [
        JeuDef(slug=f"{carte}-offres-ars", carte=carte, nom="Offres ajoutées par l'ARS",
               description="Offres locales ajoutées par l'agence régionale de santé pour "
                           "cette carte.",
               regles=[Rule("carte choisie par l'ARS", {"carte_declaree": [carte]}, 0)],
               fichier="(contributions ARS)")
        for carte in CARTES
    ]


def definitions(data_dir: Path) -> list[JeuDef]:
    """The jeux of ``data/jeux``, checked against the cards and needs of the taxonomy, then
    the ARS jeu of each card."""
    from cartographie.taxonomy import read_taxonomy

    taxonomy = read_taxonomy(data_dir / "taxonomie")
    besoins = {c.slug: {b.slug for b in c.besoins} for c in taxonomy.cartes}
    return read_jeux(data_dir / "jeux", besoins) + ars_jeux()


def refresh(connection: Connection, data_dir: Path) -> dict[str, int]:
    """Definitions to the database, then every membership recomputed: after a run or an edit."""
    jeux = definitions(data_dir)
    save_definitions(connection, jeux)
    return recompute(connection, jeux)
