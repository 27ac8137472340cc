"""The open Annuaire Santé extraction « PS_LibreAcces_Personne_activite_<date>.txt » (ANS).

One line per activity: a professional (RPPS) at one place of practice. Only the four
professions that carry out « Mon bilan prévention » are kept (médecins, pharmaciens,
sages-femmes, infirmiers). Columns are found by header name, spelling variants included
(« coord. Structure »), so that a moved or added column (the savoir-faire columns left
for a separate file in newer extractions) changes nothing.

Published apart from the offers (``publish``): a place keeps its row across extractions,
and one absent from a new extraction is marked gone, never deleted, so that the
professional's declarations survive (``cartographie.bilan``).
"""

from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

from sqlalchemy import Connection, text

from cartographie.geocodage import ban_index
from cartographie.models import PROFESSIONS_BILAN
from cartographie.settings import get_settings
from ingest.finess import display_phone
from ingest.publish import RETIREMENT_GUARD_MIN, RETIREMENT_GUARD_RATIO, UnsafeRun
from ingest.records import OutOfScope, Record, Rejection, WrongFormat

SOURCE = "annuaire-sante"
RPPS = re.compile(r"^\d{11}$")
COMMUNE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
# Our field → the header it comes from (compared once normalised, see ``header_key``).
COLUMNS = {
    "type_identifiant": "Type d'identifiant PP",
    "identifiant": "Identifiant PP",
    "civilite": "Libellé civilité d'exercice",
    "nom": "Nom d'exercice",
    "prenom": "Prénom d'exercice",
    "code_profession": "Code profession",
    "siret": "Numéro SIRET site",
    "finess": "Numéro FINESS site",
    "id_structure": "Identifiant technique de la structure",
    "raison_sociale": "Raison sociale site",
    "enseigne": "Enseigne commerciale site",
    "numero": "Numéro Voie (coord. structure)",
    "indice": "Indice répétition voie (coord. structure)",
    "type_voie": "Libellé type de voie (coord. structure)",
    "voie": "Libellé Voie (coord. structure)",
    "code_postal": "Code postal (coord. structure)",
    "code_commune": "Code commune (coord. structure)",
    "ville": "Libellé commune (coord. structure)",
    "telephone": "Téléphone (coord. structure)",
}
REQUIRED = ("type_identifiant", "identifiant", "nom", "code_profession", "code_commune")
Item = Record | Rejection | OutOfScope


def header_key(name: str) -> str:
    """« Code postal (coord. Structure) » and « code postal (coord. structure) » alike."""
    name = unicodedata.normalize("NFD", name.strip().lstrip("\ufeff").casefold())
    name = "".join(c for c in name if unicodedata.category(c) != "Mn")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", name).split())


WANTED = {header_key(header): field for field, header in COLUMNS.items()}


def _clean(value: str | None) -> str | None:
    value = " ".join((value or "").split())
    return value or None


def _place_key(row: dict[str, str | None]) -> str:
    """What identifies the place across extractions: FINESS, SIRET, structure id, else address."""
    for field in ("finess", "siret", "id_structure"):
        if row.get(field):
            return f"{field}:{row[field]}"
    address = "|".join(row.get(f) or "" for f in ("numero", "voie", "code_commune"))
    return "adresse:" + hashlib.sha256(address.encode()).hexdigest()[:16]


def to_record(row: dict[str, str | None], ligne: int) -> Item:
    identifier = row.get("identifiant")
    if not identifier:
        return Rejection(ligne, None, "identifiant du professionnel (« Identifiant PP ») absent")
    if row.get("code_profession") not in PROFESSIONS_BILAN:
        return OutOfScope(ligne)
    if row.get("type_identifiant") != "8":
        return OutOfScope(ligne)  # ADELI: these professions are all in the RPPS now
    if not RPPS.match(identifier):
        return Rejection(ligne, identifier,
                         f"numéro RPPS invalide « {identifier} » : 11 chiffres attendus")
    if not row.get("nom"):
        return Rejection(ligne, identifier, "nom d'exercice absent")
    commune = row.get("code_commune")
    if not commune:
        return OutOfScope(ligne)  # no place of practice (e.g. a locum): nothing to map
    if not COMMUNE.match(commune):
        return Rejection(ligne, identifier, f"code commune invalide « {commune} »")
    street = " ".join(filter(None, (row.get("numero"), row.get("indice"), row.get("type_voie"),
                                    row.get("voie"))))
    champs = {
        "rpps": identifier,
        "code_profession": row["code_profession"],
        "civilite": row.get("civilite"),
        "nom": row["nom"],
        "prenom": row.get("prenom"),
        "lieu_nom": row.get("enseigne") or row.get("raison_sociale"),
        "adresse": street or None,
        "code_postal": row.get("code_postal"),
        "code_commune": commune,
        "ville": row.get("ville"),
        "telephone": display_phone(row.get("telephone")),
    }
    return Record(f"{identifier}|{_place_key(row)}", ligne, {}, champs)


def parse(lines: Iterable[str]) -> Iterator[Item]:
    reader = csv.reader(lines, delimiter="|", quoting=csv.QUOTE_NONE)
    header = next(reader, None)
    if header is None:
        raise WrongFormat("fichier vide : aucune ligne à lire")
    if header and not header[-1].strip():
        header = header[:-1]  # the trailing « | »
    fields = [WANTED.get(header_key(name)) for name in header]
    missing = [COLUMNS[f] for f in REQUIRED if f not in fields]
    if missing:
        raise WrongFormat(
            "ce fichier n'est pas l'extraction « PS_LibreAcces_Personne_activite » de "
            f"l'Annuaire Santé : colonnes absentes de l'en-tête : {', '.join(missing)}")
    for cells in reader:
        ligne = reader.line_num
        if len(cells) == len(header) + 1 and not cells[-1].strip():
            cells = cells[:-1]
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            yield Rejection(ligne, None, f"nombre de champs incorrect ({len(cells)} au lieu de "
                                         f"{len(header)})", "|".join(cells))
            continue
        row = {field: _clean(cell) for field, cell in zip(fields, cells, strict=True) if field}
        item = to_record(row, ligne)
        if isinstance(item, Rejection):
            item.contenu = "|".join(cells)
        yield item


def _locate(connection: Connection, ban_dir: Path) -> None:
    """Place the staged rows that are new or changed: BAN address, else commune centre."""
    staged = connection.execute(text("""
        SELECT s.cle, s.champs FROM staging s
        LEFT JOIN professionnel_activite p ON p.cle = s.cle
        WHERE p.id IS NULL OR p.empreinte <> md5(s.champs::text) OR p.geom IS NULL
    """)).all()
    addresses = ban_index(ban_dir)
    placed = []
    for cle, champs in staged:
        found = (addresses.find(champs["adresse"], champs["code_postal"] or "")
                 if addresses and champs.get("adresse") else None)
        if found and found[2] == champs["code_commune"]:
            placed.append({"cle": cle, "lon": found[0], "lat": found[1], "precision": found[3]})
        else:
            placed.append({"cle": cle, "lon": None, "lat": None, "precision": "commune"})
    connection.execute(text("""
        CREATE TEMP TABLE IF NOT EXISTS staging_position (cle text, lon float8, lat float8,
            precision_geo text);
        TRUNCATE staging_position;
    """))
    if placed:
        connection.execute(text("""
            INSERT INTO staging_position VALUES (:cle, :lon, :lat, :precision)
        """), placed)


def publish(connection: Connection, source: str, run_id: int, data_dir: Path, *,
            accept_retirements: bool = False) -> dict[str, int]:
    """Upsert the staged places, mark the absent ones gone; counts like the offers' runs."""
    present = connection.execute(text(
        "SELECT count(*) FROM professionnel_activite WHERE disparu_le IS NULL")).scalar_one()
    seen = connection.execute(text("""
        SELECT count(*) FROM professionnel_activite p JOIN staging s ON s.cle = p.cle
        WHERE p.disparu_le IS NULL""")).scalar_one()
    gone = present - seen
    if (not accept_retirements and gone >= RETIREMENT_GUARD_MIN
            and gone > RETIREMENT_GUARD_RATIO * present):
        raise UnsafeRun(
            f"{gone} lieux d'exercice sur {present} disparaîtraient : fichier partiel ? "
            "Relancez avec --accepter-retraits si c'est voulu")
    settings = get_settings()
    _locate(connection, settings.resolved_ban_dir)
    changed = connection.execute(text("""
        WITH positions AS (
            SELECT s.cle, s.champs, md5(s.champs::text) AS empreinte, sp.precision_geo,
                   c.code_region,
                   -- placed now (new or changed rows), else NULL: the known position stays
                   CASE WHEN sp.cle IS NOT NULL THEN coalesce(
                       ST_SetSRID(ST_MakePoint(sp.lon, sp.lat), 4326), c.centre) END AS geom
            FROM staging s
            LEFT JOIN staging_position sp ON sp.cle = s.cle
            LEFT JOIN commune_alias a ON a.code = s.champs->>'code_commune'
            LEFT JOIN commune c ON c.code = coalesce(a.code_commune, s.champs->>'code_commune'))
        INSERT INTO professionnel_activite AS p (cle, rpps, code_profession, civilite, nom,
            prenom, lieu_nom, adresse, code_postal, code_commune, ville, telephone,
            code_region, geom, precision_geo, empreinte, dernier_run_id)
        SELECT x.cle, x.champs->>'rpps', x.champs->>'code_profession', x.champs->>'civilite',
               x.champs->>'nom', x.champs->>'prenom', x.champs->>'lieu_nom',
               x.champs->>'adresse', x.champs->>'code_postal', x.champs->>'code_commune',
               x.champs->>'ville', x.champs->>'telephone', x.code_region, x.geom,
               CASE WHEN x.geom IS NULL THEN NULL ELSE x.precision_geo END, x.empreinte, :run
        FROM positions x
        ON CONFLICT (cle) DO UPDATE SET
            civilite = excluded.civilite, nom = excluded.nom, prenom = excluded.prenom,
            lieu_nom = excluded.lieu_nom, adresse = excluded.adresse,
            code_postal = excluded.code_postal, code_commune = excluded.code_commune,
            ville = excluded.ville, telephone = excluded.telephone,
            code_region = excluded.code_region,
            geom = coalesce(excluded.geom, p.geom),
            precision_geo = coalesce(excluded.precision_geo, p.precision_geo),
            empreinte = excluded.empreinte, dernier_run_id = :run, vu_le = now(),
            disparu_le = NULL
        WHERE p.empreinte IS DISTINCT FROM excluded.empreinte OR p.disparu_le IS NOT NULL
        RETURNING (xmax = 0) AS inserted
    """), {"run": run_id}).scalars().all()
    connection.execute(text("""
        UPDATE professionnel_activite p SET dernier_run_id = :run, vu_le = now()
        FROM staging s WHERE s.cle = p.cle AND p.dernier_run_id <> :run
    """), {"run": run_id})
    retired = connection.execute(text("""
        UPDATE professionnel_activite SET disparu_le = now()
        WHERE disparu_le IS NULL AND dernier_run_id <> :run
    """), {"run": run_id}).rowcount
    staged = connection.execute(text("SELECT count(*) FROM staging")).scalar_one()
    inserted = sum(1 for flag in changed if flag)
    return {"inseres": inserted, "mis_a_jour": len(changed) - inserted,
            "inchanges": staged - len(changed), "retires": retired}
