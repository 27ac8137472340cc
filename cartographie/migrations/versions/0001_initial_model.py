"""Initial model: taxonomy, territories, offers, ingestion, provenance, accounts, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 09:04:23.776062
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TEXT_SEARCH_CONFIG = "cartographie_fr"


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    # French stemming with accents folded, used by the generated offre.recherche column.
    op.execute(f"CREATE TEXT SEARCH CONFIGURATION {TEXT_SEARCH_CONFIG} (COPY = pg_catalog.french)")
    op.execute(
        f"ALTER TEXT SEARCH CONFIGURATION {TEXT_SEARCH_CONFIG} "
        "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem"
    )
    op.create_table(
        "region",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("nom", sa.Text(), nullable=False),
        sa.Column("zone", sa.Text(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_region")),
    )
    op.create_index("ix_region_geom", "region", ["geom"], unique=False, postgresql_using="gist")
    op.create_table(
        "ressource_nationale",
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("nom", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("telephone", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("horaires", sa.Text(), nullable=True),
        sa.Column("cout", sa.Text(), nullable=True),
        sa.Column("verifie_le", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_ressource_nationale")),
    )
    op.create_table(
        "run",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("emplacement", sa.Text(), nullable=False),
        sa.Column("empreinte_sha256", sa.Text(), nullable=True),
        sa.Column("version_donnees", sa.Text(), nullable=True),
        sa.Column("statut", sa.Text(), server_default="en_cours", nullable=False),
        sa.Column(
            "debut", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("fin", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lus", sa.Integer(), server_default="0", nullable=False),
        sa.Column("inseres", sa.Integer(), server_default="0", nullable=False),
        sa.Column("mis_a_jour", sa.Integer(), server_default="0", nullable=False),
        sa.Column("inchanges", sa.Integer(), server_default="0", nullable=False),
        sa.Column("retires", sa.Integer(), server_default="0", nullable=False),
        sa.Column("quarantaines", sa.Integer(), server_default="0", nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "statut IN ('en_cours', 'reussi', 'echoue')", name=op.f("ck_run_statut")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run")),
    )
    op.create_table(
        "structure",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("nom", sa.Text(), nullable=False),
        sa.Column("nom_long", sa.Text(), nullable=True),
        sa.Column("finess_et", sa.Text(), nullable=True),
        sa.Column("finess_ej", sa.Text(), nullable=True),
        sa.Column("siret", sa.Text(), nullable=True),
        sa.Column("categorie_finess", sa.Text(), nullable=True),
        sa.Column("categorie_finess_libelle", sa.Text(), nullable=True),
        sa.Column("adresse", sa.Text(), nullable=True),
        sa.Column("code_postal", sa.Text(), nullable=True),
        sa.Column("code_commune", sa.Text(), nullable=True),
        sa.Column("telephone", sa.Text(), nullable=True),
        sa.Column(
            "cree_le", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "maj_le", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_structure")),
        sa.UniqueConstraint("finess_et", name=op.f("uq_structure_finess_et")),
    )
    op.create_index(op.f("ix_structure_siret"), "structure", ["siret"], unique=False)
    op.create_table(
        "theme",
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("nom", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("ordre", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_theme")),
    )
    op.create_table(
        "type_offre",
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("libelle", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_type_offre")),
    )
    op.create_table(
        "carte",
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("theme_slug", sa.Text(), nullable=False),
        sa.Column("nom", sa.Text(), nullable=False),
        sa.Column("resume", sa.Text(), nullable=False),
        sa.Column("texte_editorial", sa.Text(), nullable=False),
        sa.Column("ordre", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["theme_slug"],
            ["theme.slug"],
            name=op.f("fk_carte_theme_slug_theme"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_carte")),
    )
    op.create_table(
        "departement",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("nom", sa.Text(), nullable=False),
        sa.Column("code_region", sa.Text(), nullable=False),
        sa.Column("zone", sa.Text(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["code_region"], ["region.code"], name=op.f("fk_departement_code_region_region")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_departement")),
    )
    op.create_index(
        "ix_departement_geom", "departement", ["geom"], unique=False, postgresql_using="gist"
    )
    op.create_table(
        "offre",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("structure_id", sa.BigInteger(), nullable=True),
        sa.Column("nom", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("statut", sa.Text(), server_default="brouillon", nullable=False),
        sa.Column("retiree_le", sa.DateTime(timezone=True), nullable=True),
        sa.Column("motif_retrait", sa.Text(), nullable=True),
        sa.Column("origine", sa.Text(), server_default="national", nullable=False),
        sa.Column("region_contributrice", sa.Text(), nullable=True),
        sa.Column("age_min", sa.SmallInteger(), nullable=True),
        sa.Column("age_max", sa.SmallInteger(), nullable=True),
        sa.Column("gratuit", sa.Boolean(), nullable=True),
        sa.Column("modalites", sa.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("mode", sa.Text(), server_default="sur_place", nullable=False),
        sa.Column("zone_codes", sa.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column(
            "zone",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column(
            "contacts", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column("horaires", sa.Text(), nullable=True),
        sa.Column(
            "accessibilite",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("reservation_url", sa.Text(), nullable=True),
        sa.Column("site_web", sa.Text(), nullable=True),
        sa.Column("adresse", sa.Text(), nullable=True),
        sa.Column("code_postal", sa.Text(), nullable=True),
        sa.Column("code_commune", sa.Text(), nullable=True),
        sa.Column("code_departement", sa.Text(), nullable=True),
        sa.Column("code_region", sa.Text(), nullable=True),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("precision_geo", sa.Text(), nullable=True),
        sa.Column(
            "attributs",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "provenance",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "recherche",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('cartographie_fr', coalesce(nom, '')), 'A') || setweight(to_tsvector('cartographie_fr', coalesce(description, '')), 'B')",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "cree_le", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "maj_le", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint(
            "(statut = 'retiree') = (retiree_le IS NOT NULL)", name=op.f("ck_offre_retrait_date")
        ),
        sa.CheckConstraint(
            "mode = 'a_distance' OR geom IS NOT NULL", name=op.f("ck_offre_sur_place_localisee")
        ),
        sa.CheckConstraint("mode IN ('sur_place', 'a_distance')", name=op.f("ck_offre_mode")),
        sa.CheckConstraint("origine IN ('national', 'ars')", name=op.f("ck_offre_origine")),
        sa.CheckConstraint(
            "precision_geo IS NULL OR precision_geo IN ('adresse', 'voie', 'etablissement', 'commune')",
            name=op.f("ck_offre_precision_geo"),
        ),
        sa.CheckConstraint(
            "statut IN ('publiee', 'brouillon', 'retiree')", name=op.f("ck_offre_statut")
        ),
        sa.CheckConstraint(
            "age_min IS NULL OR age_max IS NULL OR age_min <= age_max",
            name=op.f("ck_offre_tranche_age"),
        ),
        sa.ForeignKeyConstraint(
            ["region_contributrice"],
            ["region.code"],
            name=op.f("fk_offre_region_contributrice_region"),
        ),
        sa.ForeignKeyConstraint(
            ["structure_id"],
            ["structure.id"],
            name=op.f("fk_offre_structure_id_structure"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offre")),
    )
    op.create_index(
        "ix_offre_attributs", "offre", ["attributs"], unique=False, postgresql_using="gin"
    )
    op.create_index("ix_offre_code_departement", "offre", ["code_departement"], unique=False)
    op.create_index("ix_offre_code_region", "offre", ["code_region"], unique=False)
    op.create_index("ix_offre_geom", "offre", ["geom"], unique=False, postgresql_using="gist")
    op.create_index(
        "ix_offre_recherche", "offre", ["recherche"], unique=False, postgresql_using="gin"
    )
    op.create_index(
        "ix_offre_statut_code_commune", "offre", ["statut", "code_commune"], unique=False
    )
    op.create_index(op.f("ix_offre_structure_id"), "offre", ["structure_id"], unique=False)
    op.create_index("ix_offre_zone", "offre", ["zone"], unique=False, postgresql_using="gist")
    op.create_table(
        "quarantaine",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("ligne", sa.Integer(), nullable=True),
        sa.Column("ressource", sa.Text(), nullable=True),
        sa.Column("raison", sa.Text(), nullable=False),
        sa.Column("contenu", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["run.id"], name=op.f("fk_quarantaine_run_id_run"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantaine")),
    )
    op.create_index(op.f("ix_quarantaine_run_id"), "quarantaine", ["run_id"], unique=False)
    op.create_table(
        "source_record",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("cle", sa.Text(), nullable=False),
        sa.Column("premier_run_id", sa.BigInteger(), nullable=False),
        sa.Column("dernier_run_id", sa.BigInteger(), nullable=False),
        sa.Column("empreinte", sa.Text(), nullable=False),
        sa.Column("brut", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("normalise", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column(
            "vu_le", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("retire_le", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["dernier_run_id"], ["run.id"], name=op.f("fk_source_record_dernier_run_id_run")
        ),
        sa.ForeignKeyConstraint(
            ["premier_run_id"], ["run.id"], name=op.f("fk_source_record_premier_run_id_run")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_record")),
        sa.UniqueConstraint("source", "cle", name=op.f("uq_source_record_source_cle")),
    )
    op.create_index(
        op.f("ix_source_record_dernier_run_id"), "source_record", ["dernier_run_id"], unique=False
    )
    op.create_index(
        "ix_source_record_geom", "source_record", ["geom"], unique=False, postgresql_using="gist"
    )
    op.create_table(
        "utilisateur",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("nom", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("code_region", sa.Text(), nullable=True),
        sa.Column(
            "cree_le", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("revoque_le", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role = 'admin' OR code_region IS NOT NULL", name=op.f("ck_utilisateur_region_ars")
        ),
        sa.CheckConstraint(
            "role IN ('admin', 'ars_editeur', 'ars_moderateur')", name=op.f("ck_utilisateur_role")
        ),
        sa.ForeignKeyConstraint(
            ["code_region"], ["region.code"], name=op.f("fk_utilisateur_code_region_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_utilisateur")),
        sa.UniqueConstraint("nom", name=op.f("uq_utilisateur_nom")),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "le", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("utilisateur_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("objet_type", sa.Text(), nullable=False),
        sa.Column("objet_id", sa.Text(), nullable=True),
        sa.Column("code_region", sa.Text(), nullable=True),
        sa.Column("avant", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("apres", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("adresse_ip", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["utilisateur_id"],
            ["utilisateur.id"],
            name=op.f("fk_audit_utilisateur_id_utilisateur"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit")),
    )
    op.create_index(op.f("ix_audit_code_region"), "audit", ["code_region"], unique=False)
    op.create_index(op.f("ix_audit_utilisateur_id"), "audit", ["utilisateur_id"], unique=False)
    op.create_table(
        "besoin",
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("carte_slug", sa.Text(), nullable=False),
        sa.Column("libelle", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("ordre", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["carte_slug"],
            ["carte.slug"],
            name=op.f("fk_besoin_carte_slug_carte"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_besoin")),
    )
    op.create_table(
        "carte_ressource",
        sa.Column("carte_slug", sa.Text(), nullable=False),
        sa.Column("ressource_slug", sa.Text(), nullable=False),
        sa.Column("ordre", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["carte_slug"],
            ["carte.slug"],
            name=op.f("fk_carte_ressource_carte_slug_carte"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ressource_slug"],
            ["ressource_nationale.slug"],
            name=op.f("fk_carte_ressource_ressource_slug_ressource_nationale"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("carte_slug", "ressource_slug", name=op.f("pk_carte_ressource")),
    )
    op.create_table(
        "carte_type_offre",
        sa.Column("carte_slug", sa.Text(), nullable=False),
        sa.Column("type_offre_slug", sa.Text(), nullable=False),
        sa.Column("ordre", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["carte_slug"],
            ["carte.slug"],
            name=op.f("fk_carte_type_offre_carte_slug_carte"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["type_offre_slug"],
            ["type_offre.slug"],
            name=op.f("fk_carte_type_offre_type_offre_slug_type_offre"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("carte_slug", "type_offre_slug", name=op.f("pk_carte_type_offre")),
    )
    op.create_table(
        "commune",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("nom", sa.Text(), nullable=False),
        sa.Column("code_departement", sa.Text(), nullable=False),
        sa.Column("code_region", sa.Text(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("codes_postaux", sa.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column(
            "centre",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=True,
            ),
            nullable=True,
        ),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["code_departement"],
            ["departement.code"],
            name=op.f("fk_commune_code_departement_departement"),
        ),
        sa.ForeignKeyConstraint(
            ["code_region"], ["region.code"], name=op.f("fk_commune_code_region_region")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_commune")),
    )
    op.create_index(
        op.f("ix_commune_code_departement"), "commune", ["code_departement"], unique=False
    )
    op.create_index(op.f("ix_commune_code_region"), "commune", ["code_region"], unique=False)
    op.create_index(
        "ix_commune_codes_postaux",
        "commune",
        ["codes_postaux"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index("ix_commune_geom", "commune", ["geom"], unique=False, postgresql_using="gist")
    op.create_table(
        "historique",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("offre_id", sa.BigInteger(), nullable=False),
        sa.Column("champ", sa.Text(), nullable=False),
        sa.Column("ancienne_valeur", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("nouvelle_valeur", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("utilisateur_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "le", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["offre_id"],
            ["offre.id"],
            name=op.f("fk_historique_offre_id_offre"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["run.id"], name=op.f("fk_historique_run_id_run"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["utilisateur_id"],
            ["utilisateur.id"],
            name=op.f("fk_historique_utilisateur_id_utilisateur"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_historique")),
    )
    op.create_index(op.f("ix_historique_offre_id"), "historique", ["offre_id"], unique=False)
    op.create_table(
        "jeton",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("utilisateur_id", sa.BigInteger(), nullable=False),
        sa.Column("empreinte", sa.Text(), nullable=False),
        sa.Column("prefixe", sa.Text(), nullable=False),
        sa.Column(
            "cree_le", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("revoque_le", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dernier_usage_le", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["utilisateur_id"],
            ["utilisateur.id"],
            name=op.f("fk_jeton_utilisateur_id_utilisateur"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jeton")),
        sa.UniqueConstraint("empreinte", name=op.f("uq_jeton_empreinte")),
    )
    op.create_index(op.f("ix_jeton_utilisateur_id"), "jeton", ["utilisateur_id"], unique=False)
    op.create_table(
        "jeu",
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("carte_slug", sa.Text(), nullable=False),
        sa.Column("nom", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("definition", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("ordre", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["carte_slug"], ["carte.slug"], name=op.f("fk_jeu_carte_slug_carte"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_jeu")),
    )
    op.create_table(
        "offre_source",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("offre_id", sa.BigInteger(), nullable=False),
        sa.Column("source_record_id", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("cle", sa.Text(), nullable=False),
        sa.Column("premier_run_id", sa.BigInteger(), nullable=True),
        sa.Column("dernier_run_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "premiere_vue",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "derniere_vue",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("actif", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("raison", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dernier_run_id"], ["run.id"], name=op.f("fk_offre_source_dernier_run_id_run")
        ),
        sa.ForeignKeyConstraint(
            ["offre_id"],
            ["offre.id"],
            name=op.f("fk_offre_source_offre_id_offre"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["premier_run_id"], ["run.id"], name=op.f("fk_offre_source_premier_run_id_run")
        ),
        sa.ForeignKeyConstraint(
            ["source_record_id"],
            ["source_record.id"],
            name=op.f("fk_offre_source_source_record_id_source_record"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offre_source")),
        sa.UniqueConstraint(
            "offre_id", "source", "cle", name=op.f("uq_offre_source_offre_id_source_cle")
        ),
    )
    op.create_index(op.f("ix_offre_source_offre_id"), "offre_source", ["offre_id"], unique=False)
    op.create_index(
        op.f("ix_offre_source_source_record_id"), "offre_source", ["source_record_id"], unique=False
    )
    op.create_table(
        "offre_type_offre",
        sa.Column("offre_id", sa.BigInteger(), nullable=False),
        sa.Column("type_offre_slug", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["offre_id"],
            ["offre.id"],
            name=op.f("fk_offre_type_offre_offre_id_offre"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["type_offre_slug"],
            ["type_offre.slug"],
            name=op.f("fk_offre_type_offre_type_offre_slug_type_offre"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("offre_id", "type_offre_slug", name=op.f("pk_offre_type_offre")),
    )
    op.create_index(
        op.f("ix_offre_type_offre_type_offre_slug"),
        "offre_type_offre",
        ["type_offre_slug"],
        unique=False,
    )
    op.create_table(
        "besoin_jeu",
        sa.Column("besoin_slug", sa.Text(), nullable=False),
        sa.Column("jeu_slug", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["besoin_slug"],
            ["besoin.slug"],
            name=op.f("fk_besoin_jeu_besoin_slug_besoin"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["jeu_slug"], ["jeu.slug"], name=op.f("fk_besoin_jeu_jeu_slug_jeu"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("besoin_slug", "jeu_slug", name=op.f("pk_besoin_jeu")),
    )
    op.create_table(
        "besoin_type_offre",
        sa.Column("besoin_slug", sa.Text(), nullable=False),
        sa.Column("type_offre_slug", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["besoin_slug"],
            ["besoin.slug"],
            name=op.f("fk_besoin_type_offre_besoin_slug_besoin"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["type_offre_slug"],
            ["type_offre.slug"],
            name=op.f("fk_besoin_type_offre_type_offre_slug_type_offre"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "besoin_slug", "type_offre_slug", name=op.f("pk_besoin_type_offre")
        ),
    )
    op.create_table(
        "commune_alias",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("code_commune", sa.Text(), nullable=False),
        sa.Column("nom", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["code_commune"],
            ["commune.code"],
            name=op.f("fk_commune_alias_code_commune_commune"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_commune_alias")),
    )
    op.create_table(
        "jeu_offre",
        sa.Column("jeu_slug", sa.Text(), nullable=False),
        sa.Column("offre_id", sa.BigInteger(), nullable=False),
        sa.Column("raison", sa.Text(), nullable=False),
        sa.Column("regle", sa.Text(), nullable=True),
        sa.CheckConstraint("raison IN ('regle', 'manuel')", name=op.f("ck_jeu_offre_raison")),
        sa.ForeignKeyConstraint(
            ["jeu_slug"], ["jeu.slug"], name=op.f("fk_jeu_offre_jeu_slug_jeu"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["offre_id"], ["offre.id"], name=op.f("fk_jeu_offre_offre_id_offre"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("jeu_slug", "offre_id", name=op.f("pk_jeu_offre")),
    )
    op.create_index(op.f("ix_jeu_offre_offre_id"), "jeu_offre", ["offre_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_jeu_offre_offre_id"), table_name="jeu_offre")
    op.drop_table("jeu_offre")
    op.drop_table("commune_alias")
    op.drop_table("besoin_type_offre")
    op.drop_table("besoin_jeu")
    op.drop_index(op.f("ix_offre_type_offre_type_offre_slug"), table_name="offre_type_offre")
    op.drop_table("offre_type_offre")
    op.drop_index(op.f("ix_offre_source_source_record_id"), table_name="offre_source")
    op.drop_index(op.f("ix_offre_source_offre_id"), table_name="offre_source")
    op.drop_table("offre_source")
    op.drop_table("jeu")
    op.drop_index(op.f("ix_jeton_utilisateur_id"), table_name="jeton")
    op.drop_table("jeton")
    op.drop_index(op.f("ix_historique_offre_id"), table_name="historique")
    op.drop_table("historique")
    op.drop_index("ix_commune_geom", table_name="commune", postgresql_using="gist")
    op.drop_index("ix_commune_codes_postaux", table_name="commune", postgresql_using="gin")
    op.drop_index(op.f("ix_commune_code_region"), table_name="commune")
    op.drop_index(op.f("ix_commune_code_departement"), table_name="commune")
    op.drop_table("commune")
    op.drop_table("carte_type_offre")
    op.drop_table("carte_ressource")
    op.drop_table("besoin")
    op.drop_index(op.f("ix_audit_utilisateur_id"), table_name="audit")
    op.drop_index(op.f("ix_audit_code_region"), table_name="audit")
    op.drop_table("audit")
    op.drop_table("utilisateur")
    op.drop_index("ix_source_record_geom", table_name="source_record", postgresql_using="gist")
    op.drop_index(op.f("ix_source_record_dernier_run_id"), table_name="source_record")
    op.drop_table("source_record")
    op.drop_index(op.f("ix_quarantaine_run_id"), table_name="quarantaine")
    op.drop_table("quarantaine")
    op.drop_index("ix_offre_zone", table_name="offre", postgresql_using="gist")
    op.drop_index(op.f("ix_offre_structure_id"), table_name="offre")
    op.drop_index("ix_offre_statut_code_commune", table_name="offre")
    op.drop_index("ix_offre_recherche", table_name="offre", postgresql_using="gin")
    op.drop_index("ix_offre_geom", table_name="offre", postgresql_using="gist")
    op.drop_index("ix_offre_code_region", table_name="offre")
    op.drop_index("ix_offre_code_departement", table_name="offre")
    op.drop_index("ix_offre_attributs", table_name="offre", postgresql_using="gin")
    op.drop_table("offre")
    op.drop_index("ix_departement_geom", table_name="departement", postgresql_using="gist")
    op.drop_table("departement")
    op.drop_table("carte")
    op.drop_table("type_offre")
    op.drop_table("theme")
    op.drop_index(op.f("ix_structure_siret"), table_name="structure")
    op.drop_table("structure")
    op.drop_table("run")
    op.drop_table("ressource_nationale")
    op.drop_index("ix_region_geom", table_name="region", postgresql_using="gist")
    op.drop_table("region")
    op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {TEXT_SEARCH_CONFIG}")
