"""Near misses settled by a person: « c'est l'offre N » or « ce n'est pas l'offre N ».

An ARS editor sees in the import report that a row « ressemble à l'offre N » and confirms or
rejects it; the decision is kept per source record key and offer, and the merge reuses it on
every later import of that row (confirmed: merged; rejected: never proposed again).

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rapprochement_decision",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("cle", sa.Text(), nullable=False),
        sa.Column("offre_id", sa.BigInteger(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("code_region", sa.Text(), nullable=True),
        sa.Column("utilisateur_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "le", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint(
            "decision IN ('confirme', 'rejete')", name=op.f("ck_rapprochement_decision_decision")
        ),
        sa.ForeignKeyConstraint(
            ["offre_id"], ["offre.id"],
            name=op.f("fk_rapprochement_decision_offre_id_offre"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["utilisateur_id"], ["utilisateur.id"],
            name=op.f("fk_rapprochement_decision_utilisateur_id_utilisateur"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rapprochement_decision")),
        sa.UniqueConstraint("source", "cle", "offre_id",
                            name=op.f("uq_rapprochement_decision_source_cle_offre_id")),
    )


def downgrade() -> None:
    op.drop_table("rapprochement_decision")
