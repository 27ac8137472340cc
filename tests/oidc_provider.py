"""A small but real OpenID provider for the tests, standing in for Pro Santé Connect.

Run as its own process (``python -m tests.oidc_provider --port … --client-id … --secret …``)
on 127.0.0.1: discovery document, JWKS, an authorisation page where the « card » is an RPPS
typed in a form, and a token endpoint that checks the client's secret, the redirect URI and
the PKCE verifier (S256) before signing an ID token (RS256) with the request's nonce.

``POST /_essai/mode`` makes it misbehave on purpose (forged signature, wrong nonce, wrong
audience, expired token) so that the tests prove the service refuses such tokens.
Test code only: never shipped, never a real identity provider.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import secrets
import time
from urllib.parse import urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.routing import Route

MODES = ("normal", "signature_falsifiee", "nonce_faux", "audience_fausse", "expire")


def build(issuer: str, client_id: str, secret: str, redirect_uri: str) -> Starlette:
    key = RSAKey.generate_key(2048, parameters={"kid": "essai-1", "use": "sig"})
    forger = RSAKey.generate_key(2048, parameters={"kid": "essai-1", "use": "sig"})
    codes: dict[str, dict] = {}
    state = {"mode": "normal"}

    async def discovery(request: Request) -> JSONResponse:
        return JSONResponse({
            "issuer": issuer, "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token", "jwks_uri": f"{issuer}/jwks",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        })

    async def jwks(request: Request) -> JSONResponse:
        return JSONResponse({"keys": [key.as_dict(private=False)]})

    async def authorize(request: Request):
        values = dict(request.query_params) if request.method == "GET" \
            else dict(await request.form())
        problems = []
        if values.get("client_id") != client_id:
            problems.append("client inconnu")
        if values.get("redirect_uri") != redirect_uri:
            problems.append("redirect_uri non enregistrée")
        if values.get("response_type") != "code":
            problems.append("response_type")
        if values.get("code_challenge_method") != "S256" or not values.get("code_challenge"):
            problems.append("PKCE S256 exigé")
        if not values.get("state") or not values.get("nonce"):
            problems.append("state et nonce exigés")
        if problems:
            return HTMLResponse("Requête refusée : " + ", ".join(problems), status_code=400)
        if request.method == "GET":
            hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" '
                             f'value="{html.escape(v)}">' for k, v in values.items())
            return HTMLResponse(
                "<!doctype html><html lang='fr'><meta charset='utf-8'>"
                "<title>Pro Santé Connect (essai)</title><h1>Pro Santé Connect — essai</h1>"
                f"<form method='post'>{hidden}<label for='rpps'>Numéro RPPS de la carte</label>"
                "<input id='rpps' name='rpps'><button type='submit'>Valider</button></form>")
        code = secrets.token_urlsafe(24)
        codes[code] = {"rpps": values.get("rpps", ""), "nonce": values["nonce"],
                       "challenge": values["code_challenge"], "cree": time.time()}
        query = urlencode({"code": code, "state": values["state"]})
        return RedirectResponse(f"{redirect_uri}?{query}", status_code=302)

    async def token(request: Request) -> JSONResponse:
        form = dict(await request.form())
        authorization = request.headers.get("authorization", "")
        given_id, given_secret = form.get("client_id"), form.get("client_secret")
        if authorization.startswith("Basic "):
            given_id, _, given_secret = base64.b64decode(authorization[6:]).decode() \
                .partition(":")
        if given_id != client_id or given_secret != secret:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = codes.pop(form.get("code", ""), None)
        if grant is None or form.get("redirect_uri") != redirect_uri:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()) \
            .rstrip(b"=").decode()
        if challenge != grant["challenge"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"},
                                status_code=400)
        mode, now = state["mode"], int(time.time())
        claims = {"iss": issuer, "sub": f"essai:{grant['rpps']}",
                  "aud": "autre-client" if mode == "audience_fausse" else client_id,
                  "iat": now, "exp": now - 60 if mode == "expire" else now + 300,
                  "nonce": "faux" if mode == "nonce_faux" else grant["nonce"],
                  "preferred_username": "8" + grant["rpps"]}
        signer = forger if mode == "signature_falsifiee" else key
        id_token = jwt.encode({"alg": "RS256", "kid": "essai-1"}, claims, signer)
        return JSONResponse({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                             "expires_in": 300, "id_token": id_token})

    async def set_mode(request: Request) -> JSONResponse:
        mode = (await request.json()).get("mode")
        if mode not in MODES:
            return JSONResponse({"error": "mode"}, status_code=400)
        state["mode"] = mode
        return JSONResponse({"mode": mode})

    return Starlette(routes=[
        Route("/.well-known/openid-configuration", discovery),
        Route("/jwks", jwks),
        Route("/authorize", authorize, methods=["GET", "POST"]),
        Route("/token", token, methods=["POST"]),
        Route("/_essai/mode", set_mode, methods=["POST"]),
    ])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--redirect-uri", required=True)
    args = parser.parse_args()
    issuer = f"http://127.0.0.1:{args.port}"
    uvicorn.run(build(issuer, args.client_id, args.secret, args.redirect_uri),
                host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
