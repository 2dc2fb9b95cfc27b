"""Online providers: who offers recordings for a track, behind one small protocol.

A provider turns a :class:`~tunecrate.core.types.TrackInfo` into a list of
:class:`~tunecrate.core.types.Candidate` recordings; the matcher scores them.
Adding a source means one new module with one class and one entry in
:data:`KNOWN_PROVIDERS`, and the pipeline does not change.

Built-in providers:

- ``"ytmusic"``: :class:`tunecrate.services.ytmusic.YTMusicProvider`
  (YouTube Music search through ytmusicapi);
- ``"youtube"``: :class:`tunecrate.services.youtube.YouTubeProvider`
  (YouTube search through yt-dlp's ``ytsearch``).

Their modules import ytmusicapi and yt-dlp only when a search runs, so that
importing this package costs nothing at CLI start-up.

Errors every provider raises from :meth:`Provider.search`:
:class:`~tunecrate.core.errors.ServiceUnavailable` when the service cannot be
reached, times out or answers 5xx; :class:`~tunecrate.core.errors.RateLimited`
on HTTP 429; :class:`~tunecrate.core.errors.ServiceError` for anything else the
library raises. Raw library exceptions never escape (they are chained as
``__cause__``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, runtime_checkable

from ..core.errors import ConfigurationError
from ..core.types import Candidate, TrackInfo

#: How many credited artists go into a search query.
QUERY_ARTISTS = 2

_FEATURING = re.compile(
    r"\s*(?:[(\[](?:feat\.?|ft\.|featuring|(?-i:with))\s[^)\]]*[)\]]|\s(?:feat\.|ft\.|featuring)\s.*$)",
    re.IGNORECASE,
)


@runtime_checkable
class Provider(Protocol):
    """Something that finds candidate recordings for a track.

    ``name`` is the provider's registry name; it is copied into
    :attr:`Candidate.provider`. :meth:`search` is called concurrently from
    the pipeline's worker threads, so implementations must be thread-safe.
    """

    name: str

    def search(self, track: TrackInfo) -> list[Candidate]:
        """Candidates for ``track``, best guesses first, without duplicate URLs.

        Returns an empty list when the service knows nothing that fits.
        Raises :class:`ServiceUnavailable`, :class:`RateLimited` or
        :class:`ServiceError` (see the module docstring).
        """
        ...


def search_query(track: TrackInfo, separator: str = " ") -> str:
    """The free-text query for ``track``: ``"<artists><separator><title>"``.

    Uses the first :data:`QUERY_ARTISTS` credited artists, joined with
    ``", "``, and the title without a featuring clause (``"(feat. X)"``,
    ``"[ft. X]"``, Spotify's lower-case ``"(with X)"``, ``" feat. X"``), because the featured
    artists are already credited and the clause only adds noise. Version
    words such as ``"- Live"`` or ``"(Remix)"`` are kept: they select the
    recording. Example: ``search_query(t, " - ")`` →
    ``"Daft Punk, Pharrell Williams - Get Lucky"``.
    """
    title = _FEATURING.sub("", track.title).strip() or track.title.strip()
    artists = ", ".join(a for a in track.artists[:QUERY_ARTISTS] if a)
    return f"{artists}{separator}{title}" if artists else title


def unique_candidates(candidates: Iterable[Candidate]) -> list[Candidate]:
    """``candidates`` in order, keeping only the first one for each URL."""
    seen: set[str] = set()
    unique = []
    for candidate in candidates:
        if candidate.url not in seen:
            seen.add(candidate.url)
            unique.append(candidate)
    return unique


def one_line(error: BaseException, limit: int = 160) -> str:
    """``str(error)`` on one line, cut to ``limit`` characters, for error messages."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ytmusic(timeout: float, limit: int) -> Provider:
    from .ytmusic import YTMusicProvider

    return YTMusicProvider(timeout=timeout, limit=limit)


def _youtube(timeout: float, limit: int) -> Provider:
    from .youtube import YouTubeProvider

    return YouTubeProvider(timeout=timeout, limit=limit)


#: Registry name → factory taking ``(timeout, limit)``.
KNOWN_PROVIDERS: dict[str, Callable[[float, int], Provider]] = {
    "ytmusic": _ytmusic,
    "youtube": _youtube,
}


def build_providers(
    names: Sequence[str], *, timeout: float = 20.0, limit: int = 5
) -> list[Provider]:
    """Providers for ``names`` (for example ``Settings.providers``), in that order.

    A name given twice yields one provider. ``timeout`` is each request's
    network timeout in seconds; ``limit`` is how many results a provider
    keeps per search query. Building is cheap and offline: clients and
    network connections are created on the first search.

    Raises :class:`ConfigurationError` for an unknown name (the message lists
    the known ones) or a non-positive ``timeout`` or ``limit``.
    """
    unknown = [n for n in names if n not in KNOWN_PROVIDERS]
    if unknown:
        raise ConfigurationError(
            f"unknown provider(s): {', '.join(map(repr, unknown))}; "
            f"known providers are {', '.join(KNOWN_PROVIDERS)}"
        )
    if timeout <= 0:
        raise ConfigurationError(f"provider timeout must be positive, not {timeout!r}")
    if limit < 1:
        raise ConfigurationError(f"provider result limit must be at least 1, not {limit!r}")
    return [KNOWN_PROVIDERS[n](timeout, limit) for n in dict.fromkeys(names)]
