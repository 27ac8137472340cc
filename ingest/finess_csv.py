"""The legacy FINESS etalab extract ``etalab-cs1100507-stock-*.csv`` (formats.md §1.1).

Headerless ``;`` CSV: a metadata line, then ``structureet`` records (32 positional fields)
and ``geolocalisation`` records (6 fields, projected coordinates). Two passes keep memory
small: the first keeps only each establishment's coordinates, the second streams the
establishments.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator

from ingest.dates import FROM_CONTENT, DataDate, parse_day
from ingest.finess import Category, Establishment, to_record
from ingest.projections import epsg_of, to_wgs84
from ingest.records import OutOfScope, Record, Rejection, WrongFormat

STRUCTURE_FIELDS = (
    "section", "nofinesset", "nofinessej", "rs", "rslongue", "complrs", "compldistrib",
    "numvoie", "typvoie", "voie", "compvoie", "lieuditbp", "commune", "departement",
    "libdepartement", "ligneacheminement", "telephone", "telecopie", "categetab",
    "libcategetab", "categagretab", "libcategagretab", "siret", "codeape", "codemft", "libmft",
    "codesph", "libsph", "dateouv", "dateautor", "maj", "numuai",
)
GEO_FIELDS = ("section", "nofinesset", "coordxet", "coordyet", "sourcecoordet", "datemaj")
# FINESS writes overseas départements with a letter; the INSEE code starts with these digits.
INSEE_PREFIX = {"9A": "97", "9B": "97", "9C": "97", "9D": "97", "9E": "97", "9F": "97",
                "9J": "98"}
MIN_STRUCTURE_FIELDS = 31  # the trailing numuai (and its « ; ») may be absent

Item = Record | Rejection | OutOfScope | DataDate


def insee_commune(departement: str, commune: str) -> str | None:
    """« 01 » + « 451 » → « 01451 »; « 9A » + « 101 » → « 97101 »; « 2A » + « 4 » → « 2A004 »."""
    departement, commune = departement.strip(), commune.strip()
    if not departement or not commune.isdigit():
        return None
    return INSEE_PREFIX.get(departement, departement[:2]) + commune.zfill(3)


def _records(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(lines, delimiter=";", quotechar='"')
    for row in reader:
        if any(cell.strip() for cell in row):
            yield reader.line_num, row


def read_metadata(lines: Iterable[str]) -> str:
    """Check the first line (« finess;etalab;<n>;<date> ») and return the extraction date."""
    for _, row in _records(lines):
        if len(row) >= 4 and row[0] == "finess" and row[1] == "etalab":
            return row[3]
        if row and row[0] in ("structureet", "geolocalisation"):
            return ""  # no metadata line: tolerated, the records speak for themselves
        break
    raise WrongFormat(
        "ce fichier n'est pas un extrait FINESS etalab : la première ligne devrait être "
        "« finess;etalab;<n>;<date> » ou un enregistrement « structureet »"
    )


def read_positions(lines: Iterable[str]) -> dict[str, tuple[int, list[str]]]:
    return {
        row[1]: (ligne, row) for ligne, row in _records(lines)
        if row and row[0] == "geolocalisation" and len(row) >= len(GEO_FIELDS) - 1
    }


def _position(row: list[str], departement: str) -> tuple[float, float] | str | None:
    """WGS84 (lon, lat) of a geolocalisation row, ``None`` if empty, or why it is unusable."""
    x_text, y_text = row[2].strip().replace(",", "."), row[3].strip().replace(",", ".")
    if not x_text and not y_text:
        return None
    try:
        x, y = float(x_text), float(y_text)
    except ValueError:
        return f"coordonnées illisibles (« {row[2]} », « {row[3]} »)"
    epsg = epsg_of(row[4] if len(row) > 4 else None, departement)
    if epsg is None:
        return f"système de coordonnées inconnu (« {row[4] if len(row) > 4 else ''} »)"
    return to_wgs84(x, y, epsg)


def parse(open_lines: Callable[[], Iterable[str]], table: dict[str, Category]) -> Iterator[Item]:
    """``open_lines`` is called twice: once for the positions, once for the establishments."""
    version = read_metadata(open_lines())
    if stated := parse_day(version):
        yield DataDate(stated, FROM_CONTENT)
    positions = read_positions(open_lines())
    seen_structure = False
    for ligne, row in _records(open_lines()):
        section = row[0]
        if section == "geolocalisation":
            if len(row) < len(GEO_FIELDS) - 1:
                yield Rejection(ligne, row[1] if len(row) > 1 else None,
                                f"nombre de champs incorrect ({len(row)} au lieu de "
                                f"{len(GEO_FIELDS)})", ";".join(row))
            continue
        if section == "finess" and ligne == 1:
            continue
        if section != "structureet":
            yield Rejection(ligne, None, f"type d'enregistrement inconnu « {section[:40]} »",
                            ";".join(row))
            continue
        if len(row) < MIN_STRUCTURE_FIELDS:
            yield Rejection(ligne, row[1] if len(row) > 1 else None,
                            f"nombre de champs incorrect ({len(row)} au lieu de "
                            f"{len(STRUCTURE_FIELDS)})", ";".join(row))
            continue
        seen_structure = True
        fields = dict(zip(STRUCTURE_FIELDS, row + [""] * (len(STRUCTURE_FIELDS) - len(row)),
                          strict=False))
        lon = lat = None
        geo = positions.get(fields["nofinesset"])
        if geo is not None:
            position = _position(geo[1], fields["departement"])
            if isinstance(position, str):
                yield Rejection(ligne, fields["nofinesset"], position, ";".join(geo[1]))
                continue
            if position is not None:
                lon, lat = position
        acheminement = fields["ligneacheminement"].strip()
        postcode, _, city = acheminement.partition(" ")
        street = " ".join(fields[k] for k in ("numvoie", "compvoie", "typvoie", "voie")
                          if fields[k].strip())
        address = ", ".join(part for part in (street, fields["lieuditbp"].strip()) if part)
        et = Establishment(
            finess_et=fields["nofinesset"].strip(),
            finess_ej=fields["nofinessej"].strip() or None,
            nom=fields["rs"] or fields["rslongue"],
            nom_long=fields["rslongue"] or None,
            adresse=address or None,
            code_postal=postcode if postcode.isdigit() else None,
            ville=city.strip() or None,
            code_commune=insee_commune(fields["departement"], fields["commune"]),
            telephone=fields["telephone"] or None,
            siret=fields["siret"].strip() or None,
            categorie=fields["categetab"].strip() or None,
            date_maj=fields["maj"].strip() or None,
            lon=lon,
            lat=lat,
        )
        brut = {"structureet": row, "geolocalisation": geo[1] if geo else None,
                "version": version}
        yield to_record(et, ligne, et.finess_et, brut, table)
    if not seen_structure:
        raise WrongFormat("aucun enregistrement « structureet » : ce n'est pas un extrait "
                          "FINESS etalab utilisable")
