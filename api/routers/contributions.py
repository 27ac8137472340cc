"""``/api/v1/contributions``: the ARS write side — offers, corrections, moderation, imports,
conflicts with national sources, and the région's export.

Each handler authorises (role + région), writes, audits and commits in one transaction; a
refusal or an error leaves the database untouched.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    File,
    HTTPException,
    Path,
    Query,
    Request,
    UploadFile,
)
from fastapi.responses import JSONResponse, Response
from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import CurrentAccount
from api.deps import get_write_session
from api.problems import error_response, problem
from cartographie import contributions, jeux
from cartographie.comptes import Compte
from cartographie.geocodage import GeocodeurGeoplateformeLot, GeocodeurLocal, ban_index
from cartographie.settings import Settings
from ingest import contributions as ars
from ingest.records import WrongFormat

PREFIX = "/api/v1/contributions"
IMPORT_PATH = f"{PREFIX}/import"
router = APIRouter(prefix=PREFIX, tags=["Contributions ARS"])
OfferId = Annotated[int, Path(ge=1, le=2**62, description="Identifiant de l'offre")]
RegionCode = Annotated[str | None, Query(
    pattern=r"^[0-9]{2}$", description="Région (comptes nationaux seulement ; sinon la sienne)")]
WriteSession = Annotated[Session, Depends(get_write_session)]
ReportPage = Annotated[int, Query(alias="page", ge=1, le=100_000,
                                   description="Page du rapport (les lignes à regarder d'abord)")]
ReportPageSize = Annotated[int, Query(ge=1, le=1000, description="Lignes par page du rapport")]
REPORT_PAGE_SIZE = 100
REFUSALS = {403: {"description": "Hors de la région ou rôle insuffisant (problem+json)"},
            401: {"description": "Authentification requise (problem+json)"}}


class OffreContribuee(BaseModel):
    """An offer as an ARS sends it: the columns of the CSV template."""

    model_config = ConfigDict(extra="forbid")
    identifiant: str | None = Field(None, description="Identifiant propre à l'ARS (facultatif)")
    nom: str | None = None
    cartes: list[str] | None = Field(None, description="Cartes de l'offre, ex. [\"nutrition\"]")
    types_offre: list[str] | None = None
    description: str | None = None
    adresse: str | None = None
    code_postal: str | None = None
    ville: str | None = None
    code_commune: str | None = None
    latitude: float | None = Field(None, validation_alias=AliasChoices("latitude", "lat"))
    longitude: float | None = Field(None, validation_alias=AliasChoices("longitude", "lon"))
    telephone: str | None = None
    courriel: str | None = None
    site_web: str | None = None
    reservation_url: str | None = None
    horaires: str | None = Field(None, description="Syntaxe OSM opening_hours")
    gratuit: bool | None = None
    age_min: int | None = None
    age_max: int | None = None
    modalites: list[str] | None = None
    siret: str | None = None


class Publication(BaseModel):
    ids: list[Annotated[int, Field(ge=1, le=2**62)]] = Field(min_length=1, max_length=5000)


def geocoder_for(request: Request, session: Session):
    settings: Settings = request.app.state.settings
    if settings.geocodeur == "geoplateforme":
        return GeocodeurGeoplateformeLot(settings.geoplateforme_url)
    return GeocodeurLocal(session.connection(), ban_index(settings.resolved_ban_dir))


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _refused(exc: Exception) -> JSONResponse:
    if isinstance(exc, contributions.Refus):
        return problem(exc.status, str(exc))
    assert isinstance(exc, ars.ContributionInvalide)
    return problem(422, " ; ".join(exc.erreurs), erreurs=exc.erreurs)


def _line_body(ligne: ars.LigneRapport) -> dict[str, Any]:
    return {"id": ligne.offre_id, "resultat": ligne.resultat,
            "precision_geo": ligne.precision_geo, "avertissements": ligne.avertissements}


def data_dir_of(request: Request) -> FilePath:
    return request.app.state.settings.resolved_data_dir


@router.post("/offres", status_code=201, summary="Crée une offre de la région (brouillon)",
             responses={**REFUSALS, 422: {"description": "Valeurs invalides (problem+json)"}})
def create_offer(body: OffreContribuee, request: Request, compte: CurrentAccount,
                 session: WriteSession, region: RegionCode = None):
    try:
        code_region = contributions.region_of(compte, region)
        ligne = ars.create_offer(session.connection(), compte, code_region,
                                 body.model_dump(exclude_unset=True),
                                 geocoder=geocoder_for(request, session),
                                 data_dir=data_dir_of(request), adresse_ip=client_ip(request))
    except (contributions.Refus, ars.ContributionInvalide) as exc:
        session.rollback()
        return _refused(exc)
    session.commit()
    return JSONResponse(_line_body(ligne), status_code=201)


@router.patch("/offres/{offre_id}", summary="Modifie une offre de la région, ou corrige "
                                            "localement une offre nationale",
              responses={**REFUSALS, 404: {"description": "Offre inconnue"}})
def update_offer(offre_id: OfferId, body: OffreContribuee, request: Request,
                 compte: CurrentAccount, session: WriteSession):
    values = body.model_dump(exclude_unset=True)
    if not values:
        raise HTTPException(422, "Aucun champ à modifier.")
    try:
        ligne = ars.correct_offer(session.connection(), compte, offre_id, values,
                                  geocoder=geocoder_for(request, session),
                                  data_dir=data_dir_of(request), adresse_ip=client_ip(request))
    except (contributions.Refus, ars.ContributionInvalide) as exc:
        session.rollback()
        return _refused(exc)
    session.commit()
    return _line_body(ligne)


def moderate(request: Request, session: Session, action) -> Any:
    """Publish, retire or restore, refresh the jeux and commit; a ``Refus`` rolls back."""
    try:
        result = action(session.connection())
        jeux.refresh(session.connection(), data_dir_of(request))
    except contributions.Refus:
        session.rollback()
        raise
    session.commit()
    return result


def _moderate(request: Request, session: Session, action) -> Any:
    try:
        return moderate(request, session, action)
    except contributions.Refus as exc:
        return _refused(exc)


@router.post("/offres/{offre_id}/publication", summary="Publie un brouillon (modérateur)",
             responses={**REFUSALS, 409: {"description": "Pas un brouillon"}})
def publish_offer(offre_id: OfferId, request: Request, compte: CurrentAccount,
                  session: WriteSession):
    return _moderate(request, session, lambda c: contributions.publish(
        c, compte, [offre_id], client_ip(request))[0])


@router.post("/publication", summary="Publie plusieurs brouillons d'un coup (modérateur)",
             responses={**REFUSALS, 409: {"description": "Une offre n'est pas un brouillon"}})
def publish_offers(body: Publication, request: Request, compte: CurrentAccount,
                   session: WriteSession):
    return _moderate(request, session, lambda c: {"publiees": contributions.publish(
        c, compte, body.ids, client_ip(request))})


@router.delete("/offres/{offre_id}", summary="Retire une offre de la région (restaurable)",
               responses=REFUSALS)
def retire_offer(offre_id: OfferId, request: Request, compte: CurrentAccount,
                 session: WriteSession,
                 motif: Annotated[str | None, Query(max_length=500)] = None):
    return _moderate(request, session, lambda c: contributions.retire(
        c, compte, offre_id, motif, client_ip(request)))


@router.post("/offres/{offre_id}/restauration", summary="Restaure une offre retirée par l'ARS",
             responses=REFUSALS)
def restore_offer(offre_id: OfferId, request: Request, compte: CurrentAccount,
                  session: WriteSession):
    return _moderate(request, session, lambda c: contributions.restore(
        c, compte, offre_id, client_ip(request)))


def _region_or_problem(compte: Compte, region: str | None) -> str | JSONResponse:
    try:
        return contributions.region_of(compte, region)
    except contributions.Refus as exc:
        return _refused(exc)


def receive_import(request: Request, session: Session, compte: Compte, code_region: str,
                   fichier: UploadFile, dry_run: bool) -> ars.Rapport:
    """Import an uploaded file (API or page): its report; the caller commits or rolls back.

    Raises ``Refus(413)`` past the size (also decompressed) or row limit and ``WrongFormat``
    for an unreadable file.
    """
    limit = request.app.state.settings.contributions_taille_max
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(prefix="contribution-") as handle:
        size = 0
        while chunk := fichier.file.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise contributions.Refus(413, f"Fichier trop volumineux : au plus {limit} "
                                               "octets.")
            digest.update(chunk)
            handle.write(chunk)
        handle.flush()
        return ars.import_file(
            session.connection(), FilePath(handle.name), compte=compte,
            code_region=code_region, geocoder=geocoder_for(request, session),
            data_dir=data_dir_of(request), dry_run=dry_run,
            emplacement=f"import {fichier.filename or 'sans nom'}",
            empreinte=digest.hexdigest(), adresse_ip=client_ip(request),
            limites=ars.Limites.of(request.app.state.settings))


@router.post("/import", summary="Importe un fichier CSV ou GeoJSON ; rapport résumé et paginé "
                                  "(erreurs et avertissements d'abord)",
             responses={**REFUSALS, 413: {"description": "Fichier trop volumineux"}})
def import_file(request: Request, compte: CurrentAccount, session: WriteSession,
                fichier: Annotated[UploadFile, File(description="CSV (modèle) ou GeoJSON")],
                dry_run: Annotated[bool, Query(description="Vérifier sans rien écrire")] = True,
                region: RegionCode = None, numero: ReportPage = 1,
                lignes_max: ReportPageSize = REPORT_PAGE_SIZE):
    code_region = _region_or_problem(compte, region)
    if isinstance(code_region, JSONResponse):
        return code_region
    try:
        rapport = receive_import(request, session, compte, code_region, fichier, dry_run)
    except contributions.Refus as exc:
        session.rollback()
        return _refused(exc)
    except WrongFormat as exc:
        session.rollback()
        return problem(422, f"Fichier refusé : {exc}")
    if dry_run:
        session.rollback()
    else:
        session.commit()
    return rapport.page_of(numero, lignes_max)


class DecisionRapprochement(BaseModel):
    """An editor's answer to a near miss of the import report (« ressemble à l'offre N »)."""

    model_config = ConfigDict(extra="forbid")
    cle: str = Field(min_length=3, max_length=200, description="La clé de la ligne (rapport)")
    offre_id: int = Field(ge=1, description="L'offre proposée")
    decision: str = Field(pattern=r"^(confirme|rejete)$",
                          description="« confirme » : c'est cette offre ; « rejete » : non")


@router.post("/rapprochements", summary="Confirme ou rejette un rapprochement proposé par "
                                        "l'import ; gardé pour les imports suivants",
             responses=REFUSALS)
def decide_near_miss(body: DecisionRapprochement, request: Request, compte: CurrentAccount,
                     session: WriteSession, region: RegionCode = None):
    try:
        code_region = contributions.region_of(compte, region)
        message = ars.decide_near_miss(session.connection(), compte, code_region, body.cle,
                                       body.offre_id, body.decision, client_ip(request))
    except contributions.Refus as exc:
        session.rollback()
        return _refused(exc)
    session.commit()
    return {"message": message}


@router.get("/conflits", summary="Champs ARS que la dernière ingestion nationale contredit",
            responses=REFUSALS)
def list_conflicts(compte: CurrentAccount, session: WriteSession, region: RegionCode = None):
    try:
        scope = contributions.read_scope(compte, region)
    except contributions.Refus as exc:
        return _refused(exc)
    found = contributions.conflicts(session.connection(), scope)
    return {"total": len(found), "conflits": found}


@router.get("/offres.csv", summary="Les offres de la région en CSV (modèle d'import)",
            response_class=Response, responses={**REFUSALS, 200: {"content": {"text/csv": {}}}})
def export_offers(compte: CurrentAccount, session: WriteSession, region: RegionCode = None):
    code_region = _region_or_problem(compte, region)
    if isinstance(code_region, JSONResponse):
        return code_region
    body = contributions.export_csv(contributions.offers_of_region(session.connection(),
                                                                    code_region))
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="offres-region-{code_region}.csv"'})


class WriteSideGuards:
    """Refuse an oversized import (API or page) before its body is read, and keep the write
    side and the ARS pages out of caches.

    Plain ASGI, and only on its own paths: the public reads (tiles, search) do not pay a
    ``BaseHTTPMiddleware`` task and stream per request.
    """

    def __init__(self, app: ASGIApp, upload_paths: set[str],
                 private_prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.upload_paths = upload_paths
        self.private_prefixes = private_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.private_prefixes):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if request.method == "POST" and scope["path"] in self.upload_paths:
            limit = request.app.state.settings.contributions_taille_max
            length = request.headers.get("content-length")
            refusal = None
            if length is None:
                refusal = error_response(request, 411, "En-tête Content-Length obligatoire "
                                                       "pour un import.")
            elif not length.isdigit() or int(length) > limit + 64_000:  # multipart framing
                refusal = error_response(request, 413, f"Fichier trop volumineux : au plus "
                                                       f"{limit} octets.")
            if refusal is not None:
                await refusal(scope, receive, send)
                return

        async def no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, no_store)


def install_upload_limit(app: FastAPI, pages_import_path: str, pages_prefix: str) -> None:
    app.add_middleware(WriteSideGuards, upload_paths={IMPORT_PATH, pages_import_path},
                       private_prefixes=(PREFIX, "/api/v1/audit", "/api/v1/session",
                                         pages_prefix))
