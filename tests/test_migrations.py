"""The schema is built only by Alembic, and the migrations go both ways."""

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from cartographie import migrations
from cartographie.models import Base

ROUND_TRIP_DATABASE = "cartographie_migrations"


def test_upgrade_downgrade_upgrade_round_trip(cluster):
    cluster.drop_database(ROUND_TRIP_DATABASE)
    cluster.ensure_database(ROUND_TRIP_DATABASE)
    url = cluster.url(ROUND_TRIP_DATABASE)
    engine = create_engine(url)
    try:
        migrations.upgrade(url)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        migrations.downgrade(url, "base")
        assert set(inspect(engine).get_table_names()) & set(Base.metadata.tables) == set()
        migrations.upgrade(url)
        assert migrations.current_revision(url) is not None
        # The ORM model and the migrations describe the same schema.
        command.check(migrations.alembic_config(url))
    finally:
        engine.dispose()
        cluster.drop_database(ROUND_TRIP_DATABASE)


def test_model_has_every_table_of_the_architecture(engine):
    tables = set(inspect(engine).get_table_names())
    expected = {
        "theme", "carte", "besoin", "type_offre", "jeu", "jeu_offre", "structure", "offre",
        "source_record", "run", "quarantaine", "offre_source", "historique",
        "utilisateur", "jeton", "audit", "region", "departement", "commune",
        "ressource_nationale",
    }
    assert expected <= tables


def test_offer_search_vector_is_french_and_accent_blind(connection):
    connection.execute(text("""
        INSERT INTO offre (nom, description, statut, geom)
        VALUES ('Centre de dépistage', 'Dépistages gratuits des infections',
                'publiee', ST_SetSRID(ST_MakePoint(2.35, 48.85), 4326))
    """))
    found = connection.execute(text("""
        SELECT count(*) FROM offre
        WHERE recherche @@ websearch_to_tsquery('cartographie_fr', 'depistage gratuit')
    """)).scalar_one()
    assert found == 1


def test_offer_geometry_has_a_gist_index(engine):
    indexes = {i["name"]: i for i in inspect(engine).get_indexes("offre")}
    assert "ix_offre_geom" in indexes
    with engine.connect() as connection:
        method = connection.execute(text("""
            SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam
            WHERE c.relname = 'ix_offre_geom'
        """)).scalar_one()
    assert method == "gist"


def test_constraints_hold_the_rules_the_code_relies_on(connection):
    with pytest.raises(IntegrityError), connection.begin_nested():
        connection.execute(text("""
            INSERT INTO offre (nom, statut, geom)
            VALUES ('Retirée sans date', 'retiree', ST_SetSRID(ST_MakePoint(2.35, 48.85), 4326))
        """))
    with pytest.raises(IntegrityError), connection.begin_nested():
        connection.execute(text("INSERT INTO offre (nom, statut) VALUES ('Sans lieu', 'publiee')"))
