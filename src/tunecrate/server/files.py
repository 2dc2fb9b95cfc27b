"""Responses that carry files: a track's audio (byte ranges), its download, a playlist's ZIP and M3U8, covers.

Only paths the library itself computed from validated ids are ever opened
(:meth:`~tunecrate.library.library.Library.track_file`, the playlist cover
cache, the static assets listed at start-up); nothing in a request becomes a path.
"""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response, StreamingResponse

from tunecrate.storage.names import safe_component, track_filename

if TYPE_CHECKING:
    from tunecrate.library.library import Library

__all__ = ["content_disposition", "cover_response", "m3u8_response", "track_file_response", "zip_response"]

def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """An RFC 6266 ``Content-Disposition``: an ASCII ``filename`` fallback and the UTF-8 ``filename*``.

    ``filename`` is made safe first (:func:`~tunecrate.storage.names.safe_component`).
    """
    name = safe_component(filename)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\%' else "_" for ch in ascii_name)
    return f"{disposition}; filename=\"{ascii_name or '_'}\"; filename*=UTF-8''{quote(name, safe='')}"


def track_file_response(library: Library, track_id: str, *, download: bool) -> Response:
    """The MP3 of a downloaded track (``audio/mpeg``; ``Range`` answered with 206 or 416).

    ``download`` adds ``Content-Disposition: attachment`` named ``Artist - Title.mp3``.
    Raises :class:`~tunecrate.core.errors.NotFound`.
    """
    path = library.track_file(track_id)
    headers = {"Cache-Control": "private, max-age=3600"}
    if download:
        row = library.catalogue.track_row(track_id)
        headers["Content-Disposition"] = content_disposition(track_filename(row.artists, row.title))
    return FileResponse(path, media_type="audio/mpeg", headers=headers)


def zip_response(library: Library, playlist_id: str) -> Response:
    """The playlist's ZIP, streamed as it is built (the same bytes as ``download-playlist-zip``).

    Raises :class:`~tunecrate.core.errors.NotFound` before anything is sent.
    """
    stream = library.iter_playlist_zip(playlist_id)

    async def body() -> AsyncIterator[bytes]:
        try:
            while True:
                chunk = await run_in_threadpool(next, stream, None)
                if chunk is None:
                    return
                yield chunk
        finally:
            stream.close()

    return StreamingResponse(body(), media_type="application/zip",
                             headers={"Content-Disposition": content_disposition(stream.filename),
                                      "Cache-Control": "no-store"})


def m3u8_response(library: Library, playlist_id: str, base_url: str) -> Response:
    """The playlist as an extended M3U8 whose entries are this server's stream URLs (downloaded tracks only).

    Raises :class:`~tunecrate.core.errors.NotFound`.
    """
    from tunecrate.targets.base import entries_of
    from tunecrate.targets.m3u8 import m3u8_lines

    tracks = library.exporter.tracklist(playlist_id)
    entries = [e for e in entries_of(tracks, library.exporter) if e.path is not None]
    base = base_url.rstrip("/")
    text = "".join(m3u8_lines(((e, f"{base}/track/{quote(e.track_id)}/stream") for e in entries),
                              title=tracks.title))
    return Response(text, media_type="audio/x-mpegurl; charset=utf-8",
                    headers={"Content-Disposition": content_disposition(tracks.title + ".m3u8", "inline")})


def cover_response(path: Path | None, data: bytes | None = None, mime: str = "image/jpeg") -> Response:
    """An image from a file of the library, or from bytes (an MP3's embedded cover); 404 without either."""
    headers = {"Cache-Control": "private, max-age=3600"}
    if path is not None:
        return FileResponse(path, media_type=mime, headers=headers)
    if data is not None:
        return Response(data, media_type=mime, headers=headers)
    return Response(status_code=404)
