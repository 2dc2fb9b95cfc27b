"""The :class:`Library` façade: one object over the components of a library.

``Library`` owns the settings, the write lock and the catalogue's engine, and
builds the components that do the work, each with one job:

==================  ==========================================================
``catalogue``       track and playlist rows, playlist documents (:mod:`.catalogue`)
``decisions``       pins, skips and the review queue (:mod:`.decisions`)
``sync_engine``     loads and syncs through the metadata sources (:mod:`.sync`)
``exporter``        track files and playlists through the targets (:mod:`.exporter`)
``maintenance``     repair, gc, verify, retag, rebuild (:mod:`.maintenance`)
``jobs``            the Job table (:mod:`.jobs`)
``services``        remembered matches and cached indexes of playlist services (:mod:`.services`)
``transfers``       pushes into media servers, transfers between services (:mod:`.transfers`)
==================  ==========================================================

Components other than the catalogue and the jobs are built, and their
modules imported, on first use, so that a command pays only for what it
uses. The settings of the sources, the providers, the sync engine and yt-dlp
are validated when a load, sync or import starts, before anything changes; a
target's when it is built.

Its methods parse what the user typed (references), take the write lock
where a component changes the library, and delegate; they hold no logic of
their own. Every interface (typer CLI, smart CLI, HTTP server, Python
programs) is a thin layer over it. Operations that change the library take
an inter-process lock (``<data_root>/tunecrate.lock``); listing operations do
not, and may run while a load or sync is in progress (SQLite WAL).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunecrate.core.errors import CatalogueDamaged, LibraryBusy, NotFound, StorageError, TunecrateError
from tunecrate.core.ids import LIKES, parse_reference, parse_spotify_ref, stored_playlist_id
from tunecrate.core.net import check_ca_bundle
from tunecrate.core.settings import Settings
from tunecrate.db.engine import empty_engine, open_engine
from tunecrate.library.catalogue import Catalogue
from tunecrate.library.jobs import Jobs
from tunecrate.library.results import (
    DecisionRecord, DeletePlaylistResult, DeleteTrackResult, ImportReport, KeptTrack, LoadReport, LoginState,
    MusicFolder,
    PlaylistDetail, PlaylistSummary, ReviewItem, Stats, TrackDetail, TrackRecord, TrackRef,
)
from tunecrate.sources import SourceRegistry
from tunecrate.storage.layout import Layout

if TYPE_CHECKING:
    from tunecrate.library.decisions import Decisions
    from tunecrate.library.doctor import DoctorReport
    from tunecrate.library.exporter import Destination, Exporter
    from tunecrate.library.maintenance import GcPlan, LoadLocalReport, Maintenance, RetagReport, VerifyReport
    from tunecrate.library.pipeline import ProgressCallback
    from tunecrate.library.services import ServiceReviewItem, ServiceStore
    from tunecrate.library.sync import SyncEngine
    from tunecrate.library.transfers import PushResult, TransferPlan, Transfers
    from tunecrate.media.covers import CoverFetcher
    from tunecrate.media.ytdlp import YtDlpFactory
    from tunecrate.providers.base import Provider
    from tunecrate.providers.local import ScanReport
    from tunecrate.sources.base import Source
    from tunecrate.targets.base import ExportResult
    from tunecrate.targets.mirror import MirrorResult
    from tunecrate.targets.playlist_zip import PlaylistZip
    from tunecrate.core.service import ProgressFn, PushReport, RemoteTrack

__all__ = ["LIKES", "Library"]

#: Seconds to wait for a cover image while retagging.
RETAG_COVER_TIMEOUT_S = 5.0


def _fetch_settings_models() -> list:
    """The settings models a load or sync uses: every source's and provider's, the sync engine's and yt-dlp's
    (imports their modules, not the libraries behind them)."""
    from tunecrate import providers, sources
    from tunecrate.library.sync import SyncSettings
    from tunecrate.media.ytdlp import YtDlpSettings

    return [*sources.settings_models(), *providers.settings_models(), SyncSettings, YtDlpSettings]


def _all_settings_models() -> list:
    """Every settings model of the library: those of :func:`_fetch_settings_models` and every target's."""
    from tunecrate import targets

    return [*_fetch_settings_models(), *targets.settings_models()]


def _missing_tops(*paths: Path) -> list[Path]:
    """For each of ``paths`` that does not exist, its topmost ancestor that does not exist either:
    what creating it creates."""
    tops = []
    for path in paths:
        path = Path(os.path.abspath(path))
        if path.exists() or path.is_symlink():
            continue
        while not path.parent.exists() and path.parent != path:
            path = path.parent
        tops.append(path)
    return tops


def _remove_if_empty(folder: Path) -> None:
    """Remove ``folder`` when it holds only empty folders (nothing is lost); leave it otherwise."""
    for root, _dirs, _files in os.walk(folder, topdown=False):
        try:
            os.rmdir(root)
        except OSError:
            pass


class Library:
    """A tunecrate library: catalogue (SQLite), files (storage root), and the components over them.

    Build it with :meth:`open`. ``sources`` maps source names to ready
    instances and ``providers`` replaces the recording providers built from
    settings (a Python program's own, or a test's). With ``create`` False
    nothing is created, and a missing catalogue is :class:`NotFound` saying
    where it was looked for; with ``preview`` too (a dry run's), where there is
    no library at all it is an empty catalogue in memory (:attr:`is_preview`),
    for plans only: nothing is written on disk. A failed opening leaves no
    folder it created behind. A damaged or empty catalogue is
    :class:`CatalogueDamaged` (what to do in its message), unless
    ``set_aside_damaged`` (``load-local``) moves it aside first
    (:attr:`set_aside`). ``settings_models`` are the settings models of the
    interface that opens the library (the HTTP server's), so that their keys
    are accepted in ``config.toml``.
    """

    def __init__(self, settings: Settings, *, sources: dict[str, Source] | None = None,
                 providers: Sequence[Provider] | None = None, set_aside_damaged: bool = False,
                 create: bool = True, preview: bool = False, settings_models: Sequence[type] = ()) -> None:
        if set(settings.unknown_keys()) - {name for model in settings_models for name in model.model_fields}:
            # Only then are the modules' own settings needed to tell a module's key from a typo.
            settings.check_keys([*_all_settings_models(), *settings_models])
        self.settings = settings
        self.layout = Layout(settings.storage_root)
        self._lock_path = settings.data_root / "tunecrate.lock"
        #: Where a damaged catalogue was moved by this opening (``set_aside_damaged``), else ``None``.
        self.set_aside: Path | None = None
        if settings.ca_bundle:
            check_ca_bundle(settings.ca_bundle)  # a bad TUNECRATE_CA_BUNDLE: one line now, nothing created
        #: True when there is no library and this one is an empty catalogue in memory (``preview``).
        self.is_preview = False
        if not create and not settings.database_path.exists():
            if not preview or self._holds_library():
                raise NotFound(self._no_library())
            self.is_preview = True
        new_folders = [] if not create else _missing_tops(
            self.layout.tracks_dir, self.layout.tmp_dir, self.layout.playlists_dir, settings.data_root)
        try:
            if self.is_preview:
                self._engine = empty_engine()
            else:
                if create:
                    self.layout.ensure()
                self._engine = self._open_catalogue(set_aside_damaged)
        except BaseException as exc:
            for folder in new_folders:
                _remove_if_empty(folder)
            if isinstance(exc, OSError):
                raise StorageError(f"cannot open the library at {settings.data_root}: {exc}") from exc
            raise
        self._lock = None
        self._lock_depth = 0
        self._lock_guard = threading.RLock()
        self._providers = list(providers) if providers is not None else None
        self.sources = SourceRegistry(settings, sources)
        self.catalogue = Catalogue(self._engine, self.layout)
        self.jobs = Jobs(self._engine)

    # The other components are built (and their modules imported) when first used, so that a
    # command pays only for what it uses.

    @cached_property
    def ytdlp(self) -> YtDlpFactory:
        """Builds the ``YoutubeDL`` objects of downloads and YouTube search (:mod:`tunecrate.media.ytdlp`)."""
        from tunecrate.media.ytdlp import YtDlpFactory

        return YtDlpFactory.from_settings(self.settings)

    @cached_property
    def covers(self) -> CoverFetcher:
        """Cover art downloads, shared by the pipeline and the exports (:mod:`tunecrate.media.covers`)."""
        from tunecrate.media.covers import CoverFetcher

        return CoverFetcher(proxy=self.settings.proxy, ca_bundle=self.settings.ca_bundle)

    @cached_property
    def decisions(self) -> Decisions:
        from tunecrate.library.decisions import Decisions

        return Decisions(self.catalogue, self._writing)

    @cached_property
    def maintenance(self) -> Maintenance:
        from tunecrate.library.maintenance import Maintenance

        return Maintenance(self.catalogue, self.decisions, self.jobs, self._writing)

    @cached_property
    def exporter(self) -> Exporter:
        from tunecrate.library.exporter import Exporter

        return Exporter(self.settings, self.catalogue, self.covers)

    @cached_property
    def sync_engine(self) -> SyncEngine:
        from tunecrate.library.sync import SyncEngine, SyncSettings
        from tunecrate.media.fetch import warm_up

        return SyncEngine(self.catalogue, self.sources, self._run_pipeline, self._writing, self.jobs,
                          likes_min_kept=self.settings.section(SyncSettings).likes_min_kept,
                          keep_cover=self._keep_playlist_cover, prepare=warm_up)

    def _check_target_settings(self, *names: str) -> None:
        """Validate the settings of the targets ``names`` before a push or transfer changes anything
        (an unknown name is left to the push or transfer to refuse). Raises :class:`ConfigurationError`."""
        from tunecrate.targets import TARGETS, target_class

        for name in names:
            if name not in TARGETS:
                continue
            model = target_class(name).settings_model
            if model is not None:
                self.settings.section(model)

    def _check_fetch_settings(self) -> None:
        """Validate the settings a load or sync uses before it changes anything (each model once;
        raises :class:`ConfigurationError` in one line)."""
        for model in _fetch_settings_models():
            self.settings.section(model)

    @cached_property
    def services(self) -> ServiceStore:
        """Remembered matches and cached indexes of playlist services (:mod:`tunecrate.library.services`)."""
        from tunecrate.library.services import ServiceStore

        return ServiceStore(self._engine, self.exporter, self._writing)

    @cached_property
    def transfers(self) -> Transfers:
        """Pushes into media servers and transfers between services (:mod:`tunecrate.library.transfers`)."""
        from tunecrate.library.transfers import Transfers

        return Transfers(self.settings, self.exporter, self.services, self.sync_engine, self._writing)

    @classmethod
    def open(cls, *, set_aside_damaged: bool = False, create: bool = True, preview: bool = False,
             **overrides: Any) -> Library:
        """Open the library described by the environment, with ``overrides`` (see :class:`Settings`).

        With ``create`` False (listing and export commands) nothing is created:
        where no catalogue exists, :class:`NotFound` says where it was looked for;
        with ``preview`` too (dry runs that may run before the first load), an
        empty library in memory stands in where there is none.
        """
        return cls(Settings.load(**overrides), set_aside_damaged=set_aside_damaged, create=create,
                   preview=preview)

    def _holds_library(self) -> bool:
        """Whether the storage root holds a library's files (whatever the catalogue)."""
        return self.layout.tracks_dir.is_dir() or self.layout.playlists_dir.is_dir()

    def _no_library(self) -> str:
        s = self.settings
        if self._holds_library():
            return (f"no tunecrate library catalogue at {s.database_path}, but {s.storage_root} holds a library: "
                    "run `tunecrate load-local` to rebuild its catalogue")
        return (f"no tunecrate library at {s.data_root} and {s.storage_root}; load something first "
                "(`tunecrate playlist URL`), or point --data and --storage (TUNECRATE_DATA_ROOT, "
                "TUNECRATE_STORAGE_ROOT) at yours")

    def _open_catalogue(self, set_aside_damaged: bool):
        """The catalogue's engine. A damaged catalogue (:class:`CatalogueDamaged`) is refused with what
        to do, or, with ``set_aside_damaged`` (``load-local``), renamed
        ``tunecrate.sqlite3.corrupt-<time>`` (with its WAL files) and replaced by an empty one."""
        path = self.settings.database_path
        try:
            return open_engine(path, check=set_aside_damaged)
        except CatalogueDamaged as exc:
            if not set_aside_damaged:
                raise CatalogueDamaged(
                    f"the catalogue {path} is damaged ({exc.reason}); run `tunecrate load-local` to set it "
                    f"aside and rebuild it from {self.settings.storage_root}", path, exc.reason) from None
        self.set_aside = self._set_aside_catalogue(path)
        return open_engine(path)

    def _set_aside_catalogue(self, path: Path) -> Path:
        """Rename the catalogue ``path`` (and its ``-wal``/``-shm``) out of the way, under the write lock."""
        import time

        from filelock import FileLock, Timeout

        lock = FileLock(str(self._lock_path))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise LibraryBusy(f"another tunecrate process is using the library at {self.settings.data_root}; "
                              "wait for it to finish and try again") from None
        try:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            dest, n = path.with_name(f"{path.name}.corrupt-{stamp}"), 1
            while dest.exists():
                n += 1
                dest = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
            for suffix in ("-wal", "-shm", ""):  # the main file last: it is what marks a catalogue
                part = path.with_name(path.name + suffix)
                if part.exists():
                    part.replace(dest.with_name(dest.name + suffix))
            return dest
        finally:
            lock.release()

    def close(self) -> None:
        self.sources.close()
        if "covers" in self.__dict__:
            self.covers.close()
        self._engine.dispose()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the write lock ------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the library's write lock (re-entrant in this process); repair what a crash left
        when it is first taken. Raises :class:`LibraryBusy` when another process holds it."""
        from filelock import FileLock, Timeout

        if self.is_preview:
            raise StorageError(f"no tunecrate library at {self.settings.data_root}: a dry run's preview changes nothing")
        with self._lock_guard:
            if self._lock_depth == 0:
                lock = FileLock(str(self._lock_path))
                try:
                    lock.acquire(timeout=0)
                except Timeout:
                    raise LibraryBusy(
                        f"another tunecrate process is changing the library at {self.settings.data_root}; "
                        "wait for it to finish and try again") from None
                self._lock = lock
                try:
                    self.maintenance.repair()
                except BaseException:
                    lock.release()
                    raise
            self._lock_depth += 1
        try:
            yield
        finally:
            with self._lock_guard:
                self._lock_depth -= 1
                if self._lock_depth == 0:
                    self._lock.release()
                    self._lock = None

    def _keep_playlist_cover(self, playlist_id: str) -> str | None:
        """Store the playlist's cover when it is not stored yet (under the write lock); a warning when
        it cannot be fetched or stored now."""
        row = self.catalogue.playlist_row(playlist_id)
        if row is None or not row.cover_url or self.exporter.cover_of(playlist_id) is not None:
            return None
        try:
            with self._writing():
                _, warning = self.exporter.playlist_cover(playlist_id)
        except LibraryBusy:
            return "the playlist's cover was not fetched: another tunecrate process is changing the library"
        return f"playlist cover: {warning}" if warning else None

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """Hold the write lock across several operations (one job of the HTTP server).

        Other processes get :class:`LibraryBusy` meanwhile; the library's own
        operations inside the block (in any thread of this process) go ahead.
        Raises :class:`LibraryBusy` when another process holds it.
        """
        with self._writing():
            yield

    # -- the pipeline ---------------------------------------------------------------------

    def _recording_providers(self) -> list[Provider]:
        """The providers to search: the user's music first (its index refreshed now, incrementally),
        then the online ones of ``TUNECRATE_PROVIDERS``."""
        if self._providers is not None:
            return self._providers
        from tunecrate.providers import build_providers
        from tunecrate.providers.base import ProviderContext
        from tunecrate.providers.local import LocalIndex, load_music_dirs

        folders = load_music_dirs(self.settings)
        if folders:
            LocalIndex(self._engine).scan(folders)
        return build_providers(self.settings.providers, self.settings, ProviderContext(self._engine, self.ytdlp))

    def _run_pipeline(self, tracks, progress, cancel):
        from tunecrate.library.pipeline import Pipeline

        if not tracks:
            return {}
        pipeline = Pipeline(self.settings, self.layout, self._engine, self._recording_providers(), self.covers,
                            self.ytdlp, complete=lambda track: self.sources.complete(track))
        return pipeline.run(tracks, progress, cancel)

    # -- references -----------------------------------------------------------------------

    @staticmethod
    def playlist_id(ref: str) -> str:
        """The stored id of a playlist URL, URI, bare id, ``likes`` or stored id
        (:func:`~tunecrate.core.ids.stored_playlist_id`). Raises :class:`InvalidReference`."""
        return stored_playlist_id(ref)

    @staticmethod
    def resolve_track_id(ref: str) -> str:
        """The track id of a Spotify track URL, URI or bare id. Raises :class:`InvalidReference`."""
        return parse_spotify_ref(ref, "track").id

    # -- Spotify login ----------------------------------------------------------------------

    @property
    def token_path(self) -> Path:
        """Where the Spotify user login is kept (mode 0600)."""
        from tunecrate.sources.spotify_login import token_path

        return token_path(self.settings.data_root)

    def login(self, *, open_browser: bool = True) -> LoginState:
        """Log in to Spotify (Authorization Code with PKCE); the token is kept at :attr:`token_path`.

        Prints the authorize URL on stderr and catches the redirect on the
        configured 127.0.0.1 redirect URI. Raises what
        :func:`tunecrate.sources.spotify_login.login` raises.
        """
        from tunecrate.core.net import requests_session
        from tunecrate.sources.spotify_login import SpotifySettings, login

        s = self.settings.section(SpotifySettings)
        login(client_id=s.spotify_client_id, token_path=self.token_path, accounts_url=s.spotify_accounts_url,
              redirect_uri=s.spotify_redirect_uri, open_browser=open_browser,
              requests_session=requests_session(self.settings.proxy, self.settings.ca_bundle))
        self.sources.close()
        self.sources = self.sync_engine.sources = SourceRegistry(self.settings)
        return self.login_state()

    def logout(self) -> bool:
        """Forget the stored Spotify login; return whether there was one."""
        from tunecrate.sources.spotify_login import logout

        return logout(self.token_path)

    def login_state(self) -> LoginState:
        """The stored login, without any network request."""
        from tunecrate.sources.spotify_login import login_state

        return LoginState(**login_state(self.token_path))

    def doctor(self, *, timeout_s: float = 5.0) -> DoctorReport:
        """What the main job needs and whether it works here, each checked by running it
        (see :mod:`tunecrate.library.doctor`); network probes wait ``timeout_s`` seconds at most."""
        from tunecrate.library.doctor import diagnose

        return diagnose(self.settings, timeout_s=timeout_s)

    def ffmpeg_info(self) -> str:
        """``"ffmpeg version … (path)"`` of the encoder in use, or why there is none (for status screens)."""
        from tunecrate.media.ffmpeg import ffmpeg_version, find_ffmpeg

        try:
            binary = find_ffmpeg(self.settings.ffmpeg)
        except TunecrateError as exc:
            return f"not found: {exc}"
        try:
            version = ffmpeg_version(binary).split(" Copyright")[0]
        except OSError as exc:
            version = f"does not run: {exc.strerror or exc}"
        return f"{version} ({binary})"

    # -- the user's music folders ------------------------------------------------------------

    def scan_music(self, progress=None) -> tuple[list[Path], ScanReport]:
        """Index the music folders; only new or changed files are read. Takes the write lock.

        ``progress(files_done, files_total)`` is called as files are read.
        Returns ``(folders, report)``.
        """
        from tunecrate.providers.local import LocalIndex, load_music_dirs

        folders = load_music_dirs(self.settings)
        with self._writing():
            report = LocalIndex(self._engine).scan(folders, progress=progress)
        return folders, report

    def music_folders(self) -> list[MusicFolder]:
        """The music folders, settings first, with where each comes from and its indexed file count."""
        from tunecrate.providers.local import LocalIndex, music_dir_origins

        counts = LocalIndex(self._engine).file_counts()
        return [MusicFolder(str(folder), origin, folder.is_dir(), counts.get(folder, 0))
                for folder, origin in music_dir_origins(self.settings)]

    def add_music_folder(self, path: Path | str) -> Path:
        """Add a folder of the user's own music (indexed at the next scan); return it, absolute.

        Raises :class:`ConfigurationError` when it is not an existing directory.
        """
        from tunecrate.providers.local import add_music_dir

        return add_music_dir(self.settings.data_root, path)

    def remove_music_folder(self, path: Path | str) -> Path:
        """Forget a folder added with :meth:`add_music_folder`; nothing in it is touched. Return it."""
        from tunecrate.providers.local import remove_music_dir

        return remove_music_dir(self.settings.data_root, path)

    # -- loading and syncing ----------------------------------------------------------------------

    def load(self, ref: str, progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
             *, source: str | None = None, keep_orphans: bool = False) -> LoadReport:
        """Load a track, album or playlist given by URL or URI (the kind is detected), or ``likes``.

        A track or an album is kept as added directly by the user; a playlist
        is mirrored (its order recorded, what it no longer lists pruned).
        ``source`` names the metadata source to try first.
        """
        self._check_fetch_settings()
        return self.sync_engine.load(parse_reference(ref), progress=progress, cancel=cancel, source=source,
                                keep_orphans=keep_orphans)

    def _load_kind(self, kind: str, ref: str, progress, cancel, **kwargs: Any) -> LoadReport:
        self._check_fetch_settings()
        return self.sync_engine.load(parse_reference(ref, kind), progress=progress, cancel=cancel, **kwargs)

    def load_track(self, ref: str, progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
                   *, source: str | None = None) -> LoadReport:
        """Fetch one track into the library, kept as added directly by the user."""
        return self._load_kind("track", ref, progress, cancel, source=source)

    def load_album(self, ref: str, progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
                   *, source: str | None = None) -> LoadReport:
        """Fetch every track of an album, kept as added directly by the user."""
        return self._load_kind("album", ref, progress, cancel, source=source)

    def load_playlist(self, ref: str, progress: ProgressCallback | None = None,
                      cancel: threading.Event | None = None, *, keep_orphans: bool = False,
                      source: str | None = None) -> LoadReport:
        """Mirror a playlist: fetch its tracks, then record its ordered entries (a full sync)."""
        return self._load_kind("playlist", ref, progress, cancel, keep_orphans=keep_orphans, source=source)

    def load_likes(self, progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
                   *, keep_orphans: bool = False, source: str | None = None) -> LoadReport:
        """Mirror the user's Liked Songs as the pseudo-playlist ``likes``.

        ``source`` names the source to read them from (``"spotify-api"`` needs
        `tunecrate login`; ``"spotify-browser"`` reads the web player); by
        default the one that filled ``likes`` last, else the Web API.
        """
        return self._load_kind("likes", LIKES, progress, cancel, keep_orphans=keep_orphans, source=source)

    def sync(self, target: str, *, dry_run: bool = False, keep_orphans: bool = False,
             progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
             source: str | None = None) -> LoadReport:
        """Bring one playlist (URL, URI, id, or ``likes``) in step with its source.

        When its snapshot is unchanged and every entry's file is present, this
        makes one light request and nothing else. ``dry_run`` returns the plan
        and changes nothing. See :mod:`tunecrate.library.sync`.
        """
        self._check_fetch_settings()
        return self.sync_engine.sync(self.playlist_id(target), dry_run=dry_run, keep_orphans=keep_orphans,
                                progress=progress, cancel=cancel, source=source)

    def import_file(self, path: str | Path, *, dry_run: bool = False, keep_orphans: bool = False,
                    progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
                    ) -> ImportReport:
        """Import the playlists and Liked Songs of an export file, offline and without credentials.

        ``path`` is a Spotify account-data export (its ZIP, its folder, or one
        of its JSON files) or Exportify CSVs (a file, a folder or ZIP of them).
        Each list is brought in as a sync would (plans, downloads, pruning);
        a later import of a newer export syncs the same lists. See
        :meth:`SyncEngine.import_lists`; raises :class:`InvalidFile`,
        :class:`NotFound`.
        """
        from tunecrate.core.ids import file_reference

        self._check_fetch_settings()
        return self.sync_engine.import_lists(file_reference(str(path)), dry_run=dry_run, keep_orphans=keep_orphans,
                                             progress=progress, cancel=cancel)

    def sync_all(self, *, dry_run: bool = False, keep_orphans: bool = False,
                 progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
                 ) -> list[tuple[str, LoadReport | TunecrateError]]:
        """Sync every playlist; a failing one does not stop the others. ``(playlist_id, report or error)``."""
        self._check_fetch_settings()
        return self.sync_engine.sync_all(dry_run=dry_run, keep_orphans=keep_orphans, progress=progress, cancel=cancel)

    # -- listing -------------------------------------------------------------------------------

    def tracks(self) -> list[TrackRecord]:
        """Every track, by artist then title."""
        return self.catalogue.tracks()

    def playlists(self) -> list[PlaylistSummary]:
        """Every playlist, by title."""
        return self.catalogue.playlists()

    def playlist(self, ref: str) -> PlaylistDetail:
        """One playlist (id, URL, URI or ``likes``) with its tracks in order. Raises :class:`NotFound`."""
        return self.catalogue.playlist(self.playlist_id(ref))

    def stats(self) -> Stats:
        """Library totals."""
        return self.catalogue.stats()

    def track_detail(self, ref: str) -> TrackDetail:
        """One track with its playlists, decision and candidates. Raises :class:`NotFound`."""
        return self.catalogue.track_detail(self.resolve_track_id(ref))

    # -- deleting -------------------------------------------------------------------------------

    def delete_track(self, ref: str, *, dry_run: bool = False) -> DeleteTrackResult:
        """Remove a track the user added directly; it stays while a playlist still lists it.

        A track that stays is no longer kept for its own sake. With ``dry_run``
        nothing changes. Raises :class:`NotFound`.
        """
        detail = self.track_detail(ref)
        kept_by = tuple(p.title for p in detail.playlists)
        result = DeleteTrackResult(detail.track_id, detail.title, not kept_by,
                                   detail.path if not kept_by else None, kept_by, dry_run)
        if not dry_run:
            with self._writing():
                self.catalogue.set_added_directly(detail.track_id, False)
                self.catalogue.prune([detail.track_id])
        return result

    def delete_playlist(self, ref: str, *, dry_run: bool = False) -> DeletePlaylistResult:
        """Remove a playlist, its document, and the tracks nothing else wants.

        A track is kept while another playlist lists it or the user added it
        directly. The document goes first, then the rows, then the files: a
        failure leaves the playlist whole (the error names the path). With
        ``dry_run`` nothing changes. Raises :class:`NotFound`, :class:`StorageError`.
        """
        from sqlmodel import Session, select

        from tunecrate.core.errors import NotFound
        from tunecrate.db.models import Playlist, PlaylistEntry

        playlist_id = self.playlist_id(ref)
        local = self.catalogue.local_playlist(playlist_id)
        if local is None:
            raise NotFound(f"no playlist {playlist_id!r} in the library (see `tunecrate playlists`)")
        ids = {t for t, _ in local.entries}
        titles = dict(local.entries)
        orphans = set(self.catalogue.orphans_after(ids, playlist_id))
        with Session(self._engine) as session:
            others = dict(session.exec(
                select(PlaylistEntry.track_id, Playlist.title)
                .join(Playlist, Playlist.playlist_id == PlaylistEntry.playlist_id)
                .where(PlaylistEntry.track_id.in_(list(ids)), PlaylistEntry.playlist_id != playlist_id)).all())
        kept = tuple(KeptTrack(t, titles[t], f"also in {others[t]}" if t in others else "added directly")
                     for t in sorted(ids - orphans, key=titles.get))
        result = DeletePlaylistResult(playlist_id, local.title,
                                      tuple(TrackRef(t, titles[t]) for t in sorted(orphans, key=titles.get)),
                                      kept, dry_run)
        if not dry_run:
            with self._writing():
                self.catalogue.delete_playlist(playlist_id)
                self.catalogue.prune(sorted(orphans))
        return result

    # -- match decisions ------------------------------------------------------------------------

    def match_set(self, track_ref: str, source: str) -> DecisionRecord:
        """Pin ``source`` (a URL yt-dlp can download, or a local audio file) for a track; see :meth:`Decisions.pin`."""
        return self.decisions.pin(self.resolve_track_id(track_ref), source)

    def match_skip(self, track_ref: str) -> DecisionRecord:
        """Mark a track "don't download"; see :meth:`Decisions.skip`."""
        return self.decisions.skip(self.resolve_track_id(track_ref))

    def match_accept(self, track_ref: str, candidate_index: int = 0) -> DecisionRecord:
        """Pin a track to one of its candidates (0-based, best first); see :meth:`Decisions.accept`."""
        return self.decisions.accept(self.resolve_track_id(track_ref), candidate_index)

    def match_clear(self, track_ref: str) -> bool:
        """Forget the decision about a track; return whether there was one."""
        return self.decisions.clear(self.resolve_track_id(track_ref))

    def match_list(self) -> list[DecisionRecord]:
        """Every recorded decision, pinned and skipped first."""
        return self.decisions.list()

    def match_show(self, track_ref: str) -> ReviewItem:
        """One track with its current choice and candidates; see :meth:`Decisions.show`."""
        return self.decisions.show(self.resolve_track_id(track_ref))

    def review_queue(self) -> list[ReviewItem]:
        """The tracks awaiting the user's decision; see :meth:`Decisions.review_queue`."""
        return self.decisions.review_queue()

    # -- maintenance -----------------------------------------------------------------------------

    def retag(self, track_ref: str | None = None, *, fetch_covers: bool = True) -> RetagReport:
        """Rewrite the tags of one downloaded track, or all (``None``), from the catalogue.

        Covers are downloaded again unless ``fetch_covers`` is False (then the
        embedded ones are kept); the report's ``warnings`` name each cover that
        could not be fetched. See :meth:`Maintenance.retag`.
        """
        from tunecrate.media.covers import CoverFetcher

        track_id = self.resolve_track_id(track_ref) if track_ref is not None else None
        covers = (CoverFetcher(timeout_s=RETAG_COVER_TIMEOUT_S, proxy=self.settings.proxy,
                               ca_bundle=self.settings.ca_bundle) if fetch_covers else None)
        try:
            return self.maintenance.retag(track_id, covers=covers)
        finally:
            if covers is not None:
                covers.close()

    def gc_plan(self) -> GcPlan:
        """What :meth:`gc` would remove, without changing anything."""
        return self.maintenance.gc_plan()

    def gc(self) -> GcPlan:
        """Remove orphan tracks, stray ``tmp/`` entries and unclaimed files; return what was removed."""
        return self.maintenance.gc()

    def verify(self, repair: bool = False) -> VerifyReport:
        """Check every downloaded file; with ``repair`` queue bad ones for the next load or sync."""
        return self.maintenance.verify(repair=repair)

    def rebuild(self) -> LoadLocalReport:
        """Rebuild or repair the catalogue from ``storage_data/`` alone (``tunecrate load-local``).

        Open the library with ``set_aside_damaged=True`` first to rebuild over a
        damaged catalogue; the report's ``set_aside`` says where it went.
        """
        report = self.maintenance.rebuild()
        report.set_aside = str(self.set_aside) if self.set_aside is not None else None
        return report

    # -- exports ---------------------------------------------------------------------------------

    def track_file(self, track_ref: str) -> Path:
        """The absolute path of a downloaded track's MP3. Raises :class:`NotFound`."""
        return self.exporter.track_file(self.resolve_track_id(track_ref))

    def save_track(self, track_ref: str, out: Destination, *, directory: bool = False) -> Path:
        """Copy a track's MP3 out of the library; see :meth:`Exporter.save_track`."""
        return self.exporter.save_track(self.resolve_track_id(track_ref), out, directory=directory)

    def export(self, playlist_refs: Sequence[str], target: str, *, dry_run: bool = False, **options: Any) -> Any:
        """Export playlists to any target of :data:`tunecrate.targets.TARGETS`: the report, or the plan
        when ``dry_run``. See :meth:`Exporter.export`."""
        return self.exporter.export([self.playlist_id(r) for r in playlist_refs], target, dry_run=dry_run,
                                    **options)

    def export_playlist_zip(self, playlist_ref: str, out: Destination, *, directory: bool = False) -> ExportResult:
        """Write a playlist's ZIP; see :meth:`Exporter.playlist_zip`."""
        return self.exporter.playlist_zip(self.playlist_id(playlist_ref), out, directory=directory)

    def iter_playlist_zip(self, playlist_ref: str, *, chunk_size: int | None = None) -> PlaylistZip:
        """Stream a playlist's ZIP; see :meth:`Exporter.iter_playlist_zip`."""
        return self.exporter.iter_playlist_zip(self.playlist_id(playlist_ref), chunk_size=chunk_size)

    def export_m3u8(self, playlist_ref: str, dest: Destination, *, absolute: bool = False,
                    directory: bool = False) -> ExportResult:
        """Write a playlist as an M3U8; see :meth:`Exporter.m3u8`."""
        return self.exporter.m3u8(self.playlist_id(playlist_ref), dest, absolute=absolute, directory=directory)

    def mirror(self, playlist_refs: Sequence[str] | None, dest: Destination, *, dry_run: bool = False,
               ) -> MirrorResult:
        """Keep a folder equal to playlists (``None``: all of them); see :meth:`Exporter.mirror`."""
        ids = None if playlist_refs is None else [self.playlist_id(r) for r in playlist_refs]
        return self.exporter.mirror(ids, dest, dry_run=dry_run)

    def playlist_cover(self, playlist_ref: str, *, refresh: bool = False) -> tuple[Path | None, str | None]:
        """The playlist's cover file, fetched and kept when missing: ``(path, warning)``."""
        return self.exporter.playlist_cover(self.playlist_id(playlist_ref), refresh=refresh)

    # -- pushes and transfers ----------------------------------------------------------------------

    def push(self, playlist_ref: str, target: str, *, name: str | None = None, dry_run: bool = False,
             mirror: Destination | None = None, report_file: Path | None = None,
             progress: ProgressFn | None = None) -> PushResult:
        """Make a playlist on ``target`` (``"plex"``, ``"subsonic"``) equal to a library playlist; see
        :meth:`Transfers.push`."""
        self._check_target_settings(target, *(("mirror",) if mirror is not None else ()))
        folder = None if mirror is None else Path(os.fspath(mirror)).expanduser()
        return self.transfers.push(self.playlist_id(playlist_ref), target, name=name, dry_run=dry_run, mirror=folder,
                                   report_file=report_file, progress=progress)

    def plan_transfer(self, source: str, dest: str, *, progress: ProgressFn | None = None) -> TransferPlan:
        """Steps 1 and 2 of a transfer between two sides (``spotify:…``, ``plex:…``, …); see
        :meth:`Transfers.plan_transfer`."""
        from tunecrate.library.transfers import LOCAL, parse_side

        side = parse_side(dest)
        if side.service != LOCAL:
            self._check_target_settings(side.service)
        return self.transfers.plan_transfer(source, side, progress=progress)

    def apply_transfer(self, transfer: TransferPlan, *, progress: ProgressFn | None = None) -> PushReport:
        """Step 3 of a transfer: write and remember; see :meth:`Transfers.apply_transfer`."""
        return self.transfers.apply_transfer(transfer, progress=progress)

    def close_transfer(self, transfer: TransferPlan) -> None:
        """Drop a planned transfer without writing (a dry run)."""
        self.transfers.close_transfer(transfer)

    def target_review_queue(self, target: str) -> list[ServiceReviewItem]:
        """The songs waiting for a decision on ``target``; see :meth:`ServiceStore.review_queue`."""
        return self.services.review_queue(target)

    def target_show(self, target: str, song_id: str) -> ServiceReviewItem:
        """What is remembered about one song on ``target``. Raises :class:`NotFound`."""
        return self.services.show(target, song_id)

    def target_confirm(self, target: str, song_id: str, candidate_index: int = 0) -> RemoteTrack:
        """Take a song's candidate (0-based, best first) on ``target``; the next push or transfer uses it."""
        return self.services.confirm(target, song_id, candidate_index)

    def target_skip(self, target: str, song_id: str) -> None:
        """"Don't sync this one" to ``target``: remembered, never asked again."""
        self.services.skip(target, song_id)

    def target_forget(self, target: str, song_id: str) -> bool:
        """Forget a song's remembered match on ``target``; whether there was one."""
        return self.services.forget(target, song_id)
