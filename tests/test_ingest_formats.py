"""The other FINESS formats (etalab CSV, JSON flux) and the national vaccination-sites list.

The etalab CSV and the JSON flux are not in ../shared (formats.md, "Not found"): the files
here are SYNTHETIC, built in the documented layouts from real establishments of the demo
file (their real numbers, names and positions) plus the verbatim lines quoted in formats.md.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from pyproj import Transformer
from sqlalchemy import text

from cartographie.noms import nom_affichage
from ingest.catalog import ingest
from ingest.finess_csv import insee_commune
from ingest.horaires import weekly
from ingest.runner import IngestionError

DATA = Path(__file__).resolve().parent.parent / "data"
DEMO_FINESS = DATA / "demo" / "finess-grand-est-20210108-fhir.ndjson.gz"
DEMO_VACCINATION = DATA / "demo" / "centres-vaccination-grand-est-2021-03.csv"
TO_LAMBERT = Transformer.from_crs(4326, 2154, always_xy=True)


def real_csapas(count: int) -> list[dict]:
    """Real CSAPA of the demo file: number, name, address, phone, position."""
    with gzip.open(DEMO_FINESS, "rt", encoding="utf-8") as handle:
        found, lines = [], handle.read().splitlines()
    for organization, location in zip(lines, lines[1:], strict=False):
        if '"code": "197"' in organization and '"Location"' in location:
            org, loc = json.loads(organization), json.loads(location)
            address = org["address"][0]
            found.append({
                "et": org["identifier"][0]["value"], "ej": org["id"].split("-")[0],
                "nom": org["name"], "voie": " ".join(address.get("line", [])),
                "cp": address["postalCode"], "ville": address["city"],
                "tel": (org.get("telecom") or [{}])[0].get("value", ""),
                "lon": loc["position"]["longitude"], "lat": loc["position"]["latitude"],
            })
        if len(found) == count:
            return found
    raise AssertionError("pas assez de CSAPA dans la démo")


def commune_of(engine, lon: float, lat: float) -> str:
    with engine.connect() as connection:
        return connection.execute(text("""
            SELECT code FROM commune WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326))
        """), {"x": lon, "y": lat}).scalar_one()


def structureet(et: dict, commune: str, category: str = "197", label: str = "CSAPA",
                name: str | None = None) -> str:
    fields = ["structureet", et["et"], et["ej"], name or et["nom"], name or et["nom"], "", "",
              "", "", et["voie"], "", "", commune[2:], commune[:2], "DEP",
              f'{et["cp"]} {et["ville"]}', et["tel"], "", category, label, "4604", "Autres", "",
              "8899B", "", "", "", "", "2010-01-01", "2010-01-01", "2020-06-30", ""]
    return ";".join(fields)


def test_insee_code_is_rebuilt_from_departement_and_commune():
    assert insee_commune("01", "451") == "01451"
    assert insee_commune("2A", "4") == "2A004"
    assert insee_commune("9A", "101") == "97101"
    assert insee_commune("9F", "606") == "97606"
    assert insee_commune("9J", "613") == "98613"


def test_etalab_csv_cp1252_lambert_and_utm(ingest_engine, tmp_path):
    csapas = real_csapas(3)
    lines = ["finess;etalab;111;2026-05-12"]
    for et in csapas:
        lines.append(structureet(et, commune_of(ingest_engine, et["lon"], et["lat"])))
    # A name with quotes and accents, written as the etalab files do (« "" » escaping).
    lines[1] = lines[1].replace(csapas[0]["nom"], '"CSAPA ""LE TREMPLIN"" ÉCOUTE"', 2)
    for et in csapas:
        x, y = TO_LAMBERT.transform(et["lon"], et["lat"])
        lines.append(f"geolocalisation;{et['et']};{x:.1f};{y:.1f};"
                     "1,ATLASANTE,96,BAN,EPSG:2154 RGF93 / Lambert-93 (Métropole);2026-05-04")
    # Guadeloupe, verbatim coordinates of formats.md (UTM 20N), as a vaccination centre.
    guadeloupe = {"et": "970100012", "ej": "970100103", "nom": "CENTRE DE VACCINATION",
                  "voie": "MORNE JOLIVIERE", "cp": "97139", "ville": "LES ABYMES", "tel": ""}
    lines.insert(4, structureet(guadeloupe, "97101", "645", "Centre de Vaccination").replace(
        ";01;DEP;", ";9A;DEP;"))
    lines.append("geolocalisation;970100012;657242.9;1795384.4;"
                 "2,ATLASANTE,96,BAN,EPSG:5490 RGAF09/UTM Zone 20N (Antilles);2026-05-04")
    lines.append("structureet;670000000;trop;court")  # wrong field count
    path = tmp_path / "etalab-cs1100507-stock-20260512-0337.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("cp1252"))

    report = ingest(ingest_engine, "finess", str(path), DATA)
    assert report.counts["inseres"] == 4 and report.quarantaines == 1
    with ingest_engine.connect() as connection:
        rows = {row.et: row for row in connection.execute(text("""
            SELECT s.finess_et AS et, o.nom, o.nom_source, o.code_commune, ST_X(o.geom) AS lon,
                   ST_Y(o.geom) AS lat, o.code_region
            FROM offre o JOIN structure s ON s.id = o.structure_id
        """))}
        reason = connection.execute(text("SELECT ligne, raison FROM quarantaine")).one()
    # shown as people read it, searchable as the source wrote it
    assert rows[csapas[0]["et"]].nom == "CSAPA « Le Tremplin » Écoute"
    assert rows[csapas[0]["et"]].nom_source == 'CSAPA "LE TREMPLIN" ÉCOUTE'
    for et in csapas:
        assert abs(rows[et["et"]].lon - et["lon"]) < 1e-5
        assert abs(rows[et["et"]].lat - et["lat"]) < 1e-5
        assert rows[et["et"]].code_region == "44"
    antilles = rows["970100012"]
    assert abs(antilles.lon - -61.52874) < 1e-4 and abs(antilles.lat - 16.23400) < 1e-4
    assert (antilles.code_commune, antilles.code_region) == ("97101", "01")
    assert reason == (len(lines), "nombre de champs incorrect (4 au lieu de 32)")


def test_etalab_csv_rejects_a_corsican_pattern_error_but_not_its_key(ingest_engine, tmp_path):
    et = {"et": "2A0000001", "ej": "2A0000002", "nom": "CSAPA AJACCIO", "voie": "COURS NAPOLEON",
          "cp": "20000", "ville": "AJACCIO", "tel": "0495000000"}
    bad = dict(et, et="2C0000001")
    path = tmp_path / "corse.csv"
    path.write_text("\n".join([structureet(et, "2A004"), structureet(bad, "2A004")]) + "\n",
                    encoding="utf-8")
    report = ingest(ingest_engine, "finess", str(path), DATA)
    assert report.counts["inseres"] == 1  # no geolocalisation: placed at its commune
    with ingest_engine.connect() as connection:
        precision, commune = connection.execute(
            text("SELECT precision_geo, code_commune FROM offre")).one()
        reason = connection.execute(text("SELECT raison FROM quarantaine")).scalar_one()
    assert (precision, commune) == ("commune", "2A004")
    assert reason == "numéro FINESS « 2C0000001 » mal formé (9 caractères attendus)"


def test_finess_json_flux_padded_strings_closed_and_inactive(ingest_engine, tmp_path):
    et = real_csapas(1)[0]
    def ege(number, **extra):
        return {
            "informationsGeneralesEGE": {"numFinessEge": number, "nomEgeCourt": et["nom"] + "   ",
                                         "siret": None, "dateFermeture": extra.pop("ferme", None)},
            "categorieentiteGeographiqueExercice": "197",
            "adresse": [{"usageAdresse": "03", "numeroVoie": "2 ", "typeVoie": "R   ",
                         "libelleVoie": "DES TESTS", "cogCommune": "67482",
                         "codePostal": "67000", "ligneAcheminement": "67000 STRASBOURG",
                         "coordonneesGeographique": {
                             "coordonneeX": "6841000.00", "coordonneeY": "1050000.00",
                             "directionLatitude": str(et["lat"]),
                             "directionLongitude": str(et["lon"])}}],
            "contact": [{"telecom": {"telephone": "0388112233"}}],
            "etatObjet": extra.pop("etat", "A"),
        }
    document = {"schemaVersion": "v1.0.0", "generatedAt": "2026-05-12", "pmej": [
        {"informationsGeneralesPMEJ": {"numFinessPm": et["ej"]},
         "ege": [ege(et["et"]), ege("670780055", ferme="2024-01-01"), ege("670780063",
                                                                          etat="I")]}],
        "gco": [], "gcc": []}
    path = tmp_path / "finess-structures-journalier-20260512.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    report = ingest(ingest_engine, "finess", str(path), DATA)
    assert report.counts["inseres"] == 1 and report.hors_champ == 2
    with ingest_engine.connect() as connection:
        nom, nom_source, adresse, contacts, lon = connection.execute(
            text("SELECT nom, nom_source, adresse, contacts, ST_X(geom) FROM offre")).one()
    assert nom_source == et["nom"] and nom == nom_affichage(et["nom"])
    assert adresse == "2 rue des Tests"
    assert contacts == [{"type": "telephone", "valeur": "03 88 11 22 33"}]
    assert abs(lon - et["lon"]) < 1e-6


def test_finess_json_that_is_not_the_flux_fails(ingest_engine, tmp_path):
    path = tmp_path / "autre.json"
    path.write_text('{"schemaVersion": "v1", "autre": []}', encoding="utf-8")
    with pytest.raises(IngestionError, match="aucune entité juridique"):
        ingest(ingest_engine, "finess", str(path), DATA)


def test_vaccination_sites_demo(ingest_engine):
    report = ingest(ingest_engine, "vaccination", str(DEMO_VACCINATION), DATA)
    assert report.lus == 130
    assert report.counts["inseres"] + report.hors_champ + report.quarantaines == 130
    with ingest_engine.connect() as connection:
        nancy = connection.execute(text("""
            SELECT horaires, reservation_url, contacts, code_commune, gratuit, precision_geo
            FROM offre o JOIN offre_source s ON s.offre_id = o.id
            WHERE s.source = 'vaccination' AND s.cle = '89'
        """)).one()
        regions = connection.execute(text("SELECT DISTINCT code_region FROM offre")).scalars()
        assert set(regions) == {"44"}
    assert nancy.horaires == "Mo-Fr 09:00-17:00; Sa-Su unknown"
    assert nancy.reservation_url.startswith("https://partners.doctolib.fr/")
    assert nancy.contacts == [{"type": "telephone", "valeur": "03 83 85 13 00"}]
    assert (nancy.code_commune, nancy.gratuit, nancy.precision_geo) == ("54395", True, "adresse")
    again = ingest(ingest_engine, "vaccination", str(DEMO_VACCINATION), DATA)
    assert again.counts["inseres"] == again.counts["mis_a_jour"] == 0


def test_vaccination_bad_rows_and_wrong_file(ingest_engine, tmp_path):
    header, first, *_ = DEMO_VACCINATION.read_text(encoding="utf-8").splitlines()
    cells = first.split(";")
    far = cells.copy()
    far[0], far[10], far[11] = "9001", "0.00024", "-0.00002"  # the real bad row of the list
    path = tmp_path / "lieux.csv"
    path.write_bytes("\n".join([header, first, ";".join(far), "9002;trop;court"]).encode("cp1252"))
    report = ingest(ingest_engine, "vaccination", str(path), DATA)
    with ingest_engine.connect() as connection:
        reasons = connection.execute(text(
            "SELECT ligne, raison FROM quarantaine ORDER BY ligne")).all()
    assert report.counts["inseres"] == 1
    assert reasons[0][0] == 3 and reasons[0][1].startswith("coordonnées hors de France")
    assert reasons[1] == (4, "nombre de champs incorrect (3 au lieu de 42)")

    wrong = tmp_path / "pas-des-lieux.csv"
    wrong.write_text("code;libelle\n1;un\n", encoding="utf-8")
    with pytest.raises(IngestionError, match="colonnes absentes de l'en-tête : gid"):
        ingest(ingest_engine, "vaccination", str(wrong), DATA)


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (["09:00-17:00"] * 5 + ["fermé", "fermé"], "Mo-Fr 09:00-17:00"),
        (["8h30-12h/14h-18h"] * 6 + [""], "Mo-Sa 08:30-12:00,14:00-18:00"),
        (["", "", "9h-13h", "", "", "", "fermé"], "We 09:00-13:00"),
        (["sur rendez-vous"] * 7, None),
        (["25h-26h"] + [""] * 6, None),
    ],
)
def test_opening_hours_become_osm_syntax(days, expected):
    assert weekly(days) == expected
