"""Freshness: when an ARS last confirmed an offer and who; each card's review period.

A source run that sees an offer already dates it (``offre_source.derniere_vue``); these columns
add the confirmation by a person, and the period after which an offer is « à revoir ».

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("offre", sa.Column("verifie_le", sa.DateTime(timezone=True), nullable=True))
    op.add_column("offre", sa.Column("verifie_par", sa.Text(), nullable=True))
    op.add_column("carte", sa.Column("revision_jours", sa.SmallInteger(),
                                     server_default="365", nullable=False))


def downgrade() -> None:
    op.drop_column("carte", "revision_jours")
    op.drop_column("offre", "verifie_par")
    op.drop_column("offre", "verifie_le")
