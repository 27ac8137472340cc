"""Entity resolution: every merge decision (and near miss) with its score and reason.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 09:52:12.726842
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "decision_fusion",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("cle", sa.Text(), nullable=False),
        sa.Column("offre_id", sa.BigInteger(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("raison", sa.Text(), nullable=False),
        sa.Column(
            "le", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint(
            "decision IN ('fusion', 'quasi')", name=op.f("ck_decision_fusion_decision")
        ),
        sa.ForeignKeyConstraint(
            ["offre_id"],
            ["offre.id"],
            name=op.f("fk_decision_fusion_offre_id_offre"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["run.id"], name=op.f("fk_decision_fusion_run_id_run"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_fusion")),
    )
    op.create_index(
        op.f("ix_decision_fusion_offre_id"), "decision_fusion", ["offre_id"], unique=False
    )
    op.create_index(op.f("ix_decision_fusion_run_id"), "decision_fusion", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_decision_fusion_run_id"), table_name="decision_fusion")
    op.drop_index(op.f("ix_decision_fusion_offre_id"), table_name="decision_fusion")
    op.drop_table("decision_fusion")
