"""Results kept for as long as the data they were computed from (``version_donnees``).

Why: at national scale the exact total of a search and a low-zoom tile each read hundreds of
thousands of rows, while the data change only when a run is published or an offer edited.
Every write to the searched tables gives ``version_donnees`` a value never used before
(migrations 0004 and 0006: at commit, and at once for the writing transaction itself),
so an entry stored under the current version is exact, and an entry of an
older version is never read again (the LRU drops it).

The version is read before the result is computed: an entry may then hold data a little
newer than its version, never older, and a newer version makes it unreachable anyway.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from sqlalchemy import Connection, text

T = TypeVar("T")


class DataVersionCache:
    """A bounded, thread-safe LRU of results keyed by database, data version and ``key``."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, connection: Connection, key: Hashable,
            compute: Callable[[Connection], T]) -> T:
        version = connection.execute(text("SELECT version_donnees_courante()")).scalar_one()
        full_key = (connection.engine.url.render_as_string(hide_password=True), version, key)
        with self._lock:
            if full_key in self._entries:
                self._entries.move_to_end(full_key)
                return self._entries[full_key]  # type: ignore[return-value]
        value = compute(connection)
        with self._lock:
            self._entries[full_key] = value
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value
