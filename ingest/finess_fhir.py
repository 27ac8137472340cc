"""FINESS as FHIR R4 NDJSON: one ``Organization`` per establishment plus its ``Location``.

Its overseas positions were projected as if they were Lambert-93 by the conversion; they are
repaired (see ``ingest.projections``). The national file has each Location right after its
Organization;
we pair them by reference anyway, keeping only unpaired resources in memory, so an
unordered file still works.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from ingest.finess import Category, Establishment, to_record
from ingest.records import OutOfScope, Record, Rejection, WrongFormat

FINESS_ET_SYSTEM = "urn:oid:1.2.250.1.71.4.2.2"
SIRET_SYSTEMS = ("http://sirene.fr", "https://sirene.fr")
CATEGORY_SYSTEM_SUFFIX = "/CAT_ETAB"
# A file whose first lines hold no Organization nor Location is not a FINESS FHIR export.
PROBE_LINES = 20
# Fast path: two thirds of FINESS (hospitals, nursing homes…) is out of scope. Their category
# is read from the raw line, in the flat coding object that names the CAT_ETAB system, and
# such lines (and their Locations) are skipped without building the whole JSON tree.
CATEGORY_CODING = re.compile(rb'\{[^{}]*"system":\s*"[^"]*/CAT_ETAB"[^{}]*\}')
CODE = re.compile(rb'"code":\s*"([^"]*)"')
ORGANIZATION_ID = re.compile(rb'^\{[^{}]*?"id":\s*"([^"]+)"')
LOCATION_REFERENCE = re.compile(rb'"reference":\s*"Organization/([^"]+)"')
IS_ORGANIZATION = b'"resourceType": "Organization"'
IS_LOCATION = b'"resourceType": "Location"'

Item = Record | Rejection | OutOfScope


def _identifier(resource: dict[str, Any], *systems: str) -> str | None:
    for identifier in resource.get("identifier") or []:
        if identifier.get("system") in systems:
            return identifier.get("value")
    return None


def _category(resource: dict[str, Any]) -> str | None:
    for concept in resource.get("type") or []:
        for coding in concept.get("coding") or []:
            if str(coding.get("system", "")).endswith(CATEGORY_SYSTEM_SUFFIX):
                return coding.get("code")
    return None


def establishment(organization: dict[str, Any], location: dict[str, Any] | None) -> Establishment:
    address = (organization.get("address") or [{}])[0]
    phones = [t.get("value") for t in organization.get("telecom") or []
              if t.get("system") == "phone"]
    position = (location or {}).get("position") or {}
    lon, lat = position.get("longitude"), position.get("latitude")
    organisation_id = str(organization.get("id", ""))
    return Establishment(
        finess_et=_identifier(organization, FINESS_ET_SYSTEM),
        finess_ej=organisation_id.split("-")[0] if "-" in organisation_id else None,
        nom=str(organization.get("name") or ""),
        nom_long=None,
        adresse=" ".join(address.get("line") or []) or None,
        code_postal=address.get("postalCode"),
        ville=address.get("city"),
        code_commune=None,
        telephone=phones[0] if phones else None,
        siret=_identifier(organization, *SIRET_SYSTEMS),
        categorie=_category(organization),
        date_maj=str((organization.get("meta") or {}).get("lastUpdated", ""))[:10] or None,
        lon=float(lon) if isinstance(lon, int | float) else None,
        lat=float(lat) if isinstance(lat, int | float) else None,
    )


def out_of_scope_organization(line: bytes, table: dict[str, Category]) -> str | None:
    """The id of an Organization line whose known category is not prevention, else None
    (also when its name may still bring it in: ``Category.reclassement``)."""
    if IS_ORGANIZATION not in line:
        return None
    coding = CATEGORY_CODING.search(line)
    code = CODE.search(coding.group(0)) if coding else None
    category = table.get(code.group(1).decode("ascii", "replace")) if code else None
    identifier = ORGANIZATION_ID.search(line)
    if category is None or category.prevention or category.reclassement or identifier is None:
        return None
    return identifier.group(1).decode("utf-8", "replace")


def parse(lines: Iterable[bytes], table: dict[str, Category]) -> Iterator[Item]:
    """``lines`` are bytes: each line's UTF-8 is checked on its own, a bad one quarantined."""
    pending_organizations: dict[str, tuple[int, dict]] = {}
    pending_locations: dict[str, tuple[int, dict]] = {}
    skipped: set[str] = set()
    recognised = 0

    def pair(ligne: int, organization: dict, location: dict | None) -> Item:
        if organization.get("active") is False:
            return OutOfScope(ligne)
        brut = {"Organization": organization, "Location": location}
        return to_record(establishment(organization, location), ligne,
                         f"Organization/{organization.get('id')}", brut, table, repair=True)

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if number > PROBE_LINES and recognised == 0:
            raise WrongFormat(
                f"ce fichier n'est pas un export FINESS FHIR NDJSON : aucune ressource "
                f"Organization ou Location dans les {PROBE_LINES} premières lignes"
            )
        if skip := out_of_scope_organization(line, table):
            recognised += 1
            skipped.add(skip)
            yield OutOfScope(number)
            continue
        if IS_LOCATION in line and (
            (reference := LOCATION_REFERENCE.search(line))
            and (organization_id := reference.group(1).decode("utf-8", "replace")) in skipped
        ):
            skipped.discard(organization_id)
            continue
        try:
            resource = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            text = line[:2000].decode("utf-8", "replace")
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as bad:
                yield Rejection(number, None, f"encodage invalide : UTF-8 attendu (octet "
                                              f"0x{line[bad.start]:02x})", text)
                continue
            yield Rejection(number, None, f"ligne JSON illisible ({exc})", text)
            continue
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if kind == "Organization":
            recognised += 1
            key = str(resource.get("id"))
            if key in pending_locations:
                yield pair(number, resource, pending_locations.pop(key)[1])
            else:
                pending_organizations[key] = (number, resource)
        elif kind == "Location":
            recognised += 1
            reference = str((resource.get("managingOrganization") or {}).get("reference", ""))
            key = reference.removeprefix("Organization/")
            if key in pending_organizations:
                ligne, organization = pending_organizations.pop(key)
                yield pair(ligne, organization, resource)
            else:
                pending_locations[key] = (number, resource)
        else:
            yield Rejection(number, f"{kind}/{resource.get('id')}" if kind else None,
                            f"ressource FHIR inattendue ({kind or 'sans resourceType'})",
                            line[:2000].decode("utf-8", "replace"))
    if recognised == 0:
        raise WrongFormat("ce fichier n'est pas un export FINESS FHIR NDJSON : "
                          "aucune ressource Organization ou Location")
    for ligne, organization in pending_organizations.values():
        yield pair(ligne, organization, None)
    for key, (ligne, location) in pending_locations.items():
        if key in skipped:
            continue  # the Location of an out-of-scope establishment, met before it
        yield Rejection(ligne, f"Location/{location.get('id')}",
                        "Location sans Organization correspondante dans le fichier")
