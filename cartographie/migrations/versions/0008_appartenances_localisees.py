"""Nearest offers of one card or one jeu without walking the others, and exact card counts.

Why: the nearest-neighbour scan on ``offre`` walks the offers of every card until it finds
enough of the asked one: for a rare card (vaccination-voyageur, activité physique) that is
most of the country. The published position is therefore copied onto each membership:

- ``jeu_offre.geog``: the offer's point as geography while it is published and on site,
  else NULL; GiST index on (jeu_slug, geog) (btree_gist), so « the k nearest of jeu J » is
  one ordered index scan inside J;
- ``carte_offre``: one row per (card, offer) that at least one jeu of the card holds, with
  the same ``geog``; GiST index on (carte_slug, geog) for « the k nearest of card C »;
- ``carte_compte``: per card, the number of its published on-site offers, kept exact by the
  writes themselves (the total of a card search without other filters, read in O(1) right
  after any write, on every worker and replica).

Triggers keep the three in step with ``offre``, ``jeu_offre`` and ``jeu``, set-based
(statement-level, transition tables): whoever writes (ingestion, jeux recompute, ARS edit,
benchmark copy) cannot forget them.

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography

revision: str = "0008"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLISHED_POINT = ("CASE WHEN {o}.statut = 'publiee' AND {o}.mode = 'sur_place' "
                   "THEN {o}.geom::geography END")


def geography() -> Geography:
    return Geography("POINT", srid=4326, spatial_index=False)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.add_column("jeu_offre", sa.Column("geog", geography(), nullable=True))
    op.execute(f"UPDATE jeu_offre jo SET geog = {PUBLISHED_POINT.format(o='o')} "
               "FROM offre o WHERE o.id = jo.offre_id")
    op.create_index("ix_jeu_offre_jeu_slug_geog", "jeu_offre", ["jeu_slug", "geog"],
                    postgresql_using="gist")
    op.create_table(
        "carte_offre",
        sa.Column("carte_slug", sa.Text(), nullable=False),
        sa.Column("offre_id", sa.BigInteger(), nullable=False),
        sa.Column("geog", geography(), nullable=True),
        sa.ForeignKeyConstraint(["carte_slug"], ["carte.slug"],
                                name=op.f("fk_carte_offre_carte_slug_carte"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["offre_id"], ["offre.id"],
                                name=op.f("fk_carte_offre_offre_id_offre"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("carte_slug", "offre_id", name=op.f("pk_carte_offre")),
    )
    op.create_index("ix_carte_offre_carte_slug_geog", "carte_offre", ["carte_slug", "geog"],
                    postgresql_using="gist")
    op.create_index(op.f("ix_carte_offre_offre_id"), "carte_offre", ["offre_id"])
    op.create_table(
        "carte_compte",
        sa.Column("carte_slug", sa.Text(), nullable=False),
        sa.Column("sur_place", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["carte_slug"], ["carte.slug"],
                                name=op.f("fk_carte_compte_carte_slug_carte"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("carte_slug", name=op.f("pk_carte_compte")),
    )
    op.execute(f"""
        CREATE FUNCTION appartenance_position() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.geog := (SELECT {PUBLISHED_POINT.format(o='o')} FROM offre o
                         WHERE o.id = NEW.offre_id);
            RETURN NEW;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER appartenance_position BEFORE INSERT OR UPDATE OF offre_id ON jeu_offre
        FOR EACH ROW EXECUTE FUNCTION appartenance_position()
    """)
    # The card rows of the offers a statement touched, made equal to their memberships.
    op.execute("""
        CREATE FUNCTION cartes_des_offres(ids bigint[]) RETURNS void LANGUAGE sql AS $$
            DELETE FROM carte_offre co WHERE co.offre_id = ANY(ids) AND NOT EXISTS (
                SELECT 1 FROM jeu_offre jo JOIN jeu j ON j.slug = jo.jeu_slug
                WHERE jo.offre_id = co.offre_id AND j.carte_slug = co.carte_slug);
            INSERT INTO carte_offre (carte_slug, offre_id, geog)
            SELECT DISTINCT ON (j.carte_slug, jo.offre_id) j.carte_slug, jo.offre_id, jo.geog
            FROM jeu_offre jo JOIN jeu j ON j.slug = jo.jeu_slug
            WHERE jo.offre_id = ANY(ids)
            ON CONFLICT (carte_slug, offre_id) DO UPDATE SET geog = excluded.geog
            WHERE carte_offre.geog IS DISTINCT FROM excluded.geog;
        $$
    """)
    for event, tables, ids in (
        ("INSERT", "NEW TABLE AS changees", "SELECT offre_id FROM changees"),
        ("DELETE", "OLD TABLE AS changees", "SELECT offre_id FROM changees"),
        ("UPDATE", "OLD TABLE AS avant NEW TABLE AS apres",
         "SELECT offre_id FROM avant UNION SELECT offre_id FROM apres"),
    ):
        name = f"cartes_apres_{event.lower()}_jeu_offre"
        op.execute(f"""
            CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM cartes_des_offres(ARRAY({ids}));
                RETURN NULL;
            END $$
        """)
        op.execute(f"""
            CREATE TRIGGER {name} AFTER {event} ON jeu_offre REFERENCING {tables}
            FOR EACH STATEMENT EXECUTE FUNCTION {name}()
        """)
    # An offer published, retired, moved or turned remote moves its memberships' position.
    op.execute(f"""
        CREATE FUNCTION positions_apres_update_offre() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE jeu_offre jo SET geog = {PUBLISHED_POINT.format(o='n')}
            FROM avant a JOIN apres n ON n.id = a.id
            WHERE jo.offre_id = n.id
              AND ({PUBLISHED_POINT.format(o='a')}::geometry
                   IS DISTINCT FROM {PUBLISHED_POINT.format(o='n')}::geometry);
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER positions_apres_update_offre AFTER UPDATE ON offre
        REFERENCING OLD TABLE AS avant NEW TABLE AS apres
        FOR EACH STATEMENT EXECUTE FUNCTION positions_apres_update_offre()
    """)
    # A jeu moved to another card moves its offers' card rows.
    op.execute("""
        CREATE FUNCTION cartes_apres_update_jeu() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM cartes_des_offres(ARRAY(
                SELECT jo.offre_id FROM jeu_offre jo
                JOIN avant a ON a.slug = jo.jeu_slug JOIN apres n ON n.slug = a.slug
                WHERE a.carte_slug IS DISTINCT FROM n.carte_slug));
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER cartes_apres_update_jeu AFTER UPDATE ON jeu
        REFERENCING OLD TABLE AS avant NEW TABLE AS apres
        FOR EACH STATEMENT EXECUTE FUNCTION cartes_apres_update_jeu()
    """)
    # Card counts follow their rows: one delta per card and statement.
    for event, tables, delta in (
        ("INSERT", "NEW TABLE AS apres",
         "SELECT carte_slug, count(geog) AS d FROM apres GROUP BY 1"),
        ("DELETE", "OLD TABLE AS avant",
         "SELECT carte_slug, -count(geog) AS d FROM avant GROUP BY 1"),
        ("UPDATE", "OLD TABLE AS avant NEW TABLE AS apres",
         "SELECT carte_slug, sum(d) AS d FROM (SELECT carte_slug, count(geog) AS d FROM apres "
         "GROUP BY 1 UNION ALL SELECT carte_slug, -count(geog) FROM avant GROUP BY 1) t "
         "GROUP BY 1"),
    ):
        name = f"compte_apres_{event.lower()}_carte_offre"
        op.execute(f"""
            CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO carte_compte AS c (carte_slug, sur_place)
                SELECT carte_slug, d FROM ({delta}) delta
                WHERE d <> 0 AND EXISTS (SELECT 1 FROM carte WHERE slug = delta.carte_slug)
                ON CONFLICT (carte_slug) DO UPDATE SET sur_place = c.sur_place + excluded.sur_place;
                RETURN NULL;
            END $$
        """)
        op.execute(f"""
            CREATE TRIGGER {name} AFTER {event} ON carte_offre REFERENCING {tables}
            FOR EACH STATEMENT EXECUTE FUNCTION {name}()
        """)
    # TRUNCATE (tests, a full reload) empties what is derived from the truncated rows.
    for table, derived in (("jeu_offre", "carte_offre"), ("carte_offre", "carte_compte")):
        op.execute(f"""
            CREATE FUNCTION vider_{derived}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                DELETE FROM {derived};
                RETURN NULL;
            END $$
        """)
        op.execute(f"""
            CREATE TRIGGER vider_{derived} AFTER TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION vider_{derived}()
        """)
    op.execute("SELECT cartes_des_offres(ARRAY(SELECT DISTINCT offre_id FROM jeu_offre))")


def downgrade() -> None:
    for table, derived in (("jeu_offre", "carte_offre"), ("carte_offre", "carte_compte")):
        op.execute(f"DROP TRIGGER IF EXISTS vider_{derived} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS vider_{derived}()")
    for event in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS compte_apres_{event}_carte_offre ON carte_offre")
        op.execute(f"DROP FUNCTION IF EXISTS compte_apres_{event}_carte_offre()")
        op.execute(f"DROP TRIGGER IF EXISTS cartes_apres_{event}_jeu_offre ON jeu_offre")
        op.execute(f"DROP FUNCTION IF EXISTS cartes_apres_{event}_jeu_offre()")
    op.execute("DROP TRIGGER IF EXISTS cartes_apres_update_jeu ON jeu")
    op.execute("DROP FUNCTION IF EXISTS cartes_apres_update_jeu()")
    op.execute("DROP TRIGGER IF EXISTS positions_apres_update_offre ON offre")
    op.execute("DROP FUNCTION IF EXISTS positions_apres_update_offre()")
    op.execute("DROP TRIGGER IF EXISTS appartenance_position ON jeu_offre")
    op.execute("DROP FUNCTION IF EXISTS appartenance_position()")
    op.execute("DROP FUNCTION IF EXISTS cartes_des_offres(bigint[])")
    op.drop_table("carte_compte")
    op.drop_table("carte_offre")
    op.drop_index("ix_jeu_offre_jeu_slug_geog", table_name="jeu_offre")
    op.drop_column("jeu_offre", "geog")
