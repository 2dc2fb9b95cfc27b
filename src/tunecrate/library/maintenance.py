"""Keeping a library whole: garbage collection, verification and rebuilding from disk.

These are :class:`~tunecrate.library.library.Library` methods (mixed in) that
work offline. ``rebuild`` rebuilds or repairs the catalogue from
``storage_data/`` alone: the MP3 tags (see :mod:`tunecrate.media.tagging`)
and ``playlists/*.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from tunecrate.core.errors import DownloadError, InvalidReference, NotFound, StorageError, TunecrateError
from tunecrate.core.ids import validate_stored_id
from tunecrate.core.text import track_label
from tunecrate.core.types import SkippedEntry, TrackInfo, TrackList
from tunecrate.db.models import DecisionKind, MatchDecision, PlaylistEntry, Track, TrackStatus, utcnow
from tunecrate.media.covers import CoverFetcher, embedded_cover
from tunecrate.media.tagging import read_mp3, read_tags, write_tags
from tunecrate.storage.atomic import file_mode

if TYPE_CHECKING:
    from tunecrate.library.catalogue import Catalogue
    from tunecrate.library.decisions import Decisions
    from tunecrate.library.jobs import Jobs


@dataclass
class RepairReport:
    """What :meth:`Maintenance.repair` cleaned: leftovers under ``tmp/``, jobs marked interrupted."""

    tmp_removed: list[Path] = field(default_factory=list)
    jobs_interrupted: int = 0

    def to_json(self) -> dict:
        return {"tmp_removed": [str(p) for p in self.tmp_removed], "jobs_interrupted": self.jobs_interrupted}


@dataclass
class GcPlan:
    """What ``gc`` removes: orphan tracks ``(track_id, title, path or None)``, stray ``tmp/``
    entries, and files under ``tracks/`` that no row claims."""

    orphans: list[tuple[str, str, str | None]] = field(default_factory=list)
    stray_tmp: list[Path] = field(default_factory=list)
    unknown_files: list[Path] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.orphans or self.stray_tmp or self.unknown_files)

    def to_json(self) -> dict:
        return {
            "orphans": [{"track_id": t, "title": title, "path": p} for t, title, p in self.orphans],
            "stray_tmp": [str(p) for p in self.stray_tmp],
            "unknown_files": [str(p) for p in self.unknown_files],
        }


@dataclass
class VerifyReport:
    """Result of ``verify``: ``checked`` rows, and ``problems`` as ``(track_id, title, reason)``.

    ``repaired`` lists the track ids queued for the next load or sync.
    ``modes`` lists the library files ``(path, mode)`` that lack permission
    bits a new file gets (``want_mode``: 0666 less the umask), such as the
    0600 files of older releases that a media server running as another user
    cannot read; ``modes_fixed`` the paths whose mode was widened to it.
    """

    checked: int = 0
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    modes: list[tuple[str, int]] = field(default_factory=list)
    want_mode: int = 0o644
    modes_fixed: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"checked": self.checked, "repaired": self.repaired,
                "problems": [{"track_id": t, "title": title, "reason": r} for t, title, r in self.problems],
                "modes": [{"path": p, "mode": f"{m:04o}"} for p, m in self.modes],
                "want_mode": f"{self.want_mode:04o}", "modes_fixed": self.modes_fixed}


@dataclass
class LoadLocalReport:
    """Result of ``rebuild``: counts of what was found on disk and restored; ``set_aside`` is where a
    damaged catalogue was moved before the rebuild (``None`` when there was none)."""

    tracks: int = 0
    playlists: int = 0
    pins: int = 0
    skips: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    set_aside: str | None = None

    def to_json(self) -> dict:
        return {"tracks": self.tracks, "playlists": self.playlists, "pins": self.pins, "skips": self.skips,
                "unreadable": [{"path": p, "reason": r} for p, r in self.unreadable], "set_aside": self.set_aside}


@dataclass
class RetagReport:
    """Result of ``retag``: how many files were ``retagged``, and ``warnings``, one line per track
    whose cover could not be fetched (its embedded cover was kept)."""

    retagged: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"retagged": self.retagged, "warnings": list(self.warnings)}


def check_mp3(path: Path, expected_size: int | None) -> str | None:
    """Why ``path`` is not a sound library file (missing, wrong size, not MP3), or ``None``."""
    from mutagen import MutagenError
    from mutagen.mp3 import MP3

    if not path.is_file():
        return "file missing"
    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        return f"size {size} bytes, recorded {expected_size}"
    try:
        audio = MP3(path)
    except (MutagenError, OSError) as exc:
        return f"not a readable MP3: {exc}"
    if not audio.info or audio.info.length <= 0:
        return "no audio frames"
    return None


#: Seconds to wait for a cover image during :meth:`Maintenance.retag`.
COVER_TIMEOUT_S = 5.0


class Maintenance:
    """``repair``, ``gc``, ``verify``, ``retag`` and ``rebuild`` over one catalogue.

    ``writing`` is the library's write-lock context.
    """

    def __init__(self, catalogue: Catalogue, decisions: Decisions, jobs: Jobs,
                 writing: Callable[[], AbstractContextManager]) -> None:
        self.catalogue = catalogue
        self.decisions = decisions
        self.jobs = jobs
        self.engine = catalogue.engine
        self.layout = catalogue.layout
        self._writing = writing
        self.last_repair = RepairReport()

    # -- repair ----------------------------------------------------------------------

    def repair(self) -> RepairReport:
        """Clean what an interrupted run can have left; call with the write lock held.

        Empties ``tmp/`` (no other process writes while the lock is held) and
        marks jobs left running as interrupted. Files that went missing from
        ``tracks/`` are not looked for here (that would stat the whole
        library): a sync finds them for its own playlist, and ``verify`` for
        all. The report is kept in :attr:`last_repair`.
        """
        self.last_repair = RepairReport(self.layout.clean_tmp(), self.jobs.mark_interrupted())
        return self.last_repair

    # -- gc ------------------------------------------------------------------------

    def gc_plan(self) -> GcPlan:
        """What :meth:`gc` would remove, computed without changing anything."""
        plan = GcPlan()
        with Session(self.engine) as session:
            referenced = set(session.exec(select(PlaylistEntry.track_id).distinct()))
            rows = session.exec(select(Track)).all()
        known = {r.track_id for r in rows}
        for row in rows:
            if row.track_id not in referenced and not row.added_directly:
                plan.orphans.append((row.track_id, row.title, row.path))
        plan.stray_tmp = self.layout.stray_tmp()
        for path in self.layout.iter_track_files():
            if path.stem not in known or path.parent.name != path.stem[:2]:
                plan.unknown_files.append(path)
        return plan

    def gc(self) -> GcPlan:
        """Remove orphan tracks (rows, then files), stray ``tmp/`` entries and unclaimed files.

        Takes the write lock (whose repair empties ``tmp/``). Returns what was
        really removed, the ``tmp/`` entries included.
        """
        with self._writing():
            plan = self.gc_plan()
            plan.stray_tmp = [*self.last_repair.tmp_removed, *plan.stray_tmp]
            self.catalogue.prune([track_id for track_id, _, _ in plan.orphans])
            for path in plan.unknown_files:
                path.unlink(missing_ok=True)
            return plan

    # -- verify ---------------------------------------------------------------------

    def verify(self, repair: bool = False) -> VerifyReport:
        """Check that every downloaded row's file exists, has its recorded size and parses as MP3,
        and that every library file is readable as the umask allows (see :class:`VerifyReport`).

        With ``repair``, a missing or corrupt track is queued for the next load
        or sync (status ``pending``) and a corrupt file is removed (rows
        first, files after); a file with too narrow a mode gets the missing
        bits. Raises :class:`StorageError` when a mode cannot be changed.
        """
        report = VerifyReport(want_mode=file_mode())
        self._check_modes(report, repair)
        with Session(self.engine) as session:
            rows = session.exec(select(Track).where(Track.status == TrackStatus.DOWNLOADED)).all()
        for row in rows:
            report.checked += 1
            path = self.layout.track_path(row.track_id)
            problem = check_mp3(path, row.size_bytes) if row.path == self.layout.track_relpath(row.track_id) \
                else "recorded path is not the library layout"
            if problem:
                report.problems.append((row.track_id, row.title, problem))
        if repair and report.problems:
            with self._writing(), Session(self.engine) as session:
                for track_id, _, reason in report.problems:
                    row = session.get(Track, track_id)
                    row.status, row.path, row.size_bytes = TrackStatus.PENDING, None, None
                    row.reason = f"verify: {reason}; will be fetched again"
                    row.updated_at = utcnow()
                    session.add(row)
                    report.repaired.append(track_id)
                session.commit()
            for track_id in report.repaired:
                self.layout.track_path(track_id).unlink(missing_ok=True)
        return report

    def _check_modes(self, report: VerifyReport, repair: bool) -> None:
        want = report.want_mode
        for path in self.layout.iter_library_files():
            try:
                mode = stat.S_IMODE(path.stat().st_mode)
            except FileNotFoundError:
                continue
            if mode & want == want:
                continue
            report.modes.append((str(path), mode))
            if repair:
                try:
                    os.chmod(path, mode | want)
                except OSError as exc:
                    raise StorageError(f"cannot change the mode of {path}: {exc.strerror or exc}") from exc
                report.modes_fixed.append(str(path))

    # -- retag ----------------------------------------------------------------------

    def retag(self, track_id: str | None = None, *, covers: CoverFetcher | None = None) -> RetagReport:
        """Rewrite the ID3 tags of one downloaded track (``track_id``) or of all (``None``)
        from the catalogue, without fetching audio; report how many files were rewritten.

        The audio frames are copied unchanged. Each file is rewritten as a copy
        under ``tmp/`` and then atomically renamed over the original, so a crash
        leaves the old file or the new one; ``Track.size_bytes`` is updated.
        Covers come from ``covers`` (``None``: keep the embedded ones); a cover
        that cannot be fetched keeps the embedded one and is reported in
        ``warnings``. Takes the
        write lock. Raises :class:`NotFound` when ``track_id`` names a track
        that is not in the library or has no file, :class:`TaggingError` or
        :class:`StorageError` when a file cannot be rewritten.
        """
        report = RetagReport()
        with self._writing():
            with Session(self.engine) as session:
                if track_id is None:
                    rows = session.exec(select(Track).where(Track.status == TrackStatus.DOWNLOADED)
                                        .order_by(Track.track_id)).all()
                else:
                    row = session.get(Track, track_id)
                    if row is None:
                        raise NotFound(f"no track {track_id} in the library (see `tunecrate tracks`)")
                    if not self.catalogue.file_present(row.status, row.path):
                        raise NotFound(f"track {track_id} ({row.title}) has no file to retag "
                                       f"(status {row.status})")
                    rows = [row]
            for row in rows:
                final = self.layout.track_path(row.track_id)
                if not final.is_file():
                    continue
                cover = None
                if covers is not None and row.cover_url:
                    try:
                        cover = covers.get(row.cover_url)
                    except DownloadError as exc:
                        report.warnings.append(f"{track_label(row.artists, row.title)} ({row.track_id}): {exc}; "
                                               "kept the embedded cover")
                        cover = None
                if cover is None:
                    cover = embedded_cover(final)
                try:
                    old_tags = read_tags(final)
                except TunecrateError:
                    old_tags = None
                tmp = self.layout.tmp_file(suffix=".mp3")
                try:
                    shutil.copyfile(final, tmp)
                    write_tags(tmp, row.info(), source_url=row.source_url, source_provider=row.source_provider,
                               match_score=row.match_score, cover=cover,
                               source_digest=old_tags.source_digest if old_tags is not None else None)
                    size = self.layout.install(tmp, final)
                finally:
                    tmp.unlink(missing_ok=True)
                with Session(self.engine) as session:
                    stored = session.get(Track, row.track_id)
                    stored.size_bytes, stored.updated_at = size, utcnow()
                    session.add(stored)
                    session.commit()
                report.retagged += 1
        return report

    # -- load-local -------------------------------------------------------------------

    def rebuild(self) -> LoadLocalReport:
        """Rebuild or repair the catalogue from ``storage_data/`` alone, without a network.

        Every tagged MP3 under ``tracks/`` becomes a downloaded track (its pin
        restored when its tags say it came from a pinned source, unless the
        user cleared that pin: :meth:`Decisions.cleared`); every
        ``playlists/*.json`` becomes a playlist with its ordered entries, and
        the tracks it lists without a file are recorded as pending; the pins
        and skips kept under the storage root (``decisions.json`` and its
        journal) come back. Tracks no playlist lists are
        kept as added by the user, so nothing is pruned.
        """
        report = LoadLocalReport()
        found: dict[str, tuple[TrackInfo, Path, object]] = {}
        for path in sorted(self.layout.iter_track_files()):
            try:
                tags, seconds = read_mp3(path)
            except TunecrateError as exc:
                report.unreadable.append((str(path), str(exc)))
                continue
            if tags is None or tags.track.track_id != path.stem or seconds <= 0:
                report.unreadable.append((str(path), "no tunecrate tags or no audio"))
                continue
            found[tags.track.track_id] = (tags.track, path, tags)

        playlists: list[tuple[TrackList, datetime | None]] = []
        for doc_path in sorted(self.layout.playlists_dir.glob("*.json")):
            try:
                playlists.append(_playlist_from_document(doc_path))
            except (ValueError, KeyError, TypeError, InvalidReference) as exc:
                report.unreadable.append((str(doc_path), f"bad playlist file: {exc}"))

        with self._writing():
            listed = {t.track_id for p, _ in playlists for t in p.entries}
            from_documents = {t.track_id: t for p, _ in playlists for t in p.entries}
            # A playlist document knows more than the tags (cover URL, fields the source lacked).
            self.catalogue.upsert_tracks([from_documents.get(tid, info) for tid, (info, _, _) in found.items()])
            self.catalogue.upsert_tracks([t for t in from_documents.values() if t.track_id not in found])
            files = [{"b_id": track_id, "b_path": self.layout.track_relpath(track_id),
                      "b_size": path.stat().st_size, "b_url": tags.source_url, "b_provider": tags.source_provider,
                      "b_score": tags.match_score, "b_direct": track_id not in listed}
                     for track_id, (_, path, tags) in found.items()]
            cleared = self.decisions.cleared()  # a pin the user cleared stays cleared, whatever the tags say
            tag_pins = {track_id: tags.source_url for track_id, (_, _, tags) in found.items()
                        if tags.source_provider == "pinned" and tags.source_url and track_id not in cleared}
            report.pins, report.skips = self._restore(files, tag_pins, self._saved_decisions())
            for info, synced_at in playlists:
                self.catalogue.write_playlist(info, synced_at=synced_at, document=False)
            report.tracks, report.playlists = len(found), len(playlists)
        return report

    def _saved_decisions(self) -> dict[str, tuple[str, str | None, str | None]]:
        """The pins and skips kept under the storage root: ``{track_id: (kind, source, provider)}``
        (a pin's provider says who pinned it, ``pinned`` when the record does not)."""
        saved = {}
        for record in self.decisions.saved():
            try:
                track_id = validate_stored_id(record.get("track_id", ""))
            except InvalidReference:
                continue
            kind, provider = record.get("kind"), record.get("provider")
            if kind == DecisionKind.PINNED:
                saved[track_id] = (kind, record.get("source"),
                                   provider if isinstance(provider, str) and provider else "pinned")
            elif kind == DecisionKind.SKIPPED:
                saved[track_id] = (kind, None, None)
        return saved

    def _restore(self, files: list[dict], tag_pins: dict[str, str],
                 saved: dict[str, tuple[str, str | None, str | None]]) -> tuple[int, int]:
        """Record the files found (``files``: bound values of the update below), the pins their tags
        name (``tag_pins``: a skip already recorded wins over them) and the ``saved`` decisions (newer than
        the tags: they win), in one transaction of a few statements; return ``(pins, skips)``."""
        table, decision = Track.__table__, MatchDecision.__table__
        now = utcnow()
        with self.engine.begin() as conn:
            kinds = dict(conn.execute(select(decision.c.track_id, decision.c.kind)).all())
            if files:
                conn.execute(update(table).where(table.c.track_id == bindparam("b_id")).values(
                    status=TrackStatus.DOWNLOADED, reason=None, path=bindparam("b_path"),
                    size_bytes=bindparam("b_size"), source_url=bindparam("b_url"),
                    source_provider=bindparam("b_provider"), match_score=bindparam("b_score"),
                    added_directly=table.c.added_directly | bindparam("b_direct")), files)
            chosen = {t: (DecisionKind.PINNED, url, "pinned") for t, url in tag_pins.items()
                      if kinds.get(t) != DecisionKind.SKIPPED}
            chosen.update(saved)
            if chosen:
                insert = sqlite_insert(decision)
                insert = insert.on_conflict_do_update(index_elements=[decision.c.track_id], set_={
                    "kind": insert.excluded.kind, "source": insert.excluded.source,
                    "provider": insert.excluded.provider})
                conn.execute(insert, [
                    {"track_id": t, "kind": kind, "source": source, "components": {}, "candidates": [],
                     "provider": provider, "decided_at": now}
                    for t, (kind, source, provider) in chosen.items()])
            skipped = [{"b_id": t} for t, (kind, _, _) in saved.items() if kind == DecisionKind.SKIPPED]
            if skipped:
                conn.execute(update(table).where(table.c.track_id == bindparam("b_id"),
                                                 table.c.status != TrackStatus.DOWNLOADED)
                             .values(status=TrackStatus.SKIPPED, reason="marked \"don't download\""), skipped)
        pins = sum(kind == DecisionKind.PINNED for kind, _, _ in chosen.values())
        return pins, len(skipped)


def _playlist_from_document(path: Path) -> tuple[TrackList, datetime | None]:
    """A :class:`TrackList` and its last sync time from a ``playlists/<id>.json`` document."""
    doc = json.loads(path.read_text("utf-8"))
    playlist_id = validate_stored_id(doc["playlist_id"])
    if path.stem != playlist_id:
        raise ValueError(f"file name does not match id {playlist_id}")
    tracks = {}
    for track_id, meta in doc.get("tracks", {}).items():
        tracks[track_id] = TrackInfo.from_json({**meta, "track_id": validate_stored_id(track_id)})
    entries = tuple(tracks[validate_stored_id(t)] for t in doc["track_ids"])
    skipped = tuple(SkippedEntry(int(s["position"]), str(s["reason"]), s.get("name")) for s in doc.get("skipped", ()))
    synced_at = datetime.fromisoformat(doc["synced_at"]) if doc.get("synced_at") else None
    info = TrackList(kind=doc.get("kind", "playlist"), id=playlist_id, title=doc.get("title", ""),
                     entries=entries, skipped=skipped, snapshot=doc.get("snapshot_id"), owner=doc.get("owner"),
                     description=doc.get("description"), cover_url=doc.get("cover_url"),
                     source=doc.get("source") or "spotify-api")
    return info, synced_at
