"""Jeux d'offres: definitions checked with file and line, memberships with their reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from cartographie import jeux
from cartographie.taxonomy import CARTES
from cartographie.yamlsource import SourceError
from ingest.catalog import ingest
from tests.synthetic_ror import build

DATA = Path(__file__).resolve().parent.parent / "data"
DEMO_FINESS = DATA / "demo" / "finess-grand-est-20210108-fhir.ndjson.gz"
REQUIRED = {
    "cmp-enfants-adolescents", "cmp-adultes", "cmpp", "bapu", "csapa-drogues", "caarud",
    "consultations-jeunes-consommateurs", "cegidd", "centres-de-sante-sexuelle",
    "centres-de-vaccination", "centres-de-vaccination-internationale",
    "pharmacies-qui-vaccinent", "centres-examens-de-sante", "laboratoires-depistage",
    "maisons-sport-sante",
}


@pytest.fixture
def editable(tmp_path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(DATA / "jeux", folder / "jeux")
    shutil.copytree(DATA / "taxonomie", folder / "taxonomie")
    return folder


def test_shipped_definitions_cover_every_card_and_the_required_jeux():
    definitions = jeux.definitions(DATA)
    assert {j.carte for j in definitions} == set(CARTES)
    assert {j.slug for j in definitions} >= REQUIRED


def edit(path: Path, old: str, new: str) -> int:
    content = path.read_text(encoding="utf-8")
    assert old in content
    path.write_text(content.replace(old, new, 1), encoding="utf-8")
    return content[: content.index(old)].count("\n") + 1


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(SourceError) as error:
        jeux.definitions(folder)
    return error.value.problems


def test_unknown_card_is_named_with_file_and_line(editable):
    path = editable / "jeux" / "nutrition.yaml"
    line = edit(path, "carte: nutrition", "carte: gastronomie")
    assert any(p.startswith(f"{path}:{line} : carte inconnue « gastronomie »")
               for p in problems_of(editable))


def test_unknown_attribute_is_named_with_file_and_line(editable):
    path = editable / "jeux" / "depistage.yaml"
    line = edit(path, 'categorie_finess: ["347"]', 'categorie_finness: ["347"]')
    assert any(p.startswith(f"{path}:{line - 1} : attribut inconnu « categorie_finness »")
               for p in problems_of(editable))


def test_unknown_need_and_card_without_jeu(editable):
    path = editable / "jeux" / "depistage.yaml"
    edit(path, "besoins: [depistage-bilan-sante,", "besoins: [depistage-inconnu,")
    (editable / "jeux" / "nutrition.yaml").unlink()
    problems = problems_of(editable)
    assert any("besoin « depistage-inconnu » inconnu sur la carte « depistage »" in p
               for p in problems)
    assert any("la carte « nutrition » n'a aucun jeu d'offres" in p for p in problems)


def members(engine, jeu: str) -> set[int]:
    with engine.connect() as connection:
        return set(connection.scalars(text(
            "SELECT offre_id FROM jeu_offre WHERE jeu_slug = :jeu"), {"jeu": jeu}))


def count(engine, sql: str) -> int:
    with engine.connect() as connection:
        return connection.execute(text(sql)).scalar_one()


def test_memberships_follow_the_rules_after_each_run(ingest_engine, tmp_path):
    ingest(ingest_engine, "finess", str(DEMO_FINESS), DATA)
    csapa = count(ingest_engine,
                  "SELECT count(*) FROM offre WHERE attributs->>'categorie_finess' = '197'")
    assert len(members(ingest_engine, "csapa-tabac")) == csapa > 10
    cmp = count(ingest_engine,
                "SELECT count(*) FROM offre WHERE attributs->>'categorie_finess' = '156'")
    adults, children = members(ingest_engine, "cmp-adultes"), members(
        ingest_engine, "cmp-enfants-adolescents")
    assert adults and children and len(adults | children) == cmp  # every CMP, by its name
    with ingest_engine.connect() as connection:
        both = {r[0]: r[1] for r in connection.execute(text(
            "SELECT id, nom_source FROM offre WHERE id = ANY(:ids)"),
            {"ids": list(adults & children)})}
    # only the CMPs that say they serve adults and children are on both sides
    assert all("ADULT" in name for name in both.values()), both

    counts = build(tmp_path / "ror.ndjson")
    ingest(ingest_engine, "ror", str(tmp_path / "ror.ndjson"), DATA)
    ror_children = count(ingest_engine, """
        SELECT count(*) FROM jeu_offre jo JOIN offre o ON o.id = jo.offre_id
        WHERE jo.jeu_slug = 'cmp-enfants-adolescents'
          AND o.attributs->>'type_offre_ror' = '281'
    """)
    assert ror_children == counts["publiees_281"]
    assert len(members(ingest_engine, "consultations-jeunes-consommateurs")) == counts[
        "publiees_86"]


def test_explain_says_which_rule_put_an_offer_in_which_jeu(ingest_engine):
    ingest(ingest_engine, "finess", str(DEMO_FINESS), DATA)
    offer = count(ingest_engine, """
        SELECT min(id) FROM offre WHERE attributs->>'categorie_finess' = '197'
    """)
    with ingest_engine.connect() as connection:
        reasons = jeux.explain(connection, offer)
    assert ("addiction-tabac", "csapa-tabac", "regle", "CSAPA (FINESS)") in reasons
    assert {r[0] for r in reasons} >= {"addiction-drogues", "addiction-alcool",
                                       "addiction-jeux"}


def test_manual_include_and_exclude(ingest_engine):
    ingest(ingest_engine, "finess", str(DEMO_FINESS), DATA)
    pharmacy, csapa = (count(ingest_engine, f"""
        SELECT min(id) FROM offre WHERE attributs->>'categorie_finess' = '{code}'
    """) for code in ("620", "197"))
    definitions = jeux.definitions(DATA)
    csapa_tabac = next(j for j in definitions if j.slug == "csapa-tabac")
    csapa_tabac.inclure, csapa_tabac.exclure = [pharmacy], [csapa]
    with ingest_engine.begin() as connection:
        jeux.recompute(connection, definitions)
        reasons = dict((r[1], r[3]) for r in jeux.explain(connection, pharmacy))
    assert reasons["csapa-tabac"] == "inclusion manuelle"
    assert csapa not in members(ingest_engine, "csapa-tabac")


def test_effective_public_comes_from_the_jeux_with_its_provenance(ingest_engine):
    ingest(ingest_engine, "finess", str(DEMO_FINESS), DATA)
    with ingest_engine.connect() as connection:
        rows = connection.execute(text("""
            SELECT o.nom_source, o.public_age_min, o.public_age_max, o.public_provenance,
                   array(SELECT jeu_slug FROM jeu_offre WHERE offre_id = o.id) AS jeux
            FROM offre o WHERE o.attributs->>'categorie_finess' IN ('156', '189')
        """)).all()
    children = [r for r in rows if r.jeux == ["cmp-enfants-adolescents"]]
    assert children and all((r.public_age_min, r.public_age_max) == (0, 17) for r in children)
    assert {"jeu": "cmp-enfants-adolescents", "age_min": 0, "age_max": 17, "publics": []} in \
        children[0].public_provenance
    adults = [r for r in rows if r.jeux == ["cmp-adultes"]]
    assert adults and all((r.public_age_min, r.public_age_max) == (18, None) for r in adults)
    both = [r for r in rows if set(r.jeux) == {"cmp-adultes", "cmp-enfants-adolescents"}]
    assert all((r.public_age_min, r.public_age_max) == (0, None) for r in both)


def test_dental_centres_are_off_vaccination_depistage_and_tabac(ingest_engine):
    ingest(ingest_engine, "finess", str(DEMO_FINESS), DATA)
    with ingest_engine.connect() as connection:
        dental = connection.execute(text("""
            SELECT o.nom_source, array(SELECT jeu_slug FROM jeu_offre WHERE offre_id = o.id)
            FROM offre o WHERE o.attributs->>'categorie_finess' IN ('124', '603')
              AND unaccent(lower(o.nom_source)) LIKE '%dentaire%'
        """)).all()
    only_dental = [r for r in dental if "MEDIC" not in r[0] and "POLYVALENT" not in r[0]]
    assert only_dental, "des centres dentaires dans le FINESS du Grand Est"
    for name, members_of in only_dental:
        assert not set(members_of) & {"centres-et-maisons-de-sante-vaccination",
                                      "centres-de-sante-depistage",
                                      "tabacologie-centres-de-sante"}, name


def test_public_errors_are_named_with_file_and_line(editable):
    path = editable / "jeux" / "sante-mentale.yaml"
    line = edit(path, "public: {age_min: 0, age_max: 17}", "public: {age_min: 17, age_max: 3}")
    assert any(p.startswith(f"{path}:{line - 3} : public : age_min (17) dépasse age_max (3)")
               for p in problems_of(editable))


HORS_CARTE = Path(__file__).parent / "data" / "finess-hors-carte.ndjson"


def ingested_lines(engine) -> dict:
    """Real FINESS lines (national file) whose category is broader than a card's jeu, ingested:
    by source name, the effective public and the jeux."""
    ingest(engine, "finess", str(HORS_CARTE), DATA)
    with engine.connect() as connection:
        return {r.nom_source: r for r in connection.execute(text("""
            SELECT o.nom_source, o.public_age_min, o.public_age_max,
                   array(SELECT jeu_slug FROM jeu_offre WHERE offre_id = o.id) AS jeux
            FROM offre o
        """))}


def test_what_does_not_belong_on_a_card_is_off_it(ingest_engine):
    memberships = {name: row.jeux for name, row in ingested_lines(ingest_engine).items()}
    examinations = {"centres-examens-de-sante", "centres-examens-sante-nutrition"}
    assert examinations <= set(memberships["CES CPAM 13"])
    for name in ["SCE SANTE TRAVAIL INTER BANQUES LILLE", "MEDECINE DU TRAVAIL DU CREDIT LYONNAIS",
                 "CECOS NANTES", "LAB ANATOMIE DECORSIERE-FAURE",
                 "CENTRE VACCINATION ANTIAMARILE CMETE"]:
        assert not examinations & set(memberships[name]), name
    assert "centres-de-vaccination-internationale" in \
        memberships["CENTRE VACCINATION ANTIAMARILE CMETE"]
    assert "centres-de-vaccination-internationale" in \
        memberships["CENTRE DE VACCINATION INTERNATIONAL"]
    public_centres = {"centres-de-vaccination", "centres-de-vaccination-voyageurs"}
    assert public_centres <= set(memberships["CENTRE DE VACCINATION DE BRIVE"])
    for name in ["CENTRE VACCINATION BCG MAIRIE TOULOUSE", "CENTRE DE B C G DE BOULOGNE",
                 "STATION DE BCG DU DISPENSAIRE"]:
        assert not public_centres & set(memberships[name]), name
    health_centres = {"centres-et-maisons-de-sante-vaccination", "centres-de-sante-depistage",
                      "tabacologie-centres-de-sante"}
    for name in ["CENTRE DE SANTE HANDIDENT GUADELOUPE", "BUS HANDIDENT PACA", "CDS DENTALYA",
                 "CENTRE DE SANTE HYGIDENT", "CDS AIDER CHU LAPEYRONIE",
                 "CENTRE DE SANTE HYGIVISION", "CDS OPHTALYS HOTEL DE VILLE"]:
        assert not set(memberships[name]) & health_centres, name
    assert health_centres <= set(memberships["CDS MEDICO DENTAIRE AVICENNE"])
    # an imaging centre does mammograms: off vaccination and tabac, kept on dépistage
    assert set(memberships["CDS ACCESS RADIOLOGIE"]) & health_centres == {
        "centres-de-sante-depistage"}


def test_youth_listening_points_filed_as_cmp_serve_11_to_25(ingest_engine):
    """FINESS files PAEJ and maisons des adolescents as CMP (156): never an adults' CMP."""
    rows = ingested_lines(ingest_engine)
    for name in ["PAEJ L'ENTRE-TEMPS ELBEUF", "MAISON DE L'ADOLESCENT FECAMP GHH",
                 "POINT ECOUTE JEUNES CLUSES", "CMP MDA (14I02) - EPSM CAEN"]:
        assert "lieux-ecoute-jeunes" in rows[name].jeux, name
        assert "cmp-adultes" not in rows[name].jeux, name
        assert rows[name].public_age_max == 25, name


def test_old_age_psychiatry_cmps_are_for_65_and_over(ingest_engine):
    """« CMP PERSONNES AGEES » was offered to a person of 20 as an adults' CMP."""
    rows = ingested_lines(ingest_engine)
    for name in ["CMP PERSONNES AGEES BOURG-EN-BRESSE", "CMP ADULTES VICHY PSY SUJET AGE"]:
        assert rows[name].jeux == ["cmp-personnes-agees"], name
        assert rows[name].public_age_min == 65, name



def test_a_residential_csapa_is_not_offered_to_a_smoker_but_as_a_stay(ingest_engine, tmp_path):
    """« RESEAU FAMILLES D'ACCUEIL » (a CSAPA of Lille, national file) came first for a
    smoker in Lille: a stay in a therapeutic family is prepared with an ambulatory CSAPA."""
    import gzip
    import json
    with gzip.open(DEMO_FINESS, "rt", encoding="utf-8") as handle:
        lines = handle.readlines()
    csapa = [(org, loc) for org, loc in zip(lines, lines[1:], strict=False)
             if '"Organization"' in org and '"code": "197"' in org and '"Location"' in loc][:2]
    (first, first_loc), (second, second_loc) = csapa
    residential = {**json.loads(first), "name": "RESEAU FAMILLES D'ACCUEIL"}
    path = tmp_path / "csapa.ndjson"
    path.write_text("".join([json.dumps(residential) + "\n", first_loc, second, second_loc]),
                    encoding="utf-8")
    ingest(ingest_engine, "finess", str(path), DATA)
    with ingest_engine.connect() as connection:
        jeux_of = dict(connection.execute(text("""
            SELECT o.nom_source LIKE 'RESEAU FAMILLES%',
                   array(SELECT jeu_slug FROM jeu_offre j WHERE j.offre_id = o.id ORDER BY 1)
            FROM offre o""")).all())
    assert jeux_of[True] == ["csapa-hebergement-alcool", "csapa-hebergement-drogues"]
    assert {"csapa-tabac", "csapa-alcool", "csapa-drogues", "csapa-jeux"} <= set(jeux_of[False])
    assert not {"csapa-hebergement-alcool", "csapa-hebergement-drogues"} & set(jeux_of[False])
