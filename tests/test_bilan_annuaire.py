"""The Annuaire Santé extraction: the four professions and their places, placed, kept true
by each new extraction without ever losing a declaration."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import text

from cartographie import bilan
from cartographie.bilan import Reponse
from ingest.annuaire_sante import header_key
from ingest.catalog import ingest
from ingest.runner import IngestionError

DATA = Path(__file__).resolve().parent.parent / "data"
TEST_DATA = Path(__file__).resolve().parent / "data"
EXTRACTION = TEST_DATA / "PS_LibreAcces_Personne_activite_202612010000-ESSAI.txt"
VARIANTE = TEST_DATA / "PS_LibreAcces_Personne_activite_202612150000-ESSAI-variante.txt"


def places(engine) -> dict[str, dict]:
    with engine.connect() as connection:
        rows = connection.execute(text("""
            SELECT cle, rpps, code_profession, nom, code_commune, code_region, precision_geo,
                   telephone, ST_X(geom) AS lon, ST_Y(geom) AS lat, disparu_le
            FROM professionnel_activite""")).mappings().all()
    return {row["cle"]: dict(row) for row in rows}


def test_keeps_the_four_professions_and_places_them(ingest_engine):
    report = ingest(ingest_engine, "annuaire-sante", str(EXTRACTION), DATA)
    assert report.lus == 9
    assert report.counts["inseres"] == 5
    assert report.hors_champ == 2  # the dentist, and the locum without a place
    assert report.quarantaines == 2
    found = places(ingest_engine)
    assert {p["code_profession"] for p in found.values()} == {"10", "21", "50", "60"}
    # One professional, two places: two rows.
    assert sum(p["rpps"] == "10000000001" for p in found.values()) == 2
    rivoli = found["10000000001|id_structure:S75000001"]
    # « 41 Rue de Rivoli 75001 » is in the shipped BAN extract: placed at the address.
    assert rivoli["precision_geo"] == "adresse"
    assert rivoli["lon"] == pytest.approx(2.347911) and rivoli["lat"] == pytest.approx(48.858495)
    assert rivoli["code_region"] == "11"
    strasbourg = found["10000000001|siret:12345678900011"]
    assert strasbourg["precision_geo"] == "commune"  # no BAN file for the Bas-Rhin here
    assert strasbourg["code_region"] == "44" and strasbourg["telephone"] == "03 88 00 00 01"
    with ingest_engine.connect() as connection:
        reasons = connection.execute(text(
            "SELECT raison FROM quarantaine ORDER BY ligne")).scalars().all()
    assert reasons == ["numéro RPPS invalide « 1234 » : 11 chiffres attendus",
                       "code commune invalide « 6748 »"]


def test_the_same_extraction_twice_changes_nothing(ingest_engine):
    ingest(ingest_engine, "annuaire-sante", str(EXTRACTION), DATA)
    before = places(ingest_engine)
    second = ingest(ingest_engine, "annuaire-sante", str(EXTRACTION), DATA)
    assert second.counts == {"inseres": 0, "mis_a_jour": 0, "inchanges": 5, "retires": 0}
    assert places(ingest_engine) == before


def test_known_variants_of_the_layout_read_the_same(ingest_engine):
    """« (coord. Structure) », savoir-faire columns moved out, no trailing « | »."""
    assert header_key("Code postal (coord. Structure)") == header_key(
        "Code postal (coord. structure)")
    ingest(ingest_engine, "annuaire-sante", str(EXTRACTION), DATA)
    before = places(ingest_engine)
    report = ingest(ingest_engine, "annuaire-sante", str(VARIANTE), DATA)
    assert report.counts["inseres"] == report.counts["mis_a_jour"] == 0
    assert places(ingest_engine) == before


def test_a_file_of_another_kind_fails_in_french_and_publishes_nothing(ingest_engine, tmp_path):
    other = tmp_path / "autre.txt"
    other.write_text("nom|prenom|ville\nA|B|C\n", encoding="utf-8")
    with pytest.raises(IngestionError, match="colonnes absentes de l'en-tête : Type "
                                             "d'identifiant PP, Identifiant PP"):
        ingest(ingest_engine, "annuaire-sante", str(other), DATA)
    assert places(ingest_engine) == {}


def test_a_place_gone_from_the_extraction_keeps_its_declaration_hidden(ingest_engine,
                                                                        tmp_path):
    ingest(ingest_engine, "annuaire-sante", str(EXTRACTION), DATA)
    key = "10000000001|siret:12345678900011"
    with ingest_engine.begin() as connection:
        activite = connection.execute(text(
            "SELECT id FROM professionnel_activite WHERE cle = :k"), {"k": key}).scalar_one()
        bilan.declarer(connection, "10000000001",
                       Reponse(activite, True, bilan.lien_rdv("https://WWW.Essai-RDV.fr")),
                       dt.timedelta(0))
    lines = EXTRACTION.read_text(encoding="utf-8").splitlines(keepends=True)
    without = tmp_path / "PS_LibreAcces_Personne_activite_202701010000.txt"
    without.write_text("".join(line for line in lines if "12345678900011" not in line),
                       encoding="utf-8")
    report = ingest(ingest_engine, "annuaire-sante", str(without), DATA)
    assert report.counts["retires"] == 1
    with ingest_engine.connect() as connection:
        declaration = connection.execute(text(
            "SELECT statut, lien_rdv FROM declaration_bilan")).one()
        assert tuple(declaration) == ("declaree", "https://www.essai-rdv.fr/")
        total, _ = bilan.professionnels(connection, bilan.Recherche())
        assert total == 0  # kept, but not shown while the place is gone
        (lieu,) = [p for p in bilan.lieux(connection, "10000000001") if p["id"] == activite]
        assert lieu["disparu_le"] is not None  # flagged for the professional
    # The place comes back: so does its declaration, untouched.
    ingest(ingest_engine, "annuaire-sante", str(EXTRACTION), DATA)
    with ingest_engine.connect() as connection:
        total, rows = bilan.professionnels(connection, bilan.Recherche())
    assert total == 1 and rows[0]["lien_rdv"] == "https://www.essai-rdv.fr/"
