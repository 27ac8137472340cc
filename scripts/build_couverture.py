"""Build the territorial context of the coverage analysis shipped in ``data/couverture/``.

Why a build step: the sources (F-EDI 2021, INSEE aires d'attraction des villes, INSEE age
estimates in an Excel workbook) use older commune codes, arrondissements and 5-year age
bands; the service needs one row per current (COG 2026) commune and one per département.

- ``communes.csv``: F-EDI score of the current commune (the population-weighted mean of its
  source codes: arrondissements of Paris, Lyon, Marseille and communes merged since 2021),
  its national F-EDI quintile (population-weighted: each fifth holds a fifth of the
  metropolitan population with a score; 5 = most deprived) and its AAV 2020 category.
- ``ages_departements.csv``: per département, the share of the 2023 population in each bilan
  age band, from the 5-year bands assuming ages are spread evenly within a band
  (18–25 = 2/5 of 15–19 + 20–24 + 1/5 of 25–29, and so on).

Usage: python scripts/build_couverture.py [--shared ../shared/data] [--out data/couverture]
(needs ``xlrd`` to read the INSEE workbook: ``.venv/bin/pip install xlrd``)
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
from collections import defaultdict
from pathlib import Path

import xlrd

AGE_YEAR = "2023"
# Bilan age band → ((first year of a 5-year band, share of that band), …), ages inclusive.
BILAN_BANDS = {
    "18_25": ((15, 2 / 5), (20, 1.0), (25, 1 / 5)),
    "45_50": ((45, 1.0), (50, 1 / 5)),
    "60_65": ((60, 1.0), (65, 1 / 5)),
    "70_75": ((70, 1.0), (75, 1 / 5)),
}


def current_codes(reference: Path) -> tuple[dict[str, dict], dict[str, str], dict[str, int]]:
    """COG 2026 communes, every other code → its current commune, and each code's population."""
    with gzip.open(reference / "decoupage-administratif-2026-communes.json.gz") as handle:
        cog = json.load(handle)
    current = {c["code"]: c for c in cog if c["type"] == "commune-actuelle"}
    target: dict[str, str] = {code: code for code in current}
    population: dict[str, int] = {}
    for entry in cog:
        if entry.get("population") is not None:
            population.setdefault(entry["code"], entry["population"])
        if entry["type"] != "commune-actuelle" and entry.get("commune") in current:
            target.setdefault(entry["code"], entry["commune"])
        for old in entry.get("anciensCodes", []) if entry["type"] == "commune-actuelle" else []:
            target.setdefault(old, entry["code"])
    return current, target, population


def fedi_by_commune(indicateurs: Path, target: dict[str, str],
                    population: dict[str, int]) -> tuple[dict[str, float], list[str]]:
    """Population-weighted F-EDI per current commune, and the source codes left unmapped."""
    with gzip.open(indicateurs / "fedi-2021-communes.json.gz") as handle:
        source = json.load(handle)
    weighted: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    unmapped = []
    for code, row in source.items():
        if row.get("EDI") is None:
            continue
        commune = target.get(code)
        if commune is None:
            unmapped.append(code)
            continue
        weight = population.get(code) or 1
        weighted[commune][0] += row["EDI"] * weight
        weighted[commune][1] += weight
    return {code: total / weight for code, (total, weight) in weighted.items()}, unmapped


def quintiles(scores: dict[str, float], population: dict[str, int]) -> dict[str, int]:
    """National quintiles weighted by population: 1 = least deprived fifth, 5 = most."""
    ordered = sorted(scores, key=lambda code: scores[code])
    total = sum(population.get(code) or 0 for code in ordered)
    result, cumulated = {}, 0
    for code in ordered:
        people = population.get(code) or 0
        # The commune's middle person decides its fifth: a big city is not split.
        result[code] = min(5, int((cumulated + people / 2) * 5 // total) + 1)
        cumulated += people
    return result


def aav_categories(indicateurs: Path, target: dict[str, str]) -> dict[str, str]:
    with gzip.open(indicateurs / "aav2020-communes-geo2025.csv.gz", "rt", encoding="utf-8") as f:
        lines = [line for line in f if not line.startswith("#")]
    return {target.get(row["CODGEO"], row["CODGEO"]): row["CATEAAV2020"]
            for row in csv.DictReader(lines, delimiter=";")}


def age_shares(population: Path) -> list[dict[str, object]]:
    sheet = xlrd.open_workbook(population / "estim-pop-dep-sexe-aq-1975-2023.xls").sheet_by_name(
        AGE_YEAR)
    rows = []
    for index in range(sheet.nrows):
        values = sheet.row_values(index)
        code = values[0]
        code = str(int(code)) if isinstance(code, float) else str(code).strip()
        if not (len(code) in (2, 3) and (code[:2].isdigit() or code in ("2A", "2B"))):
            continue
        bands = dict(zip(range(0, 100, 5), values[2:22], strict=True))
        total = values[22]
        row: dict[str, object] = {"code_departement": code, "population": int(total)}
        for name, parts in BILAN_BANDS.items():
            row[f"part_{name}"] = round(sum(bands[start] * share for start, share in parts)
                                        / total, 6)
        rows.append(row)
    return rows


def build(shared: Path, out: Path) -> dict[str, int]:
    current, target, population = current_codes(shared / "reference")
    fedi, unmapped = fedi_by_commune(shared / "indicateurs", target, population)
    fifth = quintiles(fedi, population)
    aav = aav_categories(shared / "indicateurs", target)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "communes.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "fedi", "quintile_fedi", "categorie_aav"])
        for code in sorted(current):
            writer.writerow([code, "" if code not in fedi else round(fedi[code], 4),
                             fifth.get(code, ""), aav.get(code, "")])
    ages = age_shares(shared / "population")
    with (out / "ages_departements.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ages[0]))
        writer.writeheader()
        writer.writerows(ages)
    return {"communes": len(current), "avec_fedi": len(fedi), "fedi_non_rattaches": len(unmapped),
            "avec_aav": sum(code in aav for code in current), "departements": len(ages)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("data/couverture"))
    arguments = parser.parse_args()
    print(build(arguments.shared, arguments.out))


if __name__ == "__main__":
    main()
