"""Keeping a library whole: garbage collection, verification and rebuilding from disk.

These are :class:`~tunecrate.library.library.Library` methods (mixed in) that
work offline. ``load_local`` rebuilds or repairs the catalogue from
``storage_data/`` alone: the MP3 tags (see :mod:`tunecrate.services.tagging`)
and ``playlists/*.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, select

from tunecrate.core.errors import InvalidReference, TunecrateError
from tunecrate.core.ids import validate_stored_id
from tunecrate.core.types import PlaylistInfo, SkippedEntry, TrackInfo
from tunecrate.db.models import DecisionKind, MatchDecision, PlaylistEntry, Track, TrackStatus, utcnow
from tunecrate.services.tagging import read_tags


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
    """

    checked: int = 0
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"checked": self.checked, "repaired": self.repaired,
                "problems": [{"track_id": t, "title": title, "reason": r} for t, title, r in self.problems]}


@dataclass
class LoadLocalReport:
    """Result of ``load_local``: counts of what was found on disk and restored."""

    tracks: int = 0
    playlists: int = 0
    pins: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"tracks": self.tracks, "playlists": self.playlists, "pins": self.pins,
                "unreadable": [{"path": p, "reason": r} for p, r in self.unreadable]}


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


class MaintenanceMixin:
    """``gc``, ``verify`` and ``load_local`` for :class:`Library`."""

    # -- gc ------------------------------------------------------------------------

    def gc_plan(self) -> GcPlan:
        """What :meth:`gc` would remove, computed without changing anything."""
        plan = GcPlan()
        with Session(self.engine) as session:
            referenced = set(session.exec(select(PlaylistEntry.track_id).distinct()))
            rows = session.exec(select(Track)).all()
        known = {r.track_id for r in rows}
        for row in rows:
            if row.track_id not in referenced and not row.wanted:
                plan.orphans.append((row.track_id, row.title, row.path))
        plan.stray_tmp = self.layout.stray_tmp()
        for path in self.layout.iter_track_files():
            if path.stem not in known or path.parent.name != path.stem[:2]:
                plan.unknown_files.append(path)
        return plan

    def gc(self) -> GcPlan:
        """Remove orphan tracks (rows, then files), stray ``tmp/`` entries and unclaimed files.

        Takes the write lock. Returns what was removed.
        """
        with self.writing():
            plan = self.gc_plan()
            self.prune([track_id for track_id, _, _ in plan.orphans])
            for path in plan.unknown_files:
                path.unlink(missing_ok=True)
            return plan

    # -- verify ---------------------------------------------------------------------

    def verify(self, repair: bool = False) -> VerifyReport:
        """Check that every downloaded row's file exists, has its recorded size and parses as MP3.

        With ``repair``, a missing or corrupt track is queued for the next load
        or sync (status ``pending``) and a corrupt file is removed.
        """
        report = VerifyReport()
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
            with self.writing(), Session(self.engine) as session:
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

    # -- load-local -------------------------------------------------------------------

    def load_local(self) -> LoadLocalReport:
        """Rebuild or repair the catalogue from ``storage_data/`` alone, without a network.

        Every tagged MP3 under ``tracks/`` becomes a downloaded track (its pin
        restored when its tags say it came from a pinned source); every
        ``playlists/*.json`` becomes a playlist with its ordered entries, and
        the tracks it lists without a file are recorded as pending. Tracks no
        playlist lists are kept as added by the user, so nothing is pruned.
        """
        report = LoadLocalReport()
        found: dict[str, tuple[TrackInfo, Path, object]] = {}
        for path in sorted(self.layout.iter_track_files()):
            try:
                tags = read_tags(path)
            except TunecrateError as exc:
                report.unreadable.append((str(path), str(exc)))
                continue
            if tags is None or tags.track.track_id != path.stem or check_mp3(path, None):
                report.unreadable.append((str(path), "no tunecrate tags or no audio"))
                continue
            found[tags.track.track_id] = (tags.track, path, tags)

        playlists: list[tuple[PlaylistInfo, datetime | None]] = []
        for doc_path in sorted(self.layout.playlists_dir.glob("*.json")):
            try:
                playlists.append(_playlist_from_document(doc_path))
            except (ValueError, KeyError, TypeError, InvalidReference) as exc:
                report.unreadable.append((str(doc_path), f"bad playlist file: {exc}"))

        with self.writing():
            listed = {t.track_id for p, _ in playlists for t in p.entries}
            self.upsert_tracks([info for info, _, _ in found.values()])
            self.upsert_tracks([t for p, _ in playlists for t in p.entries if t.track_id not in found])
            with Session(self.engine) as session:
                for track_id, (info, path, tags) in found.items():
                    row = session.get(Track, track_id)
                    row.status, row.reason = TrackStatus.DOWNLOADED, None
                    row.path = self.layout.track_relpath(track_id)
                    row.size_bytes = path.stat().st_size
                    row.source_url, row.source_provider = tags.source_url, tags.source_provider
                    row.match_score = tags.match_score
                    row.wanted = row.wanted or track_id not in listed
                    session.add(row)
                    if tags.source_provider == "pinned" and tags.source_url:
                        decision = session.get(MatchDecision, track_id) or MatchDecision(track_id=track_id)
                        if decision.kind != DecisionKind.SKIPPED:
                            decision.kind, decision.source, decision.provider = (
                                DecisionKind.PINNED, tags.source_url, "pinned")
                            session.add(decision)
                            report.pins += 1
                session.commit()
            for info, synced_at in playlists:
                self.write_playlist(info, synced_at=synced_at)
            report.tracks, report.playlists = len(found), len(playlists)
        return report


def _playlist_from_document(path: Path) -> tuple[PlaylistInfo, datetime | None]:
    """A :class:`PlaylistInfo` and its last sync time from a ``playlists/<id>.json`` document."""
    doc = json.loads(path.read_text("utf-8"))
    playlist_id = validate_stored_id(doc["playlist_id"])
    if path.stem != playlist_id:
        raise ValueError(f"file name does not match id {playlist_id}")
    tracks = {}
    for track_id, meta in doc.get("tracks", {}).items():
        validate_stored_id(track_id)
        tracks[track_id] = TrackInfo(
            track_id=track_id, title=meta.get("title", ""), artists=tuple(meta.get("artists", ())),
            album=meta.get("album", ""), album_artists=tuple(meta.get("album_artists", ())),
            duration_ms=int(meta.get("duration_ms", 0)), track_number=meta.get("track_number"),
            track_total=meta.get("track_total"), disc_number=meta.get("disc_number"),
            release_date=meta.get("release_date"), explicit=bool(meta.get("explicit", False)),
            isrc=meta.get("isrc"), cover_url=meta.get("cover_url"),
        )
    entries = tuple(tracks[validate_stored_id(t)] for t in doc["track_ids"])
    skipped = tuple(SkippedEntry(int(s["position"]), str(s["reason"]), s.get("name")) for s in doc.get("skipped", ()))
    synced_at = datetime.fromisoformat(doc["synced_at"]) if doc.get("synced_at") else None
    info = PlaylistInfo(kind=doc.get("kind", "playlist"), playlist_id=playlist_id, title=doc.get("title", ""),
                        entries=entries, skipped=skipped, snapshot_id=doc.get("snapshot_id"),
                        owner=doc.get("owner"), description=doc.get("description"), cover_url=doc.get("cover_url"))
    return info, synced_at

