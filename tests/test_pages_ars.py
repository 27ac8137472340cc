"""The Espace ARS pages over HTTP: web login and session, CSRF on every form, the add/edit
form with the domain's French messages, moderation, région scoping, the import report,
conflicts, the audit log and escaping — on the real PostGIS, each test rolled back."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import text

from cartographie import comptes
from ingest import publish
from ingest.contributions import PIPELINE_TABLES
from ingest.records import Record
from ingest.runner import RunReport, stage
from tests.test_contributions_securite import draft_in
from tests.test_pages import PAYLOAD

STRASBOURG = {"latitude": "48.5734", "longitude": "7.7521"}
PAGES = ("/ars", "/ars/offres/nouvelle", "/ars/import", "/ars/conflits", "/ars/journal")
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def tokens(connection) -> dict[str, str]:
    accounts = {"editeur": ("ars_editeur", "44"), "moderateur": ("ars_moderateur", "44"),
                "admin": ("admin", None)}
    return {name: comptes.add_user(connection, f"page-{name}", role, region)
            for name, (role, region) in accounts.items()}


def login(client, token: str) -> str:
    """Sign in through the form; returns the CSRF token the pages put in their forms."""
    client.cookies.clear()
    response = client.post("/ars/connexion", data={"jeton": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/ars"
    return CSRF_FIELD.search(client.get("/ars").text).group(1)


def national_offer(connection, settings, nom: str, lon: float, lat: float,
                   **champs) -> int:
    """A national offer (vaccination list) published through the real pipeline."""
    run_id = connection.execute(text("""
        INSERT INTO run (source, emplacement) VALUES ('vaccination', 'test') RETURNING id
    """)).scalar_one()
    record = Record(f"test-{nom}", 1, {"nom": nom}, {"nom": nom, **champs}, lon, lat)
    stage(connection, [record], RunReport(run_id=run_id, source="vaccination"))
    publish.publish(connection, "vaccination", run_id, settings.resolved_data_dir,
                    complete=False)
    connection.execute(text(f"DROP TABLE IF EXISTS {', '.join(PIPELINE_TABLES)}"))
    return connection.execute(text("""
        SELECT offre_id FROM offre_source WHERE source = 'vaccination' AND cle = :key
    """), {"key": f"test-{nom}"}).scalar_one()


def stored_form(client, offer_id: int) -> dict[str, str]:
    """The edit form's text inputs as the page fills them."""
    html = client.get(f"/ars/offres/{offer_id}").text
    return dict(re.findall(r'<input class="fr-input[^"]*" id="champ-\w+" name="(\w+)" '
                           r'type="\w+" value="([^"]*)"', html))


def field_errors(html: str, name: str) -> list[str]:
    return re.findall(rf'id="erreur-{name}-\d+">([^<]*)<', html)


def test_login_sets_httponly_strict_cookies_and_pages_need_a_session(client, tokens):
    for path in PAGES:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/ars/connexion"
    assert "Jeton d'API" in client.get("/ars/connexion").text
    refused = client.post("/ars/connexion", data={"jeton": "cart_inconnu"})
    assert refused.status_code == 401 and "Jeton inconnu ou révoqué." in refused.text
    response = client.post("/ars/connexion", data={"jeton": tokens["editeur"]},
                           follow_redirects=False)
    cookies = response.headers.get_list("set-cookie")
    assert {c.split("=")[0] for c in cookies} == {"cartographie_session", "cartographie_csrf"}
    assert all("HttpOnly" in c and "SameSite=strict" in c and "Path=/" in c for c in cookies)
    home = client.get("/ars")
    assert home.status_code == 200 and "page-editeur" in home.text
    assert home.headers["cache-control"] == "no-store"
    csrf = CSRF_FIELD.search(home.text).group(1)
    assert client.get("/api/v1/contributions/conflits").status_code == 200  # same session
    assert client.post("/ars/deconnexion").status_code == 403
    out = client.post("/ars/deconnexion", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/ars/connexion"
    assert client.get("/ars", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/contributions/conflits").status_code == 401


def test_posts_without_the_forms_csrf_token_are_refused_with_a_french_page(
        client, connection, tokens):
    login(client, tokens["moderateur"])
    draft = draft_in(connection, "44")
    offer = {"nom": "Atelier", "cartes": "nutrition", **STRASBOURG}
    for csrf in (None, "faux"):
        extra = {} if csrf is None else {"csrf": csrf}
        for path, data in (("/ars/offres/nouvelle", offer),
                           (f"/ars/offres/{draft}/publication", {}),
                           (f"/ars/offres/{draft}/retrait", {}),
                           (f"/ars/offres/{draft}", {"nom": "Autre nom"})):
            response = client.post(path, data={**data, **extra})
            assert response.status_code == 403, path
            assert response.headers["content-type"].startswith("text/html")
            assert "Jeton CSRF absent ou invalide" in response.text
        response = client.post("/ars/import", data=extra,
                               files={"fichier": ("a.csv", b"nom;cartes\nA;nutrition\n")})
        assert response.status_code == 403
    assert connection.execute(text("SELECT statut, nom FROM offre WHERE id = :id"),
                              {"id": draft}).one() == ("brouillon", "Offre de test")
    assert connection.execute(text("SELECT count(*) FROM offre")).scalar_one() == 1


def test_editor_creates_a_draft_through_the_form_after_seeing_validation_messages(
        client, connection, tokens):
    csrf = login(client, tokens["editeur"])
    bad = client.post("/ars/offres/nouvelle", data={
        "csrf": csrf, "nom": "", "telephone": "12 34 56", "site_web": "javascript:alert(1)",
        "age_min": "60", "age_max": "18", "latitude": "48,5"})
    assert bad.status_code == 422
    html = bad.text
    assert field_errors(html, "nom") == ["nom : obligatoire"]
    assert field_errors(html, "cartes") == ["cartes : au moins une carte (ex. nutrition)"]
    assert field_errors(html, "telephone") == [
        "telephone : numéro français à 10 chiffres attendu (« 12 34 56 »)"]
    assert field_errors(html, "site_web") == [
        "site_web : une adresse web commence par https:// (« javascript:alert(1) »)"]
    assert field_errors(html, "age_min") == ["age_min (60) supérieur à age_max (18)"]
    assert field_errors(html, "latitude") == ["latitude et longitude vont ensemble"]
    assert 'value="12 34 56"' in html  # what was typed stays in the form
    assert connection.execute(text("SELECT count(*) FROM offre")).scalar_one() == 0

    good = client.post("/ars/offres/nouvelle", data={
        "csrf": csrf, "nom": "Atelier cuisine", "cartes": ["nutrition", "activite-physique"],
        "telephone": "03 88 00 00 00", "horaires": "le mardi", "gratuit": "oui",
        "modalites": ["sur_rdv"], **STRASBOURG})
    assert good.status_code == 200
    offer_id = int(re.search(r'data-resultat="creee" data-id="(\d+)"', good.text).group(1))
    assert "Position : à l'adresse." in unescape(good.text)
    assert "horaires : pas au format OSM opening_hours" in good.text
    row = connection.execute(text("""
        SELECT statut, origine, code_region, gratuit, modalites, attributs->'cartes' AS cartes
        FROM offre WHERE id = :id"""), {"id": offer_id}).one()
    assert row == ("brouillon", "ars", "44", True, ["sur_rdv"],
                   ["nutrition", "activite-physique"])
    listed = client.get("/ars", params={"statut": "brouillon", "carte": "nutrition"}).text
    assert f'<tr data-id="{offer_id}">' in listed and 'data-statut="brouillon"' in listed
    assert "Publier" not in listed  # an editor does not publish
    assert client.get("/ars", params={"statut": "publiee"}).text.count("<tr data-id") == 0

    edit = client.get(f"/ars/offres/{offer_id}").text
    assert 'value="Atelier cuisine"' in edit and 'value="03 88 00 00 00"' in edit
    assert 'id="carte-nutrition" name="cartes" value="nutrition" checked' in edit
    unchanged = client.post(f"/ars/offres/{offer_id}", data={
        **stored_form(client, offer_id), "csrf": csrf, "gratuit": "oui",
        "cartes": ["activite-physique", "nutrition"], "modalites": ["sur_rdv"]})
    assert "Aucun champ n'a changé : rien à enregistrer." in unescape(unchanged.text)
    cleared = client.post(f"/ars/offres/{offer_id}", data={
        **stored_form(client, offer_id), "csrf": csrf, "gratuit": "oui", "ville": "",
        "cartes": ["activite-physique", "nutrition"], "modalites": ["sur_rdv"]})
    assert cleared.status_code == 422 and "lieu absent" in cleared.text
    changed = client.post(f"/ars/offres/{offer_id}", data={
        **stored_form(client, offer_id), "csrf": csrf, "gratuit": "oui",
        "cartes": ["activite-physique", "nutrition"], "modalites": ["sur_rdv"],
        "telephone": "03 88 11 22 33"})
    assert 'data-resultat="mise_a_jour"' in changed.text
    assert connection.execute(text("SELECT contacts FROM offre WHERE id = :id"),
                              {"id": offer_id}).scalar_one() == [
        {"type": "telephone", "valeur": "03 88 11 22 33"}]


def test_moderator_publishes_a_draft_and_it_reaches_the_public_api(client, connection, tokens):
    csrf = login(client, tokens["editeur"])
    created = client.post("/ars/offres/nouvelle", data={
        "csrf": csrf, "nom": "Marche nordique", "cartes": "activite-physique", **STRASBOURG})
    offer_id = int(re.search(r'data-id="(\d+)"', created.text).group(1))
    public = {"carte": "activite-physique", "code_region": "44", "limit": 500}
    assert offer_id not in {o["id"] for o in client.get("/api/v1/offres", params=public)
                            .json()["offres"]}
    csrf = login(client, tokens["moderateur"])
    listed = client.get("/ars", params={"statut": "brouillon"}).text
    assert f'action="/ars/offres/{offer_id}/publication"' in listed
    done = client.post(f"/ars/offres/{offer_id}/publication",
                       data={"csrf": csrf, "retour": "/ars?statut=brouillon"},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/ars?statut=brouillon"
    assert offer_id in {o["id"] for o in client.get("/api/v1/offres", params=public)
                        .json()["offres"]}
    assert 'data-statut="publiee"' in client.get("/ars").text
    again = client.post(f"/ars/offres/{offer_id}/publication", data={"csrf": csrf})
    assert again.status_code == 409 and "n'est pas un brouillon" in unescape(again.text)
    # A return address elsewhere is ignored.
    retired = client.post(f"/ars/offres/{offer_id}/retrait",
                          data={"csrf": csrf, "retour": "https://ailleurs.example/"},
                          follow_redirects=False)
    assert retired.headers["location"] == "/ars"
    listed = client.get("/ars", params={"statut": "retiree"}).text
    assert f'action="/ars/offres/{offer_id}/restauration"' in listed
    client.post(f"/ars/offres/{offer_id}/restauration", data={"csrf": csrf})
    assert connection.execute(text("SELECT statut FROM offre WHERE id = :id"),
                              {"id": offer_id}).scalar_one() == "brouillon"
    journal = client.get("/ars/journal").text
    assert journal.count("<tr>") >= 4 and "publication" in journal and "restauration" in journal


def test_grand_est_editor_cannot_see_or_change_an_occitanie_offer(client, connection, tokens):
    occitanie = draft_in(connection, "76")
    csrf = login(client, tokens["editeur"])
    assert f'data-id="{occitanie}"' not in client.get("/ars", params={"perimetre": "toutes"}).text
    page = client.get(f"/ars/offres/{occitanie}")
    assert page.status_code == 403 and "hors de votre région (44)" in page.text
    for path, data in ((f"/ars/offres/{occitanie}", {"nom": "Pris"}),
                       (f"/ars/offres/{occitanie}/retrait", {})):
        assert client.post(path, data={"csrf": csrf, **data}).status_code == 403
    assert client.get("/ars/offres/999999999").status_code == 404
    assert client.get("/ars", params={"region": "76"}).status_code == 403
    toulouse = client.post("/ars/offres/nouvelle", data={
        "csrf": csrf, "nom": "Ailleurs", "cartes": "nutrition", "latitude": "43.6045",
        "longitude": "1.4440"})
    assert toulouse.status_code == 403
    assert "lieu hors de votre région : Toulouse est en Occitanie (76)" in toulouse.text
    assert client.get("/ars/journal").status_code == 403  # editors have no journal
    assert connection.execute(text("SELECT statut, nom FROM offre WHERE id = :id"),
                              {"id": occitanie}).one() == ("brouillon", "Offre de test")


def test_import_dry_run_page_shows_the_exact_report_then_imports(client, connection, tokens,
                                                                   settings):
    national = national_offer(connection, settings, "Centre de vaccination Esplanade",
                              7.7680, 48.5790, adresse="1 rue de Rome", code_postal="67000")
    content = (
        "identifiant;nom;cartes;latitude;longitude;telephone;adresse;code_postal\n"
        "a1;Atelier équilibre;activite-physique;48.5734;7.7521;03 88 00 00 00;;\n"
        "a2;Sans carte;;48.5734;7.7521;;;\n"
        "a3;Centre de vaccination Esplanade;vaccination-adulte;48.5790;7.7680;;"
        "1 rue de Rome;67000\n"
    ).encode()
    csrf = login(client, tokens["editeur"])
    before = connection.execute(text("SELECT count(*) FROM offre")).scalar_one()
    checked = client.post("/ars/import", data={"csrf": csrf, "action": "verifier"},
                          files={"fichier": ("offres.csv", content, "text/csv")})
    assert checked.status_code == 200
    html = checked.text
    assert 'data-dry-run="oui"' in html and "rien n'est enregistré" in html
    rows = re.findall(r'<tr data-ligne="(\d+)" data-resultat="(\w+)">(.*?)</tr>', html, re.S)
    assert [(line, result) for line, result, _ in rows] == [  # to look at first
        ("3", "erreur"), ("4", "doublon"), ("2", "creee")]
    assert "cartes : au moins une carte (ex. nutrition)" in rows[0][2]
    assert f'href="/ars/offres/{national}">n° {national}</a>' in rows[1][2]
    assert f"doublon de l&#39;offre {national} « Centre de vaccination Esplanade »" in rows[1][2]
    assert "3 lignes lues : 1 créée(s), 0 mise(s) à jour, 0 inchangée(s), 1 doublon(s), " \
           "1 en erreur" in " ".join(html.split())
    assert connection.execute(text("SELECT count(*) FROM offre")).scalar_one() == before
    api = client.post("/api/v1/contributions/import?dry_run=true",
                      headers={"Authorization": f"Bearer {tokens['editeur']}"},
                      files={"fichier": ("offres.csv", content, "text/csv")}).json()
    assert [(str(r["ligne"]), r["resultat"]) for r in api["lignes"]] == [
        (line, result) for line, result, _ in rows]  # the page shows the API's report

    imported = client.post("/ars/import", data={"csrf": csrf, "action": "importer"},
                           files={"fichier": ("offres.csv", content, "text/csv")})
    assert 'data-dry-run="non"' in imported.text
    assert connection.execute(text("SELECT count(*) FROM offre")).scalar_one() == before + 1
    unreadable = client.post("/ars/import", data={"csrf": csrf},
                             files={"fichier": ("x.csv", b"titre;cartes\nA;nutrition\n")})
    assert unreadable.status_code == 422
    assert "Fichier refusé : en-tête CSV sans colonne « nom »" in unreadable.text


def test_import_page_pages_a_long_report_errors_first(client, tokens):
    lines = ["identifiant;nom;cartes;latitude;longitude"] + [
        f"p{i};Atelier Kiwi Page {i:03d};{'' if i % 13 == 0 else 'nutrition'};"
        f"{48.50 + i / 1000:.4f};{7.70 + i / 1000:.4f}" for i in range(130)]
    content = ("\n".join(lines) + "\n").encode()
    errors = {str(i + 2) for i in range(130) if i % 13 == 0}
    csrf = login(client, tokens["editeur"])

    def shown(page: int) -> tuple[list[tuple[str, str]], str]:
        html = client.post("/ars/import", data={"csrf": csrf, "action": "verifier",
                                                "page": str(page)},
                           files={"fichier": ("long.csv", content, "text/csv")}).text
        return re.findall(r'<tr data-ligne="(\d+)" data-resultat="(\w+)">', html), html

    first, html = shown(1)
    assert len(first) == 100 and {line for line, _ in first[:10]} == errors
    assert all(result == "erreur" for _, result in first[:10])
    assert "130 lignes lues" in html and "Lignes 1 à 100 du rapport sur 130" in html
    pager = re.search(r'<form[^>]*id="autres-lignes".*?</form>', html, re.S).group(0)
    assert 'name="page"' in pager and 'value="2"' in pager and 'name="fichier"' in pager
    assert "Voir les lignes suivantes" in pager
    second, html = shown(2)
    assert "page 2 sur 2" in html and len(second) == 30
    assert sorted(int(line) for line, _ in first + second) == list(range(2, 132))


def test_conflicts_page_lists_a_national_value_that_disagrees(client, connection, tokens,
                                                              settings):
    offer = national_offer(connection, settings, "Centre Kléber", 7.7460, 48.5830,
                           horaires="Mo-Fr 08:00-12:00")
    csrf = login(client, tokens["editeur"])
    edit = client.post(f"/ars/offres/{offer}", data={
        "csrf": csrf, **stored_form(client, offer), "horaires": "Mo-Fr 09:00-17:00"})
    assert 'data-resultat="mise_a_jour"' in edit.text
    fields = connection.execute(text("SELECT provenance FROM offre WHERE id = :id"),
                                {"id": offer}).scalar_one()
    assert fields["horaires"] == "ars" and fields["nom"] == "vaccination"  # only what changed
    listed = client.get("/ars").text
    assert f'data-id="{offer}"' in listed and "nationale, corrigée par l'ARS" in unescape(listed)
    conflicts = client.get("/ars/conflits").text
    assert re.search(rf'data-id="{offer}" data-champ="horaires">.*?Mo-Fr 09:00-17:00</td>\s*'
                     r"<td>Mo-Fr 08:00-12:00</td>\s*<td>vaccination</td>", conflicts, re.S)


def test_hostile_texts_are_escaped_on_every_page(client, connection, tokens):
    csrf = login(client, tokens["moderateur"])
    created = client.post("/ars/offres/nouvelle", data={
        "csrf": csrf, "nom": PAYLOAD, "description": PAYLOAD, "cartes": "nutrition",
        "horaires": PAYLOAD, **STRASBOURG})
    offer_id = int(re.search(r'data-id="(\d+)"', created.text).group(1))
    edit = client.get(f"/ars/offres/{offer_id}").text
    assert "<h1>&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in edit
    refused = client.post("/ars/offres/nouvelle", data={
        "csrf": csrf, "nom": PAYLOAD, "cartes": PAYLOAD, "telephone": PAYLOAD})
    report = client.post("/ars/import", data={"csrf": csrf}, files={"fichier": (
        "<b>x</b>.csv", f'nom;cartes\n"{PAYLOAD.replace(chr(34), chr(34) * 2)}";{PAYLOAD}\n'
        .encode())})
    for html in (client.get("/ars").text, edit, created.text,
                 client.get("/ars/journal").text, refused.text, report.text):
        assert PAYLOAD not in html and "<script>alert" not in html
        assert 'onerror="alert' not in html
    assert "&lt;b&gt;x&lt;/b&gt;.csv" in report.text
