"""Logins: failed attempts slowed per address, and browser logins only from our own pages.

Why slow them: tokens are long random strings, yet failed attempts must be visible (each is
logged) and slowed. After ``limit`` failures from one address within ``window`` seconds,
every login from it (token login, ARS login form, Bearer token) gets a French 429 with
``Retry-After`` until the window has passed. The count lives in the process's memory: with
several workers the limit is per worker, which still bounds a guesser.

Why check Origin: a page of another site could post the login form with the attacker's
token and have the victim work, unknowingly, in the attacker's account (login CSRF). A
browser sends ``Origin`` with every cross-site POST; a login whose Origin is not this
service is refused. Tools that send no Origin (curl, scripts) are not browsers: accepted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

logger = logging.getLogger(__name__)


class FailedLogins:
    """Failures per address over a sliding window, thread-safe."""

    def __init__(self, limit: int = 10, window: float = 300.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        failures = self._failures[address]
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def check(self, address: str) -> None:
        """Raise a 429 while the address is over its limit."""
        now = time.monotonic()
        with self._lock:
            failures = self._recent(address, now)
            if len(failures) < self.limit:
                return
            wait = int(failures[0] + self.window - now) + 1
        raise HTTPException(429, f"Trop de tentatives de connexion échouées depuis cette "
                                 f"adresse : réessayez dans {wait} secondes.",
                            headers={"Retry-After": str(wait)})

    def failed(self, address: str) -> None:
        with self._lock:
            self._recent(address, time.monotonic()).append(time.monotonic())
        logger.warning("Connexion échouée depuis %s", address)


def address_of(request: Request) -> str:
    return request.client.host if request.client else "inconnue"


def failed_logins(request: Request) -> FailedLogins:
    return request.app.state.failed_logins


def check_attempt(request: Request) -> None:
    """Before any token is checked: refuse an address over its limit."""
    failed_logins(request).check(address_of(request))


def record_failure(request: Request) -> None:
    failed_logins(request).failed(address_of(request))


def check_origin(request: Request, refus: str = "Connexion refusée") -> None:
    """A browser login (or an anonymous form: « Signaler une erreur ») must come from this
    service's own pages (cross-site request forgery)."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    if urlsplit(origin).netloc != request.url.netloc:
        raise HTTPException(403, f"{refus} : la demande ne vient pas des pages de ce "
                                 "service (en-tête Origin).")
