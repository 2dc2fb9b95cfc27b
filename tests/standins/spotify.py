"""The demo's Spotify stand-in, with a request log and injected faults (status codes, delays)."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from tunecrate.demo.spotify_server import FakeSpotify, _json, _Response
from tunecrate.sources.spotify_login import USER_SCOPE

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
