"""Nearest offers of one card or one jeu without walking the others; low-zoom grid and card
totals kept exact by the writes.

Why: the nearest-neighbour scan on ``offre`` walks the offers of every card until it finds
enough of the asked one: for a rare card (vaccination-voyageur, activité physique) that is
most of the country. The published position is therefore copied onto each membership:

- ``jeu_offre.geog``: the offer's point as geography while it is published and on site,
  else NULL; GiST index on (jeu_slug, geog) (btree_gist), so « the k nearest of jeu J » is
  one ordered index scan inside J;
- ``carte_offre``: one row per (card, offer) that at least one jeu of the card holds, with
  the same ``geog``; GiST index on (carte_slug, geog) for « the k nearest of card C »;
- ``cellule_offre``: the low-zoom grid of the vector tiles (64 × 64 cells per tile, zooms
  0 to 10), for every published on-site offer (``couche`` '') and for each card, with the
  count, the sum of the ids (the id itself when a cell holds one offer) and of the
  coordinates (their mean is where the bubble goes). A tile below zoom 11 reads at most
  4 096 rows instead of every offer of the country, and the total of a card is the sum of
  its zoom-0 cells: both exact right after any write, on every worker and replica.

Triggers keep them in step with ``offre``, ``jeu_offre`` and ``jeu``, set-based
(statement-level, transition tables): whoever writes (ingestion, jeux recompute, ARS edit,
benchmark copy) cannot forget them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLISHED_POINT = ("CASE WHEN {o}.statut = 'publiee' AND {o}.mode = 'sur_place' "
                   "THEN {o}.geom::geography END")


# The low-zoom grid of api/routers/tiles.py: CELLS × CELLS cells per tile below DETAIL_ZOOM.
CELLS = 64
DETAIL_ZOOM = 11
# Adds a statement's points (+1 inserted, -1 removed) to their cells, in key order so that
# two writers lock cells in the same order; a cell left empty keeps its row at nombre 0.
CELL_DELTA = """
    WITH p AS MATERIALIZED ({points})  -- each point's coordinates computed once, not per zoom
    INSERT INTO cellule_offre AS c (couche, z, cx, cy, nombre, somme_id, somme_lon, somme_lat)
    SELECT p.couche, k.z, k.cx, k.cy, sum(p.signe), sum(p.signe * p.id),
           sum(p.signe * p.lon), sum(p.signe * p.lat)
    FROM p CROSS JOIN LATERAL cellules_du_point(p.lon, p.lat) k
    GROUP BY 1, 2, 3, 4
    HAVING sum(p.signe) <> 0 OR sum(p.signe * p.id) <> 0
        OR sum(p.signe * p.lon) <> 0 OR sum(p.signe * p.lat) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (couche, z, cx, cy) DO UPDATE SET nombre = c.nombre + excluded.nombre,
        somme_id = c.somme_id + excluded.somme_id, somme_lon = c.somme_lon + excluded.somme_lon,
        somme_lat = c.somme_lat + excluded.somme_lat;
"""
# A national run adds ~10 cells per published point and card: aggregated in memory, not on
# disk; JIT would compile longer than the statement runs.
CELL_WORK_MEM = "256MB"
TRUNCATED = (("jeu_offre", "carte_offre"), ("offre", "cellule_offre WHERE couche = ''"),
             ("carte_offre", "cellule_offre WHERE couche <> ''"))


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
        "cellule_offre",
        sa.Column("couche", sa.Text(), nullable=False),
        sa.Column("z", sa.SmallInteger(), nullable=False),
        sa.Column("cx", sa.Integer(), nullable=False),
        sa.Column("cy", sa.Integer(), nullable=False),
        sa.Column("nombre", sa.BigInteger(), nullable=False),
        sa.Column("somme_id", sa.BigInteger(), nullable=False),
        sa.Column("somme_lon", sa.Float(precision=53), nullable=False),
        sa.Column("somme_lat", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("couche", "z", "cx", "cy", name=op.f("pk_cellule_offre")),
    )
    op.execute(f"""
        CREATE FUNCTION cellules_du_point(lon float8, lat float8)
        RETURNS TABLE (z smallint, cx int, cy int) LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT z::smallint,
                   least(floor((lon + 180) / 360 * n * {CELLS}), n * {CELLS} - 1)::int,
                   (ty * {CELLS} + least(greatest(
                       floor((lat - south) * {CELLS} / (north - south)), 0), {CELLS} - 1))::int
            FROM generate_series(0, {DETAIL_ZOOM - 1}) z
            CROSS JOIN LATERAL (SELECT (2 ^ z)::float8 AS n) size
            CROSS JOIN LATERAL (SELECT least(greatest(floor(
                (1 - ln(tan(radians(lat)) + 1 / cos(radians(lat))) / pi()) / 2 * n), 0),
                n - 1) AS ty) row
            CROSS JOIN LATERAL (SELECT
                degrees(atan(sinh(pi() * (1 - 2 * (ty + 1) / n)))) AS south,
                degrees(atan(sinh(pi() * (1 - 2 * ty / n)))) AS north) bounds
        $$
    """)
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
        CREATE FUNCTION cartes_des_offres(ids bigint[]) RETURNS void LANGUAGE sql
        -- The memberships a run just wrote are not in the planner's statistics yet: left to
        -- itself it would walk jeu_offre once per offer (30 s for a national run, not 0.3).
        SET enable_seqscan = off AS $$
            -- joined on unnest, never « = ANY(ids) »: a national run passes 50 000 ids
            DELETE FROM carte_offre co USING (SELECT DISTINCT unnest(ids) AS id) t
            WHERE co.offre_id = t.id AND NOT EXISTS (
                SELECT 1 FROM jeu_offre jo JOIN jeu j ON j.slug = jo.jeu_slug
                WHERE jo.offre_id = co.offre_id AND j.carte_slug = co.carte_slug);
            INSERT INTO carte_offre (carte_slug, offre_id, geog)
            SELECT DISTINCT ON (j.carte_slug, jo.offre_id) j.carte_slug, jo.offre_id, jo.geog
            FROM (SELECT DISTINCT unnest(ids) AS id) t
            JOIN jeu_offre jo ON jo.offre_id = t.id JOIN jeu j ON j.slug = jo.jeu_slug
            ORDER BY j.carte_slug, jo.offre_id
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
    # Grid cells follow the published points: one delta per cell and statement.
    layers = {
        "offre": ("'' AS couche, t.id AS id, ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat",
                  "t.statut = 'publiee' AND t.mode = 'sur_place' AND t.geom IS NOT NULL"),
        "carte_offre": ("t.carte_slug AS couche, t.offre_id AS id, ST_X(t.geog::geometry) AS lon, "
                        "ST_Y(t.geog::geometry) AS lat", "t.geog IS NOT NULL"),
    }
    for table, (columns, published) in layers.items():
        for event, tables in (("INSERT", "NEW TABLE AS apres"), ("DELETE", "OLD TABLE AS avant"),
                              ("UPDATE", "OLD TABLE AS avant NEW TABLE AS apres")):
            sides = [f"SELECT {sign} AS signe, {columns} FROM {side} t WHERE {published}"
                     for sign, side in ((1, "apres"), (-1, "avant")) if side in tables]
            name = f"cellules_apres_{event.lower()}_{table}"
            op.execute(f"""
                CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql
                SET jit = off SET work_mem = '{CELL_WORK_MEM}' AS $$
                BEGIN
                    {CELL_DELTA.format(points=" UNION ALL ".join(sides))}
                    RETURN NULL;
                END $$
            """)
            op.execute(f"""
                CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {tables}
                FOR EACH STATEMENT EXECUTE FUNCTION {name}()
            """)
    # TRUNCATE (tests, a full reload) empties what is derived from the truncated rows.
    for table, derived in TRUNCATED:
        op.execute(f"""
            CREATE FUNCTION vider_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                DELETE FROM {derived};
                RETURN NULL;
            END $$
        """)
        op.execute(f"""
            CREATE TRIGGER vider_{table} AFTER TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION vider_{table}()
        """)
    op.execute("SELECT cartes_des_offres(ARRAY(SELECT DISTINCT offre_id FROM jeu_offre))")
    columns, published = layers["offre"]
    op.execute(CELL_DELTA.format(points=f"SELECT 1 AS signe, {columns} FROM offre t "
                                        f"WHERE {published}"))


def downgrade() -> None:
    for table, _ in TRUNCATED:
        op.execute(f"DROP TRIGGER IF EXISTS vider_{table} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS vider_{table}()")
    for event in ("insert", "delete", "update"):
        for table in ("offre", "carte_offre"):
            op.execute(f"DROP TRIGGER IF EXISTS cellules_apres_{event}_{table} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS cellules_apres_{event}_{table}()")
        op.execute(f"DROP TRIGGER IF EXISTS cartes_apres_{event}_jeu_offre ON jeu_offre")
        op.execute(f"DROP FUNCTION IF EXISTS cartes_apres_{event}_jeu_offre()")
    op.execute("DROP TRIGGER IF EXISTS cartes_apres_update_jeu ON jeu")
    op.execute("DROP FUNCTION IF EXISTS cartes_apres_update_jeu()")
    op.execute("DROP TRIGGER IF EXISTS positions_apres_update_offre ON offre")
    op.execute("DROP FUNCTION IF EXISTS positions_apres_update_offre()")
    op.execute("DROP TRIGGER IF EXISTS appartenance_position ON jeu_offre")
    op.execute("DROP FUNCTION IF EXISTS appartenance_position()")
    op.execute("DROP FUNCTION IF EXISTS cartes_des_offres(bigint[])")
    op.execute("DROP FUNCTION IF EXISTS cellules_du_point(float8, float8)")
    op.drop_table("cellule_offre")
    op.drop_table("carte_offre")
    op.drop_index("ix_jeu_offre_jeu_slug_geog", table_name="jeu_offre")
    op.drop_column("jeu_offre", "geog")
