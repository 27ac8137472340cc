"""ETag and Cache-Control on public reads: maps and tools ask the same things again and again.

A strong ETag is the hash of the body; a request whose ``If-None-Match`` matches gets an
empty 304. Only successful GETs of the public read API, OGC API and tiles are cached.
"""

from __future__ import annotations

import hashlib

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response

CACHED_PREFIXES = ("/api/v1/themes", "/api/v1/cartes", "/api/v1/offres",
                   "/api/v1/orientation", "/ogc", "/tiles")
MAX_AGE_SECONDS = 300


class ETagMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next) -> Response:
        response = await call_next(request)
        if (request.method != "GET" or response.status_code != 200
                or not request.url.path.startswith(CACHED_PREFIXES)):
            return response
        body = b"".join([chunk async for chunk in response.body_iterator])
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        headers = dict(response.headers)
        headers.pop("content-length", None)
        headers["etag"] = etag
        headers["cache-control"] = f"public, max-age={MAX_AGE_SECONDS}"
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers={"etag": etag,
                                                      "cache-control": headers["cache-control"]})
        return Response(body, status_code=200, headers=headers,
                        media_type=response.media_type)
