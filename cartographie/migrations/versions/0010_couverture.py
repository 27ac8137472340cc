"""Coverage for the ARS: commune context (F-EDI, AAV), age shares, per-commune access.

The context tables are loaded by ``cartographie init`` from ``data/couverture/``; the access
table is recomputed as a whole per data version (``cartographie.couverture``). Writes to the
inputs of the coverage (communes and their context) change the data version too, so that a
new population or deprivation vintage is never read with access computed on the old one.

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERSIONED_INPUTS = ("commune", "commune_contexte", "departement_ages")


def upgrade() -> None:
    op.create_table(
        "commune_contexte",
        sa.Column("code_commune", sa.Text(), nullable=False),
        sa.Column("fedi", sa.Float(), nullable=True),
        sa.Column("quintile_fedi", sa.SmallInteger(), nullable=True),
        sa.Column("categorie_aav", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["code_commune"], ["commune.code"],
                                name=op.f("fk_commune_contexte_code_commune_commune"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("code_commune", name=op.f("pk_commune_contexte")),
    )
    op.create_table(
        "departement_ages",
        sa.Column("code_departement", sa.Text(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("part_18_25", sa.Float(), nullable=False),
        sa.Column("part_45_50", sa.Float(), nullable=False),
        sa.Column("part_60_65", sa.Float(), nullable=False),
        sa.Column("part_70_75", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["code_departement"], ["departement.code"],
                                name=op.f("fk_departement_ages_code_departement_departement"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("code_departement", name=op.f("pk_departement_ages")),
    )
    op.create_table(
        "couverture_groupe",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("carte_slug", sa.Text(), nullable=False),
        sa.Column("jeu_slug", sa.Text(), nullable=True),
        sa.Column("version", sa.Text(), nullable=True),
        sa.Column("calcule_le", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duree_s", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_couverture_groupe")),
    )
    op.create_table(
        "couverture_commune",
        sa.Column("groupe_id", sa.SmallInteger(), nullable=False),
        sa.Column("code_commune", sa.Text(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("offres_10km", sa.Integer(), nullable=False),
        sa.Column("offres_20km", sa.Integer(), nullable=False),
        sa.Column("offres_30km", sa.Integer(), nullable=False),
        sa.Column("acces_e2sfca", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("groupe_id", "code_commune", name=op.f("pk_couverture_commune")),
    )
    for table in VERSIONED_INPUTS:
        op.execute(f"""
            CREATE TRIGGER version_donnees AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
            ON {table} FOR EACH STATEMENT EXECUTE FUNCTION nouvelle_version_donnees()
        """)


def downgrade() -> None:
    for table in VERSIONED_INPUTS:
        op.execute(f"DROP TRIGGER IF EXISTS version_donnees ON {table}")
    op.drop_table("couverture_commune")
    op.drop_table("couverture_groupe")
    op.drop_table("departement_ages")
    op.drop_table("commune_contexte")
