"""Memberships carry the published position; card rows, tile cells and totals follow every write.

What a user relies on: the nearest offers of a rare card are found on that card's own index
(never by walking the whole country), and the total of a card is exact right after any
write — an ARS publication, a retirement, a move, a national run (migration 0008).
"""

from __future__ import annotations

import json

from sqlalchemy import text

from cartographie import jeux, recherche
from ingest.catalog import ingest
from tests.test_jeux import DATA, DEMO_FINESS

STRASBOURG = {"lon": 7.75, "lat": 48.58}


def derived_state(connection) -> tuple[set, dict]:
    """Card rows and counts as the tables hold them, and as the memberships define them."""
    held = set(connection.execute(text("""
        SELECT carte_slug, offre_id, ST_AsText(geog::geometry) FROM carte_offre
    """)).all())
    expected = set(connection.execute(text("""
        SELECT DISTINCT j.carte_slug, jo.offre_id,
               CASE WHEN o.statut = 'publiee' AND o.mode = 'sur_place'
                    THEN ST_AsText(o.geom) END
        FROM jeu_offre jo JOIN jeu j ON j.slug = jo.jeu_slug JOIN offre o ON o.id = jo.offre_id
    """)).all())
    assert held == expected
    stale = connection.execute(text("""
        SELECT count(*) FROM jeu_offre jo JOIN offre o ON o.id = jo.offre_id
        WHERE jo.geog::geometry IS DISTINCT FROM
              CASE WHEN o.statut = 'publiee' AND o.mode = 'sur_place' THEN o.geom END
    """)).scalar_one()
    assert stale == 0
    cells = """
        SELECT couche, z, cx, cy, {nombre}, {somme_id}, round({lon}::numeric, 7),
               round({lat}::numeric, 7) FROM {source} {group}
    """
    kept = set(connection.execute(text(cells.format(
        nombre="nombre", somme_id="somme_id", lon="somme_lon", lat="somme_lat",
        source="cellule_offre WHERE nombre <> 0", group=""))).all())
    rebuilt = set(connection.execute(text(cells.format(
        nombre="count(*)", somme_id="sum(id)", lon="sum(lon)", lat="sum(lat)", source="""(
            SELECT '' AS couche, id, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM offre
            WHERE statut = 'publiee' AND mode = 'sur_place'
            UNION ALL SELECT carte_slug, offre_id, ST_X(geog::geometry), ST_Y(geog::geometry)
            FROM carte_offre WHERE geog IS NOT NULL) p, cellules_du_point(p.lon, p.lat)""",
        group="GROUP BY 1, 2, 3, 4"))).all())
    assert kept == rebuilt
    counts = dict(connection.execute(text(
        "SELECT couche, sum(nombre) FROM cellule_offre WHERE z = 0 AND couche <> '' "
        "GROUP BY 1 HAVING sum(nombre) <> 0")).all())
    by_card: dict[str, int] = {}
    for carte, _, position in expected:
        if position is not None:
            by_card[carte] = by_card.get(carte, 0) + 1
    assert counts == by_card
    return held, counts


def new_offer(connection, name: str, lon: float, lat: float, statut: str = "publiee") -> int:
    return connection.execute(text("""
        INSERT INTO offre (nom, statut, geom, attributs)
        VALUES (:nom, :statut, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), CAST(:a AS jsonb))
        RETURNING id
    """), {"nom": name, "statut": statut, "lon": lon, "lat": lat,
           "a": json.dumps({"cartes": ["vaccination-voyageur"]})}).scalar_one()


def test_card_rows_and_counts_follow_every_kind_of_write(connection):
    draft = new_offer(connection, "Centre de vaccination internationale", 7.75, 48.58,
                      statut="brouillon")
    other = new_offer(connection, "Vaccinations du voyageur", 7.70, 48.60)
    jeux.refresh(connection, DATA)  # both join the ARS jeu of vaccination-voyageur
    _, counts = derived_state(connection)
    assert counts == {"vaccination-voyageur": 1}  # a draft is on the card, not counted

    connection.execute(text("UPDATE offre SET statut = 'publiee' WHERE id = :id"),
                       {"id": draft})  # a moderator publishes
    assert derived_state(connection)[1] == {"vaccination-voyageur": 2}
    connection.execute(text("""
        UPDATE offre SET geom = ST_SetSRID(ST_MakePoint(7.6, 48.5), 4326) WHERE id = :id
    """), {"id": other})  # moved
    derived_state(connection)
    connection.execute(text("""
        UPDATE offre SET statut = 'retiree', retiree_le = now() WHERE id = :id
    """), {"id": other})  # retired
    assert derived_state(connection)[1] == {"vaccination-voyageur": 1}
    connection.execute(text("""
        INSERT INTO jeu_offre (jeu_slug, offre_id, raison)
        SELECT slug, :id, 'manuel' FROM jeu WHERE carte_slug = 'addiction-tabac'
    """), {"id": draft})  # several jeux of one card: one card row
    assert derived_state(connection)[1] == {"vaccination-voyageur": 1, "addiction-tabac": 1}
    connection.execute(text("DELETE FROM jeu WHERE carte_slug = 'addiction-tabac'"))
    assert derived_state(connection)[1] == {"vaccination-voyageur": 1}
    connection.execute(text("DELETE FROM offre WHERE id = :id"), {"id": draft})
    assert derived_state(connection)[1] == {}


def test_recompute_writes_only_what_changed(connection):
    first = new_offer(connection, "Vaccinations du voyageur", 7.70, 48.60)
    jeux.refresh(connection, DATA)
    kept = connection.execute(text("SELECT xmin::text FROM jeu_offre WHERE offre_id = :id"),
                              {"id": first}).scalar_one()
    connection.execute(text("SAVEPOINT avant_recalcul"))  # a new subtransaction id
    new_offer(connection, "Centre de vaccination internationale", 7.75, 48.58)
    jeux.refresh(connection, DATA)
    assert connection.execute(text("SELECT xmin::text FROM jeu_offre WHERE offre_id = :id"),
                              {"id": first}).scalar_one() == kept
    derived_state(connection)


def test_a_national_run_leaves_fresh_statistics_and_exact_card_rows(ingest_engine):
    ingest(ingest_engine, "finess", str(DEMO_FINESS), DATA)
    with ingest_engine.connect() as connection:
        for table in ("offre", "jeu_offre", "carte_offre"):
            estimated, exact = connection.execute(text(f"""
                SELECT (SELECT reltuples::bigint FROM pg_class WHERE relname = '{table}'),
                       (SELECT count(*) FROM {table})
            """)).one()
            assert estimated == exact > 0, table  # analysed by the publication itself
        derived_state(connection)


def brute_force_nearest(connection, carte: str, limit: int) -> list[int]:
    return list(connection.execute(text("""
        SELECT o.id FROM offre o
        WHERE o.statut = 'publiee' AND o.mode = 'sur_place' AND EXISTS (
            SELECT 1 FROM jeu_offre jo JOIN jeu j ON j.slug = jo.jeu_slug
            WHERE jo.offre_id = o.id AND j.carte_slug = :carte)
          AND ST_Distance(o.geom::geography,
                          ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) <= 200000
        ORDER BY ST_Distance(o.geom::geography,
                             ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography), o.id
        LIMIT :limit
    """), {"carte": carte, "limit": limit, **STRASBOURG}).scalars())


def test_nearest_of_a_card_or_a_jeu_on_its_own_index_is_the_true_nearest(demo_engine):
    with demo_engine.connect() as connection:
        for carte in ("activite-physique", "vaccination-voyageur", "addiction-tabac"):
            filters = recherche.Filtres(carte=carte, rayon_km=200, **STRASBOURG)
            found = [o["id"] for o in recherche.page(connection, filters, limit=5)]
            assert found == brute_force_nearest(connection, carte, 5), carte
            assert recherche.count(connection, recherche.Filtres(carte=carte, **STRASBOURG)) == \
                connection.execute(text("SELECT count(*) FROM offre o WHERE " + recherche.where(
                    recherche.Filtres(carte=carte))[0]), {"carte": carte}).scalar_one()
        jeu = connection.execute(text("""
            SELECT jeu_slug FROM jeu_offre GROUP BY 1 ORDER BY count(*) LIMIT 1
        """)).scalar_one()
        by_jeu = recherche.page(connection, recherche.Filtres(jeu=[jeu], **STRASBOURG), limit=3)
        assert by_jeu and all(jeu in o["jeux"] for o in by_jeu)


def test_one_statement_moving_some_offers_and_renaming_others_keeps_everything_exact(connection):
    """A run updates every offer at once (its public, its names) and moves only a few: the
    positions and cells follow the few, and the memberships of the others are not rewritten
    (migration 0011: set difference, not a join of the statement's old and new rows)."""
    renamed, moved, retired = (new_offer(connection, f"Vaccinations du voyageur {n}",
                                         7.70 + n / 100, 48.60) for n in range(3))
    draft = new_offer(connection, "Centre de vaccination internationale", 7.75, 48.58,
                      statut="brouillon")
    jeux.refresh(connection, DATA)
    connection.execute(text("SAVEPOINT avant_mise_a_jour"))  # a new subtransaction id
    untouched = connection.execute(text(
        "SELECT xmin::text FROM jeu_offre WHERE offre_id = :id"), {"id": renamed}).all()
    connection.execute(text("""
        UPDATE offre SET nom = nom || ' (mis à jour)',
            geom = CASE WHEN id = :moved THEN ST_SetSRID(ST_MakePoint(7.6, 48.5), 4326)
                        ELSE geom END,
            statut = CASE id WHEN :retired THEN 'retiree' WHEN :draft THEN 'publiee'
                             ELSE statut END,
            retiree_le = CASE WHEN id = :retired THEN now() END
        WHERE id = ANY(:ids)
    """), {"moved": moved, "retired": retired, "draft": draft,
           "ids": [renamed, moved, retired, draft]})
    assert derived_state(connection)[1] == {"vaccination-voyageur": 3}
    assert connection.execute(text(
        "SELECT xmin::text FROM jeu_offre WHERE offre_id = :id"), {"id": renamed}
    ).all() == untouched
