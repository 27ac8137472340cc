"""« Faire mon bilan », tried in Chromium as new users would: a professional signs in through
the local OpenID provider, declares two places with a booking link, the ARS approves, and a
citizen finds them near their commune."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from cartographie import comptes
from ingest.catalog import ingest
from tests.browser import artifact
from tests.psc import app_with_provider
from tests.test_browser import page, sign_in  # noqa: F401  (the page fixture)

DATA = Path(__file__).resolve().parent.parent / "data"
EXTRACTION = (Path(__file__).resolve().parent / "data"
              / "PS_LibreAcces_Personne_activite_202612010000-ESSAI.txt")


def shot(page, name: str) -> None:  # noqa: F811
    page.screenshot(path=artifact(f"{name}.png"), full_page=True)


def test_professional_declares_ars_approves_citizen_finds(page, ingest_engine):  # noqa: F811
    ingest(ingest_engine, "annuaire-sante", str(EXTRACTION), DATA)
    with ingest_engine.begin() as connection:
        connection.execute(text("TRUNCATE audit, utilisateur RESTART IDENTITY CASCADE"))
        paris = comptes.add_user(connection, "moderateur-idf", "ars_moderateur", "11")
        grand_est = comptes.add_user(connection, "moderateur-ge", "ars_moderateur", "44")
    with app_with_provider(ingest_engine, delay_minutes=1440) as (url, _):
        # The professional: sign in with « Pro Santé Connect », then the two places.
        page.goto(f"{url}/bilan")
        page.click("a[href='/pro']")
        page.click("#connexion-psc")
        page.fill("#rpps", "10000000001")
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/pro")
        places = page.locator("section.bilan-lieu")
        assert places.count() == 2
        first, second = (places.nth(i).get_attribute("data-activite") for i in range(2))
        page.click(f"label[for=oui-{first}]")
        page.fill(f"#lien-{first}", "http://www.essai-rdv.fr/claire")
        page.click(f"section[data-activite='{first}'] form[action$='{first}'] button")
        error = page.locator(f"section[data-activite='{first}'] .fr-alert--error")
        assert "https://" in error.inner_text()
        assert page.input_value(f"#lien-{first}") == "http://www.essai-rdv.fr/claire"
        shot(page, "pro-lien-refuse")
        page.fill(f"#lien-{first}", "https://WWW.Essai-RDV.fr/claire")
        page.click(f"section[data-activite='{first}'] form[action$='{first}'] button")
        page.click(f"label[for=oui-{second}]")
        page.fill(f"#lien-{second}", "https://www.essai-rdv.fr/claire-strasbourg")
        page.click(f"section[data-activite='{second}'] form[action$='{second}'] button")
        assert page.locator(".fr-badge--new").count() == 2  # waiting for publication
        shot(page, "pro-declarations")
        # Before moderation, the citizen sees nobody.
        page.goto(f"{url}/bilan?lieu=Paris")
        assert page.locator(".bilan-professionnel").count() == 0
        # Each ARS approves the declaration of its own région.
        for token in (paris, grand_est):
            page.context.clear_cookies()
            page.goto(f"{url}/ars/connexion")
            sign_in(page, url, token)
            page.goto(f"{url}/ars/bilan")
            shot(page, "ars-moderation")
            page.click("form[action$='/validation'] button")
            page.wait_for_url(f"{url}/ars/bilan")
        # The citizen, from the home page.
        page.context.clear_cookies()
        page.goto(f"{url}/")
        page.click(".bilan-accueil a[href='/bilan']")
        page.fill("#lieu", "Paris")
        page.click("form[role=search] button[type=submit]")
        found = page.locator(".bilan-professionnel")
        assert found.count() == 1
        assert "Dr Claire ESSAI-MARTIN" in found.inner_text()
        booking = found.locator("a", has_text="Prendre rendez-vous")
        assert booking.get_attribute("href") == "https://www.essai-rdv.fr/claire"
        page.frame_locator("iframe.bilan-carte").locator(".repere").first.wait_for()
        shot(page, "citoyen-paris")
        page.goto(f"{url}/bilan?lieu=Strasbourg&profession=medecin")
        assert "claire-strasbourg" in page.locator(".bilan-professionnel").inner_html()
