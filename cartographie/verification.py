"""Freshness of an offer: when it was last confirmed, by whom, and which ones are « à revoir ».

An offer is confirmed by a source run that saw it (``offre_source.derniere_vue`` of an active
source) or by an ARS editor (« Confirmer »: ``offre.verifie_le``, ``verifie_par``). It is « à
revoir » once its last confirmation is older than the review period of its cards (the shortest
one; 365 days for an offer on no card).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from cartographie import audit
from cartographie.comptes import Compte
from cartographie.contributions import Refus, authorise, target

SOURCE_SEEN = """(SELECT max(os.derniere_vue) FROM offre_source os
                  WHERE os.offre_id = o.id AND os.actif)"""
# The last confirmation of ``o`` (an offer nobody ever confirmed counts from its last change).
CONFIRMED_AT = f"coalesce(greatest(o.verifie_le, {SOURCE_SEEN}), o.maj_le)"
# Who, as the public reads it: « ars » when an ARS confirmed last, else « source » (the
# account's name stays in the Espace ARS and the audit log).
CONFIRMED_BY = f"""CASE WHEN o.verifie_le IS NOT NULL
                         AND o.verifie_le >= coalesce({SOURCE_SEEN}, o.verifie_le) THEN 'ars'
                        WHEN {SOURCE_SEEN} IS NOT NULL THEN 'source' END"""
REVIEW_DAYS = """coalesce((SELECT min(c.revision_jours) FROM carte_offre m
                           JOIN carte c ON c.slug = m.carte_slug WHERE m.offre_id = o.id), 365)"""
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
