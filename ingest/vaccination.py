"""The national list of vaccination sites (« Lieux de vaccination », sante.fr / ARS), CSV.

Each row was entered by an ARS: a site with its address, position, weekly opening hours,
booking link and phone. Closed sites are valid but not published.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator

from cartographie.territoires import in_france
from ingest.finess import display_phone
from ingest.horaires import DAYS, weekly
from ingest.records import OutOfScope, Record, Rejection, WrongFormat, noms

SOURCE = "vaccination"
REQUIRED = ("gid", "nom", "lat_coor1", "long_coor1", "com_cp", "com_insee")
DAY_COLUMNS = ("rdv_lundi", "rdv_mardi", "rdv_mercredi", "rdv_jeudi", "rdv_vendredi",
               "rdv_samedi", "rdv_dimanche")
TRUE = {"t", "true", "oui", "1", "vrai"}
FALSE = {"f", "false", "non", "0", "faux"}

Item = Record | Rejection | OutOfScope


def _flag(value: str | None) -> bool | None:
    value = (value or "").strip().lower()
    return True if value in TRUE else False if value in FALSE else None


def _phone(value: str | None) -> str | None:
    digits = re.sub(r"\D", "", value or "")
    if digits.startswith("33") and len(digits) == 11:
        digits = "0" + digits[2:]
    return display_phone(digits) if digits else None


def _coordinate(value: str | None) -> float | None:
    try:
        return float((value or "").replace(",", "."))
    except ValueError:
        return None


def to_record(row: dict[str, str], ligne: int) -> Item:
    key = (row.get("gid") or "").strip()
    if not key:
        return Rejection(ligne, None, "identifiant « gid » absent")
    name = " ".join((row.get("nom") or "").split())
    if not name:
        return Rejection(ligne, key, "nom du lieu absent")
    lon, lat = _coordinate(row.get("long_coor1")), _coordinate(row.get("lat_coor1"))
    if lon is None or lat is None:
        return Rejection(ligne, key, "coordonnées absentes ou illisibles "
                                     f"(« {row.get('long_coor1')} », « {row.get('lat_coor1')} »)")
    if not in_france(lon, lat):
        return Rejection(ligne, key, "coordonnées hors de France et de ses territoires "
                                     f"d'outre-mer (longitude {lon:.5f}, latitude {lat:.5f})")
    if _flag(row.get("centre_fermeture")):
        return OutOfScope(ligne)
    phone = _phone(row.get("rdv_tel"))
    booking = (row.get("rdv_site_web") or "").strip()
    booking = booking if booking.startswith(("https://", "http://")) else None
    modalities = []
    if _flag(row.get("rdv")):
        modalities.append("sur_rdv")
    if _flag(row.get("reserve_professionels_sante")):
        modalities.append("reserve_professionnels_sante")
    accessible = _flag(row.get("lieu_accessibilite"))
    champs = {
        **noms(name, f"{row.get('adr_num') or ''} {row.get('adr_voie') or ''}"),
        "description": (row.get("rdv_modalites") or "").strip() or None,
        "code_postal": (row.get("com_cp") or "").strip() or None,
        "ville": (row.get("com_nom") or "").strip() or None,
        "code_commune": (row.get("com_insee") or "").strip() or None,
        "telephone": phone,
        "contacts": [{"type": "telephone", "valeur": phone}] if phone else [],
        "reservation_url": booking,
        "horaires": weekly([row.get(column) for column in DAY_COLUMNS]),
        "accessibilite": {} if accessible is None else {"fauteuil_roulant": accessible},
        "gratuit": True,
        "modalites": modalities,
        "types_offre": ["vaccination"],
        "precision_geo": "adresse" if (row.get("id_adr") or "").strip() else "etablissement",
        "attributs": {
            "siren_declarant": (row.get("structure_siren") or "").strip() or None,
            "declarant": (row.get("structure_rais") or "").strip() or None,
            "horaires_texte": {day: row.get(column) for day, column in
                               zip(DAYS, DAY_COLUMNS, strict=True) if row.get(column)},
            "date_maj": (row.get("_edit_datemaj") or "")[:10] or None,
        },
    }
    return Record(key, ligne, dict(row), champs, lon, lat)


def parse(lines: Iterable[str]) -> Iterator[Item]:
    reader = csv.reader(lines, delimiter=";", quotechar='"')
    header = next(reader, None)
    if header is None:
        raise WrongFormat("fichier vide : aucune ligne à lire")
    header = [column.strip().lstrip("\ufeff") for column in header]
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise WrongFormat(
            "ce fichier n'est pas la liste nationale des lieux de vaccination : colonnes "
            f"absentes de l'en-tête : {', '.join(missing)}"
        )
    for row in reader:
        ligne = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield Rejection(ligne, row[0] if row else None,
                            f"nombre de champs incorrect ({len(row)} au lieu de {len(header)})",
                            ";".join(row))
            continue
        item = to_record(dict(zip(header, row, strict=True)), ligne)
        if isinstance(item, Rejection):
            item.contenu = ";".join(row)
        yield item
