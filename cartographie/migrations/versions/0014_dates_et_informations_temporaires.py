"""The date of a source's data, temporary closures and hours, review period per jeu.

- ``run.donnees_du``: the day the source's data describes (its extraction date), read from
  the file itself, its name or its rows; NULL when nothing says it. ``donnees_du_selon`` says
  where it was read. « Vérifiée le … par une source » uses it instead of the day we read the
  file.
- ``information_temporaire``: a temporary closure or temporary hours of an offer, from ``du``
  to ``au`` (inclusive), with a short message; kept after its end and when cancelled.
- ``jeu.revision_jours``: a jeu's own review period (``data/jeux/*.yaml``); an offer's period
  is the shortest of its jeux, else of its cards, else 365 days.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("run", sa.Column("donnees_du", sa.Date(), nullable=True))
    op.add_column("run", sa.Column("donnees_du_selon", sa.Text(), nullable=True))
    op.create_table(
        "information_temporaire",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("offre_id", sa.BigInteger(), nullable=False),
        sa.Column("genre", sa.Text(), nullable=False),
        sa.Column("du", sa.Date(), nullable=False),
        sa.Column("au", sa.Date(), nullable=False),
        sa.Column("horaires", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("cree_le", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("cree_par", sa.BigInteger(), nullable=True),
        sa.Column("annulee_le", sa.DateTime(timezone=True), nullable=True),
        sa.Column("annulee_par", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("genre IN ('fermeture', 'horaires')",
                           name=op.f("ck_information_temporaire_genre")),
        sa.CheckConstraint("du <= au", name=op.f("ck_information_temporaire_periode")),
        sa.CheckConstraint("(genre = 'horaires') = (horaires IS NOT NULL)",
                           name=op.f("ck_information_temporaire_horaires_si_horaires")),
        sa.CheckConstraint("char_length(message) <= 200",
                           name=op.f("ck_information_temporaire_message_court")),
        sa.ForeignKeyConstraint(["offre_id"], ["offre.id"], ondelete="CASCADE",
                                name=op.f("fk_information_temporaire_offre_id_offre")),
        sa.ForeignKeyConstraint(["cree_par"], ["utilisateur.id"], ondelete="SET NULL",
                                name=op.f("fk_information_temporaire_cree_par_utilisateur")),
        sa.ForeignKeyConstraint(["annulee_par"], ["utilisateur.id"], ondelete="SET NULL",
                                name=op.f("fk_information_temporaire_annulee_par_utilisateur")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_information_temporaire")),
    )
    op.create_index(op.f("ix_information_temporaire_offre_id"), "information_temporaire",
                    ["offre_id"])
    op.add_column("jeu", sa.Column("revision_jours", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("jeu", "revision_jours")
    op.drop_table("information_temporaire")
    op.drop_column("run", "donnees_du_selon")
    op.drop_column("run", "donnees_du")
