"""Freshness: offers past their card's review period are « à revoir » in their région; an ARS
editor confirms them (audited, région-scoped), and the public reads « vérifiées le … »."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from cartographie import comptes, jeux, verification
from cartographie.contributions import Refus
from cartographie.score import SCORE
from tests.test_pages_ars import national_offer

DATA = Path(__file__).resolve().parent.parent / "data"
STRASBOURG = (7.7521, 48.5734)
METZ = (6.1757, 49.1193)


def age(connection, offer_id: int, days: int) -> None:
    """As if no source had seen the offer, and nobody changed it, for ``days`` days."""
    connection.execute(text(
        "UPDATE offre_source SET derniere_vue = now() - make_interval(days => :d) "
        "WHERE offre_id = :id"), {"id": offer_id, "d": days})
    connection.execute(text("UPDATE offre SET maj_le = now() - make_interval(days => :d) "
                            "WHERE id = :id"), {"id": offer_id, "d": days})


@pytest.fixture
def offers(ingest_engine, settings) -> dict[str, int]:
    with ingest_engine.begin() as connection:
        connection.execute(text("TRUNCATE audit, utilisateur RESTART IDENTITY CASCADE"))
        found = {
            "ancienne": national_offer(connection, settings, "Centre de vaccination ancien",
                                       *STRASBOURG, telephone="03 88 00 00 01"),
            "recente": national_offer(connection, settings, "Centre de vaccination récent",
                                      *METZ, telephone="03 87 00 00 02"),
        }
        jeux.refresh(connection, settings.resolved_data_dir)  # onto the vaccination card
        age(connection, found["ancienne"], 500)
        age(connection, found["recente"], 20)
    return found


def test_offers_past_their_period_are_to_review_and_a_confirmation_clears_them(
        ingest_engine, settings, offers):
    with ingest_engine.begin() as connection:
        editor = comptes.authenticate(connection, comptes.add_user(
            connection, "revision-est", "ars_editeur", "44"))
        total, rows = verification.to_review(connection, "44")
        assert total == 1 and [r["id"] for r in rows] == [offers["ancienne"]]
        assert rows[0]["verifie_par"] == "source_non_datee"
        assert rows[0]["revision_jours"] == 180  # its jeu's (data/jeux/vaccination-adulte.yaml)
        before = connection.execute(text(f"SELECT {SCORE} FROM offre o WHERE id = :id"),
                                    {"id": offers["ancienne"]}).scalar_one()
        verification.confirm(connection, editor, [offers["ancienne"]], "127.0.0.1")
    with ingest_engine.begin() as connection:
        assert verification.to_review(connection, "44") == (0, [])
        entry = connection.execute(text(
            "SELECT action, objet_id, code_region, apres FROM audit "
            "WHERE action = 'confirmation'")).one()
        assert entry[:3] == ("confirmation", str(offers["ancienne"]), "44")
        assert entry[3] == {"verifie_par": "revision-est"}
        after = connection.execute(text(f"SELECT {SCORE} FROM offre o WHERE id = :id"),
                                   {"id": offers["ancienne"]}).scalar_one()
        assert after > before  # freshness is back
    with TestClient(create_app(settings, engine=ingest_engine)) as client:
        offer = client.get(f"/api/v1/offres/{offers['ancienne']}").json()
    assert offer["verifie_par"] == "ars"
    assert dt.datetime.fromisoformat(offer["verifie_le"]).date() == dt.date.today()
    assert "revision-est" not in str(offer)  # the account's name is not public


def test_a_shorter_card_period_and_another_region_s_editor(ingest_engine, offers):
    with ingest_engine.begin() as connection:
        connection.execute(text("UPDATE carte SET revision_jours = 14 "
                                "WHERE slug = 'vaccination-adulte'"))
        connection.execute(text("UPDATE jeu SET revision_jours = NULL"))  # the card's then
        try:
            total, rows = verification.to_review(connection, "44")
            assert total == 2 and rows[0]["id"] == offers["ancienne"]  # oldest first
            assert {r["revision_jours"] for r in rows} == {14}
            elsewhere = comptes.authenticate(connection, comptes.add_user(
                connection, "revision-idf", "ars_editeur", "11"))
            with pytest.raises(Refus) as refused:
                verification.confirm(connection, elsewhere, [offers["recente"]])
            assert refused.value.status == 403 and "hors de votre région" in str(refused.value)
            with pytest.raises(Refus, match="au moins une offre"):
                verification.confirm(connection, elsewhere, [])
        finally:
            connection.execute(text("UPDATE carte SET revision_jours = 365"))
            jeux.save_definitions(connection, jeux.definitions(DATA))


def test_a_jeu_s_own_period_beats_its_cards_and_the_shortest_jeu_wins(ingest_engine, offers):
    """A jeu declaring ``revision_jours`` sets its offers' period (the shortest of their
    jeux), before the cards' (the shortest), before a year."""
    with ingest_engine.begin() as connection:
        period = connection.execute(text(
            f"SELECT {verification.REVIEW_DAYS} FROM offre o WHERE id = :id"),
            {"id": offers["recente"]})
        assert period.scalar_one() == 180
        try:
            connection.execute(text("UPDATE jeu SET revision_jours = 15 "
                                    "WHERE slug = 'centres-de-vaccination'"))
            connection.execute(text("UPDATE carte SET revision_jours = 400"))
            total, rows = verification.to_review(connection, "44")
            assert total == 2 and {r["revision_jours"] for r in rows} == {15}  # 20 days > 15
            connection.execute(text("UPDATE jeu SET revision_jours = NULL"))
            assert verification.to_review(connection, "44")[0] == 1  # 400 days: only the old
            connection.execute(text("DELETE FROM jeu_offre WHERE offre_id = :id"),
                               {"id": offers["ancienne"]})
            assert connection.execute(text(
                f"SELECT {verification.REVIEW_DAYS} FROM offre o WHERE id = :id"),
                {"id": offers["ancienne"]}).scalar_one() == 365  # on no card
        finally:
            connection.execute(text("UPDATE carte SET revision_jours = 365"))
            jeux.refresh(connection, DATA)


def test_a_jeu_s_period_is_checked_when_its_file_is_read(tmp_path):
    from cartographie.yamlsource import SourceError

    folder = tmp_path / "jeux"
    folder.mkdir()
    for source in (DATA / "jeux").glob("*.yaml"):
        (folder / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    path = folder / "vaccination-adulte.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "revision_jours: 180", "revision_jours: jamais"), encoding="utf-8")
    with pytest.raises(SourceError) as refused:
        jeux.read_jeux(folder)
    assert "« revision_jours » attend un nombre de jours entier de 1 à 3650" in str(
        refused.value)
