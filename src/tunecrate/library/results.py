"""The typed results of :class:`~tunecrate.library.library.Library`.

Every public method of the library returns one of these dataclasses (or a
list of them), never a bare dict or tuple. Each has ``to_json()``, the shape
that the CLI prints with ``--json`` and the HTTP API answers; its keys are
the attribute names. Durations are milliseconds, sizes bytes, times ISO 8601
in UTC, paths absolute.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tunecrate.core.types import SkippedEntry

__all__ = [
    "CANCELLED", "SUMMARY_KEYS", "CandidateRecord", "Choice", "DecisionRecord", "DeletePlaylistResult", "DeleteTrackResult",
    "Failure", "ImportReport", "JobRecord", "KeptTrack", "LoadReport", "LoginState", "MusicFolder", "PlaylistDetail",
    "PlaylistRef",
    "PlaylistSummary", "ReviewItem", "Stats", "TrackDetail", "TrackRecord", "TrackRef",
]

#: The reason of a track the user cancelled before it started (its status stays ``pending``).
CANCELLED = "cancelled"
#: Outcome statuses in the order summaries print them.
SUMMARY_KEYS = ("downloaded", "present", "unresolved", "review", "skipped", "failed")


_SCALARS = (str, int, float, type(None))


def _plain(value: Any) -> Any:
    if isinstance(value, _SCALARS):
        return value
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class _Json:
    """``to_json()``: the dataclass's fields as a JSON-ready dict (nested results converted)."""

    def to_json(self) -> dict:
        doc = dict(self.__dict__)  # the fields, in order: these dataclasses have no other attributes
        for name, value in doc.items():
            if not isinstance(value, _SCALARS):
                doc[name] = _plain(value)
        return doc


@dataclass(frozen=True)
class TrackRef(_Json):
    """A track named in a result: its id and title."""

    track_id: str
    title: str


@dataclass(frozen=True)
class PlaylistRef(_Json):
    """A playlist named in a result: its id and title."""

    playlist_id: str
    title: str


@dataclass(frozen=True)
class TrackRecord(_Json):
    """One track of the library as listings show it (``tunecrate tracks --json``).

    ``path`` is the absolute path of its MP3 (``None`` until downloaded);
    ``status`` a :class:`~tunecrate.db.models.TrackStatus` value and
    ``reason`` why it is not downloaded; ``source_url``/``source_provider``/
    ``match_score`` where its audio came from. ``position`` is set (0-based)
    when the record is an entry of a playlist.
    """

    track_id: str
    title: str
    artists: tuple[str, ...]
    album: str
    album_artists: tuple[str, ...]
    isrc: str | None
    duration_ms: int
    path: str | None
    size_bytes: int | None
    status: str
    reason: str | None
    source_url: str | None
    source_provider: str | None
    match_score: float | None
    position: int | None = None

    @property
    def artist(self) -> str:
        return ", ".join(self.artists)

    def to_json(self) -> dict:
        doc = super().to_json()
        if self.position is None:
            del doc["position"]
        return doc


@dataclass(frozen=True)
class TrackDetail(TrackRecord):
    """One track with everything known about it (``tunecrate smart``'s detail view)."""

    track_number: int | None = None
    track_total: int | None = None
    disc_number: int | None = None
    release_date: str | None = None
    explicit: bool = False
    added_directly: bool = False
    spotify_url: str | None = None
    playlists: tuple[PlaylistRef, ...] = ()
    decision: str | None = None
    candidates: tuple[dict, ...] = ()
    #: Who made a pinned decision: ``"pinned"`` (the user), or the program that pinned it (``"demo"``).
    decision_provider: str | None = None


@dataclass(frozen=True)
class PlaylistSummary(_Json):
    """One playlist in a listing. ``downloaded`` counts entries whose track has its file;
    ``source`` is the metadata source it was loaded from; ``synced_at`` ISO 8601 (UTC)."""

    playlist_id: str
    kind: str
    title: str
    owner: str | None
    track_count: int
    downloaded: int
    snapshot_id: str | None
    synced_at: str | None
    source: str | None = None


@dataclass(frozen=True)
class PlaylistDetail(_Json):
    """One playlist with its entries in order (``tunecrate playlist-local --json``)."""

    playlist_id: str
    kind: str
    title: str
    owner: str | None
    snapshot_id: str | None
    track_count: int
    tracks: tuple[TrackRecord, ...]
    source: str | None = None


@dataclass(frozen=True)
class Stats(_Json):
    """Library totals: ``disk_bytes`` sums the files' sizes; ``review`` counts tracks awaiting the
    user's decision (review + unresolved), ``retry`` the failed or pending ones the next load retries."""

    tracks: int
    downloaded: int
    playlists: int
    disk_bytes: int
    review: int
    retry: int


@dataclass(frozen=True)
class DecisionRecord(_Json):
    """A remembered decision about a track's recording (``tunecrate match list --json``).

    ``decision`` is ``pinned``, ``skipped`` or ``auto``; ``status`` the track's
    status, or ``"not in library"`` when the decision outlived its track.
    """

    track_id: str
    title: str | None
    artists: tuple[str, ...]
    decision: str
    source: str | None
    provider: str | None
    score: float | None
    status: str


@dataclass(frozen=True)
class Choice(_Json):
    """The current choice of a track's recording: ``kind`` (``pinned``/``skipped``/``auto``), its
    ``source`` URL or path (for ``auto`` the matcher's suggestion), ``provider``, ``score``."""

    kind: str
    source: str | None
    provider: str | None
    score: float | None
    decided_at: str | None


@dataclass(frozen=True)
class CandidateRecord(_Json):
    """A scored candidate as remembered: what the provider offered, its score and ``components``
    (see :mod:`tunecrate.core.matching`; a component the track could not be compared on, such as
    the ``duration`` of an export row, is absent), ``why`` in one line, ``index`` (0-based, best first),
    ``duration_delta_s`` (candidate minus track, seconds, ``None`` when unknown) and ``chosen``."""

    url: str
    title: str
    artist: str
    duration_ms: int | None
    provider: str
    isrc: str | None
    verified: bool
    album: str | None
    score: float
    components: dict
    rejected: str | None
    why: str
    index: int
    duration_delta_s: float | None
    chosen: bool


@dataclass(frozen=True)
class ReviewItem(TrackRecord):
    """A track awaiting (or having had) a decision: its record, the playlists listing it, the
    current :class:`Choice` and its :class:`CandidateRecord` list, best first. ``missing`` names
    the fields its metadata source could not fill (:data:`~tunecrate.core.types.OPTIONAL_FIELDS`:
    an export row has no ``duration_ms`` and only the first of its ``artists``)."""

    playlists: tuple[PlaylistRef, ...] = ()
    decision: str | None = None
    choice: Choice | None = None
    candidates: tuple[CandidateRecord, ...] = ()
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class KeptTrack(_Json):
    """A track a deletion keeps, and why (``"also in <playlist>"``, ``"added directly"``)."""

    track_id: str
    title: str
    reason: str


@dataclass(frozen=True)
class DeleteTrackResult(_Json):
    """What deleting a track does: ``removed`` (its file goes), or ``kept_by`` the playlists listing it."""

    track_id: str
    title: str
    removed: bool
    file: str | None
    kept_by: tuple[str, ...]
    dry_run: bool = False


@dataclass(frozen=True)
class DeletePlaylistResult(_Json):
    """What deleting a playlist does: the tracks that go with it, and those kept (with why)."""

    playlist_id: str
    title: str
    removed: tuple[TrackRef, ...]
    kept: tuple[KeptTrack, ...]
    dry_run: bool = False


@dataclass(frozen=True)
class MusicFolder(_Json):
    """A folder of the user's own music: ``origin`` is ``settings``, ``added`` or both; ``files``
    the number of indexed files."""

    path: str
    origin: str
    exists: bool
    files: int


@dataclass(frozen=True)
class LoginState(_Json):
    """The stored Spotify login, read without a request: ``expires_at`` in epoch seconds;
    ``missing_scopes`` lists the scopes tunecrate asks for that the login lacks (log in again)."""

    logged_in: bool
    expires_at: int | None
    scope: str | None
    path: str
    missing_scopes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "missing_scopes", tuple(self.missing_scopes))


@dataclass(frozen=True)
class JobRecord(_Json):
    """A load or sync as the Job table holds it (``GET /jobs/{id}``).

    ``status`` is ``pending``, ``running``, ``completed``, ``failed`` or
    ``cancelled``; ``progress`` runs from 0 to 1; ``message`` is the latest
    progress line or why it failed (``interrupted``: its process died);
    ``result`` the :class:`LoadReport` JSON the CLI prints (a list of them
    for ``sync_all``), ``None`` until it ends. Times are ISO 8601 (UTC).
    """

    job_id: int
    job_type: str
    target: str
    status: str
    progress: float
    message: str | None
    created_at: str
    updated_at: str
    started_at: str | None
    finished_at: str | None
    result: Any = None


@dataclass(frozen=True)
class Failure(_Json):
    """A track that did not end downloaded or present: its ``status`` and ``reason``."""

    track_id: str
    title: str
    status: str
    reason: str


@dataclass
class LoadReport:
    """What a load or sync did. ``counts`` maps each of :data:`SUMMARY_KEYS` to a number of tracks.

    ``failures`` lists every track that did not end downloaded or present;
    ``skipped_entries`` the source entries that could not become tracks
    (null, local, episode, unavailable). For playlists, ``plan`` holds the
    sync plan; ``up_to_date`` is True when the snapshot short-circuit
    applied; ``pruned`` lists the track ids whose rows and files were removed
    afterwards. ``source`` names the metadata source that was read.
    ``cancelled`` is True when the user stopped the work before every track
    was tried.
    """

    kind: str
    id: str
    title: str
    track_count: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SUMMARY_KEYS, 0))
    failures: list[Failure] = field(default_factory=list)
    skipped_entries: list[SkippedEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    plan: Any = None
    up_to_date: bool = False
    dry_run: bool = False
    pruned: list[str] = field(default_factory=list)
    source: str | None = None
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return not self.counts.get("failed")

    def to_json(self) -> dict:
        result = {
            "kind": self.kind, "id": self.id, "title": self.title, "track_count": self.track_count,
            "counts": self.counts, "failures": [f.to_json() for f in self.failures],
            "skipped_entries": [asdict(s) for s in self.skipped_entries], "warnings": self.warnings,
            "up_to_date": self.up_to_date, "dry_run": self.dry_run, "pruned": self.pruned,
            "source": self.source, "cancelled": self.cancelled,
        }
        if self.plan is not None:
            result.update(added=len(self.plan.added), removed=len(self.plan.removed),
                          kept=self.plan.kept, moved=len(self.plan.moved), plan=self.plan.to_json())
        return result


@dataclass
class ImportReport:
    """What ``tunecrate import`` did with an export file (or, with ``dry_run``, would do).

    ``path`` is the file as given; ``source`` the export source that read it
    (``"spotify-export"``, ``"exportify"``); ``lists`` one
    :class:`LoadReport` per playlist (and ``likes``) in the file's order, each
    with its plan, skipped entries and warnings (``up_to_date`` when
    unchanged since the last import). ``tracks`` counts the distinct tracks
    of all lists and ``counts`` their outcomes as :data:`SUMMARY_KEYS`
    (a track listed in two playlists counts once; all 0 for a dry run);
    ``fetch`` is, for a dry run, how many distinct tracks would be
    downloaded. ``warnings`` are notes about the import as a whole (lists
    of an earlier import missing from this one).
    """

    path: str
    source: str
    lists: list[LoadReport]
    dry_run: bool = False
    tracks: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SUMMARY_KEYS, 0))
    fetch: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.counts.get("failed") and all(r.ok for r in self.lists)

    @property
    def skipped_entries(self) -> int:
        """How many rows of the file could not become tracks (local files, episodes, …)."""
        return sum(len(r.skipped_entries) for r in self.lists)

    def to_json(self) -> dict:
        return {
            "path": self.path, "source": self.source, "dry_run": self.dry_run, "tracks": self.tracks,
            "counts": self.counts, "fetch": self.fetch, "skipped_entries": self.skipped_entries,
            "warnings": self.warnings, "lists": [r.to_json() for r in self.lists],
        }
