"""The demo's YouTube and YouTube Music stand-ins, with request logs and bot checks."""

from __future__ import annotations

import io
import json
import threading

from tunecrate.demo.youtube_server import FakeYouTube
from tunecrate.demo.ytmusic_server import FakeYouTubeMusic

#: What YouTube answers a session it takes for a bot (its apostrophe is typographic).
BOT_CHECK_REASON = "Sign in to confirm you\u2019re not a bot"


class CheckingYouTube(FakeYouTube):
    """:class:`FakeYouTube` that records requests (``(host, method, path)``) and answers
    :meth:`bot_check`-ed videos with YouTube's "confirm you're not a bot" playability status."""

    def __init__(self, *args, **kwargs) -> None:
        self.requests: list[tuple[str, str, str]] = []
        self._bot_checked: set[str] = set()
        self._log_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def bot_check(self, video_id: str) -> None:
        with self._log_lock:
            self._bot_checked.add(video_id)

    def player_response(self, video_id, client):
        with self._log_lock:
            checked = video_id in self._bot_checked
        if not checked:
            return super().player_response(video_id, client)
        return {"responseContext": {"visitorData": self.visitor_data},
                "playabilityStatus": {"status": "LOGIN_REQUIRED", "reason": BOT_CHECK_REASON,
                                      "errorScreen": {"playerErrorMessageRenderer": {
                                          "reason": {"simpleText": BOT_CHECK_REASON},
                                          "subreason": {"runs": [{"text": "This helps protect our community. "},
                                                                 {"text": "Learn more"}]}}},
                                      "skip": {"playabilityErrorSkipConfig": {"skipOnPlayabilityError": False}}}}

    def _serve(self, handler) -> None:
        with self._log_lock:
            self.requests.append(((handler.headers.get("Host") or "").split(":")[0], handler.command, handler.path))
        super()._serve(handler)

    def media_requests(self) -> list[str]:
        """Paths of the ``/videoplayback`` requests (with their query)."""
        with self._log_lock:
            return [path for host, _, path in self.requests if path.startswith("/videoplayback")]


class RecordingYouTubeMusic(FakeYouTubeMusic):
    """:class:`FakeYouTubeMusic` that records requests: ``(method, path, headers, body)``, the body parsed
    as JSON when it is."""

    def __init__(self, *args, **kwargs) -> None:
        self.requests: list[tuple[str, str, dict[str, str], object]] = []
        self._log_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def _serve(self, handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        with self._log_lock:
            self.requests.append((handler.command, handler.path, dict(handler.headers), body))
        handler.rfile = io.BytesIO(raw)  # the body again, for the real handler
        super()._serve(handler)

    def searches(self) -> list[dict]:
        """The bodies of the ``search`` requests."""
        with self._log_lock:
            return [body for method, path, _, body in self.requests
                    if method == "POST" and path.startswith("/youtubei/v1/search")]
