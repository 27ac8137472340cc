"""ETag and Cache-Control on public reads: maps and tools ask the same things again and again.

A strong ETag is the hash of the body; a request whose ``If-None-Match`` matches gets an
empty 304. Only successful GETs of the public read API, OGC API and tiles are cached.
Without a configured public address, absolute links (OGC API) are built from the ``Host``
header, so those responses say ``Vary: Host``: a shared cache never hands one host's links
to another.
"""

from __future__ import annotations

import hashlib

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CACHED_PREFIXES = ("/api/v1/themes", "/api/v1/cartes", "/api/v1/offres",
                   "/api/v1/orientation", "/ogc", "/tiles", "/hsds")
# Sent as they come: a stream is not buffered, a response with its own ETag keeps it.
PASSED_THROUGH = (b"application/x-ndjson",)
MAX_AGE_SECONDS = 300
CACHE_CONTROL = f"public, max-age={MAX_AGE_SECONDS}"


class ETagMiddleware:
    """Plain ASGI rather than ``BaseHTTPMiddleware``: the body is buffered once, here, with
    no extra task and stream per request (the z13 tile profile showed that cost)."""

    def __init__(self, app: ASGIApp, vary_host: bool = False) -> None:
        self.app = app
        self.vary_host = vary_host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] != "GET"
                or not scope["path"].startswith(CACHED_PREFIXES)):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []
        as_is = False

        async def buffered(message: Message) -> None:
            nonlocal start, as_is
            if message["type"] == "http.response.start":
                start = message
                headers = Headers(raw=start["headers"])
                as_is = (start["status"] != 200 or "etag" in headers
                         or headers.get("content-type", "").encode().startswith(PASSED_THROUGH))
                if as_is:
                    await send(message)
                return
            if start is None or as_is:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            if etag in Headers(scope=scope).get("if-none-match", ""):
                await send({"type": "http.response.start", "status": 304, "headers": [
                    (b"etag", etag.encode()), (b"cache-control", CACHE_CONTROL.encode()),
                    *([(b"vary", b"Host")] if self.vary_host else [])]})
                await send({"type": "http.response.body", "body": b""})
                return
            headers = MutableHeaders(raw=list(start["headers"]))
            headers["content-length"] = str(len(body))
            headers["etag"] = etag
            headers["cache-control"] = CACHE_CONTROL
            if self.vary_host:
                headers.add_vary_header("Host")
            await send({**start, "headers": headers.raw})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffered)
