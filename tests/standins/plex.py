"""The demo's Plex stand-in, with a request log and injected faults (status codes)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from tunecrate.demo.plex_server import FakePlex, _Response


@dataclass(frozen=True)
class PlexRequest:
    """One request the stand-in received (``headers`` lower-cased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


class FaultyPlex(FakePlex):
    """:class:`FakePlex` that records every request and answers some with an HTTP status.

    ::

        plex.fail_next(r"^/playlists$", 500)          # the next playlist listing fails
        plex.requests_to(r"/library/metadata/")       # plexapi reloads (there must be none)
    """

    def __init__(self, *args, **kwargs) -> None:
        self._log_lock = threading.Lock()
        self._log: list[PlexRequest] = []
        self._faults: list[list] = []
        super().__init__(*args, **kwargs)

    def fail_next(self, pattern: str, status: int, *, times: int = 1, method: str | None = None) -> None:
        """Answer the next ``times`` requests whose path matches ``pattern`` (``re.search``) with ``status``."""
        with self._log_lock:
            self._faults.append([re.compile(pattern), status, times, method])

    @property
    def requests(self) -> list[PlexRequest]:
        with self._log_lock:
            return list(self._log)

    def requests_to(self, pattern: str, method: str | None = None) -> list[PlexRequest]:
        regex = re.compile(pattern)
        return [r for r in self.requests if regex.search(r.path) and (method is None or r.method == method)]

    def clear_requests(self) -> None:
        with self._log_lock:
            self._log.clear()

    def _answer(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> _Response:
        with self._log_lock:
            self._log.append(PlexRequest(method, path, dict(query), dict(headers)))
            fault = next((f for f in self._faults if f[2] > 0 and f[0].search(path)
                          and (f[3] is None or f[3] == method)), None)
            if fault is not None:
                fault[2] -= 1
        if fault is not None:
            return fault[1], {"Content-Type": "text/html"}, f"<html><h1>{fault[1]}</h1></html>".encode()
        return super()._answer(method, path, query, headers)
