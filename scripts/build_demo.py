"""Build the demo data in ``data/demo/`` from ../shared/data: the real Grand Est subset.

Why Grand Est (région 44): one ARS territory, urban and rural, big enough to show every card,
small enough to ship (about 1 MB) and to ingest in seconds. Nothing is edited: the lines are
copied as they are from the national files.

Usage: python scripts/build_demo.py [--shared ../shared/data] [--out data/demo]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
from pathlib import Path

GRAND_EST = ("08", "10", "51", "52", "54", "55", "57", "67", "68", "88")
FINESS_FILE = "finess-etalab-20210108-fhir.ndjson.gz"
VACCINATION_FILE = "centres-vaccination-covid-2021-03.csv"


def in_grand_est(postcode: str | None) -> bool:
    return bool(postcode) and postcode[:2] in GRAND_EST


def build_finess(source: Path, target: Path) -> int:
    """Keep each Organization of the région with its Location (matched by reference)."""
    kept: set[str] = set()
    count = 0
    with gzip.open(source, "rt", encoding="utf-8") as lines, \
            gzip.open(target, "wt", encoding="utf-8", compresslevel=9) as out:
        for line in lines:
            resource = json.loads(line)
            if resource["resourceType"] == "Organization":
                postcode = (resource.get("address") or [{}])[0].get("postalCode")
                if in_grand_est(postcode):
                    kept.add(resource["id"])
                    out.write(line)
                    count += 1
            elif resource["managingOrganization"]["reference"].split("/")[-1] in kept:
                out.write(line)
    return count


def build_vaccination(source: Path, target: Path) -> int:
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        header = next(reader)
        column = header.index("com_cp")
        rows = [row for row in reader if in_grand_est(row[column])]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    target.write_text(buffer.getvalue(), encoding="utf-8")
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--shared", type=Path, default=root.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=root / "data" / "demo")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    finess = build_finess(args.shared / "finess" / FINESS_FILE,
                          args.out / "finess-grand-est-20210108-fhir.ndjson.gz")
    vaccination = build_vaccination(args.shared / "prevention" / VACCINATION_FILE,
                                    args.out / "centres-vaccination-grand-est-2021-03.csv")
    print(f"FINESS Grand Est : {finess} établissements ; lieux de vaccination : {vaccination}")


if __name__ == "__main__":
    main()
