"""Quality of the published base, for the people who run it: coverage, precision, merges."""

from __future__ import annotations

from sqlalchemy import Connection, text

from cartographie.score import SCORE, missing, parts_columns

LOW_SCORE = 50  # below this, an offer lacks what a person needs, or nobody confirmed it


def scores(connection: Connection, code_region: str | None = None) -> dict[str, list[tuple]]:
    """Quality scores per card and per région: mean, offers below ``LOW_SCORE``, lowest.

    With ``code_region``, that région's offers only (the Espace ARS).
    """
    params = {"region": code_region, "bas": LOW_SCORE}
    scope = "o.statut = 'publiee' AND (CAST(:region AS text) IS NULL OR o.code_region = :region)"
    scored = f"SELECT o.id, o.code_region, {SCORE} AS score FROM offre o WHERE {scope}"

    def rows(sql: str) -> list[tuple]:
        return [tuple(r) for r in connection.execute(text(sql), params)]

    return {
        "score_par_carte": rows(f"""
            SELECT c.nom, count(DISTINCT s.id), round(avg(s.score)),
                   count(DISTINCT s.id) FILTER (WHERE s.score < :bas)
            FROM ({scored}) s JOIN carte_offre m ON m.offre_id = s.id
            JOIN carte c ON c.slug = m.carte_slug
            GROUP BY c.nom, c.ordre ORDER BY c.ordre
        """),
        "score_par_region": rows(f"""
            SELECT coalesce(r.nom, 'sans région'), count(*), round(avg(s.score)),
                   count(*) FILTER (WHERE s.score < :bas)
            FROM ({scored}) s LEFT JOIN region r ON r.code = s.code_region
            GROUP BY 1 ORDER BY 3, 1
        """),
    }


def lowest(connection: Connection, code_region: str, limit: int = 20) -> list[dict]:
    """The région's published offers with the lowest scores, with what each lacks: where an
    ARS's time helps most. ARS-contributed offers first among equal scores: the ARS owns them."""
    rows = connection.execute(text(f"""
        SELECT o.id, o.nom, k.nom AS commune, o.origine, {SCORE}::int AS score, {parts_columns()}
        FROM offre o LEFT JOIN commune k ON k.code = o.code_commune
        WHERE o.statut = 'publiee' AND o.code_region = :region
        ORDER BY 5, o.origine = 'ars' DESC, o.id LIMIT :limit
    """), {"region": code_region, "limit": limit}).mappings()
    return [dict(row) | {"manque": missing(row)} for row in rows]


def report(connection: Connection) -> dict[str, list[tuple]]:
    """Offers per card and per région, positional precision, merges, conflicts, orphans."""
    def rows(sql: str) -> list[tuple]:
        return [tuple(r) for r in connection.execute(text(sql))]

    return {
        "par_carte": rows("""
            SELECT c.nom, count(DISTINCT jo.offre_id) FILTER (WHERE o.statut = 'publiee')
            FROM carte c
            LEFT JOIN jeu j ON j.carte_slug = c.slug
            LEFT JOIN jeu_offre jo ON jo.jeu_slug = j.slug
            LEFT JOIN offre o ON o.id = jo.offre_id
            GROUP BY c.nom, c.ordre ORDER BY c.ordre
        """),
        "par_region": rows("""
            SELECT coalesce(r.nom, 'sans région'), count(*)
            FROM offre o LEFT JOIN region r ON r.code = o.code_region
            WHERE o.statut = 'publiee' GROUP BY 1 ORDER BY 2 DESC
        """),
        "precision": rows("""
            SELECT coalesce(precision_geo, 'à distance'), count(*),
                   round(100.0 * count(*) / sum(count(*)) OVER (), 1)
            FROM offre WHERE statut = 'publiee' GROUP BY 1 ORDER BY 2 DESC
        """),
        "fusions": rows("""
            SELECT decision, source, count(*) FROM decision_fusion
            GROUP BY decision, source ORDER BY decision, source
        """),
        "conflits": rows("""
            SELECT count(*) FROM (
                SELECT o.id FROM offre o
                JOIN offre_source os ON os.offre_id = o.id AND os.actif
                JOIN source_record r ON r.id = os.source_record_id
                GROUP BY o.id
                HAVING count(DISTINCT upper(unaccent(r.normalise->>'nom'))) > 1) named
        """),
        "sans_carte": rows("""
            SELECT coalesce(o.attributs->>'categorie_finess', o.attributs->>'type_offre_ror',
                            'autre'), count(*)
            FROM offre o
            WHERE o.statut = 'publiee'
              AND NOT EXISTS (SELECT 1 FROM jeu_offre jo WHERE jo.offre_id = o.id)
            GROUP BY 1 ORDER BY 2 DESC
        """),
    }
