"""The data model (SQLAlchemy 2 typed ORM + GeoAlchemy2), mirrored by the Alembic migrations.

French domain words are kept as table and column names: they are the words of the API and of
the people who use the service. Geometries are EPSG:4326 (France includes the DROM, no single
metric projection fits all); distances are computed on ``geography``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from geoalchemy2 import Geography, Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Text search configuration created by the first migration: French stemming, accents folded,
# so that « depistage » finds « Dépistage ».
TEXT_SEARCH_CONFIG = "cartographie_fr"

OFFRE_STATUTS = ("publiee", "brouillon", "retiree")
OFFRE_MODES = ("sur_place", "a_distance")
OFFRE_ORIGINES = ("national", "ars")
PRECISIONS_GEO = ("adresse", "voie", "etablissement", "commune")
RUN_STATUTS = ("en_cours", "reussi", "echoue")
ROLES = ("admin", "ars_editeur", "ars_moderateur")
RAISONS_JEU = ("regle", "manuel")
DECISIONS_FUSION = ("fusion", "quasi")
DECISIONS_RAPPROCHEMENT = ("confirme", "rejete")


def one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def now_column() -> Mapped[dt.datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def point() -> Geometry:
    return Geometry("POINT", srid=4326, spatial_index=False)


def published_point() -> Geography:
    """The offer's point while it is published and on site, else NULL (migration 0008)."""
    return Geography("POINT", srid=4326, spatial_index=False)


def multipolygon() -> Geometry:
    return Geometry("MULTIPOLYGON", srid=4326, spatial_index=False)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# -- taxonomy: subjects, cards, needs, offer types, national resources ---------------------


class Theme(Base):
    """A « sujet clé » of the bilan (7 of them)."""

    __tablename__ = "theme"
    slug: Mapped[str] = mapped_column(Text, primary_key=True)
    nom: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    ordre: Mapped[int] = mapped_column(SmallInteger)

    cartes: Mapped[list[Carte]] = relationship(back_populates="theme", order_by="Carte.ordre")


class Carte(Base):
    """One of the 12 thematic cards a person can be oriented to."""

    __tablename__ = "carte"
    slug: Mapped[str] = mapped_column(Text, primary_key=True)
    theme_slug: Mapped[str] = mapped_column(ForeignKey("theme.slug", ondelete="RESTRICT"))
    nom: Mapped[str] = mapped_column(Text)
    resume: Mapped[str] = mapped_column(Text)
    texte_editorial: Mapped[str] = mapped_column(Text, doc="Markdown")
    ordre: Mapped[int] = mapped_column(SmallInteger)
    revision_jours: Mapped[int] = mapped_column(
        SmallInteger, server_default="365", doc="Au-delà, une offre non confirmée est à revoir")

    theme: Mapped[Theme] = relationship(back_populates="cartes")
    besoins: Mapped[list[Besoin]] = relationship(order_by="Besoin.ordre")
    types_offre: Mapped[list[TypeOffre]] = relationship(
        secondary="carte_type_offre", order_by="CarteTypeOffre.ordre", viewonly=True
    )
    ressources: Mapped[list[RessourceNationale]] = relationship(
        secondary="carte_ressource", order_by="CarteRessource.ordre", viewonly=True
    )
    jeux: Mapped[list[Jeu]] = relationship(order_by="Jeu.ordre", viewonly=True)


class TypeOffre(Base):
    """A kind of offer (consultation, dépistage, ligne d'écoute…): the « par offre » filter."""

    __tablename__ = "type_offre"
    slug: Mapped[str] = mapped_column(Text, primary_key=True)
    libelle: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)


class CarteTypeOffre(Base):
    __tablename__ = "carte_type_offre"
    carte_slug: Mapped[str] = mapped_column(
        ForeignKey("carte.slug", ondelete="CASCADE"), primary_key=True
    )
    type_offre_slug: Mapped[str] = mapped_column(
        ForeignKey("type_offre.slug", ondelete="CASCADE"), primary_key=True
    )
    ordre: Mapped[int] = mapped_column(SmallInteger)


class Besoin(Base):
    """A need a person expresses on a card (« arrêter de fumer »): the « par besoin » filter."""

    __tablename__ = "besoin"
    slug: Mapped[str] = mapped_column(Text, primary_key=True)
    carte_slug: Mapped[str] = mapped_column(ForeignKey("carte.slug", ondelete="CASCADE"))
    libelle: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    ordre: Mapped[int] = mapped_column(SmallInteger)

    types_offre: Mapped[list[TypeOffre]] = relationship(
        secondary="besoin_type_offre", order_by="TypeOffre.slug", viewonly=True
    )


class BesoinTypeOffre(Base):
    __tablename__ = "besoin_type_offre"
    besoin_slug: Mapped[str] = mapped_column(
        ForeignKey("besoin.slug", ondelete="CASCADE"), primary_key=True
    )
    type_offre_slug: Mapped[str] = mapped_column(
        ForeignKey("type_offre.slug", ondelete="CASCADE"), primary_key=True
    )


class RessourceNationale(Base):
    """A trusted national remote resource: helpline, official site."""

    __tablename__ = "ressource_nationale"
    slug: Mapped[str] = mapped_column(Text, primary_key=True)
    nom: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    telephone: Mapped[str | None] = mapped_column(Text, doc="As written for people: « 39 89 »")
    url: Mapped[str | None] = mapped_column(Text)
    horaires: Mapped[str | None] = mapped_column(Text)
    cout: Mapped[str | None] = mapped_column(Text, doc="« Appel gratuit », « prix d'un appel »")
    verifie_le: Mapped[dt.date] = mapped_column(Date)
    age_min: Mapped[int | None] = mapped_column(SmallInteger)
    age_max: Mapped[int | None] = mapped_column(SmallInteger)
    publics: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")


class CarteRessource(Base):
    __tablename__ = "carte_ressource"
    carte_slug: Mapped[str] = mapped_column(
        ForeignKey("carte.slug", ondelete="CASCADE"), primary_key=True
    )
    ressource_slug: Mapped[str] = mapped_column(
        ForeignKey("ressource_nationale.slug", ondelete="CASCADE"), primary_key=True
    )
    ordre: Mapped[int] = mapped_column(SmallInteger)


# -- territories -------------------------------------------------------------------------


class Region(Base):
    __tablename__ = "region"
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    nom: Mapped[str] = mapped_column(Text)
    zone: Mapped[str] = mapped_column(Text, doc="metro, drom ou com")
    geom: Mapped[Any | None] = mapped_column(multipolygon())
    __table_args__ = (Index("ix_region_geom", "geom", postgresql_using="gist"),)


class Departement(Base):
    __tablename__ = "departement"
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    nom: Mapped[str] = mapped_column(Text)
    code_region: Mapped[str] = mapped_column(ForeignKey("region.code"))
    zone: Mapped[str] = mapped_column(Text)
    geom: Mapped[Any | None] = mapped_column(multipolygon())
    __table_args__ = (Index("ix_departement_geom", "geom", postgresql_using="gist"),)


class Commune(Base):
    """A current commune (COG): its outline places points, its centre stands for it.

    A few overseas collectivities have neither outline nor point in the open sources: they
    are still listed, so that an offer can get their code from its postcode.
    """

    __tablename__ = "commune"
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    nom: Mapped[str] = mapped_column(Text)
    code_departement: Mapped[str] = mapped_column(ForeignKey("departement.code"), index=True)
    code_region: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    population: Mapped[int | None] = mapped_column(Integer)
    codes_postaux: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    centre: Mapped[Any | None] = mapped_column(point(), doc="Absent si aucune source ne le place")
    geom: Mapped[Any | None] = mapped_column(multipolygon())
    __table_args__ = (
        Index("ix_commune_geom", "geom", postgresql_using="gist"),
        Index("ix_commune_codes_postaux", "codes_postaux", postgresql_using="gin"),
    )


class CommuneAlias(Base):
    """An older or finer code (merged commune, arrondissement municipal) → the current commune."""

    __tablename__ = "commune_alias"
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    code_commune: Mapped[str] = mapped_column(ForeignKey("commune.code", ondelete="CASCADE"))
    nom: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)


# -- offers ------------------------------------------------------------------------------


class Structure(Base):
    """The organisation or establishment that delivers offers (FINESS ET, SIRET)."""

    __tablename__ = "structure"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    nom: Mapped[str] = mapped_column(Text)
    nom_long: Mapped[str | None] = mapped_column(Text)
    finess_et: Mapped[str | None] = mapped_column(Text, unique=True)
    finess_ej: Mapped[str | None] = mapped_column(Text)
    siret: Mapped[str | None] = mapped_column(Text, index=True)
    categorie_finess: Mapped[str | None] = mapped_column(Text)
    categorie_finess_libelle: Mapped[str | None] = mapped_column(Text)
    adresse: Mapped[str | None] = mapped_column(Text)
    code_postal: Mapped[str | None] = mapped_column(Text)
    code_commune: Mapped[str | None] = mapped_column(Text)
    telephone: Mapped[str | None] = mapped_column(Text)
    cree_le: Mapped[dt.datetime] = now_column()
    maj_le: Mapped[dt.datetime] = now_column()


class Offre(Base):
    """One prevention service at one place, or remote with the zone it serves."""

    __tablename__ = "offre"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    structure_id: Mapped[int | None] = mapped_column(
        ForeignKey("structure.id", ondelete="SET NULL"), index=True
    )
    nom: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    statut: Mapped[str] = mapped_column(Text, server_default="brouillon")
    retiree_le: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    motif_retrait: Mapped[str | None] = mapped_column(Text)
    origine: Mapped[str] = mapped_column(Text, server_default="national")
    verifie_le: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), doc="Dernière confirmation par une ARS")
    verifie_par: Mapped[str | None] = mapped_column(Text, doc="Le compte qui l'a confirmée")
    region_contributrice: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    age_min: Mapped[int | None] = mapped_column(SmallInteger)
    age_max: Mapped[int | None] = mapped_column(SmallInteger)
    public_age_min: Mapped[int | None] = mapped_column(
        SmallInteger, doc="Public effectif, déduit des sources et des jeux (jeux recompute)")
    public_age_max: Mapped[int | None] = mapped_column(SmallInteger)
    public_publics: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    public_provenance: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default="[]", doc="D'où vient chaque borne du public effectif")
    nom_source: Mapped[str | None] = mapped_column(Text, doc="Le nom tel que la source l'écrit")
    gratuit: Mapped[bool | None] = mapped_column(Boolean)
    modalites: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default="{}", doc="sans_rdv, sur_rdv, anonyme, teleconsultation…"
    )
    mode: Mapped[str] = mapped_column(Text, server_default="sur_place")
    zone_codes: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default="{}", doc="Codes COG desservis par une offre à distance"
    )
    zone: Mapped[Any | None] = mapped_column(multipolygon())
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    horaires: Mapped[str | None] = mapped_column(Text, doc="Syntaxe OSM opening_hours")
    accessibilite: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    reservation_url: Mapped[str | None] = mapped_column(Text)
    site_web: Mapped[str | None] = mapped_column(Text)
    adresse: Mapped[str | None] = mapped_column(Text)
    code_postal: Mapped[str | None] = mapped_column(Text)
    code_commune: Mapped[str | None] = mapped_column(Text)
    code_departement: Mapped[str | None] = mapped_column(Text)
    code_region: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any | None] = mapped_column(point())
    precision_geo: Mapped[str | None] = mapped_column(Text)
    attributs: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default="{}", doc="Attributs normalisés des sources, lus par les jeux"
    )
    provenance: Mapped[dict[str, str]] = mapped_column(
        JSONB, server_default="{}",
        doc="Pour chaque champ, la source qui en donne la valeur (« nom » → « finess »)",
    )
    recherche: Mapped[Any] = mapped_column(
        TSVECTOR,
        Computed(
            f"setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', coalesce(nom, '')), 'A') || "
            f"setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', coalesce(nom_source, '')), 'A') || "
            f"setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', coalesce(description, '')), 'B')",
            persisted=True,
        ),
    )
    cree_le: Mapped[dt.datetime] = now_column()
    maj_le: Mapped[dt.datetime] = now_column()

    types_offre: Mapped[list[TypeOffre]] = relationship(secondary="offre_type_offre", viewonly=True)

    __table_args__ = (
        CheckConstraint(one_of("statut", OFFRE_STATUTS), name="statut"),
        CheckConstraint(one_of("mode", OFFRE_MODES), name="mode"),
        CheckConstraint(one_of("origine", OFFRE_ORIGINES), name="origine"),
        CheckConstraint(
            f"precision_geo IS NULL OR {one_of('precision_geo', PRECISIONS_GEO)}",
            name="precision_geo",
        ),
        CheckConstraint(
            "age_min IS NULL OR age_max IS NULL OR age_min <= age_max", name="tranche_age"
        ),
        CheckConstraint("mode = 'a_distance' OR geom IS NOT NULL", name="sur_place_localisee"),
        CheckConstraint(
            "(statut = 'retiree') = (retiree_le IS NOT NULL)", name="retrait_date"
        ),
        Index("ix_offre_geom", "geom", postgresql_using="gist"),
        # Nearest offers in true metres (KNN on the sphere), for « near this person ».
        Index("ix_offre_geog", text("(geom::geography)"), postgresql_using="gist"),
        Index("ix_offre_zone", "zone", postgresql_using="gist"),
        Index("ix_offre_recherche", "recherche", postgresql_using="gin"),
        Index("ix_offre_attributs", "attributs", postgresql_using="gin"),
        Index("ix_offre_statut_code_commune", "statut", "code_commune"),
        Index("ix_offre_code_departement", "code_departement"),
        Index("ix_offre_code_region", "code_region"),
    )


class InformationTemporaire(Base):
    """A temporary closure or temporary hours of an offer, from ``du`` to ``au`` (inclusive,
    days of Europe/Paris), set by an ARS; kept after its end and when cancelled (history)."""

    __tablename__ = "information_temporaire"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    offre_id: Mapped[int] = mapped_column(ForeignKey("offre.id", ondelete="CASCADE"), index=True)
    genre: Mapped[str] = mapped_column(Text, doc="fermeture ou horaires")
    du: Mapped[dt.date] = mapped_column(Date)
    au: Mapped[dt.date] = mapped_column(Date)
    horaires: Mapped[str | None] = mapped_column(Text, doc="OSM opening_hours de la période")
    message: Mapped[str | None] = mapped_column(Text)
    cree_le: Mapped[dt.datetime] = now_column()
    cree_par: Mapped[int | None] = mapped_column(
        ForeignKey("utilisateur.id", ondelete="SET NULL"))
    annulee_le: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    annulee_par: Mapped[int | None] = mapped_column(
        ForeignKey("utilisateur.id", ondelete="SET NULL"))
    __table_args__ = (
        CheckConstraint("genre IN ('fermeture', 'horaires')", name="genre"),
        CheckConstraint("du <= au", name="periode"),
        CheckConstraint("(genre = 'horaires') = (horaires IS NOT NULL)",
                        name="horaires_si_horaires"),
        CheckConstraint("char_length(message) <= 200", name="message_court"),
    )


class VersionDonnees(Base):
    """One row whose ``version`` changes with every write to the tables a search reads.

    Triggers (migrations 0004, 0006) set it at commit, and a writer reads its own
    transaction's version (``version_donnees_courante()``); results that depend only on the
    data, such as exact totals and tiles, are cached under it (``cartographie.cache``).
    """

    __tablename__ = "version_donnees"
    id: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=text("true"))
    version: Mapped[str] = mapped_column(Text)
    __table_args__ = (CheckConstraint("id", name="une_ligne"),)


class VersionAPublier(Base):
    """A transaction that wrote the searched tables, until its commit gives
    ``version_donnees`` a new value (deferred trigger, migration 0006): writers never wait
    on the shared version row before they commit."""

    __tablename__ = "version_a_publier"
    xact: Mapped[str] = mapped_column(Text, primary_key=True)


class OffreTypeOffre(Base):
    __tablename__ = "offre_type_offre"
    offre_id: Mapped[int] = mapped_column(
        ForeignKey("offre.id", ondelete="CASCADE"), primary_key=True
    )
    type_offre_slug: Mapped[str] = mapped_column(
        ForeignKey("type_offre.slug", ondelete="CASCADE"), primary_key=True, index=True
    )


class Jeu(Base):
    """A jeu d'offres: a rule-defined (plus manual include/exclude) set of offers on a card."""

    __tablename__ = "jeu"
    slug: Mapped[str] = mapped_column(Text, primary_key=True)
    carte_slug: Mapped[str] = mapped_column(ForeignKey("carte.slug", ondelete="CASCADE"))
    nom: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    ordre: Mapped[int] = mapped_column(SmallInteger)
    age_min: Mapped[int | None] = mapped_column(SmallInteger, doc="Public servi (inclus)")
    age_max: Mapped[int | None] = mapped_column(SmallInteger)
    publics: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default="{}", doc="Publics réservés, ex. « etudiants »")
    revision_jours: Mapped[int | None] = mapped_column(
        SmallInteger, doc="Période de révision propre au jeu ; sans elle, celle de la carte")


class JeuOffre(Base):
    """Membership of an offer in a jeu, with the reason it is there."""

    __tablename__ = "jeu_offre"
    jeu_slug: Mapped[str] = mapped_column(
        ForeignKey("jeu.slug", ondelete="CASCADE"), primary_key=True
    )
    offre_id: Mapped[int] = mapped_column(
        ForeignKey("offre.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    raison: Mapped[str] = mapped_column(Text)
    regle: Mapped[str | None] = mapped_column(Text, doc="La règle qui a retenu l'offre")
    geog: Mapped[Any | None] = mapped_column(
        published_point(), doc="Position publiée de l'offre, tenue par déclencheur")
    __table_args__ = (
        CheckConstraint(one_of("raison", RAISONS_JEU), name="raison"),
        # The k nearest offers of one jeu, without walking the others (btree_gist).
        Index("ix_jeu_offre_jeu_slug_geog", "jeu_slug", "geog", postgresql_using="gist"),
    )


class CarteOffre(Base):
    """An offer held by at least one jeu of a card, with its published position.

    Derived: triggers of migration 0008 keep it equal to the memberships; never written by
    the code.
    """

    __tablename__ = "carte_offre"
    carte_slug: Mapped[str] = mapped_column(
        ForeignKey("carte.slug", ondelete="CASCADE"), primary_key=True
    )
    offre_id: Mapped[int] = mapped_column(
        ForeignKey("offre.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    geog: Mapped[Any | None] = mapped_column(published_point())
    __table_args__ = (
        Index("ix_carte_offre_carte_slug_geog", "carte_slug", "geog", postgresql_using="gist"),
    )


class CelluleOffre(Base):
    """The published offers of one cell of the low-zoom tile grid, for all offers (couche
    '') or one card: derived, kept by the triggers of migration 0008."""

    __tablename__ = "cellule_offre"
    couche: Mapped[str] = mapped_column(Text, primary_key=True)
    z: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    cx: Mapped[int] = mapped_column(Integer, primary_key=True)
    cy: Mapped[int] = mapped_column(Integer, primary_key=True)
    nombre: Mapped[int] = mapped_column(BigInteger)
    somme_id: Mapped[int] = mapped_column(BigInteger, doc="L'identifiant quand nombre = 1")
    somme_lon: Mapped[float] = mapped_column(Float(precision=53))
    somme_lat: Mapped[float] = mapped_column(Float(precision=53))


class BesoinJeu(Base):
    __tablename__ = "besoin_jeu"
    besoin_slug: Mapped[str] = mapped_column(
        ForeignKey("besoin.slug", ondelete="CASCADE"), primary_key=True
    )
    jeu_slug: Mapped[str] = mapped_column(
        ForeignKey("jeu.slug", ondelete="CASCADE"), primary_key=True
    )


# -- ingestion: runs, source records, quarantine, provenance, history --------------------


class Run(Base):
    """One ingestion of one source file or URL."""

    __tablename__ = "run"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text)
    emplacement: Mapped[str] = mapped_column(Text, doc="Chemin ou URL lu")
    empreinte_sha256: Mapped[str | None] = mapped_column(Text)
    version_donnees: Mapped[str | None] = mapped_column(Text)
    donnees_du: Mapped[dt.date | None] = mapped_column(
        Date, doc="Le jour que décrivent les données de la source (date d'extraction)")
    donnees_du_selon: Mapped[str | None] = mapped_column(
        Text, doc="Où cette date a été lue : en-tête, nom du fichier, lignes")
    statut: Mapped[str] = mapped_column(Text, server_default="en_cours")
    debut: Mapped[dt.datetime] = now_column()
    fin: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    lus: Mapped[int] = mapped_column(Integer, server_default="0")
    inseres: Mapped[int] = mapped_column(Integer, server_default="0")
    mis_a_jour: Mapped[int] = mapped_column(Integer, server_default="0")
    inchanges: Mapped[int] = mapped_column(Integer, server_default="0")
    retires: Mapped[int] = mapped_column(Integer, server_default="0")
    quarantaines: Mapped[int] = mapped_column(Integer, server_default="0")
    message: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (CheckConstraint(one_of("statut", RUN_STATUTS), name="statut"),)


class SourceRecord(Base):
    """The latest state of one row/resource of a source, kept with its raw payload."""

    __tablename__ = "source_record"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text)
    cle: Mapped[str] = mapped_column(Text, doc="Identifiant dans la source (FINESS ET, id ROR…)")
    premier_run_id: Mapped[int] = mapped_column(ForeignKey("run.id"))
    dernier_run_id: Mapped[int] = mapped_column(ForeignKey("run.id"), index=True)
    empreinte: Mapped[str] = mapped_column(Text, doc="Hachage du contenu normalisé")
    brut: Mapped[dict[str, Any]] = mapped_column(JSONB)
    normalise: Mapped[dict[str, Any]] = mapped_column(JSONB)
    geom: Mapped[Any | None] = mapped_column(point())
    vu_le: Mapped[dt.datetime] = now_column()
    retire_le: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        UniqueConstraint("source", "cle"),
        Index("ix_source_record_geom", "geom", postgresql_using="gist"),
    )


class Quarantaine(Base):
    """A row that could not be used, with where it was and why, in French."""

    __tablename__ = "quarantaine"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"), index=True)
    ligne: Mapped[int | None] = mapped_column(Integer)
    ressource: Mapped[str | None] = mapped_column(Text)
    raison: Mapped[str] = mapped_column(Text)
    contenu: Mapped[str | None] = mapped_column(Text)


class OffreSource(Base):
    """Provenance: one source record behind an offer, and when it was seen."""

    __tablename__ = "offre_source"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    offre_id: Mapped[int] = mapped_column(ForeignKey("offre.id", ondelete="CASCADE"), index=True)
    source_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("source_record.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str] = mapped_column(Text)
    cle: Mapped[str] = mapped_column(Text)
    premier_run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id"))
    dernier_run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id"))
    premiere_vue: Mapped[dt.datetime] = now_column()
    derniere_vue: Mapped[dt.datetime] = now_column()
    actif: Mapped[bool] = mapped_column(Boolean, server_default="true")
    score: Mapped[float | None] = mapped_column(Float, doc="Score de rapprochement")
    raison: Mapped[str | None] = mapped_column(Text, doc="Pourquoi ce rattachement")
    __table_args__ = (UniqueConstraint("offre_id", "source", "cle"),)


class Historique(Base):
    """Field-level history of an offer: who or what changed which value, when."""

    __tablename__ = "historique"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    offre_id: Mapped[int] = mapped_column(ForeignKey("offre.id", ondelete="CASCADE"), index=True)
    champ: Mapped[str] = mapped_column(Text)
    ancienne_valeur: Mapped[Any | None] = mapped_column(JSONB)
    nouvelle_valeur: Mapped[Any | None] = mapped_column(JSONB)
    source: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id", ondelete="SET NULL"))
    utilisateur_id: Mapped[int | None] = mapped_column(
        ForeignKey("utilisateur.id", ondelete="SET NULL")
    )
    le: Mapped[dt.datetime] = now_column()


class DecisionFusion(Base):
    """Why a source record was merged into an offer, or nearly: entity resolution's log."""

    __tablename__ = "decision_fusion"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"),
                                               index=True)
    source: Mapped[str] = mapped_column(Text)
    cle: Mapped[str] = mapped_column(Text)
    offre_id: Mapped[int] = mapped_column(ForeignKey("offre.id", ondelete="CASCADE"), index=True)
    decision: Mapped[str] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float)
    raison: Mapped[str] = mapped_column(Text)
    le: Mapped[dt.datetime] = now_column()
    __table_args__ = (CheckConstraint(one_of("decision", DECISIONS_FUSION), name="decision"),)


class RapprochementDecision(Base):
    """A near miss settled by a person (« c'est l'offre N » or not), reused by later merges."""

    __tablename__ = "rapprochement_decision"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text)
    cle: Mapped[str] = mapped_column(Text)
    offre_id: Mapped[int] = mapped_column(ForeignKey("offre.id", ondelete="CASCADE"))
    decision: Mapped[str] = mapped_column(Text)
    code_region: Mapped[str | None] = mapped_column(Text)
    utilisateur_id: Mapped[int | None] = mapped_column(
        ForeignKey("utilisateur.id", ondelete="SET NULL"))
    le: Mapped[dt.datetime] = now_column()
    __table_args__ = (
        CheckConstraint(one_of("decision", DECISIONS_RAPPROCHEMENT), name="decision"),
        UniqueConstraint("source", "cle", "offre_id"),
    )


# -- accounts and audit ------------------------------------------------------------------


class Utilisateur(Base):
    __tablename__ = "utilisateur"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    nom: Mapped[str] = mapped_column(Text, unique=True)
    role: Mapped[str] = mapped_column(Text)
    code_region: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    cree_le: Mapped[dt.datetime] = now_column()
    revoque_le: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint(one_of("role", ROLES), name="role"),
        CheckConstraint("role = 'admin' OR code_region IS NOT NULL", name="region_ars"),
    )


class Jeton(Base):
    """An API token: only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "jeton"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    utilisateur_id: Mapped[int] = mapped_column(
        ForeignKey("utilisateur.id", ondelete="CASCADE"), index=True
    )
    empreinte: Mapped[str] = mapped_column(Text, unique=True)
    prefixe: Mapped[str] = mapped_column(Text)
    cree_le: Mapped[dt.datetime] = now_column()
    revoque_le: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    dernier_usage_le: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Audit(Base):
    """Every write: who, when, on what, before and after."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    le: Mapped[dt.datetime] = now_column()
    utilisateur_id: Mapped[int | None] = mapped_column(
        ForeignKey("utilisateur.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(Text)
    objet_type: Mapped[str] = mapped_column(Text)
    objet_id: Mapped[str | None] = mapped_column(Text)
    code_region: Mapped[str | None] = mapped_column(Text, index=True)
    avant: Mapped[Any | None] = mapped_column(JSONB)
    apres: Mapped[Any | None] = mapped_column(JSONB)
    adresse_ip: Mapped[str | None] = mapped_column(Text)


class SessionWeb(Base):
    """A browser session opened with an API token: the pages' credential, revocable.

    The cookie holds a random value whose SHA-256 is stored here, with the SHA-256 of the
    CSRF token bound to it; revoking the token (or its user) ends its sessions.
    """

    __tablename__ = "session_web"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    jeton_id: Mapped[int] = mapped_column(ForeignKey("jeton.id", ondelete="CASCADE"), index=True)
    empreinte: Mapped[str] = mapped_column(Text, unique=True)
    csrf_empreinte: Mapped[str] = mapped_column(Text)
    cree_le: Mapped[dt.datetime] = now_column()
    expire_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


# --- Coverage (issue 15): territorial context and per-commune access, see cartographie.couverture


class CommuneContexte(Base):
    """Deprivation (F-EDI 2021) and urban / rural class (AAV 2020) of a commune.

    Loaded from ``data/couverture/communes.csv``; a missing value stays NULL (F-EDI has no
    overseas commune) and the coverage figures say so instead of inventing one.
    """

    __tablename__ = "commune_contexte"
    code_commune: Mapped[str] = mapped_column(
        ForeignKey("commune.code", ondelete="CASCADE"), primary_key=True
    )
    fedi: Mapped[float | None] = mapped_column(Float)
    quintile_fedi: Mapped[int | None] = mapped_column(SmallInteger, doc="1 = moins défavorisé")
    categorie_aav: Mapped[str | None] = mapped_column(Text, doc="11, 12, 13, 20 ou 30 (INSEE)")


class DepartementAges(Base):
    """Share of a département's population in each bilan age band (INSEE estimates 2023)."""

    __tablename__ = "departement_ages"
    code_departement: Mapped[str] = mapped_column(
        ForeignKey("departement.code", ondelete="CASCADE"), primary_key=True
    )
    population: Mapped[int] = mapped_column(Integer)
    part_18_25: Mapped[float] = mapped_column(Float)
    part_45_50: Mapped[float] = mapped_column(Float)
    part_60_65: Mapped[float] = mapped_column(Float)
    part_70_75: Mapped[float] = mapped_column(Float)


class CouvertureGroupe(Base):
    """What coverage rows are about: a whole card (``jeu_slug`` NULL) or one of its jeux, and
    the data version they were computed for (NULL: never), when and in how long.

    A small key keeps ``couverture_commune`` narrow; groups are computed on demand.
    """

    __tablename__ = "couverture_groupe"
    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    carte_slug: Mapped[str] = mapped_column(Text)
    jeu_slug: Mapped[str | None] = mapped_column(Text)
    version: Mapped[str | None] = mapped_column(Text)
    calcule_le: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    duree_s: Mapped[float | None] = mapped_column(Float)


class CouvertureCommune(Base):
    """Access of one commune to the offers of one card or jeu (``couverture_groupe``).

    Recomputed per group for a data version (``couverture_groupe.version``), never edited
    row by row;
    no foreign key, so that two million rows are written without two million checks.
    """

    __tablename__ = "couverture_commune"
    groupe_id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    code_commune: Mapped[str] = mapped_column(Text, primary_key=True)
    distance_m: Mapped[float | None] = mapped_column(Float, doc="NULL : aucune offre")
    offres_10km: Mapped[int] = mapped_column(Integer)
    offres_20km: Mapped[int] = mapped_column(Integer)
    offres_30km: Mapped[int] = mapped_column(Integer)
    acces_e2sfca: Mapped[float] = mapped_column(Float, doc="offres pour 100 000 habitants")


# --- « Mon bilan prévention » (issue 19): who carries it out, where, declared by themselves

PROFESSIONS_BILAN = ("10", "21", "50", "60")  # médecin, pharmacien, sage-femme, infirmier
DECLARATION_STATUTS = ("declaree", "retiree", "masquee")


class ProfessionnelActivite(Base):
    """One professional (RPPS) at one place of practice, as the open Annuaire Santé lists it.

    Kept true by each extraction (``cartographie ingest annuaire-sante``); a place absent
    from the latest extraction is marked ``disparu_le``, never deleted, so that the
    declarations made for it are not lost.
    """

    __tablename__ = "professionnel_activite"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    cle: Mapped[str] = mapped_column(Text, unique=True, doc="RPPS + lieu (FINESS, SIRET…)")
    rpps: Mapped[str] = mapped_column(Text, index=True)
    code_profession: Mapped[str] = mapped_column(Text)
    civilite: Mapped[str | None] = mapped_column(Text)
    nom: Mapped[str] = mapped_column(Text)
    prenom: Mapped[str | None] = mapped_column(Text)
    lieu_nom: Mapped[str | None] = mapped_column(Text)
    adresse: Mapped[str | None] = mapped_column(Text)
    code_postal: Mapped[str | None] = mapped_column(Text)
    code_commune: Mapped[str | None] = mapped_column(Text)
    ville: Mapped[str | None] = mapped_column(Text)
    telephone: Mapped[str | None] = mapped_column(Text)
    code_region: Mapped[str | None] = mapped_column(Text, index=True)
    geom: Mapped[Any | None] = mapped_column(point())
    precision_geo: Mapped[str | None] = mapped_column(Text)
    empreinte: Mapped[str] = mapped_column(Text, doc="Hachage de la ligne normalisée")
    dernier_run_id: Mapped[int] = mapped_column(ForeignKey("run.id"))
    vu_le: Mapped[dt.datetime] = now_column()
    disparu_le: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint(one_of("code_profession", PROFESSIONS_BILAN), name="profession"),
        Index("ix_professionnel_activite_geom", "geom", postgresql_using="gist"),
    )


class DeclarationBilan(Base):
    """« J'effectue des bilans ici », said by the professional after Pro Santé Connect.

    Public once ``visible_le`` has passed (the operator's delay, or a moderator's early
    approval), while ``statut`` is ``declaree`` and the place is still in the Annuaire.
    """

    __tablename__ = "declaration_bilan"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    activite_id: Mapped[int] = mapped_column(
        ForeignKey("professionnel_activite.id"), unique=True)
    rpps: Mapped[str] = mapped_column(Text, index=True)
    realise_bilan: Mapped[bool] = mapped_column(Boolean)
    lien_rdv: Mapped[str | None] = mapped_column(Text, doc="https:// validé et normalisé")
    statut: Mapped[str] = mapped_column(Text, server_default="declaree")
    declaree_le: Mapped[dt.datetime] = now_column()
    visible_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    motif_masquage: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint(one_of("statut", DECLARATION_STATUTS), name="statut"),
        CheckConstraint("statut <> 'masquee' OR motif_masquage IS NOT NULL", name="motif"),
    )


class ConnexionPSC(Base):
    """A Pro Santé Connect sign-in under way: its state, nonce and PKCE verifier.

    Kept server-side for ten minutes; the callback consumes the row (one use only).
    """

    __tablename__ = "connexion_psc"
    etat: Mapped[str] = mapped_column(Text, primary_key=True)
    nonce: Mapped[str] = mapped_column(Text)
    verificateur: Mapped[str] = mapped_column(Text)
    cree_le: Mapped[dt.datetime] = now_column()


class SessionPro(Base):
    """A professional's browser session after Pro Santé Connect (cookie value hashed)."""

    __tablename__ = "session_pro"
    empreinte: Mapped[str] = mapped_column(Text, primary_key=True)
    rpps: Mapped[str] = mapped_column(Text)
    csrf_empreinte: Mapped[str] = mapped_column(Text)
    cree_le: Mapped[dt.datetime] = now_column()
    expire_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


# --- « Signaler une erreur » (issue 16): the public's reports, moderated by the ARS

SIGNALEMENT_MOTIFS = ("ferme_definitivement", "horaires", "telephone", "adresse", "inexistante",
                      "autre")
SIGNALEMENT_STATUTS = ("ouvert", "corrige", "rejete")


class Signalement(Base):
    """Reports of one reason on one offer: open ones are grouped (``nombre``) until an ARS
    of the offer's région marks them « corrigé » or « rejeté » (with a reason)."""

    __tablename__ = "signalement"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    offre_id: Mapped[int] = mapped_column(ForeignKey("offre.id", ondelete="CASCADE"))
    motif: Mapped[str] = mapped_column(Text)
    statut: Mapped[str] = mapped_column(Text, server_default="ouvert")
    nombre: Mapped[int] = mapped_column(Integer, server_default="1")
    cree_le: Mapped[dt.datetime] = now_column()
    dernier_le: Mapped[dt.datetime] = now_column()
    traite_le: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    traite_par: Mapped[int | None] = mapped_column(
        ForeignKey("utilisateur.id", ondelete="SET NULL"))
    motif_rejet: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint(one_of("motif", SIGNALEMENT_MOTIFS), name="motif"),
        CheckConstraint(one_of("statut", SIGNALEMENT_STATUTS), name="statut"),
        CheckConstraint("statut <> 'rejete' OR motif_rejet IS NOT NULL", name="rejet_motive"),
        CheckConstraint("(statut = 'ouvert') = (traite_le IS NULL)", name="traite"),
        Index("uq_signalement_ouvert", "offre_id", "motif", unique=True,
              postgresql_where=text("statut = 'ouvert'")),
        Index("ix_signalement_statut_traite_le", "statut", "traite_le"),
    )


class SignalementMessage(Base):
    """What one person wrote, and how to reach them if they wished (personal data: shown to
    the région's ARS only, erased some days after the report is resolved)."""

    __tablename__ = "signalement_message"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    signalement_id: Mapped[int] = mapped_column(
        ForeignKey("signalement.id", ondelete="CASCADE"), index=True)
    texte: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(Text)
    recu_le: Mapped[dt.datetime] = now_column()


class SignalementEnvoi(Base):
    """One accepted report from a client address (its SHA-256 only), for the rate limit
    shared by every worker; rows older than the window are swept."""

    __tablename__ = "signalement_envoi"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    empreinte: Mapped[str] = mapped_column(Text)
    le: Mapped[dt.datetime] = now_column()
    __table_args__ = (Index("ix_signalement_envoi_empreinte_le", "empreinte", "le"),)
