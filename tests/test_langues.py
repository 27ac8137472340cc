"""The citizen pages in the person's language; the card texts in their « Facile à lire » version."""

from __future__ import annotations

import re

import pytest
import yaml
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from benchmarks.lisibilite import card_scores
from maps import langues
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


def test_every_template_string_is_translated_in_every_language():
    french = {message for _, _, message, *_ in extract_from_dir(
        TEMPLATES_DIR, method_map=[("**.html", "jinja2")]) if isinstance(message, str)}
    assert len(french) > 80
    for code in TRADUCTIONS:
        path = langues.LOCALES_DIR / code / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as source:
            catalog = read_po(source)
        translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
        assert french <= translated, (code, sorted(french - translated))
        for message in catalog:
            if message.id:  # the same %(placeholders)s on both sides
                assert sorted(re.findall(r"%\(\w+\)s", message.id)) == sorted(
                    re.findall(r"%\(\w+\)s", message.string)), (code, message.id)


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
