"""ROR FHIR: the official example bundle, NDJSON, a paged searchset, a larger synthetic export."""

from __future__ import annotations

import copy
import http.server
import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from ingest.catalog import ingest
from ingest.runner import IngestionError
from tests.synthetic_ror import build

DATA = Path(__file__).resolve().parent.parent / "data"
EXAMPLE = Path(__file__).resolve().parents[2] / "shared" / "docs" / "examples" / (
    "ror-bundle-example.json")
DEMO_FINESS = DATA / "demo" / "finess-grand-est-20210108-fhir.ndjson.gz"

pytestmark = pytest.mark.skipif(not EXAMPLE.is_file(), reason=f"{EXAMPLE} absent")


def example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def resources(bundle: dict) -> list[dict]:
    return [entry["resource"] for entry in bundle["entry"]]


def service(bundle: dict, resource_id: str) -> dict:
    return next(r for r in resources(bundle) if r.get("id") == resource_id)


def write_bundle(path: Path, bundle: dict) -> str:
    path.write_text(json.dumps(bundle, ensure_ascii=False, indent=2), encoding="utf-8")
    return str(path)


def offers(engine) -> dict[str, dict]:
    with engine.connect() as connection:
        rows = connection.execute(text("""
            SELECT s.cle, o.nom, o.age_min, o.age_max, o.horaires, o.contacts, o.code_commune,
                   o.code_region, o.zone_codes, o.attributs, st.finess_et, o.statut
            FROM offre o JOIN offre_source s ON s.offre_id = o.id
            LEFT JOIN structure st ON st.id = o.structure_id
            WHERE s.source = 'ror'
        """)).mappings().all()
    return {row["cle"]: dict(row) for row in rows}


def test_the_official_example_bundle(ingest_engine):
    report = ingest(ingest_engine, "ror", str(EXAMPLE), DATA)
    assert report.counts["inseres"] == 2 and report.quarantaines == 0
    cmp = offers(ingest_engine)["11/9999001"]
    assert cmp["nom"] == "CMP infanto-juvénile Les Tilleuls (FICTIF) - consultations"
    assert (cmp["age_min"], cmp["age_max"]) == (0, 17)
    assert cmp["horaires"] == "Mo-Fr 09:00-18:00"
    assert cmp["contacts"] == [{"type": "telephone", "valeur": "01 00 00 00 01"}]
    assert (cmp["code_commune"], cmp["code_region"]) == ("93048", "11")
    assert cmp["zone_codes"] == ["93048", "93006"]
    assert cmp["finess_et"] == "939999983"
    attributes = cmp["attributs"]
    assert attributes["type_offre_ror"] == "281" and attributes["activites"] == ["227"]
    assert attributes["modes_prise_en_charge"] == ["32"]
    assert attributes["secteurs_psychiatriques"] == ["93I05"]
    again = ingest(ingest_engine, "ror", str(EXAMPLE), DATA)
    assert again.counts["inchanges"] == 2


def test_sensitive_units_are_never_published_nor_kept(ingest_engine, tmp_path):
    bundle = example()
    cmp = service(bundle, "hs-fictif-cmpea-1")
    for extension in cmp["extension"]:
        if extension["url"].endswith("sensitive-unit"):
            extension["valueBoolean"] = True
    report = ingest(ingest_engine, "ror", write_bundle(tmp_path / "b.json", bundle), DATA)
    assert report.counts["inseres"] == 1 and report.hors_champ == 1
    with ingest_engine.connect() as connection:
        stored = connection.execute(text(
            "SELECT count(*) FROM source_record WHERE brut::text LIKE '%Tilleuls%'")).scalar_one()
    assert stored == 0
    assert "11/9999001" not in offers(ingest_engine)


def test_only_free_access_contacts_are_published(ingest_engine, tmp_path):
    bundle = example()
    cmp = service(bundle, "hs-fictif-cmpea-1")
    restricted = copy.deepcopy(next(e for e in cmp["extension"] if e["url"].endswith("-contact")))
    for part in restricted["extension"]:
        if part["url"].endswith("ror-confidentiality-level"):
            part["valueCodeableConcept"]["coding"][0]["code"] = "2"  # professionnels seulement
        if part["url"].endswith("contact-telecom"):
            for sub in part["extension"]:
                if sub["url"] == "telecomAddress":
                    sub["valueString"] = "0100000099"
    cmp["extension"].append(restricted)
    ingest(ingest_engine, "ror", write_bundle(tmp_path / "b.json", bundle), DATA)
    assert offers(ingest_engine)["11/9999001"]["contacts"] == [
        {"type": "telephone", "valeur": "01 00 00 00 01"}]


def test_ndjson_and_bad_resources_are_quarantined(ingest_engine, tmp_path):
    bundle = example()
    lines = [json.dumps(r, ensure_ascii=False) for r in resources(bundle)]
    orphan = copy.deepcopy(service(bundle, "hs-fictif-msp-mg-1"))
    orphan["id"], orphan["identifier"][0]["value"] = "orphan", "11/0000001"
    orphan["providedBy"] = {"reference": "Organization/nulle-part"}
    unknown = copy.deepcopy(orphan)
    unknown["id"], unknown["identifier"][0]["value"] = "unknown", "11/0000002"
    unknown["providedBy"] = service(bundle, "hs-fictif-msp-mg-1")["providedBy"]
    unknown["category"][0]["coding"][0]["code"] = "9999"
    anonymous = copy.deepcopy(unknown)
    anonymous["id"], anonymous["identifier"] = "anonymous", []
    lines += [json.dumps(orphan), json.dumps(unknown), json.dumps(anonymous), '{"resource']
    path = tmp_path / "ror.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest(ingest_engine, "ror", str(path), DATA)
    with ingest_engine.connect() as connection:
        reasons = dict(connection.execute(text("SELECT ligne, raison FROM quarantaine")).all())
    assert report.counts["inseres"] == 2
    first = len(resources(bundle)) + 1
    assert reasons[first] == ("structure « Organization/nulle-part » introuvable dans le "
                              "fichier")
    assert reasons[first + 1] == "type d'offre ROR inconnu « 9999 »"
    assert reasons[first + 2] == "identifiant de l'offre (identifiantOffre) absent"
    assert reasons[first + 3].startswith("ligne JSON illisible")


def test_a_file_without_offers_is_refused(ingest_engine, tmp_path):
    path = tmp_path / "patients.ndjson"
    path.write_text('{"resourceType": "Patient", "id": "p"}\n', encoding="utf-8")
    with pytest.raises(IngestionError, match="aucune HealthcareService"):
        ingest(ingest_engine, "ror", str(path), DATA)


class Pages(http.server.BaseHTTPRequestHandler):
    """A FHIR server on loopback serving the example as two pages linked by ``next``."""

    pages: dict[str, dict] = {}

    def do_GET(self):  # noqa: N802 - the http.server API
        page = self.pages.get(self.path)
        self.send_response(200 if page else 404)
        self.send_header("Content-Type", "application/fhir+json")
        self.end_headers()
        self.wfile.write(json.dumps(page or {}).encode())

    def log_message(self, *args):
        pass


def test_a_paged_searchset_is_followed(ingest_engine):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    base = f"http://127.0.0.1:{server.server_port}/fhir"
    everything = resources(example())
    services = [r for r in everything if r["resourceType"] == "HealthcareService"]
    others = [r for r in everything if r["resourceType"] != "HealthcareService"]
    Pages.pages = {
        "/fhir/HealthcareService?_count=1": {
            "resourceType": "Bundle", "type": "searchset",
            "link": [{"relation": "next", "url": f"{base}/page2"}],
            "entry": [{"resource": services[0]}]},
        "/fhir/page2": {
            "resourceType": "Bundle", "type": "searchset",
            "link": [{"relation": "next", "url": f"{base}/page3"}],
            "entry": [{"resource": services[1]}]},
        "/fhir/page3": {"resourceType": "Bundle", "type": "searchset",
                        "entry": [{"resource": r} for r in others]},
    }
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        report = ingest(ingest_engine, "ror", f"{base}/HealthcareService?_count=1", DATA)
    finally:
        server.shutdown()
    assert report.counts["inseres"] == 2


def test_a_larger_synthetic_export_attaches_to_finess_structures(ingest_engine, tmp_path):
    ingest(ingest_engine, "finess", str(DEMO_FINESS), DATA)
    with ingest_engine.connect() as connection:
        structures = connection.execute(text("SELECT count(*) FROM structure")).scalar_one()
    path = tmp_path / "ror-grand-est-synthetique.ndjson"
    counts = build(path)
    report = ingest(ingest_engine, "ror", str(path), DATA)
    published = counts["services"] - counts["sensibles"]
    assert counts["services"] > 350  # ~200 times the official example
    assert report.counts["inseres"] == published and report.hors_champ == counts["sensibles"]
    ror_offers = offers(ingest_engine)
    assert len(ror_offers) == published
    assert {o["code_region"] for o in ror_offers.values()} == {"44"}
    assert all(o["finess_et"] for o in ror_offers.values())
    with ingest_engine.connect() as connection:
        after = connection.execute(text("SELECT count(*) FROM structure")).scalar_one()
        children = connection.execute(text("""
            SELECT count(*) FROM offre WHERE attributs->>'type_offre_ror' = '281'
              AND age_max <= 17 AND horaires = 'Mo-Fr 09:00-17:00'
        """)).scalar_one()
    assert after == structures  # the ROR offers hang on the FINESS establishments
    assert children == counts["publiees_281"] > 40
