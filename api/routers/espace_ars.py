"""Espace ARS: the pages where an ARS team lists, adds, corrects, moderates and imports the
offers of its région, reviews conflicts with national sources and reads the audit log.

A thin layer over the write side, never a second set of rules: the session is the one of
``api.auth`` (a token exchanged for an HttpOnly SameSite=Strict cookie), role × région is
decided by ``cartographie.contributions``, values are checked and written by
``ingest.contributions`` through the pipeline, as for the API.

Every form carries the session's CSRF token in a hidden field. Only its digest is stored
with the session, so the token itself also lives in its own HttpOnly SameSite=Strict cookie
for the server to put in the forms it renders; a POST is accepted only when the form's token
matches the session's digest.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, HTTPException, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api import auth, connexions
from api.deps import get_write_session
from api.routers.contributions import (
    REPORT_PAGE_SIZE,
    client_ip,
    data_dir_of,
    geocoder_for,
    moderate,
    receive_import,
)
from api.routers.pages import TEMPLATES, page
from cartographie import audit, catalogue, comptes, contributions, signalements
from cartographie.comptes import Compte
from cartographie.contributions import FiltreOffres, Refus
from ingest import contributions as ars
from ingest.records import WrongFormat

PREFIX = "/ars"
LOGIN_PATH = f"{PREFIX}/connexion"
IMPORT_PATH = f"{PREFIX}/import"
CSRF_COOKIE = "cartographie_csrf"
PAGE_SIZE = 50
# The form's fields, named as the import template's columns (docs/contributions.md).
TEXT_FIELDS = ("nom", "description", "adresse", "code_postal", "ville", "code_commune",
               "latitude", "longitude", "telephone", "courriel", "site_web", "reservation_url",
               "horaires", "gratuit", "age_min", "age_max")
LIST_FIELDS = ("cartes", "modalites")
FIELD_OF_MESSAGE = re.compile(r"^(\w+)")
OptionalRegion = Annotated[str, Query(pattern=r"^([0-9]{2})?$")]
OfferId = Annotated[int, Path(ge=1, le=2**62)]
WriteSession = Annotated[Session, Depends(get_write_session)]

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def shown_value(value: Any) -> str:
    """A stored value (JSON) as a person reads it; still autoescaped by the template."""
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


TEMPLATES.env.filters["valeur"] = shown_value


class ConnexionRequise(Exception):
    """No live session: the person is sent to the login page."""


def to_login(request: Request, exc: ConnexionRequise) -> RedirectResponse:
    return RedirectResponse(LOGIN_PATH, status_code=303)


@dataclass(frozen=True)
class Visiteur:
    """The signed-in account, with its session's CSRF token (for the forms) and digest."""

    compte: Compte
    csrf: str
    csrf_empreinte: str
    signalements: int = 0  # open « Signaler une erreur » reports in scope, for the menu


def visiteur(request: Request, session: WriteSession) -> Visiteur:
    value, csrf = request.cookies.get(auth.SESSION_COOKIE), request.cookies.get(CSRF_COOKIE)
    found = comptes.session_account(session.connection(), value) if value else None
    if found is None or not comptes.csrf_matches(found[1], csrf):
        raise ConnexionRequise()
    assert csrf is not None
    return Visiteur(found[0], csrf, found[1],
                    signalements.open_count(session.connection(), found[0].code_region))


def verifie(visiteur: Annotated[Visiteur, Depends(visiteur)],
            csrf: Annotated[str | None, Form(max_length=200)] = None) -> Visiteur:
    """The account behind a POST whose form carries the session's CSRF token, else 403."""
    if not comptes.csrf_matches(visiteur.csrf_empreinte, csrf):
        raise HTTPException(403, "Jeton CSRF absent ou invalide : rechargez la page puis "
                                 "recommencez.")
    return visiteur


Connecte = Annotated[Visiteur, Depends(visiteur)]
Verifie = Annotated[Visiteur, Depends(verifie)]


async def submitted(request: Request) -> FormData:
    return await request.form()


def refused(exc: Refus) -> HTTPException:
    """A refusal of the write side, shown as a French error page with its status."""
    return HTTPException(exc.status, str(exc))


def regions(connection: Connection) -> list[Any]:
    return connection.execute(text("SELECT code, nom FROM region ORDER BY nom")).all()


# -- login, logout ------------------------------------------------------------------------


@router.get("/connexion", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return page(request, "ars/connexion.html")


@router.post("/connexion")
def login(request: Request, session: WriteSession,
          jeton: Annotated[str, Form(max_length=200)] = ""):
    connexions.check_origin(request)
    connexions.check_attempt(request)
    connection = session.connection()
    compte = comptes.authenticate(connection, jeton.strip()) if jeton.strip() else None
    if compte is None:
        connexions.record_failure(request)
        return page(request, "ars/connexion.html", 401, erreur="Jeton inconnu ou révoqué.")
    response = RedirectResponse(PREFIX, status_code=303)
    csrf = auth.start_session(connection, compte, request, response)
    auth.set_private_cookie(request, response, CSRF_COOKIE, csrf)
    session.commit()
    return response


@router.post("/deconnexion")
def logout(request: Request, visiteur: Verifie, session: WriteSession) -> RedirectResponse:
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    auth.end_session(session.connection(), request, response)
    response.delete_cookie(CSRF_COOKIE, path="/", httponly=True, samesite="strict")
    session.commit()
    return response


# -- the région's offers, moderation -------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def offers_page(
    request: Request, visiteur: Connecte, session: WriteSession,
    statut: Annotated[str, Query(pattern=r"^(brouillon|publiee|retiree)?$")] = "",
    carte: Annotated[str, Query(max_length=100)] = "",
    texte: Annotated[str, Query(max_length=200)] = "",
    perimetre: Annotated[str, Query(pattern=r"^(ars|toutes)$")] = "ars",
    region: OptionalRegion = "",
    numero: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """The offers the ARS created, corrected or retired (or all of its région), filtered."""
    try:
        scope = contributions.read_scope(visiteur.compte, region or None)
    except Refus as exc:
        raise refused(exc) from exc
    filtre = FiltreOffres(statut or None, carte or None, texte.strip() or None, perimetre)
    connection = session.connection()
    total, offres = contributions.list_offers(connection, scope, filtre, PAGE_SIZE,
                                              (numero - 1) * PAGE_SIZE)
    filters = {"statut": statut, "carte": carte, "texte": texte, "perimetre": perimetre,
               "region": region}
    query = urlencode({k: v for k, v in filters.items() if v})
    return page(request, "ars/offres.html", visiteur=visiteur, offres=offres, total=total,
                numero=numero, pages=max(1, -(-total // PAGE_SIZE)), filtres=filters,
                query=query, retour=f"{PREFIX}?{query}&page={numero}",
                cards=catalogue.cards(session),
                regions=regions(connection) if visiteur.compte.is_admin else [])


def back_to(retour: str) -> str:
    """Where a moderation button returns: a page of this space, never another site."""
    return retour if retour.startswith(PREFIX) else PREFIX


def moderation(request: Request, session: Session, retour: str, action) -> RedirectResponse:
    try:
        moderate(request, session, action)
    except Refus as exc:
        raise refused(exc) from exc
    return RedirectResponse(back_to(retour), status_code=303)


Retour = Annotated[str, Form(max_length=2000)]


@router.post("/offres/{offre_id}/publication")
def publish(request: Request, offre_id: OfferId, visiteur: Verifie, session: WriteSession,
            retour: Retour = PREFIX) -> RedirectResponse:
    return moderation(request, session, retour, lambda c: contributions.publish(
        c, visiteur.compte, [offre_id], client_ip(request)))


@router.post("/offres/{offre_id}/retrait")
def retire(request: Request, offre_id: OfferId, visiteur: Verifie, session: WriteSession,
           retour: Retour = PREFIX,
           motif: Annotated[str, Form(max_length=500)] = "") -> RedirectResponse:
    return moderation(request, session, retour, lambda c: contributions.retire(
        c, visiteur.compte, offre_id, motif.strip() or None, client_ip(request)))


@router.post("/offres/{offre_id}/restauration")
def restore(request: Request, offre_id: OfferId, visiteur: Verifie, session: WriteSession,
            retour: Retour = PREFIX) -> RedirectResponse:
    return moderation(request, session, retour, lambda c: contributions.restore(
        c, visiteur.compte, offre_id, client_ip(request)))


# -- add / edit form -------------------------------------------------------------------------


def form_values(form: FormData) -> dict[str, Any]:
    """The form as sent: its text fields trimmed (the edit form has no commune code: it
    follows the position), lists (checkboxes) as ticked, none ticked included."""
    values: dict[str, Any] = {name: str(form.get(name) or "").strip() for name in TEXT_FIELDS
                              if name in form}
    values.update({name: [str(v) for v in form.getlist(name)] for name in LIST_FIELDS})
    return values


def stored_values(row: dict[str, Any]) -> dict[str, Any]:
    """An offer's current values as the form shows them (``contributions.offer_values``)."""
    values: dict[str, Any] = {name: "" if row[name] is None else str(row[name])
                              for name in TEXT_FIELDS}
    values.update({name: [v for v in (row[name] or "").split("|") if v]
                   for name in LIST_FIELDS})
    return values


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The fields the person changed: only those become ARS values, so a corrected national
    offer keeps its other fields national. A position moves with both coordinates."""
    changed = {name: after[name] or None for name in TEXT_FIELDS
               if name in after and after[name] != before[name]}
    changed.update({name: after[name] for name in LIST_FIELDS
                    if sorted(after[name]) != sorted(before[name])})
    if {"latitude", "longitude"} & changed.keys():
        changed.update(latitude=after.get("latitude") or None,
                       longitude=after.get("longitude") or None)
    return changed


def errors_by_field(erreurs: list[str]) -> dict[str, list[str]]:
    """The domain's French messages (« telephone : … ») beside their field; the others
    (key "") above the form."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for message in erreurs:
        match = FIELD_OF_MESSAGE.match(message)
        name = match.group(1) if match else ""
        grouped[name if name in TEXT_FIELDS + LIST_FIELDS else ""].append(message)
    return dict(grouped)


def editable_offer(connection: Connection, compte: Compte, offre_id: int) -> dict[str, Any]:
    """The offer's values if this account may change it; else a 403 / 404 page."""
    try:
        contributions.authorise(compte, contributions.target(connection, offre_id, lock=False),
                                "modifier")
    except Refus as exc:
        raise refused(exc) from exc
    return contributions.offer_values(connection, offre_id)


def offer_form(request: Request, session: Session, visiteur: Visiteur, *, offre=None,
               valeurs: dict[str, Any] | None = None, erreurs: list[str] | None = None,
               status: int = 200, region: str = "") -> HTMLResponse:
    connection = session.connection()
    shown = stored_values(offre or dict.fromkeys(TEXT_FIELDS + LIST_FIELDS))
    return page(request, "ars/offre.html", status, visiteur=visiteur, offre=offre,
                valeurs={**shown, **(valeurs or {})},
                erreurs=errors_by_field(erreurs or []), cards=catalogue.cards(session),
                modalites=ars.MODALITES, region=region,
                regions=regions(connection) if visiteur.compte.is_admin else [])


def form_errors(exc: Refus | ars.ContributionInvalide) -> tuple[int, list[str]]:
    """A refusal (out of the région: 403) or invalid values (422), shown on the form."""
    if isinstance(exc, Refus):
        return exc.status, [str(exc)]
    return 422, exc.erreurs


def saved(request: Request, session: Session, visiteur: Visiteur,
          ligne: ars.LigneRapport) -> HTMLResponse:
    session.commit()
    return page(request, "ars/enregistree.html", visiteur=visiteur, ligne=ligne)


@router.get("/offres/nouvelle", response_class=HTMLResponse)
def new_offer_form(request: Request, visiteur: Connecte, session: WriteSession) -> HTMLResponse:
    return offer_form(request, session, visiteur)


@router.post("/offres/nouvelle", response_class=HTMLResponse)
def create_offer(request: Request, visiteur: Verifie, session: WriteSession,
                 form: Annotated[FormData, Depends(submitted)],
                 region: Annotated[str, Form(pattern=r"^([0-9]{2})?$")] = "") -> HTMLResponse:
    valeurs = form_values(form)
    try:
        code_region = contributions.region_of(visiteur.compte, region or None)
        ligne = ars.create_offer(
            session.connection(), visiteur.compte, code_region,
            {name: value for name, value in valeurs.items() if value or name == "cartes"},
            geocoder=geocoder_for(request, session), data_dir=data_dir_of(request),
            adresse_ip=client_ip(request))
    except (Refus, ars.ContributionInvalide) as exc:
        session.rollback()
        status, erreurs = form_errors(exc)
        return offer_form(request, session, visiteur, valeurs=valeurs, erreurs=erreurs,
                          status=status, region=region)
    return saved(request, session, visiteur, ligne)


@router.get("/offres/{offre_id}", response_class=HTMLResponse)
def edit_offer_form(request: Request, offre_id: OfferId, visiteur: Connecte,
                    session: WriteSession) -> HTMLResponse:
    offre = editable_offer(session.connection(), visiteur.compte, offre_id)
    return offer_form(request, session, visiteur, offre=offre)


@router.post("/offres/{offre_id}", response_class=HTMLResponse)
def edit_offer(request: Request, offre_id: OfferId, visiteur: Verifie, session: WriteSession,
               form: Annotated[FormData, Depends(submitted)]) -> HTMLResponse:
    connection = session.connection()
    offre = editable_offer(connection, visiteur.compte, offre_id)
    valeurs = form_values(form)
    changed = changes(stored_values(offre), valeurs)
    if not changed:
        return offer_form(request, session, visiteur, offre=offre, valeurs=valeurs,
                          erreurs=["Aucun champ n'a changé : rien à enregistrer."])
    try:
        ligne = ars.correct_offer(connection, visiteur.compte, offre_id, changed,
                                  geocoder=geocoder_for(request, session),
                                  data_dir=data_dir_of(request), adresse_ip=client_ip(request))
    except (Refus, ars.ContributionInvalide) as exc:
        session.rollback()
        status, erreurs = form_errors(exc)
        return offer_form(request, session, visiteur, offre=offre, valeurs=valeurs,
                          erreurs=erreurs, status=status)
    return saved(request, session, visiteur, ligne)


# -- import ----------------------------------------------------------------------------------


@router.get("/import", response_class=HTMLResponse)
def import_form(request: Request, visiteur: Connecte, session: WriteSession) -> HTMLResponse:
    return page(request, "ars/import.html", visiteur=visiteur,
                regions=regions(session.connection()) if visiteur.compte.is_admin else [])


@router.post("/import", response_class=HTMLResponse)
def import_page(request: Request, visiteur: Verifie, session: WriteSession,
                fichier: Annotated[UploadFile, File()],
                action: Annotated[str, Form(pattern=r"^(verifier|importer)$")] = "verifier",
                region: Annotated[str, Form(pattern=r"^([0-9]{2})?$")] = "",
                numero: Annotated[int, Form(alias="page", ge=1, le=100_000)] = 1
                ) -> HTMLResponse:
    """« Vérifier » is a dry run whose report is exactly the real import's; « Importer »
    writes the valid rows as drafts. The report shows one page of lines, those to look at
    first; the other pages come from checking the same file again (``page``)."""
    dry_run = action == "verifier"
    rapport, erreur, status = None, None, 200
    try:
        code_region = contributions.region_of(visiteur.compte, region or None)
        rapport = receive_import(request, session, visiteur.compte, code_region, fichier,
                                 dry_run)
    except Refus as exc:
        erreur, status = str(exc), exc.status
    except WrongFormat as exc:
        erreur, status = f"Fichier refusé : {exc}", 422
    if dry_run or rapport is None:
        session.rollback()
    else:
        session.commit()
    if rapport is not None:
        rapport = rapport.page_of(numero, REPORT_PAGE_SIZE)
    return page(request, "ars/import.html", status, visiteur=visiteur, rapport=rapport,
                erreur=erreur, fichier=fichier.filename, region=region,
                regions=regions(session.connection()) if visiteur.compte.is_admin else [])


@router.post("/import/rapprochement", response_class=HTMLResponse)
def near_miss_decision(request: Request, visiteur: Verifie, session: WriteSession,
                       cle: Annotated[str, Form(min_length=3, max_length=200)],
                       offre_id: Annotated[int, Form(ge=1)],
                       decision: Annotated[str, Form(pattern=r"^(confirme|rejete)$")],
                       region: Annotated[str, Form(pattern=r"^([0-9]{2})?$")] = ""
                       ) -> HTMLResponse:
    """« C'est cette offre » / « Ce n'est pas cette offre » on a near miss of the report."""
    message, erreur, status = None, None, 200
    try:
        code_region = contributions.region_of(visiteur.compte, region or None)
        message = ars.decide_near_miss(session.connection(), visiteur.compte, code_region,
                                       cle, offre_id, decision, request.client.host
                                       if request.client else None)
        session.commit()
    except Refus as exc:
        session.rollback()
        erreur, status = str(exc), exc.status
    return page(request, "ars/import.html", status, visiteur=visiteur, message=message,
                erreur=erreur, region=region,
                regions=regions(session.connection()) if visiteur.compte.is_admin else [])


# -- conflicts, audit log ----------------------------------------------------------------------


@router.get("/conflits", response_class=HTMLResponse)
def conflicts_page(request: Request, visiteur: Connecte, session: WriteSession,
                   region: OptionalRegion = "") -> HTMLResponse:
    """Fields an ARS gave that the latest national ingestion says otherwise: to review."""
    try:
        scope = contributions.read_scope(visiteur.compte, region or None)
    except Refus as exc:
        raise refused(exc) from exc
    return page(request, "ars/conflits.html", visiteur=visiteur,
                conflits=contributions.conflicts(session.connection(), scope))


@router.get("/journal", response_class=HTMLResponse)
def journal_page(request: Request, visiteur: Connecte, session: WriteSession,
                 region: OptionalRegion = "",
                 numero: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1
                 ) -> HTMLResponse:
    try:
        scope = contributions.journal_scope(visiteur.compte, region or None)
    except Refus as exc:
        raise refused(exc) from exc
    total, entrees = audit.entries(session.connection(), scope, PAGE_SIZE,
                                   (numero - 1) * PAGE_SIZE)
    return page(request, "ars/journal.html", visiteur=visiteur, entrees=entrees, total=total,
                numero=numero, pages=max(1, -(-total // PAGE_SIZE)),
                query=urlencode({"region": region} if region else {}))
