"""The new FINESS JSON flux on data.gouv (« FINESS+ », structures file, formats.md §1.2).

One large JSON document: legal entities (``pmej``) each with their establishments (``ege``).
It is streamed entity by entity with ijson. Strings may be right-padded; coordinates are
read from the WGS84 ``directionLongitude``/``directionLatitude`` (the Lambert X/Y of the
flux are swapped); closed or inactive establishments are not published.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import ijson

from ingest.finess import Category, Establishment, to_record
from ingest.records import OutOfScope, Record, Rejection, WrongFormat

Item = Record | Rejection | OutOfScope
ESTABLISHMENT_ADDRESS_USE = "03"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):  # coded values may come as {"code": …}
        value = value.get("code")
    value = str(value).strip()
    return value or None


def _float(value: Any) -> float | None:
    try:
        return float(str(value).strip().replace(",", "."))
    except (TypeError, ValueError):
        return None


def _address(ege: dict[str, Any]) -> dict[str, Any]:
    addresses = [a for a in ege.get("adresse") or [] if isinstance(a, dict)]
    for address in addresses:
        if _text(address.get("usageAdresse")) == ESTABLISHMENT_ADDRESS_USE:
            return address
    return addresses[0] if addresses else {}


def _phone(ege: dict[str, Any]) -> str | None:
    for contact in ege.get("contact") or []:
        telecom = (contact or {}).get("telecom") or {}
        telecoms = telecom if isinstance(telecom, list) else [telecom]
        for entry in telecoms:
            if phone := _text((entry or {}).get("telephone")):
                return phone
    return None


def establishment(pmej: dict[str, Any], ege: dict[str, Any]) -> Establishment:
    general = ege.get("informationsGeneralesEGE") or {}
    address = _address(ege)
    position = address.get("coordonneesGeographique") or {}
    street = " ".join(filter(None, (_text(address.get(k)) for k in
                                    ("numeroVoie", "typeVoie", "libelleVoie", "complementVoie"))))
    lieu_dit = _text(address.get("lieuDit"))
    return Establishment(
        finess_et=_text(general.get("numFinessEge")),
        finess_ej=_text((pmej.get("informationsGeneralesPMEJ") or {}).get("numFinessPm")),
        nom=_text(general.get("nomEgeCourt")) or _text(general.get("nomEgeLong")) or "",
        nom_long=_text(general.get("nomEgeLong")),
        adresse=", ".join(filter(None, (street, lieu_dit))) or None,
        code_postal=_text(address.get("codePostal")),
        ville=(_text(address.get("ligneAcheminement")) or "").partition(" ")[2] or None,
        code_commune=_text(address.get("cogCommune")),
        telephone=_phone(ege),
        siret=_text(general.get("siret")),
        categorie=_text(ege.get("categorieentiteGeographiqueExercice")),
        date_maj=_text(ege.get("dateDerniereMaj")),
        lon=_float(position.get("directionLongitude")),
        lat=_float(position.get("directionLatitude")),
    )


def parse(stream: BinaryIO, table: dict[str, Category]) -> Iterator[Item]:
    entities = 0
    try:
        for pmej in ijson.items(stream, "pmej.item", use_float=True):
            entities += 1
            for ege in pmej.get("ege") or []:
                general = ege.get("informationsGeneralesEGE") or {}
                if _text(ege.get("etatObjet")) not in (None, "A") or _text(
                    general.get("dateFermeture")
                ):
                    yield OutOfScope(None)
                    continue
                et = establishment(pmej, ege)
                yield to_record(et, None, et.finess_et, {"pmej": _text(
                    (pmej.get("informationsGeneralesPMEJ") or {}).get("numFinessPm")),
                    "ege": ege}, table)
    except ijson.JSONError as exc:
        raise WrongFormat(f"flux FINESS JSON illisible : {exc}") from exc
    if entities == 0:
        raise WrongFormat("ce fichier n'est pas un flux FINESS JSON « structures » : "
                          "aucune entité juridique (« pmej ») trouvée")
