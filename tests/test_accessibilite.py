"""axe-core 4 on every page, in French and Arabic, desktop and phone; keyboard paths.

axe-core is vendored for tests only (``tests/vendor/axe-core``, pinned in
``maps/package.json``) and injected into Debian's Chromium by Playwright, in a context that
bypasses our CSP for that one script. Serious and critical violations fail the test; the
others are written to ``test-artifacts/axe-*.json`` and listed with a reason in
docs/accessibilite.md.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from api.app import create_app
from cartographie import bilan, comptes
from tests.browser import artifact
from tests.conftest import running
from tests.test_bilan_declarations import RPPS, insert_places
from tests.test_browser import DESKTOP, PHONE, STRASBOURG, sign_in

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
BLOQUANTES = {"serious", "critical"}
# Accepted, with the reason in docs/accessibilite.md.
ACCEPTEES: set[str] = set()
ORIENTATION = "/orientation?lieu=Strasbourg&age=47&cartes=addiction-tabac&cartes=sante-mentale"
SHEET = "/orientation/fiche?lieu=Strasbourg&age=47&cartes=addiction-tabac,sante-mentale"
WHERE = f"lieu=Strasbourg&lat={STRASBOURG['lat']}&lon={STRASBOURG['lon']}&rayon=5"
CARD = f"/cartes/addiction-tabac?{WHERE}"
# « Ouvert maintenant » on a Friday morning, in the person's browser (the offers open then).
OPEN_CARD = f"/cartes/vaccination-adulte?{WHERE}&ouvert=true"
FRIDAY_MORNING = dt.datetime(2026, 12, 4, 10, 30, tzinfo=ZoneInfo("Europe/Paris"))
WIDGET = f"/widget/cartes/addiction-tabac?{WHERE}"
BILAN = "/bilan?lieu=Strasbourg"
PAGES = {
    "accueil": "/",
    "carte": CARD,
    "carte-ouvert": OPEN_CARD,
    "widget": WIDGET,
    "bilan": "/bilan",
    "carte-facile": "/cartes/vaccination-adulte?lecture=facile",
    "orientation": ORIENTATION,
    "fiche": SHEET,
    "erreur": "/cartes/inconnue",
    "connexion-ars": "/ars/connexion",
    "donnees": "/donnees",
    "widget-orientation": "/widget/orientation?code_commune=67482&age=47&cartes=addiction-tabac",
}


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ["violations"]});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            cibles: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}));
    }""")
    return result


def audit(page, name: str) -> None:
    violations = axe_violations(page)
    artifact(f"axe-{name}.json").write_text(json.dumps(violations, ensure_ascii=False, indent=1))
    bloquantes = [v for v in violations if v["impact"] in BLOQUANTES]
    assert not bloquantes, (name, bloquantes)
    assert {v["id"] for v in violations} <= ACCEPTEES, (name, violations)


def open_card_with_list_and_panel(page) -> None:
    page.wait_for_selector("#liste button[data-id]")
    page.locator("#liste button[data-id]").first.click()
    page.locator("#fiche-offre").wait_for(state="visible")


@pytest.fixture
def axe_context(browser):
    contexts = []

    def make(viewport: dict, langue: str):
        context = browser.new_context(viewport=viewport, bypass_csp=True,
                                      locale="ar" if langue == "ar" else "fr-FR")
        context.route("**/tile.openstreetmap.org/**", lambda route: route.abort())
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.mark.parametrize("langue", ["fr", "ar"])
@pytest.mark.parametrize("taille", ["bureau", "telephone"])
@pytest.mark.parametrize("nom", list(PAGES))
def test_no_serious_or_critical_violation(axe_context, live_server, nom, langue, taille):
    page = axe_context(DESKTOP if taille == "bureau" else PHONE, langue)
    page.clock.set_fixed_time(FRIDAY_MORNING)
    separator = "&" if "?" in PAGES[nom] else "?"
    page.goto(f"{live_server}{PAGES[nom]}{separator}lang={langue}")
    if nom in ("carte", "carte-ouvert", "widget"):
        open_card_with_list_and_panel(page)
    audit(page, f"{nom}-{langue}-{taille}")


@pytest.fixture
def bilan_server(settings, ingest_engine):
    """The app where a doctor has declared doing the bilan in Strasbourg and Colmar."""
    with ingest_engine.begin() as connection:
        places = insert_places(connection)
        for name in ("strasbourg", "colmar"):
            bilan.declarer(connection, RPPS, bilan.Reponse(places[name], True,
                                                           "https://www.essai.fr/rdv"),
                           dt.timedelta(0))
    with running(create_app(settings, engine=ingest_engine)) as url:
        yield url


@pytest.mark.parametrize("langue", ["fr", "ar"])
@pytest.mark.parametrize("taille", ["bureau", "telephone"])
def test_the_bilan_page_with_its_professionals_has_no_serious_violation(
        axe_context, bilan_server, langue, taille):
    page = axe_context(DESKTOP if taille == "bureau" else PHONE, langue)
    page.goto(f"{bilan_server}{BILAN}&lang={langue}")
    assert page.locator(".bilan-professionnel").count() == 1
    audit(page, f"bilan-resultats-{langue}-{taille}")


def test_the_espace_ars_forms_have_no_serious_violation(axe_context, settings, ingest_engine):
    with ingest_engine.begin() as connection:
        connection.execute(text("TRUNCATE audit, utilisateur RESTART IDENTITY CASCADE"))
        token = comptes.add_user(connection, "axe-editeur", "ars_editeur", "44")
    page = axe_context(DESKTOP, "fr")
    with running(create_app(settings, engine=ingest_engine)) as url:
        page.goto(f"{url}/ars/connexion")
        sign_in(page, url, token)
        for chemin in ("/ars", "/ars/offres/nouvelle", "/ars/import", "/ars/journal",
                       "/ars/signalements"):
            page.goto(url + chemin)
            audit(page, "ars" + chemin.replace("/", "-"))


def test_screenshots_of_the_arabic_sheet_and_the_ukrainian_card(axe_context, live_server):
    page = axe_context(DESKTOP, "fr")
    page.clock.set_fixed_time(FRIDAY_MORNING)
    page.goto(f"{live_server}{SHEET}&langue_fiche=ar")
    assert page.get_attribute("html", "dir") == "rtl"
    shots = [artifact("17-fiche-arabe.png")]
    page.screenshot(path=shots[0], full_page=True)
    page.goto(f"{live_server}{OPEN_CARD}&lang=uk")
    open_card_with_list_and_panel(page)
    assert page.inner_text("h1") == "Вакцинація дорослих"
    assert page.is_checked("#ouvert") and "Відчинено зараз" in page.inner_text("label[for=ouvert]")
    assert page.locator("#liste .ouverture").first.inner_text().startswith("Відчинено")
    page.wait_for_load_state("networkidle")  # the list, again after the map moved to the offer
    assert page.inner_text("#etat").startswith("Послуг у цій зоні: ")
    shots.append(artifact("17-carte-ukrainien.png"))
    page.screenshot(path=shots[1], full_page=True)
    page.goto(f"{live_server}/cartes/vaccination-adulte?lecture=facile")
    shots.append(artifact("17-carte-facile-a-lire.png"))
    page.locator(".editorial").screenshot(path=shots[2])


def test_screenshot_of_the_arabic_bilan_page(axe_context, bilan_server):
    page = axe_context(PHONE, "ar")
    page.goto(f"{bilan_server}{BILAN}&lang=ar")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.inner_text("h1") == "إجراء فحصي الوقائي"
    assert "عدد المهنيين على بُعد أقل من 30 كم: 1" in page.inner_text("#contenu")
    page.screenshot(path=artifact("17-bilan-arabe.png"), full_page=True)


# Words only French writes; none may be read on a page in English outside the sources' data
# (lang="fr") and code (translate="no"). Not « bilan »: « Mon bilan prévention » is a name.
FRENCH_ONLY = re.compile(
    r"\b(offres?|ouvert|ouverte|fermé|ferme|ouvre|horaires|chargement|vérifiées|proches?|"
    r"aucune?|intégrer|chercher|besoins?|prochain|minuit|demain|professionnels?|dans|avec|"
    r"pour|les|une|près|carte|commune|adresse)\b", re.I)
TEXTS_READ = """() => {
    const outside = (node) => !node.closest('[lang="fr"], [translate="no"], script, style, [hidden]');
    const texts = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const node = walker.currentNode;
        if (node.textContent.trim() && outside(node.parentElement)) texts.push(node.textContent.trim());
    }
    for (const element of document.querySelectorAll("[title], [aria-label], [placeholder], [alt]")) {
        if (!outside(element)) continue;
        for (const name of ["title", "aria-label", "placeholder", "alt"]) {
            if (element.getAttribute(name)) texts.push(element.getAttribute(name));
        }
    }
    return texts;
}"""


def french_read(page) -> list[str]:
    return [text for text in page.evaluate(TEXTS_READ) if FRENCH_ONLY.search(text)]


def test_pages_in_english_say_nothing_in_french_but_the_sources_data(axe_context, live_server,
                                                                      bilan_server):
    page = axe_context(DESKTOP, "fr")
    page.clock.set_fixed_time(FRIDAY_MORNING)
    for path in (OPEN_CARD, WIDGET, ORIENTATION):
        page.goto(f"{live_server}{path}&lang=en")
        if path != ORIENTATION:
            open_card_with_list_and_panel(page)
            assert page.locator("#fiche-offre .verification, #fiche-offre .ouverture").count()
        assert french_read(page) == [], path
    page.goto(f"{bilan_server}{BILAN}&lang=en")
    assert page.locator(".bilan-professionnel").count() == 1
    assert french_read(page) == []


def test_keyboard_path_skip_link_filters_list_panel(axe_context, live_server):
    page = axe_context(DESKTOP, "fr")
    page.goto(live_server + CARD)
    page.wait_for_selector("#liste button[data-id]")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#contenu"
    page.focus("#besoin")
    page.keyboard.press("ArrowDown")  # a filter changes with the keyboard alone
    page.wait_for_function("new URL(location.href).searchParams.has('besoin')")
    page.wait_for_selector("#liste button[data-id]")
    page.locator("#liste button[data-id]").first.focus()
    page.keyboard.press("Enter")
    panel = page.locator("#fiche-offre")
    panel.wait_for(state="visible")
    assert page.get_attribute("#fiche-offre", "aria-labelledby") == "fiche-titre"
    assert page.locator("#fiche-titre").inner_text()  # the panel is named by its offer


def test_screen_reader_names_of_the_switchers(axe_context, live_server):
    page = axe_context(PHONE, "fr")
    page.goto(live_server + "/cartes/nutrition?lang=ar")
    page.click("#bouton-menu")  # on a phone, the switcher is in the header's menu
    switcher = page.get_by_role("navigation", name="اختيار اللغة")
    assert switcher.get_by_role("link", name="Français").get_attribute("lang") == "fr"
    assert page.get_by_role("navigation", name="نسخة النص").get_by_role(
        "link", name="سهل القراءة").count() == 1


def srgb_to_linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def linear_rgb(colour: str) -> list[float]:
    return [srgb_to_linear(int(colour[i:i + 2], 16)) for i in (1, 3, 5)]


def luminance(rgb: list[float]) -> float:
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]


def cielab(rgb: list[float]) -> tuple[float, float, float]:
    x = (0.4124 * rgb[0] + 0.3576 * rgb[1] + 0.1805 * rgb[2]) / 0.95047
    y = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
    z = (0.0193 * rgb[0] + 0.1192 * rgb[1] + 0.9505 * rgb[2]) / 1.08883
    f = [t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in (x, y, z)]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


# Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB.
VISIONS = {
    "ordinaire": ((1, 0, 0), (0, 1, 0), (0, 0, 1)),
    "protanopie": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216),
                   (-0.003882, -0.048116, 1.051998)),
    "deutéranopie": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413),
                     (-0.011820, 0.042940, 0.968881)),
    "tritanopie": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602),
                   (0.004733, 0.691367, 0.303900)),
}


def test_map_colours_contrast_and_colour_blind_safe():
    import itertools
    import math

    from maps.folium_maps import PALETTE

    for colour in PALETTE:  # white numbers on each colour (sheet, map markers)
        assert 1.05 / (luminance(linear_rgb(colour)) + 0.05) >= 4.5, colour
    for vision, matrix in VISIONS.items():
        seen = {c: cielab([max(0.0, min(1.0, sum(m * v for m, v in zip(row, linear_rgb(c),
                                                                             strict=True))))
                           for row in matrix]) for c in PALETTE[:6]}
        for a, b in itertools.combinations(PALETTE[:6], 2):
            assert math.dist(seen[a], seen[b]) >= 10, (vision, a, b)
