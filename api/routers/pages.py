"""The pages people see: home, a card's map, the professional's orientation and its sheet.

Pages are server-rendered Jinja templates (``maps/templates``, autoescaped) in the DSFR
look; the card map is driven by ``maps/static/carte.js`` over the public API. The orientation
page works without JavaScript: it is a plain form whose answer is rendered here, and its
printable sheet has a small map drawn by folium.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from sqlalchemy.orm import Session

from api.deps import get_session
from api.representation import public_base
from api.routers import orientation as orientation_api
from api.routers.orientation import MAX_CARDS, card_slugs, resolve_place
from cartographie import catalogue
from cartographie.contacts import telephone_uri
from cartographie.geocodage import Lieu
from cartographie.horaires import describe_hours
from maps import facile, folium_maps, langues, textes_offre
from maps.folium_maps import TEMPLATES_DIR
from maps.qrcode import qr_svg

TEMPLATES = Jinja2Templates(directory=TEMPLATES_DIR)
TEMPLATES.env.add_extension("jinja2.ext.i18n")
TEMPLATES.env.install_gettext_callables(langues.gettext, langues.ngettext, newstyle=True)
# Editorial texts are ours, but raw HTML in them is still not let through.
MARKDOWN = MarkdownIt("commonmark", {"html": False})
TEMPLATES.env.filters["markdown"] = lambda source: MARKDOWN.render(source or "")
# « Facile à lire »: one sentence a line, as written (each line break is kept).
MARKDOWN_LIGNES = MarkdownIt("commonmark", {"html": False, "breaks": True})
TEMPLATES.env.filters["markdown_lignes"] = lambda source: MARKDOWN_LIGNES.render(source or "")
TEMPLATES.env.filters["horaires"] = describe_hours
TEMPLATES.env.filters["tel"] = telephone_uri
TEMPLATES.env.filters["km"] = lambda value: (
    "—" if value is None else f"{value:.1f} km".replace(".", ","))
TEMPLATES.env.globals["ouverture_libelle"] = textes_offre.ouverture_libelle
TEMPLATES.env.globals["verification_libelle"] = textes_offre.verification_libelle
TEMPLATES.env.globals["date_lisible"] = textes_offre.date_lisible
TEMPLATES.env.globals["publics_libelles"] = textes_offre.PUBLICS
POINT = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*,\s*(-?\d{1,3}(?:\.\d+)?)\s*$")
COMMUNE_CODE = re.compile(r"^\s*(\d[\dAB]\d{3})\s*$")

router = APIRouter(include_in_schema=False)


# The pages a citizen or the person oriented reads, in their language; the Espace ARS stays French.
CITIZEN_TEMPLATES = {"accueil.html", "carte.html", "orientation.html", "fiche.html", "erreur.html",
                     "widget_orientation.html", "signaler.html", "signaler_merci.html",
                     "bilan.html", "widget_carte.html"}
UN_AN = 365 * 24 * 3600


def page(request: Request, template: str, status_code: int = 200, langue: str | None = None,
         **context: Any) -> HTMLResponse:
    """Render a page; a citizen page in the request's language (or ``langue``, the person's
    language of a sheet), remembered in a cookie when the URL's ``lang`` picks it."""
    citizen = template in CITIZEN_TEMPLATES
    choisie = langue or (langues.choisir(request.query_params.get("lang"),
                                         request.cookies.get(langues.COOKIE),
                                         request.headers.get("accept-language"))
                         if citizen else langues.FRANCAIS)
    langues.activer(choisie)
    filters = langues.filtres(request.app.state.settings.resolved_data_dir
                              / "taxonomie" / "traductions")
    context |= {"langue": choisie, "direction": langues.direction(choisie),
                "langues": langues.LANGUES if citizen else {}, **filters,
                "url_avec": lambda **params: str(request.url.include_query_params(**params))}
    response = TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)
    asked = langues.valide(request.query_params.get("lang"))
    if citizen and asked:
        response.set_cookie(langues.COOKIE, asked, max_age=UN_AN, samesite="lax", httponly=True)
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: Annotated[Session, Depends(get_session)]) -> HTMLResponse:
    return page(request, "accueil.html", themes=catalogue.themes_with_cards(session))


@router.get("/recherche")
def search_from_home(
    session: Annotated[Session, Depends(get_session)],
    carte: Annotated[str, Query(max_length=100)],
    lieu: Annotated[str, Query(max_length=200)] = "",
) -> RedirectResponse:
    """The home form: a card and a place lead to that card's map, centred on the place."""
    if catalogue.card(session, carte) is None:
        raise HTTPException(404, f"La carte « {carte} » n'existe pas.")
    query = f"?{urlencode({'lieu': lieu.strip()})}" if lieu.strip() else ""
    return RedirectResponse(f"/cartes/{carte}{query}", status_code=303)


@router.get("/cartes/{slug}", response_class=HTMLResponse)
def card_page(request: Request, slug: str,
              session: Annotated[Session, Depends(get_session)]) -> HTMLResponse:
    carte, jeux, config = card_map(request, session, slug)
    lecture = facile.lecture_choisie(request.query_params.get("lecture"),
                                     request.cookies.get(facile.COOKIE))
    response = page(request, "carte.html", carte=carte, jeux=jeux, config=config,
                    lecture=lecture, facile=facile.texte_facile(
                        request.app.state.settings.resolved_data_dir / "taxonomie" / "facile",
                        slug))
    if "lecture" in request.query_params:
        response.set_cookie(facile.COOKIE, lecture, max_age=UN_AN, samesite="lax", httponly=True)
    return response


def card_map(request: Request, session: Session, slug: str) -> tuple[Any, list[dict], dict]:
    """A card, its jeux with their colours, and the config ``carte.js`` reads (the full
    page and the embeddable widget draw the same map)."""
    carte = catalogue.card(session, slug)
    if carte is None:
        raise HTTPException(404, f"La carte « {slug} » n'existe pas.")
    settings = request.app.state.settings
    counts = catalogue.published_offer_counts_by_jeu(session)
    jeux = [{"slug": j.slug, "nom": j.nom, "nombre": counts.get(j.slug, 0),
             "couleur": folium_maps.PALETTE[i % len(folium_maps.PALETTE)]}
            for i, j in enumerate(carte.jeux)]
    config = {
        "carte": carte.slug,
        "jeux": jeux,
        "fond": {"url": settings.fond_carte_url,
                 "attribution": settings.fond_carte_attribution},
    }
    return carte, jeux, config


def place_from_form(request: Request, session: Session, lieu: str) -> Lieu:
    """« 48.57, 7.75 », a commune code, or a commune / address to geocode."""
    point = POINT.match(lieu)
    if point:
        lat, lon = float(point.group(1)), float(point.group(2))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise HTTPException(422, "coordonnées hors limites : « latitude, longitude »")
        return resolve_place(request, session, lat, lon, None, None)
    code = COMMUNE_CODE.match(lieu)
    if code:
        return resolve_place(request, session, None, None, code.group(1), None)
    return resolve_place(request, session, None, None, None, lieu)


@dataclass
class OrientationForm:
    """The form's raw values (or the API's: ``code_commune``, ``adresse``, ``cartes=a,b``),
    checked with the answer so errors show on the form, naming the parameter at fault."""

    lieu: str
    cartes: list[str]
    age: str
    besoins: str
    code_commune: str
    adresse: str
    langue_fiche: str = ""

    @property
    def asked(self) -> bool:
        return bool(self.lieu or self.cartes or self.code_commune or self.adresse)

    def query(self) -> str:
        values = {"lieu": self.lieu, "code_commune": self.code_commune, "adresse": self.adresse,
                  "age": self.age, "cartes": self.cartes, "besoins": self.besoins,
                  "langue_fiche": self.langue_fiche}
        return urlencode({k: v for k, v in values.items() if v}, doseq=True)


def orientation_form(
    lieu: Annotated[str, Query(max_length=200)] = "",
    cartes: Annotated[list[str] | None, Query(max_length=MAX_CARDS * 2)] = None,
    age: Annotated[str, Query(max_length=20)] = "",
    besoins: Annotated[str, Query(max_length=400)] = "",
    code_commune: Annotated[str, Query(max_length=20)] = "",
    adresse: Annotated[str, Query(max_length=200)] = "",
    langue_fiche: Annotated[str, Query(max_length=10)] = "",
) -> OrientationForm:
    slugs = [s.strip() for c in cartes or [] for s in c.split(",") if s.strip()]
    return OrientationForm(lieu.strip(), slugs, age.strip(), besoins.strip(),
                           code_commune.strip(), adresse.strip(),
                           langues.valide(langue_fiche) or "")


def form_place(request: Request, session: Session, form: OrientationForm) -> Lieu:
    """The one place the form or the API's parameters give; a place not found is the
    parameter's fault (422 naming it), not a missing page."""
    given = [name for name in ("lieu", "code_commune", "adresse") if getattr(form, name)]
    try:
        return _form_place(request, session, form, given)
    except HTTPException as refused:
        if refused.status_code == 404:
            raise HTTPException(422, f"{given[0]} : {refused.detail}") from refused
        raise


def _form_place(request: Request, session: Session, form: OrientationForm,
                given: list[str]) -> Lieu:
    if not given:
        raise HTTPException(422, "lieu absent : indiquez « lieu » (commune, adresse ou "
                                 "coordonnées), « code_commune » ou « adresse »")
    if len(given) > 1:
        raise HTTPException(422, f"un seul lieu : « {given[0]} » et « {given[1]} » sont donnés")
    if form.code_commune:
        if not COMMUNE_CODE.match(form.code_commune):
            raise HTTPException(422, f"code_commune : « {form.code_commune} » n'est pas un code "
                                     "commune INSEE (5 caractères, ex. 54395)")
        return resolve_place(request, session, None, None, form.code_commune, None)
    if form.adresse:
        return resolve_place(request, session, None, None, None, form.adresse)
    return place_from_form(request, session, form.lieu)


def orientation_answer(request: Request, session: Session,
                       form: OrientationForm) -> dict[str, Any]:
    """The orientation for the form's values, or the French reason it cannot be given."""
    age = parse_age(form.age)
    if not form.cartes:
        raise HTTPException(422, "cartes absentes : choisissez de 1 à 3 cartes (« cartes=a,b »)")
    slugs = card_slugs(session, ",".join(form.cartes))
    besoins = orientation_api.besoin_by_card(session, form.besoins, slugs)
    return orientation_api.answer(session, form_place(request, session, form), slugs, age,
                                  besoins)


def parse_age(value: str) -> int | None:
    """An empty age field means « not given »."""
    if not value:
        return None
    if not (value.isdigit() and int(value) <= 120):
        raise HTTPException(422, "âge : un nombre entier de 0 à 120")
    return int(value)


@router.get("/orientation", response_class=HTMLResponse)
def orientation_page(request: Request, session: Annotated[Session, Depends(get_session)],
                     form: Annotated[OrientationForm, Depends(orientation_form)]) -> HTMLResponse:
    answer, error, status = None, None, 200
    if form.asked:
        try:
            answer = orientation_answer(request, session, form)
        except HTTPException as refused:
            error, status = refused.detail, refused.status_code
    return page(request, "orientation.html", status, cards=catalogue.cards(session),
                lieu=form.lieu or form.adresse or form.code_commune, choisies=form.cartes,
                besoin_choisi=form.besoins, age=form.age, answer=answer, error=error,
                query=form.query(), langue_fiche=form.langue_fiche)


def sheet_answer(request: Request, session: Annotated[Session, Depends(get_session)],
                 form: Annotated[OrientationForm, Depends(orientation_form)]) -> dict[str, Any]:
    """The sheet and its map answer the same form; its errors are error pages."""
    return orientation_answer(request, session, form)


SheetAnswer = Annotated[dict[str, Any], Depends(sheet_answer)]


@router.get("/orientation/fiche", response_class=HTMLResponse)
def orientation_sheet(request: Request, answer: SheetAnswer,
                      form: Annotated[OrientationForm, Depends(orientation_form)]) -> HTMLResponse:
    """« Mes ressources de prévention »: the PPP's resources page, to print, in the person's
    language (``langue_fiche``) when the professional picked one.

    Its QR code opens the same answer on the orientation page (same parameters, in that
    language). The objectives and actions typed on it stay in the browser: they are in no form.
    """
    online = f"{public_base(request)}/orientation?{request.url.query}"
    if form.langue_fiche:
        online += f"&lang={form.langue_fiche}"
    return page(request, "fiche.html", langue=form.langue_fiche or None, answer=answer,
                age=answer["age"],
                query=request.url.query, palette=folium_maps.PALETTE,
                date=dt.date.today().strftime("%d/%m/%Y"), en_ligne=online,
                qr=qr_svg(online, "Ces ressources en ligne"))


@router.get("/orientation/fiche/carte", response_class=HTMLResponse)
def orientation_sheet_map(request: Request, answer: SheetAnswer) -> HTMLResponse:
    """The sheet's map, drawn by folium (shown in a frame of the sheet)."""
    settings = request.app.state.settings
    m = folium_maps.sheet_map(answer["lieu"], answer["cartes"], settings.fond_carte_url,
                              settings.fond_carte_attribution)
    html = folium_maps.with_nonce(folium_maps.render(m), request.state.csp_nonce)
    return HTMLResponse(html)


def error_page(request: Request, status: int, detail: str) -> HTMLResponse:
    """Errors on pages are pages, in French, with a way back."""
    from api.problems import TITLES

    return page(request, "erreur.html", status, titre=TITLES.get(status, "Erreur"),
                detail=detail)
