"""Getting the audio of a chosen source onto local disk.

A source is either an absolute path to an audio file the user owns, or any
URL yt-dlp can download: YouTube and YouTube Music watch pages, and direct
media URLs (through yt-dlp's generic extractor). Downloads take the best audio
format and are not post-processed; encoding happens afterwards with ffmpeg.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tunecrate.core.errors import DownloadError

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PERMANENT = re.compile(r"HTTP Error 4(?!29)\d\d|Unsupported URL|is not a valid URL|Video unavailable|Private video")


_YOUTUBE_HOSTS = {"www.youtube.com", "youtube.com", "m.youtube.com", "music.youtube.com", "youtu.be"}
_MEDIA_SUFFIXES = (".webm", ".m4a", ".mp4", ".mp3", ".opus", ".ogg", ".oga", ".flac", ".wav", ".aac")


def extractor_for(url: str) -> str | None:
    """The yt-dlp extractor key a URL obviously belongs to, or ``None`` to let yt-dlp decide.

    YouTube and YouTube Music watch URLs go to ``Youtube``; a direct link to an
    audio file to ``Generic``. Naming it spares yt-dlp matching the URL
    against every extractor it has (about 0.6 s of CPU the first time).
    """
    split = urlsplit(url)
    if split.hostname in _YOUTUBE_HOSTS:
        return "Youtube"
    if split.path.lower().endswith(_MEDIA_SUFFIXES):
        return "Generic"
    return None


def file_source_path(source: str) -> Path | None:
    """The local file a source names (absolute path or ``file://`` URL), else ``None``."""
    if source.startswith("file://"):
        return Path(unquote(urlsplit(source).path))
    if "://" not in source:
        return Path(source)
    return None


_warming: threading.Thread | None = None
_warming_lock = threading.Lock()


def warm_up() -> None:
    """Import yt-dlp in a background thread, once per process, so that the first download does not wait for it.

    yt-dlp takes about 0.2 s of CPU to import and set up; a load calls this
    before it reads its list from the metadata source, whose network round
    trips then hide that time. Returns at once; never raises (a failed import
    shows again, as a :class:`DownloadError`, on the first download).
    """
    global _warming
    with _warming_lock:
        if _warming is None:
            _warming = threading.Thread(target=_import_yt_dlp, name="tunecrate-warm-up", daemon=True)
            _warming.start()


def _import_yt_dlp() -> None:
    try:
        import yt_dlp.extractor.generic  # noqa: F401  (the extractor of direct media URLs)
        from yt_dlp import YoutubeDL  # noqa: F401
    except Exception:  # noqa: BLE001  (reported by the download that needs it)
        pass


class _QuietLogger:
    """Routes yt-dlp's messages away from the terminal; errors come back as exceptions."""

    def debug(self, msg: str) -> None:
        pass

    info = warning = debug

    def error(self, msg: str) -> None:
        pass


class Fetcher:
    """Downloads sources into ``work_dir`` with reused ``YoutubeDL`` instances.

    One instance per worker thread: ``YoutubeDL`` objects are not shared
    between threads. A URL whose extractor is obvious (:func:`extractor_for`)
    goes to a ``YoutubeDL`` that holds that extractor alone: setting one up
    with all of yt-dlp's 1,800 extractors costs about 0.2 s of CPU, paid once
    per thread, and only for URLs yt-dlp must recognise itself. yt-dlp's own
    retries are off: the caller retries a failed download under the one
    retry policy (:mod:`tunecrate.core.retry`), so attempts do not multiply.
    ``socket_timeout`` is in seconds; ``proxy`` (a URL) reaches yt-dlp's requests.
    """

    def __init__(self, work_dir: Path, *, socket_timeout: float = 20.0, proxy: str | None = None) -> None:
        self.work_dir = work_dir
        self._options = {
            "format": "bestaudio/best",
            "outtmpl": {"default": str(work_dir / "%(id)s.%(ext)s")},
            "quiet": True,
            "no_warnings": True,
            "noprogress": True,
            "noplaylist": True,
            "retries": 0,
            "fragment_retries": 0,
            "extractor_retries": 0,
            "socket_timeout": socket_timeout,
            "cachedir": False,
            "overwrites": True,
            "logger": _QuietLogger(),
        }
        if proxy:
            self._options["proxy"] = proxy
        self._ydls: dict[str | None, Any] = {}  # extractor key (None: all of them) -> YoutubeDL

    def fetch(self, source: str) -> tuple[Path, bool]:
        """Return ``(path, owned)``: the audio file for ``source``, and whether it is ours to delete.

        Local sources are returned as they are (never modified, ``owned`` False);
        URLs are downloaded into ``work_dir`` (``owned`` True).

        Raises :class:`DownloadError`; ``transient`` is True for network
        failures worth retrying, False for 4xx, unsupported URLs and missing files.
        """
        local = file_source_path(source)
        if local is not None:
            if not local.is_file():
                raise DownloadError(f"local source not found: {local}")
            return local, False
        return self._download(source), True

    def _ydl(self, ie_key: str | None) -> Any:
        """The ``YoutubeDL`` for URLs of the extractor ``ie_key`` (``None``: any URL), made on first use."""
        ydl = self._ydls.get(ie_key)
        if ydl is None:
            from yt_dlp import YoutubeDL
            from yt_dlp.extractor import get_info_extractor

            self.work_dir.mkdir(parents=True, exist_ok=True)
            if ie_key is None:
                ydl = YoutubeDL(self._options)
            else:
                ydl = YoutubeDL(self._options, auto_init=False)
                ydl.add_info_extractor(get_info_extractor(ie_key)())
            self._ydls[ie_key] = ydl
        return ydl

    def _download(self, url: str) -> Path:
        from yt_dlp.utils import YoutubeDLError

        ie_key = extractor_for(url)
        try:
            info = self._ydl(ie_key).extract_info(url, download=True, ie_key=ie_key)
        except YoutubeDLError as exc:
            message = _ANSI.sub("", str(exc)).removeprefix("ERROR: ").strip()
            raise DownloadError(
                f"download failed: {message}", transient=not _PERMANENT.search(message)
            ) from exc
        downloads = (info or {}).get("requested_downloads") or []
        path = Path(downloads[0]["filepath"]) if downloads else None
        if path is None or not path.is_file() or path.stat().st_size == 0:
            raise DownloadError(f"download of {url} produced no file", transient=True)
        return path

    def close(self) -> None:
        for ydl in self._ydls.values():
            ydl.close()
        self._ydls.clear()
