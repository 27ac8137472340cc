"""A data version that every write to the searched tables changes, for exact cached results.

The exact ``total`` of a search without radius does not depend on the point, and a tile
does not depend on who asks: both can be kept until the data change. Statement-level
triggers set ``version_donnees.version`` on every INSERT, UPDATE, DELETE or TRUNCATE of the
tables a search reads. The value is the transaction id and a sequence number: never reused,
not even after a rollback or in a recreated database, so a cached entry is never mistaken
for another state of the data.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCHED_TABLES = ("offre", "offre_type_offre", "jeu", "jeu_offre", "carte", "besoin",
                   "besoin_jeu", "besoin_type_offre")
NEW_VERSION = "pg_current_xact_id()::text || '.' || nextval('version_donnees_seq')"


def upgrade() -> None:
    op.create_table(
        "version_donnees",
        sa.Column("id", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.CheckConstraint("id", name=op.f("ck_version_donnees_une_ligne")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_version_donnees")),
    )
    op.execute("CREATE SEQUENCE version_donnees_seq")
    op.execute(f"INSERT INTO version_donnees (version) VALUES ({NEW_VERSION})")
    op.execute(f"""
        CREATE FUNCTION nouvelle_version_donnees() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE version_donnees SET version = {NEW_VERSION};
            RETURN NULL;
        END $$
    """)
    for table in SEARCHED_TABLES:
        op.execute(f"""
            CREATE TRIGGER version_donnees AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
            ON {table} FOR EACH STATEMENT EXECUTE FUNCTION nouvelle_version_donnees()
        """)


def downgrade() -> None:
    for table in SEARCHED_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS version_donnees ON {table}")
    op.execute("DROP FUNCTION IF EXISTS nouvelle_version_donnees()")
    op.drop_table("version_donnees")
    op.execute("DROP SEQUENCE IF EXISTS version_donnees_seq")
