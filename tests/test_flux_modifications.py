"""Change feed and keyset paging: a mirror kept by ``curseur`` and ``modified_after`` equals
the source, even when offers are added, edited, published and retired during its walk."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app

PAGE = 25


@pytest.fixture
def feed(settings, ingest_engine) -> Iterator[tuple[TestClient, object]]:
    with ingest_engine.begin() as connection:
        connection.execute(text("""
            INSERT INTO offre (nom, statut, geom, code_commune, code_departement, code_region)
            SELECT 'Offre ' || n, CASE WHEN n % 10 = 0 THEN 'brouillon' ELSE 'publiee' END,
                   ST_SetSRID(ST_MakePoint(7.0 + n / 1000.0, 48.5), 4326), '67482', '67', '44'
            FROM generate_series(1, 300) n
        """))
    with TestClient(create_app(settings, engine=ingest_engine)) as client:
        yield client, ingest_engine


def published(engine) -> dict[int, str]:
    with engine.connect() as connection:
        return dict(connection.execute(text(
            "SELECT id, nom FROM offre WHERE statut = 'publiee'")).all())


def write(engine, sql: str, **params) -> None:
    with engine.begin() as connection:
        connection.execute(text(sql), params)


def retire(engine, offer_id: int) -> None:
    write(engine, "UPDATE offre SET statut = 'retiree', retiree_le = now(), maj_le = now() "
                  "WHERE id = :id", id=offer_id)


def walk(client: TestClient, params: dict, between=lambda page, cursor: None):
    """Every page by cursor; ``between`` writes after each page. Returns the offers in the
    order received and the first page's ``prochain_modified_after``."""
    cursor, received, since, number = "0", [], None, 0
    while cursor is not None:
        body = client.get("/api/v1/offres", params={**params, "limit": PAGE,
                                                    "curseur": cursor}).json()
        since = since or body["prochain_modified_after"]
        received += body["offres"]
        cursor = body["curseur_suivant"]
        number += 1
        between(number, int(cursor) if cursor else None)
    return received, since


def test_a_walk_during_writes_neither_skips_nor_repeats(feed):
    client, engine = feed
    before = published(engine)
    ids = sorted(before)
    touched = set()

    def writes(number: int, cursor: int | None) -> None:
        if cursor is None or number > 5:
            return
        behind = next(i for i in ids if i < cursor and i not in touched)
        ahead = next(i for i in reversed(ids) if i > cursor and i not in touched)
        touched.update((behind, ahead))
        retire(engine, behind)   # with offset paging, every later offer would shift back
        write(engine, "UPDATE offre SET nom = nom || ' (modifiée)', maj_le = now() "
                      "WHERE id = :id", id=ahead)
        write(engine, "INSERT INTO offre (nom, statut, geom) VALUES ('Nouvelle', 'publiee', "
                      "ST_SetSRID(ST_MakePoint(7.3, 48.6), 4326))")

    received, _ = walk(client, {}, writes)
    got = [o["id"] for o in received]
    assert len(got) == len(set(got)), "une offre répétée"
    untouched = set(before) - touched
    assert untouched <= set(got), f"offres sautées : {sorted(untouched - set(got))[:5]}"
    assert got == sorted(got)


def test_a_mirror_kept_by_modified_after_equals_the_source(feed):
    client, engine = feed
    ids = sorted(published(engine))
    # A writer whose transaction starts before the walk and commits after it: its change is
    # stamped with its start, before the walk; the feed must still bring it next time.
    slow = engine.connect()
    slow_transaction = slow.begin()
    slow.execute(text("UPDATE offre SET nom = 'Modifiée lentement', maj_le = now() "
                      "WHERE id = :id"), {"id": ids[0]})

    def writes(number: int, cursor: int | None) -> None:
        if number == 2:
            retire(engine, ids[1])
            write(engine, "UPDATE offre SET nom = 'Renommée', maj_le = now() WHERE id = :id",
                  id=ids[-1])
            write(engine, "UPDATE offre SET statut = 'publiee', maj_le = now() "
                          "WHERE id = (SELECT min(id) FROM offre WHERE statut = 'brouillon')")

    received, since = walk(client, {}, writes)
    mirror = {o["id"]: o["nom"] for o in received}
    slow_transaction.commit()
    slow.close()
    retire(engine, ids[2])
    write(engine, "INSERT INTO offre (nom, statut, geom) VALUES ('Ajoutée après', 'publiee', "
                  "ST_SetSRID(ST_MakePoint(7.3, 48.6), 4326))")

    changes, _ = walk(client, {"modified_after": since})
    assert {o["statut"] for o in changes} == {"publiee", "retiree"}
    gone = [o for o in changes if o["statut"] == "retiree"]
    assert all(set(o) == {"id", "statut", "maj_le", "retiree_le"} for o in gone)  # no content
    for offer in changes:
        if offer["statut"] == "retiree":
            mirror.pop(offer["id"], None)
        else:
            mirror[offer["id"]] = offer["nom"]
    assert mirror == published(engine)
    assert mirror[ids[0]] == "Modifiée lentement" and ids[1] not in mirror


def test_the_feed_never_shows_drafts_and_refuses_a_cursor_by_distance(feed):
    client, engine = feed
    changes, _ = walk(client, {"modified_after": "2000-01-01T00:00:00Z"})
    assert len(changes) == len(published(engine))  # the drafts stay unseen
    problem = client.get("/api/v1/offres", params={"curseur": 0, "lat": 48.5, "lon": 7.5})
    assert problem.status_code == 422
    assert "ordre par distance" in problem.json()["detail"]
    bad = client.get("/api/v1/offres", params={"modified_after": "hier"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(
        "application/problem+json")


def test_ogc_items_page_by_cursor_through_next_links(feed):
    client, engine = feed
    url, seen = "/ogc/collections/offres/items?limit=40", []
    while url:
        body = client.get(url).json()
        seen += [f["id"] for f in body["features"]]
        following = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        assert following is None or "curseur=" in following
        url = following and following.split("://", 1)[1].split("/", 1)[1]
        url = url and "/" + url
        if len(seen) == 40:
            retire(engine, seen[0])  # an offset walk would now skip one offer
    assert len(seen) == len(set(seen)) == len(published(engine)) + 1
