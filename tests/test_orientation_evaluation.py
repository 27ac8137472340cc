"""The orientation's evaluation set on a sample: real Grand Est FINESS data, real communes of
every Grand Est département, the four bilan age bands, every card (criteria in
``cartographie.evaluation``; the national run is ``benchmarks/orientation_eval.py``)."""

from sqlalchemy import text

from cartographie import evaluation

GRAND_EST = ["08", "10", "51", "52", "54", "55", "57", "67", "68", "88"]


def test_orientation_answers_hold_on_a_sample_of_real_queries(demo_client, demo_engine):
    verdicts = []
    with demo_engine.connect() as connection:
        communes = evaluation.sample_communes(connection, 1, 0.12, GRAND_EST)
        assert len(communes) == len(GRAND_EST)
        for query in evaluation.queries(communes):
            response = demo_client.get("/api/v1/orientation", params=query)
            assert response.status_code == 200, response.text
            verdicts.append(evaluation.judge(connection, query, response.json()))
    failures = [(v.query, v.failures) for v in verdicts if v.failures]
    assert not failures, failures[:5]
    assert evaluation.summary(verdicts)["requetes"] == 40


def test_the_judge_catches_what_a_professional_would_refuse(demo_engine):
    """The criteria are not vacuous: a wrong answer is caught on each of them."""
    with demo_engine.connect() as connection:
        dental = connection.execute(text(
            "SELECT id, nom, ST_X(geom), ST_Y(geom) FROM offre WHERE statut = 'publiee' "
            "AND unaccent(lower(nom)) LIKE '%dentaire%' AND geom IS NOT NULL LIMIT 1")).one()
        offer = {"id": dental[0], "nom": dental[1], "lon": dental[2], "lat": dental[3],
                 "distance_m": 5.0, "public_age_min": 0, "public_age_max": 17}
        answer = {"age": 47, "lieu": {"lon": 6.1844, "lat": 48.6921}, "cartes": [{
            "carte": {"slug": "depistage"},
            "jeux": [{"jeu": {"slug": "centres-de-sante-depistage",
                              "public": {"age_min": None, "age_max": None}},
                      "offres": [offer]}],
            "ressources": [{"slug": "fil-sante-jeunes", "public": {"age_min": 12,
                                                                   "age_max": 25}}],
        }]}
        verdict = evaluation.judge(connection, {"cas": "faux"}, answer)
    assert {"public", "exclusion", "distance", "specialise"} <= set(verdict.failures)
