"""Public of jeux and national resources, offers' effective public, source names kept.

Why: FINESS never fills an offer's ages; the jeux know them (« CMP enfants et adolescents »
serves the under-18s). The effective public is derived from the jeux and the sources by the
jeux recompute and read by every age filter. Display names are normalised at ingestion; the
source's spelling stays in ``nom_source`` and in the full-text search.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH = ("setweight(to_tsvector('cartographie_fr', coalesce(nom, '')), 'A') || "
          "setweight(to_tsvector('cartographie_fr', coalesce(nom_source, '')), 'A') || "
          "setweight(to_tsvector('cartographie_fr', coalesce(description, '')), 'B')")
OLD_SEARCH = ("setweight(to_tsvector('cartographie_fr', coalesce(nom, '')), 'A') || "
              "setweight(to_tsvector('cartographie_fr', coalesce(description, '')), 'B')")


def _search_column(expression: str) -> None:
    op.drop_index("ix_offre_recherche", table_name="offre", postgresql_using="gin")
    op.drop_column("offre", "recherche")
    op.add_column("offre", sa.Column(
        "recherche", postgresql.TSVECTOR(), sa.Computed(expression, persisted=True)))
    op.create_index("ix_offre_recherche", "offre", ["recherche"], unique=False,
                    postgresql_using="gin")


def upgrade() -> None:
    for table in ("jeu", "ressource_nationale"):
        op.add_column(table, sa.Column("age_min", sa.SmallInteger()))
        op.add_column(table, sa.Column("age_max", sa.SmallInteger()))
        op.add_column(table, sa.Column("publics", postgresql.ARRAY(sa.Text()),
                                       server_default="{}", nullable=False))
    op.add_column("offre", sa.Column("public_age_min", sa.SmallInteger()))
    op.add_column("offre", sa.Column("public_age_max", sa.SmallInteger()))
    op.add_column("offre", sa.Column("public_publics", postgresql.ARRAY(sa.Text()),
                                     server_default="{}", nullable=False))
    op.add_column("offre", sa.Column("public_provenance", postgresql.JSONB(),
                                     server_default="[]", nullable=False))
    op.add_column("offre", sa.Column("nom_source", sa.Text()))
    op.execute("UPDATE offre SET public_age_min = age_min, public_age_max = age_max")
    _search_column(SEARCH)


def downgrade() -> None:
    _search_column(OLD_SEARCH)
    for column in ("nom_source", "public_provenance", "public_publics", "public_age_max",
                   "public_age_min"):
        op.drop_column("offre", column)
    for table in ("ressource_nationale", "jeu"):
        for column in ("publics", "age_max", "age_min"):
            op.drop_column(table, column)
