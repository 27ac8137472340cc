"""« Signaler une erreur »: a citizen's report of a published offer reaches the queue of the
offer's région only, grouped with its duplicates, bounded in size and rate, never rendered
as HTML; an ARS moderator of that région resolves it (audited); the published offer does not
change; contacts are erased after the keeping time. On the real PostGIS, rolled back."""

from __future__ import annotations

import re
from html import unescape

import httpx
import pytest
from sqlalchemy import text

from cartographie import jeux, signalements
from cartographie.contributions import Refus
from cartographie.signalements import Limites
from tests.test_contributions_securite import bearer, draft_in
from tests.test_pages_ars import login, national_offer
from tests.test_workers import ask, two_workers  # noqa: F401  (fixture)

STRASBOURG = (7.7521, 48.5734)
TOULOUSE = (1.4442, 43.6047)


@pytest.fixture
def offers(connection, settings) -> dict[str, int]:
    return {"est": national_offer(connection, settings, "Centre de vaccination Kléber",
                                  *STRASBOURG, telephone="03 88 00 00 01"),
            "occitanie": national_offer(connection, settings, "Centre de vaccination Capitole",
                                        *TOULOUSE)}


@pytest.fixture
def tokens(connection) -> dict[str, str]:
    from cartographie import comptes

    accounts = {"moderateur": ("ars_moderateur", "44"), "editeur": ("ars_editeur", "44"),
                "moderateur_occitanie": ("ars_moderateur", "76"), "admin": ("admin", None)}
    return {name: comptes.add_user(connection, f"signal-{name}", role, region)
            for name, (role, region) in accounts.items()}


def send(client, offer_id: int, **fields) -> httpx.Response:
    data = {"motif": "horaires", "texte": "", "contact": "", **fields}
    return client.post(f"/offres/{offer_id}/signaler", data=data, follow_redirects=False)


def stored(connection) -> list[dict]:
    return [dict(r) for r in connection.execute(text("""
        SELECT s.id, s.offre_id, s.motif, s.statut, s.nombre,
               array_remove(array_agg(m.texte ORDER BY m.id), NULL) AS textes,
               array_remove(array_agg(m.contact ORDER BY m.id), NULL) AS contacts
        FROM signalement s LEFT JOIN signalement_message m ON m.signalement_id = s.id
        GROUP BY s.id ORDER BY s.id""")).mappings()]


def test_a_report_reaches_the_queue_of_the_offer_s_region_only(client, connection, offers,
                                                               tokens):
    form = client.get(f"/offres/{offers['est']}/signaler?retour=/cartes/vaccination-adulte")
    assert form.status_code == 200 and "Centre de vaccination Kléber" in form.text
    assert 'name="site_internet"' in form.text  # the honeypot, hidden
    response = send(client, offers["est"], motif="telephone",
                    texte="Le bon numéro : 03 88 11 22 33", contact="jeanne@example.fr",
                    retour="/cartes/vaccination-adulte")
    assert response.status_code == 303
    thanks = client.get(response.headers["location"])
    assert thanks.status_code == 200 and "Merci pour votre signalement" in thanks.text
    assert 'href="/cartes/vaccination-adulte"' in thanks.text
    assert "jeanne@example.fr" not in thanks.text  # the reporter sees no queue, no state
    [row] = stored(connection)
    assert row["motif"] == "telephone" and row["statut"] == "ouvert" and row["nombre"] == 1
    assert row["contacts"] == ["jeanne@example.fr"]
    entry = connection.execute(text(
        "SELECT utilisateur_id, code_region, apres::text FROM audit "
        "WHERE action = 'signalement'")).one()
    assert entry[0] is None and entry[1] == "44" and "jeanne" not in entry[2]
    # The région's ARS sees it, with the contact, and the menu counts it…
    login(client, tokens["editeur"])
    queue = client.get("/ars/signalements").text
    assert "Le bon numéro : 03 88 11 22 33" in queue and "jeanne@example.fr" in queue
    assert re.search(r'id="menu-signalements">Signalements <span[^>]*>1</span>', queue)
    # …another région's ARS does not, on the page nor in the API.
    login(client, tokens["moderateur_occitanie"])
    other = client.get("/ars/signalements").text
    assert "Kléber" not in other and "jeanne" not in other and 'id="aucun-signalement"' in other
    client.cookies.clear()
    api = client.get("/api/v1/ars/signalements", headers=bearer(tokens["moderateur_occitanie"]))
    assert api.status_code == 200 and api.json()["total"] == 0
    api = client.get("/api/v1/ars/signalements", headers=bearer(tokens["moderateur"]))
    assert api.headers["cache-control"] == "no-store"
    [item] = api.json()["signalements"]
    assert item["offre_id"] == offers["est"] and item["messages"][0]["contact"] == (
        "jeanne@example.fr")
    assert client.get("/api/v1/ars/signalements").status_code == 401
    assert client.get("/api/v1/ars/signalements", params={"region": "76"},
                      headers=bearer(tokens["moderateur"])).status_code == 403


def test_the_orientation_answer_links_each_offer_to_its_form_the_printed_sheet_does_not(
        client, connection, settings, offers):
    jeux.refresh(connection, settings.resolved_data_dir)
    where = {"lieu": f"{STRASBOURG[1]}, {STRASBOURG[0]}", "cartes": "vaccination-adulte"}
    answer = client.get("/orientation", params=where)
    assert answer.status_code == 200
    assert f'href="/offres/{offers["est"]}/signaler?retour=' in answer.text
    assert "/signaler" not in client.get("/orientation/fiche", params=where).text


def test_same_offer_and_reason_still_open_are_grouped_with_a_count(client, connection, offers):
    for texte in ("Fermé le samedi", "", "Ouvert l'après-midi seulement"):
        assert send(client, offers["est"], texte=texte).status_code == 303
    assert send(client, offers["est"], motif="adresse").status_code == 303
    rows = stored(connection)
    assert [(r["motif"], r["nombre"]) for r in rows] == [("horaires", 3), ("adresse", 1)]
    assert rows[0]["textes"] == ["Fermé le samedi", "Ouvert l'après-midi seulement"]
    # Once resolved, the same reason opens a new report.
    connection.execute(text("UPDATE signalement SET statut = 'corrige', traite_le = now() "
                            "WHERE id = :id"), {"id": rows[0]["id"]})
    assert send(client, offers["est"]).status_code == 303
    assert [(r["motif"], r["statut"], r["nombre"]) for r in stored(connection)] == [
        ("horaires", "corrige", 3), ("adresse", "ouvert", 1), ("horaires", "ouvert", 1)]


def test_a_bot_filling_the_hidden_field_gets_the_same_thanks_and_nothing_is_stored(
        client, connection, offers):
    response = send(client, offers["est"], texte="Buy cheap pills", site_internet="http://spam")
    assert response.status_code == 303 and "/signaler/merci" in response.headers["location"]
    assert stored(connection) == []
    assert connection.execute(text("SELECT count(*) FROM signalement_envoi")).scalar_one() == 0


def test_sizes_and_values_are_checked_with_french_messages_and_nothing_typed_is_lost(
        client, connection, offers):
    long = send(client, offers["est"], texte="é" * 2001, contact="0388000000")
    assert long.status_code == 422
    assert "Le message dépasse 2000 caractères (2001)" in unescape(long.text)
    assert "é" * 2001 in long.text and 'value="0388000000"' in long.text  # kept
    bad_contact = send(client, offers["est"], contact="pas un contact")
    assert bad_contact.status_code == 422 and "adresse électronique" in unescape(bad_contact.text)
    assert send(client, offers["est"], motif="autre").status_code == 422  # says what
    assert "dans la liste" in unescape(send(client, offers["est"], motif="pirate").text)
    huge = client.post(f"/offres/{offers['est']}/signaler",
                       content=b"motif=horaires&texte=" + b"a" * 40_000,
                       headers={"content-type": "application/x-www-form-urlencoded"})
    assert huge.status_code == 413 and "Signalement trop volumineux" in unescape(huge.text)
    assert stored(connection) == []


def test_an_unpublished_offer_is_refused_like_an_unknown_one(client, connection):
    draft, retired = draft_in(connection, "44"), draft_in(connection, "44", "retiree")
    for offer_id in (draft, retired, 2**40):
        assert client.get(f"/offres/{offer_id}/signaler").status_code == 404
        refused = send(client, offer_id, texte="test")
        assert refused.status_code == 404
        assert f"L&#39;offre {offer_id} n&#39;existe pas." in refused.text
        assert "Offre de test" not in refused.text
        assert client.get(f"/offres/{offer_id}/signaler/merci").status_code == 404
    assert stored(connection) == []


def test_a_post_from_another_site_is_refused(client, connection, offers):
    response = client.post(f"/offres/{offers['est']}/signaler", data={"motif": "horaires"},
                           headers={"Origin": "https://malveillant.example"})
    assert response.status_code == 403 and "Signalement refusé" in unescape(response.text)
    assert stored(connection) == []


def test_what_people_write_is_shown_as_text_never_as_html(client, connection, offers, tokens):
    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    assert send(client, offers["est"], motif="autre", texte=script).status_code == 303
    login(client, tokens["moderateur"])
    queue = client.get("/ars/signalements").text
    assert "<script>alert" not in queue and "<img src=x" not in queue
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in queue


def test_only_a_moderator_of_the_region_resolves_audited_and_the_offer_does_not_change(
        client, connection, offers, tokens):
    assert send(client, offers["est"], texte="Fermé depuis juin",
                motif="ferme_definitivement").status_code == 303
    assert send(client, offers["est"], motif="telephone").status_code == 303
    closed, phone = (r["id"] for r in stored(connection))
    before = connection.execute(text("SELECT nom, statut, maj_le FROM offre WHERE id = :id"),
                                {"id": offers["est"]}).one()
    # An editor reads the queue but does not decide; another région's moderator cannot
    # tell the report exists.
    csrf = login(client, tokens["editeur"])
    refused = client.post(f"/ars/signalements/{closed}/traitement",
                          data={"csrf": csrf, "decision": "corrige"})
    assert refused.status_code == 403 and "modérateur" in unescape(refused.text)
    csrf = login(client, tokens["moderateur_occitanie"])
    refused = client.post(f"/ars/signalements/{closed}/traitement",
                          data={"csrf": csrf, "decision": "corrige"})
    assert refused.status_code == 404
    # Without the CSRF token: refused too.
    csrf = login(client, tokens["moderateur"])
    assert client.post(f"/ars/signalements/{closed}/traitement",
                       data={"decision": "corrige"}).status_code == 403
    page = client.get("/ars/signalements").text
    assert f'href="/ars/offres/{offers["est"]}">Corriger l\'offre' in page
    done = client.post(f"/ars/signalements/{closed}/traitement",
                       data={"csrf": csrf, "decision": "corrige"}, follow_redirects=False)
    assert done.status_code == 303 and f"traite={closed}" in done.headers["location"]
    no_reason = client.post(f"/ars/signalements/{phone}/traitement",
                            data={"csrf": csrf, "decision": "rejete", "motif_rejet": " "})
    assert no_reason.status_code == 422 and "pourquoi" in unescape(no_reason.text)
    client.cookies.clear()
    rejected = client.post(f"/api/v1/ars/signalements/{phone}/traitement",
                           json={"decision": "rejete", "motif_rejet": "Numéro vérifié : bon"},
                           headers=bearer(tokens["moderateur"]))
    assert rejected.status_code == 200 and rejected.json()["statut"] == "rejete"
    again = client.post(f"/api/v1/ars/signalements/{phone}/traitement",
                        json={"decision": "corrige"}, headers=bearer(tokens["moderateur"]))
    assert again.status_code == 409 and again.headers["content-type"].startswith(
        "application/problem+json")
    entries = connection.execute(text("""
        SELECT a.action, a.objet_id, a.code_region, u.nom, a.apres->>'motif_rejet'
        FROM audit a JOIN utilisateur u ON u.id = a.utilisateur_id
        WHERE a.objet_type = 'signalement' ORDER BY a.id""")).all()
    assert [tuple(e) for e in entries] == [
        ("signalement_corrige", str(closed), "44", "signal-moderateur", None),
        ("signalement_rejete", str(phone), "44", "signal-moderateur", "Numéro vérifié : bon")]
    assert connection.execute(text("SELECT nom, statut, maj_le FROM offre WHERE id = :id"),
                              {"id": offers["est"]}).one() == before
    login(client, tokens["moderateur"])
    assert "Aucun signalement à traiter" in client.get("/ars/signalements").text
    rejected_page = client.get("/ars/signalements?statut=rejete").text
    assert "Numéro vérifié : bon" in unescape(rejected_page)


def test_contacts_are_erased_once_resolved_for_longer_than_the_keeping_time(
        client, connection, offers, tokens):
    limites = Limites()
    offre = signalements.reportable_offer(connection, offers["est"])
    kept = signalements.submit(connection, offre, signalements.checked(
        "horaires", "Fermé", "0388000000", limites), "192.0.2.1", limites)
    old = signalements.submit(connection, offre, signalements.checked(
        "adresse", "Au 3, pas au 5", "a@example.fr", limites), "192.0.2.1", limites)
    connection.execute(text("""UPDATE signalement SET statut = 'corrige',
        traite_le = now() - make_interval(days => :d) WHERE id = :id"""),
        {"d": limites.conservation_jours + 1, "id": old})
    login(client, tokens["moderateur"])
    client.get("/ars/signalements")  # reading the queue sweeps what is past its time
    contacts = dict(connection.execute(text(
        "SELECT signalement_id, contact FROM signalement_message")).all())
    assert contacts == {kept: "0388000000", old: None}
    texts = connection.execute(text("SELECT texte FROM signalement_message ORDER BY id")).all()
    assert [t for (t,) in texts] == ["Fermé", "Au 3, pas au 5"]  # the report stays


def test_rate_limit_is_per_address(connection, offers):
    limites = Limites(par_heure=2)
    offre = signalements.reportable_offer(connection, offers["est"])
    report = signalements.checked("horaires", "", "", limites)
    for _ in range(2):
        signalements.submit(connection, offre, report, "192.0.2.1", limites)
    with pytest.raises(Refus) as refused:
        signalements.submit(connection, offre, report, "192.0.2.1", limites)
    assert refused.value.status == 429 and 0 < refused.value.attente <= 3600
    signalements.submit(connection, offre, report, "192.0.2.2", limites)  # another address
    stored_addresses = connection.execute(text(
        "SELECT DISTINCT empreinte FROM signalement_envoi")).scalars().all()
    assert "192.0.2.1" not in stored_addresses and len(stored_addresses) == 2


def test_rate_limit_is_shared_by_two_worker_processes(two_workers, ingest_engine,  # noqa: F811
                                                      settings):
    with ingest_engine.begin() as connection:
        offer_id = national_offer(connection, settings, "Centre signalé deux fois", *STRASBOURG)
    try:
        answers = []
        for n in range(7):  # fresh connections: either worker answers each
            with httpx.Client(base_url=two_workers, timeout=10) as http:
                answers.append(http.post(f"/offres/{offer_id}/signaler", data={
                    "motif": "horaires", "texte": f"essai {n}"}).status_code)
        assert answers == [303] * 5 + [429] * 2
        with httpx.Client(base_url=two_workers, timeout=10) as http:
            refused = http.post(f"/offres/{offer_id}/signaler",
                                data={"motif": "horaires", "texte": "encore"})
        assert int(refused.headers["retry-after"]) > 0
        assert "beaucoup de signalements" in unescape(refused.text)
        assert ">encore</textarea>" in refused.text  # what was typed is not lost
        assert ask(two_workers, f"/offres/{offer_id}/signaler").status_code == 200
        with ingest_engine.connect() as connection:
            assert connection.execute(text(
                "SELECT nombre FROM signalement WHERE offre_id = :id"),
                {"id": offer_id}).scalar_one() == 5
    finally:
        with ingest_engine.begin() as connection:
            connection.execute(text("TRUNCATE signalement, signalement_envoi CASCADE"))


@pytest.mark.parametrize("retour", ["//ailleurs.example", "/\\ailleurs.example",
                                    "/\t/ailleurs.example", "/\n/ailleurs.example",
                                    "https://ailleurs.example/"])
def test_the_way_back_never_leads_to_another_site(client, offers, retour):
    """Browsers drop tabs and newlines from a link: « /\\t/ailleurs » would be « //ailleurs »."""
    form = client.get(f"/offres/{offers['est']}/signaler", params={"retour": retour})
    assert form.status_code == 200
    assert '<a class="fr-btn fr-btn--secondary" href="/">' in form.text  # « Annuler »
    assert '<input type="hidden" name="retour" value="/">' in form.text
