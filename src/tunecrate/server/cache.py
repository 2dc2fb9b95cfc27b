"""Listing responses kept until the catalogue changes.

The listings (``/tracks``, ``/playlists``, a playlist's entries, the review
queue…) are functions of the catalogue alone, and the catalogue changes only
when someone commits to it. SQLite says when that happened:
``PRAGMA data_version`` on a connection changes whenever *another*
connection, of this process or any other, has committed since. So
:class:`ListingCache` keeps a connection that never writes, and a response
built at one data version is served again, as built, until the version moves.
A write during a build moves the version, so that the next request builds afresh.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from starlette.responses import Response

__all__ = ["ListingCache"]

#: Bytes of responses kept at most (least recently used go first).
MAX_BYTES = 32 * 1024 * 1024


class ListingCache:
    """Responses by key, each valid for the catalogue's data version it was built at."""

    def __init__(self, database: Path, max_bytes: int = MAX_BYTES) -> None:
        self._conn = sqlite3.connect(database, check_same_thread=False)
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[int, Response]] = OrderedDict()
        self._bytes = 0
        self._max = max_bytes

    def version(self) -> int:
        """The catalogue's data version now (changes after any commit by another connection)."""
        with self._lock:
            return self._conn.execute("PRAGMA data_version").fetchone()[0]

    def get(self, key: str, build: Callable[[], Response]) -> Response:
        """The response for ``key``: kept, or ``build()`` (kept if it is a 200)."""
        version = self.version()
        with self._lock:
            found = self._entries.get(key)
            if found is not None and found[0] == version:
                self._entries.move_to_end(key)
                return _copy(found[1])
        response = build()
        if response.status_code == 200 and len(response.body) <= self._max:
            with self._lock:
                old = self._entries.pop(key, None)
                if old is not None:
                    self._bytes -= len(old[1].body)
                self._entries[key] = (version, response)
                self._bytes += len(response.body)
                while self._bytes > self._max:
                    _, (_, evicted) = self._entries.popitem(last=False)
                    self._bytes -= len(evicted.body)
        return _copy(response)

    def close(self) -> None:
        self._conn.close()


def _copy(response: Response) -> Response:
    """A new response with the same body and headers (a response object is sent once)."""
    headers = {k: v for k, v in response.headers.items() if k != "content-length"}
    return Response(response.body, status_code=response.status_code, headers=headers)
