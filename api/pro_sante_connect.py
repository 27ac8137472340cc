"""Pro Santé Connect: the professional's sign-in (OpenID Connect, authorisation code flow).

authlib builds the authorisation request (``state``, ``nonce``, PKCE S256) and exchanges the
code; joserfc (authlib's JOSE library) verifies the ID token's signature against the
provider's published keys (JWKS) and its issuer, audience, expiry and nonce. The state,
nonce and PKCE verifier of a sign-in under way are kept server-side (``connexion_psc``),
bound to the browser by a cookie, and used once.

The professional's RPPS comes from the ID token only: ``preferred_username`` (the IDNPS,
« 8 » + RPPS, as Pro Santé Connect gives it), else ``SubjectNameID``.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import Connection, text

from cartographie.settings import Settings

SIGN_IN_LIFETIME_SECONDS = 600
DISCOVERY_CACHE_SECONDS = 3600
ALGORITHMS = ["RS256", "ES256", "PS256"]


class ConnexionRefusee(Exception):
    """The sign-in failed or was tampered with; the message says why in French."""


@dataclass(frozen=True)
class Fournisseur:
    authorization_endpoint: str
    token_endpoint: str
    jwks: dict[str, Any]


_discovered: dict[str, tuple[float, Fournisseur]] = {}


def fournisseur(settings: Settings) -> Fournisseur:
    """The provider's endpoints and keys, from its discovery document (cached an hour)."""
    issuer = settings.psc_issuer.rstrip("/")
    cached = _discovered.get(issuer)
    if cached and time.monotonic() - cached[0] < DISCOVERY_CACHE_SECONDS:
        return cached[1]
    try:
        config = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
        jwks = httpx.get(config["jwks_uri"], timeout=10).json()
        found = Fournisseur(config["authorization_endpoint"], config["token_endpoint"], jwks)
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise ConnexionRefusee("Pro Santé Connect est injoignable pour le moment : "
                               "réessayez dans quelques minutes.") from exc
    _discovered[issuer] = (time.monotonic(), found)
    return found


def _client(settings: Settings, redirect_uri: str) -> OAuth2Client:
    if not settings.psc_client_id:
        raise ConnexionRefusee("La connexion Pro Santé Connect n'est pas configurée sur ce "
                               "service (CARTOGRAPHIE_PSC_CLIENT_ID).")
    return OAuth2Client(settings.psc_client_id, settings.psc_client_secret,
                        scope=settings.psc_scope, redirect_uri=redirect_uri,
                        code_challenge_method="S256", timeout=10)


def commencer(connection: Connection, settings: Settings, redirect_uri: str) -> tuple[str, str]:
    """(URL of the provider's sign-in page, state to bind to the browser)."""
    provider = fournisseur(settings)
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    with _client(settings, redirect_uri) as client:
        url, _ = client.create_authorization_url(provider.authorization_endpoint, state=state,
                                                 nonce=nonce, code_verifier=verifier)
    connection.execute(text("""
        DELETE FROM connexion_psc WHERE cree_le < now() - make_interval(secs => :life)
    """), {"life": SIGN_IN_LIFETIME_SECONDS})
    connection.execute(text("""
        INSERT INTO connexion_psc (etat, nonce, verificateur) VALUES (:etat, :nonce, :verif)
    """), {"etat": state, "nonce": nonce, "verif": verifier})
    return url, state


def rpps_of(claims: dict[str, Any]) -> str:
    identifier = str(claims.get("preferred_username") or claims.get("SubjectNameID") or "")
    if len(identifier) == 12 and identifier.startswith("8"):
        identifier = identifier[1:]
    if not (len(identifier) == 11 and identifier.isdigit()):
        raise ConnexionRefusee("Votre carte ne porte pas de numéro RPPS : la déclaration des "
                               "bilans est réservée aux professionnels inscrits au RPPS.")
    return identifier


def terminer(connection: Connection, settings: Settings, redirect_uri: str,
             params: dict[str, str], state_cookie: str | None) -> str:
    """Check the provider's answer and return the professional's RPPS, or refuse."""
    if params.get("error"):
        raise ConnexionRefusee("Pro Santé Connect n'a pas confirmé votre identité "
                               f"({params['error'][:100]}).")
    state, code = params.get("state"), params.get("code")
    if not state or not code or not state_cookie or not secrets.compare_digest(state,
                                                                               state_cookie):
        raise ConnexionRefusee("Cette réponse de connexion ne correspond à aucune connexion "
                               "commencée dans ce navigateur : recommencez.")
    pending = connection.execute(text("""
        DELETE FROM connexion_psc WHERE etat = :etat
            AND cree_le >= now() - make_interval(secs => :life)
        RETURNING nonce, verificateur
    """), {"etat": state, "life": SIGN_IN_LIFETIME_SECONDS}).first()
    if pending is None:
        raise ConnexionRefusee("Cette connexion a expiré ou a déjà servi : recommencez.")
    nonce, verifier = pending
    provider = fournisseur(settings)
    try:
        with _client(settings, redirect_uri) as client:
            token = client.fetch_token(provider.token_endpoint, code=code,
                                       code_verifier=verifier)
    except Exception as exc:  # authlib raises OAuthError, httpx its own errors
        raise ConnexionRefusee("Pro Santé Connect a refusé l'échange du code de connexion : "
                               "recommencez.") from exc
    id_token = token.get("id_token")
    if not id_token:
        raise ConnexionRefusee("Pro Santé Connect n'a pas renvoyé de jeton d'identité.")
    try:
        decoded = jwt.decode(id_token, KeySet.import_key_set(provider.jwks),
                             algorithms=ALGORITHMS)
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": settings.psc_issuer.rstrip("/")},
            aud={"essential": True, "value": settings.psc_client_id},
            nonce={"essential": True, "value": nonce},
            exp={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError) as exc:
        raise ConnexionRefusee("Le jeton d'identité de Pro Santé Connect est invalide "
                               "(signature, émetteur, destinataire, expiration ou nonce).") \
            from exc
    return rpps_of(decoded.claims)
