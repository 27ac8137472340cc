"""FastAPI dependencies, one per concern."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session


def get_session(request: Request) -> Iterator[Session]:
    """A read session per request, from the factory the app was built with."""
    session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.close()


def get_write_session(request: Request) -> Iterator[Session]:
    """A session on the primary database for the write side; handlers commit explicitly."""
    session = request.app.state.write_session_factory()
    try:
        yield session
    finally:
        session.close()
