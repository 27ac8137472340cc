"""The data version changes at commit, so that writers no longer wait for each other.

Why: migration 0004's statement triggers updated the single row ``version_donnees`` inside
each writing transaction, holding its lock until the end: every write (an Occitanie
moderator's edit) waited for any other (a Grand Est dry run of 20,000 rows), whatever their
régions. Now a write statement only notes its transaction in ``version_a_publier`` (one row
per transaction, no shared row) and sets a transaction-local version that the writer itself
reads (``version_donnees_courante()``); a deferred trigger on that note gives
``version_donnees`` its new value at commit — a lock held for the commit only. A transaction
that rolls back (a dry run) never touches it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Kept from 0004: a migration does not import another one.
NEW_VERSION = "pg_current_xact_id()::text || '.' || nextval('version_donnees_seq')"


def upgrade() -> None:
    op.create_table(
        "version_a_publier",
        sa.Column("xact", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("xact", name=op.f("pk_version_a_publier")),
    )
    op.execute(f"""
        CREATE OR REPLACE FUNCTION nouvelle_version_donnees() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM set_config('cartographie.version_locale', {NEW_VERSION}, true);
            INSERT INTO version_a_publier (xact) VALUES (pg_current_xact_id()::text)
            ON CONFLICT DO NOTHING;
            RETURN NULL;
        END $$
    """)
    op.execute(f"""
        CREATE FUNCTION publier_version_donnees() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE version_donnees SET version = {NEW_VERSION};
            DELETE FROM version_a_publier WHERE xact = NEW.xact;
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE CONSTRAINT TRIGGER version_donnees_au_commit AFTER INSERT ON version_a_publier
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION publier_version_donnees()
    """)
    op.execute("""
        CREATE FUNCTION version_donnees_courante() RETURNS text LANGUAGE sql STABLE AS $$
            SELECT coalesce(nullif(current_setting('cartographie.version_locale', true), ''),
                            '-') || '/' || version
            FROM version_donnees
        $$
    """)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS version_donnees_courante()")
    op.execute("DROP TRIGGER IF EXISTS version_donnees_au_commit ON version_a_publier")
    op.execute("DROP FUNCTION IF EXISTS publier_version_donnees()")
    op.drop_table("version_a_publier")
    op.execute(f"""
        CREATE OR REPLACE FUNCTION nouvelle_version_donnees() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE version_donnees SET version = {NEW_VERSION};
            RETURN NULL;
        END $$
    """)
