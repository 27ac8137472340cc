"""The day a source's data describes (its extraction date), as honestly as the file tells it.

« Informations vérifiées le … par une source nationale » must show the date of the source's
data, not the day we read the file: an extract of January 2021 read in December 2026 is five
years old. In order of trust:

1. what the file states about itself (the etalab CSV's first line « finess;etalab;n;date »);
2. a date in the file's name (« finess-etalab-20210108-fhir.ndjson.gz »,
   « etalab-cs1100507-stock-20260512-0336.csv »);
3. the most recent update date of its rows (FHIR ``meta.lastUpdated``, FINESS ``maj``, the
   vaccination list's ``_edit_datemaj``): the data is at least that recent.

A date before 2000 or after today is not believed; with none, the run has no date (NULL) and
the pages say « lues le … » instead of « vérifiées le … ».
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

# 20210108 or 2021-01-08 (or 2021_01_08), not inside a longer run of digits.
DAY_IN_NAME = re.compile(
    r"(?<!\d)(20\d{2})([-_]?)(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])(?!\d)")
EARLIEST = dt.date(2000, 1, 1)

FROM_CONTENT = "en-tête du fichier"
FROM_NAME = "nom du fichier"
FROM_ROWS = "mise à jour la plus récente de ses lignes"


@dataclass(frozen=True)
class DataDate:
    """The day a source's data describes, and where it was read (one of the ``FROM_*``)."""

    jour: dt.date
    selon: str


def believable(day: dt.date | None, today: dt.date) -> dt.date | None:
    return day if day is not None and EARLIEST <= day <= today else None


def parse_day(value: str | None) -> dt.date | None:
    """« 2026-05-12 », « 2021-01-08T00:00:00+00:00 », « 2021-02-09 18:24:54 » → the day."""
    try:
        return dt.date.fromisoformat(str(value or "").strip()[:10])
    except ValueError:
        return None


def from_name(location: str) -> dt.date | None:
    """The date written in a file's name (its last one, the folders are not read)."""
    name = PurePosixPath(location.split("?")[0].replace("\\", "/")).name
    found = list(DAY_IN_NAME.finditer(name))
    for match in reversed(found):
        try:
            return dt.date(int(match.group(1)), int(match.group(3)), int(match.group(4)))
        except ValueError:  # 20210231
            continue
    return None


def choose(stated: dt.date | None, location: str, latest_row: dt.date | None,
           today: dt.date | None = None) -> DataDate | None:
    """The most trustworthy believable date of a run (see the module's order), or None."""
    today = today or dt.date.today()
    for day, selon in ((stated, FROM_CONTENT), (from_name(location), FROM_NAME),
                       (latest_row, FROM_ROWS)):
        if believable(day, today):
            return DataDate(day, selon)
    return None
