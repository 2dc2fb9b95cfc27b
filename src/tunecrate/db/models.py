"""SQLModel tables of the catalogue.

Invariant kept by the library: a Track row with ``status == "downloaded"``
always points at a complete file under the storage root (``path`` is relative
to it, e.g. ``tracks/4u/4uLU6hMCjMI75M1A2tKUQC.mp3``).
"""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from tunecrate.core.types import TrackInfo


def utcnow() -> datetime:
    """The current time in UTC (timezone-aware)."""
    return datetime.now(timezone.utc)


class TrackStatus:
    """Values of :attr:`Track.status`."""

    PENDING = "pending"          # known, not fetched yet
    DOWNLOADED = "downloaded"    # file present at ``path``
    UNRESOLVED = "unresolved"    # no candidate scored high enough
    REVIEW = "review"            # a candidate awaits the user's confirmation
    FAILED = "failed"            # fetch/encode failed; ``reason`` says why
    SKIPPED = "skipped"          # the user said "don't download"


#: The :class:`TrackInfo` fields a Track row stores (all but ``track_id``, which is its key).
_INFO_FIELDS = tuple(f.name for f in dataclass_fields(TrackInfo) if f.name != "track_id")
_LIST_FIELDS = ("artists", "album_artists", "missing")


def _known(name: str, value: object) -> bool:
    """Whether a row's value of field ``name`` says something: a duration of 0 and an explicit flag
    of False are the defaults of a new row, so they say nothing."""
    if name in ("duration_ms", "explicit"):
        return bool(value)
    return value not in (None, "", [], ())


class Track(SQLModel, table=True):
    """One track of the library, keyed by its track id (the Spotify track id for Spotify tracks).

    ``artists``/``album_artists`` are JSON lists of names. ``duration_ms`` is
    the source's duration (0 when unknown). ``missing`` lists the
    :class:`TrackInfo` fields the metadata source could not fill.
    ``source_url``/``source_provider``/``match_score`` describe the recording
    the file was made from. ``added_directly`` is True when the user added the
    track itself (``tunecrate track``/``album``), which keeps it even when no
    playlist lists it. ``size_bytes`` is the file size. The mapping to and
    from :class:`TrackInfo` is :meth:`set_info` and :meth:`info`, and nothing else.
    """

    track_id: str = Field(primary_key=True)
    title: str
    artists: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    album: str = ""
    album_artists: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    duration_ms: int = 0
    track_number: Optional[int] = None
    track_total: Optional[int] = None
    disc_number: Optional[int] = None
    release_date: Optional[str] = None
    explicit: bool = False
    isrc: Optional[str] = Field(default=None, index=True)
    cover_url: Optional[str] = None
    missing: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))
    status: str = Field(default=TrackStatus.PENDING, index=True)
    reason: Optional[str] = None
    path: Optional[str] = None
    size_bytes: Optional[int] = None
    source_url: Optional[str] = None
    source_provider: Optional[str] = None
    match_score: Optional[float] = None
    added_directly: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @classmethod
    def new(cls, track_id: str, title: str) -> Track:
        """A row for a track not in the catalogue yet. Every field with a default factory is given
        here: pydantic inspects a factory on each call, which made building a row cost 0.5 ms (an
        import of 6,000 tracks spent 3 s on it)."""
        now = utcnow()
        return cls(track_id=track_id, title=title, artists=[], album_artists=[], missing=[],
                   created_at=now, updated_at=now)

    def set_info(self, info: TrackInfo) -> None:
        """Store the metadata of ``info``.

        A field the source could not fill (in ``info.missing``) keeps the
        value this row already knows (an export row names one artist and no
        duration; the row read from the Web API knows them all), and stays
        in ``missing`` only when the row did not know it either. A cover URL
        the source lost keeps the old one.
        """
        row_missing = set(self.missing or ())
        kept = {name for name in info.missing
                if name in _INFO_FIELDS and name not in row_missing and _known(name, getattr(self, name))}
        for name in _INFO_FIELDS:
            if name in kept:
                continue
            value = getattr(info, name)
            if name == "missing":
                value = sorted(set(value) - kept)
            elif name in _LIST_FIELDS:
                value = list(value)
            elif name == "cover_url":
                value = value or self.cover_url
            setattr(self, name, value)

    def info(self) -> TrackInfo:
        """The :class:`TrackInfo` this row stores."""
        values = {name: getattr(self, name) for name in _INFO_FIELDS}
        for name in _LIST_FIELDS:
            values[name] = (frozenset if name == "missing" else tuple)(values[name] or ())
        return TrackInfo(track_id=self.track_id, **values)


class Playlist(SQLModel, table=True):
    """A mirrored playlist, or the pseudo-playlist ``likes`` (Liked Songs).

    ``kind`` is ``"playlist"`` or ``"likes"``. ``snapshot_id`` is the
    source's version of the playlist as last synced; ``source`` the name of
    the metadata source it was read from (a sync reads the same one).
    """

    playlist_id: str = Field(primary_key=True)
    kind: str = "playlist"
    title: str
    owner: Optional[str] = None
    description: Optional[str] = None
    snapshot_id: Optional[str] = None
    cover_url: Optional[str] = None
    source: Optional[str] = None
    synced_at: Optional[datetime] = None


class PlaylistEntry(SQLModel, table=True):
    """One position of a playlist. A track listed twice has two entries."""

    __table_args__ = (UniqueConstraint("playlist_id", "position"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    playlist_id: str = Field(foreign_key="playlist.playlist_id", index=True)
    position: int
    track_id: str = Field(foreign_key="track.track_id", index=True)


class DecisionKind:
    """Values of :attr:`MatchDecision.kind`."""

    PINNED = "pinned"      # the user chose the source
    SKIPPED = "skipped"    # the user said "don't download"
    AUTO = "auto"          # the matcher chose (or failed to choose)


class MatchDecision(SQLModel, table=True):
    """How a track's recording was chosen, and the candidates considered.

    Keyed by Spotify track id but not tied to a Track row: a user's pin or
    skip outlives the track's removal and applies again if it comes back.
    ``source`` is a URL or an absolute local path. ``candidates`` is a JSON list
    of the best candidates with their scores and components, best first.
    """

    track_id: str = Field(primary_key=True)
    kind: str = DecisionKind.AUTO
    source: Optional[str] = None
    provider: Optional[str] = None
    score: Optional[float] = None
    components: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    candidates: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    decided_at: datetime = Field(default_factory=utcnow)


class JobStatus:
    """Values of :attr:`Job.status`."""

    PENDING = "pending"        # waiting for the server's worker
    RUNNING = "running"        # working now (its process holds the write lock)
    COMPLETED = "completed"    # finished; every track ended downloaded, present, or a decision's outcome
    FAILED = "failed"          # an error, a track that failed, or ``interrupted`` (its process died)
    CANCELLED = "cancelled"    # the user stopped it
    FINISHED = (COMPLETED, FAILED, CANCELLED)


class Job(SQLModel, table=True):
    """A long operation (a load, a sync) and how it went.

    ``job_type`` is one of :data:`tunecrate.library.jobs.JOB_TYPES`
    (``playlist_load``, ``likes_sync``, …) and ``target`` what it works on
    (a reference or a stored playlist id). ``status`` is a :class:`JobStatus`
    value; ``progress`` runs from 0 to 1; ``message`` is the latest progress
    line, or why the job failed or was cancelled (``interrupted`` when its
    process died). ``result`` is the report the CLI prints with ``--json``
    (``null`` until the job ends). ``pid`` is the process that ran it.
    """

    id: Optional[int] = Field(default=None, primary_key=True)
    job_type: str
    target: str
    status: str = Field(default=JobStatus.PENDING, index=True)
    pid: Optional[int] = None
    result: Optional[Any] = Field(default=None, sa_column=Column(JSON, nullable=False))
    message: Optional[str] = None
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: Optional[datetime] = None
    progress: float = 0.0
    updated_at: datetime = Field(default_factory=utcnow)
    started_at: Optional[datetime] = None
