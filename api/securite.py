"""Security headers of the pages: a strict Content-Security-Policy, with a nonce per response.

Scripts run only from our own files (``'self'``) or, for folium's generated map, inline
scripts carrying this response's nonce; images also from the configured basemap's origin.
Even if a source's text slipped through escaping, the browser would refuse to run it.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response


def basemap_origin(url_template: str) -> str:
    parts = urlsplit(url_template.replace("{s}", "a"))
    host = parts.netloc.replace("a.", "*.", 1) if "{s}" in url_template else parts.netloc
    return f"{parts.scheme}://{host}" if parts.scheme and host else ""


class ContentSecurityPolicy(BaseHTTPMiddleware):
    def __init__(self, app, basemap_url: str):
        super().__init__(app)
        self.image_sources = " ".join(filter(None, ("'self'", "data:",
                                                    basemap_origin(basemap_url))))

    async def dispatch(self, request: Request, call_next) -> Response:
        nonce = secrets.token_urlsafe(16)
        request.state.csp_nonce = nonce
        response = await call_next(request)
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers["content-security-policy"] = (
                f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; "
                "style-src 'self' 'unsafe-inline'; "
                f"img-src {self.image_sources}; font-src 'self'; connect-src 'self'; "
                "frame-src 'self'; frame-ancestors 'self'; base-uri 'self'; "
                "form-action 'self'; object-src 'none'"
            )
            response.headers["x-content-type-options"] = "nosniff"
            response.headers["referrer-policy"] = "same-origin"
        return response
