"""Nearest-offer searches in metres: a GiST index on the offer point as geography.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_offre_geog ON offre USING gist ((geom::geography))")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_offre_geog")
