"""A SYNTHETIC ROR export built from real FINESS establishments of the Grand Est demo file.

The ROR is not open data (formats.md, "Not found"): to test the parser at a realistic size,
each real CMP, CMPP, CSAPA, CAARUD, centre de santé sexuelle and maison de santé of the
demo file (real FINESS number, name, address, position) gets the HealthcareServices the ROR
would describe for it, in the shape of the official example bundle. Every resource is
marked ``HTEST`` (test health data) and every service name ends with « (SYNTHÉTIQUE) ».
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo" / (
    "finess-grand-est-20210108-fhir.ndjson.gz")
IG = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/"
NOS = "https://mos.esante.gouv.fr/NOS/"
TEST_TAG = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HTEST"}
# FINESS category → the ROR offers of such an establishment: (type d'offre, label, ages).
SERVICES = {
    "156": [("10", "CMP adultes", 18, 150), ("281", "CMP enfants et adolescents", 0, 17)],
    "189": [("62", "CMPP", 0, 20)],
    "197": [("80", "CSAPA", 0, 150), ("86", "Consultation jeunes consommateurs", 12, 25)],
    "178": [("81", "CAARUD", 18, 150)],
    "228": [("89", "Centre de santé sexuelle", 0, 150)],
    "603": [("99", "Maison de santé pluriprofessionnelle", 0, 150)],
}


def coding(table: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": f"{NOS}{table}/FHIR/{table.replace('_', '-')}",
                        "code": code}]}


def service(resource_id: str, offer_id: str, organization: str, location: str, offer: tuple,
            sensitive: bool) -> dict[str, Any]:
    code, label, age_min, age_max = offer
    return {
        "resourceType": "HealthcareService", "id": resource_id,
        "meta": {"security": [TEST_TAG],
                 "tag": [{"system": f"{NOS}TRE_R30-RegionOM", "code": "44"}]},
        "identifier": [{"value": offer_id}],
        "active": True,
        "name": f"{label} (SYNTHÉTIQUE)",
        "providedBy": {"reference": f"Organization/{organization}"},
        "location": [{"reference": f"Location/{location}"}],
        "category": [coding("TRE_R244-CategorieOrganisation", code)],
        "type": [coding("TRE_R227-ChampActivite", "03" if code in ("10", "281", "62") else "04")],
        "characteristic": [coding("TRE_R213-ModePriseEnCharge", "32")],
        "extension": [
            {"url": IG + "ror-healthcareservice-sensitive-unit", "valueBoolean": sensitive},
            {"url": IG + "ror-healthcareservice-patient-type", "extension": [
                {"url": "ageRange", "valueRange": {"low": {"value": age_min, "code": "a"},
                                                   "high": {"value": age_max, "code": "a"}}}]},
        ],
        "availableTime": [{"daysOfWeek": ["mon", "tue", "wed", "thu", "fri"],
                           "availableStartTime": "09:00:00", "availableEndTime": "17:00:00"}],
    }


def build(target: Path, sensitive_every: int = 10) -> dict[str, int]:
    """Write the NDJSON file; return how many services of each kind it holds."""
    with gzip.open(DEMO, "rt", encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    counts = {"services": 0, "sensibles": 0, "etablissements": 0}
    with target.open("w", encoding="utf-8") as out:
        for organization_line, location_line in zip(lines, lines[1:], strict=False):
            if '"Organization"' not in organization_line or '"Location"' not in location_line:
                continue
            organization = json.loads(organization_line)
            category = next(c["code"] for c in organization["type"][0]["coding"]
                            if c["system"].endswith("/CAT_ETAB"))
            if category not in SERVICES:
                continue
            finess = organization["identifier"][0]["value"]
            eg_id, location_id = f"eg-{finess}", f"loc-{finess}"
            address = organization["address"][0]
            position = json.loads(location_line)["position"]
            out.write(json.dumps({
                "resourceType": "Organization", "id": eg_id, "meta": {"security": [TEST_TAG]},
                "identifier": [{"system": "https://finess.esante.gouv.fr", "value": finess}],
                "type": [coding("TRE_R66-CategorieEtablissement", category)],
                "name": organization["name"], "address": [address],
            }, ensure_ascii=False) + "\n")
            out.write(json.dumps({
                "resourceType": "Location", "id": location_id, "meta": {"security": [TEST_TAG]},
                "address": address, "managingOrganization": {"reference": f"Organization/{eg_id}"},
                "position": {"longitude": position["longitude"],
                             "latitude": position["latitude"]},
            }, ensure_ascii=False) + "\n")
            counts["etablissements"] += 1
            for number, offer in enumerate(SERVICES[category]):
                counts["services"] += 1
                sensitive = counts["services"] % sensitive_every == 0
                counts["sensibles"] += sensitive
                if not sensitive:
                    counts[f"publiees_{offer[0]}"] = counts.get(f"publiees_{offer[0]}", 0) + 1
                out.write(json.dumps(service(f"hs-{finess}-{number}", f"44/{finess}{number}",
                                             eg_id, location_id, offer, sensitive),
                                     ensure_ascii=False) + "\n")
    return counts
