"""The citizen pages in the person's language; the card texts in their « Facile à lire » version."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from api.routers.pages import CITIZEN_TEMPLATES, TEMPLATES
from benchmarks.lisibilite import card_scores
from cartographie.ouverture import state_at
from maps import langues, textes_offre
from maps.facile import texte_facile
from maps.folium_maps import TEMPLATES_DIR

TRADUCTIONS = ("en", "ar", "es", "uk")


@pytest.fixture
def web(demo_client):
    """The demo app, forgetting the language and reading choices after each test."""
    yield demo_client
    demo_client.cookies.clear()


def test_the_browsers_language_is_followed_and_arabic_is_right_to_left(web):
    html = web.get("/", headers={"accept-language": "ar-MA,ar;q=0.9,fr;q=0.5"}).text
    assert '<html lang="ar" dir="rtl"' in html
    assert "أين تجد المساعدة قرب مسكنك؟" in html and "التلقيح" in html
    html = web.get("/", headers={"accept-language": "de-DE, es;q=0.8, en;q=0.7"}).text
    assert '<html lang="es" dir="ltr"' in html and "¿Dónde encontrar ayuda" in html
    html = web.get("/", headers={"accept-language": "de-DE"}).text
    assert '<html lang="fr" dir="ltr"' in html and "Où trouver de l'aide" in html


def test_the_switcher_choice_is_remembered_over_the_browsers_language(web):
    response = web.get("/cartes/addiction-tabac", params={"lang": "uk"},
                       headers={"accept-language": "en"})
    assert response.cookies.get(langues.COOKIE) == "uk"
    html = web.get("/cartes/depistage", headers={"accept-language": "en"}).text
    assert '<html lang="uk"' in html and "<h1>Скринінг</h1>" in html
    assert "Пройти скринінг раку молочної залози" in html  # a besoin, in its select
    switcher = re.search(r'<nav class="langues".*?</nav>', html, re.S)[0]
    assert 'lang="ar" hreflang="ar" dir="rtl"' in switcher and "العربية" in switcher
    assert 'href="http://testserver/cartes/depistage?lang=fr"' in switcher


def test_offer_data_stays_as_published_and_is_marked_french(web):
    params = {"lieu": "Strasbourg", "age": "47", "cartes": ["addiction-tabac"], "lang": "en"}
    html = web.get("/orientation", params=params).text
    title = re.search(r'<h2 id="resultats-titre">(.*?)</h2>', html)[1]
    assert re.fullmatch(r"Near [^<]*Strasbourg[^<]*, for age 47", title), title
    names = re.findall(r'<strong lang="fr" dir="ltr">([^<]+)</strong>', html)
    assert names, "the offers' names are shown as the sources publish them, marked French"
    assert 'Tabac Info Service</strong>' in html  # a national resource keeps its name
    assert "Information and help to stop smoking" in html  # its description is translated


def test_the_sheet_is_printed_in_the_persons_language_with_french_labels_beside(web):
    params = {"lieu": "Strasbourg", "age": "47", "cartes": ["addiction-tabac"],
              "langue_fiche": "ar"}
    orientation = web.get("/orientation", params=params).text
    assert '<option value="ar" lang="ar" selected>العربية</option>' in orientation
    link = re.search(r'id="imprimer-fiche" href="([^"]+)"', orientation)[1]
    assert "langue_fiche=ar" in link
    assert '<html lang="fr"' in orientation  # the professional's own page stays French
    sheet = web.get(link.replace("&amp;", "&")).text
    assert '<html lang="ar" dir="rtl"' in sheet and "موارد الوقاية الخاصة بي" in sheet
    assert 'الهاتف <span lang="fr" dir="ltr">(Tél.)</span>' in sheet
    assert "langue_fiche=ar&amp;lang=ar" in sheet  # the QR code opens it in Arabic too
    assert web.get("/").text.startswith("<!doctype html>\n<html lang=\"fr\"")  # no cookie set


def test_a_missing_translation_falls_back_to_french_never_to_a_key(web, monkeypatch):
    monkeypatch.setattr(langues, "traductions_taxonomie", lambda dossier, langue: {})
    html = web.get("/", params={"lang": "es"}).text
    assert '<a href="/cartes/addiction-tabac"><span lang="fr" dir="ltr">Tabac</span></a>' in html
    assert "¿Dónde encontrar ayuda cerca de usted?" in html


def extracted_messages() -> set[str | tuple[str, str]]:
    """What ``pybabel extract`` reads (maps/babel.cfg): the templates, the gettext calls of
    ``maps`` and the core's ``a_traduire`` texts; a plural is its (singular, plural) pair."""
    root = Path(langues.__file__).parent.parent
    with (root / "maps" / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = DEFAULT_KEYWORDS | {"a_traduire": None}
    return {message for package in ("maps", "cartographie")
            for _, _, message, *_ in extract_from_dir(root / package, method_map, options_map,
                                                      keywords=keywords) if message}


def forms(message) -> list[tuple[str, str]]:
    """Each (French, translated) pair of a catalogue entry, every plural form included."""
    if isinstance(message.id, tuple):
        return [(message.id[0 if i == 0 else 1], text) for i, text in enumerate(message.string)]
    return [(message.id, message.string)]


def test_every_template_string_is_translated_in_every_language():
    french = {m if isinstance(m, str) else m[0] for m in extracted_messages()}
    assert len(french) > 160
    for code in TRADUCTIONS:
        path = langues.LOCALES_DIR / code / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as source:
            catalog = read_po(source)
        translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog
                      if m.id and all(t for _, t in forms(m)) and not m.fuzzy}
        assert french <= translated, (code, sorted(french - translated))
        for message in catalog:
            for original, text in forms(message) if message.id else ():
                # The same %(placeholders)s, literal %% and HTML tags on both sides.
                for pattern in (r"%\(\w+\)s", r"%%", r"<[^>]+>"):
                    assert sorted(re.findall(pattern, original)) == sorted(
                        re.findall(pattern, text)), (code, original, text)


def test_every_taxonomy_label_is_translated_in_every_language(settings):
    taxonomie = settings.resolved_data_dir / "taxonomie"
    expected = {("themes", t["slug"]) for t in
                yaml.safe_load((taxonomie / "themes.yaml").read_text())["themes"]}
    for fichier in (taxonomie / "cartes").glob("*.yaml"):
        carte = yaml.safe_load(fichier.read_text())
        expected |= {("cartes", carte["slug"])} | {("besoins", b["slug"])
                                                    for b in carte["besoins"]}
    for code in TRADUCTIONS:
        data = yaml.safe_load((taxonomie / "traductions" / f"{code}.yaml").read_text())
        given = {(genre, slug) for genre, entries in data.items() for slug in entries}
        assert expected <= given, (code, sorted(expected - given))
        assert all(data["cartes"][slug].get("resume") for genre, slug in expected
                   if genre == "cartes"), code


def test_the_easy_version_is_shown_on_demand_and_the_choice_remembered(web):
    html = web.get("/cartes/vaccination-adulte").text
    assert 'id="lecture-facile"' in html and 'id="texte-facile"' not in html
    response = web.get("/cartes/vaccination-adulte", params={"lecture": "facile"})
    assert 'id="texte-facile"' in response.text
    assert "Certains vaccins se refont à certains âges.<br" in response.text  # one a line
    assert "/static/vendor/dsfr/artwork/pictograms/health/vaccine.svg#artwork-major" \
        in response.text
    assert web.get(
        "/static/vendor/dsfr/artwork/pictograms/health/vaccine.svg").status_code == 200
    assert 'id="texte-facile"' in web.get("/cartes/nutrition").text  # remembered
    assert 'id="texte-facile"' not in web.get("/cartes/nutrition",
                                              params={"lecture": "complet"}).text


def test_each_card_has_an_easy_version_that_reads_clearly_easier(settings):
    """Kandel–Moles (Flesch in French) at least 7 points higher, sentences at most 9 words
    on average, and none of the abbreviations of the editorial texts (CSAPA, CJC, IST…)."""
    scores = card_scores()
    assert len(scores) == 12
    for slug, (texte, facile) in scores.items():
        assert facile.flesch_fr >= texte.flesch_fr + 7, slug
        assert facile.mots_par_phrase <= 9 and facile.lix < texte.lix, slug
        easy = texte_facile(settings.resolved_data_dir / "taxonomie" / "facile", slug).texte
        sigles = set(re.findall(r"\b[A-Z]{3,}\b", easy)) - {"SOS"}  # SOS Amitié: a name
        assert not sigles, (slug, sigles)


# Words of our templates' text that are the same in every language, each with its reason.
SAME_IN_EVERY_LANGUAGE = {
    "République": "the State's logo (« République Française »), never translated (DSFR)",
    "Française": "the State's logo",
    "API": "a technical name",
    "OGC": "the standard « OGC API – Features »",
    "Features": "the standard « OGC API – Features »",
    "km": "the unit's symbol",
}
SPOKEN_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt", "label"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
WORD = re.compile(r"[^\W\d_]{2,}")
ADDRESS = re.compile(r"\S*[/?=]\S*")  # a URL or query (« {{ base_url }}bilan?lieu=… »)
CODE = re.compile(r"\S*[-_./#:=?\d]\S*")  # in a literal: a path, a CSS class, a slug


def prose(literal: str) -> bool:
    """A string literal that reads as words (two at least), not as code."""
    return len(WORD.findall(CODE.sub(" ", literal))) >= 2
PLACEHOLDER = "\x00"


class TextNodes(HTMLParser):
    """The text a person reads or hears in one template's HTML (text nodes and the spoken
    attributes), leaving out what is marked as not to translate (``lang="fr"``: the sources'
    data; ``translate="no"``: code) and scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, bool]] = []
        self.texts: list[str] = []

    def skipped(self) -> bool:
        return any(skip for _, skip in self.open)

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        # <html lang> is the page's language, not a mark on the sources' data.
        skip = ((values.get("lang") == "fr" and tag != "html")
                or values.get("translate") == "no" or tag in ("script", "style"))
        if not (self.skipped() or skip):
            self.texts += [v for k, v in attrs if k in SPOKEN_ATTRIBUTES and v]
        if tag not in VOID:
            self.open.append((tag, skip))

    def handle_endtag(self, tag):
        if any(t == tag for t, _ in self.open):  # branches of an {% if %} may not balance
            while self.open.pop()[0] != tag:
                pass

    def handle_data(self, data):
        if not self.skipped():
            self.texts.append(data)


def next_token(tokens: list[tuple[int, str, str]], i: int) -> str:
    return next((value for _, kind, value in tokens[i + 1:] if kind != "whitespace"), "")


def untranslated_texts(source: str) -> list[str]:
    """French a template writes outside ``_()`` / ``ngettext()`` / ``{% trans %}``: in its
    HTML text, or as a string literal of an expression that is not a message."""
    env = TEMPLATES.env
    html, found, in_trans, call_depth, depth = [], [], False, None, 0
    tokens = list(env.lex(source))
    for i, (_, kind, value) in enumerate(tokens):
        if kind == "data":
            html.append(PLACEHOLDER if in_trans else value)
        elif kind == "variable_begin":
            html.append(PLACEHOLDER)
        elif kind == "name" and i > 0 and tokens[i - 1][1] == "block_begin":
            in_trans = {"trans": True, "endtrans": False}.get(value, in_trans)
        elif kind == "name" and value in ("_", "gettext", "ngettext") and call_depth is None:
            call_depth = depth
        elif kind == "operator" and value in "([{":
            depth += 1
        elif kind == "operator" and value in ")]}":
            depth -= 1
            if call_depth is not None and depth == call_depth:
                call_depth = None
        elif (kind == "string" and call_depth is None and prose(value[1:-1])
              and next_token(tokens, i) != ":"):  # a key (carte.js's French keys) is not shown
            found.append(value[1:-1])
    parser = TextNodes()
    parser.feed("".join(html))
    for text in parser.texts:
        words = set(WORD.findall(ADDRESS.sub(" ", text.replace(PLACEHOLDER, " "))))
        if words - set(SAME_IN_EVERY_LANGUAGE):
            found.append(" ".join(text.split()))
    return found


def citizen_templates() -> list[str]:
    """The pages a citizen reads, their base and every partial they include."""
    partials = {p.name for p in TEMPLATES_DIR.glob("_*.html")}
    return sorted(CITIZEN_TEMPLATES | {"base.html"} | partials)


def test_no_citizen_template_writes_french_outside_a_message():
    for name in citizen_templates():
        source = (TEMPLATES_DIR / name).read_text(encoding="utf-8")
        assert untranslated_texts(source) == [], name


def test_the_check_of_untranslated_texts_sees_what_it_must():
    """The check itself: a forgotten text, attribute or literal is caught; a message, the
    sources' data, code, a URL, a proper name and a number are not."""
    assert untranslated_texts('<p>Ouvert maintenant</p>') == ["Ouvert maintenant"]
    assert untranslated_texts('<a title="Nouvelle fenêtre">{{ x }}</a>') == ["Nouvelle fenêtre"]
    assert untranslated_texts("{{ {'ars': ' par l ARS'}[x] }}") == [" par l ARS"]
    assert untranslated_texts(
        '<p>{{ _("Ouvert") }} <span lang="fr">Centre <b>de</b> santé</span> '
        '<code translate="no">?besoin=…</code> {{ base }}bilan?lieu={{ l }} 5 km · 12</p>'
        '<p class="fr-logo">République<br>Française</p>'
        '{{ ngettext("%(num)s an", "%(num)s ans", n, x="un mot") }}') == []
    assert untranslated_texts('<html lang="fr"><p>Chercher</p></html>') == ["Chercher"]


CARTE_JS = TEMPLATES_DIR.parent / "static" / "carte.js"
# carte.js literals with words that are not ours to translate, with the reason.
JS_NOT_MESSAGES = {
    "use strict": "a JavaScript directive",
    "liste nationale des lieux de vaccination": "a source's name, shown with the offer's data "
                                                "(lang=\"fr\")",
}


def test_every_text_carte_js_writes_has_a_translation_in_the_page():
    source = (TEMPLATES_DIR / "_textes_carte.html").read_text(encoding="utf-8")
    pairs = re.findall(r'"((?:[^"\\]|\\.)*)": _\("((?:[^"\\]|\\.)*)"', source)
    assert all(key == message for key, message in pairs), "a key is its French message"
    keys = {key for key, _ in pairs}
    script = CARTE_JS.read_text(encoding="utf-8")
    given = set(re.findall(r'\b(?:t|row)\("([^"]+)"', script))
    given |= {m for a, b in re.findall(r'plural\([^,]+, "([^"]+)", "([^"]+)"\)', script)
              for m in (a, b)}
    literals = set(re.findall(r'"([^"\n]*)"', script))
    sentences = {text for text in literals if prose(text)}
    assert given, "carte.js says its texts through t(), row() and plural()"
    assert given - keys == set()
    assert sentences - keys - set(JS_NOT_MESSAGES) == set()


@pytest.fixture
def speaking():
    """Render in a language for one test, then French again."""
    yield langues.activer
    langues.activer(langues.FRANCAIS)


def test_the_opening_state_and_the_check_date_are_said_in_the_pages_language(speaking):
    paris = ZoneInfo("Europe/Paris")
    hours = "Mo-Fr 09:00-18:00"
    noon, evening = (dt.datetime(2026, 12, 4, h, m, tzinfo=paris) for h, m in ((12, 0), (19, 0)))
    open_now = state_at(hours, "67", noon).as_json()
    closed = state_at(hours, "67", evening).as_json()  # a Friday evening: Monday next
    said = {}
    for code in ("fr", "en", "uk", "ar", "es"):
        speaking(code)
        said[code] = [" ".join(textes_offre.ouverture_libelle(s).split()) for s in
                      (open_now, closed)]
    assert said["fr"] == ["Ouvert · ferme à 18 h 00", "Fermé · ouvre lundi à 9 h 00"]
    assert said["en"] == ["Open · closes at 6:00 PM", "Closed · opens Monday at 9:00 AM"]
    assert said["uk"] == ["Відчинено · зачиняється о 18:00",
                          "Зачинено · відчиняється понеділок, о 09:00"]
    assert said["es"] == ["Abierto · cierra a las 18:00", "Cerrado · abre el lunes a las 9:00"]
    assert said["ar"][0].startswith("مفتوح · يُغلق في الساعة 6:00")
    speaking("en")
    assert textes_offre.verification_libelle({"verifie_le": "2026-12-02", "verifie_par": "ars"}) \
        == "Information checked on December 2, 2026 by the ARS"
    speaking("fr")
    assert textes_offre.verification_libelle({"verifie_le": "2026-12-02T10:00:00+01:00",
                                              "verifie_par": "source"}) \
        == "Informations vérifiées le 02/12/2026 par une source nationale"
