"""Finding offers: every filter of the public contract, combined, in one parameterised query.

Why one module: the JSON API, the GeoJSON output, OGC API – Features, the vector tiles and
the orientation page all ask the same question with the same filters; they must agree.
No SQL is built from user text: filters add fixed clauses, values are bound parameters.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from cartographie import temporaire
from cartographie.cache import DataVersionCache
from cartographie.score import SCORE, parts_columns
from cartographie.verification import CONFIRMED_AT, CONFIRMED_BY

MAX_LIMIT = 1000
MAX_RADIUS_KM = 200
TOTALS = DataVersionCache(size=10_000)


@dataclass
class Filtres:
    carte: str | None = None
    theme: str | None = None
    besoin: str | None = None
    type_offre: str | None = None
    jeu: list[str] | None = None
    age: int | None = None
    gratuit: bool | None = None
    code_commune: str | None = None
    code_departement: str | None = None
    code_region: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    lon: float | None = None
    lat: float | None = None
    rayon_km: float | None = None
    q: str | None = None
    a_distance: bool = False
    score_min: int | None = None
    ids: list[int] = field(default_factory=list)
    # Change feed and keyset paging: offers changed after this instant, ids after this one.
    modifie_apres: dt.datetime | None = None
    apres_id: int | None = None

    @property
    def near(self) -> bool:
        return self.lon is not None and self.lat is not None


def where(filters: Filtres) -> tuple[str, dict[str, Any]]:
    """The WHERE clause on ``o`` (offre) and its parameters."""
    clauses = ["o.statut = 'publiee'"]
    params: dict[str, Any] = {}
    place_clauses = []
    if filters.carte:
        clauses.append("EXISTS (SELECT 1 FROM jeu_offre jo JOIN jeu j ON j.slug = jo.jeu_slug "
                       "WHERE jo.offre_id = o.id AND j.carte_slug = :carte)")
        params["carte"] = filters.carte
    if filters.theme:
        clauses.append("EXISTS (SELECT 1 FROM jeu_offre jo JOIN jeu j ON j.slug = jo.jeu_slug "
                       "JOIN carte c ON c.slug = j.carte_slug "
                       "WHERE jo.offre_id = o.id AND c.theme_slug = :theme)")
        params["theme"] = filters.theme
    if filters.besoin:
        # A need leads to the jeux linked to it, else to its kinds of offer on its own card.
        clauses.append("""(
            EXISTS (SELECT 1 FROM jeu_offre jo JOIN besoin_jeu bj ON bj.jeu_slug = jo.jeu_slug
                    WHERE jo.offre_id = o.id AND bj.besoin_slug = :besoin)
            OR EXISTS (SELECT 1 FROM besoin b
                       JOIN besoin_type_offre bt ON bt.besoin_slug = b.slug
                       JOIN offre_type_offre ot ON ot.type_offre_slug = bt.type_offre_slug
                       JOIN jeu j ON j.carte_slug = b.carte_slug
                       JOIN jeu_offre jo ON jo.jeu_slug = j.slug AND jo.offre_id = o.id
                       WHERE b.slug = :besoin AND ot.offre_id = o.id))""")
        params["besoin"] = filters.besoin
    if filters.type_offre:
        clauses.append("EXISTS (SELECT 1 FROM offre_type_offre ot WHERE ot.offre_id = o.id "
                       "AND ot.type_offre_slug = :type_offre)")
        params["type_offre"] = filters.type_offre
    if filters.jeu:
        clauses.append("EXISTS (SELECT 1 FROM jeu_offre jo WHERE jo.offre_id = o.id "
                       "AND jo.jeu_slug = ANY(:jeu))")
        params["jeu"] = list(filters.jeu)
    if filters.age is not None:
        # The effective public (sources and jeux, see jeux.recompute_public), not the
        # sources' ages alone: FINESS never fills them.
        clauses.append("(o.public_age_min IS NULL OR o.public_age_min <= :age) "
                       "AND (o.public_age_max IS NULL OR o.public_age_max >= :age)")
        params["age"] = filters.age
    if filters.gratuit is not None:
        clauses.append("o.gratuit = :gratuit" if filters.gratuit else
                       "o.gratuit IS DISTINCT FROM true")
        params["gratuit"] = filters.gratuit
    for level in ("code_commune", "code_departement", "code_region"):
        value = getattr(filters, level)
        if value:
            place_clauses.append(f"o.{level} = :{level}")
            params[level] = value
    if filters.bbox:
        place_clauses.append("o.geom && ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, 4326)")
        params.update(dict(zip(("xmin", "ymin", "xmax", "ymax"), filters.bbox, strict=True)))
    if filters.near and filters.rayon_km is not None:
        place_clauses.append("ST_DWithin(o.geom::geography, "
                             "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :rayon_m)")
        params["rayon_m"] = filters.rayon_km * 1000
    if filters.near:
        params.update(lon=filters.lon, lat=filters.lat)
    if filters.q:
        clauses.append("o.recherche @@ websearch_to_tsquery('cartographie_fr', :q)")
        params["q"] = filters.q
    if filters.score_min is not None:
        clauses.append(f"{SCORE} >= :score_min")
        params["score_min"] = filters.score_min
    if filters.ids:
        clauses.append("o.id = ANY(:ids)")
        params["ids"] = filters.ids
    clauses.extend(_feed_clauses(filters, params))
    on_site = " AND ".join(["o.mode = 'sur_place'", *place_clauses])
    if filters.a_distance:
        # Remote offers serve a zone (COG codes; none = the whole country), not a point.
        remote = ["o.mode = 'a_distance'"]
        if filters.code_commune or filters.code_departement or filters.code_region:
            remote.append("(cardinality(o.zone_codes) = 0 OR o.zone_codes && "
                          "CAST(:zone AS text[]))")
            params["zone"] = [v for v in (filters.code_commune, filters.code_departement,
                                          filters.code_region) if v]
        clauses.append(f"(({on_site}) OR ({' AND '.join(remote)}))")
    else:
        clauses.append(on_site)
    return " AND ".join(clauses), params


def besoins_of(connection: Connection, offer_ids: list[int]) -> dict[int, list[str]]:
    """The besoins each offer answers, by the rule of the ``besoin`` filter above: the jeux
    linked to the need, else its kinds of offer on its own card."""
    if not offer_ids:
        return {}
    rows = connection.execute(text("""
        SELECT jo.offre_id, bj.besoin_slug FROM jeu_offre jo
        JOIN besoin_jeu bj ON bj.jeu_slug = jo.jeu_slug WHERE jo.offre_id = ANY(:ids)
        UNION
        SELECT ot.offre_id, b.slug FROM offre_type_offre ot
        JOIN besoin_type_offre bt ON bt.type_offre_slug = ot.type_offre_slug
        JOIN besoin b ON b.slug = bt.besoin_slug
        JOIN jeu j ON j.carte_slug = b.carte_slug
        JOIN jeu_offre jo ON jo.jeu_slug = j.slug AND jo.offre_id = ot.offre_id
        WHERE ot.offre_id = ANY(:ids)
        ORDER BY 1, 2"""), {"ids": offer_ids})
    found: dict[int, list[str]] = {}
    for offer_id, slug in rows:
        found.setdefault(offer_id, []).append(slug)
    return found


def _feed_clauses(filters: Filtres, params: dict[str, Any]) -> list[str]:
    """``modifie_apres`` and the keyset cursor ``apres_id``, for published and retired alike."""
    clauses = []
    if filters.modifie_apres is not None:
        clauses.append("o.maj_le > :modifie_apres")
        params["modifie_apres"] = filters.modifie_apres
    if filters.apres_id is not None:
        clauses.append("o.id > :apres_id")
        params["apres_id"] = filters.apres_id
    return clauses


OFFER_COLUMNS = f"""
    {SCORE}::int AS score_qualite, {CONFIRMED_AT} AS verifie_le, {CONFIRMED_BY} AS verifie_par,
    o.id, o.statut, o.nom, o.description, o.adresse, o.code_postal, o.code_commune,
    k.nom AS commune, o.code_departement, o.code_region, o.mode, o.gratuit, o.age_min,
    o.age_max, o.horaires, {temporaire.PERIODS_COLUMN} AS temporaires,
    o.structure_id, o.zone_codes,
    o.nom_source, o.public_age_min, o.public_age_max, o.public_publics,
    o.contacts, o.reservation_url, o.site_web, o.accessibilite, o.modalites, o.precision_geo,
    o.maj_le, ST_X(o.geom) AS lon, ST_Y(o.geom) AS lat,
    ARRAY(SELECT ot.type_offre_slug FROM offre_type_offre ot WHERE ot.offre_id = o.id
          ORDER BY 1) AS types_offre,
    ARRAY(SELECT jo.jeu_slug FROM jeu_offre jo WHERE jo.offre_id = o.id ORDER BY 1) AS jeux,
    ARRAY(SELECT DISTINCT j.carte_slug FROM jeu_offre jo JOIN jeu j ON j.slug = jo.jeu_slug
          WHERE jo.offre_id = o.id ORDER BY 1) AS cartes,
    (SELECT s.finess_et FROM structure s WHERE s.id = o.structure_id) AS finess_et,
    coalesce((SELECT jsonb_agg(jsonb_build_object('source', os.source, 'cle', os.cle)
                               ORDER BY os.source, os.cle)
              FROM offre_source os WHERE os.offre_id = o.id AND os.actif), '[]') AS identifiants
"""


def count(connection: Connection, filters: Filtres) -> int:
    """The exact number of offers matching: cached per data version unless a radius is set.

    Without a radius the point only orders the offers, so every request of a card (whatever
    the person's place) shares one count; the count is what costs at national scale.
    """
    filters = dataclasses.replace(filters, apres_id=None)  # the whole walk's total
    condition, params = where(filters)

    def compute(c: Connection) -> int:
        return c.execute(text(f"SELECT count(*) FROM offre o WHERE {condition}"),
                         params).scalar_one()

    if filters.rayon_km is not None:
        return compute(connection)
    point_free = dataclasses.replace(filters, lon=None, lat=None)
    layer = grid_layer(point_free)
    if layer is not None:
        # The most asked totals, a whole card or every offer: the sum of the zoom-0 cells of
        # the grid the writes keep exact (migration 0008).
        return connection.execute(text(
            "SELECT coalesce(sum(nombre), 0)::bigint FROM cellule_offre WHERE couche = :couche "
            "AND z = 0"
        ), {"couche": layer}).scalar_one()
    return TOTALS.get(connection, repr(point_free), compute)


def grid_layer(filters: Filtres) -> str | None:
    """The layer of ``cellule_offre`` holding exactly these offers: '' for every published
    on-site offer, a card's slug for its offers; None when other filters apply."""
    if filters == Filtres():
        return ""
    if filters.carte and filters == Filtres(carte=filters.carte):
        return filters.carte
    return None


def _nearest_source(filters: Filtres) -> tuple[str, str, Filtres, dict[str, Any]]:
    """Where the nearest-neighbour scan runs: FROM clause, position, remaining filters.

    One card, or one jeu, is scanned on its own membership index (migration 0008), so a rare
    card never walks the offers of the others; any other search scans every offer.
    """
    remaining = dataclasses.replace(filters, rayon_km=None)
    if filters.a_distance:  # remote offers have no position on a membership
        return "offre o", "o.geom::geography", remaining, {}
    if filters.carte:
        return ("carte_offre m JOIN offre o ON o.id = m.offre_id AND m.carte_slug = :membre "
                "AND m.geog IS NOT NULL", "m.geog",
                dataclasses.replace(remaining, carte=None), {"membre": filters.carte})
    if filters.jeu and len(filters.jeu) == 1:
        return ("jeu_offre m JOIN offre o ON o.id = m.offre_id AND m.jeu_slug = :membre "
                "AND m.geog IS NOT NULL", "m.geog",
                dataclasses.replace(remaining, jeu=None), {"membre": filters.jeu[0]})
    return "offre o", "o.geom::geography", remaining, {}


def _nearest_sql(source: str, position: str, condition: str, within: str,
                 limit: str = ":limit") -> str:
    """The ``limit`` nearest offers of ``source`` to (:lon, :lat): KNN candidates, then the
    spheroid distance orders them and ``within`` checks the radius on those candidates only.

    The candidates carry only their id and distance: the offer's columns (with their type,
    jeu and card arrays) are read for the ``limit`` kept, not for the twice as many scanned.
    """
    return f"""
            SELECT {OFFER_COLUMNS}, kept.distance_m FROM (
                SELECT * FROM (
                    SELECT o.id, ST_Distance({position}, pt.g) AS distance_m
                    FROM {source}
                    CROSS JOIN (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography
                                AS g) pt
                    WHERE {condition}
                    ORDER BY {position} <-> pt.g NULLS LAST
                    LIMIT ({limit} + :offset) * 2 + 10
                ) nearest {within}
                ORDER BY distance_m NULLS LAST, id LIMIT {limit} OFFSET :offset
            ) kept
            JOIN offre o ON o.id = kept.id
            LEFT JOIN commune k ON k.code = o.code_commune
            ORDER BY kept.distance_m NULLS LAST, o.id
        """


def nearest_per_jeu(connection: Connection, filters: Filtres,
                    limits: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    """For each jeu J of ``limits``, what ``page(Filtres(jeu=[J], …), limit=limits[J])``
    gives, in one statement: each jeu on its own membership index (migration 0008), one
    round trip instead of one per jeu (the orientation asks for a card's jeux together)."""
    condition, params = where(dataclasses.replace(filters, jeu=None, rayon_km=None))
    params.update(jeux=list(limits), limites=list(limits.values()), offset=0)
    within = ""
    if filters.rayon_km is not None:
        within = "WHERE distance_m <= :rayon_m"
        params["rayon_m"] = filters.rayon_km * 1000
    nearest = _nearest_sql(
        "jeu_offre m JOIN offre o ON o.id = m.offre_id AND m.jeu_slug = voulu.slug "
        "AND m.geog IS NOT NULL", "m.geog", condition, within, limit="voulu.limite")
    rows = connection.execute(text(f"""
        SELECT voulu.slug AS jeu_slug, n.*
        FROM unnest(CAST(:jeux AS text[]), CAST(:limites AS int[])) AS voulu(slug, limite)
        CROSS JOIN LATERAL ({nearest}) n
    """), params).mappings()
    found: dict[str, list[dict[str, Any]]] = {slug: [] for slug in limits}
    for row in rows:
        offer = dict(row)
        found[offer.pop("jeu_slug")].append(offer)
    return found


def page(connection: Connection, filters: Filtres, limit: int = 20,
         offset: int = 0) -> list[dict[str, Any]]:
    """One page of offers, nearest first when a point is given, else by id.

    With a point, this is the primitive « the k nearest published offers of card C (or of
    jeu J) to P within R km, with the usual filters »: ``Filtres(carte=C)`` or
    ``Filtres(jeu=[J])`` with ``lon``, ``lat``, ``rayon_km`` and ``limit=k``.
    """
    if filters.near:
        # KNN on a geography index finds the nearest candidates, the spheroid distance
        # orders them, and the radius is checked on those candidates only: as a WHERE clause
        # it would make PostgreSQL fetch and sort every offer in the disc (tens of thousands
        # in a city) before keeping five.
        source, position, remaining, source_params = _nearest_source(filters)
        condition, params = where(remaining)
        params.update(source_params, limit=limit, offset=offset)
        within = ""
        if filters.rayon_km is not None:  # remote offers have no distance and stay
            within = "WHERE distance_m IS NULL OR distance_m <= :rayon_m"
            params["rayon_m"] = filters.rayon_km * 1000
        sql = _nearest_sql(source, position, condition, within)
    else:
        condition, params = where(filters)
        params.update(limit=limit, offset=offset)
        sql = f"""
            SELECT {OFFER_COLUMNS}, NULL::float8 AS distance_m
            FROM offre o LEFT JOIN commune k ON k.code = o.code_commune
            WHERE {condition} ORDER BY o.id LIMIT :limit OFFSET :offset
        """
    return [dict(row) for row in connection.execute(text(sql), params).mappings()]


def id_at(connection: Connection, filters: Filtres, offset: int) -> int | None:
    """The id of the matching offer at ``offset`` in id order. Why: a deep page by offset
    then reads ids only, where ``LIMIT … OFFSET`` computes every column of every row it
    skips (a page of 1 000 at offset 30 000 took seconds at national scale)."""
    condition, params = where(filters)
    return connection.execute(text(
        f"SELECT o.id FROM offre o WHERE {condition} ORDER BY o.id OFFSET :offset LIMIT 1"),
        {**params, "offset": offset}).scalar_one_or_none()


def search(connection: Connection, filters: Filtres, limit: int = 20,
           offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """The total matching and one page of offers.

    With ``modifie_apres`` (a change feed, in id order: never with a point), the offers
    retired since then come too, among the others by id, so that a mirror deletes them.
    """
    total = count(connection, filters)
    if filters.modifie_apres is None:
        return total, page(connection, filters, limit, offset)
    # Published and retired interleave by id: the first offset + limit of each suffice.
    published = page(connection, filters, limit + offset, 0)
    retired = retired_since(connection, filters, limit + offset)
    total += count_retired(connection, filters)
    return total, sorted(published + retired, key=lambda row: row["id"])[offset:offset + limit]


def _retired_where(filters: Filtres, params: dict[str, Any]) -> str:
    """Offers retired after ``filters.modifie_apres``, after the cursor, in the territory."""
    clauses = ["o.statut = 'retiree'", *_feed_clauses(filters, params)]
    for level in ("code_commune", "code_departement", "code_region"):
        if getattr(filters, level):
            clauses.append(f"o.{level} = :{level}")
            params[level] = getattr(filters, level)
    return " AND ".join(clauses)


def retired_since(connection: Connection, filters: Filtres, limit: int) -> list[dict[str, Any]]:
    """Retired offers of the change feed: only their id, status and dates, nothing else of
    an unpublished offer (a mirror needs no more to delete them)."""
    params: dict[str, Any] = {"limit": limit}
    condition = _retired_where(filters, params)
    rows = connection.execute(text(f"""
        SELECT o.id, o.statut, o.maj_le, o.retiree_le FROM offre o WHERE {condition}
        ORDER BY o.id LIMIT :limit"""), params).mappings()
    return [dict(row) for row in rows]


def count_retired(connection: Connection, filters: Filtres) -> int:
    params: dict[str, Any] = {}
    condition = _retired_where(dataclasses.replace(filters, apres_id=None), params)
    return connection.execute(text(f"SELECT count(*) FROM offre o WHERE {condition}"),
                              params).scalar_one()


def walk_statements(filters: Filtres) -> list[tuple[str, dict[str, Any]]]:
    """The statements reading every offer of ``filters`` in id order, unpaged (bulk files
    stream them): the published offers, then, with ``modifie_apres``, the retired ones
    reduced as in ``retired_since`` (the change feed's semantics)."""
    condition, params = where(filters)
    statements = [(f"""
        SELECT {OFFER_COLUMNS}, NULL::float8 AS distance_m
        FROM offre o LEFT JOIN commune k ON k.code = o.code_commune
        WHERE {condition} ORDER BY o.id""", params)]
    if filters.modifie_apres is not None:
        retired_params: dict[str, Any] = {}
        retired = _retired_where(filters, retired_params)
        statements.append((f"SELECT o.id, o.statut, o.maj_le, o.retiree_le FROM offre o "
                           f"WHERE {retired} ORDER BY o.id", retired_params))
    return statements


def complete_until(connection: Connection) -> dt.datetime:
    """The instant up to which a change feed read now is complete: the start of the oldest
    transaction still running (its writes are stamped ``maj_le = now()``, its start, and may
    commit after this read), else now. A mirror asks ``modifie_apres`` this instant next."""
    return connection.execute(text("""
        SELECT least(now(), (SELECT min(xact_start) FROM pg_stat_activity
                             WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid()))
               - interval '1 microsecond'  -- « after » is strict: keep a change stamped then
    """)).scalar_one()


def search_open(connection: Connection, filters: Filtres, moment: dt.datetime, limit: int = 20,
                offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """Like ``search``, keeping the offers open at ``moment`` (``ouvert_le``).

    Hours are OSM expressions that only a parser can evaluate: the matching offers' hours
    are read (one light query), evaluated here, and the page is then asked for those ids,
    so paging, totals and the distance order stay those of ``search``.
    """
    condition, params = where(filters)
    rows = connection.execute(text(
        f"SELECT o.id, o.horaires, o.code_departement, {temporaire.PERIODS_COLUMN} AS periodes "
        f"FROM offre o WHERE {condition} AND (o.horaires IS NOT NULL OR EXISTS "
        f"(SELECT 1 FROM information_temporaire t WHERE t.offre_id = o.id))"), params)
    opened = [r.id for r in rows
              if temporaire.state(r.horaires, r.periodes, r.code_departement, moment).ouvert]
    if filters.ids:
        opened = sorted(set(opened) & set(filters.ids))
    if not opened:
        return 0, []
    return len(opened), page(connection, dataclasses.replace(filters, ids=opened), limit, offset)


def offer(connection: Connection, offer_id: int) -> dict[str, Any] | None:
    """One published offer with its structure."""
    row = connection.execute(text(f"""
        SELECT {OFFER_COLUMNS}, NULL::float8 AS distance_m, {parts_columns()},
               s.nom AS structure_nom, s.siret, s.categorie_finess_libelle
        FROM offre o LEFT JOIN commune k ON k.code = o.code_commune
        LEFT JOIN structure s ON s.id = o.structure_id
        WHERE o.id = :id AND o.statut = 'publiee'
    """), {"id": offer_id}).mappings().one_or_none()
    return dict(row) if row else None
