"""Domain types shared by every layer.

They are plain frozen dataclasses so that services can build them, the matcher
can score them and the library can store them without any of those layers
knowing each other. Durations are milliseconds throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TrackInfo:
    """What the metadata source says about one track.

    Source: the Spotify Web API track object (playlist items, album tracks,
    ``GET /tracks/{id}``), or the tags and playlist JSON of a local library.

    ``track_id`` is the Spotify track id (22 base62 characters). ``artists``
    lists every credited artist in Spotify's order; ``album_artists`` those of
    the album. ``release_date`` keeps Spotify's precision: ``"2011"``,
    ``"2011-05"`` or ``"2011-05-09"``. ``cover_url`` is the largest album
    image.
    """

    track_id: str
    title: str
    artists: tuple[str, ...]
    album: str = ""
    album_artists: tuple[str, ...] = ()
    duration_ms: int = 0
    track_number: int | None = None
    track_total: int | None = None
    disc_number: int | None = None
    release_date: str | None = None
    explicit: bool = False
    isrc: str | None = None
    cover_url: str | None = None

    @property
    def spotify_url(self) -> str:
        """The open.spotify.com URL of this track."""
        return f"https://open.spotify.com/track/{self.track_id}"

    @property
    def artist(self) -> str:
        """All artists joined for display: ``"A, B"``."""
        return ", ".join(self.artists)


@dataclass(frozen=True)
class SkippedEntry:
    """A playlist or album entry that cannot become a track.

    ``position`` is the 0-based index in the source listing; ``reason`` is one
    of ``"null"``, ``"local"``, ``"episode"``, ``"unavailable"``; ``name`` is
    whatever title the entry carried, if any.
    """

    position: int
    reason: str
    name: str | None = None


@dataclass(frozen=True)
class PlaylistInfo:
    """An ordered list of tracks from a source: a playlist, an album or Liked Songs.

    ``kind`` is ``"playlist"``, ``"album"`` or ``"likes"``. ``entries`` holds
    the tracks in source order (a track listed twice appears twice); ``skipped``
    reports the entries that could not be used, with their source positions. ``snapshot_id`` is Spotify's
    playlist version (``None`` for albums and Liked Songs).
    """

    kind: str
    playlist_id: str
    title: str
    entries: tuple[TrackInfo, ...] = ()
    skipped: tuple[SkippedEntry, ...] = ()
    snapshot_id: str | None = None
    owner: str | None = None
    description: str | None = None
    cover_url: str | None = None

    @property
    def track_count(self) -> int:
        return len(self.entries)


@dataclass(frozen=True)
class Candidate:
    """A recording that a provider offers for a track.

    ``url`` is what the fetcher downloads: a web URL that yt-dlp understands or
    an absolute local file path. ``artist`` is the credited artist or, for
    plain videos, the channel name. ``duration_ms`` may be unknown (``None``).
    ``provider`` names who found it: ``"ytmusic"``, ``"youtube"``, ``"local"``
    or ``"pinned"``. ``verified`` is True when the provider vouches for the
    artist (a YouTube Music song or an official artist channel).
    """

    url: str
    title: str
    artist: str
    duration_ms: int | None
    provider: str
    isrc: str | None = None
    verified: bool = False
    album: str | None = None


@dataclass(frozen=True)
class Score:
    """How well a candidate fits a track, with the reasons.

    ``total`` is in ``[0, 1]``; ``components`` maps a named component
    (``"title"``, ``"artist"``, ``"duration"``, ``"version"``, ``"isrc"``, …)
    to its contribution so a user can be told why a candidate lost.
    ``rejected`` is a one-line reason when a hard rule ruled it out (for
    example ``"version mismatch: live"``); a rejected score has total 0.
    """

    total: float
    components: dict[str, float] = field(default_factory=dict)
    rejected: str | None = None


@dataclass(frozen=True)
class Match:
    """A scored candidate."""

    candidate: Candidate
    score: Score
