"""FastAPI dependencies, one per concern."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session


def get_session(request: Request) -> Iterator[Session]:
    """A read session per request: on the replica, or the primary (``api.lecture``)."""
    connection = request.app.state.read_routing.connect(request)
    session = Session(bind=connection, expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        connection.close()


def get_write_session(request: Request) -> Iterator[Session]:
    """A session on the primary database for the write side; handlers commit explicitly."""
    session = request.app.state.write_session_factory()
    try:
        yield session
    finally:
        session.close()
