"""The catalogue: the rows of tracks and playlists, and the playlist documents beside the audio.

:class:`Catalogue` is the one place that reads and writes Track, Playlist and
PlaylistEntry rows and ``playlists/<id>.json``. Reads need no lock (SQLite
WAL: they run while a load writes); every write method expects the caller
to hold the library's write lock.

The invariant it keeps: a Track row with status ``downloaded`` points at a
complete file, and a playlist's entries are replaced in one transaction, so
that no reader sees half a playlist.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import case, delete, func, insert
from sqlmodel import Session, select

from tunecrate.core.errors import NotFound, StorageError
from tunecrate.core.ids import is_spotify_id
from tunecrate.core.types import TrackInfo, TrackList
from tunecrate.db.models import DecisionKind, MatchDecision, Playlist, PlaylistEntry, Track, TrackStatus, utcnow
from tunecrate.library.results import PlaylistDetail, PlaylistRef, PlaylistSummary, Stats, TrackDetail, TrackRecord

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tunecrate.storage.layout import Layout

__all__ = ["Catalogue", "LocalPlaylist", "playlist_document"]

#: The Track columns a :class:`TrackRecord` shows: selecting these gives plain rows (JSON lists
#: decoded) instead of ORM objects, which listings of thousands of tracks cannot afford.
_TRACK_COLUMNS = tuple(Track.__table__.columns[name] for name in (
    "track_id", "title", "artists", "album", "album_artists", "isrc", "duration_ms", "path", "size_bytes", "status",
    "reason", "source_url", "source_provider", "match_score"))
#: Version of the ``playlists/<id>.json`` documents this release writes.
DOCUMENT_FORMAT = 2
#: Tracks upserted per round trip (and held by the session at once).
_UPSERT_CHUNK = 500


@dataclass
class LocalPlaylist:
    """A playlist as the library holds it: its ordered ``(track_id, title)`` entries, and whether
    every entry's file is present."""

    title: str
    kind: str
    snapshot_id: str | None
    source: str | None
    entries: list[tuple[str, str]]
    all_present: bool


def playlist_document(tracks: TrackList, synced_at: datetime) -> dict:
    """The ``playlists/<id>.json`` document: metadata, ordered track ids, skipped entries and each
    track's metadata. With the MP3 tags it is enough to rebuild the catalogue (``load-local``)."""
    metadata: dict[str, dict] = {}
    for track in tracks.entries:
        metadata.setdefault(track.track_id, track.to_json())
    return {
        "format": DOCUMENT_FORMAT, "kind": tracks.kind, "playlist_id": tracks.id, "title": tracks.title,
        "owner": tracks.owner, "description": tracks.description, "snapshot_id": tracks.snapshot,
        "cover_url": tracks.cover_url, "source": tracks.source, "synced_at": synced_at.isoformat(),
        "track_ids": [t.track_id for t in tracks.entries],
        "skipped": [{"position": s.position, "reason": s.reason, "name": s.name} for s in tracks.skipped],
        "tracks": metadata,
    }


def _entry_positions(count: int, skipped_positions: Iterable[int]) -> list[int]:
    """Source positions of the usable entries: 0..N with the skipped ones left out."""
    skipped = set(skipped_positions)
    positions, pos = [], 0
    while len(positions) < count:
        if pos not in skipped:
            positions.append(pos)
        pos += 1
    return positions


class Catalogue:
    """Track and playlist rows over one engine, and their documents under one layout."""

    def __init__(self, engine: Engine, layout: Layout) -> None:
        self.engine = engine
        self.layout = layout
        self._prefix = str(layout.root) + os.sep  # row paths are relative to the root

    # -- mapping --------------------------------------------------------------------------

    def file_present(self, status: str | None, path: str | None) -> bool:
        """Whether a row with ``status`` and relative ``path`` has its file: downloaded, and on disk."""
        return status == TrackStatus.DOWNLOADED and bool(path) and (self.layout.root / path).is_file()

    def record(self, row: Track, position: int | None = None) -> TrackRecord:
        """The listing record of a Track row."""
        return self.record_of(tuple(getattr(row, column.name) for column in _TRACK_COLUMNS), position)

    def record_of(self, values: Sequence, position: int | None = None) -> TrackRecord:
        """The listing record of the values of :data:`_TRACK_COLUMNS`, in that order (a plain result row)."""
        (track_id, title, artists, album, album_artists, isrc, duration_ms, path, size_bytes, status, reason,
         source_url, source_provider, match_score) = values
        return TrackRecord(track_id, title, tuple(artists), album, tuple(album_artists), isrc, duration_ms,
                           self._prefix + path.replace("/", os.sep) if path else None, size_bytes, status, reason,
                           source_url, source_provider, match_score, position)

    # -- reading ---------------------------------------------------------------------------

    def track_row(self, track_id: str) -> Track | None:
        with Session(self.engine) as session:
            return session.get(Track, track_id)

    def file_state(self, track_id: str) -> tuple[str, str | None] | None:
        """A track's ``(status, relative path)``, read without building its row (``None``: no such track)."""
        with Session(self.engine) as session:
            return session.exec(select(Track.status, Track.path).where(Track.track_id == track_id)).first()

    def playlist_row(self, playlist_id: str) -> Playlist | None:
        with Session(self.engine) as session:
            return session.get(Playlist, playlist_id)

    def tracks(self) -> list[TrackRecord]:
        """Every track, by artist then title."""
        with Session(self.engine) as session:
            # Core rows through the session's connection: no ORM objects, nor the ORM's row loading.
            rows = session.connection().execute(select(*_TRACK_COLUMNS)).all()
        rows.sort(key=lambda r: ([a.casefold() for a in r[2]], r[1].casefold()))
        return [self.record_of(r) for r in rows]

    def playlist_ids(self) -> list[str]:
        """Every playlist id, by title."""
        with Session(self.engine) as session:
            return list(session.exec(select(Playlist.playlist_id).order_by(Playlist.title, Playlist.playlist_id)))

    def playlists(self) -> list[PlaylistSummary]:
        """Every playlist, by title, with its entry counts."""
        with Session(self.engine) as session:
            rows = session.exec(select(Playlist).order_by(Playlist.title)).all()
            counts: dict[str, int] = {}
            downloaded: dict[str, int] = {}
            for pid, count, done in session.exec(
                select(PlaylistEntry.playlist_id, func.count(),
                       func.sum(case((Track.status == TrackStatus.DOWNLOADED, 1), else_=0)))
                .join(Track, Track.track_id == PlaylistEntry.track_id).group_by(PlaylistEntry.playlist_id)
            ):
                counts[pid], downloaded[pid] = count, int(done or 0)
        return [PlaylistSummary(
            playlist_id=r.playlist_id, kind=r.kind, title=r.title, owner=r.owner,
            track_count=counts.get(r.playlist_id, 0), downloaded=downloaded.get(r.playlist_id, 0),
            snapshot_id=r.snapshot_id, synced_at=r.synced_at.isoformat() if r.synced_at else None, source=r.source,
        ) for r in rows]

    def playlist(self, playlist_id: str) -> PlaylistDetail:
        """One playlist with its entries in order. Raises :class:`NotFound`."""
        with Session(self.engine) as session:
            row = session.get(Playlist, playlist_id)
            if row is None:
                raise NotFound(f"no playlist {playlist_id!r} in the library (see `tunecrate playlists`)")
            rows = session.connection().execute(  # Core rows, as in tracks()
                select(PlaylistEntry.position, *_TRACK_COLUMNS).join(Track, Track.track_id == PlaylistEntry.track_id)
                .where(PlaylistEntry.playlist_id == playlist_id).order_by(PlaylistEntry.position)
            ).all()
        tracks = tuple(self.record_of(row[1:], row[0]) for row in rows)
        return PlaylistDetail(playlist_id=row.playlist_id, kind=row.kind, title=row.title, owner=row.owner,
                              snapshot_id=row.snapshot_id, track_count=len(tracks), tracks=tracks, source=row.source)

    def playlist_infos(self, playlist_id: str) -> tuple[TrackInfo, ...]:
        """The :class:`TrackInfo` of a playlist's entries, in order (``()`` for an unknown playlist).

        Rows are read in batches and mapped one by one, so that memory does
        not grow with the playlist beyond the result itself.
        """
        with Session(self.engine) as session:
            rows = session.exec(
                select(Track).join(PlaylistEntry, PlaylistEntry.track_id == Track.track_id)
                .where(PlaylistEntry.playlist_id == playlist_id).order_by(PlaylistEntry.position)
                .execution_options(yield_per=500))
            return tuple(row.info() for row in rows)

    def local_playlist(self, playlist_id: str) -> LocalPlaylist | None:
        """The playlist as the library holds it, or ``None`` when it is not in the library."""
        with Session(self.engine) as session:
            row = session.get(Playlist, playlist_id)
            if row is None:
                return None
            entries = session.exec(
                select(PlaylistEntry.track_id, Track.title, Track.status, Track.path)
                .join(Track, Track.track_id == PlaylistEntry.track_id)
                .where(PlaylistEntry.playlist_id == playlist_id).order_by(PlaylistEntry.position)
            ).all()
        all_present = all(self.file_present(status, path) for _, _, status, path in entries)
        return LocalPlaylist(row.title, row.kind, row.snapshot_id, row.source,
                             [(track_id, title) for track_id, title, _, _ in entries], all_present)

    def stats(self) -> Stats:
        """Library totals (see :class:`Stats`)."""
        with Session(self.engine) as session:
            by_status = dict(session.exec(select(Track.status, func.count()).group_by(Track.status)).all())
            disk = session.exec(select(func.coalesce(func.sum(Track.size_bytes), 0))
                                .where(Track.status == TrackStatus.DOWNLOADED)).one()
            playlists = session.exec(select(func.count()).select_from(Playlist)).one()
        return Stats(
            tracks=sum(by_status.values()), downloaded=by_status.get(TrackStatus.DOWNLOADED, 0),
            playlists=playlists, disk_bytes=int(disk),
            review=by_status.get(TrackStatus.REVIEW, 0) + by_status.get(TrackStatus.UNRESOLVED, 0),
            retry=by_status.get(TrackStatus.FAILED, 0) + by_status.get(TrackStatus.PENDING, 0),
        )

    def playlists_of(self, session: Session, track_ids: Sequence[str]) -> dict[str, list[PlaylistRef]]:
        """``{track_id: [PlaylistRef]}`` for the playlists listing each track, by title."""
        found: dict[str, list[PlaylistRef]] = {}
        if not track_ids:
            return found
        rows = session.exec(
            select(PlaylistEntry.track_id, Playlist.playlist_id, Playlist.title)
            .join(Playlist, Playlist.playlist_id == PlaylistEntry.playlist_id)
            .where(PlaylistEntry.track_id.in_(list(track_ids))).distinct()
            .order_by(Playlist.title)
        ).all()
        for track_id, playlist_id, title in rows:
            found.setdefault(track_id, []).append(PlaylistRef(playlist_id, title))
        return found

    def track_detail(self, track_id: str) -> TrackDetail:
        """One track with its playlists, decision and candidates. Raises :class:`NotFound`."""
        with Session(self.engine) as session:
            row = session.get(Track, track_id)
            if row is None:
                raise NotFound(f"no track {track_id} in the library (see `tunecrate tracks`)")
            decision = session.get(MatchDecision, track_id)
            playlists = self.playlists_of(session, [track_id]).get(track_id, [])
        base = self.record(row)
        return TrackDetail(
            **{k: getattr(base, k) for k in base.__dataclass_fields__},
            track_number=row.track_number, track_total=row.track_total, disc_number=row.disc_number,
            release_date=row.release_date, explicit=row.explicit, added_directly=row.added_directly,
            spotify_url=f"https://open.spotify.com/track/{track_id}" if is_spotify_id(track_id) else None,
            playlists=tuple(playlists), decision=decision.kind if decision else None,
            candidates=tuple(decision.candidates) if decision else (),
            decision_provider=decision.provider if decision else None,
        )

    def needing_fetch(self, tracks: Sequence[TrackInfo]) -> list[TrackInfo]:
        """The distinct tracks that are not downloaded with their file present (or whose pin changed)."""
        unique = {t.track_id: t for t in tracks}
        with Session(self.engine) as session:
            rows = {r.track_id: r for r in session.exec(
                select(Track.track_id, Track.status, Track.path, Track.source_url)
                .where(Track.track_id.in_(list(unique))))}
            pins = {d.track_id: d.source for d in session.exec(
                select(MatchDecision).where(MatchDecision.track_id.in_(list(unique)),
                                            MatchDecision.kind == DecisionKind.PINNED))}
        todo = []
        for track_id, track in unique.items():
            row = rows.get(track_id)
            if row is None or not self.file_present(row.status, row.path) \
                    or (track_id in pins and pins[track_id] != row.source_url):
                todo.append(track)
        return todo

    def orphans_after(self, candidates: set[str], playlist_id: str | None) -> list[str]:
        """Of ``candidates``, the tracks no other playlist lists and the user did not add directly."""
        if not candidates:
            return []
        with Session(self.engine) as session:
            referenced = set(session.exec(
                select(PlaylistEntry.track_id).where(PlaylistEntry.track_id.in_(list(candidates)),
                                                     PlaylistEntry.playlist_id != playlist_id)))
            kept = set(session.exec(
                select(Track.track_id).where(Track.track_id.in_(list(candidates)),
                                             Track.added_directly == True)))  # noqa: E712
        return sorted(candidates - referenced - kept)

    # -- writing (the caller holds the write lock) -------------------------------------------

    def upsert_tracks(self, tracks: Sequence[TrackInfo], *, added_directly: bool = False) -> dict[str, TrackInfo]:
        """Insert or refresh metadata rows; status, file and source are kept, and so is what a row
        knows that the source could not fill (:meth:`Track.set_info`). Returns each track's
        metadata as stored now, by track id."""
        unique = list({t.track_id: t for t in tracks}.values())
        stored: dict[str, TrackInfo] = {}
        with Session(self.engine) as session:
            for start in range(0, len(unique), _UPSERT_CHUNK):  # bounded memory: rows leave the session per chunk
                chunk = unique[start:start + _UPSERT_CHUNK]
                existing = {row.track_id: row for row in session.exec(
                    select(Track).where(Track.track_id.in_([t.track_id for t in chunk])))}
                for track in chunk:
                    row = existing.get(track.track_id) or Track.new(track.track_id, track.title)
                    row.set_info(track)
                    row.added_directly = row.added_directly or added_directly
                    row.updated_at = utcnow()
                    session.add(row)
                    stored[track.track_id] = row.info()
                session.flush()
                session.expunge_all()
            session.commit()
        return stored

    def write_playlist(self, tracks: TrackList, synced_at: datetime | None = None, *, document: bool = True) -> None:
        """Record a playlist and its ordered entries in one transaction.

        The JSON document is written first and the database second: a crash
        in between leaves the old snapshot id in the database, so the next
        sync does the work again. Readers see the old entries or the new,
        never a mix. A cached cover whose URL changed is dropped. With
        ``document`` False only the rows are written (a rebuild from the
        documents: the cover stored beside a document is kept).
        """
        synced_at = synced_at or utcnow()
        if document:
            self.layout.write_json(self.layout.playlist_json_path(tracks.id), playlist_document(tracks, synced_at))
        positions = _entry_positions(len(tracks.entries), [s.position for s in tracks.skipped])
        with Session(self.engine) as session:
            existing = session.get(Playlist, tracks.id)
            row = existing or Playlist(playlist_id=tracks.id, title=tracks.title)
            if row.cover_url != tracks.cover_url and (existing is not None or document):
                self.layout.playlist_cover_path(tracks.id).unlink(missing_ok=True)
            row.kind, row.title, row.owner = tracks.kind, tracks.title, tracks.owner
            row.description, row.snapshot_id, row.cover_url = tracks.description, tracks.snapshot, tracks.cover_url
            row.source = tracks.source or row.source
            row.synced_at = synced_at
            session.add(row)
            session.exec(delete(PlaylistEntry).where(PlaylistEntry.playlist_id == tracks.id))
            if tracks.entries:  # one executemany: ORM objects cost ~0.2 ms an entry, felt at 5,000 liked songs
                session.execute(insert(PlaylistEntry), [
                    {"playlist_id": tracks.id, "position": pos, "track_id": t.track_id}
                    for pos, t in zip(positions, tracks.entries)])
            session.commit()

    def delete_playlist(self, playlist_id: str) -> None:
        """Remove a playlist's document first, then its rows: a failure leaves it whole.

        Raises :class:`~tunecrate.core.errors.StorageError` naming the file that
        could not be removed.
        """
        self.layout.remove(self.layout.playlist_json_path(playlist_id))
        with Session(self.engine) as session:
            session.exec(delete(PlaylistEntry).where(PlaylistEntry.playlist_id == playlist_id))
            row = session.get(Playlist, playlist_id)
            if row is not None:
                session.delete(row)
            session.commit()
        self.layout.playlist_cover_path(playlist_id).unlink(missing_ok=True)

    def set_added_directly(self, track_id: str, value: bool) -> None:
        with Session(self.engine) as session:
            row = session.get(Track, track_id)
            if row is not None:
                row.added_directly = value
                session.add(row)
                session.commit()

    def prune(self, candidates: Sequence[str]) -> list[str]:
        """Remove the rows, then the files, of those ``candidates`` that nothing wants; return their ids.

        A track is wanted while any playlist lists it or the user added it
        directly. Rows go first (one transaction), files after: a crash in
        between leaves only files without rows, which ``gc`` removes.
        Automatic match decisions go with their track; the user's own (pins,
        skips) are kept. Raises :class:`~tunecrate.core.errors.StorageError`
        naming a file that could not be removed (its row is gone already).
        """
        if not candidates:
            return []
        with Session(self.engine) as session:
            referenced = set(session.exec(
                select(PlaylistEntry.track_id).where(PlaylistEntry.track_id.in_(list(candidates)))))
            rows = session.exec(select(Track).where(Track.track_id.in_(list(candidates)))).all()
            doomed = [r for r in rows if r.track_id not in referenced and not r.added_directly]
            for row in doomed:
                session.delete(row)
                decision = session.get(MatchDecision, row.track_id)
                if decision is not None and decision.kind == DecisionKind.AUTO:
                    session.delete(decision)
            session.commit()
        stuck: list[tuple[str, str]] = []
        for row in doomed:
            path = self.layout.track_path(row.track_id)
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                stuck.append((str(path), exc.strerror or str(exc)))
        if stuck:
            others = f" and {len(stuck) - 1} other file(s)" if len(stuck) > 1 else ""
            raise StorageError(f"cannot remove {stuck[0][0]}{others}: {stuck[0][1]}; their tracks are gone from "
                               "the library, and `tunecrate gc` removes the files once the folder can be written")
        return [r.track_id for r in doomed]
