"""A loopback media host: serves audio files and cover images over HTTP.

It stands in for the places audio and artwork come from (YouTube's media
servers, Spotify's image CDN). yt-dlp's generic extractor downloads its audio
like any direct media link; covers are fetched like ``i.scdn.co`` images.

::

    with MediaServer() as media:
        url = media.add_file("song.webm", Path("song.webm"))

Supports ``GET`` and ``HEAD`` with single ``Range: bytes=a-b`` requests (206,
416 outside the file). ``tunecrate demo`` ships this happy path; the tests'
subclass adds fault injection and a request log (``tests/standins``).
"""

from __future__ import annotations

import mimetypes
import re
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, unquote, urlsplit

from tunecrate.demo._http import LoopbackServer, quiet_handler, send_body

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
_CHUNK = 64 * 1024
_TYPES = {".webm": "audio/webm", ".opus": "audio/ogg", ".ogg": "audio/ogg", ".m4a": "audio/mp4",
          ".mp3": "audio/mpeg", ".wav": "audio/wav", ".flac": "audio/flac", ".jpg": "image/jpeg",
          ".png": "image/png"}


class MediaServer(LoopbackServer):
    """Threaded HTTP server on 127.0.0.1 serving registered files under ``/media/<name>``."""

    _thread_name = "media-server"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._files: dict[str, Path] = {}
        self._lock = threading.Lock()
        self._bind(host, port, quiet_handler(HEAD=lambda handler: self._serve(handler, head=True),
                                             GET=lambda handler: self._serve(handler, head=False)))

    def url(self, name: str) -> str:
        return f"{self.base_url}/media/{quote(name)}"

    def add_file(self, name: str, path: Path) -> str:
        """Serve ``path`` as ``/media/<name>``; return its URL."""
        with self._lock:
            self._files[name] = Path(path)
        return self.url(name)

    # -- request handling -------------------------------------------------------------

    def _source(self, path: str) -> Path | None:
        """The file a request path names, if it is registered and exists."""
        with self._lock:
            source = self._files.get(path.removeprefix("/media/")) if path.startswith("/media/") else None
        return source if source is not None and source.is_file() else None

    def _serve(self, handler: BaseHTTPRequestHandler, head: bool) -> None:
        source = self._source(unquote(urlsplit(handler.path).path))
        if source is None:
            self._send_error(handler, 404)
            return
        send_file(handler, source, head, send_body=self._send_body)

    def _send_body(self, handler: BaseHTTPRequestHandler, fh: BinaryIO, length: int) -> None:
        """Copy ``length`` bytes of ``fh`` to the client."""
        copy_body(handler, fh, length)

    @staticmethod
    def _send_error(handler: BaseHTTPRequestHandler, status: int) -> None:
        send_body(handler, status, b"error", {"Content-Type": "text/plain"})


def copy_body(handler: BaseHTTPRequestHandler, fh: BinaryIO, length: int) -> None:
    """Copy ``length`` bytes of ``fh`` to the client."""
    sent = 0
    while sent < length:
        chunk = fh.read(min(_CHUNK, length - sent))
        if not chunk:
            break
        handler.wfile.write(chunk)
        sent += len(chunk)


def send_file(handler: BaseHTTPRequestHandler, source: Path, head: bool, *,
              byte_range: str | None = None, send_body=copy_body) -> None:
    """Answer ``handler``'s request with the file ``source``: 200, or 206 for a single
    ``Range: bytes=a-b`` (``byte_range`` overrides the header), 416 outside the file."""
    size = source.stat().st_size
    start, end = 0, size - 1
    status = 200
    m = _RANGE.match(byte_range if byte_range is not None else handler.headers.get("Range") or "")
    if m and (m.group(1) or m.group(2)):
        if m.group(1):
            start = int(m.group(1))
            end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
        else:
            start = max(0, size - int(m.group(2)))
        if start >= size:
            handler.send_response(416)
            handler.send_header("Content-Range", f"bytes */{size}")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        status = 206
    length = end - start + 1
    handler.send_response(status)
    ctype = _TYPES.get(source.suffix.lower()) or mimetypes.guess_type(source.name)[0]
    handler.send_header("Content-Type", ctype or "application/octet-stream")
    handler.send_header("Content-Length", str(length))
    handler.send_header("Accept-Ranges", "bytes")
    if status == 206:
        handler.send_header("Content-Range", f"bytes {start}-{end}/{size}")
    handler.end_headers()
    if head:
        return
    try:
        with open(source, "rb") as fh:
            fh.seek(start)
            send_body(handler, fh, length)
    except (BrokenPipeError, ConnectionResetError):
        return
