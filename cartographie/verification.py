"""Freshness of an offer: when it was last confirmed, by whom, and which ones are « à revoir ».

An offer is confirmed by a source run that saw it (on the day the run's data describes,
``run.donnees_du``, else the day we read it) or by an ARS editor (« Confirmer »:
``offre.verifie_le``, ``verifie_par``). It is « à revoir » once its last confirmation is
older than its review period: the shortest of its jeux that declare one, else of its cards,
else 365 days.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from cartographie import audit
from cartographie.comptes import Compte
from cartographie.contributions import Refus, authorise, target

# A source run confirms an offer on the day its data describes (``run.donnees_du``, read from
# the file, migration 0014), taken at 00:00 UTC so that every reader shows that same day; a run
# whose data has no date only says when we read it (``offre_source.derniere_vue``).
SOURCE_DATED = """(SELECT max(r.donnees_du::timestamp AT TIME ZONE 'UTC')
                   FROM offre_source os JOIN run r ON r.id = os.dernier_run_id
                   WHERE os.offre_id = o.id AND os.actif)"""
SOURCE_READ_UNDATED = """(SELECT max(os.derniere_vue) FROM offre_source os
                          LEFT JOIN run r ON r.id = os.dernier_run_id
                          WHERE os.offre_id = o.id AND os.actif AND r.donnees_du IS NULL)"""
SOURCE_SEEN = f"greatest({SOURCE_DATED}, {SOURCE_READ_UNDATED})"
# The last confirmation of ``o`` (an offer nobody ever confirmed counts from its last change).
CONFIRMED_AT = f"coalesce(greatest(o.verifie_le, {SOURCE_SEEN}), o.maj_le)"
# Who, as the public reads it: « ars » when an ARS confirmed last, « source » when a source's
# dated data did, « source_non_datee » when the last word is a source whose data has no date
# (we only know when we read it). The account's name stays in the Espace ARS and the audit log.
CONFIRMED_BY = f"""CASE WHEN o.verifie_le IS NOT NULL
                         AND o.verifie_le >= coalesce({SOURCE_SEEN}, o.verifie_le) THEN 'ars'
                        WHEN {SOURCE_DATED} >= coalesce({SOURCE_READ_UNDATED}, {SOURCE_DATED})
                             THEN 'source'
                        WHEN {SOURCE_READ_UNDATED} IS NOT NULL THEN 'source_non_datee' END"""
# The offer's review period: the shortest of its jeux that declare one (a vaccination list
# changes often), else the shortest of its cards, else a year.
REVIEW_DAYS = """coalesce((SELECT min(j.revision_jours) FROM jeu_offre m
                           JOIN jeu j ON j.slug = m.jeu_slug WHERE m.offre_id = o.id),
                          (SELECT min(c.revision_jours) FROM carte_offre m
                           JOIN carte c ON c.slug = m.carte_slug WHERE m.offre_id = o.id),
                          365)"""
MAX_CONFIRMED = 500  # offers one « Confirmer » may carry


def to_review(connection: Connection, code_region: str, limit: int = 100) -> tuple[int, list]:
    """The région's published offers past their review period: ARS-contributed first (only
    the ARS can confirm them), then the oldest confirmation first."""
    condition = f"""o.statut = 'publiee' AND o.code_region = :region
                    AND {CONFIRMED_AT} < now() - make_interval(days => {REVIEW_DAYS})"""
    params = {"region": code_region, "limit": limit}
    total = connection.execute(text(f"SELECT count(*) FROM offre o WHERE {condition}"),
                               params).scalar_one()
    rows = connection.execute(text(f"""
        SELECT o.id, o.nom, o.origine, k.nom AS commune, {CONFIRMED_AT} AS verifie_le,
               {CONFIRMED_BY} AS verifie_par, o.verifie_par AS compte,
               {REVIEW_DAYS} AS revision_jours
        FROM offre o LEFT JOIN commune k ON k.code = o.code_commune
        WHERE {condition}
        ORDER BY o.origine = 'ars' DESC, 5, o.id LIMIT :limit
    """), params).mappings().all()
    return total, [dict(r) for r in rows]


def confirm(connection: Connection, compte: Compte, ids: list[int],
            adresse_ip: str | None = None) -> list[dict[str, Any]]:
    """« Informations vérifiées » today by this account, all or nothing, each one audited."""
    wanted = sorted(set(ids))
    if not wanted:
        raise Refus(422, "Choisissez au moins une offre à confirmer.")
    if len(wanted) > MAX_CONFIRMED:
        raise Refus(422, f"Au plus {MAX_CONFIRMED} offres à la fois.")
    done = []
    for offre_id in wanted:  # locked in id order: two overlapping calls wait, never deadlock
        offre = target(connection, offre_id)
        authorise(compte, offre, "confirmer")
        if offre.statut != "publiee":
            raise Refus(409, f"L'offre {offre_id} n'est pas publiée : rien à confirmer.")
        before = connection.execute(text(
            "UPDATE offre o SET verifie_le = now(), verifie_par = :nom FROM "
            "(SELECT verifie_le, verifie_par FROM offre WHERE id = :id) avant "
            "WHERE o.id = :id RETURNING avant.verifie_le, avant.verifie_par"),
            {"id": offre_id, "nom": compte.nom}).one()
        audit.record(connection, compte, "confirmation", "offre", offre_id, offre.code_region,
                     {"verifie_le": before.verifie_le, "verifie_par": before.verifie_par},
                     {"verifie_par": compte.nom}, adresse_ip)
        done.append({"id": offre_id, "nom": offre.nom})
    return done
