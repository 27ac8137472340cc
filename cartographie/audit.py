"""The audit log of the write side: who did what, when, on which object, before and after.

Written in the same transaction as the change it describes, so that a change is never
without its entry and an entry never describes a change that was rolled back.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text

from cartographie.comptes import Compte


def record(connection: Connection, compte: Compte | None, action: str, objet_type: str,
           objet_id: Any, code_region: str | None, avant: Any = None, apres: Any = None,
           adresse_ip: str | None = None) -> None:
    connection.execute(text("""
        INSERT INTO audit (utilisateur_id, action, objet_type, objet_id, code_region, avant,
                           apres, adresse_ip)
        VALUES (:user, :action, :type, :id, :region, CAST(:avant AS jsonb),
                CAST(:apres AS jsonb), :ip)
    """), {"user": compte.id if compte else None, "action": action, "type": objet_type,
           "id": None if objet_id is None else str(objet_id), "region": code_region,
           "avant": None if avant is None else json.dumps(avant, default=str),
           "apres": None if apres is None else json.dumps(apres, default=str),
           "ip": adresse_ip})


def entries(connection: Connection, code_region: str | None, limit: int, offset: int,
            objet_id: str | None = None) -> tuple[int, list[dict]]:
    """Entries, newest first; ``code_region`` None means every région (admins)."""
    condition = """(CAST(:region AS text) IS NULL OR a.code_region = :region)
                   AND (CAST(:objet AS text) IS NULL OR a.objet_id = :objet)"""
    params = {"region": code_region, "objet": objet_id}
    total = connection.execute(text(f"SELECT count(*) FROM audit a WHERE {condition}"),
                               params).scalar_one()
    rows = connection.execute(text(f"""
        SELECT a.id, a.le, u.nom AS utilisateur, u.role, a.action, a.objet_type, a.objet_id,
               a.code_region, a.avant, a.apres, a.adresse_ip
        FROM audit a LEFT JOIN utilisateur u ON u.id = a.utilisateur_id
        WHERE {condition} ORDER BY a.id DESC LIMIT :limit OFFSET :offset
    """), {**params, "limit": limit, "offset": offset}).mappings().all()
    return total, [dict(row) for row in rows]
