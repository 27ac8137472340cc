"""Offers people can trust, in a real Chromium on the real demo data: « ouvert maintenant »
(the card page's filter, the badges of the list, the offer panel, the orientation page) and
the quality score as an ARS user sees it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import text

from api.app import create_app
from cartographie import comptes
from tests.browser import artifact
from tests.conftest import running
from tests.test_browser import page, shown_offer_ids, sign_in  # noqa: F401  (page fixture)
from tests.test_pages_ars import national_offer

PARIS = ZoneInfo("Europe/Paris")
OPEN = ("ouvert", "ferme_bientot")


def lunch_break_offer(demo_engine) -> dict:
    """A real Marne vaccination site open 9–13 h and 14–18 h every day."""
    with demo_engine.connect() as connection:
        return dict(connection.execute(text(
            "SELECT id, ST_Y(geom) AS lat, ST_X(geom) AS lon, code_commune FROM offre "
            "WHERE statut = 'publiee' AND horaires = 'Mo-Su 09:00-13:00,14:00-18:00' "
            "ORDER BY id LIMIT 1"
        )).mappings().one())


def test_open_now_filter_keeps_the_offers_open_at_the_persons_time(page,  # noqa: F811
                                                                    live_server, demo_engine,
                                                                    demo_client):
    site = lunch_break_offer(demo_engine)
    where = f"lat={site['lat']}&lon={site['lon']}&rayon=10&lieu=Centre"
    # The person's clock says 13:30 on a Friday: the site is at lunch.
    page.clock.set_fixed_time(dt.datetime(2026, 12, 4, 13, 30, tzinfo=PARIS))
    page.goto(f"{live_server}/cartes/vaccination-adulte?{where}")
    page.wait_for_selector("#liste button[data-id]")
    every = shown_offer_ids(page)
    assert site["id"] in every
    page.click("label[for=ouvert]")
    page.wait_for_url("**ouvert=true**")
    page.wait_for_function(
        "n => document.querySelectorAll('#liste button[data-id]').length !== n "
        "|| document.getElementById('etat').textContent.startsWith('Aucune')", arg=len(every))
    at_lunch = shown_offer_ids(page)
    assert site["id"] not in at_lunch and set(at_lunch) < set(every)
    states = page.locator("#liste .ouverture").evaluate_all("b => b.map(e => e.dataset.etat)")
    assert len(states) == len(at_lunch) and set(states) <= set(OPEN)
    api = demo_client.get("/api/v1/offres", params={
        "carte": "vaccination-adulte", "lat": site["lat"], "lon": site["lon"], "rayon_km": 10,
        "ouvert_le": "2026-12-04T13:30:00+01:00", "limit": 500}).json()
    assert set(at_lunch) <= {o["id"] for o in api["offres"]}
    page.screenshot(path=artifact("ouvert-maintenant-filtre.png"), full_page=True)
    # Half an hour later, the shared link gives the site back, open until 18 h.
    page.clock.set_fixed_time(dt.datetime(2026, 12, 4, 14, 30, tzinfo=PARIS))
    page.goto(page.url)
    page.wait_for_selector(f"#liste button[data-id='{site['id']}']")
    badge = page.locator(f"#liste button[data-id='{site['id']}'] .ouverture")
    assert badge.text_content() == "Ouvert · ferme à 18 h 00"


def test_offer_panel_and_orientation_say_the_state_now(page, live_server,  # noqa: F811
                                                        demo_engine, demo_client):
    site = lunch_break_offer(demo_engine)
    page.goto(f"{live_server}/cartes/vaccination-adulte?lat={site['lat']}&lon={site['lon']}"
              f"&rayon=5&offre={site['id']}")
    panel = page.locator("#fiche-offre")
    panel.wait_for(state="visible")
    now = demo_client.get(f"/api/v1/offres/{site['id']}").json()["ouverture"]
    assert f"En ce moment : {now['libelle']}" in panel.inner_text()
    assert panel.locator(".ouverture").get_attribute("data-etat") == now["etat"]
    page.screenshot(path=artifact("ouvert-maintenant-fiche.png"), full_page=True)
    page.goto(f"{live_server}/orientation?code_commune={site['code_commune']}"
              "&cartes=vaccination-adulte")
    item = page.locator(f"li.offre[data-id='{site['id']}']").first
    item.wait_for()
    assert item.locator(".ouverture").text_content() == now["libelle"]


def test_ars_user_sees_where_quality_is_low_and_opens_the_offer_to_fix(page,  # noqa: F811
                                                                       live_server,
                                                                       demo_engine):
    with demo_engine.begin() as connection:
        token = comptes.add_user(connection, "navigateur-qualite", "ars_editeur", "44")
    page.goto(f"{live_server}/ars/connexion")
    sign_in(page, live_server, token)
    page.click("a[href='/ars/qualite']")
    page.wait_for_url("**/ars/qualite")
    assert "Qualité des offres de la région Grand Est" in page.inner_text("h1")
    assert "score moyen" in page.inner_text("#qualite-ensemble")
    cards = page.locator("#qualite-cartes tbody tr")
    assert cards.count() >= 10
    assert "Vaccination des adultes" in page.inner_text("#qualite-cartes")
    rows = page.locator("#qualite-offres tbody tr")
    assert rows.count() == 20
    scores = [int(s) for s in rows.locator("[data-score]").all_text_contents()]
    assert scores == sorted(scores)
    page.screenshot(path=artifact("qualite-ars.png"), full_page=True)
    first = rows.first
    offer_id = first.get_attribute("data-id")
    lacking = first.locator("td").nth(3).inner_text()
    assert lacking and lacking != "rien"
    first.locator("a", has_text="Corriger").click()
    page.wait_for_url(f"**/ars/offres/{offer_id}")
    assert page.locator("#formulaire-offre").count() == 1


def test_ars_editor_confirms_offers_to_review_and_citizens_read_the_date(page,  # noqa: F811
                                                                         settings,
                                                                         ingest_engine):
    from tests.test_verification import METZ, STRASBOURG, age

    with ingest_engine.begin() as connection:
        connection.execute(text("TRUNCATE audit, utilisateur RESTART IDENTITY CASCADE"))
        token = comptes.add_user(connection, "navigateur-revision", "ars_editeur", "44")
        old = [national_offer(connection, settings, name, *where)
               for name, where in (("Centre de vaccination Kléber", STRASBOURG),
                                   ("Centre de vaccination Metz", METZ),
                                   ("Centre de vaccination Neudorf", (7.76, 48.57)))]
        for offer_id in old:
            age(connection, offer_id, 400)
    with running(create_app(settings, engine=ingest_engine)) as url:
        page.goto(f"{url}/ars/connexion")
        sign_in(page, url, token)
        page.click("a[href='/ars/a-revoir']")
        page.wait_for_url("**/ars/a-revoir")
        assert page.inner_text("#a-revoir-total").startswith("3 offres à revoir")
        page.screenshot(path=artifact("a-revoir.png"), full_page=True)
        # One click on one row…
        page.click(f"#offres-a-revoir tr[data-id='{old[0]}'] button[name=une]")
        page.wait_for_selector("#confirmation")
        assert "1 offre confirmée" in page.inner_text("#confirmation")
        assert page.locator("#offres-a-revoir tbody tr").count() == 2
        # …then the others ticked, confirmed together.
        for offer_id in old[1:]:
            page.click(f"label[for=choix-{offer_id}]")
        page.click("#confirmer-choix")
        page.wait_for_url("**confirmees=2**")
        assert page.inner_text("#a-revoir-total").startswith("0 offre à revoir")
        # The citizen's offer panel says when and by whom it was checked.
        page.goto(f"{url}/cartes/vaccination-adulte?lat={STRASBOURG[1]}&lon={STRASBOURG[0]}"
                  f"&rayon=5&offre={old[0]}")
        page.locator("#fiche-offre").wait_for(state="visible")
        today = dt.date.today().strftime("%d/%m/%Y")
        assert (f"Informations vérifiées le {today} par l'ARS"
                in page.inner_text("#fiche-offre"))
    with ingest_engine.connect() as connection:
        assert connection.execute(text(
            "SELECT count(*) FROM audit WHERE action = 'confirmation'")).scalar_one() == 3
