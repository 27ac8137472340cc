"""The ARS import end to end, on the real Grand Est demo data, committed for real.

An editor of ARS Grand Est imports a 500-row CSV built from real offers — 450 good rows,
20 bad rows with known reasons, 30 duplicates of national offers — first as a dry run, then
for real; a moderator publishes; the offers reach the API and the cards; a national
re-ingestion keeps them and their corrections, and lists the conflicts.
"""

from __future__ import annotations

import csv
import io
import random
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from api.app import create_app
from cartographie import comptes
from cartographie.cli import app as cli
from cartographie.settings import get_settings
from ingest.catalog import ingest

HEADER = ["identifiant", "nom", "cartes", "adresse", "code_postal", "code_commune", "latitude",
          "longitude", "telephone", "site_web", "age_min", "age_max"]
BAD_ROWS = [  # values, the reason the report must give
    ({"nom": ""}, "nom : obligatoire"),
    ({"nom": " "}, "nom : obligatoire"),
    ({"cartes": "cardiologie"}, "cartes : inconnue(s) « cardiologie »"),
    ({"cartes": "nutrition|yoga"}, "cartes : inconnue(s) « yoga »"),
    ({"latitude": "43.6045", "longitude": "1.4440"},
     "lieu hors de votre région : Toulouse est en Occitanie (76)"),
    ({"latitude": "48.8566", "longitude": "2.3522"},
     "lieu hors de votre région : Paris est en Île-de-France (11)"),
    ({"latitude": "0", "longitude": "0"}, "coordonnées hors de France"),
    ({"latitude": "48,5", "longitude": ""}, "latitude et longitude vont ensemble"),
    ({"latitude": "quarante-huit", "longitude": "7.7"}, "latitude : « quarante-huit » n'est pas"),
    ({"telephone": "12 34 56"}, "telephone : numéro français à 10 chiffres attendu"),
    ({"telephone": "+44 20 7946 0958"}, "telephone : numéro français à 10 chiffres attendu"),
    ({"site_web": "javascript:alert(1)"}, "site_web : une adresse web commence par https://"),
    ({"site_web": "www.exemple.fr"}, "site_web : une adresse web commence par https://"),
    ({"age_min": "60", "age_max": "18"}, "age_min (60) supérieur à age_max (18)"),
    ({"age_min": "douze"}, "age_min : « douze » n'est pas un nombre"),
    ({"age_max": "200"}, "age_max : 200 hors de l'intervalle [0, 120]"),
    ({"latitude": "", "longitude": "", "code_commune": ""},
     "lieu absent : donnez latitude et longitude"),
    ({"latitude": "", "longitude": "", "code_commune": "99999"},
     "code_commune : commune inconnue « 99999 »"),
    ({"code_postal": "6700"}, "code_postal : 5 chiffres attendus"),
    ({"identifiant": "bon-0"}, "identifiant déjà présent plus haut dans le fichier"),
]


@pytest.fixture
def national(ingest_engine, settings):
    """The real Grand Est national offers (FINESS and vaccination sites), no accounts yet."""
    data = settings.resolved_data_dir
    ingest(ingest_engine, "finess",
           str(data / "demo" / "finess-grand-est-20210108-fhir.ndjson.gz"), data)
    ingest(ingest_engine, "vaccination",
           str(data / "demo" / "centres-vaccination-grand-est-2021-03.csv"), data)
    with ingest_engine.begin() as connection:
        connection.execute(text("TRUNCATE audit, utilisateur RESTART IDENTITY CASCADE"))
    return ingest_engine


def build_csv(connection) -> tuple[bytes, dict[int, str], dict[int, int]]:
    """500 rows in a shuffled order: the file, bad line → reason, duplicate line → offer."""
    communes = connection.execute(text("""
        SELECT code, ST_Y(centre), ST_X(centre) FROM commune
        WHERE code_region = '44' AND centre IS NOT NULL ORDER BY code
    """)).all()[::10][:450]
    duplicated = connection.execute(text("""
        SELECT o.id, o.nom, o.adresse, o.code_postal, ST_Y(o.geom), ST_X(o.geom) FROM offre o
        WHERE o.statut = 'publiee' AND o.code_region = '44'
          AND (SELECT array_agg(DISTINCT source) FROM offre_source s WHERE s.offre_id = o.id)
              = '{vaccination}'
          AND (SELECT count(*) FROM offre p WHERE upper(p.nom) = upper(o.nom)) = 1
        ORDER BY o.id LIMIT 30
    """)).all()
    assert len(communes) == 450 and len(duplicated) == 30
    rows = []
    for i, (code, lat, lon) in enumerate(communes):
        with_point = i < 400
        rows.append(("bon", None, {
            "identifiant": f"bon-{i}", "nom": f"Atelier Kiwi Mobilité {i:03d}",
            "cartes": "nutrition" if i % 2 else "activite-physique",
            "code_commune": "" if with_point else code,
            "latitude": f"{lat:.6f}" if with_point else "",
            "longitude": f"{lon:.6f}" if with_point else "",
            "telephone": "03 88 00 00 00", "age_min": "18", "age_max": "99"}))
    for i, (offer, nom, adresse, postcode, lat, lon) in enumerate(duplicated):
        rows.append(("doublon", offer, {
            "identifiant": f"doublon-{i}", "nom": nom, "cartes": "vaccination-adulte",
            "adresse": adresse or "", "code_postal": postcode or "", "latitude": f"{lat:.6f}",
            "longitude": f"{lon:.6f}", "telephone": f"03 99 00 00 {i:02d}"}))
    for i, (values, reason) in enumerate(BAD_ROWS):
        good = {"identifiant": f"mauvais-{i}", "nom": f"Atelier Kiwi Erreur {i}",
                "cartes": "nutrition", "latitude": "48.58", "longitude": "7.75"}
        rows.append(("mauvais", reason, {**good, **values}))
    random.Random(7).shuffle(rows)
    # The in-file duplicate key must come after its first occurrence.
    first = next(n for n, r in enumerate(rows) if r[0] == "bon" and r[2]["identifiant"] == "bon-0")
    second = next(n for n, r in enumerate(rows) if r[0] == "mauvais" and r[2]["identifiant"]
                  == "bon-0")
    if second < first:
        rows[first], rows[second] = rows[second], rows[first]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, HEADER, delimiter=";", lineterminator="\n")
    writer.writeheader()
    writer.writerows(row for _, _, row in rows)
    bad = {line: r[1] for line, r in enumerate(rows, start=2) if r[0] == "mauvais"}
    duplicates = {line: r[1] for line, r in enumerate(rows, start=2) if r[0] == "doublon"}
    return buffer.getvalue().encode("utf-8"), bad, duplicates


def counts(connection) -> tuple[int, ...]:
    return connection.execute(text("""
        SELECT (SELECT count(*) FROM offre), (SELECT count(*) FROM run),
               (SELECT count(*) FROM audit), (SELECT count(*) FROM source_record),
               (SELECT count(*) FROM historique)
    """)).one()


def test_ars_grand_est_imports_500_rows_moderates_and_survives_national_reingestion(
        national, settings, tmp_path, capsys):
    with national.begin() as connection:
        editor = {"Authorization": "Bearer " + comptes.add_user(connection, "ge-editeur",
                                                                "ars_editeur", "44")}
        moderator = {"Authorization": "Bearer " + comptes.add_user(
            connection, "ge-moderateur", "ars_moderateur", "44")}
    with national.connect() as connection:
        content, bad, duplicates = build_csv(connection)
        before = counts(connection)
    client = TestClient(create_app(settings, engine=national))
    upload = {"fichier": ("offres-grand-est.csv", content, "text/csv")}

    started = time.perf_counter()
    dry = client.post("/api/v1/contributions/import?dry_run=true&lignes_max=500",
                      headers=editor, files=upload)
    dry_seconds = time.perf_counter() - started
    assert dry.status_code == 200, dry.text
    report = dry.json()
    with national.connect() as connection:
        assert counts(connection) == before  # a dry run writes nothing
    summary = {k: report[k] for k in ("lues", "creees", "mises_a_jour", "inchangees",
                                       "doublons", "erreurs", "avertissements")}
    # Besides the 30 duplicates, the merge engine flags near misses worth a look: the
    # maisons de santé at the address of duplicated vaccination sites (same address, names
    # too different to merge).
    near_misses = [w for line in report["lignes"] for w in line["avertissements"][1:]]
    assert len(near_misses) >= 2 and all(w.startswith("ressemble à l'offre ")
                                         and "même adresse" in w for w in near_misses)
    assert summary == {"lues": 500, "creees": 450, "mises_a_jour": 0, "inchangees": 0,
                       "doublons": 30, "erreurs": 20,
                       "avertissements": 30 + len(near_misses)}
    assert all(line["ressemblances"] for line in report["lignes"]
               if len(line["avertissements"]) > 1)
    errors = {line["ligne"]: " ; ".join(line["erreurs"]) for line in report["lignes"]
              if line["resultat"] == "erreur"}
    assert set(errors) == set(bad)
    for line, reason in bad.items():
        assert reason in errors[line], (line, errors[line])
    found = {line["ligne"]: line for line in report["lignes"] if line["resultat"] == "doublon"}
    assert {line: found[line]["offre_id"] for line in found} == duplicates
    assert all(found[line]["avertissements"][0].startswith(f"doublon de l'offre {offer} ")
               for line, offer in duplicates.items())

    started = time.perf_counter()
    real = client.post("/api/v1/contributions/import?dry_run=false&lignes_max=500",
                       headers=editor, files=upload)
    import_seconds = time.perf_counter() - started
    assert real.status_code == 200
    imported = real.json()
    assert {k: imported[k] for k in summary} == summary
    assert [(r["ligne"], r["resultat"]) for r in imported["lignes"]] == [
        (r["ligne"], r["resultat"]) for r in report["lignes"]]
    created = [r["offre_id"] for r in imported["lignes"] if r["resultat"] == "creee"]
    assert len(set(created)) == 450
    public = client.get("/api/v1/offres?code_region=44&q=Kiwi&limit=1000").json()
    assert public["total"] == 0  # drafts are not public

    assert client.post("/api/v1/contributions/publication", headers=editor,
                       json={"ids": created}).status_code == 403
    started = time.perf_counter()
    published = client.post("/api/v1/contributions/publication", headers=moderator,
                            json={"ids": created})
    publish_seconds = time.perf_counter() - started
    assert published.status_code == 200 and len(published.json()["publiees"]) == 450
    public = client.get("/api/v1/offres?code_region=44&q=Kiwi&limit=1000").json()
    assert public["total"] == 450
    on_card = client.get("/api/v1/offres?carte=nutrition&q=Kiwi&limit=1000").json()
    assert on_card["total"] == 225
    assert all("nutrition-offres-ars" in offer["jeux"] for offer in on_card["offres"])
    card = client.get("/api/v1/cartes/activite-physique").json()
    ars_jeu = next(j for j in card["jeux"] if j["slug"] == "activite-physique-offres-ars")
    assert ars_jeu["nombre_offres"] == 225
    a_duplicate = next(iter(duplicates.values()))
    corrected = client.get(f"/api/v1/offres/{a_duplicate}").json()
    assert corrected["sources"]["champs"]["contacts"] == "ars"
    assert corrected["contacts"][0]["valeur"].startswith("03 99 00 00")

    # The same file again changes nothing.
    again = client.post("/api/v1/contributions/import?dry_run=false", headers=editor,
                        files=upload).json()
    assert (again["inchangees"], again["erreurs"], again["creees"]) == (480, 20, 0)

    # A national re-ingestion that disagrees with the ARS corrections keeps them.
    data = settings.resolved_data_dir
    source = (data / "demo" / "centres-vaccination-grand-est-2021-03.csv").read_text("utf-8")
    changed = tmp_path / "vaccination-maj.csv"
    lines = source.splitlines(keepends=True)
    with national.connect() as connection:
        gids = set(connection.scalars(text("""
            SELECT os.cle FROM offre_source os WHERE os.source = 'vaccination'
              AND os.offre_id = ANY(:ids)
        """), {"ids": list(duplicates.values())}))
    renamed = [";".join([cells[0], cells[1] + " (mis à jour)", *cells[2:]])
               if (cells := line.split(";"))[0] in gids else line for line in lines]
    changed.write_text("".join(renamed), encoding="utf-8")
    ingest(national, "vaccination", str(changed), data)
    corrected_after = client.get(f"/api/v1/offres/{a_duplicate}").json()
    assert corrected_after["nom"] == corrected["nom"]
    assert corrected_after["contacts"] == corrected["contacts"]
    assert client.get("/api/v1/offres?code_region=44&q=Kiwi&limit=1000").json()["total"] == 450
    conflicts = client.get("/api/v1/contributions/conflits", headers=moderator).json()
    renamed_conflicts = {c["offre_id"] for c in conflicts["conflits"] if c["champ"] == "nom"}
    assert renamed_conflicts == set(duplicates.values())
    sample = next(c for c in conflicts["conflits"] if c["champ"] == "nom")
    assert sample["valeur_nationale"].endswith("(mis à jour)") and sample["source"] == \
        "vaccination"

    # Retire and restore: an ARS offer back to draft, a national offer back to public.
    ars_offer, national_offer = created[0], a_duplicate
    for offer in (ars_offer, national_offer):
        assert client.delete(f"/api/v1/contributions/offres/{offer}?motif=fermeture",
                             headers=editor).json()["statut"] == "retiree"
    ingest(national, "vaccination", str(changed), data, accept_retirements=True)
    assert client.get(f"/api/v1/offres/{national_offer}").status_code == 404  # still retired
    assert client.post(f"/api/v1/contributions/offres/{ars_offer}/restauration",
                       headers=editor).json()["statut"] == "brouillon"
    assert client.post(f"/api/v1/contributions/offres/{national_offer}/restauration",
                       headers=editor).json()["statut"] == "publiee"
    assert client.get(f"/api/v1/offres/{national_offer}").status_code == 200
    with capsys.disabled():
        print(f"\n[mesure] import ARS 500 lignes : vérification {dry_seconds:.2f} s, "
              f"import {import_seconds:.2f} s, publication de 450 offres "
              f"{publish_seconds:.2f} s")


def test_a_2000_row_report_summarises_and_pages_errors_first(national, settings, capsys):
    """A 2,000-row check stays a small answer whose counts add up to the file, and every
    error line is reached through the pages, errors first."""
    with national.begin() as connection:
        editor = {"Authorization": "Bearer " + comptes.add_user(connection, "ge-editeur",
                                                                "ars_editeur", "44")}
        communes = connection.execute(text("""
            SELECT ST_Y(centre), ST_X(centre) FROM commune
            WHERE code_region = '44' AND centre IS NOT NULL ORDER BY code LIMIT 2000
        """)).all()
    assert len(communes) == 2000
    reasons = [bad for bad in BAD_ROWS if "identifiant" not in bad[0]]
    rows, bad = [], {}
    for i, (lat, lon) in enumerate(communes):
        row = {"identifiant": f"lot-{i}", "nom": f"Atelier Kiwi Lot {i:04d}",
               "cartes": "nutrition", "latitude": f"{lat:.6f}", "longitude": f"{lon:.6f}"}
        if i % 13 == 5:  # 154 bad rows spread through the file
            values, reason = reasons[i % len(reasons)]
            row.update(values)
            bad[i + 2] = reason
        rows.append(row)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, HEADER, delimiter=";", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    client = TestClient(create_app(settings, engine=national))

    def check(query: str, status: int = 200):
        response = client.post(f"/api/v1/contributions/import?dry_run=true{query}",
                               headers=editor, files={"fichier": ("lot.csv", buffer.getvalue(),
                                                                  "text/csv")})
        assert response.status_code == status, response.text
        return response

    first = check("")
    report = first.json()
    assert report["lues"] == 2000 and report["erreurs"] == len(bad) == 154
    assert sum(report[k] for k in ("creees", "mises_a_jour", "inchangees", "doublons",
                                   "erreurs")) == 2000
    assert (report["page"], report["pages"], report["lignes_par_page"]) == (1, 20, 100)
    assert report["lignes_a_voir"] >= len(bad)
    assert len(first.content) < 40_000  # the whole report would be about 20 times larger
    assert all(line["resultat"] == "erreur" for line in report["lignes"])
    second = check("&page=2").json()
    look = second["lignes"][:len(bad) - 100]
    errors = {line["ligne"]: " ; ".join(line["erreurs"]) for line in report["lignes"] + look}
    assert set(errors) == set(bad)
    for line, reason in bad.items():
        assert reason in errors[line], (line, errors[line])
    last = check("&page=20").json()
    assert len(last["lignes"]) == 100 and all(line["resultat"] == "creee"
                                              for line in last["lignes"])
    rest = check("&lignes_max=1000&page=2").json()
    assert rest["pages"] == 2 and len(rest["lignes"]) == 1000
    assert not any(line["erreurs"] for line in rest["lignes"])
    assert "lignes_max" in check("&lignes_max=1001", 422).text
    with capsys.disabled():
        print(f"\n[mesure] rapport de 2 000 lignes : page 1 de 100 lignes {len(first.content)} "
              "octets")


def test_cli_imports_a_windows_1252_comma_file(national, tmp_path, monkeypatch):
    path = tmp_path / "offres.csv"
    path.write_bytes("nom,cartes,latitude,longitude,horaires\n"
                     "Atelier équilibre,activite-physique,48.58,7.75,lundi matin\n"
                     "Atelier hors région,nutrition,43.6045,1.444,\n".encode("cp1252"))
    monkeypatch.setenv("DATABASE_URL", national.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        dry = runner.invoke(cli, ["ingest", "contributions", str(path), "--region", "44",
                                  "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "rien n'a été écrit" in dry.output and "1 créées" in dry.output
        assert "Occitanie" in dry.output  # the row outside the région, in a wrapped table
        assert "OSM" in dry.output  # « lundi matin » is kept, with a warning
        assert "Lignes à regarder (page 1 sur 1)" in dry.output
        later = runner.invoke(cli, ["ingest", "contributions", str(path), "--region", "44",
                                    "--dry-run", "--lignes-max", "1", "--page", "2"])
        assert "page 2 sur 2" in later.output and "OSM" in later.output
        assert "Occitanie" not in later.output  # the error was on page 1
        template = get_settings().resolved_data_dir / "contributions" / "modele.csv"
        checked = runner.invoke(cli, ["ingest", "contributions", str(template), "--region",
                                      "44", "--dry-run"])
        assert "2 créées (brouillons)" in checked.output and "0 en erreur" in checked.output
        real = runner.invoke(cli, ["ingest", "contributions", str(path), "--region", "44"])
        assert real.exit_code == 0 and "1 créées (brouillons), " in real.output
        added = runner.invoke(cli, ["users", "add", "--name", "ge", "--role", "ars_editeur",
                                    "--region", "44"])
        assert added.exit_code == 0 and "cart_" in added.output
        assert "ge" in runner.invoke(cli, ["users", "list"]).output
        assert runner.invoke(cli, ["users", "revoke", "ge"]).exit_code == 0
        assert runner.invoke(cli, ["users", "revoke", "personne"]).exit_code == 1
    finally:
        get_settings.cache_clear()
    with national.connect() as connection:
        assert connection.execute(text("""
            SELECT statut, origine, region_contributrice FROM offre WHERE nom = 'Atelier équilibre'
        """)).one() == ("brouillon", "ars", "44")
