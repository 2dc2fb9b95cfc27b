"""Domain types shared by every layer.

They are plain frozen dataclasses so that sources and providers can build them,
the matcher can score them and the library can store them without any of those
layers knowing each other. Durations are milliseconds throughout.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping

from tunecrate.core.ids import is_spotify_id

#: The fields of :class:`TrackInfo` that a source may be unable to fill (see ``TrackInfo.missing``).
#: ``artists`` in ``missing`` means the list may be partial: the source names only the first artist.
OPTIONAL_FIELDS = ("album", "artists", "album_artists", "duration_ms", "track_number", "track_total",
                   "disc_number", "release_date", "explicit", "isrc", "cover_url")


@dataclass(frozen=True)
class TrackInfo:
    """What a metadata source says about one track.

    Sources: the Spotify Web API track object (playlist items, album tracks,
    ``GET /tracks/{id}``), Spotify's public embed pages, an account-data
    export or Exportify CSV, a browser reading the web player, or the tags
    and playlist JSON of a local library.

    ``track_id`` is the library's id of the track: the Spotify track id (22
    base62 characters) for every Spotify track, whatever source read it
    (see :mod:`tunecrate.core.ids` for the ids of anything else).
    ``artists`` lists every credited artist in the source's order (an export
    names only the first, and says so with ``"artists"`` in ``missing``);
    ``album_artists`` those of the album.
    ``release_date`` keeps the source's precision: ``"2011"``, ``"2011-05"``
    or ``"2011-05-09"``. ``duration_ms`` is 0 when unknown. ``cover_url`` is
    the largest album image. ``missing`` names the fields (from
    :data:`OPTIONAL_FIELDS`) that the source could not fill, so that a zero
    or an empty value is not mistaken for a known one: the matcher leaves
    them out of a score instead of counting them against a candidate, and a
    catalogue row keeps the value it already knows for such a field.
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
    missing: frozenset[str] = frozenset()

    @property
    def spotify_url(self) -> str | None:
        """The open.spotify.com URL of this track, or ``None`` when it is not a Spotify track."""
        return f"https://open.spotify.com/track/{self.track_id}" if is_spotify_id(self.track_id) else None

    @property
    def artist(self) -> str:
        """All artists joined for display: ``"A, B"``."""
        return ", ".join(self.artists)

    def knows(self, name: str) -> bool:
        """Whether the source filled the field ``name`` (it is not in :attr:`missing`)."""
        return name not in self.missing

    def to_json(self) -> dict[str, Any]:
        """The fields that hold a value, JSON-ready (lists for tuples, ``missing`` sorted)."""
        doc = {k: v for k, v in asdict(self).items() if v not in (None, "", (), frozenset(), False, 0)}
        for key in ("artists", "album_artists"):
            if key in doc:
                doc[key] = list(doc[key])
        if "missing" in doc:
            doc["missing"] = sorted(doc["missing"])
        doc.setdefault("title", self.title)
        return doc

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> "TrackInfo":
        """The inverse of :meth:`to_json` (unknown keys are ignored). Raises ``KeyError``, ``TypeError``
        or ``ValueError`` for a document that is not a track."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in doc.items() if k in known}
        for key in ("artists", "album_artists"):
            values[key] = tuple(str(a) for a in values.get(key, ()))
        values["missing"] = frozenset(values.get("missing", ()))
        values["duration_ms"] = int(values.get("duration_ms") or 0)
        values["explicit"] = bool(values.get("explicit", False))
        return cls(track_id=str(values.pop("track_id")), title=str(values.pop("title", "")), **values)


@dataclass(frozen=True)
class SkippedEntry:
    """A playlist or album entry that cannot become a track.

    ``position`` is the 0-based index in the source listing; ``reason`` is one
    of ``"null"`` (the source sent an empty entry), ``"local"`` (a local file
    of the user's Spotify app), ``"episode"`` (a podcast episode),
    ``"audiobook"`` (a chapter of an audiobook), ``"unavailable"`` (no longer
    playable, or no Spotify track id); ``name`` is whatever title the
    entry carried, if any.
    """

    position: int
    reason: str
    name: str | None = None

    def describe(self) -> str:
        """A line for people: ``"#3 'My Own Recording': a local file"``."""
        what = {"null": "an empty entry", "local": "a local file", "episode": "a podcast episode",
                "audiobook": "an audiobook", "unavailable": "no longer available"}.get(self.reason, self.reason)
        name = f" {self.name!r}" if self.name else ""
        return f"#{self.position + 1}{name}: {what}"


#: Kinds of :class:`TrackList`.
LIST_KINDS = ("playlist", "album", "track", "likes")


@dataclass(frozen=True)
class TrackList:
    """An ordered list of tracks from a metadata source: a playlist, an album, one track, or Liked Songs.

    ``kind`` is one of :data:`LIST_KINDS`; ``id`` the list's stored id (a
    Spotify playlist or album id, ``likes``, a track id for ``kind="track"``,
    or an id of its own kind for lists from export files: see
    :mod:`tunecrate.core.ids`). ``entries`` holds the tracks in source order
    (a track listed twice appears twice); ``skipped`` reports the entries that
    could not be used, with their source positions. ``snapshot`` is the
    source's version of the list (Spotify's snapshot id, or a digest of the
    ordered track ids where the source has none); ``None`` when unknown.
    ``source`` names the :class:`~tunecrate.sources.base.Source` that read it
    (``"spotify-api"``, ``"spotify-web"``, …). ``complete`` is False when the
    source could see only part of the list (its ``entries`` are a prefix or a
    sample): a sync then adds what it sees and never prunes what it could
    not see. ``warnings`` are one-line notes for the user (a fallback taken,
    tags that will be missing).
    """

    kind: str
    id: str
    title: str
    entries: tuple[TrackInfo, ...] = ()
    skipped: tuple[SkippedEntry, ...] = ()
    snapshot: str | None = None
    owner: str | None = None
    description: str | None = None
    cover_url: str | None = None
    source: str | None = None
    complete: bool = True
    warnings: tuple[str, ...] = ()

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
    to its contribution so a user can be told why a candidate lost; a
    component the track could not be compared on (``"duration"`` of a track
    whose duration is unknown) is absent (see :mod:`tunecrate.core.matching`).
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
