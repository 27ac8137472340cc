"""One settings object for the whole service, read from the environment.

Variables use the ``CARTOGRAPHIE_`` prefix, except ``DATABASE_URL`` which keeps the name every
hosting platform and docker compose already use.
"""

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent


def default_project_dir() -> Path:
    """The source checkout when the package runs from one, else the working directory.

    The embedded cluster and the data folder live there, so that every command run from
    anywhere inside a checkout uses the same database.
    """
    checkout = PACKAGE_DIR.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "data").is_dir():
        return checkout
    return Path.cwd()


# The IGN Géoplateforme « Plan IGN » in Web Mercator (WMTS GetTile in KVP, so a plain XYZ
# template for Leaflet and folium); no key; IGN asks for its name as the attribution.
IGN_PLAN_URL = (
    "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2&STYLE=normal&TILEMATRIXSET=PM"
    "&FORMAT=image/png&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
)
IGN_PLAN_ATTRIBUTION = "© IGN – Plan IGN (Géoplateforme)"
WIDGET_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARTOGRAPHIE_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "CARTOGRAPHIE_DATABASE_URL"),
        description="Base PostgreSQL + PostGIS à utiliser telle quelle ; sinon la base embarquée.",
    )
    project_dir: Path = Field(default_factory=default_project_dir)
    data_dir: Path | None = Field(
        default=None, description="Dossier des données de référence (défaut : <projet>/data)."
    )
    embedded_dir: Path | None = Field(
        default=None, description="Dossier de la base embarquée (défaut : <projet>/.cartographie)."
    )
    embedded_database: str = "cartographie"
    telechargements_dir: Path | None = Field(
        default=None,
        description="Fichiers des téléchargements /donnees, partagés par tous les processus "
                    "du service (défaut : <base embarquée>/telechargements).",
    )
    embedded_os_user: str = Field(
        default="postgres",
        description="Compte système non privilégié qui fait tourner PostgreSQL quand on est root.",
    )
    fusion_distance_m: float = Field(
        default=400.0, description="Distance au-delà de laquelle deux lieux ne sont pas comparés."
    )
    fusion_seuil: float = Field(
        default=0.85, description="Score (0–1) à partir duquel deux offres sont fusionnées."
    )
    fusion_seuil_quasi: float = Field(
        default=0.65, description="Score à partir duquel un rapprochement manqué est signalé."
    )
    geocodeur: Literal["local", "geoplateforme"] = Field(
        default="local", description="Géocodeur des adresses : local (hors ligne) ou Géoplateforme"
    )
    geoplateforme_url: str = "https://data.geopf.fr/geocodage/search"
    ban_dir: Path | None = Field(
        default=None,
        description="Fichiers Base Adresse Nationale adresses-<dép>.csv.gz du géocodeur local "
                    "(défaut : <données>/geocodage).",
    )
    contributions_taille_max: int = Field(
        default=5_000_000,
        description="Taille maximale (octets) d'un fichier d'import ARS, aussi une fois "
                    "décompressé.",
    )
    contributions_lignes_max: int = Field(
        default=10_000, description="Lignes au plus dans un fichier d'import ARS."
    )
    contributions_deplacement_max_m: float = Field(
        default=1000.0,
        description="Distance (m) dont une contribution ARS peut déplacer une offre nationale.",
    )
    signalements_par_heure: int = Field(
        default=5, ge=1,
        description="Signalements « Signaler une erreur » acceptés au plus par heure depuis "
                    "une même adresse (compte partagé par tous les processus, dans la base).",
    )
    signalements_texte_max: int = Field(
        default=2000, ge=1, description="Caractères au plus du message d'un signalement.")
    signalements_contact_max: int = Field(
        default=200, ge=1, description="Caractères au plus du contact d'un signalement.")
    signalements_conservation_jours: int = Field(
        default=30, ge=0,
        description="Jours pendant lesquels le contact laissé par la personne qui signale est "
                    "gardé après le traitement du signalement (puis effacé).",
    )
    database_read_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_READ_URL", "CARTOGRAPHIE_DATABASE_READ_URL"),
        description="Réplique en lecture pour les requêtes publiques (facultatif).",
    )
    fond_carte_url: str = Field(
        default=IGN_PLAN_URL,
        description="Tuiles du fond de carte des pages (modèle {z}/{x}/{y}) : « Plan IGN » de "
                    "la Géoplateforme par défaut (sans clé) ; OpenStreetMap ou tout autre "
                    "serveur de tuiles par ce réglage. Injoignable, les pages dessinent nos "
                    "propres contours (régions, départements, communes).",
    )
    fond_carte_attribution: str = IGN_PLAN_ATTRIBUTION
    widget_sites: str = Field(
        default="",
        description="Sites autorisés à intégrer les cartes « widget » (/widget/cartes/…) dans "
                    "une iframe : origines séparées par des espaces, ex. "
                    "« https://www.grand-est.ars.sante.fr https://www.sante.fr ». Aucune "
                    "autre page ne peut être intégrée ailleurs que chez nous.",
    )
    url_publique: str | None = Field(
        default=None,
        description="Adresse publique du service (ex. https://cartographie.sante.fr), base des "
                    "liens absolus (OGC API) ; sans elle, l'en-tête Host de la requête.",
    )
    psc_issuer: str = Field(
        default="https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet",
        description="Émetteur OpenID Connect de Pro Santé Connect (sa configuration est lue "
                    "à <émetteur>/.well-known/openid-configuration).",
    )
    psc_client_id: str | None = Field(
        default=None, description="Identifiant client Pro Santé Connect ; sans lui, pas de "
                                  "connexion des professionnels.")
    psc_client_secret: str | None = None
    psc_scope: str = "openid scope_all"
    bilan_delai_publication_minutes: int = Field(
        default=1440, ge=0,
        description="Délai avant qu'une déclaration « je fais des bilans » soit publique, "
                    "sauf validation plus tôt par un modérateur de l'ARS.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(
        default=1, ge=1,
        description="Processus de « cartographie serve » (ils ne partagent que la base).",
    )

    @field_validator("widget_sites")
    @classmethod
    def _origins_only(cls, value: str) -> str:
        """Each a bare origin: the value goes into a CSP header, nothing else may slip in."""
        for origin in value.split():
            if not WIDGET_ORIGIN.fullmatch(origin):
                raise ValueError(f"CARTOGRAPHIE_WIDGET_SITES : « {origin} » n'est pas une "
                                 "origine (https://nom.de.domaine[:port])")
        return " ".join(value.split())

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir or self.project_dir / "data"

    @property
    def resolved_ban_dir(self) -> Path:
        return self.ban_dir or self.resolved_data_dir / "geocodage"

    @property
    def resolved_embedded_dir(self) -> Path:
        return self.embedded_dir or self.project_dir / ".cartographie"

    @property
    def resolved_telechargements_dir(self) -> Path:
        return self.telechargements_dir or self.resolved_embedded_dir / "telechargements"


@lru_cache
def get_settings() -> Settings:
    return Settings()
