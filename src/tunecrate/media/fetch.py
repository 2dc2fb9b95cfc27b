"""Getting the audio of a chosen source onto local disk.

A source is either an absolute path to an audio file the user owns, or any
URL yt-dlp can download: YouTube and YouTube Music watch pages, and direct
media URLs (through yt-dlp's generic extractor). Downloads take the best audio
format and are not post-processed; encoding happens afterwards with ffmpeg.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tunecrate.core.errors import DownloadError
from tunecrate.core.net import TLS_HINT, untrusted_certificate
from tunecrate.media.ytdlp import YtDlpFactory

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
    """Import yt-dlp (and httpx, for the covers) in a background thread, once per process, so that the
    first download does not wait for it.

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

        import httpx  # noqa: F401  (the covers, fetched after the first encode)
    except Exception:  # noqa: BLE001  (reported by the download that needs it)
        pass


@dataclass(frozen=True)
class SourceDigest:
    """The size (bytes) and SHA-256 (hex) of the audio a track's file was made from, as fetched.

    Two sources with the same digest are the same recording, whatever their
    URLs: re-pinning a track to a source whose bytes equal those its file was
    made from keeps the file as it is.
    """

    size: int
    sha256: str

    @classmethod
    def of(cls, path: Path) -> "SourceDigest":
        """The digest of the file at ``path`` (read once, in 1 MiB blocks). Raises ``OSError``."""
        digest, size = hashlib.sha256(), 0
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
                size += len(block)
        return cls(size, digest.hexdigest())


def audio_container(path: Path) -> str | None:
    """The audio container the file at ``path`` starts like (``"mp3"``, ``"flac"``, ``"ogg"``,
    ``"wav"``, ``"aiff"``, ``"matroska"`` for WebM/MKV, ``"mp4"`` for M4A/MP4, ``"aac"``, ``"asf"``
    for WMA), from its magic bytes, never its name; ``None`` when it looks like none of them.

    Raises ``OSError`` when the file cannot be read.
    """
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head.startswith(b"ID3"):
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "aac"  # ADTS
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:
        return "mp3"  # an MPEG audio frame header (layer bits set)
    for magic, name in ((b"fLaC", "flac"), (b"OggS", "ogg"), (b"\x1aE\xdf\xa3", "matroska"),
                        (b"0&\xb2u\x8ef\xcf\x11", "asf")):
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[4:8] == b"ftyp":
        return "mp4"
    return None


class Fetcher:
    """Downloads sources into ``work_dir`` with reused ``YoutubeDL`` instances.

    One instance per worker thread: ``YoutubeDL`` objects are not shared
    between threads. A URL whose extractor is obvious (:func:`extractor_for`)
    goes to a ``YoutubeDL`` that holds that extractor alone (see
    :meth:`~tunecrate.media.ytdlp.YtDlpFactory.create`). yt-dlp's own retries
    are off: the caller retries a failed download under the one retry policy
    (:mod:`tunecrate.core.retry`), so attempts do not multiply.
    ``socket_timeout`` is in seconds. ``ytdlp`` builds the ``YoutubeDL``
    (JavaScript runtime, cookies, extra options, proxy, CA bundle; see
    :mod:`tunecrate.media.ytdlp`).
    """

    def __init__(self, work_dir: Path, *, socket_timeout: float = 20.0, ytdlp: YtDlpFactory | None = None) -> None:
        self.work_dir = work_dir
        self._factory = ytdlp or YtDlpFactory()
        self._options = {
            "format": "bestaudio/best",
            # yt-dlp reads the whole path as a template: a '%' in the folder's name is escaped as '%%'.
            "outtmpl": {"default": str(work_dir).replace("%", "%%") + os.sep + "%(id)s.%(ext)s"},
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
        }
        self._ydls: dict[str | None, Any] = {}  # extractor key (None: all of them) -> YoutubeDL

    def fetch(self, source: str) -> tuple[Path, bool]:
        """Return ``(path, owned)``: the audio file for ``source``, and whether it is ours to delete.

        Local sources are returned as they are (never modified, ``owned`` False);
        URLs are downloaded into ``work_dir`` (``owned`` True).

        Raises :class:`DownloadError`; ``transient`` is True for network
        failures worth retrying, False for 4xx, unsupported URLs, missing
        files, bot checks and unsolved YouTube challenges (whose message says
        which setting to change, see :func:`~tunecrate.media.ytdlp.explain_failure`).
        Raises :class:`~tunecrate.core.errors.ConfigurationError` for a bad
        yt-dlp setting.
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
            self.work_dir.mkdir(parents=True, exist_ok=True)
            ydl = self._ydls[ie_key] = self._factory.create(self._options, extractor=ie_key)
        return ydl

    def _download(self, url: str) -> Path:
        from yt_dlp.utils import YoutubeDLError

        ie_key = extractor_for(url)
        ydl = self._ydl(ie_key)
        logger = ydl.params.get("logger")
        if hasattr(logger, "start"):
            logger.start()
        try:
            info = ydl.extract_info(url, download=True, ie_key=ie_key)
        except YoutubeDLError as exc:
            message = _ANSI.sub("", str(exc)).removeprefix("ERROR: ").strip()
            hint = self._factory.explain(message, logger)
            if hint:
                raise DownloadError(hint, transient=False) from exc
            if untrusted_certificate(message):
                raise DownloadError(f"download failed: {message}; {TLS_HINT}", transient=False) from exc
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
