"""Our published offers as Open Referral HSDS 3.0 objects, for the tools of the social and
health sector that read HSDS (the ``/hsds`` API and the tabular package write the same objects).

Mapping (see docs/reutilisation.md, « HSDS 3.0 »): a structure (FINESS ET / EJ, SIRET) is an
``organization``; an offer is a ``service``, its place a ``location`` and the pair a
``service_at_location``; sujets, cartes, types d'offre and besoins are taxonomy terms linked to
services by ``attributes``. Nothing is invented: a value we do not hold is left out, and hours
that do not fit HSDS's weekly rules are given as a French ``description``.

Identifiers: HSDS wants UUIDs. Taxonomy terms and the parts of an item (phones, schedules,
addresses…) get uuid5 of our keys. Services, locations, service_at_locations and organizations
are asked for by id (``/hsds/services/{id}``): theirs are RFC 9562 version 8 UUIDs that carry
our integer id, so that an id is read back without a table (uuid5 cannot be reversed, and a
lookup table of every offer would cost memory in each worker).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from cartographie.horaires import RULE, TIME_RANGE, describe_hours
from cartographie.recherche import Filtres, besoins_of, page, where

HSDS_VERSION = "3.0"
ID_PREFIX = 0x63617274  # « cart »: every id of ours starts with 63617274-
ENTITIES = {"service": 1, "location": 2, "service_at_location": 3, "organization": 4}
ID_BITS = 62
NAMESPACE = uuid.UUID("1f0c6a52-7a43-5b51-9a8e-3c2d63617274")  # of our uuid5 ids
TAXONOMIES = {
    "theme": ("Sujets clés", "Les 7 sujets clés du bilan prévention (vaccination, addictions…)."),
    "carte": ("Cartes thématiques", "Les 12 cartes thématiques, chacune sous son sujet clé."),
    "type_offre": ("Types d'offre", "Les types d'offre (consultation, dépistage gratuit, ligne "
                                    "d'écoute…)."),
    "besoin": ("Besoins", "Ce que la personne souhaite (« arrêter de fumer », « me faire "
                          "dépister »…), chacun sous sa carte."),
}
PROFIL = {
    "nom": "Cartographie des ressources de prévention — profil HSDS 3.0",
    "correspondances": {
        "organization": "une structure (établissement FINESS, SIRET) qui porte au moins une "
                        "offre publiée ; organization_identifiers : FINESS ET, FINESS EJ, SIRET",
        "service": "une offre publiée ; public effectif → minimum_age, maximum_age, "
                   "eligibility_description ; gratuité → fees_description, cost_options ; "
                   "horaires OSM → schedules (ou leur description) ; contacts → phones, "
                   "email, url ; zone d'une offre à distance → service_areas",
        "location": "le lieu d'une offre sur place : adresse, latitude, longitude, numéro "
                    "FINESS ET (external_identifier), accessibilité",
        "service_at_location": "une offre sur place en son lieu, avec son service",
        "taxonomy_term": "sujets clés, cartes, types d'offre et besoins, reliés aux services "
                         "par attributes",
    },
    "identifiants": "UUID stables : version 8 portant notre identifiant pour les services, "
                    "lieux et structures ; uuid5 de nos clés pour les termes et les parties",
    "documentation": "docs/reutilisation.md, section « HSDS 3.0 »",
}
MODALITES = {"sans_rdv": "Sans rendez-vous", "sur_rdv": "Sur rendez-vous", "anonyme": "Anonyme",
             "teleconsultation": "Téléconsultation", "gratuit": "Gratuit",
             "reserve_professionnels_sante": "Réservé aux professionnels de santé"}
BYDAY = {"Mo": "MO", "Tu": "TU", "We": "WE", "Th": "TH", "Fr": "FR", "Sa": "SA", "Su": "SU"}
WEEK = list(BYDAY)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# An absolute http(s) address in the characters RFC 3986 allows (« uri » in the schemas).
WEB = re.compile(r"^https?://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\d+)?"
                 r"([/?#][A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*)?$")


# -- identifiers ----------------------------------------------------------------------------


def entity_id(entity: str, number: int) -> str:
    """The UUID of our ``number`` as an HSDS ``entity`` (service, location…)."""
    value = ((ID_PREFIX << 96) | (ENTITIES[entity] << 80) | (0x8000 << 64) | (0b10 << ID_BITS)
             | number)
    return str(uuid.UUID(int=value))


def entity_number(entity: str, value: str) -> int | None:
    """Our id from an HSDS id of ``entity``, None when it is not one of ours."""
    try:
        number = uuid.UUID(value).int
    except ValueError:
        return None
    header = (ID_PREFIX << 96) | (ENTITIES[entity] << 80) | (0x8000 << 64) | (0b10 << ID_BITS)
    if number >> ID_BITS != header >> ID_BITS:
        return None
    return number & ((1 << ID_BITS) - 1)


def part_id(*key: object) -> str:
    """A stable uuid5 for a part of an item or a taxonomy term."""
    return str(uuid.uuid5(NAMESPACE, "/".join(str(k) for k in key)))


def taxonomy_id(kind: str) -> str:
    return part_id("taxonomie", kind)


def term_id(kind: str, slug: str) -> str:
    return part_id(kind, slug)


# -- what a page of items needs besides the offers' own columns ------------------------------


@dataclass
class Contexte:
    """Taxonomy terms, place names and each offer's besoins, read once per page of items."""

    terms: dict[tuple[str, str], dict[str, Any]]
    places: dict[str, str]
    besoins: dict[int, list[str]] = field(default_factory=dict)


def taxonomies() -> list[dict[str, Any]]:
    return [{"id": taxonomy_id(kind), "name": name, "description": description, "version": "1"}
            for kind, (name, description) in TAXONOMIES.items()]


def taxonomy_terms(connection: Connection) -> dict[tuple[str, str], dict[str, Any]]:
    """Every term, by (kind, slug): themes, cards under their theme, kinds of offer, besoins
    under their card."""
    rows = connection.execute(text("""
        SELECT 'theme' AS kind, slug, nom AS name, description, NULL AS parent_kind,
               NULL AS parent FROM theme
        UNION ALL SELECT 'carte', slug, nom, resume, 'theme', theme_slug FROM carte
        UNION ALL SELECT 'type_offre', slug, libelle, description, NULL, NULL FROM type_offre
        UNION ALL SELECT 'besoin', slug, libelle, description, 'carte', carte_slug FROM besoin
        ORDER BY 1, 2""")).mappings()
    terms = {}
    for row in rows:
        term = {"id": term_id(row["kind"], row["slug"]), "code": row["slug"], "name": row["name"],
                "description": row["description"] or "", "taxonomy": TAXONOMIES[row["kind"]][0],
                "taxonomy_id": taxonomy_id(row["kind"]), "language": "fr"}
        if row["parent"]:
            term["parent_id"] = term_id(row["parent_kind"], row["parent"])
        terms[(row["kind"], row["slug"])] = term
    return terms


def context(connection: Connection, offer_ids: Iterable[int] = ()) -> Contexte:
    places = dict(connection.execute(text(
        "SELECT code, nom FROM departement UNION ALL SELECT 'r' || code, nom FROM region")).all())
    return Contexte(taxonomy_terms(connection), places, besoins_of(connection, list(offer_ids)))


def batches(connection: Connection, filters: Filtres,
            size: int) -> Iterator[list[dict[str, Any]]]:
    """Every offer matching ``filters``, ``size`` at a time: by id after the last one (a write
    during the walk shifts nothing), or nearest first by offset when a point is given."""
    filters = dataclasses.replace(filters)
    offset = 0
    while True:
        rows = page(connection, filters, size, offset)
        if rows:
            yield rows
        if len(rows) < size:
            return
        if filters.near:
            offset += size
        else:
            filters.apres_id = rows[-1]["id"]


# -- offers ---------------------------------------------------------------------------------


def _dated(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _drop_empty(item: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if value not in (None, "", [])}


def age_text(minimum: int | None, maximum: int | None) -> str | None:
    if minimum is not None and maximum is not None:
        return f"De {minimum} à {maximum} ans"
    if minimum is not None:
        return f"À partir de {minimum} ans"
    if maximum is not None:
        return f"Jusqu'à {maximum} ans"
    return None


def eligibility(row: dict[str, Any]) -> str | None:
    parts = [age_text(row.get("public_age_min"), row.get("public_age_max")),
             *(row.get("public_publics") or [])]
    return " ; ".join(p for p in parts if p) or None


def application_process(row: dict[str, Any]) -> str | None:
    parts = [MODALITES.get(code, code) for code in row.get("modalites") or []
             if code != "gratuit"]
    if row.get("reservation_url"):
        parts.append(f"Prise de rendez-vous : {row['reservation_url']}")
    return ". ".join(parts) or None


def fees(row: dict[str, Any], service_id: str) -> tuple[str | None, list[dict[str, Any]]]:
    """``fees_description`` and ``cost_options``: only what the sources say (free or not)."""
    if row.get("gratuit") is True:
        return "Gratuit", [{"id": part_id("cout", service_id), "service_id": service_id,
                            "option": "Gratuit", "amount": 0, "currency": "EUR"}]
    if row.get("gratuit") is False:
        return "Payant (tout ou partie)", []
    return None, []


def phones(row: dict[str, Any], service_id: str) -> list[dict[str, Any]]:
    return [{"id": part_id("telephone", service_id, index), "service_id": service_id,
             "number": contact["valeur"], "type": "voice"}
            for index, contact in enumerate(row.get("contacts") or [])
            if contact.get("type") == "telephone" and contact.get("valeur")]


def first_contact(row: dict[str, Any], kind: str, pattern: re.Pattern[str]) -> str | None:
    return next((c["valeur"] for c in row.get("contacts") or []
                 if c.get("type") == kind and pattern.match(c.get("valeur") or "")), None)


def weekly_hours(opening_hours: str | None) -> dict[str, list[tuple[str, str]]] | None:
    """Per day, the opening ranges of OSM hours, or None when they are not plain weekly rules
    (holidays, months, weeks, comments, ranges past midnight…). Later rules replace earlier
    ones for their days, as OSM reads them."""
    if not opening_hours:
        return None
    days: dict[str, list[tuple[str, str]]] = {}
    for rule in opening_hours.split(";"):
        match = RULE.match(rule.strip())
        if not match or not match["days"] or "PH" in match["days"]:
            return None
        times = match["times"].strip()
        ranges = []
        if times not in ("off", "closed"):
            for part in times.split(","):
                found = TIME_RANGE.match(part.strip())
                if not found or found.group(3, 4) <= found.group(1, 2) or found[3] > "24":
                    return None
                ranges.append((f"{found[1]}:{found[2]}", f"{found[3]}:{found[4]}"))
        for span in match["days"].split(","):
            first, _, last = span.partition("-")
            start, end = WEEK.index(first), WEEK.index(last or first)
            for index in range(start, end + 1) if start <= end else [*range(start, 7),
                                                                       *range(0, end + 1)]:
                days[WEEK[index]] = ranges
    return days


def schedules(row: dict[str, Any], service_id: str) -> list[dict[str, Any]]:
    """Weekly rules as HSDS schedules (days with the same ranges together), else the hours
    described in French."""
    hours = row.get("horaires")
    if not hours:
        return []
    weekly = weekly_hours(hours)
    if weekly is None:
        return [{"id": part_id("horaire", service_id, 0), "service_id": service_id,
                 "description": describe_hours(hours), "notes": f"opening_hours OSM : {hours}"}]
    found: dict[tuple[str, str], list[str]] = {}
    for day in WEEK:
        for opening in weekly.get(day, []):
            found.setdefault(opening, []).append(BYDAY[day])
    return [{"id": part_id("horaire", service_id, index), "service_id": service_id,
             "freq": "WEEKLY", "wkst": "MO", "byday": ",".join(days), "opens_at": opens,
             "closes_at": closes}
            for index, ((opens, closes), days) in enumerate(sorted(found.items()))]


def attributes(row: dict[str, Any], ctx: Contexte, service_id: str,
               nested: bool) -> list[dict[str, Any]]:
    """The service's taxonomy terms: its cards and their themes, its kinds, its besoins;
    ``nested``: each term's object too (else its id and name: the terms' descriptions made
    four fifths of a listing, and ``/hsds/taxonomy_terms`` gives them once)."""
    keys = [("carte", slug) for slug in row.get("cartes") or []]
    themes = {ctx.terms[key].get("parent_id") for key in keys if key in ctx.terms}
    keys += [key for key, term in ctx.terms.items() if key[0] == "theme" and term["id"] in themes]
    keys += [("type_offre", slug) for slug in row.get("types_offre") or []]
    keys += [("besoin", slug) for slug in ctx.besoins.get(row["id"], [])]
    return [{"id": part_id("attribut", service_id, ctx.terms[key]["id"]),
             "link_id": service_id, "link_entity": "service",
             "taxonomy_term_id": ctx.terms[key]["id"], "value": ctx.terms[key]["name"],
             **({"taxonomy_term": ctx.terms[key]} if nested else {})}
            for key in dict.fromkeys(keys) if key in ctx.terms]


def address(row: dict[str, Any], ctx: Contexte, location_id: str) -> list[dict[str, Any]]:
    if not row.get("adresse"):
        return []
    return [{"id": part_id("adresse", location_id), "location_id": location_id,
             "address_1": row["adresse"], "city": row.get("commune") or "",
             "region": ctx.places.get(row.get("code_departement") or "", ""),
             "state_province": ctx.places.get(f"r{row.get('code_region')}", ""),
             "postal_code": row.get("code_postal") or "", "country": "FR",
             "address_type": "physical"}]


def location(row: dict[str, Any], ctx: Contexte) -> dict[str, Any] | None:
    """The place of an on-site offer (a remote offer has none: its zone is a service area)."""
    if row.get("mode") != "sur_place":
        return None
    location_id = entity_id("location", row["id"])
    access = [f"{key.replace('_', ' ')} : "
              f"{'oui' if value is True else 'non' if value is False else value}"
              for key, value in (row.get("accessibilite") or {}).items()]
    return _drop_empty({
        "id": location_id, "location_type": "physical", "name": row["nom"],
        "organization_id": (entity_id("organization", row["structure_id"])
                            if row.get("structure_id") else None),
        "latitude": row.get("lat"), "longitude": row.get("lon"),
        "external_identifier": row.get("finess_et"),
        "external_identifier_type": "FINESS ET" if row.get("finess_et") else None,
        "addresses": address(row, ctx, location_id),
        "accessibility": [{"id": part_id("accessibilite", location_id), "location_id": location_id,
                           "description": " ; ".join(access)}] if access else [],
    })


def service_areas(row: dict[str, Any], service_id: str) -> list[dict[str, Any]]:
    if row.get("mode") != "a_distance":
        return []
    codes = row.get("zone_codes") or []
    return [{"id": part_id("zone", service_id), "service_id": service_id,
             "name": "Toute la France" if not codes else
             "Codes officiels géographiques : " + ", ".join(codes)}]


def service_at_location(row: dict[str, Any], ctx: Contexte,
                        with_service: bool = False) -> dict[str, Any] | None:
    """An on-site offer at its place; ``with_service``: the service too (without its places),
    so that a reader of ``/service_at_locations`` knows what is offered there."""
    place = location(row, ctx)
    if place is None:
        return None
    item = {"id": entity_id("service_at_location", row["id"]),
            "service_id": entity_id("service", row["id"]), "location_id": place["id"],
            "location": place}
    if with_service:
        item["service"] = service(row, ctx, with_locations=False)
    return item


def service(row: dict[str, Any], ctx: Contexte, with_locations: bool = True,
            organization_item: dict[str, Any] | None = None,
            nested_terms: bool = False) -> dict[str, Any]:
    """One published offer as an HSDS service; ``nested_terms`` for a single item (fully
    nested, as the reference says), not in listings."""
    service_id = entity_id("service", row["id"])
    fees_description, cost_options = fees(row, service_id)
    place = service_at_location(row, ctx) if with_locations else None
    url = row.get("site_web") or first_contact(row, "site", WEB)
    return _drop_empty({
        "id": service_id,
        "organization_id": (entity_id("organization", row["structure_id"])
                            if row.get("structure_id") else None),
        "name": row["nom"],
        "alternate_name": row["nom_source"] if row.get("nom_source") != row["nom"] else None,
        "description": row.get("description"),
        "url": url if url and WEB.match(url) else None,
        "email": first_contact(row, "courriel", EMAIL),
        "status": "active",
        "application_process": application_process(row),
        "fees_description": fees_description,
        "eligibility_description": eligibility(row),
        "minimum_age": row.get("public_age_min"),
        "maximum_age": row.get("public_age_max"),
        "assured_date": row["verifie_le"].date().isoformat() if row.get("verifie_le") else None,
        "last_modified": _dated(row.get("maj_le")),
        "phones": phones(row, service_id),
        "schedules": schedules(row, service_id),
        "service_areas": service_areas(row, service_id),
        "cost_options": cost_options,
        "attributes": attributes(row, ctx, service_id, nested_terms),
        "service_at_locations": [place] if place else [],
        "organization": organization_item,
    })


# -- structures -----------------------------------------------------------------------------


def organization(row: dict[str, Any]) -> dict[str, Any]:
    """A structure: its identifiers are FINESS ET and EJ numbers and its SIRET."""
    organization_id = entity_id("organization", row["id"])
    identifiers = [(scheme, kind, row.get(column)) for scheme, kind, column in (
        ("FINESS", "FINESS ET", "finess_et"), ("FINESS", "FINESS EJ", "finess_ej"),
        ("SIRENE", "SIRET", "siret"))]
    item = _drop_empty({
        "id": organization_id, "name": row["nom"],
        "alternate_name": row["nom_long"] if row.get("nom_long") != row["nom"] else None,
        "organization_identifiers": [
            {"id": part_id("identifiant", organization_id, kind),
             "organization_id": organization_id, "identifier_scheme": scheme,
             "identifier_type": kind, "identifier": value}
            for scheme, kind, value in identifiers if value],
        "phones": [{"id": part_id("telephone", organization_id, 0),
                    "organization_id": organization_id, "number": row["telephone"],
                    "type": "voice"}] if row.get("telephone") else [],
    })
    # Required by HSDS; we hold no text about a structure beyond its FINESS category.
    category = row.get("categorie_finess_libelle")
    item["description"] = f"Catégorie FINESS : {category}" if category else ""
    return item


STRUCTURE_COLUMNS = ("s.id, s.nom, s.nom_long, s.finess_et, s.finess_ej, s.siret, "
                     "s.categorie_finess_libelle, s.telephone, s.maj_le")


def structure(connection: Connection, number: int) -> dict[str, Any] | None:
    """One structure, if it carries a published offer."""
    published, params = where(Filtres(a_distance=True))
    row = connection.execute(text(
        f"SELECT {STRUCTURE_COLUMNS} FROM structure s WHERE s.id = :id AND EXISTS "
        f"(SELECT 1 FROM offre o WHERE o.structure_id = s.id AND {published})"),
        {**params, "id": number}).mappings().one_or_none()
    return dict(row) if row else None


def structures(connection: Connection, filters: Filtres, limit: int,
               offset: int) -> tuple[int, list[dict[str, Any]]]:
    """Structures with at least one published offer matching ``filters`` (a structure with
    none is not public), by id; ``filters.modifie_apres`` applies to the structure."""
    changed_after = filters.modifie_apres
    condition, params = where(dataclasses.replace(filters, modifie_apres=None))
    clause = f"EXISTS (SELECT 1 FROM offre o WHERE o.structure_id = s.id AND {condition})"
    if changed_after is not None:
        clause += " AND s.maj_le > :structure_apres"
        params["structure_apres"] = changed_after
    total = connection.execute(text(f"SELECT count(*) FROM structure s WHERE {clause}"),
                               params).scalar_one()
    rows = connection.execute(text(
        f"SELECT {STRUCTURE_COLUMNS} FROM structure s WHERE {clause} "
        f"ORDER BY s.id LIMIT :limit OFFSET :offset"),
        {**params, "limit": limit, "offset": offset}).mappings()
    return total, [dict(row) for row in rows]
