"""Accounts of the write side: who may contribute, with which role, for which région.

Roles: ``admin`` (national), ``ars_editeur`` and ``ars_moderateur`` (bound to one région).
An API token is shown once, at creation; only its SHA-256 is stored, with a short prefix so
that people can tell their tokens apart. Revoking an account revokes its tokens and ends its
browser sessions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from cartographie.models import ROLES

TOKEN_PREFIX = "cart_"
DISPLAYED_PREFIX_LENGTH = 12
SESSION_LIFETIME = dt.timedelta(hours=8)


class CompteError(Exception):
    """A refused account operation; the message says why in French."""


@dataclass(frozen=True)
class Compte:
    """The authenticated person behind a request."""

    id: int
    nom: str
    role: str
    code_region: str | None
    jeton_id: int

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_moderator(self) -> bool:
        return self.role == "ars_moderateur"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_token(connection: Connection, user_id: int) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    connection.execute(text("""
        INSERT INTO jeton (utilisateur_id, empreinte, prefixe) VALUES (:user, :digest, :prefix)
    """), {"user": user_id, "digest": digest(token), "prefix": token[:DISPLAYED_PREFIX_LENGTH]})
    return token


def add_user(connection: Connection, nom: str, role: str, code_region: str | None) -> str:
    """Create an account and its first token; returns the token (the only time it is seen)."""
    nom = nom.strip()
    if not nom:
        raise CompteError("le nom du compte est obligatoire")
    if role not in ROLES:
        raise CompteError(f"rôle inconnu « {role} » (attendus : {', '.join(ROLES)})")
    if role == "admin":
        code_region = None
    elif not code_region:
        raise CompteError(f"un compte « {role} » est rattaché à une région : --region CODE")
    elif connection.execute(text("SELECT 1 FROM region WHERE code = :code"),
                            {"code": code_region}).first() is None:
        raise CompteError(f"région inconnue « {code_region} » (code INSEE, par ex. 44 "
                          "pour le Grand Est)")
    if connection.execute(text("SELECT 1 FROM utilisateur WHERE nom = :nom"),
                          {"nom": nom}).first():
        raise CompteError(f"un compte « {nom} » existe déjà")
    user_id = connection.execute(text("""
        INSERT INTO utilisateur (nom, role, code_region) VALUES (:nom, :role, :region)
        RETURNING id
    """), {"nom": nom, "role": role, "region": code_region}).scalar_one()
    return _new_token(connection, user_id)


def list_users(connection: Connection) -> list[dict]:
    return [dict(row) for row in connection.execute(text("""
        SELECT u.nom, u.role, u.code_region, u.cree_le, u.revoque_le,
               string_agg(j.prefixe || '…', ', ' ORDER BY j.id)
                   FILTER (WHERE j.revoque_le IS NULL) AS jetons_actifs,
               max(j.dernier_usage_le) AS dernier_usage_le
        FROM utilisateur u LEFT JOIN jeton j ON j.utilisateur_id = u.id
        GROUP BY u.id ORDER BY u.nom
    """)).mappings()]


def revoke_user(connection: Connection, nom: str) -> None:
    """Revoke an account: its tokens stop working at once and its sessions end."""
    user_id = connection.execute(text("""
        UPDATE utilisateur SET revoque_le = coalesce(revoque_le, now()) WHERE nom = :nom
        RETURNING id
    """), {"nom": nom}).scalar_one_or_none()
    if user_id is None:
        raise CompteError(f"aucun compte « {nom} »")
    connection.execute(text("""
        UPDATE jeton SET revoque_le = coalesce(revoque_le, now()) WHERE utilisateur_id = :user
    """), {"user": user_id})
    connection.execute(text("""
        DELETE FROM session_web s USING jeton j
        WHERE j.id = s.jeton_id AND j.utilisateur_id = :user
    """), {"user": user_id})


_ACTIVE_ACCOUNT = """
    SELECT u.id, u.nom, u.role, u.code_region, j.id AS jeton_id
    FROM jeton j JOIN utilisateur u ON u.id = j.utilisateur_id
    WHERE j.revoque_le IS NULL AND u.revoque_le IS NULL
"""


def authenticate(connection: Connection, token: str) -> Compte | None:
    """The account of a live token, or None (unknown, revoked, or its account revoked)."""
    row = connection.execute(text(_ACTIVE_ACCOUNT + " AND j.empreinte = :digest"),
                             {"digest": digest(token)}).first()
    if row is None:
        return None
    connection.execute(text("UPDATE jeton SET dernier_usage_le = now() WHERE id = :id"),
                       {"id": row.jeton_id})
    return Compte(*row)


def open_session(connection: Connection, compte: Compte) -> tuple[str, str]:
    """A new browser session for a token: returns (cookie value, CSRF token)."""
    return new_session(connection, "session_web", "jeton_id", compte.jeton_id,
                       SESSION_LIFETIME)


SESSION_TABLES = {"session_web", "session_pro"}


def new_session(connection: Connection, table: str, owner_column: str, owner: Any,
                lifetime: dt.timedelta) -> tuple[str, str]:
    """A session row of ``table`` (ARS accounts or professionals): (cookie value, CSRF
    token), only their digests stored; the table's expired sessions are swept at once."""
    if table not in SESSION_TABLES:
        raise ValueError(table)
    session_value, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    connection.execute(text(f"DELETE FROM {table} WHERE expire_le < now()"))
    connection.execute(text(f"""
        INSERT INTO {table} ({owner_column}, empreinte, csrf_empreinte, expire_le)
        VALUES (:owner, :digest, :csrf, now() + :lifetime)
    """), {"owner": owner, "digest": digest(session_value), "csrf": digest(csrf),
           "lifetime": lifetime})
    return session_value, csrf


def session_account(connection: Connection, session_value: str) -> tuple[Compte, str] | None:
    """The account of a live session and the digest of its CSRF token, or None."""
    row = connection.execute(text(f"""
        SELECT a.*, s.csrf_empreinte FROM session_web s
        JOIN ({_ACTIVE_ACCOUNT}) a ON a.jeton_id = s.jeton_id
        WHERE s.empreinte = :digest AND s.expire_le > now()
    """), {"digest": digest(session_value)}).first()
    if row is None:
        return None
    return Compte(*row[:5]), row.csrf_empreinte


def csrf_matches(csrf_digest: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(csrf_digest, digest(presented))


def close_session(connection: Connection, session_value: str) -> None:
    connection.execute(text("DELETE FROM session_web WHERE empreinte = :digest"),
                       {"digest": digest(session_value)})
