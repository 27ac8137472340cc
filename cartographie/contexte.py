"""Load the territorial context of the coverage analysis shipped in ``data/couverture/``.

Deprivation (F-EDI 2021 and its national quintile), urban / rural class (INSEE aires
d'attraction des villes 2020) per commune, and the share of each bilan age band per
département (INSEE 2023). Built from ../shared/data by ``scripts/build_couverture.py``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import Connection, text

from cartographie.territoires import copy_rows

AGE_BANDS = ("18_25", "45_50", "60_65", "70_75")


def _empty_as_none(value: str) -> str | None:
    return value or None


def load_contexte(connection: Connection, folder: Path) -> dict[str, int]:
    """Replace the context tables in the caller's transaction; idempotent."""
    with (folder / "communes.csv").open(encoding="utf-8", newline="") as handle:
        communes = [row for row in csv.DictReader(handle)]
    with (folder / "ages_departements.csv").open(encoding="utf-8", newline="") as handle:
        ages = list(csv.DictReader(handle))
    connection.execute(text("DELETE FROM commune_contexte; DELETE FROM departement_ages"))
    # Only communes of the loaded territories: a test base may hold fewer.
    known = set(connection.execute(text("SELECT code FROM commune")).scalars())
    copy_rows(connection, "commune_contexte",
              ["code_commune", "fedi", "quintile_fedi", "categorie_aav"],
              ((r["code"], _empty_as_none(r["fedi"]), _empty_as_none(r["quintile_fedi"]),
                _empty_as_none(r["categorie_aav"])) for r in communes if r["code"] in known))
    departements = set(connection.execute(text("SELECT code FROM departement")).scalars())
    columns = ["code_departement", "population", *(f"part_{band}" for band in AGE_BANDS)]
    copy_rows(connection, "departement_ages", columns,
              ([row[c] for c in columns] for row in ages
               if row["code_departement"] in departements))
    return {"contexte_communes": len(communes), "ages_departements": len(ages)}
