"""The demo's Spotify web stand-in, with a request log and injected faults."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from standins.spotify import RecordedRequest
from tunecrate.demo.spotify_web_server import FakeSpotifyWeb, _html, _json, _page


@dataclass
class _Fault:
    pattern: re.Pattern[str]
    status: int
    body: Any
    remaining: int
    skip: int


class FaultySpotifyWeb(FakeSpotifyWeb):
    """:class:`FakeSpotifyWeb` that records every request and misbehaves on demand.

    ::

        web.fail_next(r"^/pathfinder/", 503, times=4)        # the partner endpoint is down
        web.rotate_hash()                                     # Spotify shipped a new web player
        web.make_unavailable("playlist", pid, forbidden_reason="NOT_AVAILABLE")
        web.bare_rows(track_id)                               # its list rows show no duration
        web.requests_to(r"^/embed/track/")                    # what the client asked for
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._faults: list[_Fault] = []
        self._requests: list[RecordedRequest] = []
        self._unavailable: dict[str, dict] = {}
        self._bare: dict[str, tuple[str, ...]] = {}
        self._log_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def fail_next(self, pattern: str, status: int, *, times: int = 1, body: dict | str | None = None,
                  skip: int = 0) -> None:
        """Answer the next ``times`` requests whose path matches ``pattern`` with ``status`` (``body``:
        a dict sent as JSON, a string as HTML; by default a GraphQL-style error), after letting the
        first ``skip`` of them through."""
        with self._log_lock:
            self._faults.append(_Fault(re.compile(pattern), status, body, times, skip))

    def rotate_hash(self, new_hash: str = "0" * 64) -> None:
        """Know only ``new_hash`` from now on, as the real endpoint after a new web player ships."""
        self.partner_hash = new_hash

    def make_unavailable(self, kind: str, entity_id: str, *, status: int | None = None,
                         forbidden_reason: str | None = None) -> None:
        """Serve ``kind``/``entity_id``'s embed page (HTTP 200) with ``status`` or ``forbiddenReason``
        in ``pageProps`` instead of the entity, as Spotify does for what is not public."""
        props = {k: v for k, v in (("status", status), ("forbiddenReason", forbidden_reason)) if v is not None}
        with self._log_lock:
            self._unavailable[f"/embed/{kind}/{entity_id}"] = props

    def bare_rows(self, *track_ids: str, fields: tuple[str, ...] = ("duration",)) -> None:
        """Show the ``trackList`` rows of ``track_ids`` on playlist and album embed pages without
        ``fields`` (``"duration"`` → 0, ``"subtitle"`` → no artists), as rows the embed sends short;
        the tracks' own embed pages keep them."""
        with self._log_lock:
            self._bare.update(dict.fromkeys(track_ids, fields))

    def _playlist_entity(self, playlist_id: str) -> dict | None:
        return self._stripped(super()._playlist_entity(playlist_id))

    def _album_entity(self, album_id: str) -> dict | None:
        return self._stripped(super()._album_entity(album_id))

    def _stripped(self, entity: dict | None) -> dict | None:
        with self._log_lock:
            bare = dict(self._bare)
        for row in (entity or {}).get("trackList") or ():
            for field in bare.get(row["uri"].rpartition(":")[2], ()):
                row[field] = 0 if field == "duration" else ""
        return entity

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._log_lock:
            return list(self._requests)

    def requests_to(self, pattern: str) -> list[RecordedRequest]:
        regex = re.compile(pattern)
        return [r for r in self.requests if regex.search(r.path)]

    def clear_requests(self) -> None:
        with self._log_lock:
            self._requests.clear()

    def _answer(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes):
        with self._log_lock:
            self._requests.append(RecordedRequest(method, path, query, headers))
            fault = next((f for f in self._faults if f.remaining > 0 and f.pattern.search(path)), None)
            if fault is not None and fault.skip > 0:
                fault.skip -= 1
                fault = None
            elif fault is not None:
                fault.remaining -= 1
                self._faults = [f for f in self._faults if f.remaining > 0]
            unavailable = self._unavailable.get(path)
        if fault is not None:
            if isinstance(fault.body, str):
                return _html(fault.status, fault.body)
            return _json(fault.status, fault.body if fault.body is not None else
                         {"errors": [{"message": f"Service error {fault.status}"}]})
        if unavailable is not None:
            return _html(200, _page(path.rsplit("/", 2)[1] + "/[id]", unavailable))
        return super()._answer(method, path, query, headers, body)
