"""« Mon bilan prévention »: professionals and places (Annuaire Santé), their declarations,
Pro Santé Connect sign-ins and sessions (issue 19).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "professionnel_activite",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("cle", sa.Text(), nullable=False),
        sa.Column("rpps", sa.Text(), nullable=False),
        sa.Column("code_profession", sa.Text(), nullable=False),
        sa.Column("civilite", sa.Text(), nullable=True),
        sa.Column("nom", sa.Text(), nullable=False),
        sa.Column("prenom", sa.Text(), nullable=True),
        sa.Column("lieu_nom", sa.Text(), nullable=True),
        sa.Column("adresse", sa.Text(), nullable=True),
        sa.Column("code_postal", sa.Text(), nullable=True),
        sa.Column("code_commune", sa.Text(), nullable=True),
        sa.Column("ville", sa.Text(), nullable=True),
        sa.Column("telephone", sa.Text(), nullable=True),
        sa.Column("code_region", sa.Text(), nullable=True),
        sa.Column("geom", geoalchemy2.types.Geometry(geometry_type="POINT", srid=4326,
                                                     spatial_index=False), nullable=True),
        sa.Column("precision_geo", sa.Text(), nullable=True),
        sa.Column("empreinte", sa.Text(), nullable=False),
        sa.Column("dernier_run_id", sa.BigInteger(), nullable=False),
        sa.Column("vu_le", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("disparu_le", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("code_profession IN ('10', '21', '50', '60')",
                           name=op.f("ck_professionnel_activite_profession")),
        sa.ForeignKeyConstraint(["dernier_run_id"], ["run.id"],
                                name=op.f("fk_professionnel_activite_dernier_run_id_run")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_professionnel_activite")),
        sa.UniqueConstraint("cle", name=op.f("uq_professionnel_activite_cle")),
    )
    op.create_index(op.f("ix_professionnel_activite_rpps"), "professionnel_activite", ["rpps"])
    op.create_index(op.f("ix_professionnel_activite_code_region"), "professionnel_activite",
                    ["code_region"])
    op.create_index("ix_professionnel_activite_geom", "professionnel_activite", ["geom"],
                    postgresql_using="gist")
    op.create_table(
        "declaration_bilan",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("activite_id", sa.BigInteger(), nullable=False),
        sa.Column("rpps", sa.Text(), nullable=False),
        sa.Column("realise_bilan", sa.Boolean(), nullable=False),
        sa.Column("lien_rdv", sa.Text(), nullable=True),
        sa.Column("statut", sa.Text(), server_default="declaree", nullable=False),
        sa.Column("declaree_le", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("visible_le", sa.DateTime(timezone=True), nullable=False),
        sa.Column("motif_masquage", sa.Text(), nullable=True),
        sa.CheckConstraint("statut IN ('declaree', 'retiree', 'masquee')",
                           name=op.f("ck_declaration_bilan_statut")),
        sa.CheckConstraint("statut <> 'masquee' OR motif_masquage IS NOT NULL",
                           name=op.f("ck_declaration_bilan_motif")),
        sa.ForeignKeyConstraint(["activite_id"], ["professionnel_activite.id"],
                                name=op.f("fk_declaration_bilan_activite_id_professionnel_activite")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_declaration_bilan")),
        sa.UniqueConstraint("activite_id", name=op.f("uq_declaration_bilan_activite_id")),
    )
    op.create_index(op.f("ix_declaration_bilan_rpps"), "declaration_bilan", ["rpps"])
    op.create_table(
        "connexion_psc",
        sa.Column("etat", sa.Text(), nullable=False),
        sa.Column("nonce", sa.Text(), nullable=False),
        sa.Column("verificateur", sa.Text(), nullable=False),
        sa.Column("cree_le", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.PrimaryKeyConstraint("etat", name=op.f("pk_connexion_psc")),
    )
    op.create_table(
        "session_pro",
        sa.Column("empreinte", sa.Text(), nullable=False),
        sa.Column("rpps", sa.Text(), nullable=False),
        sa.Column("csrf_empreinte", sa.Text(), nullable=False),
        sa.Column("cree_le", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("expire_le", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("empreinte", name=op.f("pk_session_pro")),
    )


def downgrade() -> None:
    op.drop_table("session_pro")
    op.drop_table("connexion_psc")
    op.drop_table("declaration_bilan")
    op.drop_table("professionnel_activite")
