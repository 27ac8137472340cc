"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from api import auth, connexions, documentation, problems
from api.caching import ETagMiddleware
from api.lecture import ReadRouting, ReadYourWritesMiddleware
from api.routers import (
    audit,
    bilan,
    bilan_moderation,
    cartes,
    contours,
    contributions,
    contributions_temporaires,
    couverture,
    donnees,
    espace_ars,
    espace_ars_couverture,
    espace_ars_qualite,
    espace_ars_revision,
    espace_ars_temporaire,
    espace_pro,
    grille,
    hsds,
    lieux,
    offres,
    ogc,
    orientation,
    pages,
    sante,
    signalements,
    themes,
    tiles,
    widget,
)
from api.securite import ContentSecurityPolicy
from cartographie.db import database_url, make_engine, make_session_factory, normalise_url
from cartographie.settings import Settings, get_settings
from maps.folium_maps import STATIC_DIR

REPLICA_CONNECT_TIMEOUT_SECONDS = 2  # an unreachable replica must not hang a read

DESCRIPTION = """
Où, près de cette personne, trouver de l'aide sur le sujet choisi après son
**bilan prévention** ? Cette API expose les offres de prévention regroupées en 12 cartes
thématiques sous 7 sujets clés. Les erreurs suivent RFC 9457 (problem+json) en français.
"""


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the app; ``engine`` (the primary) lets tests and scripts bring their own pool.

    Public reads go to ``DATABASE_READ_URL`` when it is set (a read replica, see
    ``api.lecture``), else to the main database; writes always go to the main database.
    """
    settings = settings or get_settings()
    engine = engine or make_engine(database_url(settings), jit=False)
    replica = (make_engine(normalise_url(settings.database_read_url), jit=False,
                           connect_timeout=REPLICA_CONNECT_TIMEOUT_SECONDS)
               if settings.database_read_url else None)
    app = FastAPI(
        title="Cartographie des ressources de prévention",
        version="1",
        description=DESCRIPTION,
        docs_url=None,  # served by api.documentation with our vendored Swagger UI
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.openapi_version = "3.0.3"  # OGC API – Features conformance class « oas30 »
    app.state.settings = settings
    app.state.engine = engine
    app.state.read_routing = ReadRouting(primary=engine, replica=replica)
    app.state.error_page = pages.error_page
    app.state.write_session_factory = make_session_factory(engine)
    app.state.failed_logins = connexions.FailedLogins()
    problems.install(app)
    app.add_middleware(ETagMiddleware, vary_host=settings.url_publique is None)
    app.add_middleware(ReadYourWritesMiddleware)
    app.add_middleware(ContentSecurityPolicy, basemap_url=settings.fond_carte_url,
                       widget_sites=settings.widget_sites)
    app.include_router(sante.router)
    app.include_router(themes.router)
    app.include_router(cartes.router)
    app.include_router(grille.router)  # before /offres/{id}
    app.include_router(offres.router)
    app.include_router(lieux.router)
    app.include_router(orientation.router)
    app.include_router(ogc.router)
    app.include_router(hsds.router)
    app.include_router(tiles.router)
    app.include_router(contours.router)
    app.include_router(couverture.router)
    app.include_router(auth.router)
    app.include_router(contributions.router)
    app.include_router(contributions_temporaires.router)
    app.include_router(audit.router)
    app.include_router(bilan.router)
    app.include_router(bilan_moderation.router)
    contributions.install_upload_limit(app, espace_ars.IMPORT_PATH, espace_ars.PREFIX)
    app.include_router(pages.router)
    app.include_router(widget.router)
    app.include_router(donnees.router)
    app.include_router(documentation.router)
    app.include_router(espace_ars.router)
    app.include_router(espace_ars_couverture.router)
    app.include_router(espace_ars_qualite.router)
    app.include_router(espace_ars_revision.router)
    app.include_router(espace_ars_temporaire.router)
    app.include_router(espace_pro.router)
    app.include_router(signalements.router)
    app.include_router(signalements.api_router)
    app.add_middleware(signalements.ReportBodyLimit)
    app.add_exception_handler(espace_ars.ConnexionRequise, espace_ars.to_login)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
