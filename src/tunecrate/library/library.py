"""The :class:`Library`: one object that owns settings, catalogue, layout and pipeline.

Every interface (typer CLI, smart CLI, Python programs) is a thin layer over
it. Operations that change the library take an inter-process lock
(``<data_root>/tunecrate.lock``); listing operations do not, and may run
while a load or sync is in progress (SQLite WAL).
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Iterator, Sequence

from sqlalchemy import delete
from sqlmodel import Session, select

from tunecrate.core.errors import InvalidReference, LibraryBusy, NotFound, StorageError, TunecrateError
from tunecrate.core.ids import parse_spotify_ref
from tunecrate.core.settings import Settings
from tunecrate.core.types import PlaylistInfo, SkippedEntry, TrackInfo
from tunecrate.db.engine import open_engine
from tunecrate.db.models import (
    DecisionKind, Job, MatchDecision, Playlist, PlaylistEntry, Track, TrackStatus, utcnow,
)
from tunecrate.library.exports import ExportsMixin
from tunecrate.library.maintenance import MaintenanceMixin
from tunecrate.library.review import ReviewMixin
from tunecrate.library.pipeline import Outcome, Pipeline, ProgressCallback
from tunecrate.library.sync import SyncPlan, diff_entries
from tunecrate.services.download import local_source_path
from tunecrate.storage.layout import Layout

#: The id of the pseudo-playlist that mirrors the user's Liked Songs.
LIKES = "likes"

#: Outcome statuses in the order summaries print them.
SUMMARY_KEYS = ("downloaded", "present", "unresolved", "review", "skipped", "failed")


@dataclass
class LoadReport:
    """What a load or sync did. ``counts`` maps each of :data:`SUMMARY_KEYS` to a number of tracks.

    ``failures`` lists ``(track_id, title, status, reason)`` for every track
    that did not end downloaded or present; ``skipped_entries`` the source
    entries that could not become tracks (null, local, episode, unavailable).
    For playlists, ``plan`` holds the sync plan; ``up_to_date`` is True when
    the snapshot short-circuit applied; ``pruned`` lists the track ids whose
    rows and files were removed afterwards.
    """

    kind: str
    id: str
    title: str
    track_count: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SUMMARY_KEYS, 0))
    failures: list[tuple[str, str, str, str]] = field(default_factory=list)
    skipped_entries: list[SkippedEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    plan: SyncPlan | None = None
    up_to_date: bool = False
    dry_run: bool = False
    pruned: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.counts.get("failed")

    def to_json(self) -> dict:
        result = {
            "kind": self.kind, "id": self.id, "title": self.title, "track_count": self.track_count,
            "counts": self.counts,
            "failures": [dict(zip(("track_id", "title", "status", "reason"), f)) for f in self.failures],
            "skipped_entries": [asdict(s) for s in self.skipped_entries],
            "warnings": self.warnings,
            "up_to_date": self.up_to_date, "dry_run": self.dry_run, "pruned": self.pruned,
        }
        if self.plan is not None:
            result.update(added=len(self.plan.added), removed=len(self.plan.removed),
                          kept=self.plan.kept, moved=len(self.plan.moved), plan=self.plan.to_json())
        return result


@dataclass
class _LocalPlaylist:
    """A playlist as the library holds it: its ordered ``(track_id, title)`` entries."""

    title: str
    kind: str
    snapshot_id: str | None
    entries: list[tuple[str, str]]
    all_present: bool


def file_present(layout: Layout, status: str | None, path: str | None) -> bool:
    """Whether a row with ``status`` and relative ``path`` has its file: downloaded, and on disk."""
    return status == TrackStatus.DOWNLOADED and bool(path) and (layout.root / path).is_file()


def track_json(row: Track, layout: Layout) -> dict:
    """The listing shape of a track row (``tunecrate tracks --json``)."""
    return {
        "track_id": row.track_id, "title": row.title, "artists": list(row.artists),
        "album": row.album, "album_artists": list(row.album_artists), "isrc": row.isrc,
        "duration_ms": row.duration_ms,
        "path": str(layout.root / row.path) if row.path else None,
        "size_bytes": row.size_bytes, "status": row.status, "reason": row.reason,
        "source_url": row.source_url, "source_provider": row.source_provider,
        "match_score": row.match_score,
    }


def track_info(row: Track) -> TrackInfo:
    """The :class:`TrackInfo` stored in a row."""
    return TrackInfo(
        track_id=row.track_id, title=row.title, artists=tuple(row.artists), album=row.album,
        album_artists=tuple(row.album_artists), duration_ms=row.duration_ms,
        track_number=row.track_number, track_total=row.track_total, disc_number=row.disc_number,
        release_date=row.release_date, explicit=row.explicit, isrc=row.isrc, cover_url=row.cover_url,
    )


class Library(ReviewMixin, MaintenanceMixin, ExportsMixin):
    """A tunecrate library: catalogue (SQLite), files (storage root) and the pipeline.

    Build it with :meth:`open`. Pass ``spotify`` or ``providers`` to replace
    the services built from settings (for example a source you wrote).
    """

    def __init__(self, settings: Settings, *, spotify=None, providers=None) -> None:
        self.settings = settings
        self.layout = Layout(settings.storage_root)
        try:
            self.layout.ensure()
            self.engine = open_engine(settings.database_path)
        except OSError as exc:
            raise StorageError(f"cannot open the library at {settings.data_root}: {exc}") from exc
        self._spotify = spotify
        self._providers = providers
        self._providers_lock = threading.Lock()
        self._lock_path = settings.data_root / "tunecrate.lock"

    @classmethod
    def open(cls, **overrides) -> "Library":
        """Open the library described by the environment, with ``overrides`` (see :class:`Settings`)."""
        return cls(Settings.load(**overrides))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- services ---------------------------------------------------------------

    @property
    def token_path(self) -> Path:
        """Where the Spotify user login is cached (mode 0600)."""
        from tunecrate.services.spotify_auth import TOKEN_FILE_NAME

        return self.settings.data_root / TOKEN_FILE_NAME

    @property
    def spotify(self):
        """The Spotify source (:class:`tunecrate.services.spotify.SpotifySource`), built lazily.

        It reads the user's Liked Songs with the login cached by :meth:`login`, if any.
        """
        if self._spotify is None:
            from tunecrate.services.spotify import SpotifySource, make_user_auth_manager

            s = self.settings
            user_auth = None
            if s.spotify_client_id and self.token_path.exists():
                user_auth = make_user_auth_manager(
                    s.spotify_client_id, token_path=self.token_path, accounts_url=s.spotify_accounts_url,
                    redirect_uri=s.spotify_redirect_uri)
            self._spotify = SpotifySource(
                client_id=s.spotify_client_id, client_secret=s.spotify_client_secret,
                api_url=s.spotify_api_url, accounts_url=s.spotify_accounts_url,
                max_retry_after_s=s.spotify_max_retry_after, user_auth_manager=user_auth,
            )
        return self._spotify

    def login(self, *, open_browser: bool = True) -> dict:
        """Log in to Spotify (Authorization Code with PKCE, scope ``user-library-read``).

        Prints the authorize URL on stderr, catches the redirect on the
        configured 127.0.0.1 redirect URI and caches the token at
        :attr:`token_path` (0600). Returns ``{"scope", "expires_at"}``.
        """
        from tunecrate.services.spotify_auth import login

        s = self.settings
        result = login(client_id=s.spotify_client_id, token_path=self.token_path,
                       accounts_url=s.spotify_accounts_url, redirect_uri=s.spotify_redirect_uri,
                       open_browser=open_browser)
        self._spotify = None
        return result

    def logout(self) -> bool:
        """Forget the cached Spotify login; return whether there was one."""
        from tunecrate.services.spotify_auth import logout

        self._spotify = None
        return logout(self.token_path)

    def login_state(self) -> dict:
        """``{"logged_in", "expires_at", "scope", "path"}``, without any network request."""
        from tunecrate.services.spotify_auth import login_state

        return login_state(self.token_path)

    def providers(self):
        """The search providers, in the order they are tried (built lazily, once).

        With music folders configured (``TUNECRATE_MUSIC_DIRS``, ``tunecrate
        sources add``), the user's own music comes first: its index is
        refreshed incrementally, then searched before any online provider.
        """
        with self._providers_lock:
            if self._providers is None:
                from tunecrate.services.local import LocalIndex, LocalProvider, load_music_dirs
                from tunecrate.services.providers import build_providers

                providers = []
                music_dirs = load_music_dirs(self.settings)
                if music_dirs:
                    index = LocalIndex(self.engine)
                    index.scan(music_dirs)
                    providers.append(LocalProvider(index))
                self._providers = providers + build_providers(self.settings.providers)
            return self._providers

    def scan_music(self, progress=None):
        """Index the music folders (settings + ``sources add``); only new or changed files are read.

        ``progress(files_done, files_total)`` is called as files are read. Takes
        the write lock. Returns ``(folders, ScanReport)``.
        """
        from tunecrate.services.local import LocalIndex, load_music_dirs

        folders = load_music_dirs(self.settings)
        with self.writing():
            report = LocalIndex(self.engine).scan(folders, progress=progress)
        with self._providers_lock:
            self._providers = None  # rebuilt with the fresh index on next use
        return folders, report

    def music_folders(self) -> list[dict]:
        """The music folders, settings first: ``{"path", "origin", "exists", "files"}`` each, where
        ``origin`` is ``"settings"``, ``"added"`` (``sources add``) or both, and ``files`` the number
        of indexed files."""
        from tunecrate.services.local import LocalIndex, music_dir_origins

        counts = LocalIndex(self.engine).file_counts()
        return [{"path": str(folder), "origin": origin, "exists": folder.is_dir(), "files": counts.get(folder, 0)}
                for folder, origin in music_dir_origins(self.settings)]

    def add_music_folder(self, path: Path | str) -> Path:
        """Add a folder of the user's own music (indexed at the next :meth:`scan_music`); return it.

        Raises :class:`ConfigurationError` when it is not an existing directory.
        """
        from tunecrate.services.local import add_music_dir

        return add_music_dir(self.settings.data_root, path)

    def remove_music_folder(self, path: Path | str) -> Path:
        """Forget a folder added with :meth:`add_music_folder`; nothing in it is touched. Return it."""
        from tunecrate.services.local import remove_music_dir

        return remove_music_dir(self.settings.data_root, path)

    def pipeline(self) -> Pipeline:
        return Pipeline(self.settings, self.layout, self.engine, self.providers)

    # -- locking and repair ---------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the library's write lock; repair leftovers of an interrupted run first.

        Raises :class:`LibraryBusy` when another process holds it.
        """
        from filelock import FileLock, Timeout

        lock = FileLock(str(self._lock_path))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise LibraryBusy(
                f"another tunecrate process is changing the library at {self.settings.data_root}; "
                "wait for it to finish and try again"
            ) from None
        try:
            self.repair()
            yield
        finally:
            lock.release()

    def repair(self) -> dict[str, int]:
        """Make the catalogue agree with the disk after a crash.

        Empties ``tmp/`` and marks rows whose file is missing as pending, so the
        next load or sync fetches them again. Call with the write lock held.
        Returns counts: ``{"tmp_removed": n, "missing_files": n}``.
        """
        removed = self.layout.clean_tmp()
        missing = 0
        with Session(self.engine) as session:
            rows = session.exec(select(Track).where(Track.status == TrackStatus.DOWNLOADED)).all()
            for row in rows:
                if not file_present(self.layout, row.status, row.path):
                    row.status, row.path, row.size_bytes = TrackStatus.PENDING, None, None
                    row.reason = "file missing; will be fetched again"
                    session.add(row)
                    missing += 1
            session.commit()
        return {"tmp_removed": len(removed), "missing_files": missing}

    # -- loading -----------------------------------------------------------------------

    def load(self, ref: str, progress: ProgressCallback | None = None,
             cancel: threading.Event | None = None) -> LoadReport:
        """Load a Spotify track, album or playlist given by URL or URI (the kind is detected)."""
        parsed = parse_spotify_ref(ref)
        return {"track": self.load_track, "album": self.load_album,
                "playlist": self.load_playlist}[parsed.kind](ref, progress, cancel)

    def load_track(self, ref: str, progress: ProgressCallback | None = None,
                   cancel: threading.Event | None = None) -> LoadReport:
        """Fetch one track into the library, kept as added directly by the user."""
        track_id = parse_spotify_ref(ref, "track").id
        track = self.spotify.track(track_id)
        info = PlaylistInfo(kind="track", playlist_id=track_id, title=f"{track.artist} - {track.title}",
                            entries=(track,))
        return self._load(info, progress, cancel, wanted=True)

    def load_album(self, ref: str, progress: ProgressCallback | None = None,
                   cancel: threading.Event | None = None) -> LoadReport:
        """Fetch every track of an album, kept as added directly by the user."""
        album = self.spotify.album(parse_spotify_ref(ref, "album").id)
        return self._load(album, progress, cancel, wanted=True)

    def load_playlist(self, ref: str, progress: ProgressCallback | None = None,
                      cancel: threading.Event | None = None, *, keep_orphans: bool = False) -> LoadReport:
        """Mirror a playlist: fetch its tracks, then record its ordered entries (a full sync)."""
        playlist_id = parse_spotify_ref(ref, "playlist").id
        return self._sync(playlist_id, progress, cancel, dry_run=False, keep_orphans=keep_orphans,
                          short_circuit=False)

    def load_likes(self, progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
                   *, keep_orphans: bool = False) -> LoadReport:
        """Mirror the user's Liked Songs as the pseudo-playlist ``likes`` (needs `tunecrate login`)."""
        return self._sync(LIKES, progress, cancel, dry_run=False, keep_orphans=keep_orphans, short_circuit=False)

    def sync(self, target: str, *, dry_run: bool = False, keep_orphans: bool = False,
             progress: ProgressCallback | None = None, cancel: threading.Event | None = None) -> LoadReport:
        """Bring one playlist (URL, URI, id, or ``likes``) in step with Spotify.

        When its snapshot is unchanged and every entry's file is present, this
        makes one light request and nothing else. Otherwise it fetches the
        added tracks, writes the new ordered entries in one transaction, then
        prunes tracks nothing wants any more (unless ``keep_orphans``).
        ``dry_run`` returns the plan and changes nothing.
        """
        return self._sync(self.playlist_id(target), progress, cancel, dry_run=dry_run,
                          keep_orphans=keep_orphans, short_circuit=True)

    def sync_all(self, *, dry_run: bool = False, keep_orphans: bool = False,
                 progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
                 ) -> list[tuple[str, LoadReport | TunecrateError]]:
        """Sync every playlist of the library; a failing playlist does not stop the others.

        Returns ``(playlist_id, report or error)`` pairs.
        """
        with Session(self.engine) as session:
            ids = list(session.exec(select(Playlist.playlist_id).order_by(Playlist.title)))
        results: list[tuple[str, LoadReport | TunecrateError]] = []
        for playlist_id in ids:
            if cancel is not None and cancel.is_set():
                break
            try:
                results.append((playlist_id, self.sync(playlist_id, dry_run=dry_run, keep_orphans=keep_orphans,
                                                       progress=progress, cancel=cancel)))
            except TunecrateError as exc:
                results.append((playlist_id, exc))
        return results

    @staticmethod
    def playlist_id(target: str) -> str:
        """The playlist id of a URL, URI, bare id or ``likes``. Raises :class:`InvalidReference`."""
        target = target.strip()
        return LIKES if target == LIKES else parse_spotify_ref(target, "playlist").id

    def _remote_snapshot(self, playlist_id: str) -> str:
        if playlist_id == LIKES:
            return self.spotify.saved_tracks_snapshot()
        return self.spotify.playlist_snapshot(playlist_id)

    def _remote(self, playlist_id: str) -> PlaylistInfo:
        if playlist_id == LIKES:
            snapshot = self.spotify.saved_tracks_snapshot()
            return replace(self.spotify.saved_tracks(), snapshot_id=snapshot)
        return self.spotify.playlist(playlist_id)

    def _local_playlist(self, playlist_id: str) -> _LocalPlaylist | None:
        with Session(self.engine) as session:
            row = session.get(Playlist, playlist_id)
            if row is None:
                return None
            entries = session.exec(
                select(PlaylistEntry.track_id, Track.title, Track.status, Track.path)
                .join(Track, Track.track_id == PlaylistEntry.track_id)
                .where(PlaylistEntry.playlist_id == playlist_id).order_by(PlaylistEntry.position)
            ).all()
        all_present = all(file_present(self.layout, status, path) for _, _, status, path in entries)
        return _LocalPlaylist(row.title, row.kind, row.snapshot_id,
                              [(track_id, title) for track_id, title, _, _ in entries], all_present)

    def _sync(self, playlist_id: str, progress, cancel, *, dry_run: bool, keep_orphans: bool,
              short_circuit: bool) -> LoadReport:
        local = self._local_playlist(playlist_id)
        if short_circuit and local is not None and local.snapshot_id and local.all_present:
            if self._remote_snapshot(playlist_id) == local.snapshot_id:
                plan = SyncPlan(playlist_id, local.title, local.snapshot_id, local.snapshot_id,
                                kept=len(local.entries))
                report = LoadReport(kind=local.kind, id=playlist_id, title=local.title,
                                    track_count=len(local.entries), plan=plan, up_to_date=True, dry_run=dry_run)
                report.counts["present"] = len({t for t, _ in local.entries})
                return report
        info = self._remote(playlist_id)
        if dry_run:
            return LoadReport(kind=info.kind, id=playlist_id, title=info.title, track_count=len(info.entries),
                              skipped_entries=list(info.skipped), dry_run=True,
                              plan=self._plan(info, local, self._needing_fetch(info.entries)))
        with self.writing():
            job_id = self._start_job("sync", playlist_id)
            self.upsert_tracks(info.entries)
            todo = self._needing_fetch(info.entries)  # under the lock: what really needs fetching now
            plan = self._plan(info, local, todo)
            outcomes = self.pipeline().run(todo, progress, cancel) if todo else {}
            self.write_playlist(info)
            pruned = [] if keep_orphans else self.prune(plan.prune)
            report = self._report(info, outcomes)
            report.plan, report.pruned = plan, pruned
            self._finish_job(job_id, report)
            return report

    def _plan(self, info: PlaylistInfo, local: _LocalPlaylist | None, fetch: Sequence[TrackInfo]) -> SyncPlan:
        old = local.entries if local is not None else []
        new = [(t.track_id, t.title) for t in info.entries]
        added, removed, moved, kept = diff_entries(old, new)
        plan = SyncPlan(info.playlist_id, info.title, local.snapshot_id if local else None, info.snapshot_id,
                        added=added, removed=removed, moved=moved, kept=kept)
        plan.fetch = [t.track_id for t in fetch]
        plan.prune = self._orphans_after({e.track_id for e in removed} - {t for t, _ in new}, info.playlist_id)
        return plan

    def _needing_fetch(self, tracks: Sequence[TrackInfo]) -> list[TrackInfo]:
        """The distinct tracks that are not downloaded with their file present (or whose pin changed)."""
        unique = {t.track_id: t for t in tracks}
        with Session(self.engine) as session:
            rows = {r.track_id: r for r in session.exec(select(Track).where(Track.track_id.in_(list(unique))))}
            pins = {d.track_id: d.source for d in session.exec(
                select(MatchDecision).where(MatchDecision.track_id.in_(list(unique)),
                                            MatchDecision.kind == DecisionKind.PINNED))}
        todo = []
        for track_id, track in unique.items():
            row = rows.get(track_id)
            if row is None or not file_present(self.layout, row.status, row.path) \
                    or (track_id in pins and pins[track_id] != row.source_url):
                todo.append(track)
        return todo

    def _orphans_after(self, candidates: set[str], playlist_id: str) -> list[str]:
        """Of ``candidates``, the tracks no other playlist references and the user did not add directly."""
        if not candidates:
            return []
        with Session(self.engine) as session:
            referenced = set(session.exec(
                select(PlaylistEntry.track_id).where(PlaylistEntry.track_id.in_(list(candidates)),
                                                     PlaylistEntry.playlist_id != playlist_id)))
            wanted = set(session.exec(
                select(Track.track_id).where(Track.track_id.in_(list(candidates)), Track.wanted == True)))  # noqa: E712
        return sorted(candidates - referenced - wanted)

    def prune(self, candidates: Sequence[str]) -> list[str]:
        """Remove the rows, then the files, of those ``candidates`` that nothing wants; return their ids.

        A track is wanted while any playlist references it or the user added it
        directly. Rows go first (one transaction), files after: a crash in
        between leaves only files without rows, which `gc` removes.
        """
        if not candidates:
            return []
        with Session(self.engine) as session:
            referenced = set(session.exec(
                select(PlaylistEntry.track_id).where(PlaylistEntry.track_id.in_(list(candidates)))))
            rows = session.exec(select(Track).where(Track.track_id.in_(list(candidates)))).all()
            doomed = [r for r in rows if r.track_id not in referenced and not r.wanted]
            for row in doomed:
                session.delete(row)
                decision = session.get(MatchDecision, row.track_id)
                if decision is not None and decision.kind == DecisionKind.AUTO:
                    session.delete(decision)
            session.commit()
        for row in doomed:
            self.layout.track_path(row.track_id).unlink(missing_ok=True)
        return [r.track_id for r in doomed]

    def _load(self, info: PlaylistInfo, progress, cancel, *, wanted: bool) -> LoadReport:
        with self.writing():
            job_id = self._start_job("load", f"{info.kind}:{info.playlist_id}")
            self.upsert_tracks(info.entries, wanted=wanted)
            outcomes = self.pipeline().run(self._needing_fetch(info.entries), progress, cancel)
            report = self._report(info, outcomes)
            self._finish_job(job_id, report)
            return report

    def upsert_tracks(self, tracks: Sequence[TrackInfo], *, wanted: bool = False) -> None:
        """Insert or refresh metadata rows; status, file and source are kept."""
        unique = {t.track_id: t for t in tracks}
        if not unique:
            return
        with Session(self.engine) as session:
            existing = {
                row.track_id: row
                for row in session.exec(select(Track).where(Track.track_id.in_(list(unique))))
            }
            for track in unique.values():
                row = existing.get(track.track_id) or Track(track_id=track.track_id, title=track.title)
                row.title = track.title
                row.artists = list(track.artists)
                row.album = track.album
                row.album_artists = list(track.album_artists)
                row.duration_ms = track.duration_ms
                row.track_number = track.track_number
                row.track_total = track.track_total
                row.disc_number = track.disc_number
                row.release_date = track.release_date
                row.explicit = track.explicit
                row.isrc = track.isrc
                row.cover_url = track.cover_url or row.cover_url
                row.wanted = row.wanted or wanted
                row.updated_at = utcnow()
                session.add(row)
            session.commit()

    def write_playlist(self, info: PlaylistInfo, synced_at: datetime | None = None) -> None:
        """Record a playlist and its ordered entries in one transaction.

        The JSON file is written first and the database second: a crash in
        between leaves the old snapshot id in the database, so the next sync
        does the work again. Readers see the old entries or the new, never a mix.
        """
        synced_at = synced_at or utcnow()
        self.layout.write_json(self.layout.playlist_json_path(info.playlist_id), playlist_document(info, synced_at))
        entry_positions = _entry_positions(len(info.entries), [s.position for s in info.skipped])
        with Session(self.engine) as session:
            row = session.get(Playlist, info.playlist_id) or Playlist(playlist_id=info.playlist_id, title=info.title)
            if row.cover_url != info.cover_url:
                self.playlist_cover_path(info.playlist_id).unlink(missing_ok=True)  # cached cover is stale
            row.kind = info.kind
            row.title = info.title
            row.owner = info.owner
            row.description = info.description
            row.snapshot_id = info.snapshot_id
            row.cover_url = info.cover_url
            row.synced_at = synced_at
            session.add(row)
            session.exec(delete(PlaylistEntry).where(PlaylistEntry.playlist_id == info.playlist_id))
            session.add_all(
                PlaylistEntry(playlist_id=info.playlist_id, position=pos, track_id=t.track_id)
                for pos, t in zip(entry_positions, info.entries)
            )
            session.commit()

    def _report(self, info: PlaylistInfo, outcomes: dict[str, Outcome]) -> LoadReport:
        report = LoadReport(kind=info.kind, id=info.playlist_id, title=info.title,
                            track_count=len(info.entries), skipped_entries=list(info.skipped))
        report.counts["present"] = len({t.track_id for t in info.entries} - set(outcomes))
        for outcome in outcomes.values():
            key = outcome.status if outcome.status in report.counts else "failed"
            if outcome.status == TrackStatus.PENDING:
                key = "failed"
            report.counts[key] += 1
            report.warnings.extend(f"{outcome.title}: {w}" for w in outcome.warnings)
            if outcome.status not in ("downloaded", "present"):
                report.failures.append((outcome.track_id, outcome.title, outcome.status, outcome.reason or ""))
        return report

    def _start_job(self, kind: str, target: str) -> int:
        with Session(self.engine) as session:
            job = Job(kind=kind, target=target, pid=os.getpid())
            session.add(job)
            session.commit()
            return job.id

    def _finish_job(self, job_id: int, report: LoadReport) -> None:
        with Session(self.engine) as session:
            job = session.get(Job, job_id)
            job.status = "done" if report.ok else "failed"
            job.summary = report.counts
            job.finished_at = utcnow()
            session.add(job)
            session.commit()

    # -- listing -------------------------------------------------------------------

    def tracks(self) -> list[dict]:
        """Every track, by artist then title, as :func:`track_json` dicts."""
        with Session(self.engine) as session:
            rows = session.exec(select(Track)).all()
        rows.sort(key=lambda r: ([a.casefold() for a in r.artists], r.title.casefold()))
        return [track_json(r, self.layout) for r in rows]

    def playlists(self) -> list[dict]:
        """Every playlist: ``playlist_id``, ``kind``, ``title``, ``track_count``, ``snapshot_id``, …"""
        with Session(self.engine) as session:
            rows = session.exec(select(Playlist).order_by(Playlist.title)).all()
            counts: dict[str, int] = {}
            downloaded: dict[str, int] = {}
            for pid, status in session.exec(
                select(PlaylistEntry.playlist_id, Track.status).join(Track, Track.track_id == PlaylistEntry.track_id)
            ):
                counts[pid] = counts.get(pid, 0) + 1
                downloaded[pid] = downloaded.get(pid, 0) + (status == TrackStatus.DOWNLOADED)
        return [{
            "playlist_id": r.playlist_id, "kind": r.kind, "title": r.title, "owner": r.owner,
            "track_count": counts.get(r.playlist_id, 0), "downloaded": downloaded.get(r.playlist_id, 0),
            "snapshot_id": r.snapshot_id,
            "synced_at": r.synced_at.isoformat() if r.synced_at else None,
        } for r in rows]

    def playlist_local(self, playlist_ref: str) -> dict:
        """One playlist (id, URL, URI or ``likes``) with its tracks in playlist order.

        Raises :class:`InvalidReference` and :class:`NotFound`.
        """
        playlist_id = self.playlist_id(playlist_ref)
        with Session(self.engine) as session:
            row = session.get(Playlist, playlist_id)
            if row is None:
                raise NotFound(f"no playlist {playlist_id!r} in the library (see `tunecrate playlists`)")
            pairs = session.exec(
                select(PlaylistEntry, Track).join(Track, Track.track_id == PlaylistEntry.track_id)
                .where(PlaylistEntry.playlist_id == playlist_id).order_by(PlaylistEntry.position)
            ).all()
        tracks = []
        for entry, track in pairs:
            item = track_json(track, self.layout)
            item["position"] = entry.position
            tracks.append(item)
        return {"playlist_id": row.playlist_id, "kind": row.kind, "title": row.title,
                "owner": row.owner, "snapshot_id": row.snapshot_id, "track_count": len(tracks),
                "tracks": tracks}

    # -- stats and deletion ------------------------------------------------------------

    def stats(self) -> dict:
        """Library totals: ``tracks``, ``downloaded``, ``playlists``, ``disk_bytes`` (sum of file sizes),
        ``review`` (tracks awaiting the user's decision: review + unresolved) and ``retry``
        (failed or pending tracks that the next load or sync retries)."""
        from sqlalchemy import func

        with Session(self.engine) as session:
            by_status = dict(session.exec(select(Track.status, func.count()).group_by(Track.status)).all())
            disk = session.exec(select(func.coalesce(func.sum(Track.size_bytes), 0))
                                .where(Track.status == TrackStatus.DOWNLOADED)).one()
            playlists = session.exec(select(func.count()).select_from(Playlist)).one()
        return {
            "tracks": sum(by_status.values()), "downloaded": by_status.get(TrackStatus.DOWNLOADED, 0),
            "playlists": playlists, "disk_bytes": int(disk),
            "review": by_status.get(TrackStatus.REVIEW, 0) + by_status.get(TrackStatus.UNRESOLVED, 0),
            "retry": by_status.get(TrackStatus.FAILED, 0) + by_status.get(TrackStatus.PENDING, 0),
        }

    def track_detail(self, track_ref: str) -> dict:
        """One track: :func:`track_json` fields plus the playlists that list it, its decision and
        candidates. Raises :class:`NotFound`."""
        track_id = self.resolve_track_id(track_ref)
        with Session(self.engine) as session:
            row = session.get(Track, track_id)
            if row is None:
                raise NotFound(f"no track {track_id} in the library (see `tunecrate tracks`)")
            decision = session.get(MatchDecision, track_id)
            playlists = self._playlists_of(session, [track_id]).get(track_id, [])
        detail = track_json(row, self.layout)
        detail.update(
            album_artists=list(row.album_artists), track_number=row.track_number, track_total=row.track_total,
            disc_number=row.disc_number, release_date=row.release_date, explicit=row.explicit,
            wanted=row.wanted, spotify_url=f"https://open.spotify.com/track/{track_id}",
            playlists=playlists,
            decision=decision.kind if decision else None,
            candidates=list(decision.candidates) if decision else [],
        )
        return detail

    def delete_track(self, track_ref: str, *, dry_run: bool = False) -> dict:
        """Remove a track the user added directly; it stays while a playlist still lists it.

        Returns ``{"track_id", "removed": bool, "file": path or None, "kept_by": [playlist titles]}``.
        With ``dry_run`` nothing changes. Raises :class:`NotFound`.
        """
        detail = self.track_detail(track_ref)
        kept_by = [p["title"] for p in detail["playlists"]]
        result = {"track_id": detail["track_id"], "title": detail["title"], "removed": not kept_by,
                  "file": detail["path"] if not kept_by else None, "kept_by": kept_by}
        if dry_run:
            return result
        with self.writing():
            with Session(self.engine) as session:
                row = session.get(Track, detail["track_id"])
                row.wanted = False
                session.add(row)
                session.commit()
            self.prune([detail["track_id"]])
        return result

    def delete_playlist(self, playlist_ref: str, *, dry_run: bool = False) -> dict:
        """Remove a playlist, its JSON file, and the tracks nothing else wants.

        Returns ``{"playlist_id", "title", "removed": [(track_id, title)], "kept": [(track_id, title,
        reason)]}``: a track is kept while another playlist lists it or the user added it directly.
        With ``dry_run`` nothing changes. Raises :class:`NotFound`.
        """
        playlist_id = self.playlist_id(playlist_ref)
        local = self._local_playlist(playlist_id)
        if local is None:
            raise NotFound(f"no playlist {playlist_id!r} in the library (see `tunecrate playlists`)")
        ids = {t for t, _ in local.entries}
        titles = dict(local.entries)
        orphans = set(self._orphans_after(ids, playlist_id))
        with Session(self.engine) as session:
            others = dict(session.exec(
                select(PlaylistEntry.track_id, Playlist.title)
                .join(Playlist, Playlist.playlist_id == PlaylistEntry.playlist_id)
                .where(PlaylistEntry.track_id.in_(list(ids)), PlaylistEntry.playlist_id != playlist_id)).all())
        kept = [(t, titles[t], f"also in {others[t]}" if t in others else "added directly")
                for t in sorted(ids - orphans, key=titles.get)]
        result = {"playlist_id": playlist_id, "title": local.title,
                  "removed": [(t, titles[t]) for t in sorted(orphans, key=titles.get)], "kept": kept}
        if dry_run:
            return result
        with self.writing():
            with Session(self.engine) as session:
                session.exec(delete(PlaylistEntry).where(PlaylistEntry.playlist_id == playlist_id))
                session.delete(session.get(Playlist, playlist_id))
                session.commit()
            self.layout.playlist_json_path(playlist_id).unlink(missing_ok=True)
            self.playlist_cover_path(playlist_id).unlink(missing_ok=True)
            self.prune(sorted(orphans))
        return result

    # -- match decisions ------------------------------------------------------------

    def resolve_track_id(self, ref: str) -> str:
        """The track id of a Spotify track URL, URI or bare id. Raises :class:`InvalidReference`."""
        return parse_spotify_ref(ref, "track").id

    def match_set(self, track_ref: str, source: str) -> dict:
        """Pin ``source`` (a URL yt-dlp can download, or a local audio file) for a track.

        The pin wins over search; the track need not be in the library yet. A
        track already downloaded from another source is fetched again on its
        next load or sync, and its file replaced atomically. Raises :class:`InvalidReference` for a
        source that is neither an http(s) URL nor an existing file.
        """
        track_id = self.resolve_track_id(track_ref)
        source = _normalise_source(source)
        with self.writing(), Session(self.engine) as session:
            decision = session.get(MatchDecision, track_id) or MatchDecision(track_id=track_id)
            decision.kind, decision.source, decision.provider = DecisionKind.PINNED, source, "pinned"
            decision.score, decision.decided_at = None, utcnow()
            session.add(decision)
            row = session.get(Track, track_id)
            if row is not None and row.status != TrackStatus.DOWNLOADED:
                row.status, row.reason = TrackStatus.PENDING, None
                session.add(row)
            session.commit()
            return self._decision_json(decision, row)

    def match_clear(self, track_ref: str) -> bool:
        """Forget the decision about a track (pinned or skipped); return whether there was one."""
        track_id = self.resolve_track_id(track_ref)
        with self.writing(), Session(self.engine) as session:
            decision = session.get(MatchDecision, track_id)
            if decision is None:
                return False
            session.delete(decision)
            row = session.get(Track, track_id)
            if row is not None and row.status in (TrackStatus.SKIPPED, TrackStatus.REVIEW, TrackStatus.UNRESOLVED):
                row.status, row.reason = TrackStatus.PENDING, None
                session.add(row)
            session.commit()
            return True

    def match_list(self) -> list[dict]:
        """Every recorded decision, pinned and skipped first (also those whose track left the library)."""
        with Session(self.engine) as session:
            pairs = session.exec(
                select(MatchDecision, Track).join(Track, Track.track_id == MatchDecision.track_id, isouter=True)
            ).all()
        order = {DecisionKind.PINNED: 0, DecisionKind.SKIPPED: 1, DecisionKind.AUTO: 2}
        pairs.sort(key=lambda p: (order.get(p[0].kind, 3), (p[1].title if p[1] else "").casefold()))
        return [self._decision_json(d, t) for d, t in pairs]

    @staticmethod
    def _decision_json(decision: MatchDecision, row: Track | None) -> dict:
        return {"track_id": decision.track_id, "title": row.title if row else None,
                "artists": list(row.artists) if row else [], "decision": decision.kind,
                "source": decision.source, "provider": decision.provider, "score": decision.score,
                "status": row.status if row else "not in library"}


def _normalise_source(source: str) -> str:
    local = local_source_path(source)
    if local is not None:
        local = local.expanduser().absolute()
        if not local.is_file():
            raise InvalidReference(f"no such audio file: {local}")
        return str(local)
    if not source.startswith(("http://", "https://")):
        raise InvalidReference(f"a source must be an http(s) URL or a local file path, not {source!r}")
    return source


def _entry_positions(count: int, skipped_positions: Sequence[int]) -> list[int]:
    """Source positions of the usable entries: 0..N with the skipped ones left out."""
    skipped = set(skipped_positions)
    positions, pos = [], 0
    while len(positions) < count:
        if pos not in skipped:
            positions.append(pos)
        pos += 1
    return positions


def playlist_document(info: PlaylistInfo, synced_at: datetime) -> dict:
    """The ``playlists/<id>.json`` document: metadata, ordered track ids, skipped entries and each
    track's metadata — with the MP3 tags, enough to rebuild the catalogue (``load_local``)."""
    tracks = {}
    for t in info.entries:
        tracks.setdefault(t.track_id, {k: v for k, v in asdict(t).items() if v not in (None, "", ())})
    return {
        "format": 1, "kind": info.kind, "playlist_id": info.playlist_id, "title": info.title,
        "owner": info.owner, "description": info.description, "snapshot_id": info.snapshot_id,
        "cover_url": info.cover_url, "synced_at": synced_at.isoformat(),
        "track_ids": [t.track_id for t in info.entries],
        "skipped": [asdict(s) for s in info.skipped], "tracks": tracks,
    }

