"""Cached totals and tiles follow every write: each one gives the data a new version."""

from __future__ import annotations

from sqlalchemy import text

CARD = "addiction-tabac"
PARIS = {"lon": 2.35, "lat": 48.85}


def add_offer_on_the_card(connection) -> int:
    offer_id = connection.execute(text("""
        INSERT INTO offre (nom, statut, geom)
        VALUES ('Consultation tabac', 'publiee', ST_SetSRID(ST_MakePoint(2.35, 48.85), 4326))
        RETURNING id
    """)).scalar_one()
    connection.execute(text("""
        INSERT INTO jeu_offre (jeu_slug, offre_id, raison)
        SELECT slug, :id, 'manuel' FROM jeu WHERE carte_slug = :carte LIMIT 1
    """), {"id": offer_id, "carte": CARD})
    return offer_id


def version(connection) -> str:
    return connection.execute(text("SELECT version_donnees_courante()")).scalar_one()


def test_every_write_even_of_no_row_gives_a_version_never_seen(connection):
    seen = {version(connection)}
    for statement in ("UPDATE offre SET nom = nom WHERE false",
                      "DELETE FROM jeu_offre WHERE false", "UPDATE carte SET nom = nom"):
        connection.execute(text(statement))
        assert version(connection) not in seen
        seen.add(version(connection))


def test_the_cached_total_of_a_card_follows_a_new_offer(client, connection):
    def total(**place) -> int:
        return client.get("/api/v1/offres", params={"carte": CARD, **place}).json()["total"]

    before = total(**PARIS)
    assert total(lon=5.0, lat=45.0) == before  # the point orders, it does not filter
    add_offer_on_the_card(connection)
    assert total(**PARIS) == before + 1


def test_a_cached_aggregated_tile_follows_a_new_offer(client, connection):
    empty = client.get("/tiles/5/16/11.mvt")
    add_offer_on_the_card(connection)
    assert empty.status_code == 204
    assert client.get("/tiles/5/16/11.mvt").status_code == 200


def test_other_sessions_see_a_new_version_at_commit_only(ingest_engine):
    """The shared version changes when a write commits (deferred trigger), not before, and
    never for a rolled-back write (a dry run): writers do not hold it while they work."""
    def shared() -> str:
        with ingest_engine.connect() as reader:
            return version(reader)

    before = shared()
    with ingest_engine.connect() as writer:
        writer.execute(text("UPDATE carte SET nom = nom"))
        assert version(writer) != before  # the writer sees its own change at once
        assert shared() == before
        writer.rollback()
    assert shared() == before
    with ingest_engine.begin() as writer:
        writer.execute(text("UPDATE carte SET nom = nom"))
    assert shared() != before
