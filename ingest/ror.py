"""ROR (Répertoire Opérationnel des Ressources) in FHIR R4: one offer per HealthcareService.

Accepted inputs (formats.md §2): a Bundle (searchset or export), NDJSON (one resource per
line), or a base URL whose searchset is read page by page through its ``next`` links.
References are resolved inside what was read: ``providedBy`` (walking ``partOf`` up to the
establishment that carries a FINESS), ``location``. Two passes keep memory to the
organisations and locations: services are streamed in the second.

Publication rules: a sensitive unit (``ror-healthcareservice-sensitive-unit`` = true) is
never published nor stored; only contacts whose confidentiality is « Accès libre » (TRE_R283
code 1) are published; a closed or inactive service is not published.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import orjson

from cartographie.territoires import in_france
from ingest.finess import display_phone, finess_problem
from ingest.horaires import weekly
from ingest.records import OutOfScope, Record, Rejection, WrongFormat, noms

SOURCE = "ror"
IG = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/"
EXT_SENSITIVE = IG + "ror-healthcareservice-sensitive-unit"
EXT_PATIENT = IG + "ror-healthcareservice-patient-type"
EXT_SECTOR = IG + "ror-healthcareservice-psychiatric-sector"
EXT_TERRITORY = IG + "ror-territorial-division"
EXT_CONTACT = IG + "ror-healthcareservice-contact"
EXT_CONFIDENTIALITY = IG + "ror-confidentiality-level"
EXT_TELECOM = IG + "ror-healthcareservice-contact-telecom"
EXT_TELECOM_CHANNEL = IG + "ror-telecom-communication-channel"
EXT_TELECOM_CONFIDENTIALITY = IG + "ror-telecom-confidentiality-level"
EXT_TYPE_OF_TIME = IG + "ror-available-time-type-of-time"
EXT_COMMUNE = IG + "ror-commune-cog"
GEOLOCATION = "http://hl7.org/fhir/StructureDefinition/geolocation"
FINESS_SYSTEMS = ("https://finess.esante.gouv.fr", "http://finess.esante.gouv.fr")
SIRET_SYSTEMS = ("http://sirene.fr", "https://sirene.fr")
FREE_ACCESS = "1"  # TRE_R283 « Accès libre »
OPENING_HOURS = "01"  # TRE_R252 « Horaire d'ouverture »
FHIR_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
AGE_UNITS_IN_YEARS = {"a": 1, "mo": 12, "wk": 52, "d": 365}
MAX_PAGES = 10_000

Item = Record | Rejection | OutOfScope


@dataclass(frozen=True)
class OfferType:
    code: str
    libelle: str
    prevention: bool
    types_offre: tuple[str, ...]
    gratuit: bool | None


@lru_cache
def offer_types(path: Path) -> dict[str, OfferType]:
    """``data/ror/types_offre.csv``: the ROR types d'offre (TRE_R244) this service publishes."""
    with path.open(encoding="utf-8", newline="") as handle:
        return {
            row["code"]: OfferType(row["code"], row["libelle"], row["prevention"] == "oui",
                                   tuple(t for t in row["types_offre"].split("|") if t),
                                   True if row["gratuit"] == "oui" else None)
            for row in csv.DictReader(handle, delimiter=";")
        }


# -- reading resources -------------------------------------------------------------------


def resources_of(path: Path, open_text: Callable[[Path], Iterable[str]]) -> Iterator[
    tuple[int | None, dict[str, Any]]
]:
    """Every resource of a Bundle file or an NDJSON file, with its line when it has one."""
    lines = iter(open_text(path))
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        raise WrongFormat("fichier vide : aucune ligne à lire")
    try:
        head = orjson.loads(first)
    except orjson.JSONDecodeError:
        head = None  # a pretty-printed Bundle: read the whole document below
    if isinstance(head, dict) and head.get("resourceType") not in (None, "Bundle"):
        yield 1, head
        for number, line in enumerate(lines, start=2):
            if not line.strip():
                continue
            try:
                yield number, orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield number, {"__illisible__": str(exc), "__texte__": line[:2000]}
        return
    document = orjson.loads(first + "".join(lines)) if head is None else head
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        raise WrongFormat("ce fichier n'est pas un export ROR FHIR (Bundle ou NDJSON)")
    for entry in document.get("entry") or []:
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
            yield None, entry["resource"]


def download_searchset(url: str, target: Path, client: httpx.Client | None = None) -> int:
    """Follow a searchset's ``next`` links, writing every resource as one NDJSON line."""
    own = client is None
    client = client or httpx.Client(timeout=60, follow_redirects=True,
                                    headers={"Accept": "application/fhir+json"})
    pages = 0
    try:
        with target.open("w", encoding="utf-8") as out:
            next_url: str | None = url
            while next_url and pages < MAX_PAGES:
                response = client.get(next_url)
                response.raise_for_status()
                bundle = response.json()
                if bundle.get("resourceType") != "Bundle":
                    raise WrongFormat(f"la page {pages + 1} de {url} n'est pas un Bundle FHIR")
                for entry in bundle.get("entry") or []:
                    out.write(json.dumps(entry["resource"], ensure_ascii=False) + "\n")
                pages += 1
                next_url = next((link.get("url") for link in bundle.get("link") or []
                                 if link.get("relation") == "next"), None)
    except httpx.HTTPError as exc:
        raise WrongFormat(f"lecture impossible de {url} (page {pages + 1}) : {exc}") from exc
    finally:
        if own:
            client.close()
    return pages


# -- FHIR helpers ------------------------------------------------------------------------


def _extensions(element: dict[str, Any], url: str) -> list[dict[str, Any]]:
    return [e for e in element.get("extension") or [] if e.get("url") == url]


def _code(concept: dict[str, Any] | None) -> str | None:
    codings = (concept or {}).get("coding") or []
    return codings[0].get("code") if codings else None


def _display(concept: dict[str, Any] | None) -> str:
    codings = (concept or {}).get("coding") or []
    return str(codings[0].get("display") or "") if codings else ""


def _reference_id(reference: dict[str, Any] | None, kind: str) -> str | None:
    value = str((reference or {}).get("reference") or "")
    marker = f"{kind}/"
    return value.rsplit(marker, 1)[1] if marker in value else None


# -- one service -------------------------------------------------------------------------


def _age_range(service: dict[str, Any]) -> tuple[int | None, int | None]:
    for patient in _extensions(service, EXT_PATIENT):
        for part in _extensions(patient, "ageRange"):
            age_range = part.get("valueRange") or {}
            bounds = []
            for side in ("low", "high"):
                quantity = age_range.get(side) or {}
                per_year = AGE_UNITS_IN_YEARS.get(str(quantity.get("code") or "a"))
                value = quantity.get("value")
                bounds.append(int(value // per_year) if per_year and value is not None else None)
            return bounds[0], bounds[1]
    return None, None


def _publics(service: dict[str, Any]) -> list[str]:
    return [code for patient in _extensions(service, EXT_PATIENT)
            for part in _extensions(patient, "supportedPatientInfo")
            if (code := _code(part.get("valueCodeableConcept")))]


def _territories(service: dict[str, Any]) -> list[dict[str, str]]:
    zones = []
    for division in _extensions(service, EXT_TERRITORY):
        kind = next((_code(e.get("valueCodeableConcept"))
                     for e in _extensions(division, "typeTerritorialDivision")), None)
        code = next((_code(e.get("valueCodeableConcept"))
                     for e in _extensions(division, "codeTerritorialDivision")), None)
        if kind and code:
            zones.append({"type": kind, "code": code})
    return zones


def _contacts(service: dict[str, Any]) -> list[dict[str, str]]:
    """Only free-access contacts, on both the contact and its telecom."""
    contacts = []
    for contact in _extensions(service, EXT_CONTACT):
        level = next((_code(e.get("valueCodeableConcept"))
                      for e in _extensions(contact, EXT_CONFIDENTIALITY)), None)
        if level != FREE_ACCESS:
            continue
        for telecom in _extensions(contact, EXT_TELECOM):
            telecom_level = next((_code(e.get("valueCodeableConcept")) for e in
                                  _extensions(telecom, EXT_TELECOM_CONFIDENTIALITY)), FREE_ACCESS)
            channel = next((_display(e.get("valueCodeableConcept")).lower() for e in
                            _extensions(telecom, EXT_TELECOM_CHANNEL)), "")
            address = next((str(e.get("valueString") or "") for e in
                            _extensions(telecom, "telecomAddress")), "")
            if telecom_level != FREE_ACCESS or not address or "fax" in channel:
                continue
            if "mail" in channel or "courriel" in channel or "@" in address:
                contacts.append({"type": "courriel", "valeur": address})
            elif "site" in channel or address.startswith("http"):
                contacts.append({"type": "site", "valeur": address})
            else:
                contacts.append({"type": "telephone", "valeur": display_phone(address) or ""})
    return contacts


def _opening_hours(service: dict[str, Any]) -> str | None:
    per_day: dict[str, list[str]] = {day: [] for day in FHIR_DAYS}
    for slot in service.get("availableTime") or []:
        kind = next((_code(e.get("valueCodeableConcept"))
                     for e in _extensions(slot, EXT_TYPE_OF_TIME)), OPENING_HOURS)
        if kind != OPENING_HOURS:
            continue
        if slot.get("allDay"):
            start, end = "00:00", "24:00"
        else:
            start = str(slot.get("availableStartTime") or "")[:5]
            end = str(slot.get("availableEndTime") or "")[:5]
        if not (start and end):
            continue
        for day in slot.get("daysOfWeek") or []:
            if day in per_day:
                per_day[day].append(f"{start}-{end}")
    return weekly(["/".join(sorted(per_day[day])) or None for day in FHIR_DAYS])


def _closed_today(service: dict[str, Any], today: dt.date) -> bool:
    for period in service.get("notAvailable") or []:
        during = period.get("during") or {}
        start, end = during.get("start"), during.get("end")
        if start and str(start)[:10] <= today.isoformat() and (
            not end or today.isoformat() <= str(end)[:10]
        ):
            return True
    return False


class Resolver:
    """Organizations and Locations by id, for resolving a service's references."""

    def __init__(self) -> None:
        self.organizations: dict[str, dict[str, Any]] = {}
        self.locations: dict[str, dict[str, Any]] = {}

    def add(self, resource: dict[str, Any]) -> None:
        kind = resource.get("resourceType")
        if kind == "Organization":
            self.organizations[str(resource.get("id"))] = resource
        elif kind == "Location":
            self.locations[str(resource.get("id"))] = resource

    def establishment(self, organization_id: str | None) -> dict[str, Any] | None:
        """The organisation that carries a FINESS: the one given, or up its ``partOf``."""
        seen: set[str] = set()
        while organization_id and organization_id not in seen:
            seen.add(organization_id)
            organization = self.organizations.get(organization_id)
            if organization is None:
                return None
            if _finess(organization):
                return organization
            organization_id = _reference_id(organization.get("partOf"), "Organization")
        return self.organizations.get(next(iter(seen), ""))


def _finess(organization: dict[str, Any]) -> str | None:
    for identifier in organization.get("identifier") or []:
        if identifier.get("system") in FINESS_SYSTEMS:
            return str(identifier.get("value") or "").strip() or None
    return None


def _siret(organization: dict[str, Any]) -> str | None:
    for identifier in organization.get("identifier") or []:
        if identifier.get("system") in SIRET_SYSTEMS:
            return str(identifier.get("value") or "").strip() or None
    return None


def _position(location: dict[str, Any]) -> tuple[float | None, float | None]:
    position = location.get("position") or {}
    lon, lat = position.get("longitude"), position.get("latitude")
    if lon is None or lat is None:
        address = location.get("address") or {}
        for geo in _extensions(address, GEOLOCATION):
            values = {e.get("url"): e.get("valueDecimal") for e in geo.get("extension") or []}
            lon, lat = values.get("longitude"), values.get("latitude")
    return (float(lon), float(lat)) if isinstance(lon, int | float) and isinstance(
        lat, int | float) else (None, None)


def to_record(service: dict[str, Any], ligne: int | None, resolver: Resolver,
              types: dict[str, OfferType], today: dt.date) -> Item:
    service_id = str(service.get("id") or "")
    where = f"HealthcareService/{service_id}"
    identifiers = [i for i in service.get("identifier") or [] if i.get("value")]
    if not identifiers:
        return Rejection(ligne, where, "identifiant de l'offre (identifiantOffre) absent")
    key = str(identifiers[0]["value"])
    if any(e.get("valueBoolean") is True for e in _extensions(service, EXT_SENSITIVE)):
        return OutOfScope(ligne)  # unité sensible : jamais publiée, jamais conservée
    if service.get("active") is False or _closed_today(service, today):
        return OutOfScope(ligne)
    category = _code((service.get("category") or [None])[0])
    offer_type = types.get(category or "")
    if offer_type is None:
        return Rejection(ligne, key, f"type d'offre ROR inconnu « {category} »"
                         if category else "type d'offre ROR (category) absent")
    if not offer_type.prevention:
        return OutOfScope(ligne)
    organization_id = _reference_id(service.get("providedBy"), "Organization")
    establishment = resolver.establishment(organization_id)
    if establishment is None:
        return Rejection(ligne, key, f"structure « Organization/{organization_id} » introuvable "
                                     "dans le fichier")
    finess_et = _finess(establishment)
    if finess_et and (problem := finess_problem(finess_et)):
        return Rejection(ligne, key, problem)
    location_ids = [_reference_id(ref, "Location") for ref in service.get("location") or []]
    location = next((resolver.locations[i] for i in location_ids if i in resolver.locations),
                    None)
    if location_ids and location is None:
        return Rejection(ligne, key, f"lieu « Location/{location_ids[0]} » introuvable dans "
                                     "le fichier")
    lon, lat = _position(location or {})
    if lon is not None and lat is not None and not in_france(lon, lat):
        return Rejection(ligne, key, "coordonnées hors de France et de ses territoires "
                                     f"d'outre-mer (longitude {lon:.5f}, latitude {lat:.5f})")
    address = (location or {}).get("address") or (establishment.get("address") or [{}])
    address = address[0] if isinstance(address, list) else address
    commune = next((_code(e.get("valueCodeableConcept"))
                    for e in _extensions(location or {}, EXT_COMMUNE)), None)
    if lon is None and not commune and not address.get("postalCode"):
        return Rejection(ligne, key, "offre sans lieu : ni position, ni commune, ni code postal")
    age_min, age_max = _age_range(service)
    care_modes = [_code(c) for c in service.get("characteristic") or [] if _code(c)]
    zones = _territories(service)
    contacts = _contacts(service)
    phone = next((c["valeur"] for c in contacts if c["type"] == "telephone"), None)
    champs = {
        **noms(str(service.get("name") or establishment.get("name") or ""),
               " ".join(address.get("line") or [])),
        "description": service.get("comment"),
        "code_postal": address.get("postalCode"),
        "ville": address.get("city"),
        "code_commune": commune,
        "telephone": phone,
        "contacts": contacts,
        "horaires": _opening_hours(service),
        "gratuit": offer_type.gratuit,
        "age_min": age_min,
        "age_max": age_max,
        "modalites": ["teleconsultation"] if "35" in care_modes else [],
        "types_offre": list(offer_type.types_offre),
        "zone_codes": [z["code"] for z in zones],
        "precision_geo": "adresse" if lon is not None else "commune",
        "attributs": {
            "type_offre_ror": category,
            "champ_activite": _code((service.get("type") or [None])[0]),
            "activites": [c for s in service.get("specialty") or [] if (c := _code(s))],
            "modes_prise_en_charge": care_modes,
            "publics": _publics(service),
            "secteurs_psychiatriques": [str(e.get("valueString")) for e in
                                        _extensions(service, EXT_SECTOR)],
            "zone_intervention": zones,
            "region_source": next((t.get("code") for t in (service.get("meta") or {}).get(
                "tag") or []), None),
            "categorie_finess_structure": _code((establishment.get("type") or [None])[0]),
            "siret": _siret(establishment),
            "date_maj": str((service.get("meta") or {}).get("lastUpdated") or "")[:10] or None,
        },
        "structure": {
            "finess_et": finess_et,
            "nom": establishment.get("name"),
            "categorie_finess": _code((establishment.get("type") or [None])[0]),
            "categorie_finess_libelle": _display((establishment.get("type") or [None])[0]),
        } if finess_et else None,
    }
    return Record(key, ligne, {"HealthcareService": service,
                               "Organization": establishment, "Location": location},
                  champs, lon, lat)


def parse(read: Callable[[], Iterable[tuple[int | None, dict[str, Any]]]],
          types: dict[str, OfferType], today: dt.date | None = None) -> Iterator[Item]:
    """``read`` is called twice: to index organisations and locations, then for services."""
    today = today or dt.date.today()
    resolver = Resolver()
    services = 0
    for _, resource in read():
        resolver.add(resource)
        services += resource.get("resourceType") == "HealthcareService"
    if services == 0:
        raise WrongFormat("aucune HealthcareService : ce n'est pas un export d'offres du ROR")
    for ligne, resource in read():
        if "__illisible__" in resource:
            yield Rejection(ligne, None, f"ligne JSON illisible ({resource['__illisible__']})",
                            resource["__texte__"])
        elif resource.get("resourceType") == "HealthcareService":
            yield to_record(resource, ligne, resolver, types, today)
