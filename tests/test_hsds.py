"""HSDS 3.0: every item of every endpoint, over all the demo offers, is valid against the
official JSON Schemas (formats checked too); the mapping says what the offer says; nothing
unpublished is readable, in the API, the NDJSON stream or the tabular package."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from functools import cache
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import text

from cartographie import hsds

SCHEMAS = Path(__file__).parents[1] / "data" / "hsds-3.0" / "schema"
PAGE_KEYS = {"total_items", "total_pages", "page_number", "size", "first_page", "last_page",
             "empty", "contents"}


@cache
def validator(name: str) -> Draft202012Validator:
    """The official schema ``name`` with its ``$ref``s to the other files resolved locally."""
    registry = Registry().with_resources(
        (path.name, Resource.from_contents(json.loads(path.read_text()),
                                           default_specification=DRAFT202012))
        for path in SCHEMAS.glob("*.json") if path.name != "openapi.json")
    return Draft202012Validator({"$ref": f"{name}.json"}, registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


@cache
def page_validator() -> Draft202012Validator:
    reference = json.loads((SCHEMAS / "openapi.json").read_text())
    return Draft202012Validator(reference["components"]["schemas"]["Page"])


def assert_valid(item: dict, name: str) -> None:
    errors = [f"{list(e.absolute_path)} : {e.message}" for e in validator(name).iter_errors(item)]
    assert not errors, (item.get("id"), errors[:5])


def assert_page(body: dict) -> None:
    assert set(body) == PAGE_KEYS
    assert not list(page_validator().iter_errors(body))
    assert body["size"] == len(body["contents"])
    assert body["empty"] is (body["size"] == 0)


def walk(client, path: str, name: str, **params) -> list[dict]:
    """Every item of a listing, page after page, each page and item validated."""
    items, page = [], 1
    while True:
        body = client.get(path, params={**params, "page": page, "per_page": 1000}).json()
        assert_page(body)
        assert body["page_number"] == page and body["first_page"] is (page == 1)
        for item in body["contents"]:
            assert_valid(item, name)
        items += body["contents"]
        if body["last_page"]:
            assert len(items) == body["total_items"]
            return items
        page += 1


def published_count(engine, mode: str | None = None) -> int:
    with engine.connect() as connection:
        return connection.execute(text(
            "SELECT count(*) FROM offre WHERE statut = 'publiee' "
            "AND (CAST(:mode AS text) IS NULL OR mode = :mode)"), {"mode": mode}).scalar_one()


def test_api_info_gives_the_version_and_a_profile_that_answers(demo_client):
    info = demo_client.get("/hsds/").json()
    assert info["version"] == "3.0"
    for url in (info["profile"], info["openapi_url"]):
        assert demo_client.get(url.removeprefix("http://testserver")).status_code == 200
    profile = demo_client.get("/hsds/profil").json()
    assert {"organization", "service", "location"} <= set(profile["correspondances"])


def test_every_demo_offer_is_a_valid_service(demo_client, demo_engine):
    services = walk(demo_client, "/hsds/services", "service")
    assert len(services) == published_count(demo_engine) > 2000
    assert len({s["id"] for s in services}) == len(services)
    assert all(s["status"] == "active" for s in services)
    with_places = [s for s in services if s.get("service_at_locations")]
    assert len(with_places) == published_count(demo_engine, "sur_place")
    finess = [s for s in with_places
              if s["service_at_locations"][0]["location"].get("external_identifier_type")]
    assert len(finess) > 2000
    assert sum(bool(s.get("schedules")) for s in services) > 0
    terms = {t["id"]: t for t in walk(demo_client, "/hsds/taxonomy_terms", "taxonomy_term")}
    assert all(attribute["value"] == terms[attribute["taxonomy_term_id"]]["name"]
               for s in services for attribute in s.get("attributes", []))


def test_every_service_at_location_and_its_location_is_valid(demo_client, demo_engine):
    items = walk(demo_client, "/hsds/service_at_locations", "service_at_location")
    assert len(items) == published_count(demo_engine, "sur_place")
    for item in items:
        assert_valid(item["location"], "location")
        assert_valid(item["service"], "service")
        assert item["service_id"] == item["service"]["id"]
        assert item["location"]["location_type"] == "physical"
    placed = [i["location"] for i in items if "latitude" in i["location"]]
    assert len(placed) > 0.9 * len(items)
    addressed = [i["location"]["addresses"][0] for i in items if i["location"].get("addresses")]
    assert all(a["country"] == "FR" and a["state_province"] == "Grand Est" for a in addressed)


def test_every_organization_is_valid_with_its_finess_numbers(demo_client, demo_engine):
    organizations = walk(demo_client, "/hsds/organizations", "organization")
    with demo_engine.connect() as connection:
        expected = connection.execute(text(
            "SELECT count(*) FROM structure s WHERE EXISTS (SELECT 1 FROM offre o "
            "WHERE o.structure_id = s.id AND o.statut = 'publiee')")).scalar_one()
    assert len(organizations) == expected > 1000
    kinds = {i["identifier_type"] for o in organizations
             for i in o.get("organization_identifiers", [])}
    assert {"FINESS ET", "FINESS EJ"} <= kinds


def test_single_items_are_the_listed_ones_fully_nested(demo_client):
    listed = demo_client.get("/hsds/services", params={"per_page": 40}).json()["contents"]
    for item in listed:
        single = demo_client.get(f"/hsds/services/{item['id']}").json()
        assert_valid(single, "service")
        assert {k: v for k, v in single.items() if k not in ("organization", "attributes")} == {
            k: v for k, v in item.items() if k != "attributes"}
        assert [a | {"taxonomy_term": None} for a in single["attributes"]] == [
            a | {"taxonomy_term": None} for a in item["attributes"]]
        assert all(a["taxonomy_term"]["id"] == a["taxonomy_term_id"]
                   for a in single["attributes"])
        if item.get("organization_id"):
            assert single["organization"]["id"] == item["organization_id"]
            organization = demo_client.get(f"/hsds/organizations/{item['organization_id']}")
            assert organization.json() == single["organization"]
        for place in item.get("service_at_locations", []):
            at = demo_client.get(f"/hsds/service_at_locations/{place['id']}").json()
            assert_valid(at, "service_at_location")
            assert at["location"] == place["location"]


def test_taxonomies_and_terms_are_valid_and_filter_as_the_search_api(demo_client):
    taxonomies = demo_client.get("/hsds/taxonomies").json()
    assert_page(taxonomies)
    for taxonomy in taxonomies["contents"]:
        assert_valid(taxonomy, "taxonomy")
        assert demo_client.get(f"/hsds/taxonomies/{taxonomy['id']}").json() == taxonomy
    terms = walk(demo_client, "/hsds/taxonomy_terms", "taxonomy_term")
    assert len([t for t in terms if t["taxonomy"] == "Cartes thématiques"]) == 12
    assert len([t for t in terms if t["taxonomy"] == "Sujets clés"]) == 7
    by_id = {t["id"]: t for t in terms}
    assert all(t["parent_id"] in by_id for t in terms if "parent_id" in t)
    kinds = {"Cartes thématiques": "carte", "Besoins": "besoin", "Types d'offre": "type_offre"}
    for term in [t for t in terms if t["taxonomy"] in kinds][::4]:
        found = demo_client.get("/hsds/services", params={
            "taxonomy_term_id": term["id"], "per_page": 1000}).json()
        expected = demo_client.get("/api/v1/offres", params={
            kinds[term["taxonomy"]]: term["code"], "a_distance": "true", "limit": 1}).json()
        assert found["total_items"] == expected["total"], term["code"]
        assert all(term["id"] in {a["taxonomy_term_id"] for a in s["attributes"]}
                   for s in found["contents"])


def test_search_and_proximity(demo_client):
    found = demo_client.get("/hsds/services", params={"search": "csapa"}).json()
    expected = demo_client.get("/api/v1/offres", params={"q": "csapa", "a_distance": "true"})
    assert found["total_items"] == expected.json()["total"] > 0
    near = demo_client.get("/hsds/service_at_locations", params={
        "lat": 48.5734, "lon": 7.7521, "rayon_km": 5, "per_page": 200}).json()
    assert near["total_items"] > 10
    api = demo_client.get("/api/v1/offres", params={
        "lat": 48.5734, "lon": 7.7521, "rayon_km": 5, "limit": 200}).json()
    assert [i["service"]["name"] for i in near["contents"]] == [o["nom"] for o in api["offres"]]


def test_ndjson_streams_every_item_without_pages(demo_client, demo_engine):
    response = demo_client.get("/hsds/services", params={"format": "ndjson"})
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert "etag" not in response.headers  # streamed, not buffered to be hashed
    assert demo_client.get("/hsds/services").headers["etag"]
    lines = response.text.splitlines()
    assert len(lines) == published_count(demo_engine)
    for line in lines[::50]:
        assert_valid(json.loads(line), "service")
    near = demo_client.get("/hsds/service_at_locations", params={
        "format": "ndjson", "lat": 48.5734, "lon": 7.7521, "rayon_km": 5})
    paged = demo_client.get("/hsds/service_at_locations", params={
        "lat": 48.5734, "lon": 7.7521, "rayon_km": 5, "per_page": 1000}).json()
    assert [json.loads(line) for line in near.text.splitlines()] == paged["contents"]


def test_bad_input_is_refused_in_french(demo_client):
    for path, params in (("/hsds/services", {"page": 0}),
                         ("/hsds/services", {"per_page": 5000}),
                         ("/hsds/services", {"taxonomy_term_id": "pas-un-terme"}),
                         ("/hsds/services", {"format": "xml"}),
                         ("/hsds/service_at_locations", {"lat": 48.5}),
                         ("/hsds/services", {"modified_after": "hier"})):
        response = demo_client.get(path, params=params)
        assert response.status_code == 422, (path, params)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"]
    for path in ("/hsds/services/pas-un-uuid", f"/hsds/services/{hsds.entity_id('location', 1)}",
                 f"/hsds/organizations/{hsds.entity_id('organization', 10**12)}"):
        response = demo_client.get(path)
        assert response.status_code == 404
        assert "identifiant" in response.json()["detail"]


# -- the mapping, on offers written for the test (in the test's rolled-back transaction) ----


@pytest.fixture
def offers(connection):
    """A structure with a published offer, a draft and a retired one; a remote offer."""
    structure = connection.execute(text("""
        INSERT INTO structure (nom, nom_long, finess_et, finess_ej, siret, telephone,
                               categorie_finess_libelle)
        VALUES ('CSAPA Test', 'Centre de soins CSAPA Test', '679999990', '679999991',
                '12345678900011', '03 88 00 00 00', 'Centre de soins (CSAPA)') RETURNING id
    """)).scalar_one()
    lone = connection.execute(text(
        "INSERT INTO structure (nom, finess_et) VALUES ('Brouillon seul', '679999992') "
        "RETURNING id")).scalar_one()

    def add(nom, statut, **values):
        columns = {"nom": nom, "statut": statut, "structure_id": structure, **values}
        names = ", ".join(columns)
        placeholders = ", ".join(f"CAST(:{k} AS jsonb)" if k == "contacts" else
                                 "ST_SetSRID(ST_MakePoint(7.75, 48.58), 4326)" if k == "geom"
                                 else f":{k}" for k in columns)
        return connection.execute(text(f"INSERT INTO offre ({names}) VALUES ({placeholders}) "
                                       "RETURNING id"),
                                  {k: v for k, v in columns.items() if k != "geom"}).scalar_one()

    ids = {
        "publiee": add("Consultation tabac « <b>test</b> »", "publiee", geom=True,
                       adresse="1 rue du Test", code_postal="67000", code_commune="67482",
                       code_departement="67", code_region="44",
                       horaires="Mo-Fr 09:00-12:00,14:00-17:00; We 09:00-12:00; Sa off",
                       public_age_min=11, public_age_max=25, gratuit=True,
                       modalites=["sur_rdv", "anonyme"], site_web="https://csapa.example.fr/",
                       contacts=json.dumps([{"type": "telephone", "valeur": "03 88 11 22 33"},
                                            {"type": "courriel", "valeur": "contact@csapa.fr"},
                                            {"type": "courriel", "valeur": "pas une adresse"}])),
        "feries": add("Permanence fériés", "publiee", geom=True,
                      horaires="Mo-Fr 08:00-18:00; PH off"),
        "brouillon": add("Brouillon secret", "brouillon", geom=True),
        "retiree": add("Retirée secrète", "retiree", geom=True,
                       retiree_le="2026-01-01T00:00:00Z"),
        "distance": add("Ligne d'écoute", "publiee", mode="a_distance", zone_codes=["67", "68"]),
    }
    connection.execute(text("UPDATE offre SET structure_id = :lone WHERE id = :id"),
                       {"lone": lone, "id": ids["brouillon"]})
    connection.execute(text("""
        INSERT INTO jeu_offre (jeu_slug, offre_id, raison)
        SELECT slug, :id, 'manuel' FROM jeu WHERE carte_slug = 'addiction-tabac' LIMIT 1"""),
                       {"id": ids["publiee"]})
    return {"structure": structure, "lone": lone, **ids}


def test_an_offer_maps_faithfully(client, offers):
    item = client.get(f"/hsds/services/{hsds.entity_id('service', offers['publiee'])}").json()
    assert_valid(item, "service")
    assert item["name"] == "Consultation tabac « <b>test</b> »"  # data, not markup
    assert (item["minimum_age"], item["maximum_age"]) == (11, 25)
    assert item["eligibility_description"] == "De 11 à 25 ans"
    assert item["fees_description"] == "Gratuit" and item["cost_options"][0]["amount"] == 0
    assert item["application_process"] == "Sur rendez-vous. Anonyme"
    assert item["email"] == "contact@csapa.fr" and item["url"] == "https://csapa.example.fr/"
    assert [p["number"] for p in item["phones"]] == ["03 88 11 22 33"]
    assert sorted((s["byday"], s["opens_at"], s["closes_at"]) for s in item["schedules"]) == [
        ("MO,TU,TH,FR", "14:00", "17:00"), ("MO,TU,WE,TH,FR", "09:00", "12:00")]
    location = item["service_at_locations"][0]["location"]
    assert (location["latitude"], location["longitude"]) == (48.58, 7.75)
    assert location["external_identifier"] == "679999990"
    assert location["addresses"][0] | {"id": None, "location_id": None} == {
        "id": None, "location_id": None, "address_1": "1 rue du Test", "city": "Strasbourg",
        "region": "Bas-Rhin", "state_province": "Grand Est", "postal_code": "67000",
        "country": "FR", "address_type": "physical"}
    terms = {a["taxonomy_term"]["taxonomy"]: a["taxonomy_term"]["code"]
             for a in item["attributes"]}
    assert terms["Cartes thématiques"] == "addiction-tabac" and terms["Sujets clés"] == "addiction"
    organization = item["organization"]
    assert {(i["identifier_type"], i["identifier"])
            for i in organization["organization_identifiers"]} == {
        ("FINESS ET", "679999990"), ("FINESS EJ", "679999991"), ("SIRET", "12345678900011")}
    holidays = client.get(f"/hsds/services/{hsds.entity_id('service', offers['feries'])}").json()
    assert holidays["schedules"] == [{
        "id": holidays["schedules"][0]["id"], "service_id": holidays["id"],
        "description": "du lundi au vendredi : 8 h 00 – 18 h 00 ; jours fériés : fermé",
        "notes": "opening_hours OSM : Mo-Fr 08:00-18:00; PH off"}]
    remote = client.get(f"/hsds/services/{hsds.entity_id('service', offers['distance'])}").json()
    assert_valid(remote, "service")
    assert "service_at_locations" not in remote
    assert remote["service_areas"][0]["name"] == "Codes officiels géographiques : 67, 68"


def test_nothing_unpublished_is_readable(client, offers, connection):
    for hidden in ("brouillon", "retiree"):
        for entity, path in (("service", "services"),
                             ("service_at_location", "service_at_locations")):
            response = client.get(f"/hsds/{path}/{hsds.entity_id(entity, offers[hidden])}")
            assert response.status_code == 404
    lone = client.get(f"/hsds/organizations/{hsds.entity_id('organization', offers['lone'])}")
    assert lone.status_code == 404
    listed = client.get("/hsds/services", params={"format": "ndjson"}).text
    organizations = client.get("/hsds/organizations", params={"per_page": 1000}).text
    package = zipfile.ZipFile(io.BytesIO(client.get("/hsds/export.zip").content))
    everything = listed + organizations + "".join(
        package.read(name).decode() for name in package.namelist())
    assert "CSAPA Test" in everything
    for secret in ("Brouillon secret", "Retirée secrète", "Brouillon seul"):
        assert secret not in everything
    since = client.get("/hsds/services", params={"modified_after": "2000-01-01T00:00:00"}).json()
    assert hsds.entity_id("service", offers["retiree"]) not in {s["id"] for s in
                                                                since["contents"]}


def test_modified_after_keeps_what_changed_then_or_after(client, offers, connection):
    connection.execute(text("UPDATE offre SET maj_le = '2031-05-01T10:00:00Z' WHERE id = :id"),
                       {"id": offers["publiee"]})
    body = client.get("/hsds/services",
                      params={"modified_after": "2031-05-01T10:00:00Z"}).json()
    assert [s["id"] for s in body["contents"]] == [hsds.entity_id("service", offers["publiee"])]
    later = client.get("/hsds/services", params={"modified_after": "2031-05-01T10:00:01Z"})
    assert later.json()["empty"] is True


def test_the_tabular_package_follows_schema_csv(client, offers):
    response = client.get("/hsds/export.zip")
    assert response.headers["content-type"] == "application/zip"
    again = client.get("/hsds/export.zip", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == response.headers["etag"]
    assert response.headers["last-modified"].endswith("GMT")
    package = zipfile.ZipFile(io.BytesIO(response.content))
    datapackage = json.loads(package.read("datapackage.json"))
    with (SCHEMAS / "schema.csv").open(encoding="utf-8", newline="") as file:
        layout = list(csv.DictReader(file))
    tables = {}
    for resource in datapackage["resources"]:
        rows = list(csv.DictReader(io.StringIO(package.read(resource["path"]).decode())))
        expected = [r["name"] for r in layout if r["table_name"] == resource["name"]
                    and r["type"] in ("string", "number") and not r["one_to_one"]]
        assert [f["name"] for f in resource["schema"]["fields"]] == expected
        assert list(rows[0]) == expected
        for key in resource["schema"]["foreignKeys"]:
            assert key["reference"]["resource"] in {r["name"] for r in datapackage["resources"]}
        tables[resource["name"]] = rows
    services = {row["id"]: row for row in tables["service"]}
    assert len(services) == client.get("/hsds/services").json()["total_items"]
    assert {row["service_id"] for row in tables["service_at_location"]} <= set(services)
    assert {row["location_id"] for row in tables["address"]} <= {
        row["id"] for row in tables["location"]}
    ours = services[hsds.entity_id("service", offers["publiee"])]
    assert (ours["minimum_age"], ours["fees_description"]) == ("11", "Gratuit")
    schedules = [row for row in tables["schedule"] if row["service_id"] == ours["id"]]
    assert len(schedules) == 2
    assert {row["identifier"] for row in tables["organization_identifier"]} >= {
        "679999990", "12345678900011"}
