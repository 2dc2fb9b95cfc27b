"""The demo's Spotify stand-in, with a request log, injected faults (status codes, delays), and the
endpoints a transfer into Spotify uses: ``GET /v1/search`` and ``POST /v1/playlists/{id}/items``."""

from __future__ import annotations

import json
import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

from tunecrate.demo.spotify_server import FakeSpotify, _api_error, _json, _ok, _Response
from tunecrate.sources.spotify_login import USER_SCOPE

#: Development-mode apps get at most 10 search results (2026).
SEARCH_LIMIT = 10
_WRITE_SCOPES = {"playlist-modify-public", "playlist-modify-private"}

_REASONS = {
    400: "Bad request",
    401: "Invalid access token",
    403: "Forbidden",
    404: "Resource not found",
    429: "API rate limit exceeded",
    500: "Server error",
    502: "Bad gateway",
    503: "Service unavailable",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the stand-in received: ``query`` keeps the last value of each key."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class _Fault:
    pattern: re.Pattern[str]
    status: int | None
    retry_after: float | None
    body: Any
    delay_s: float
    remaining: int


class FaultySpotify(FakeSpotify):
    """:class:`FakeSpotify` that records every request and answers some with faults.

    ::

        fake.fail_next(r"/items$", 429, retry_after=1)     # the next items request is refused
        fake.requests_to(r"^/v1/playlists/")               # what the client asked for
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._faults: list[_Fault] = []
        self._requests: list[RecordedRequest] = []
        self._log_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def fail_next(self, pattern: str, status: int | None, *, retry_after: float | None = None,
                  body: dict | str | bytes | None = None, times: int = 1, delay_s: float = 0.0) -> None:
        """Answer the next ``times`` requests whose path matches ``pattern`` (``re.search``) with ``status``.

        ``retry_after`` (seconds) sets the ``Retry-After`` header. ``body``
        replaces the default Spotify error body (a dict is sent as JSON).
        ``delay_s`` waits before answering; with ``status=None`` the request
        is then answered normally (to provoke client timeouts).
        """
        with self._log_lock:
            self._faults.append(_Fault(re.compile(pattern), status, retry_after, body, delay_s, times))

    def issue_user_token(self, scope: str = USER_SCOPE) -> dict:
        """Issue a user token as if the user had logged in: the dict spotipy caches
        (``access_token``, ``token_type``, ``expires_in``, ``refresh_token``, ``scope``, ``expires_at``)."""
        with self._lock:
            token = self._user_token(scope)
        token["expires_at"] = int(time.time()) + token["expires_in"]
        return token

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received so far, in order."""
        with self._log_lock:
            return list(self._requests)

    def requests_to(self, pattern: str, method: str | None = None) -> list[RecordedRequest]:
        """The recorded requests whose path matches ``pattern`` (``re.search``), optionally of one method."""
        regex = re.compile(pattern)
        return [r for r in self.requests if regex.search(r.path) and (method is None or r.method == method)]

    def clear_requests(self) -> None:
        with self._log_lock:
            self._requests.clear()

    def _answer(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
                body: bytes) -> _Response:
        with self._log_lock:
            self._requests.append(RecordedRequest(method, path, query, headers))
            fault = next((f for f in self._faults if f.remaining > 0 and f.pattern.search(path)), None)
            if fault is not None:
                fault.remaining -= 1
                self._faults = [f for f in self._faults if f.remaining > 0]
        if fault is not None and fault.delay_s:
            time.sleep(fault.delay_s)
        if fault is None or fault.status is None:
            return super()._answer(method, path, query, headers, body)
        out = {"Content-Type": "application/json; charset=utf-8"}
        if fault.retry_after is not None:
            out["Retry-After"] = f"{fault.retry_after:g}"
        if fault.body is None:
            payload = _json({"error": {"status": fault.status, "message": _REASONS.get(fault.status, "Error")}})
        elif isinstance(fault.body, dict):
            payload = _json(fault.body)
        else:
            payload = fault.body.encode() if isinstance(fault.body, str) else fault.body
            out["Content-Type"] = "text/plain; charset=utf-8"
        return fault.status, out, payload

    # -- search and playlist writes ------------------------------------------------------------

    def _route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> _Response:
        items = re.fullmatch(r"/v1/playlists/([^/]+)/items", path)
        if method == "POST" and items:
            return self._add_items(items.group(1), query, headers, body)
        if method == "GET" and path == "/v1/search":
            return self._search(query, headers)
        return super()._route(method, path, query, headers, body)

    def _search(self, query: dict[str, str], headers: dict[str, str]) -> _Response:
        """``q`` with ``isrc:X``, ``track:"…"`` and ``artist:"…"`` filters, or free words; ``type=track``."""
        _, failure = self._check_bearer(headers)
        if failure:
            return failure
        if "track" not in query.get("type", "").split(","):
            return _api_error(400, "Bad search type field")
        try:
            limit, offset = int(query.get("limit", 10)), int(query.get("offset", 0))
        except ValueError:
            return _api_error(400, "Invalid limit")
        if not 1 <= limit <= SEARCH_LIMIT:
            return _api_error(400, "Invalid limit")
        q = query.get("q", "")
        isrc = re.search(r"isrc:(\S+)", q)
        filters = dict(re.findall(r'(track|artist):"([^"]*)"', q))
        words = _fold(re.sub(r'(?:track|artist|isrc):(?:"[^"]*"|\S+)', " ", q)).split()

        def hit(track: dict) -> bool:
            if isrc:
                return (track.get("external_ids") or {}).get("isrc") == isrc.group(1)
            artists = " ".join(a["name"] for a in track.get("artists", []))
            text = _fold(f"{track.get('name', '')} {artists}")
            return (_fold(filters.get("track", "")) in _fold(track.get("name", ""))
                    and _fold(filters.get("artist", "")) in _fold(artists) and all(w in text for w in words))

        found = [t for t in self._tracks.values() if hit(t)]
        return _ok({"tracks": self._paging("/v1/search", found, query, limit, offset)})

    def _add_items(self, playlist_id: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> _Response:
        token, failure = self._check_bearer(headers)
        if failure:
            return failure
        if token["kind"] != "user" or not _WRITE_SCOPES & set(token["scope"].split()):
            return _api_error(403, "Insufficient client scope")
        playlist = self._playlists.get(playlist_id)
        if playlist is None:
            return _api_error(404, "Resource not found")
        if playlist.owner != self.user_id:
            return _api_error(403, "You cannot add tracks to a playlist you don't own.")
        try:
            doc = json.loads(body or b"null")
        except ValueError:
            return _api_error(400, "Error parsing JSON.")
        uris = doc.get("uris") if isinstance(doc, dict) else doc
        position = query.get("position", doc.get("position") if isinstance(doc, dict) else None)
        if not isinstance(uris, list) or not 1 <= len(uris) <= 100:
            return _api_error(400, "You can add a maximum of 100 tracks per request.")
        tracks = []
        for uri in uris:
            track = self._tracks.get(str(uri).removeprefix("spotify:track:")) if str(uri).startswith(
                "spotify:track:") else None
            if track is None:
                return _api_error(400, f"Invalid track uri: {uri}")
            tracks.append(track)
        at = len(playlist.entries) if position is None else int(position)
        if not 0 <= at <= len(playlist.entries):
            return _api_error(400, "Index out of bounds")
        playlist.entries[at:at] = tracks
        playlist.snapshot_id = self._next_snapshot()
        status, out, payload = _ok({"snapshot_id": playlist.snapshot_id})
        return 201, out, payload

    def playlist_track_ids(self, playlist_id: str) -> list[str | None]:
        """The track ids of a playlist's entries, in order (``None`` for entries that are not tracks)."""
        with self._lock:
            return [(e or {}).get("id") if (e or {}).get("type") == "track" else None
                    for e in self._playlists[playlist_id].entries]


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in text if not unicodedata.combining(ch))
