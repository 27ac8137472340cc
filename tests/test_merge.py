"""Entity resolution across sources: one offer per real service, every decision explained."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

from sqlalchemy import text

from cartographie.noms import nom_affichage
from ingest import cles, merge
from ingest.catalog import ingest
from ingest.ressemblance import Fiche, compare
from tests.synthetic_ror import build

DATA = Path(__file__).resolve().parent.parent / "data"
DEMO_FINESS = DATA / "demo" / "finess-grand-est-20210108-fhir.ndjson.gz"
DEMO_VACCINATION = DATA / "demo" / "centres-vaccination-grand-est-2021-03.csv"


def rows(engine, sql: str, **params) -> list:
    with engine.connect() as connection:
        return connection.execute(text(sql), params).all()


def test_finess_and_ror_describe_each_csapa_once(ingest_engine, tmp_path):
    ingest(ingest_engine, "finess", str(DEMO_FINESS), DATA)
    counts = build(tmp_path / "ror.ndjson")
    report = ingest(ingest_engine, "ror", str(tmp_path / "ror.ndjson"), DATA)
    csapa_both = rows(ingest_engine, """
        SELECT o.id FROM offre o
        WHERE o.attributs->>'categorie_finess' = '197' AND o.attributs->>'type_offre_ror' = '80'
          AND (SELECT count(DISTINCT source) FROM offre_source s WHERE s.offre_id = o.id) = 2
    """)
    assert len(csapa_both) == counts["publiees_80"] > 10
    # The CJC of a CSAPA is another service: it stays its own offer.
    cjc = rows(ingest_engine, """
        SELECT count(*) FROM offre WHERE attributs->>'type_offre_ror' = '86'
          AND NOT (attributs ? 'categorie_finess')
    """)[0][0]
    assert cjc == counts["publiees_86"]
    assert report.counts["fusions"] >= len(csapa_both)
    # No offer ever holds two records of one source.
    assert rows(ingest_engine, """
        SELECT offre_id, source FROM offre_source WHERE actif
        GROUP BY offre_id, source HAVING count(*) > 1
    """) == []
    offer = csapa_both[0][0]
    with ingest_engine.connect() as connection:
        explained = merge.explain(connection, offer)
    decision = explained["decisions"][0]
    assert decision[0] == "fusion" and decision[3] == "1.00"
    assert "catégorie FINESS 197 ↔ type ROR 80" in decision[4]
    fields = dict(explained["champs"])
    assert fields["nom"] == "ror" and fields["geom"] == "ror"  # ROR > FINESS; address precision
    assert fields["contacts"] == "finess"  # the synthetic ROR gives no contact: FINESS keeps it


def test_two_finess_establishments_are_never_merged(ingest_engine):
    ingest(ingest_engine, "finess", str(DEMO_FINESS), DATA)
    same_place = rows(ingest_engine, """
        SELECT count(*) FROM offre a JOIN offre b ON a.id < b.id AND ST_Equals(a.geom, b.geom)
    """)[0][0]
    assert same_place > 10  # real pairs of establishments at the same coordinates
    assert rows(ingest_engine, """
        SELECT offre_id FROM offre_source GROUP BY offre_id HAVING count(*) > 1
    """) == []


def vaccination_file(path: Path, changes: list[dict]) -> str:
    """The demo vaccination list with some rows rewritten (real rows, edited names/places)."""
    with DEMO_VACCINATION.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=";")
        header, demo = reader.fieldnames, list(reader)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, delimiter=";", lineterminator="\n")
    writer.writeheader()
    for index, change in enumerate(changes):
        writer.writerow({**demo[index], **change})
    path.write_text(out.getvalue(), encoding="utf-8")
    return str(path)


def pharmacies(count: int) -> list[dict]:
    with gzip.open(DEMO_FINESS, "rt", encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    found = []
    for organization, location in zip(lines, lines[1:], strict=False):
        if '"code": "620"' in organization and '"Location"' in location:
            org, loc = json.loads(organization), json.loads(location)
            found.append({"nom": org["name"], "adresse": " ".join(org["address"][0]["line"]),
                          "cp": org["address"][0]["postalCode"],
                          "lon": loc["position"]["longitude"], "lat": loc["position"]["latitude"]})
            if len(found) == count:
                return found
    raise AssertionError


def as_site(pharmacy: dict, gid: str, name: str, east_m: float) -> dict:
    return {"gid": gid, "nom": name, "adr_num": "", "adr_voie": pharmacy["adresse"],
            "com_cp": pharmacy["cp"], "com_insee": "", "long_coor1": str(
                pharmacy["lon"] + east_m / 73_000), "lat_coor1": str(pharmacy["lat"]),
            "id_adr": "", "centre_fermeture": "f"}


def test_a_vaccinating_pharmacy_is_one_offer_whatever_the_order(ingest_engine, tmp_path):
    first, second = pharmacies(2)
    sites = [as_site(first, "1", first["nom"].title(), 20),               # same, 20 m away
             as_site(second, "2", "Centre de vaccination du quartier", 30)]  # not the same
    path = vaccination_file(tmp_path / "lieux.csv", sites)
    ingest(ingest_engine, "vaccination", path, DATA)  # the list first, FINESS afterwards
    report = ingest(ingest_engine, "finess", str(DEMO_FINESS), DATA)
    assert report.counts["fusions"] == 1
    merged = rows(ingest_engine, """
        SELECT o.id, o.nom, o.horaires, o.provenance->>'nom', o.provenance->>'horaires'
        FROM offre o JOIN offre_source s ON s.offre_id = o.id AND s.source = 'vaccination'
        WHERE s.cle = '1'
    """)[0]
    sources = rows(ingest_engine, "SELECT source FROM offre_source WHERE offre_id = :id",
                   id=merged[0])
    assert sorted(s[0] for s in sources) == ["finess", "vaccination"]
    # FINESS outranks the list (its name, shown as people read it)
    assert merged[1] == nom_affichage(first["nom"]) and merged[3] == "finess"
    assert merged[4] == "vaccination"  # hours only the list gives stay
    with ingest_engine.connect() as connection:
        near = merge.report(connection)["quasi"]
    assert all("rapprochement manqué" in row[4] for row in near)
    assert rows(ingest_engine, """
        SELECT count(*) FROM offre_source s WHERE s.source = 'vaccination' AND s.cle = '2'
          AND (SELECT count(*) FROM offre_source t WHERE t.offre_id = s.offre_id) = 1
    """)[0][0] == 1


def test_similarity_score_reads_like_its_reason():
    weights = cles.Weights.of_names(["PHARMACIE DE L'EGLISE", "PHARMACIE DU CENTRE",
                                     "CENTRE DE SANTE"])
    same = compare(Fiche("SELARL PHARMACIE DE L'EGLISE", "2 rue Haute", frozenset(), None),
                   Fiche("Pharmacie de l'Église", "2 RUE HAUTE", frozenset(), None),
                   distance_m=20, same_commune=True, weights=weights)
    assert same.score > 0.95
    assert same.raison().startswith("nom 0.98, même adresse (2 haute), à 20 m → score")
    other = compare(Fiche("Pharmacie du Centre", None, frozenset(), None),
                    Fiche("Centre de vaccination", None, frozenset(), None),
                    distance_m=140, same_commune=True, weights=weights)
    assert other.score < 0.65 and "noms trop différents" in other.raison()


def test_quality_and_merge_reports_from_the_command_line(ingest_engine, ingest_database_url,
                                                          monkeypatch):
    from typer.testing import CliRunner

    from cartographie.cli import app
    from cartographie.settings import get_settings

    ingest(ingest_engine, "vaccination", str(DEMO_VACCINATION), DATA)
    ingest(ingest_engine, "finess", str(DEMO_FINESS), DATA)
    monkeypatch.setenv("DATABASE_URL", ingest_database_url)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        quality = runner.invoke(app, ["qualite"])
        merges = runner.invoke(app, ["merge", "report"])
        merged = rows(ingest_engine, """
            SELECT offre_id FROM decision_fusion WHERE decision = 'fusion' LIMIT 1""")[0][0]
        explained = runner.invoke(app, ["merge", "explain", str(merged)])
    finally:
        get_settings.cache_clear()
    assert quality.exit_code == 0, quality.output
    assert "Offres publiées par carte" in quality.output and "Grand Est" in quality.output
    assert "etablissement" in quality.output
    assert merges.exit_code == 0 and "noms et lieux proches" in merges.output
    assert explained.exit_code == 0
    assert "vaccination" in explained.output and "finess" in explained.output


def test_provenance_is_served_over_http(ingest_engine, ingest_database_url, settings):
    from fastapi.testclient import TestClient

    from api.app import create_app

    ingest(ingest_engine, "vaccination", str(DEMO_VACCINATION), DATA)
    ingest(ingest_engine, "finess", str(DEMO_FINESS), DATA)
    merged = rows(ingest_engine, """
        SELECT offre_id FROM decision_fusion WHERE decision = 'fusion' LIMIT 1""")[0][0]
    with TestClient(create_app(settings, engine=ingest_engine)) as client:
        body = client.get(f"/api/v1/offres/{merged}/provenance").json()
        missing = client.get("/api/v1/offres/999999999/provenance")
        invalid = client.get("/api/v1/offres/abc/provenance")
    assert {s["source"] for s in body["sources"]} == {"finess", "vaccination"}
    assert body["champs"]["nom"] == "finess" and body["champs"]["horaires"] == "vaccination"
    assert any(s["raison"].startswith("noms et lieux proches") for s in body["sources"])
    assert missing.status_code == 404 and "n'existe pas" in missing.json()["detail"]
    assert invalid.status_code == 422 and "nombre entier" in invalid.json()["detail"]


def test_a_record_without_finess_joins_by_siret(ingest_engine, tmp_path):
    ingest(ingest_engine, "finess", str(DEMO_FINESS), DATA)
    offer_id, siret, lon, lat = rows(ingest_engine, """
        SELECT id, attributs->>'siret', ST_X(geom), ST_Y(geom) FROM offre
        WHERE attributs->>'categorie_finess' = '603' AND attributs->>'siret' IS NOT NULL
        ORDER BY id LIMIT 1
    """)[0]
    bundle = json.loads((Path(__file__).resolve().parents[2] / "shared" / "docs" / "examples"
                         / "ror-bundle-example.json").read_text(encoding="utf-8"))
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource.get("id") == "org-eg-fictif-msp":
            resource["identifier"] = [{"system": "https://sirene.fr", "value": siret}]
        if resource.get("id") == "loc-fictif-msp":  # 1 km away: similarity would not see it
            resource["position"] = {"longitude": lon + 0.013, "latitude": lat}
            resource["extension"] = []
    path = tmp_path / "ror-siret.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    ingest(ingest_engine, "ror", str(path), DATA)
    joined = rows(ingest_engine, """
        SELECT d.raison FROM decision_fusion d WHERE d.offre_id = :id AND d.source = 'ror'
    """, id=offer_id)
    assert joined == [(f"même SIRET {siret}",)]
