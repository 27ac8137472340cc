"""Which database answers a read: the replica, unless the client just wrote or it is down.

Why: with ``DATABASE_READ_URL`` the public reads (maps, search, orientation) go to a streaming
replica, so that they scale apart from the primary, which takes every write. A replica
replays the primary a little late, so:

- **read-your-writes**: a successful write by an account (a POST, PATCH, PUT or DELETE with
  its API token or Espace ARS session, answered < 400) sets a short-lived cookie; while it
  lasts, that client reads from the primary and sees its own write at once (an ARS editor
  checking the offer they just published);
- **failover**: when the replica cannot be reached, reads go to the primary and the replica
  is tried again a few seconds later; the service stays up.

The cookie only chooses between two copies of the same public data: it grants nothing.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import SESSION_COOKIE

READ_YOUR_WRITES_COOKIE = "cartographie_lecture_primaire"
READ_YOUR_WRITES_SECONDS = 30
REPLICA_RETRY_SECONDS = 5
UNSAFE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}

logger = logging.getLogger(__name__)


def wrote_recently(request: Request, now: float | None = None) -> bool:
    """The client's read-your-writes cookie is still running (its value: the end, in s)."""
    try:
        until = float(request.cookies.get(READ_YOUR_WRITES_COOKIE, ""))
    except ValueError:
        return False
    now = time.time() if now is None else now
    return now < until <= now + READ_YOUR_WRITES_SECONDS


def signed_in(request: Request) -> bool:
    """Only an account writes (API token or Espace ARS session); signing in is no write."""
    return "authorization" in request.headers or SESSION_COOKIE in request.cookies


class ReadRouting:
    """Connections for the public reads: from the replica when there is one and it is fit."""

    def __init__(self, primary: Engine, replica: Engine | None) -> None:
        self.primary = primary
        self.replica = replica
        self._replica_down_until = 0.0
        self._lock = threading.Lock()

    def connect(self, request: Request) -> Connection:
        if (self.replica is None or wrote_recently(request)
                or time.monotonic() < self._replica_down_until):
            return self.primary.connect()
        try:
            return self.replica.connect()
        except OperationalError as exc:
            with self._lock:
                self._replica_down_until = time.monotonic() + REPLICA_RETRY_SECONDS
            logger.warning("réplique injoignable, lectures sur la base principale pendant "
                           "%s s : %s", REPLICA_RETRY_SECONDS, exc.orig)
            return self.primary.connect()


class ReadYourWritesMiddleware:
    """Marks a client that has just written, so that its next reads see its write."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS
                or not signed_in(Request(scope))):
            await self.app(scope, receive, send)
            return

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                until = time.time() + READ_YOUR_WRITES_SECONDS
                cookie = (f"{READ_YOUR_WRITES_COOKIE}={until:.3f}; Max-Age="
                          f"{READ_YOUR_WRITES_SECONDS}; Path=/; HttpOnly; SameSite=Lax"
                          + ("; Secure" if scope.get("scheme") == "https" else ""))
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"set-cookie", cookie.encode("latin-1"))]}
            await send(message)

        await self.app(scope, receive, send_marked)
