"""Offer updates move memberships and grid cells by set difference, never by a join of the
statement's old and new rows.

Why: the triggers of migration 0008 paired the old and new rows of an ``UPDATE offre``
(``avant JOIN apres ON id``). PostgreSQL has no row count for transition tables and plans
that join as a nested loop: the membership recompute of a first national ingest rewrites
the public of all 35 673 offers, hence 35 673 × 35 673 comparisons, 72 s of a 300 s ingest
on this machine, although not one position changed. ``apres EXCEPT avant`` on (id, published
point) is hashed or sorted, linear, and yields only the offers whose published point really
changed (published, retired, moved, turned remote): an update that leaves positions alone
(public, names, descriptions) now costs the triggers nothing, on memberships as on cells.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _grid_0008():
    """The grid rules of migration 0008 (cell delta, work memory), defined there once."""
    path = Path(__file__).with_name("0008_appartenances_localisees.py")
    spec = importlib.util.spec_from_file_location("migration_0008", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The published point of an offer as comparable bytes (NULL when not published on site).
POINT = "ST_AsEWKB(CASE WHEN {o}.statut = 'publiee' AND {o}.mode = 'sur_place' THEN {o}.geom END)"
# (id, new point) of the offers whose published point changed in the statement.
MOVED_TO = f"SELECT id, {POINT.format(o='n')} AS point FROM apres n " \
           f"EXCEPT SELECT id, {POINT.format(o='a')} FROM avant a"
MOVED_FROM = f"SELECT id, {POINT.format(o='a')} AS point FROM avant a " \
             f"EXCEPT SELECT id, {POINT.format(o='n')} FROM apres n"


def _replace_positions(source: str, new_point: str) -> None:
    """The memberships of the offers ``source`` lists (as n) take ``new_point``."""
    op.execute(f"""
        CREATE OR REPLACE FUNCTION positions_apres_update_offre() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE jeu_offre jo SET geog = {new_point} FROM {source} WHERE jo.offre_id = n.id;
            RETURN NULL;
        END $$
    """)


def _replace_cells(grid, points: str) -> None:
    """The whole-country layer of the grid takes the delta of ``points`` (signe, id, lon, lat)."""
    op.execute(f"""
        CREATE OR REPLACE FUNCTION cellules_apres_update_offre() RETURNS trigger
        LANGUAGE plpgsql SET jit = off SET work_mem = '{grid.CELL_WORK_MEM}' AS $$
        BEGIN
            {grid.CELL_DELTA.format(points=points)}
            RETURN NULL;
        END $$
    """)


def upgrade() -> None:
    grid = _grid_0008()
    _replace_positions(f"({MOVED_TO}) n", "ST_GeomFromEWKB(n.point)::geography")
    _replace_cells(grid, "SELECT d.signe, '' AS couche, d.id, ST_X(g) AS lon, ST_Y(g) AS lat "
                         f"FROM (SELECT 1 AS signe, * FROM ({MOVED_TO}) n UNION ALL "
                         f"SELECT -1, * FROM ({MOVED_FROM}) a) d "
                         "CROSS JOIN LATERAL ST_GeomFromEWKB(d.point) g "
                         "WHERE d.point IS NOT NULL")


def downgrade() -> None:
    """Back to the definitions of migration 0008."""
    grid = _grid_0008()
    old, new = (grid.PUBLISHED_POINT.format(o=o) for o in ("a", "n"))
    _replace_positions(f"avant a JOIN apres n ON n.id = a.id AND ({old}::geometry "
                       f"IS DISTINCT FROM {new}::geometry)", new)
    _replace_cells(grid, " UNION ALL ".join(
        f"SELECT {sign} AS signe, '' AS couche, t.id AS id, ST_X(t.geom) AS lon, "
        f"ST_Y(t.geom) AS lat FROM {side} t WHERE t.statut = 'publiee' "
        "AND t.mode = 'sur_place' AND t.geom IS NOT NULL"
        for sign, side in ((1, "apres"), (-1, "avant"))))
