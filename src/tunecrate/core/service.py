"""Playlists on a service (Plex, a Subsonic server, Spotify, an M3U file): matching, plans, order, reports.

A push (``tunecrate push``) makes a playlist on a service equal to a library playlist; a transfer
(``tunecrate transfer``) adds to a playlist on one service the songs that a playlist elsewhere has and
it lacks. Both are the same three steps, computed here for any :class:`PlaylistService`:

1. **match** every entry of the source list to a track of the service (:func:`plan_playlist`), in
   this order: a "don't sync this one" remembered for the (target, song) pair skips it; an item that
   *is* the song (:meth:`PlaylistService.exact_matches`: tunecrate's own file on Plex or in an M3U,
   the same Spotify track) is taken without scoring; a match the user confirmed, or one remembered
   and already in the service's playlist, is kept; otherwise the service's
   candidates (:meth:`PlaylistService.search`) are scored with tunecrate's own scorer
   (:func:`tunecrate.core.matching.decide`, the library's thresholds): at or above *accept* the best
   is taken, between *review* and *accept* it waits for the user (the review queue), below it the
   song is missing. Equal scores prefer the candidate on the same album;
2. **order**: a push (``mode="mirror"``) wants exactly the matched items in the source's order, each
   item once (a second entry matching the same item is a ``duplicate``); a transfer (``"merge"``)
   keeps every item the playlist has and inserts each new one after the previous source entry that
   the playlist holds;
3. **write** only the difference (:func:`order_changes`): items to remove, items to add, items to
   move, each computed against the playlist as it is, so that a second push with nothing changed
   makes no write at all.

The results are :class:`PlaylistPlan` (a dry run *is* the plan) and :class:`PushReport`, both with
``to_json()``. What each song was matched to is returned in :attr:`PlaylistPlan.decisions` for the
library to remember (:mod:`tunecrate.library.services`); the services themselves never touch the
database: what they need from the library comes through :class:`ServiceLibrary`.

Durations are milliseconds; scores are in ``[0, 1]``.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, Protocol, runtime_checkable

from rapidfuzz import fuzz, process

from tunecrate.core.errors import ConfigurationError
from tunecrate.core.matching import Thresholds, decide, explain, normalize_title, search_key
from tunecrate.core.types import Candidate, TrackInfo, TrackList

__all__ = [
    "PENDING_PREFIX", "CandidateIndex", "EntryPlan", "IndexState", "LibraryFiles", "Operation", "OrderChanges", "PlaylistPlan",
    "PlaylistService", "ProgressFn", "PushReport", "RemotePlaylist", "RemoteTrack", "Remembered", "ServiceIndex",
    "ServiceLibrary", "WriteOutcome", "artist_keys", "folded_path", "index_row", "missing_report", "order_changes",
    "plan_playlist", "title_key",
]

#: ``progress(stage, done, total)``: ``stage`` a few words ("indexing Plex", "matching"), ``total``
#: ``None`` while unknown.
ProgressFn = Callable[[str, int, "int | None"], None]

#: How many candidates a review keeps for each song.
REVIEW_CANDIDATES = 5
#: An indexed service's likeliest candidates scored first; the others only when none of them is taken.
FIRST_LOOK = 2
#: The item id prefix of a file a mirror is about to place, which the service has not scanned yet.
PENDING_PREFIX = "after-scan:"


# -- what a service holds -----------------------------------------------------------------------------


class RemoteTrack(NamedTuple):
    """A track as a service holds it (a named tuple: an index of 50,000 is built in milliseconds).

    ``item_id`` is the service's id (Plex's ``ratingKey``, a Subsonic song id, a Spotify track id, an
    absolute file path for an M3U file). ``artists`` are the track's own artists (on a compilation,
    not the album artist, which is ``album_artist``). ``duration_ms`` is ``None`` when unknown;
    ``path`` the file as the service sees it, when it says.
    """

    item_id: str
    title: str
    artists: tuple[str, ...] = ()
    album: str = ""
    album_artist: str = ""
    duration_ms: int | None = None
    isrc: str | None = None
    path: str | None = None

    @property
    def artist(self) -> str:
        return ", ".join(self.artists)

    def candidate(self, provider: str) -> Candidate:
        """This track as a :class:`~tunecrate.core.types.Candidate` for the scorer (``url`` = ``item_id``)."""
        return Candidate(url=self.item_id, title=self.title, artist=self.artist, duration_ms=self.duration_ms,
                         provider=provider, isrc=self.isrc, album=self.album or None)

    def info(self, track_id: str) -> TrackInfo:
        """This track as a :class:`TrackInfo` with the id ``track_id`` (for a source reading the service)."""
        missing = {"album_artists", "track_number", "track_total", "disc_number", "release_date", "cover_url"}
        if not self.isrc:
            missing.add("isrc")
        if not self.duration_ms:
            missing.add("duration_ms")
        if not self.album:
            missing.add("album")
        return TrackInfo(track_id=track_id, title=self.title, artists=self.artists, album=self.album,
                         album_artists=(self.album_artist,) if self.album_artist else (),
                         duration_ms=self.duration_ms or 0, isrc=self.isrc,
                         missing=frozenset(missing - ({"album_artists"} if self.album_artist else set())))

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"item_id": self.item_id, "title": self.title, "artists": list(self.artists)}
        for key in ("album", "album_artist", "duration_ms", "isrc", "path"):
            if getattr(self, key):
                doc[key] = getattr(self, key)
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> RemoteTrack:
        """The inverse of :meth:`to_json`. Raises ``KeyError`` or ``TypeError`` for another document."""
        return cls(item_id=str(doc["item_id"]), title=str(doc.get("title", "")),
                   artists=tuple(str(a) for a in doc.get("artists", ())), album=doc.get("album") or "",
                   album_artist=doc.get("album_artist") or "", duration_ms=doc.get("duration_ms"),
                   isrc=doc.get("isrc"), path=doc.get("path"))


@dataclass(frozen=True)
class RemotePlaylist:
    """A playlist on a service: its ``playlist_id``, ``title`` and ``entries`` in order.

    Each entry is ``(entry_id, track)``: ``entry_id`` names that position for removals and moves (Plex's
    ``playlistItemID``; the index as a string on services without one).
    """

    playlist_id: str
    title: str
    entries: tuple[tuple[str, RemoteTrack], ...] = ()

    @property
    def item_ids(self) -> list[str]:
        return [track.item_id for _, track in self.entries]


@dataclass(frozen=True)
class Remembered:
    """What the library remembers about a song on a target (see :class:`~tunecrate.db.service_index.ServiceMatch`).

    ``kind``: ``confirmed``, ``skipped``, ``auto``, ``review`` or ``missing``; ``item`` the track matched
    or chosen (for ``confirmed`` and ``auto``).
    """

    kind: str
    item: RemoteTrack | None = None
    score: float | None = None


@dataclass(frozen=True)
class IndexState:
    """What a cached index reflects: ``count`` tracks, the newest ``updated_at`` (epoch seconds)."""

    count: int
    updated_at: int
    section_title: str = ""


@runtime_checkable
class ServiceIndex(Protocol):
    """A service's tracks cached in the library (Plex's music section), kept by the library."""

    def state(self) -> IndexState | None:
        """What the cache holds, or ``None`` when it was never filled."""
        ...

    def tracks(self) -> list[tuple[RemoteTrack, str, str]]:
        """Every cached track with its title key and artist key (see :func:`title_key`, :func:`artist_keys`)."""
        ...

    def save(self, tracks: Sequence[RemoteTrack], state: IndexState, *, replace: bool) -> None:
        """Store ``tracks`` (all of them when ``replace``, else the changed ones) and the new ``state``."""
        ...


@runtime_checkable
class LibraryFiles(Protocol):
    """What a target may ask the library: files, never rows."""

    def path_of(self, track_id: str) -> Path | None:
        """The absolute path of the track's MP3 when it has one (inside the storage root)."""
        ...

    def cover_of(self, playlist_id: str) -> Path | None:
        """The playlist's cover file kept in the library, when there is one."""
        ...


@runtime_checkable
class ServiceLibrary(LibraryFiles, Protocol):
    """What a service target may ask the library, besides files: remembered matches, the cached index of
    a service, and the library's own tracks. Never rows."""

    def remembered(self, target: str, song_ids: Sequence[str]) -> dict[str, Remembered]:
        """The remembered match of each song (by its track id) on ``target``; songs without one are absent."""
        ...

    def service_index(self, index_id: str) -> ServiceIndex:
        """The cached index ``index_id`` (``"plex:<machine>:<section uuid>"``)."""
        ...

    def library_tracks(self) -> list[tuple[TrackInfo, Path]]:
        """Every downloaded track of the library with its file."""
        ...


# -- search keys and the prefilter ------------------------------------------------------------------------------

_ARTIST_SPLIT = re.compile(r"\s*(?:,|;|/|&|\+|×|\bx\b|\bfeat\.?|\bft\.?|\bfeaturing\b|\bwith\b|\bvs\.?)\s*",
                           re.IGNORECASE)


def title_key(title: str) -> str:
    """The title as the prefilter compares it: :func:`~tunecrate.core.matching.normalize_title` (feature
    credits, remaster tags and noise removed; case, accents and punctuation folded)."""
    return normalize_title(title)


def artist_keys(names: Iterable[str]) -> tuple[str, ...]:
    """One search key per credited name, whole names first, then each part of a list ("A feat. B", "A & B"),
    without a leading "the": ``["The Beatles & Billy Preston"]`` → ``("beatles and billy preston",
    "beatles", "billy preston")``."""
    keys: list[str] = []
    names = list(names)
    for part in [*names, *(p for name in names for p in _ARTIST_SPLIT.split(name))]:
        key = search_key(part)
        key = key[4:] if key.startswith("the ") else key
        if key and key not in keys:
            keys.append(key)
    return tuple(keys)


def index_row(track: RemoteTrack) -> tuple[RemoteTrack, str, str]:
    """``(track, title key, artist key)`` as :class:`CandidateIndex` and the cached indexes keep them: the
    artist key covers the track's own artists (the album artist when it names none)."""
    return track, title_key(track.title), "|".join(artist_keys(track.artists or (track.album_artist,)))


class CandidateIndex:
    """An in-memory prefilter over many tracks: for a song, the few tracks worth scoring.

    ``rows`` are ``(track, title_key, artist_key)`` with ``artist_key`` as :func:`artist_keys` joined
    by ``|``. :meth:`candidates` takes the tracks with the song's ISRC, those whose title key equals the
    song's, and the tracks of
    the song's artists (exact keys, else the closest artist names) whose titles are close to the song's
    (rapidfuzz ``token_set_ratio`` ≥ :attr:`TITLE_CUTOFF`), likeliest first (title, artist, then album);
    the scorer then decides among them. Built
    once per push: 50,000 tracks take about 0.1 s, and a lookup well under a millisecond.
    """

    TITLE_CUTOFF = 70
    ARTIST_CUTOFF = 85

    def __init__(self, rows: Iterable[tuple[RemoteTrack, str, str]]) -> None:
        self.tracks: list[RemoteTrack] = []
        self.titles: list[str] = []
        self.artists: list[tuple[str, ...]] = []
        self.by_title: dict[str, list[int]] = {}
        self.by_artist: dict[str, list[int]] = {}
        self.by_isrc: dict[str, list[int]] = {}
        for index, (track, title, artist) in enumerate(rows):
            keys = tuple(k for k in artist.split("|") if k)
            self.tracks.append(track)
            self.titles.append(title)
            self.artists.append(keys)
            self.by_title.setdefault(title, []).append(index)
            for key in keys:
                self.by_artist.setdefault(key, []).append(index)
            if track.isrc:
                self.by_isrc.setdefault(track.isrc.strip().upper(), []).append(index)
        self._artist_names: list[str] | None = None

    @classmethod
    def of(cls, tracks: Iterable[RemoteTrack]) -> CandidateIndex:
        """An index over ``tracks``, computing their keys (for small sets: a playlist's items)."""
        return cls(index_row(t) for t in tracks)

    def __len__(self) -> int:
        return len(self.tracks)

    def candidates(self, track: TrackInfo, limit: int = 8) -> list[RemoteTrack]:
        """Up to ``limit`` tracks that may be ``track``, the likeliest first (see the class docstring)."""
        title = title_key(track.title)
        wanted = artist_keys(track.artists)
        same = self.by_isrc.get((track.isrc or "").strip().upper(), []) if track.isrc else []
        found = set(self.by_title.get(title, ()))
        pool: list[int] = []
        for key in wanted:
            pool.extend(self.by_artist.get(key, ()))
        if not pool and wanted:
            if self._artist_names is None:
                self._artist_names = list(self.by_artist)
            for key in wanted[:2]:
                for name, _, _ in process.extract(key, self._artist_names, scorer=fuzz.ratio, limit=3,
                                                  score_cutoff=self.ARTIST_CUTOFF):
                    pool.extend(self.by_artist[name])
        if pool and title:
            pool = list(dict.fromkeys(pool))
            hits = process.extract(title, [self.titles[i] for i in pool], scorer=fuzz.token_set_ratio,
                                   processor=None, limit=limit * 2, score_cutoff=self.TITLE_CUTOFF)
            found.update(pool[i] for _, _, i in hits)

        album = search_key(track.album) if track.album else ""

        def prescore(i: int) -> float:
            artist = max((fuzz.ratio(a, b) for a in wanted for b in self.artists[i]), default=0.0)
            same_album = fuzz.ratio(album, search_key(self.tracks[i].album)) if album else 0.0
            return (0.6 * fuzz.token_set_ratio(title, self.titles[i]) + 0.4 * artist
                    + 0.01 * fuzz.ratio(title, self.titles[i]) + 0.001 * same_album)

        ranked = sorted(found - set(same), key=prescore, reverse=True)
        return [self.tracks[i] for i in [*same, *ranked][:limit]]


# -- the service protocol ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One change a plan makes to the service's playlist.

    ``op``: ``"create"`` (a new playlist holding ``items``), ``"add"`` (append ``items``),
    ``"remove"`` (``entries``, by entry id), ``"move"`` (``entries[0]`` after ``after``, an entry id, or
    to the start when ``None``), ``"replace"`` (the whole list becomes ``items``: services that cannot
    move), ``"insert"`` (``items`` at ``position``), ``"clear"`` (empty the playlist, keeping it; ``add``
    operations follow). ``items`` are item ids.
    """

    op: str
    items: tuple[str, ...] = ()
    entries: tuple[str, ...] = ()
    after: str | None = None
    position: int | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"op": self.op}
        if self.items:
            doc["items"] = list(self.items)
        if self.entries:
            doc["entries"] = list(self.entries)
        if self.op == "move":
            doc["after"] = self.after
        if self.position is not None:
            doc["position"] = self.position
        return doc


@dataclass(frozen=True)
class WriteOutcome:
    """What a service's write did: the playlist's id, whether it was ``created``, and the counts of
    items ``added``, ``removed`` and ``moved``, with the number of write requests (``writes``)."""

    playlist_id: str | None
    created: bool = False
    added: int = 0
    removed: int = 0
    moved: int = 0
    writes: int = 0


@runtime_checkable
class PlaylistService(Protocol):
    """One service's playlists, as push and transfer need them.

    ``name`` is the target name that remembered matches are kept under; ``provider`` the name candidates
    carry; ``indexed`` services match against their whole library locally (Plex), so a playlist's
    items need no scoring of their own; ``exact`` names what :meth:`exact_matches` compares (``"path"``).
    """

    name: ClassVar[str]
    provider: ClassVar[str]
    indexed: ClassVar[bool]
    exact: ClassVar[str]

    def find_playlist(self, title: str) -> RemotePlaylist | None:
        """The playlist called ``title`` (or named by the reference the service takes), ``None`` if absent."""
        ...

    def exact_matches(self, tracks: Sequence[TrackInfo], library: LibraryFiles) -> dict[str, RemoteTrack]:
        """Track id → the service's item that is that very track (tunecrate's own file, the same
        Spotify track): taken without scoring, how = :attr:`exact`. ``{}`` when there are none."""
        ...

    def resolve(self, item: RemoteTrack) -> RemoteTrack | None:
        """``item`` as the service holds it now, ``None`` when it is gone (a remembered match)."""
        ...

    def search(self, track: TrackInfo) -> list[RemoteTrack]:
        """The service's candidates for ``track``, likeliest first."""
        ...

    def operations(self, playlist: RemotePlaylist | None, title: str, desired: Sequence[str]) -> list[Operation]:
        """The writes that make ``playlist`` (``None``: not there yet) hold exactly ``desired`` item ids."""
        ...

    def write(self, playlist: RemotePlaylist | None, title: str, desired: Sequence[str],
              progress: ProgressFn | None = None) -> WriteOutcome:
        """Carry out :meth:`operations`. Raises :class:`~tunecrate.core.errors.ServiceError` and kin."""
        ...


# -- plans -------------------------------------------------------------------------------------------

#: Statuses of a planned entry, as :class:`EntryPlan` documents them.
ENTRY_STATUSES = ("matched", "review", "missing", "skipped", "duplicate")


@dataclass
class EntryPlan:
    """One entry of the source list and what the plan does with it.

    ``position`` is 0-based in the source list; ``status`` one of :data:`ENTRY_STATUSES`: ``matched``
    (``item`` will be in the playlist), ``review`` (``item`` is the suggestion, waiting for the user),
    ``missing`` (nothing scored high enough), ``skipped`` (the user said "don't sync this one"),
    ``duplicate`` (an earlier entry has the same item). ``how`` says why an item was chosen:
    ``"path"`` (tunecrate's own file), ``"same track"`` (the same Spotify track),
    ``"path after scan"`` (a file a mirror is about to place),
    ``"isrc"``, ``"score"``, ``"confirmed"`` (the user), ``"remembered"``, ``"chosen"`` (now, in this
    run). ``present`` is True when the item is already in the playlist. ``candidates`` are
    ``(track, score, why)``, best first, for every entry the scorer looked at (``to_json`` shows them
    for review and missing entries). An item matched to a file not
    scanned yet has the id ``after-scan:<path>`` (:data:`PENDING_PREFIX`).
    """

    position: int
    track: TrackInfo
    status: str
    item: RemoteTrack | None = None
    score: float | None = None
    how: str | None = None
    present: bool = False
    candidates: list[tuple[RemoteTrack, float, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"position": self.position + 1, "track": self.track.to_json(), "status": self.status,
                               "present": self.present}
        if self.item is not None:
            doc["item"] = self.item.to_json()
        if self.score is not None:
            doc["score"] = round(self.score, 4)
        if self.how:
            doc["how"] = self.how
        if self.candidates and self.status in ("review", "missing"):
            doc["candidates"] = [{**t.to_json(), "score": round(s, 4), "why": why} for t, s, why in self.candidates]
        return doc


@dataclass
class PlaylistPlan:
    """What a push or a transfer will do to one playlist on a service (a dry run prints it).

    ``target`` names the service; ``title`` the playlist's title there; ``playlist`` the playlist as
    it is (``None``: it will be created); ``mode`` ``"mirror"`` (push) or ``"merge"`` (transfer);
    ``entries`` one :class:`EntryPlan` per source entry, in order; ``only_on_target`` the playlist's
    tracks that no source entry matched (a mirror removes them, a merge keeps them); ``warnings`` one-
    line notes. :meth:`choose`, :meth:`skip` and :meth:`defer` change an entry before :meth:`apply` (the
    interactive step of a transfer).
    """

    target: str
    title: str
    mode: str
    entries: list[EntryPlan]
    playlist: RemotePlaylist | None
    service: PlaylistService = field(repr=False)
    only_on_target: list[RemoteTrack] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    source_title: str = ""

    # -- choosing ----------------------------------------------------------------------------

    def choose(self, position: int, item: RemoteTrack) -> None:
        """Take ``item`` for the entry at ``position`` (the user confirmed or picked it)."""
        entry = self.entries[position]
        entry.item, entry.status, entry.how = item, "matched", "chosen"
        entry.score = next((s for t, s, _ in entry.candidates if t.item_id == item.item_id), entry.score)
        self._recheck()

    def skip(self, position: int) -> None:
        """"Don't sync this one" for the entry at ``position``."""
        entry = self.entries[position]
        entry.status, entry.how = "skipped", "chosen"
        self._recheck()

    def defer(self, position: int) -> None:
        """Decide later: the entry at ``position`` is not written now and waits in the review queue."""
        entry = self.entries[position]
        entry.status = "review" if entry.item is not None or entry.candidates else "missing"
        entry.how = "score"
        self._recheck()

    def _recheck(self) -> None:
        """Recompute ``present`` and ``duplicate`` after a choice."""
        current = set(self.playlist.item_ids) if self.playlist else set()
        seen: set[str] = set()
        for entry in self.entries:
            if entry.status == "duplicate":
                entry.status = "matched"
            if entry.status != "matched" or entry.item is None:
                entry.present = False
                continue
            entry.present = entry.item.item_id in current
            if entry.item.item_id in seen:
                entry.status = "duplicate"
            seen.add(entry.item.item_id)
        matched = {e.item.item_id for e in self.entries if e.status in ("matched", "duplicate") and e.item}
        self.only_on_target = [t for _, t in (self.playlist.entries if self.playlist else ())
                               if t.item_id not in matched]

    # -- reading -----------------------------------------------------------------------------

    def count(self, status: str) -> int:
        return sum(1 for e in self.entries if e.status == status)

    @property
    def missing(self) -> list[EntryPlan]:
        return [e for e in self.entries if e.status == "missing"]

    @property
    def review(self) -> list[EntryPlan]:
        return [e for e in self.entries if e.status == "review"]

    def desired(self) -> list[str]:
        """The item ids the playlist should hold afterwards, in order (see the module docstring)."""
        new = [e for e in self.entries if e.status == "matched" and e.item is not None]
        if self.mode == "mirror":
            return list(dict.fromkeys(e.item.item_id for e in new))
        result = self.playlist.item_ids if self.playlist else []
        placed = [e.item.item_id for e in new if e.present]
        anchor: int | None = None
        for entry in new:
            item_id = entry.item.item_id
            if entry.present:
                anchor = result.index(item_id)
                continue
            if item_id in result:
                continue
            if anchor is None:
                following = [result.index(p) for p in placed if p in result]
                anchor = (min(following) if following else len(result)) - 1
            result.insert(anchor + 1, item_id)
            anchor += 1
        return result

    @property
    def operations(self) -> list[Operation]:
        """The writes :meth:`apply` makes (none when the playlist already is as wanted)."""
        return self.service.operations(self.playlist, self.title, self.desired())

    @property
    def pending(self) -> int:
        """Entries matched to files a mirror is about to place (their items exist only after the scan)."""
        return sum(1 for e in self.entries if e.status == "matched" and e.how == "path after scan")

    @property
    def decisions(self) -> list[tuple[TrackInfo, Remembered, list[tuple[RemoteTrack, float, str]]]]:
        """What to remember per song: ``(song, remembered, candidates)``, once per song. A song the user
        settled in this run is ``confirmed`` or ``skipped``; one matched by path, ISRC or score ``auto``;
        the rest ``review`` or ``missing``. What was already remembered, and matches to files not scanned
        yet, are left out."""
        out: dict[str, tuple[TrackInfo, Remembered, list]] = {}
        for e in self.entries:
            if e.track.track_id in out or e.how in ("confirmed", "remembered", "path after scan"):
                continue
            if e.how == "chosen":
                kind = "skipped" if e.status == "skipped" else "confirmed"
            elif e.status in ("matched", "duplicate"):
                kind = "auto"
            elif e.status in ("review", "missing"):
                kind = e.status
            else:
                continue
            item = e.item if kind in ("confirmed", "auto", "review") else None
            out[e.track.track_id] = (e.track, Remembered(kind, item, e.score), e.candidates)
        return list(out.values())

    def to_json(self) -> dict[str, Any]:
        counts = {status: self.count(status) for status in ENTRY_STATUSES}
        counts["present"] = sum(1 for e in self.entries if e.present and e.status == "matched")
        operations = self.operations
        return {
            "target": self.target, "title": self.title, "mode": self.mode, "source": self.source_title,
            "playlist": None if self.playlist is None else {
                "id": self.playlist.playlist_id, "title": self.playlist.title, "items": len(self.playlist.entries)},
            "counts": counts, "entries": [e.to_json() for e in self.entries],
            "only_on_target": [t.to_json() for t in self.only_on_target],
            "operations": [op.to_json() for op in operations], "writes": len(operations),
            "pending_scan": self.pending, "warnings": list(self.warnings),
        }

    # -- writing -----------------------------------------------------------------------------

    def apply(self, progress: ProgressFn | None = None, *, fresh: bool = False) -> PushReport:
        """Write the difference to the service; the report. ``fresh`` reads the playlist again first
        (a transfer, whose questions took time); entries matched to files not scanned yet are left out."""
        playlist = self.playlist
        if fresh:
            playlist = self.playlist = self.service.find_playlist(self.title)
            self._recheck()
        desired = [i for i in self.desired() if not i.startswith(PENDING_PREFIX)]
        outcome = self.service.write(playlist, self.title, desired, progress)
        return PushReport(
            target=self.target, title=self.title, playlist_id=outcome.playlist_id, created=outcome.created,
            added=outcome.added, removed=outcome.removed, moved=outcome.moved, writes=outcome.writes,
            items=len(desired), matched=self.count("matched"), review=self.review, missing=self.missing,
            skipped=self.count("skipped"), duplicates=self.count("duplicate"), warnings=list(self.warnings),
            mode=self.mode)


@dataclass
class PushReport:
    """What a push or a transfer wrote.

    ``playlist_id`` is the service's id of the playlist; ``created`` whether it was made now;
    ``added``/``removed``/``moved`` count items; ``writes`` the write requests made; ``items`` how many
    the playlist holds now; ``matched`` the entries in it; ``review`` and ``missing`` the entries left
    out (review ones wait in ``tunecrate review --target``); ``skipped`` the "don't sync" ones;
    ``report_file`` the missing-tracks report written, if any.
    """

    target: str
    title: str
    playlist_id: str | None
    created: bool
    added: int
    removed: int
    moved: int
    writes: int
    items: int
    matched: int
    review: list[EntryPlan]
    missing: list[EntryPlan]
    skipped: int
    duplicates: int
    warnings: list[str] = field(default_factory=list)
    report_file: Path | None = None
    mode: str = "mirror"

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target, "title": self.title, "playlist_id": self.playlist_id, "created": self.created,
            "mode": self.mode, "added": self.added, "removed": self.removed, "moved": self.moved,
            "writes": self.writes, "items": self.items, "matched": self.matched, "skipped": self.skipped,
            "duplicates": self.duplicates, "review": [e.to_json() for e in self.review],
            "missing": [e.to_json() for e in self.missing], "warnings": list(self.warnings),
            "report_file": str(self.report_file) if self.report_file else None,
        }


def _report_line(track: TrackInfo) -> str:
    return f"{track.spotify_url or track.track_id}\t{track.artist} - {track.title}"


def missing_report(entries: Iterable[EntryPlan], review: Iterable[EntryPlan] = (), target: str = "") -> str:
    """The missing-tracks report as the Spotify → Plex guide writes it: one line per track, its Spotify
    URL (the track id when it has none), a tab, then ``Artist - Title``.

    The songs held for review (``review``: not in the playlist either until the user decides, with
    ``tunecrate review --target <target>``) follow in a section of ``#`` comment lines, so that a tool
    reading the guide's lines (and skipping comments) still sees the missing tracks only: a header
    line, then per song ``# URL<tab>Artist - Title<tab>suggested: Artist - Title (score)``.
    """
    lines = [_report_line(entry.track) + "\n" for entry in entries]
    held = list(review)
    if held:
        where = f" --target {target}" if target else " --target"
        lines.append(f"# held for review, not in the playlist until decided with `tunecrate review{where}`:\n")
        for entry in held:
            suggestion = ""
            if entry.item is not None:
                label = f"{entry.item.artist} - {entry.item.title}" if entry.item.artist else entry.item.title
                score = f" ({entry.score:.2f})" if entry.score is not None else ""
                suggestion = f"\tsuggested: {label}{score}"
            lines.append(f"# {_report_line(entry.track)}{suggestion}\n")
    return "".join(lines)


# -- matching ----------------------------------------------------------------------------------------


def _album_similarity(track: TrackInfo, item: RemoteTrack) -> float:
    if not track.album or not item.album:
        return 0.0
    return fuzz.token_set_ratio(search_key(track.album), search_key(item.album)) / 100


def _score_candidates(track: TrackInfo, items: Sequence[RemoteTrack], provider: str, thresholds: Thresholds):
    """:func:`decide` over ``items``, those on the track's album first (so that equal scores prefer them)."""
    ordered = sorted(items, key=lambda t: -_album_similarity(track, t))
    by_id = {t.item_id: t for t in ordered}
    decision = decide(track, [t.candidate(provider) for t in ordered], thresholds)
    return decision, by_id


def _candidates_of(decision, by_id) -> list[tuple[RemoteTrack, float, str]]:
    return [(by_id[m.candidate.url], m.score.total, explain(m)) for m in decision.ranked
            if m.score.rejected is None][:REVIEW_CANDIDATES]


def _match_entry(entry: EntryPlan, service: PlaylistService, thresholds: Thresholds,
                 current: CandidateIndex | None, *, quick: bool) -> None:
    """Score the candidates for one entry that nothing settled before (the last rule of the module
    docstring): the playlist's own items first (services without an index), then the service's. With
    ``quick`` an indexed service's :data:`FIRST_LOOK` likeliest candidates are scored first, and the
    rest only when none of them is taken (a push; a transfer shows the user every candidate)."""
    track = entry.track
    if current is not None and len(current):
        decision, by_id = _score_candidates(track, current.candidates(track), service.provider, thresholds)
        if decision.status == "accepted":
            best = decision.best
            entry.item, entry.score, entry.status = by_id[best.candidate.url], best.score.total, "matched"
            entry.how = "isrc" if best.score.components.get("isrc") else "score"
            return
    found = service.search(track)
    first = quick and service.indexed
    decision, by_id = _score_candidates(track, found[:FIRST_LOOK] if first else found, service.provider, thresholds)
    if first and decision.status != "accepted" and len(found) > FIRST_LOOK:
        decision, by_id = _score_candidates(track, found, service.provider, thresholds)
    best = decision.best
    entry.candidates = _candidates_of(decision, by_id)
    if decision.status == "accepted":
        entry.item, entry.score, entry.status = by_id[best.candidate.url], best.score.total, "matched"
        entry.how = "isrc" if best.score.components.get("isrc") else "score"
    elif decision.status == "review":
        entry.item, entry.score, entry.status, entry.how = by_id[best.candidate.url], best.score.total, "review", "score"
    else:
        entry.status, entry.score = "missing", best.score.total if best else None


def plan_playlist(
    service: PlaylistService,
    tracks: TrackList,
    library: ServiceLibrary,
    *,
    title: str,
    mode: str = "mirror",
    thresholds: Thresholds = Thresholds(),
    pending_paths: dict[str, RemoteTrack] | None = None,
    progress: ProgressFn | None = None,
) -> PlaylistPlan:
    """Match every entry of ``tracks`` on ``service`` and plan the playlist ``title`` there.

    The order of the rules is in the module docstring. ``pending_paths`` maps track ids to the
    tracks a mirror is about to place in the service's folders (ids ``after-scan:<path>``: the real
    ones exist only after the scan). ``mode`` is ``"mirror"`` or ``"merge"``.
    ``progress("matching", done, total)`` is called per entry. Raises :class:`ConfigurationError` for
    a ``library`` that remembers nothing (a plain export), and what the service's reads raise.
    """
    if mode not in ("mirror", "merge"):
        raise ValueError(f"unknown mode {mode!r}")
    if not callable(getattr(library, "remembered", None)):
        raise ConfigurationError(f"the {service.name} target needs the library's remembered matches: push with "
                                 "`tunecrate push` or Library.push, not as an export")
    playlist = service.find_playlist(title)
    current_ids = set(playlist.item_ids) if playlist else set()
    remembered = library.remembered(service.name, list(dict.fromkeys(t.track_id for t in tracks.entries)))
    exact = service.exact_matches(tracks.entries, library)
    pending = pending_paths or {}
    current = None
    if playlist is not None and not service.indexed:
        current = CandidateIndex.of(t for _, t in playlist.entries)
    entries: list[EntryPlan] = []
    total = len(tracks.entries)
    for position, track in enumerate(tracks.entries):
        entry = EntryPlan(position, track, "missing")
        entries.append(entry)
        memory = remembered.get(track.track_id)
        if memory is not None and memory.kind == "skipped":
            entry.status, entry.how = "skipped", "remembered"
        elif track.track_id in exact:
            entry.item, entry.status, entry.how, entry.score = exact[track.track_id], "matched", service.exact, 1.0
        elif track.track_id in pending:
            entry.item, entry.status, entry.how, entry.score = pending[track.track_id], "matched", "path after scan", 1.0
        elif memory is not None and memory.item is not None and memory.kind in ("confirmed", "auto") and (
                memory.kind == "confirmed" or memory.item.item_id in current_ids):
            item = memory.item if memory.item.item_id in current_ids else service.resolve(memory.item)
            if item is not None:
                entry.item, entry.status, entry.score = item, "matched", memory.score
                entry.how = "confirmed" if memory.kind == "confirmed" else "remembered"
        if entry.status == "missing" and entry.how is None:
            _match_entry(entry, service, thresholds, current, quick=mode == "mirror")
        if progress is not None:
            progress("matching", position + 1, total)
    plan = PlaylistPlan(target=service.name, title=title, mode=mode, entries=entries, playlist=playlist,
                        service=service, source_title=tracks.title)
    plan._recheck()
    if plan.pending:
        plan.warnings.append(f"{plan.pending} entries match files the mirror is about to place; their items "
                             "exist once the server has scanned them")
    return plan


# -- order ---------------------------------------------------------------------------------------------


def _longest_increasing(values: Sequence[int]) -> set[int]:
    """Indexes (into ``values``) of one longest strictly increasing subsequence (O(n log n))."""
    tails: list[int] = []
    tail_at: list[int] = []
    previous = [-1] * len(values)
    for i, value in enumerate(values):
        k = bisect_left(tails, value)
        if k == len(tails):
            tails.append(value)
            tail_at.append(i)
        else:
            tails[k] = value
            tail_at[k] = i
        previous[i] = tail_at[k - 1] if k else -1
    keep: set[int] = set()
    i = tail_at[-1] if tail_at else -1
    while i >= 0:
        keep.add(i)
        i = previous[i]
    return keep


@dataclass(frozen=True)
class OrderChanges:
    """How to turn a playlist's entries into a wanted order (:func:`order_changes`).

    ``remove``: entry ids to delete; ``add``: item ids to append, in the wanted order; ``slots``: the
    wanted order as ``(entry id or None, item id)``, ``None`` for an item added now; ``moves``: indexes
    into ``slots`` of the entries to move, in order, each right after ``slots[index - 1]`` (to the
    start for index 0). Applying ``remove``, ``add`` then ``moves`` yields the wanted order; items kept
    in place are a longest run already in order, so the moves are as few as they can be.
    """

    remove: tuple[str, ...]
    add: tuple[str, ...]
    slots: tuple[tuple[str | None, str], ...]
    moves: tuple[int, ...]

    @property
    def unchanged(self) -> bool:
        return not (self.remove or self.add or self.moves)


def order_changes(entries: Sequence[tuple[str, str]], desired: Sequence[str]) -> OrderChanges:
    """The changes that make ``entries`` (``(entry id, item id)`` in playlist order) equal ``desired``
    (item ids in order, repeats allowed). Each wanted item takes the first unused entry of that item;
    entries left over are removed."""
    free: dict[str, list[int]] = {}
    for position, (_, item_id) in enumerate(entries):
        free.setdefault(item_id, []).append(position)
    slots: list[tuple[str | None, str]] = []
    positions: list[int] = []
    used: set[int] = set()
    for item_id in desired:
        waiting = free.get(item_id)
        if waiting:
            position = waiting.pop(0)
            used.add(position)
            slots.append((entries[position][0], item_id))
            positions.append(position)
        else:
            slots.append((None, item_id))
            positions.append(-1)
    remove = tuple(entries[p][0] for p in range(len(entries)) if p not in used)
    add = tuple(item_id for entry_id, item_id in slots if entry_id is None)
    # After removals and additions the list is: kept entries in their old order, then the added ones in
    # wanted order. Ranks in that list; the added ones count after every kept entry.
    rank = [p if p >= 0 else len(entries) + i for i, p in enumerate(positions)]
    keep = _longest_increasing(rank)
    moves = tuple(i for i in range(len(slots)) if i not in keep)
    return OrderChanges(remove, add, tuple(slots), moves)


def folded_path(path: str) -> str:
    """A file path in the form paths are compared: NFC, ``/`` separators."""
    return unicodedata.normalize("NFC", path).replace("\\", "/")
