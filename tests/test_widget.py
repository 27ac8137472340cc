"""The embeddable map works in an iframe on an allowed partner site, and nowhere else."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from api.app import create_app
from tests.browser import artifact
from tests.conftest import running


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def partner_site(port: int, framed_url: str) -> Iterator[str]:
    """Another origin (another loopback port): a page that frames ``framed_url``."""
    html = (f"<!doctype html><html lang='fr'><body><h1>Site partenaire</h1>"
            f"<iframe src='{framed_url}' title='Carte' width='900' height='640'></iframe>"
            "</body></html>").encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the standard library's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def service_allowing_one_partner(settings, demo_engine):
    allowed = free_port()
    with running(create_app(settings.model_copy(update={"widget_sites":
                                                        f"http://127.0.0.1:{allowed}"}),
                            engine=demo_engine)) as url:
        yield url, allowed


ORIENTATION = "code_commune=67482&age=47&cartes=addiction-tabac,sante-mentale"


def new_context(browser):
    context = browser.new_context(viewport={"width": 1000, "height": 760}, locale="fr-FR")
    context.route("**/data.geopf.fr/**", lambda route: route.abort())
    return context


def test_the_widget_works_inside_an_allowed_partner_site(browser, service_allowing_one_partner):
    url, port = service_allowing_one_partner
    widget = f"{url}/widget/cartes/addiction-tabac?besoin=tabac-arreter&z=10&c=48.57,7.75"
    context = new_context(browser)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    with partner_site(port, widget) as partner:
        page.goto(partner)
        frame = page.frame_locator("iframe")
        frame.locator("#liste button[data-id]").first.wait_for(timeout=20_000)
        assert frame.locator("#besoin").input_value() == "tabac-arreter"  # filters by URL
        back = frame.locator("#lien-complet")
        assert back.get_attribute("href") == (f"{url}/cartes/addiction-tabac?"
                                              "besoin=tabac-arreter&z=10&c=48.57%2C7.75")
        assert back.get_attribute("target") == "_blank"
        assert frame.locator(".fr-header").count() == 0  # minimal chrome
        frame.locator("#liste button[data-id]").first.click()
        frame.locator("#fiche-offre").wait_for(state="visible")
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifact("widget-partenaire.png")))
    context.close()
    assert not errors, errors


def test_the_orientation_answer_works_inside_an_allowed_partner_site(
        browser, service_allowing_one_partner, demo_client):
    url, port = service_allowing_one_partner
    expected = demo_client.get(f"/api/v1/orientation?{ORIENTATION}").json()
    context = new_context(browser)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    with partner_site(port, f"{url}/widget/orientation?{ORIENTATION}") as partner:
        page.goto(partner)
        frame = page.frame_locator("iframe")
        frame.locator("li.offre").first.wait_for(timeout=20_000)
        shown = frame.locator("li.offre").evaluate_all("items => items.map(i => i.dataset.id)")
        assert shown == [str(o["id"]) for c in expected["cartes"] for s in c["jeux"]
                         for o in s["offres"]]  # the same answer as the API and the page
        assert "Strasbourg" in frame.locator("#resultats-titre").inner_text()
        back = frame.locator("#lien-complet")
        assert back.get_attribute("href") == (f"{url}/orientation?code_commune=67482&age=47"
                                              "&cartes=addiction-tabac&cartes=sante-mentale")
        assert frame.locator(".fr-header, .fr-footer, form").count() == 0  # minimal chrome
        # every link leaves the frame for a new tab, the partner's page stays
        with context.expect_page() as opened:
            frame.locator("#imprimer-fiche").click()
        assert "/orientation/fiche?" in opened.value.url
        page.screenshot(path=str(artifact("widget-orientation-partenaire.png")))
    context.close()
    assert not errors, errors


def test_a_bad_orientation_widget_parameter_is_said_in_french(demo_client):
    response = demo_client.get("/widget/orientation?code_commune=67482&cartes=chocolat")
    assert response.status_code == 422 and "cartes : valeur inconnue" in response.text
    assert 'role="alert"' in response.text
    response = demo_client.get("/widget/orientation")
    assert response.status_code == 422 and "cartes absentes" in response.text


def test_the_orientation_page_offers_its_answer_to_embed(demo_client):
    html = demo_client.get(f"/orientation?{ORIENTATION}").text
    assert "Intégrer cette réponse sur votre site" in html
    assert ("/widget/orientation?code_commune=67482&amp;age=47&amp;cartes=addiction-tabac"
            "&amp;cartes=sante-mentale") in html
    assert "Intégrer cette réponse" not in demo_client.get("/orientation").text  # no answer
    headers = demo_client.get(f"/widget/orientation?{ORIENTATION}").headers
    assert "frame-ancestors 'self'" in headers["content-security-policy"]


@pytest.mark.parametrize(("partner", "path"), [
    ("autre", "/widget/cartes/addiction-tabac"),  # a site not in widget_sites
    ("autre", f"/widget/orientation?{ORIENTATION}"),
    ("autre", "/cartes/addiction-tabac"),
    ("autorise", "/cartes/addiction-tabac"),      # the partner may frame the widget only
    ("autorise", "/orientation"),
])
def test_no_other_framing_is_allowed(browser, service_allowing_one_partner, partner, path):
    url, allowed = service_allowing_one_partner
    context = new_context(browser)
    page = context.new_page()
    with partner_site(allowed if partner == "autorise" else free_port(), url + path) as site:
        page.goto(site)
        page.wait_for_timeout(1500)
        framed = [f for f in page.frames if f is not page.main_frame]
        assert framed and all(f.locator("#carte, main").count() == 0 for f in framed)
    context.close()


def test_each_card_page_offers_the_snippet_to_copy(demo_client):
    html = demo_client.get("/cartes/addiction-tabac").text
    assert "Intégrer cette carte sur votre site" in html
    assert ("&lt;iframe src=&#34;http://testserver/widget/cartes/addiction-tabac&#34;" in html
            or "&lt;iframe src=\"http://testserver/widget/cartes/addiction-tabac\"" in html)
    headers = demo_client.get("/widget/cartes/addiction-tabac").headers
    assert "frame-ancestors 'self'" in headers["content-security-policy"]
    assert demo_client.get("/widget/cartes/inconnue").status_code == 404
