"""Temporary closures in a real Chromium: an ARS editor adds one in the Espace ARS, a citizen
reads « Fermé temporairement jusqu'au … » and its message on the card page's offer panel, the
orientation sends them to another site, and after its last day it is gone."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from api.app import create_app
from cartographie import comptes, jeux, temporaire
from tests.browser import artifact
from tests.conftest import running
from tests.test_browser import page, sign_in  # noqa: F401  (page fixture)
from tests.test_pages_ars import national_offer
from tests.test_temporaire import NEUDORF, STRASBOURG

MESSAGE = "Travaux jusqu'à Noël <script>alert(1)</script> : centre de Neudorf"


def test_an_editor_closes_an_offer_citizens_see_it_until_its_last_day(page,  # noqa: F811
                                                                      settings,
                                                                      ingest_engine):
    with ingest_engine.begin() as connection:
        connection.execute(text("TRUNCATE audit, utilisateur RESTART IDENTITY CASCADE"))
        token = comptes.add_user(connection, "navigateur-temporaire", "ars_editeur", "44")
        kleber = national_offer(connection, settings, "Centre de vaccination Kléber",
                                *STRASBOURG, horaires="Mo-Su 08:00-20:00")
        neudorf = national_offer(connection, settings, "Centre de vaccination Neudorf",
                                 *NEUDORF, horaires="Mo-Su 08:00-20:00")
        jeux.refresh(connection, settings.resolved_data_dir)
    start, end = temporaire.today(), temporaire.today() + dt.timedelta(days=10)
    until = end.strftime("%d/%m/%Y")
    with running(create_app(settings, engine=ingest_engine)) as url:
        page.goto(f"{url}/ars/connexion")
        sign_in(page, url, token)
        page.goto(f"{url}/ars/offres/{kleber}")
        page.click("#lien-temporaire")
        page.wait_for_url(f"**/ars/offres/{kleber}/temporaire")
        # A period that ends before it starts is refused in French, nothing lost.
        page.fill("#champ-du", end.isoformat())
        page.fill("#champ-au", start.isoformat())
        page.fill("#champ-message", MESSAGE)
        page.click("#formulaire-temporaire button[type=submit]")
        assert "la fin est avant le début" in page.inner_text("#erreurs-temporaire")
        assert page.input_value("#champ-message") == MESSAGE
        page.fill("#champ-du", start.isoformat())
        page.fill("#champ-au", end.isoformat())
        page.click("#formulaire-temporaire button[type=submit]")
        page.wait_for_url("**fait=ajoutee")
        row = page.locator("#periodes tbody tr").first
        assert row.get_attribute("data-etat") == "en_cours"
        assert MESSAGE in row.inner_text()
        page.screenshot(path=artifact("temporaire-ars.png"), full_page=True)

        # The citizen's offer panel on the card page.
        card = (f"{url}/cartes/vaccination-adulte?lat={STRASBOURG[1]}&lon={STRASBOURG[0]}"
                f"&rayon=5&offre={kleber}")
        page.goto(card)
        panel = page.locator("#fiche-offre")
        panel.wait_for(state="visible")
        page.wait_for_selector("#fiche-offre .temporaire")
        assert f"Fermé temporairement jusqu'au {until}" in panel.inner_text()
        assert MESSAGE in panel.inner_text()  # as text: the script tag is not markup
        assert page.locator("#fiche-offre script").count() == 0
        badge = page.locator(f"#liste button[data-id='{kleber}'] .ouverture")
        assert badge.inner_text() == f"Fermé temporairement jusqu'au {until}"
        page.screenshot(path=artifact("temporaire-carte.png"), full_page=True)

        # The orientation sends the person to the open site.
        page.goto(f"{url}/orientation?code_commune=67482&cartes=vaccination-adulte&age=40")
        page.wait_for_selector("li.offre")
        shown = [int(i) for i in page.locator("li.offre").evaluate_all(
            "items => items.map(i => i.dataset.id)")]
        assert neudorf in shown and kleber not in shown
        page.screenshot(path=artifact("temporaire-orientation.png"), full_page=True)
        # Both closed: nothing else is near, both are kept, saying until when.
        with ingest_engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO information_temporaire (offre_id, genre, du, au, message) "
                "VALUES (:id, 'fermeture', :du, :au, 'Fermé pour inventaire')"),
                {"id": neudorf, "du": start, "au": end})
        page.reload()
        page.wait_for_selector("li.offre")
        assert page.locator("li.offre").count() == 2
        assert page.locator("li.offre .temporaire").count() == 2
        assert MESSAGE in page.locator(f"li.offre[data-id='{kleber}']").inner_text()
        page.screenshot(path=artifact("temporaire-orientation-fermees.png"), full_page=True)
        with ingest_engine.begin() as connection:
            connection.execute(text("DELETE FROM information_temporaire WHERE offre_id = :id"),
                               {"id": neudorf})

        # After its last day, nothing is left on the panel (kept in the Espace ARS).
        with ingest_engine.begin() as connection:
            connection.execute(text(
                "UPDATE information_temporaire SET du = du - 20, au = au - 15"))
        page.goto(card)
        panel.wait_for(state="visible")
        page.wait_for_selector("#fiche-offre .ouverture")
        assert "temporairement" not in panel.inner_text()
        assert page.locator("#fiche-offre .temporaire").count() == 0
        page.goto(f"{url}/ars/offres/{kleber}/temporaire")
        assert page.locator("#periodes tbody tr").first.get_attribute("data-etat") == "passee"
    with ingest_engine.connect() as connection:
        assert connection.execute(text(
            "SELECT count(*) FROM audit WHERE action = 'information_temporaire'")
        ).scalar_one() == 1
