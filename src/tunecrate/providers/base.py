"""Online providers: who offers recordings for a track, behind one small protocol.

A provider turns a :class:`~tunecrate.core.types.TrackInfo` into a list of
:class:`~tunecrate.core.types.Candidate` recordings; the matcher scores them.
Adding a source means one new module with one class and one entry in
:data:`KNOWN_PROVIDERS`, and the pipeline does not change.

Built-in providers:

- ``"ytmusic"``: :class:`tunecrate.providers.ytmusic.YTMusicProvider`
  (YouTube Music search through ytmusicapi);
- ``"youtube"``: :class:`tunecrate.providers.youtube.YouTubeProvider`
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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from ..core.errors import one_line
from ..core.types import Candidate, TrackInfo

if TYPE_CHECKING:
    from ..core.settings import Settings, SettingsModel

__all__ = ["Provider", "ProviderContext", "one_line", "search_query", "unique_candidates"]

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
    A provider is built by its class method ``from_settings(settings,
    context)``, which reads its own settings model (``settings_model``) with
    :meth:`~tunecrate.core.settings.Settings.section`; building is cheap and
    offline.
    """

    name: str
    settings_model: ClassVar[type[SettingsModel] | None]

    @classmethod
    def from_settings(cls, settings: Settings, context: ProviderContext) -> Provider:
        """Build the provider for a library. Raises :class:`ConfigurationError` for bad settings."""
        ...

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


@dataclass(frozen=True)
class ProviderContext:
    """What a library hands its providers besides settings: ``engine``, the catalogue's
    SQLAlchemy engine (for providers that keep an index in it), and ``ytdlp``, the
    library's :class:`tunecrate.media.ytdlp.YtDlpFactory` (JavaScript runtime, cookies,
    extra options, proxy and CA bundle) for providers that run yt-dlp."""

    engine: Any = None
    ytdlp: Any = None
