"""Security headers of the pages: a strict Content-Security-Policy, with a nonce per response.

Scripts run only from our own files (``'self'``) or, for folium's generated map, inline
scripts carrying this response's nonce; images also from the configured basemap's origin.
Even if a source's text slipped through escaping, the browser would refuse to run it.
No page may be framed by another site, except the widgets (``/widget/``) by the sites the
``widget_sites`` setting lists.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def basemap_origin(url_template: str) -> str:
    parts = urlsplit(url_template.replace("{s}", "a"))
    host = parts.netloc.replace("a.", "*.", 1) if "{s}" in url_template else parts.netloc
    return f"{parts.scheme}://{host}" if parts.scheme and host else ""


class ContentSecurityPolicy:
    """Plain ASGI (no ``BaseHTTPMiddleware`` task and stream per request): the nonce goes
    into the request state, the headers onto HTML responses as they start."""

    def __init__(self, app: ASGIApp, basemap_url: str, widget_sites: str = "") -> None:
        self.app = app
        self.widget_ancestors = " ".join(filter(None, ("'self'", widget_sites)))
        self.image_sources = " ".join(filter(None, ("'self'", "data:",
                                                    basemap_origin(basemap_url))))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        ancestors = (self.widget_ancestors if scope["path"].startswith("/widget/")
                     else "'self'")

        async def with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    headers["content-security-policy"] = (
                        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; "
                        "style-src 'self' 'unsafe-inline'; "
                        f"img-src {self.image_sources}; font-src 'self'; connect-src 'self'; "
                        f"frame-src 'self'; frame-ancestors {ancestors}; base-uri 'self'; "
                        "form-action 'self'; object-src 'none'"
                    )
                    headers["x-content-type-options"] = "nosniff"
                    headers["referrer-policy"] = "same-origin"
            await send(message)

        await self.app(scope, receive, with_policy)
