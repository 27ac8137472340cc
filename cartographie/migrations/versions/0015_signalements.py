"""« Signaler une erreur »: the public's reports on an offer, grouped per offer and reason
while open, their messages (with the reporter's optional contact) and the sends per client
address for the rate limit (issue 16, point 4).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def upgrade() -> None:
    op.create_table(
        "signalement",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("offre_id", sa.BigInteger(), nullable=False),
        sa.Column("motif", sa.Text(), nullable=False),
        sa.Column("statut", sa.Text(), server_default="ouvert", nullable=False),
        sa.Column("nombre", sa.Integer(), server_default="1", nullable=False),
        sa.Column("cree_le", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("dernier_le", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("traite_le", sa.DateTime(timezone=True), nullable=True),
        sa.Column("traite_par", sa.BigInteger(), nullable=True),
        sa.Column("motif_rejet", sa.Text(), nullable=True),
        sa.CheckConstraint("motif IN ('ferme_definitivement', 'horaires', 'telephone', "
                           "'adresse', 'inexistante', 'autre')",
                           name=op.f("ck_signalement_motif")),
        sa.CheckConstraint("statut IN ('ouvert', 'corrige', 'rejete')",
                           name=op.f("ck_signalement_statut")),
        sa.CheckConstraint("statut <> 'rejete' OR motif_rejet IS NOT NULL",
                           name=op.f("ck_signalement_rejet_motive")),
        sa.CheckConstraint("(statut = 'ouvert') = (traite_le IS NULL)",
                           name=op.f("ck_signalement_traite")),
        sa.ForeignKeyConstraint(["offre_id"], ["offre.id"], ondelete="CASCADE",
                                name=op.f("fk_signalement_offre_id_offre")),
        sa.ForeignKeyConstraint(["traite_par"], ["utilisateur.id"], ondelete="SET NULL",
                                name=op.f("fk_signalement_traite_par_utilisateur")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signalement")),
    )
    # One open report per offer and reason: a duplicate adds to its count (ON CONFLICT).
    op.create_index("uq_signalement_ouvert", "signalement", ["offre_id", "motif"],
                    unique=True, postgresql_where=sa.text("statut = 'ouvert'"))
    op.create_index(op.f("ix_signalement_statut_traite_le"), "signalement",
                    ["statut", "traite_le"])
    op.create_table(
        "signalement_message",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("signalement_id", sa.BigInteger(), nullable=False),
        sa.Column("texte", sa.Text(), nullable=True),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("recu_le", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.ForeignKeyConstraint(["signalement_id"], ["signalement.id"], ondelete="CASCADE",
                                name=op.f("fk_signalement_message_signalement_id_signalement")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signalement_message")),
    )
    op.create_index(op.f("ix_signalement_message_signalement_id"), "signalement_message",
                    ["signalement_id"])
    op.create_table(
        "signalement_envoi",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("empreinte", sa.Text(), nullable=False),
        sa.Column("le", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signalement_envoi")),
    )
    op.create_index(op.f("ix_signalement_envoi_empreinte_le"), "signalement_envoi",
                    ["empreinte", "le"])


def downgrade() -> None:
    op.drop_table("signalement_envoi")
    op.drop_table("signalement_message")
    op.drop_table("signalement")
