"""The rules of the write side: who may do what to which offer, moderation, retirement,
restoration, conflicts with national sources, and the région's export.

An ARS account acts only on offers located in its région (``offre.code_region``); an admin
acts everywhere. Editors create, correct, retire and restore; publishing a draft is the
moderators' (and admins') decision. Every change is audited in the same transaction.
Creating and correcting offers goes through the ingestion pipeline (``ingest.contributions``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from cartographie import audit
from cartographie.comptes import Compte

RETIRED_BY_ARS = "retirée par l'ARS"
# Fields a national source and an ARS can disagree on (a conflict is listed for review).
COMPARED_FIELDS = ("nom", "description", "adresse", "code_postal", "horaires",
                   "reservation_url", "site_web", "contacts", "gratuit", "age_min", "age_max")
EXPORT_COLUMNS = ("id", "statut", "origine", "nom", "cartes", "types_offre", "description",
                  "adresse", "code_postal", "ville", "code_commune", "latitude", "longitude",
                  "precision_geo", "telephone", "courriel", "site_web", "reservation_url",
                  "horaires", "gratuit", "age_min", "age_max", "modalites")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Refus(Exception):
    """A refused write: ``status`` is the HTTP status, the message is for people (French)."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class OffreCible:
    id: int
    nom: str
    statut: str
    origine: str
    code_region: str | None
    motif_retrait: str | None


def target(connection: Connection, offre_id: int, *, lock: bool = True) -> OffreCible:
    row = connection.execute(text(f"""
        SELECT id, nom, statut, origine, code_region, motif_retrait FROM offre WHERE id = :id
        {'FOR UPDATE' if lock else ''}
    """), {"id": offre_id}).first()
    if row is None:
        raise Refus(404, f"L'offre {offre_id} n'existe pas.")
    return OffreCible(*row)


def region_of(compte: Compte, requested: str | None = None) -> str:
    """The région an account writes for: its own, or the one an admin names."""
    if compte.is_admin:
        if not requested:
            raise Refus(422, "Un compte national doit préciser la région (paramètre region).")
        return requested
    if requested and requested != compte.code_region:
        raise Refus(403, f"Ce compte contribue pour la région {compte.code_region}, "
                         f"pas pour la région {requested}.")
    assert compte.code_region is not None
    return compte.code_region


def read_scope(compte: Compte, requested: str | None = None) -> str | None:
    """The région an account reads (conflicts, lists): an admin every région (None) or the
    one named; an ARS account only its own."""
    return requested if compte.is_admin else region_of(compte, requested)


def journal_scope(compte: Compte, requested: str | None = None) -> str | None:
    """The région whose audit log an account reads: admins every région (None) or the one
    named; a moderator their own; editors none."""
    if compte.is_admin:
        return requested
    if compte.is_moderator and requested in (None, compte.code_region):
        return compte.code_region
    raise Refus(403, "Le journal est réservé aux administrateurs et aux modérateurs de la "
                     "région.")


def authorise(compte: Compte, offre: OffreCible, action: str) -> None:
    """Raise ``Refus(403)`` unless the account may do ``action`` to this offer."""
    if action == "publier" and not (compte.is_admin or compte.is_moderator):
        raise Refus(403, "Seul un modérateur de la région (ou un administrateur) publie une "
                         "offre.")
    if not compte.is_admin and offre.code_region != compte.code_region:
        raise Refus(403, f"L'offre {offre.id} est hors de votre région ({compte.code_region}) : "
                         f"vous ne pouvez pas la {action}.")


def _set_status(connection: Connection, compte: Compte, offre: OffreCible, action: str,
                statut: str, motif: str | None, adresse_ip: str | None) -> dict[str, Any]:
    connection.execute(text("""
        UPDATE offre SET statut = :statut, motif_retrait = :motif, maj_le = now(),
               retiree_le = CASE WHEN :statut = 'retiree' THEN now() END
        WHERE id = :id
    """), {"statut": statut, "motif": motif, "id": offre.id})
    connection.execute(text("""
        INSERT INTO historique (offre_id, champ, ancienne_valeur, nouvelle_valeur, source,
                                utilisateur_id)
        VALUES (:id, 'statut', to_jsonb(CAST(:avant AS text)), to_jsonb(CAST(:apres AS text)),
                'ars', :user)
    """), {"id": offre.id, "avant": offre.statut, "apres": statut, "user": compte.id})
    audit.record(connection, compte, action, "offre", offre.id, offre.code_region,
                 {"statut": offre.statut, "motif_retrait": offre.motif_retrait},
                 {"statut": statut, "motif_retrait": motif}, adresse_ip)
    return {"id": offre.id, "nom": offre.nom, "statut": statut}


def publish(connection: Connection, compte: Compte, ids: list[int],
            adresse_ip: str | None = None) -> list[dict[str, Any]]:
    """Drafts → published, all or nothing; the caller refreshes the jeux and commits.

    Offers are locked in id order, so that two overlapping calls wait for each other
    instead of deadlocking.
    """
    done = []
    for offre_id in sorted(set(ids)):
        offre = target(connection, offre_id)
        authorise(compte, offre, "publier")
        if offre.statut != "brouillon":
            raise Refus(409, f"L'offre {offre_id} n'est pas un brouillon (statut : "
                             f"{offre.statut}) : rien à publier.")
        done.append(_set_status(connection, compte, offre, "publication", "publiee", None,
                                adresse_ip))
    return done


def retire(connection: Connection, compte: Compte, offre_id: int, motif: str | None,
           adresse_ip: str | None = None) -> dict[str, Any]:
    """Hide an offer (kept, dated, restorable); a national re-ingestion does not undo it."""
    offre = target(connection, offre_id)
    authorise(compte, offre, "retirer")
    if offre.statut == "retiree":
        raise Refus(409, f"L'offre {offre_id} est déjà retirée.")
    reason = f"{RETIRED_BY_ARS} : {motif}" if motif else RETIRED_BY_ARS
    return _set_status(connection, compte, offre, "retrait", "retiree", reason, adresse_ip)


def restore(connection: Connection, compte: Compte, offre_id: int,
            adresse_ip: str | None = None) -> dict[str, Any]:
    """Bring back an offer an ARS retired: a national offer is public again, an ARS offer
    becomes a draft that a moderator publishes again."""
    offre = target(connection, offre_id)
    authorise(compte, offre, "restaurer")
    if offre.statut != "retiree" or not (offre.motif_retrait or "").startswith(RETIRED_BY_ARS):
        raise Refus(409, f"L'offre {offre_id} n'a pas été retirée par une ARS : rien à "
                         "restaurer.")
    statut = "publiee" if offre.origine == "national" else "brouillon"
    return _set_status(connection, compte, offre, "restauration", statut, None, adresse_ip)


def conflicts(connection: Connection, code_region: str | None) -> list[dict[str, Any]]:
    """Fields an ARS gave that an active national source says otherwise, newest first."""
    pairs = ", ".join(f"('{f}', to_jsonb(o.{f}), r.normalise->'{f}')" for f in COMPARED_FIELDS)
    rows = connection.execute(text(f"""
        SELECT o.id AS offre_id, o.nom, o.code_region, f.champ, f.ars AS valeur_ars,
               r.source, f.nationale AS valeur_nationale, r.vu_le AS vu_le
        FROM offre o
        JOIN offre_source os ON os.offre_id = o.id AND os.actif AND os.source <> 'ars'
        JOIN source_record r ON r.id = os.source_record_id
        CROSS JOIN LATERAL (VALUES {pairs}) AS f(champ, ars, nationale)
        WHERE o.provenance->>f.champ = 'ars'
          AND f.nationale IS NOT NULL
          AND f.nationale NOT IN ('null', '""', '[]', '{{}}')
          AND f.ars IS DISTINCT FROM f.nationale
          AND (CAST(:region AS text) IS NULL OR o.code_region = :region)
        ORDER BY r.vu_le DESC, o.id, f.champ
        LIMIT 5000
    """), {"region": code_region}).mappings().all()
    return [dict(row) for row in rows]


_OFFER_VALUES = """
    SELECT o.id, o.statut, o.origine, o.nom,
           array_to_string(ARRAY(SELECT jsonb_array_elements_text(
               coalesce(o.attributs->'cartes', '[]'))), '|') AS cartes,
           array_to_string(ARRAY(SELECT ot.type_offre_slug FROM offre_type_offre ot
                                 WHERE ot.offre_id = o.id ORDER BY 1), '|') AS types_offre,
           o.description, o.adresse, o.code_postal, k.nom AS ville, o.code_commune,
           ST_Y(o.geom) AS latitude, ST_X(o.geom) AS longitude, o.precision_geo,
           (SELECT c->>'valeur' FROM jsonb_array_elements(o.contacts) c
            WHERE c->>'type' = 'telephone' LIMIT 1) AS telephone,
           (SELECT c->>'valeur' FROM jsonb_array_elements(o.contacts) c
            WHERE c->>'type' = 'courriel' LIMIT 1) AS courriel,
           o.site_web, o.reservation_url, o.horaires,
           CASE o.gratuit WHEN true THEN 'oui' WHEN false THEN 'non' END AS gratuit,
           o.age_min, o.age_max, array_to_string(o.modalites, '|') AS modalites
    FROM offre o LEFT JOIN commune k ON k.code = o.code_commune
"""


def offers_of_region(connection: Connection, code_region: str) -> list[dict[str, Any]]:
    """Every offer located in the région, whatever its status, for the ARS's export."""
    rows = connection.execute(text(_OFFER_VALUES + " WHERE o.code_region = :region ORDER BY o.id"),
                              {"region": code_region}).mappings().all()
    return [dict(row) for row in rows]


def offer_values(connection: Connection, offre_id: int) -> dict[str, Any]:
    """One offer in the columns of the import template (the ARS edit form)."""
    return dict(connection.execute(text(_OFFER_VALUES + " WHERE o.id = :id"),
                                   {"id": offre_id}).mappings().one())


@dataclass(frozen=True)
class FiltreOffres:
    """What the ARS list shows: ``perimetre`` « ars » is the offers the ARS created,
    corrected or retired; « toutes » every offer of the région (to find one to correct)."""

    statut: str | None = None
    carte: str | None = None
    texte: str | None = None
    perimetre: str = "ars"


def list_offers(connection: Connection, code_region: str | None, filtre: FiltreOffres,
                limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
    """A page of the région's offers (``None``: every région), newest change first."""
    params = {"region": code_region, "statut": filtre.statut, "carte": filtre.carte,
              "motif": f"{RETIRED_BY_ARS}%", "toutes": filtre.perimetre == "toutes",
              "texte": None if not filtre.texte else "%" + filtre.texte.replace(
                  "\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"}
    condition = """
        (CAST(:region AS text) IS NULL OR o.code_region = :region)
        AND (CAST(:statut AS text) IS NULL OR o.statut = :statut)
        AND (CAST(:texte AS text) IS NULL OR o.nom ILIKE :texte)
        AND (CAST(:carte AS text) IS NULL OR coalesce(o.attributs->'cartes', '[]') ? :carte
             OR EXISTS (SELECT 1 FROM jeu_offre jo JOIN jeu j ON j.slug = jo.jeu_slug
                        WHERE jo.offre_id = o.id AND j.carte_slug = :carte))
        AND (:toutes OR o.origine = 'ars' OR o.motif_retrait LIKE :motif
             OR EXISTS (SELECT 1 FROM offre_source os WHERE os.offre_id = o.id
                        AND os.source = 'ars' AND os.actif))
    """
    total = connection.execute(text(f"SELECT count(*) FROM offre o WHERE {condition}"),
                               params).scalar_one()
    rows = connection.execute(text(f"""
        SELECT o.id, o.nom, o.statut, o.origine, o.code_region, o.precision_geo, o.maj_le,
               o.motif_retrait, k.nom AS ville,
               o.statut = 'retiree' AND o.motif_retrait LIKE :motif AS restaurable,
               EXISTS (SELECT 1 FROM offre_source os WHERE os.offre_id = o.id
                       AND os.source = 'ars' AND os.actif) AS corrigee
        FROM offre o LEFT JOIN commune k ON k.code = o.code_commune
        WHERE {condition}
        ORDER BY o.maj_le DESC NULLS LAST, o.id DESC LIMIT :limit OFFSET :offset
    """), {**params, "limit": limit, "offset": offset}).mappings().all()
    return total, [dict(row) for row in rows]


def spreadsheet_safe(value: Any) -> Any:
    """A text a spreadsheet would run as a formula (« =HYPERLINK(…) ») is written as text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_lines(rows: Iterable[dict[str, Any]],
              columns: tuple[str, ...] | list[str]) -> Iterator[str]:
    """Rows as CSV lines (« ; », a BOM first for spreadsheets), formula-safe, one at a
    time: the ARS export and the national bulk files (``api.telechargements``) alike."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(columns)
    yield "\ufeff" + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([spreadsheet_safe(row.get(column)) for column in columns])
        yield buffer.getvalue()


def export_csv(rows: list[dict[str, Any]],
               columns: tuple[str, ...] | list[str] = EXPORT_COLUMNS) -> str:
    """The région's offers as one CSV text, by default in the import template's columns."""
    return "".join(csv_lines(rows, columns))
