"""Recognising an offer however it is typed: keys, evidence beyond the name, near misses
settled by an ARS editor and reused on the next import — on the real Grand Est offers."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import text

from cartographie import comptes, contributions
from cartographie.geocodage import GeocodeurLocal
from ingest import cles
from ingest import contributions as ars
from ingest.ressemblance import Fiche, compare, name_similarity


def test_keys_fold_case_accents_quotes_and_abbreviations():
    assert cles.name_tokens('"CTRE MEDICO-PSYCHOLOGIQUE ST DIE"') == cles.name_tokens(
        "cmp de Saint-Dié")
    assert cles.name_tokens("LBM ANALYSIS") == cles.name_tokens("Laboratoire Analysis")
    assert cles.address_key("12 B R DU GAL LECLERC") == cles.address_key(
        "12 bis, rue du Général Leclerc")
    assert cles.phone_digits("+33 3 89 23 02 57") == cles.phone_digits("03.89.23.02.57")


def test_generic_and_legal_words_do_not_decide():
    weights = cles.Weights.of_names(["PHARMACIE DU CENTRE", "PHARMACIE DE LA GARE",
                                     "PHARMACIE BETZ", "SELARL PHARMACIE DES AJOTS",
                                     "CENTRE DE SANTE"])
    tokens = cles.name_tokens
    assert name_similarity(tokens("Pharmacie du Centre"), tokens("PHARMACIE DE LA GARE"),
                           weights, frozenset()) < 0.5
    assert name_similarity(tokens("SELARL Pharmacie des Ajots"), tokens("PHARMACIE DES AJOTS"),
                           weights, frozenset()) > 0.95
    # A shared building, phone and street do not make a CATTP the CMP next door.
    cmp = Fiche("CMP ADULTES EPINAL", "3 AV DE LA LOGE BLANCHE", frozenset({"0329000000"}),
                "Épinal")
    cattp = Fiche("CATTP ADULTES EPINAL", "3 avenue de la Loge Blanche",
                  frozenset({"0329000000"}), "Épinal")
    found = compare(cattp, cmp, distance_m=5, same_commune=True, weights=weights)
    assert "noms trop différents pour fusionner" in found.raison()


@pytest.fixture
def grand_est(demo_engine):
    """The real Grand Est offers, in a transaction rolled back after the test."""
    with demo_engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


def _import(connection, settings, tmp_path, rows: list[dict]) -> ars.Rapport:
    path = tmp_path / "import.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, ["identifiant", "nom", "cartes", "adresse",
                                         "code_commune", "latitude", "longitude", "telephone"],
                                delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    savepoint = connection.begin_nested()  # a dry run: its report, nothing kept
    rapport = ars.import_file(connection, path, compte=None, code_region="44",
                              geocoder=GeocodeurLocal(connection),
                              data_dir=settings.resolved_data_dir, dry_run=True,
                              emplacement="test", empreinte=None)
    savepoint.rollback()
    return rapport


def _laboratory(connection):
    return connection.execute(text("""
        SELECT o.id, o.nom, o.nom_source, o.code_commune, ST_X(o.geom) AS lon,
               ST_Y(o.geom) AS lat
        FROM offre o WHERE o.statut = 'publiee' AND o.code_region = '44'
          AND o.nom_source LIKE 'LBM %' AND o.geom IS NOT NULL
          AND (SELECT count(*) FROM offre p WHERE p.code_commune = o.code_commune
               AND p.nom_source LIKE 'LBM %') = 1
        ORDER BY o.id LIMIT 1
    """)).mappings().one()


def test_a_row_with_its_commune_only_or_at_street_level_is_the_national_offer(
        grand_est, settings, tmp_path):
    lab = _laboratory(grand_est)
    retyped = lab["nom_source"].replace("LBM", "Laboratoire").title()
    commune_only = _import(grand_est, settings, tmp_path, [
        {"identifiant": "a", "nom": lab["nom"], "cartes": "depistage",
         "code_commune": lab["code_commune"]}]).lignes[0]
    assert (commune_only.resultat, commune_only.offre_id) == ("doublon", lab["id"])
    assert "même commune (lieu donné par la commune seule)" in commune_only.avertissements[0]
    street_level = _import(grand_est, settings, tmp_path, [
        {"identifiant": "b", "nom": retyped, "cartes": "depistage",
         "latitude": f"{lab['lat'] + 0.0009:.6f}", "longitude": f"{lab['lon']:.6f}"}]).lignes[0]
    assert (street_level.resultat, street_level.offre_id) == ("doublon", lab["id"])
    assert "à 100 m" in street_level.avertissements[0]


def test_a_near_miss_confirmed_or_rejected_by_the_editor_is_reused(grand_est, settings,
                                                                   tmp_path):
    lab = _laboratory(grand_est)
    token = comptes.add_user(grand_est, "ge-rapprochement", "ars_editeur", "44")
    editor = comptes.authenticate(grand_est, token)
    # Its name, placed 350 m off: close, not enough to merge alone.
    row = {"identifiant": "proche", "nom": lab["nom"], "cartes": "depistage",
           "latitude": f"{lab['lat'] + 0.0032:.6f}", "longitude": f"{lab['lon']:.6f}"}
    line = _import(grand_est, settings, tmp_path, [row]).lignes[0]
    assert line.resultat == "creee"
    assert [r.offre_id for r in line.ressemblances][:1] == [lab["id"]]
    assert f"ressemble à l'offre {lab['id']}" in " ".join(line.avertissements)

    message = ars.decide_near_miss(grand_est, editor, "44", line.cle, lab["id"], "confirme")
    assert message.startswith(f"C'est l'offre {lab['id']}")
    again = _import(grand_est, settings, tmp_path, [row]).lignes[0]
    assert (again.resultat, again.offre_id) == ("doublon", lab["id"])
    assert "rapprochement confirmé par l'ARS" in again.avertissements[0]

    ars.decide_near_miss(grand_est, editor, "44", line.cle, lab["id"], "rejete")
    rejected = _import(grand_est, settings, tmp_path, [row]).lignes[0]
    assert rejected.resultat == "creee"
    assert lab["id"] not in [r.offre_id for r in rejected.ressemblances]
    assert grand_est.execute(text(
        "SELECT count(*) FROM audit WHERE action LIKE 'rapprochement_%'")).scalar_one() == 2


def test_a_confirmation_never_links_to_another_regions_offer(grand_est):
    token = comptes.add_user(grand_est, "ge-hors-region", "ars_editeur", "44")
    editor = comptes.authenticate(grand_est, token)
    elsewhere = grand_est.execute(text("""
        INSERT INTO offre (nom, statut, origine, mode, code_region)
        VALUES ('Offre de Bretagne', 'publiee', 'national', 'a_distance', '53') RETURNING id
    """)).scalar_one()
    with pytest.raises(contributions.Refus, match="hors de la région 44"):
        ars.decide_near_miss(grand_est, editor, "44", "44:ligne", elsewhere, "confirme")
    with pytest.raises(contributions.Refus, match="pas un import de la région 44"):
        ars.decide_near_miss(grand_est, editor, "44", "53:ligne", elsewhere, "confirme")
