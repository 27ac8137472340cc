"""Build ``data/geocodage/adresses-75-extrait.csv.gz``: the Base Adresse Nationale rows of
central Paris (1st to 4th arrondissements) from ``../shared/data/geocoding/adresses-75.csv.gz``,
copied unchanged, so that the local geocoder reaches address precision on a fresh checkout.

Usage: python scripts/build_ban_extrait.py [SHARED_DATA_DIR]
"""

import gzip
import sys
from pathlib import Path

ARRONDISSEMENTS = ("75101", "75102", "75103", "75104")


def main() -> None:
    shared = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
    source = shared / "geocoding" / "adresses-75.csv.gz"
    target = Path(__file__).resolve().parent.parent / "data" / "geocodage"
    target.mkdir(exist_ok=True)
    kept = 0
    with gzip.open(source, "rt", encoding="utf-8", newline="") as rows, gzip.open(
        target / "adresses-75-extrait.csv.gz", "wt", encoding="utf-8", newline=""
    ) as out:
        out.write(next(rows))
        for line in rows:
            if line.split(";", 7)[6] in ARRONDISSEMENTS:
                out.write(line)
                kept += 1
    print(f"{kept} adresses écrites dans {target}")


if __name__ == "__main__":
    main()
