"""Quality of the published base, for the people who run it: coverage, precision, merges."""

from __future__ import annotations

from sqlalchemy import Connection, text


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
