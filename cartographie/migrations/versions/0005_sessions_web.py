"""Browser sessions for ARS users: a cookie exchanged for an API token, with its CSRF token.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "session_web",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jeton_id", sa.BigInteger(), nullable=False),
        sa.Column("empreinte", sa.Text(), nullable=False),
        sa.Column("csrf_empreinte", sa.Text(), nullable=False),
        sa.Column(
            "cree_le", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("expire_le", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["jeton_id"], ["jeton.id"], name=op.f("fk_session_web_jeton_id_jeton"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_web")),
        sa.UniqueConstraint("empreinte", name=op.f("uq_session_web_empreinte")),
    )
    op.create_index(op.f("ix_session_web_jeton_id"), "session_web", ["jeton_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_session_web_jeton_id"), table_name="session_web")
    op.drop_table("session_web")
