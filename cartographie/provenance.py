"""Where an offer's information comes from: its sources, the owner of each field, its history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text


def of_offer(connection: Connection, offer_id: int) -> dict[str, Any] | None:
    """A published offer's provenance, or None: a draft's or a retired offer's fields and
    history (internal notes, a retirement reason) are not public."""
    offer = connection.execute(text("""
        SELECT id, nom, provenance, maj_le FROM offre WHERE id = :id AND statut = 'publiee'
    """), {"id": offer_id}).mappings().one_or_none()
    if offer is None:
        return None
    sources = connection.execute(text("""
        SELECT os.source, os.cle, os.actif, os.score, os.raison, os.premier_run_id,
               os.dernier_run_id, os.premiere_vue, os.derniere_vue
        FROM offre_source os WHERE os.offre_id = :id ORDER BY os.premiere_vue, os.id
    """), {"id": offer_id}).mappings().all()
    history = connection.execute(text("""
        SELECT champ, ancienne_valeur, nouvelle_valeur, source, run_id, le
        FROM historique WHERE offre_id = :id ORDER BY le DESC, id DESC LIMIT 500
    """), {"id": offer_id}).mappings().all()
    return {
        "id": offer["id"],
        "nom": offer["nom"],
        "maj_le": offer["maj_le"],
        "champs": offer["provenance"],
        "sources": [dict(row) for row in sources],
        "historique": [dict(row) for row in history],
    }
