"""Ingesting FINESS (FHIR NDJSON): real Grand Est data, idempotent, safe, and every bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from sqlalchemy import text

from ingest.catalog import ingest
from ingest.runner import IngestionError

DATA = Path(__file__).resolve().parent.parent / "data"
DEMO_FINESS = DATA / "demo" / "finess-grand-est-20210108-fhir.ndjson.gz"
GRAND_EST = "44"


def demo_lines() -> list[str]:
    with gzip.open(DEMO_FINESS, "rt", encoding="utf-8") as handle:
        return handle.readlines()


def organizations(lines: list[str]) -> int:
    return sum(1 for line in lines if '"resourceType": "Organization"' in line)


def pairs(lines: list[str], category: str) -> list[tuple[str, str]]:
    """(Organization, Location) line pairs of the demo file of one FINESS category."""
    result = []
    for org, loc in zip(lines, lines[1:], strict=False):
        if '"Organization"' in org and '"Location"' in loc and f'"code": "{category}"' in org:
            result.append((org, loc))
    return result


def write(path: Path, lines: list[str]) -> str:
    path.write_text("".join(line if line.endswith("\n") else line + "\n" for line in lines),
                    encoding="utf-8")
    return str(path)


def run_finess(engine, location: str, **options):
    return ingest(engine, "finess", location, DATA, **options)


def scalar(engine, sql: str, **params):
    with engine.connect() as connection:
        return connection.execute(text(sql), params).scalar_one()


def published_snapshot(engine) -> list[tuple]:
    with engine.connect() as connection:
        return connection.execute(text("""
            SELECT id, nom, statut, code_commune, ST_AsText(geom), contacts::text, maj_le
            FROM offre ORDER BY id
        """)).all()


def test_the_demo_file_publishes_every_prevention_establishment_with_its_territory(
    ingest_engine,
):
    report = run_finess(ingest_engine, str(DEMO_FINESS))
    lines = demo_lines()
    assert report.lus == organizations(lines)
    published = scalar(ingest_engine, "SELECT count(*) FROM offre WHERE statut = 'publiee'")
    assert published == report.counts["inseres"] > 2000
    assert report.lus == published + report.hors_champ + report.quarantaines
    assert scalar(ingest_engine, """
        SELECT count(*) FROM offre
        WHERE code_commune IS NULL OR code_departement IS NULL OR code_region IS NULL
    """) == 0
    assert scalar(ingest_engine, "SELECT count(DISTINCT code_region) FROM offre") == 1
    assert scalar(ingest_engine, "SELECT min(code_region) FROM offre") == GRAND_EST
    # Every CSAPA of the file is there, with its FINESS category and kinds of offer.
    csapa = len(pairs(lines, "197"))
    assert scalar(ingest_engine, """
        SELECT count(*) FROM offre o JOIN offre_type_offre t ON t.offre_id = o.id
        WHERE o.attributs->>'categorie_finess' = '197'
          AND t.type_offre_slug = 'consultation-specialisee'
    """) == csapa > 10
    # Hospitals are valid but not prevention offers: counted, not published, not quarantined.
    assert report.hors_champ > 0 and report.quarantaines == 0


def test_the_same_file_twice_changes_nothing(ingest_engine):
    first = run_finess(ingest_engine, str(DEMO_FINESS))
    before = published_snapshot(ingest_engine)
    second = run_finess(ingest_engine, str(DEMO_FINESS))
    assert second.counts == {"inseres": 0, "mis_a_jour": 0,
                             "inchanges": first.counts["inseres"], "retires": 0,
                             "fusions": 0, "quasi": 0}
    assert published_snapshot(ingest_engine) == before
    assert scalar(ingest_engine, "SELECT count(*) FROM historique") == 0


def test_a_changed_field_is_updated_with_its_history(ingest_engine, tmp_path):
    lines = [line for pair in pairs(demo_lines(), "197")[:5] for line in pair]
    run_finess(ingest_engine, write(tmp_path / "v1.ndjson", lines))
    organization = json.loads(lines[0])
    finess_et = organization["identifier"][0]["value"]
    organization["telecom"] = [{"system": "phone", "value": "0388000000"}]
    lines[0] = json.dumps(organization)
    report = run_finess(ingest_engine, write(tmp_path / "v2.ndjson", lines))
    assert report.counts["mis_a_jour"] == 1 and report.counts["inchanges"] == 4
    with ingest_engine.connect() as connection:
        contacts, = connection.execute(text("""
            SELECT o.contacts FROM offre o JOIN offre_source s ON s.offre_id = o.id
            WHERE s.cle = :et
        """), {"et": finess_et}).one()
        history = connection.execute(text("""
            SELECT champ, nouvelle_valeur, source FROM historique
        """)).all()
    assert contacts == [{"type": "telephone", "valeur": "03 88 00 00 00"}]
    assert history == [("contacts", [{"type": "telephone", "valeur": "03 88 00 00 00"}],
                        "finess")]


def test_a_disappeared_establishment_is_retired_not_deleted_and_comes_back(
    ingest_engine, tmp_path
):
    lines = [line for pair in pairs(demo_lines(), "620")[:20] for line in pair]
    run_finess(ingest_engine, write(tmp_path / "complet.ndjson", lines))
    gone = json.loads(lines[0])["identifier"][0]["value"]

    report = run_finess(ingest_engine, write(tmp_path / "sans-un.ndjson", lines[2:]))
    assert report.counts["retires"] == 1
    with ingest_engine.connect() as connection:
        statut, retiree_le = connection.execute(text("""
            SELECT o.statut, o.retiree_le FROM offre o
            JOIN offre_source s ON s.offre_id = o.id WHERE s.cle = :et
        """), {"et": gone}).one()
    assert statut == "retiree" and retiree_le is not None
    assert scalar(ingest_engine, "SELECT count(*) FROM offre") == 20

    run_finess(ingest_engine, write(tmp_path / "retour.ndjson", lines))
    assert scalar(ingest_engine, "SELECT count(*) FROM offre WHERE statut = 'publiee'") == 20


def test_a_file_losing_most_establishments_publishes_nothing(ingest_engine, tmp_path):
    lines = [line for pair in pairs(demo_lines(), "620")[:200] for line in pair]
    run_finess(ingest_engine, write(tmp_path / "complet.ndjson", lines))
    before = published_snapshot(ingest_engine)
    with pytest.raises(IngestionError, match="le fichier semble partiel"):
        run_finess(ingest_engine, write(tmp_path / "partiel.ndjson", lines[:100]))
    assert published_snapshot(ingest_engine) == before
    report = run_finess(ingest_engine, str(tmp_path / "partiel.ndjson"), accept_retirements=True)
    assert report.counts["retires"] == 150


def quarantine(engine, run_id: int) -> list[tuple]:
    with engine.connect() as connection:
        return connection.execute(text("""
            SELECT ligne, ressource, raison FROM quarantaine WHERE run_id = :run ORDER BY ligne
        """), {"run": run_id}).all()


def test_bad_rows_are_quarantined_with_line_and_french_reason(ingest_engine, tmp_path):
    good = pairs(demo_lines(), "620")[:3]
    bad_key = json.loads(good[1][0])
    bad_key["identifier"][0]["value"] = "670000001"  # Luhn key wrong
    unknown_category = json.loads(good[2][0])
    unknown_category["type"][0]["coding"][2]["code"] = "999"
    out_of_france = json.loads(good[0][1])
    out_of_france["position"] = {"latitude": 60.0, "longitude": 30.0}  # Saint-Petersburg
    lines = [
        good[0][0], json.dumps(out_of_france),              # 1-2
        '{"resourceType": "Organization", "id": ',          # 3: truncated JSON
        json.dumps(bad_key), good[1][1],                    # 4-5
        json.dumps(unknown_category), good[2][1],           # 6-7
        '{"resourceType": "Location", "id": "x-loc", '
        '"managingOrganization": {"reference": "Organization/inconnue"}}',  # 8
        '{"resourceType": "Patient", "id": "p1"}',          # 9
    ]
    report = run_finess(ingest_engine, write(tmp_path / "mauvais.ndjson", lines))
    rows = quarantine(ingest_engine, report.run_id)
    reasons = {ligne: raison for ligne, _, raison in rows}
    assert reasons[1].startswith("coordonnées hors de France")
    assert reasons[3].startswith("ligne JSON illisible")
    assert reasons[4] == "numéro FINESS « 670000001 » : clé de contrôle invalide"
    assert reasons[6] == "catégorie d'établissement inconnue « 999 »"
    assert reasons[8] == "Location sans Organization correspondante dans le fichier"
    assert reasons[9] == "ressource FHIR inattendue (Patient)"
    assert report.quarantaines == 6
    assert scalar(ingest_engine, "SELECT count(*) FROM offre") == 0


def test_duplicate_establishments_keep_the_first_and_quarantine_the_others(
    ingest_engine, tmp_path
):
    org, loc = pairs(demo_lines(), "620")[0]
    report = run_finess(ingest_engine, write(tmp_path / "double.ndjson", [org, loc, org, loc]))
    assert report.counts["inseres"] == 1
    assert [r[2] for r in quarantine(ingest_engine, report.run_id)] == [
        "identifiant déjà présent plus haut dans le fichier"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "fichier vide"),
        (b"nom;adresse;ville\nCSAPA;1 rue Haute;Metz\n", "format FINESS non reconnu"),
        (b"finess;etalab;111;2026-05-12\nstructureet;010000024;CH\n",
         "aucun enregistrement « structureet »"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "format FINESS non reconnu"),
        (b'{"resourceType": "Patient", "id": "1"}\n' * 30, "n'est pas un export FINESS FHIR"),
    ],
    ids=["vide", "autre-csv", "etalab-sans-etablissement", "image", "autre-fhir"],
)
def test_a_file_of_the_wrong_kind_fails_and_publishes_nothing(ingest_engine, tmp_path,
                                                              content, message):
    run_finess(ingest_engine, str(DEMO_FINESS))
    before = published_snapshot(ingest_engine)
    path = tmp_path / "mauvais-fichier"
    path.write_bytes(content)
    with pytest.raises(IngestionError, match=message) as error:
        run_finess(ingest_engine, str(path))
    assert published_snapshot(ingest_engine) == before
    statut, run_message = scalar_row(ingest_engine, error.value.run_id)
    assert statut == "echoue" and message in run_message


def scalar_row(engine, run_id):
    with engine.connect() as connection:
        return connection.execute(text("SELECT statut, message FROM run WHERE id = :id"),
                                  {"id": run_id}).one()


def test_a_truncated_archive_fails_and_publishes_nothing(ingest_engine, tmp_path):
    run_finess(ingest_engine, str(DEMO_FINESS))
    before = published_snapshot(ingest_engine)
    truncated = tmp_path / "tronque.ndjson.gz"
    truncated.write_bytes(DEMO_FINESS.read_bytes()[: DEMO_FINESS.stat().st_size // 2])
    with pytest.raises(IngestionError, match="archive gzip tronquée"):
        run_finess(ingest_engine, str(truncated))
    assert published_snapshot(ingest_engine) == before


def test_overseas_positions_projected_as_lambert_are_repaired(ingest_engine, tmp_path, settings):
    """The national file puts Guadeloupe in the Gulf of Guinea; we put it back."""
    organization = {
        "resourceType": "Organization", "id": "970100103-970100012", "active": True,
        "name": "CHU DE POINTE A PITRE",
        "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.2", "value": "970100012"}],
        "address": [{"city": "LES ABYMES", "postalCode": "97139", "line": ["MORNE JOLIVIERE"]}],
        "type": [{"coding": [{"system": "http://finess.sante.gouv.fr/valuesets/CAT_ETAB",
                              "code": "124", "display": "Centre de Santé"}]}],
    }
    location = {  # as written in ../shared/data/finess for this establishment
        "resourceType": "Location", "id": "970100103-970100012-loc",
        "managingOrganization": {"reference": "Organization/970100103-970100012"},
        "position": {"latitude": 6.275362118569193, "longitude": 2.689956564889961},
    }
    run_finess(ingest_engine, write(tmp_path / "drom.ndjson",
                                    [json.dumps(organization), json.dumps(location)]))
    with ingest_engine.connect() as connection:
        lon, lat, commune, region = connection.execute(text("""
            SELECT ST_X(geom), ST_Y(geom), code_commune, code_region FROM offre
        """)).one()
    # formats.md control point for this establishment: (-61.52874, 16.23400)
    assert abs(lon - -61.52874) < 0.002 and abs(lat - 16.23400) < 0.002
    assert (commune, region) == ("97101", "01")


def test_a_line_in_another_encoding_is_quarantined_not_the_file(ingest_engine, tmp_path):
    org, loc = pairs(demo_lines(), "620")[0]
    latin = org.replace('"name": "', '"name": "PHARMACIE DE L\'ÉGLISE ', 1)
    path = tmp_path / "melange.ndjson"
    path.write_bytes(org.encode() + loc.encode() + latin.encode("latin-1"))
    report = run_finess(ingest_engine, str(path))
    assert report.counts["inseres"] == 1
    assert [r[:1] + r[2:] for r in quarantine(ingest_engine, report.run_id)] == [
        (3, "encodage invalide : UTF-8 attendu (octet 0xc9)")]


def test_a_csv_in_no_known_encoding_fails_clearly(ingest_engine, tmp_path):
    path = tmp_path / "illisible.csv"
    path.write_bytes(b"finess;etalab;111;2026-05-12\nstructureet;\x81\x8d\x8f;x\n")
    with pytest.raises(IngestionError, match="ni UTF-8 ni Windows-1252"):
        run_finess(ingest_engine, str(path))


def test_a_cmp_filed_under_its_hospital_category_is_offered_as_a_cmp(ingest_engine, tmp_path):
    """471 CMP of the national file are ET of their hospital's category (292, 355…): the only
    CMP of Martinique among them. Their name brings them in; other hospital ET stay out."""
    lines = demo_lines()
    hospital_pairs = pairs(lines, "292") + pairs(lines, "355")
    cmp = [p for p in hospital_pairs if '"name": "CMP ADULTES METZ  JURY"' in p[0]]
    psychiatric_hospital = [p for p in pairs(lines, "292")
                            if "CMP" not in p[0] and "MEDICO" not in p[0]][:1]
    assert cmp and psychiatric_hospital
    run = run_finess(ingest_engine, write(tmp_path / "cmp.ndjson",
                                          [line for pair in cmp + psychiatric_hospital
                                           for line in pair]))
    with ingest_engine.connect() as connection:
        offers = connection.execute(text("""
            SELECT o.nom, o.attributs->>'categorie_finess',
                   o.attributs->>'categorie_finess_declaree',
                   s.categorie_finess, o.gratuit,
                   array(SELECT jeu_slug FROM jeu_offre j WHERE j.offre_id = o.id ORDER BY 1)
            FROM offre o JOIN structure s ON s.id = o.structure_id
        """)).all()
    assert offers == [("CMP Adultes Metz Jury", "156", "292", "292", True, ["cmp-adultes"])]
    assert run.hors_champ == 1


def test_reclassification_reads_the_name_not_a_similar_one():
    from ingest.finess import Establishment, categories, to_record
    table = categories(DATA / "finess" / "categories.csv")

    def category_of(nom: str, categorie: str) -> str | None:
        record = to_record(Establishment(
            finess_et="570013011", finess_ej=None, nom=nom, nom_long=None, adresse=None,
            code_postal="57100", ville=None, code_commune=None, telephone=None, siret=None,
            categorie=categorie, date_maj=None, lon=None, lat=None), 1, None, {}, table)
        return getattr(record, "champs", {}).get("attributs", {}).get("categorie_finess")

    # Real names of the national file, with their declared category.
    assert category_of("CENTRE MEDICO PSYCHOLOGIQUE", "292") == "156"  # Martinique
    assert category_of("HOP DE JOUR CMP CH DIGNE", "355") == "156"
    assert category_of("CMP-CATTP ADULTES VILLERUPT SOS SANTE", "365") == "156"
    assert category_of("CENTRE MÉDICO-PSYCHOLOGIQUE", "292") == "156"
    assert category_of("CMPP MAX CARISTAN", "292") is None  # a CMPP is not a CMP
    assert category_of("CENTRE HOSPITALIER DE DIGNE", "355") is None
    assert category_of("CMP USN2 - SMPR", "415") is None  # prison unit: not for the public
    assert category_of("SESSAD DU CMP LE CHATEAU", "182") is None
