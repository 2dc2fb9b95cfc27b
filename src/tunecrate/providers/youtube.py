"""YouTube provider: candidates from yt-dlp's YouTube search (``ytsearchN:``).

Source: yt-dlp's ``youtube:search`` extractor (``yt_dlp/extractor/youtube/
_search.py``), which queries YouTube's InnerTube ``search`` endpoint for
videos only. With ``extract_flat`` the entries are not resolved further, so
one search costs the extractor's requests for a single result page (a client
config page and the search API call) and no per-video requests.

Query: ``"<artists> - <title>"`` (see
:func:`tunecrate.providers.base.search_query`). The search URL is fixed
by yt-dlp (``https://www.youtube.com/youtubei/v1/search``); like YouTube
Music, it has no base-URL setting: offline, it is reached through
``TUNECRATE_PROXY`` and ``TUNECRATE_CA_BUNDLE``. The ``YoutubeDL`` comes from
the library's yt-dlp factory (:class:`ProviderContext` ``ytdlp``), so proxy,
CA bundle, cookies and ``TUNECRATE_YTDLP_OPTIONS`` apply to searches too.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from ..core.errors import RateLimited, ServiceError, ServiceUnavailable, one_line
from ..core.types import Candidate, TrackInfo
from ..core.settings import SettingsModel, setting
from .base import ProviderContext, search_query, unique_candidates

if TYPE_CHECKING:
    from yt_dlp import YoutubeDL

WATCH_URL = "https://www.youtube.com/watch?v={}"

_log = logging.getLogger(__name__)


def parse_ytsearch_entries(entries: list[dict[str, Any]]) -> list[Candidate]:
    """Candidates from the ``entries`` of a flat ``ytsearchN:`` result.

    Each entry is yt-dlp's flat video dict (``_type: "url"``, ``ie_key:
    "Youtube"``, ``id``, ``url``, ``title``, ``duration`` in seconds or
    ``None``, ``channel``, ``uploader``, ``channel_is_verified``,
    ``live_status``, …). Kept: entries with an ``id`` and a ``title`` that
    are videos (``ie_key`` ``"Youtube"`` or absent) and not live or upcoming
    streams; order is kept and a repeated URL counts once. Mapping: ``url``
    is the entry's ``url`` (a watch or shorts URL) or
    ``https://www.youtube.com/watch?v=<id>``; ``artist`` is ``artist`` if
    present, else ``channel``, else ``uploader``; ``duration_ms`` is
    ``duration`` × 1000. ``verified`` is True when the channel carries
    YouTube's verified or official-artist badge (``channel_is_verified``) or
    is an auto-generated ``"<artist> - Topic"`` or a ``…VEVO`` channel.
    """
    candidates = []
    for entry in entries:
        video_id = entry.get("id")
        title = entry.get("title")
        if not video_id or not title or entry.get("ie_key", "Youtube") != "Youtube":
            continue
        if entry.get("live_status") in ("is_live", "is_upcoming"):
            continue
        url = entry.get("url")
        if not (isinstance(url, str) and url.startswith("https://")):
            url = WATCH_URL.format(video_id)
        channel = entry.get("channel") or entry.get("uploader") or ""
        duration = entry.get("duration")
        candidates.append(
            Candidate(
                url=url,
                title=title,
                artist=entry.get("artist") or channel,
                duration_ms=(
                    round(duration * 1000)
                    if isinstance(duration, (int, float)) and duration > 0
                    else None
                ),
                provider="youtube",
                verified=bool(entry.get("channel_is_verified"))
                or channel.endswith(" - Topic")
                or channel.upper().endswith("VEVO"),
            )
        )
    return unique_candidates(candidates)


def youtube_error(error: Exception) -> ServiceError:
    """The tunecrate error for an exception raised by ``YoutubeDL.extract_info``.

    yt-dlp reports failures as ``DownloadError`` whose ``exc_info`` (and the
    ``cause``/``__cause__``/``__context__`` chain below it) holds the
    original error. A ``yt_dlp.networking.exceptions.HTTPError`` with status
    429 → :class:`RateLimited`, 5xx → :class:`ServiceUnavailable`, other
    statuses → :class:`ServiceError` with ``status``; a ``TransportError``
    (DNS, refused or reset connection, timeout, TLS) →
    :class:`ServiceUnavailable`; anything else → :class:`ServiceError`.
    """
    from yt_dlp.networking.exceptions import HTTPError, TransportError

    cause = _find_cause(error, (HTTPError, TransportError))
    if isinstance(cause, HTTPError):
        if cause.status == 429:
            return RateLimited("YouTube is rate limiting searches (HTTP 429); retry later")
        if cause.status >= 500:
            return ServiceUnavailable(
                f"YouTube answered HTTP {cause.status}; retry later", status=cause.status
            )
        return ServiceError(
            f"YouTube refused the search (HTTP {cause.status})", status=cause.status
        )
    if cause is not None:
        return ServiceUnavailable(
            f"YouTube could not be reached ({one_line(cause)}); "
            "check the network connection and retry"
        )
    return ServiceError(
        f"YouTube search failed: {one_line(error).removeprefix('ERROR: ')}; "
        "updating yt-dlp may help"
    )


class YouTubeSearchSettings(SettingsModel):
    """How the ``youtube`` provider searches YouTube."""

    youtube_timeout: float = setting(20.0, env="TUNECRATE_YOUTUBE_TIMEOUT", help="seconds per search request", gt=0)
    youtube_limit: int = setting(5, env="TUNECRATE_YOUTUBE_LIMIT", help="results kept per search query", ge=1)


class YouTubeProvider:
    """Finds candidates with a YouTube video search (provider name ``"youtube"``).

    One request round per track: ``ytsearch<limit>:<artists> - <title>``.
    ``timeout`` is yt-dlp's ``socket_timeout`` in seconds; ``limit`` the
    number of search results asked for. Each worker thread gets its own
    ``YoutubeDL``, created on its first search and reused.
    """

    name = "youtube"
    settings_model = YouTubeSearchSettings

    @classmethod
    def from_settings(cls, settings, context: ProviderContext) -> "YouTubeProvider":
        s = settings.section(YouTubeSearchSettings)
        return cls(timeout=s.youtube_timeout, limit=s.youtube_limit, ytdlp=context.ytdlp)

    def __init__(self, *, timeout: float = 20.0, limit: int = 5, ytdlp: Any = None) -> None:
        self.timeout = timeout
        self.limit = limit
        self._ytdlp = ytdlp
        self._local = threading.local()

    def search(self, track: TrackInfo) -> list[Candidate]:
        """Candidates for ``track`` in YouTube's relevance order.

        Raises :class:`ServiceUnavailable`, :class:`RateLimited` or
        :class:`ServiceError` as mapped by :func:`youtube_error`.
        """
        query = search_query(track, separator=" - ")
        ydl = self._ydl()
        try:
            info = ydl.extract_info(f"ytsearch{self.limit}:{query}", download=False)
        except Exception as exc:
            hint = self._ytdlp.explain(one_line(exc), ydl.params.get("logger")) if self._ytdlp else None
            raise (ServiceError(hint) if hint else youtube_error(exc)) from exc
        return parse_ytsearch_entries(list((info or {}).get("entries") or []))

    def _ydl(self) -> YoutubeDL:
        ydl = getattr(self._local, "ydl", None)
        if ydl is None:
            options = {"quiet": True, "no_warnings": True, "extract_flat": "in_playlist",
                       "skip_download": True, "socket_timeout": self.timeout, "cachedir": False}
            if self._ytdlp is not None:
                ydl = self._ytdlp.create(options)
            else:
                from yt_dlp import YoutubeDL

                ydl = YoutubeDL({**options, "logger": _YtDlpLog()})
            self._local.ydl = ydl
        return ydl


class _YtDlpLog:
    """Sends yt-dlp's messages to our debug log; its failures reach us as exceptions."""

    def debug(self, message: str) -> None:
        _log.debug("yt-dlp: %s", message)

    warning = error = debug


def _find_cause(
    error: BaseException, kinds: tuple[type[BaseException], ...]
) -> BaseException | None:
    """The first exception of ``kinds`` in ``error``'s chain, breadth first."""
    pending: list[object] = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kinds):
            return current
        exc_info = getattr(current, "exc_info", None)
        if isinstance(exc_info, tuple) and len(exc_info) > 1:
            pending.append(exc_info[1])
        pending += [getattr(current, "cause", None), current.__cause__, current.__context__]
    return None
