"""« Signaler une erreur » end to end in a real Chromium: a citizen reports an offer from a
card's panel and gets the thanks; the ARS moderator of its région finds it in the queue and
resolves it; the ARS of another région never sees it."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from api.app import create_app
from cartographie import comptes, jeux
from tests.browser import artifact
from tests.conftest import running
from tests.test_accessibilite import audit, axe_context  # noqa: F401  (fixture)
from tests.test_browser import PHONE, page, sign_in  # noqa: F401  (page fixture)
from tests.test_pages_ars import national_offer

STRASBOURG = (7.7521, 48.5734)


def test_a_citizen_reports_an_error_and_the_region_s_moderator_resolves_it(
        page, settings, ingest_engine):  # noqa: F811
    with ingest_engine.begin() as connection:
        connection.execute(text("TRUNCATE audit, utilisateur, signalement, signalement_envoi "
                                "RESTART IDENTITY CASCADE"))
        moderator = comptes.add_user(connection, "navigateur-moderateur", "ars_moderateur", "44")
        elsewhere = comptes.add_user(connection, "navigateur-occitanie", "ars_moderateur", "76")
        offer_id = national_offer(connection, settings, "Centre de vaccination Gutenberg",
                                  *STRASBOURG, telephone="03 88 00 00 09")
        jeux.refresh(connection, settings.resolved_data_dir)
    try:
        with running(create_app(settings, engine=ingest_engine)) as url:
            card = (f"{url}/cartes/vaccination-adulte?lat={STRASBOURG[1]}&lon={STRASBOURG[0]}"
                    f"&rayon=5&offre={offer_id}")
            page.goto(card)
            panel = page.locator("#fiche-offre")
            panel.wait_for(state="visible")
            page.screenshot(path=artifact("signaler-fiche-offre.png"), full_page=True)
            panel.locator("a.signaler", has_text="Signaler une erreur").click()
            page.wait_for_url(f"**/offres/{offer_id}/signaler?retour=*")
            assert "Centre de vaccination Gutenberg" in page.inner_text("#offre-signalee")
            trap = page.locator("#site_internet").bounding_box()  # the bots' field: off screen
            assert trap["x"] + trap["width"] <= 0
            page.check("#motif-horaires", force=True)
            page.fill("#texte", "Fermé le mercredi <b>après-midi</b>")
            page.fill("#contact", "jeanne@example.fr")
            page.screenshot(path=artifact("signaler-formulaire.png"), full_page=True)
            page.click("#envoyer-signalement")
            page.wait_for_url(f"**/offres/{offer_id}/signaler/merci**")
            assert "transmis à l'ARS" in page.inner_text("#merci")
            page.screenshot(path=artifact("signaler-merci.png"), full_page=True)
            page.click("text=Revenir à la page précédente")
            page.wait_for_url("**/cartes/vaccination-adulte?**")

            # The moderator of the Grand Est sees it, counted in the menu, and resolves it.
            page.goto(f"{url}/ars/connexion")
            sign_in(page, url, moderator)
            assert page.inner_text("#menu-signalements").split() == ["Signalements", "1"]
            page.click("#menu-signalements")
            page.wait_for_url("**/ars/signalements")
            report = page.locator(f".signalement[data-offre='{offer_id}']")
            assert "Fermé le mercredi <b>après-midi</b>" in report.inner_text()  # as text
            assert "jeanne@example.fr" in report.inner_text()
            page.screenshot(path=artifact("signalements-ars.png"), full_page=True)
            report.locator("button[value=corrige]").click()
            page.wait_for_selector("#traitement-fait")
            assert page.locator(".signalement").count() == 0
            assert page.locator("#menu-signalements .fr-badge").count() == 0
            page.click("a.fr-tag[href*='statut=corrige']")
            page.wait_for_url("**statut=corrige**")
            assert "Corrigé" in page.inner_text(f".signalement[data-offre='{offer_id}']")
            page.screenshot(path=artifact("signalements-ars-corriges.png"), full_page=True)

            # The ARS of another région sees nothing of it.
            page.context.clear_cookies()
            page.goto(f"{url}/ars/connexion")
            sign_in(page, url, elsewhere)
            page.goto(f"{url}/ars/signalements?statut=corrige")
            assert page.locator(".signalement").count() == 0
            assert "Gutenberg" not in page.inner_text("main")
        with ingest_engine.connect() as connection:
            actions = connection.execute(text(
                "SELECT action FROM audit WHERE objet_type = 'signalement' ORDER BY id"
            )).scalars().all()
        assert actions == ["signalement", "signalement_corrige"]
    finally:
        with ingest_engine.begin() as connection:
            connection.execute(text("TRUNCATE signalement, signalement_envoi CASCADE"))


@pytest.mark.parametrize("langue", ["fr", "ar"])
def test_the_report_form_and_its_errors_have_no_serious_violation(axe_context,  # noqa: F811
                                                                 live_server, demo_engine,
                                                                 langue):
    with demo_engine.connect() as connection:
        offer_id = connection.execute(text(
            "SELECT min(id) FROM offre WHERE statut = 'publiee'")).scalar_one()
    phone = axe_context(PHONE, langue)
    phone.goto(f"{live_server}/offres/{offer_id}/signaler?lang={langue}")
    audit(phone, f"signaler-{langue}-telephone")
    # The bots' field is off screen without widening the page (also right to left).
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.check("#motif-autre", force=True)
    phone.fill("#contact", "pas un contact")
    phone.click("#envoyer-signalement")  # « Autre » without a text, a wrong contact: refused
    phone.wait_for_selector("#erreurs-signalement")
    assert phone.locator(".fr-error-text").count() == 2
    audit(phone, f"signaler-erreurs-{langue}-telephone")
    phone.screenshot(path=artifact(f"signaler-erreurs-{langue}.png"), full_page=True)
