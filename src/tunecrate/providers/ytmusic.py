"""YouTube Music provider: candidates from ytmusicapi's unauthenticated search.

Source: the InnerTube ``search`` endpoint of music.youtube.com, called through
``ytmusicapi.YTMusic().search(query, filter=..., limit=...)`` (result keys as
in ytmusicapi 1.12, ``ytmusicapi/parsers/search.py``).

Request rule, per track (each step is one POST; ``limit`` is below a result
page, so ytmusicapi fetches no continuation pages):

1. if the track has an ISRC: ``search(isrc, filter="songs")``. YouTube Music
   indexes ISRCs and, when it knows one, returns that recording as the first
   song; when it does not, the ISRC is searched as free text and the results
   are noise. So only the first song result is considered, and it is kept
   (with ``Candidate.isrc`` set) only if :func:`pick_isrc_match` finds it
   plausible: the same title once bracketed parts, ``" - …"`` suffixes,
   case and punctuation are ignored, and, when both
   durations are known, at most :data:`ISRC_DURATION_TOLERANCE_MS` apart.
   Otherwise it is dropped.
2. always: ``search("<artists> <title>", filter="songs")``.
3. only if steps 1 and 2 gave no candidate: the same query with
   ``filter="videos"``.

So a track costs two requests with an ISRC, one without, plus one for the
videos fallback. Each worker thread also fetches the music.youtube.com home
page once, for the visitor id that ytmusicapi sends with every search.

Base URL: ytmusicapi 1.12 has no setting for it. ``YTM_DOMAIN`` and
``YTM_BASE_API`` are module constants (``ytmusicapi/constants.py``) that
``ytmusic.py``, ``helpers.py`` and ``mixins/browsing.py`` import by name, and
``YTMusic()`` takes no URL argument; only ``proxies`` and
``requests_session`` reach the transport. So this provider always talks to
music.youtube.com, through ``TUNECRATE_PROXY`` when one is set and trusting
``TUNECRATE_CA_BUNDLE`` besides the usual authorities
(:func:`tunecrate.core.net.requests_session`); that is also how the demo and
the tests reach the loopback stand-in (:mod:`tunecrate.demo.ytmusic_server`
behind :mod:`tunecrate.demo.proxy`).
"""

from __future__ import annotations

import locale
import re
import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.net import TLS_HINT, requests_session, untrusted_certificate
from ..core.errors import RateLimited, ServiceError, ServiceUnavailable, TunecrateError, one_line
from ..core.types import Candidate, TrackInfo
from ..core.settings import SettingsModel, setting
from .base import ProviderContext, search_query, unique_candidates

if TYPE_CHECKING:
    from ytmusicapi import YTMusic

#: Largest duration difference for an ISRC search hit to count as the track.
ISRC_DURATION_TOLERANCE_MS = 10_000

WATCH_URL = "https://music.youtube.com/watch?v={}"

#: ``YTMusic()`` calls ``locale.setlocale``, which is process-wide: serialise
#: constructions and restore the caller's locale afterwards.
_CONSTRUCTION_LOCK = threading.Lock()

_CLOCK = re.compile(r"^\d+(?::\d{1,2}){1,2}$")
_BRACKETED = re.compile(r"[(\[][^)\]]*[)\]]")


def parse_ytmusic_results(results: list[dict[str, Any]]) -> list[Candidate]:
    """Candidates from the list returned by ``YTMusic.search``.

    Only ``resultType`` ``"song"`` and ``"video"`` with a ``videoId`` and a
    ``title`` are kept, minus those greyed out (``isAvailable`` False); order
    is kept and a repeated ``videoId`` counts once. Mapping: ``url`` is
    ``https://music.youtube.com/watch?v=<videoId>``, ``artist`` the
    ``artists[].name`` joined with ``", "``, ``duration_ms`` from
    ``duration_seconds`` or else the ``"m:ss"``/``"h:mm:ss"`` ``duration``
    (``None`` when neither is there), ``album`` from ``album.name``.
    ``verified`` is True for songs (YouTube Music's own catalogue entries)
    and for official music videos (``videoType`` ``"MUSIC_VIDEO_TYPE_OMV"``).
    ``isrc`` is never set here (see :func:`pick_isrc_match`).
    """
    candidates = []
    for result in results:
        kind = result.get("resultType")
        video_id = result.get("videoId")
        title = result.get("title")
        if kind not in ("song", "video") or not video_id or not title:
            continue
        if result.get("isAvailable") is False:
            continue
        artists = ", ".join(a["name"] for a in result.get("artists") or () if a.get("name"))
        album = result.get("album") or {}
        candidates.append(
            Candidate(
                url=WATCH_URL.format(video_id),
                title=title,
                artist=artists,
                duration_ms=_duration_ms(result),
                provider="ytmusic",
                verified=kind == "song" or result.get("videoType") == "MUSIC_VIDEO_TYPE_OMV",
                album=album.get("name") or None,
            )
        )
    return unique_candidates(candidates)


def pick_isrc_match(track: TrackInfo, results: list[dict[str, Any]]) -> Candidate | None:
    """The recording that an ISRC search (``search(track.isrc, filter="songs")``) found.

    Looks only at the first ``"song"`` result. Returns it as a candidate with
    ``isrc=track.isrc`` when its title matches ``track.title`` (compared
    without bracketed parts, ``" - …"`` suffixes, case and punctuation, so
    ``"Song - Remastered 2011"`` equals ``"Song (Remastered 2011)"``) and,
    if both durations are known, they differ by
    at most :data:`ISRC_DURATION_TOLERANCE_MS`. Returns ``None`` otherwise,
    and when the track has no ISRC.
    """
    if not track.isrc:
        return None
    first_song = next((r for r in results if r.get("resultType") == "song"), None)
    parsed = parse_ytmusic_results([first_song]) if first_song else []
    if not parsed:
        return None
    candidate = parsed[0]
    wanted = _title_key(track.title)
    if not wanted or wanted != _title_key(candidate.title):
        return None
    if (
        track.duration_ms
        and candidate.duration_ms
        and abs(track.duration_ms - candidate.duration_ms) > ISRC_DURATION_TOLERANCE_MS
    ):
        return None
    return replace(candidate, isrc=track.isrc)


def ytmusic_error(error: Exception) -> ServiceError:
    """The tunecrate error for an exception raised by ytmusicapi or requests.

    requests' ``ConnectionError``, ``Timeout`` and ``ChunkedEncodingError``
    → :class:`ServiceUnavailable`; ``YTMusicServerError`` carrying HTTP 429
    → :class:`RateLimited`, 5xx → :class:`ServiceUnavailable`, other statuses
    → :class:`ServiceError` with ``status``; anything else (usually a
    response ytmusicapi can no longer parse) → :class:`ServiceError`.
    """
    import requests
    from ytmusicapi.exceptions import YTMusicServerError

    network = (
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        requests.exceptions.ChunkedEncodingError,
    )
    if isinstance(error, network):
        # requests wraps urllib3's error, which names the real reason (DNS, refused, timeout).
        detail: BaseException = error
        if detail.args and isinstance(detail.args[0], BaseException):
            detail = detail.args[0]
        if isinstance(getattr(detail, "reason", None), BaseException):
            detail = detail.reason  # type: ignore[attr-defined]
        advice = TLS_HINT if untrusted_certificate(error) else "check the network connection and retry"
        return ServiceUnavailable(f"YouTube Music could not be reached ({one_line(detail)}); {advice}")
    if isinstance(error, YTMusicServerError):
        found = re.search(r"HTTP (\d{3})", str(error))
        status = int(found.group(1)) if found else None
        if status == 429:
            return RateLimited("YouTube Music is rate limiting searches (HTTP 429); retry later")
        if status is not None and status >= 500:
            return ServiceUnavailable(
                f"YouTube Music answered HTTP {status}; retry later", status=status
            )
        return ServiceError(f"YouTube Music refused the search: {one_line(error)}", status=status)
    return ServiceError(
        f"YouTube Music search failed ({type(error).__name__}: {one_line(error)}); "
        "updating ytmusicapi may help"
    )


class YTMusicSettings(SettingsModel):
    """How the ``ytmusic`` provider searches YouTube Music."""

    ytmusic_timeout: float = setting(20.0, env="TUNECRATE_YTMUSIC_TIMEOUT", help="seconds per search request", gt=0)
    ytmusic_limit: int = setting(5, env="TUNECRATE_YTMUSIC_LIMIT", help="results kept per search query", ge=1)


class YTMusicProvider:
    """Finds candidates on YouTube Music (provider name ``"ytmusic"``).

    Follows the request rule in the module docstring. ``timeout`` is the
    per-request timeout in seconds; ``limit`` the number of results kept per
    query; ``proxy`` (a URL) and ``ca_bundle`` (a PEM file of extra
    certificate authorities) reach every request. Each worker thread gets its
    own unauthenticated ``YTMusic`` client (and HTTP session), created on its
    first search.
    """

    name = "ytmusic"
    settings_model = YTMusicSettings

    @classmethod
    def from_settings(cls, settings, context: ProviderContext) -> "YTMusicProvider":
        s = settings.section(YTMusicSettings)
        return cls(timeout=s.ytmusic_timeout, limit=s.ytmusic_limit, proxy=settings.proxy,
                   ca_bundle=settings.ca_bundle)

    def __init__(self, *, timeout: float = 20.0, limit: int = 5, proxy: str | None = None,
                 ca_bundle: Path | None = None) -> None:
        self.timeout = timeout
        self.limit = limit
        self.proxy = proxy
        self.ca_bundle = ca_bundle
        self._local = threading.local()

    def search(self, track: TrackInfo) -> list[Candidate]:
        """Candidates for ``track``: the ISRC hit first, then songs, else videos.

        Raises :class:`ServiceUnavailable`, :class:`RateLimited` or
        :class:`ServiceError` as mapped by :func:`ytmusic_error`.
        """
        found: list[Candidate] = []
        if track.isrc:
            hit = pick_isrc_match(track, self._search(track.isrc, "songs"))
            if hit is not None:
                found.append(hit)
        query = search_query(track)
        found += parse_ytmusic_results(self._search(query, "songs"))[: self.limit]
        if not found:
            found += parse_ytmusic_results(self._search(query, "videos"))[: self.limit]
        return unique_candidates(found)

    def _search(self, query: str, kind: str) -> list[dict[str, Any]]:
        try:
            return self._client().search(query, filter=kind, limit=self.limit)
        except TunecrateError:
            raise
        except Exception as exc:
            raise ytmusic_error(exc) from exc

    def _client(self) -> YTMusic:
        client = getattr(self._local, "client", None)
        if client is None:
            from ytmusicapi import YTMusic

            session = requests_session(self.proxy, self.ca_bundle, timeout_s=self.timeout)
            proxies = {"http": self.proxy, "https": self.proxy} if self.proxy else None
            with _CONSTRUCTION_LOCK:
                saved = locale.setlocale(locale.LC_ALL)
                try:
                    client = YTMusic(requests_session=session, proxies=proxies)
                finally:
                    locale.setlocale(locale.LC_ALL, saved)
            self._local.client = client
        return client


def _duration_ms(result: dict[str, Any]) -> int | None:
    seconds = result.get("duration_seconds")
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds > 0:
        return round(seconds * 1000)
    clock = result.get("duration")
    if isinstance(clock, str) and _CLOCK.match(clock.strip()):
        total = 0
        for part in clock.strip().split(":"):
            total = total * 60 + int(part)
        return total * 1000 or None
    return None


def _title_key(title: str) -> str:
    """``title`` reduced for comparison: no brackets, no ``" - …"`` suffix, only letters and digits."""
    core = _BRACKETED.sub(" ", title).split(" - ")[0]
    return "".join(ch for ch in core.casefold() if ch.isalnum()) or "".join(
        ch for ch in title.casefold() if ch.isalnum()
    )
