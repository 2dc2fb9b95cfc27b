"""Getting music out of the library: single files, and playlists through the targets.

:class:`Exporter` is a component of :class:`~tunecrate.library.Library`.
Every playlist export (a ZIP, an M3U8, a folder mirror, a media server) is one
code path, :meth:`Exporter.plan` then :meth:`Exporter.apply`, over a target of
the :mod:`tunecrate.targets` registry; the ``zip``/``m3u8``/``mirror`` methods
are thin wrappers over it. Exports only read the catalogue and the audio, so
they take no library lock and work offline: a playlist's cover is stored in
the library when the playlist is loaded or synced (see
:meth:`Exporter.playlist_cover`), and an export never fetches it.

References: playlist methods take a playlist URL, URI, bare id or ``likes``;
track methods a Spotify track URL, URI or bare id. Both are validated before
anything becomes a path (:class:`~tunecrate.core.errors.InvalidReference`).

Destinations (``out``/``dest``) are a file or a directory. A directory is one
that exists, or any path given as text ending in a path separator (created
then), or any path when the method is told ``directory=True``. In a directory:

- a track is saved as ``Artist - Title.mp3`` (safe name, see
  :mod:`tunecrate.storage.names`) and *never* overwrites anything: a taken name
  is numbered ``Artist - Title (2).mp3``. An explicit file path is replaced if
  it exists, as ``cp`` would;
- a playlist ZIP is ``<Playlist title>.zip`` and an M3U8 ``<Playlist
  title>.m3u8``; exporting again replaces that file (it is the same export,
  refreshed).

Every file appears complete or not at all (temporary file next to it, fsync,
rename). Everything tunecrate names is checked to stay inside the directory.
Destinations inside the library's storage folder are refused
(:class:`~tunecrate.core.errors.StorageError`): they could clobber its audio.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from tunecrate.core.errors import DownloadError, NotFound, StorageError
from tunecrate.core.types import TrackList
from tunecrate.db.models import TrackStatus
from tunecrate.storage.atomic import atomic_write, create_temp, install
from tunecrate.core.text import track_label
from tunecrate.storage.names import NameAllocator, ensure_within, safe_component
from tunecrate.targets import target_class

if TYPE_CHECKING:
    from tunecrate.core.settings import Settings
    from tunecrate.library.catalogue import Catalogue
    from tunecrate.media.covers import CoverFetcher
    from tunecrate.targets.base import ExportResult
    from tunecrate.targets.mirror import MirrorResult
    from tunecrate.targets.playlist_zip import PlaylistZip

__all__ = ["Destination", "Exporter"]

#: A destination: a path, or text (a trailing separator marks a directory).
Destination = Union[str, "os.PathLike[str]"]


def _path(out: Destination) -> Path:
    return Path(os.fspath(out)).expanduser()


def _wants_dir(out: Destination, directory: bool) -> bool:
    text = os.fspath(out)
    return directory or text.endswith(("/", os.sep)) or _path(out).is_dir()


def _prepare_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise StorageError(f"cannot use {path} as a folder: a file has that name") from None
    except OSError as exc:
        raise StorageError(f"cannot create folder {path}: {exc.strerror or exc}") from exc
    return path


def _check_file_target(path: Path) -> Path:
    if not path.parent.is_dir():
        raise StorageError(f"cannot write {path}: folder {path.parent} does not exist")
    return path


def _target(out: Destination, name: str, *, directory: bool = False) -> Path:
    """The file to write: ``out/name`` when ``out`` is a directory, else ``out`` itself."""
    if _wants_dir(out, directory):
        folder = _prepare_dir(_path(out))
        ensure_within(folder, folder / name)
        return folder.absolute() / name
    return _check_file_target(_path(out).absolute())


def _copy_content(source: Path, tmp: Path) -> None:
    """Copy the bytes and the times of ``source`` into ``tmp``, not its mode: a copy is 0666 less the
    umask, as every file tunecrate writes, even when the library file is older and stricter."""
    st = os.stat(source)
    shutil.copyfile(source, tmp)
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))


def _copy_new(source: Path, folder: Path, label: str, ext: str) -> Path:
    """Copy ``source`` into ``folder`` under a free safe name for ``label`` + ``ext``; never overwrite.

    The copy is written to a temporary file in ``folder``, then hard-linked
    to its name (:func:`tunecrate.storage.atomic.install` with
    ``replace=False``), which fails instead of replacing a file that appeared
    meanwhile; the next free name is tried then.
    """
    folder = folder.absolute()
    tmp = create_temp(folder)
    try:
        _copy_content(source, tmp)
        names = NameAllocator(os.listdir(folder))
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"cannot copy into {folder}: {exc.strerror or exc}; "
                           "check free space and permissions") from exc
    try:
        while True:
            target = ensure_within(folder, folder / names.claim(label, ext=ext))
            try:
                install(tmp, target, replace=False)
                return target
            except FileExistsError:
                continue
    finally:
        tmp.unlink(missing_ok=True)


class Exporter:
    """Exports of one library (see the module docstring). ``covers`` fetches playlist covers."""

    def __init__(self, settings: Settings, catalogue: Catalogue, covers: CoverFetcher) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.layout = catalogue.layout
        self.covers = covers

    # -- the LibraryFiles a target sees ---------------------------------------------------

    def path_of(self, track_id: str) -> Path | None:
        """The absolute path of a track's MP3 when it is downloaded and inside the storage root."""
        state = self.catalogue.file_state(track_id)
        if state is None or state[0] != TrackStatus.DOWNLOADED or not state[1]:
            return None
        try:
            path = self.layout.resolve(state[1])
        except StorageError:
            return None
        return path if path.is_file() else None

    def cover_of(self, playlist_id: str) -> Path | None:
        """The playlist's cover kept in the library, when there is one."""
        path = self.layout.playlist_cover_path(playlist_id)
        return path if path.is_file() else None

    def _outside_library(self, path: Path) -> Path:
        """``path``, refused (StorageError) when it lies in the storage root, where it could clobber audio."""
        root = self.layout.root.resolve()
        resolved = path.resolve()
        if resolved == root or root in resolved.parents:
            raise StorageError(f"refusing to write {path}: it is inside the library's storage folder {root}")
        return path

    # -- tracks --------------------------------------------------------------------------

    def track_file(self, track_id: str) -> Path:
        """The absolute path of a downloaded track's MP3 in the library.

        Raises :class:`NotFound` when the library does not hold the track, or
        holds it without a file (not downloaded yet, or the file went missing).
        """
        path = self.path_of(track_id)
        if path is not None:
            return path
        row = self.catalogue.track_row(track_id)
        if row is None:
            raise NotFound(f"no track {track_id} in the library (see `tunecrate tracks`)")
        label = track_label(row.artists, row.title)
        if row.status != TrackStatus.DOWNLOADED or not row.path:
            reason = f": {' '.join(row.reason.split())}" if row.reason else ""
            raise NotFound(f"track {track_id} ({label}) is not downloaded (status {row.status}{reason})")
        raise NotFound(f"the file of track {track_id} ({label}) is missing from the library; "
                       "load the track or its playlist again to fetch it")

    def save_track(self, track_id: str, out: Destination, *, directory: bool = False) -> Path:
        """Copy a downloaded track's MP3 out of the library; return the absolute path written.

        ``out`` is a directory (existing, ending in a separator, or
        ``directory=True``; created when missing), where the file is named
        ``Artist - Title.mp3`` and numbered rather than overwrite anything, or
        a file path, which is replaced atomically if it exists (its folder must
        exist). Raises what :meth:`track_file` raises, and
        :class:`StorageError` when the copy cannot be written.
        """
        source = self.track_file(track_id)
        row = self.catalogue.track_row(track_id)
        self._outside_library(_path(out))
        if _wants_dir(out, directory):
            return _copy_new(source, _prepare_dir(_path(out)), track_label(row.artists, row.title), ".mp3")
        target = _check_file_target(_path(out).absolute())
        if target.is_dir():
            raise StorageError(f"cannot write {target}: it is a folder")
        with atomic_write(target) as tmp:
            _copy_content(source, tmp)
        return target

    # -- playlists: the one code path -------------------------------------------------------

    def tracklist(self, playlist_id: str) -> TrackList:
        """A playlist of the library as a :class:`TrackList` (what a target is given). Raises :class:`NotFound`."""
        row = self.catalogue.playlist_row(playlist_id)
        if row is None:
            raise NotFound(f"no playlist {playlist_id!r} in the library (see `tunecrate playlists`)")
        return TrackList(kind=row.kind, id=row.playlist_id, title=row.title,
                         entries=self.catalogue.playlist_infos(playlist_id),
                         snapshot=row.snapshot_id, owner=row.owner, description=row.description,
                         cover_url=row.cover_url, source=row.source)

    def plan(self, playlist_ids: Sequence[str], target: str, **options: Any) -> Any:
        """What exporting the playlists to the target ``target`` (a :data:`~tunecrate.targets.TARGETS`
        name) with ``options`` would do; nothing changes. Raises :class:`NotFound`,
        :class:`ConfigurationError` and the target's own errors."""
        built = target_class(target).from_settings(self.settings, **options)  # bad names and options first
        return built.plan([self.tracklist(pid) for pid in playlist_ids], self)

    def apply(self, target: str, plan: Any, **options: Any) -> Any:
        """Carry out a plan of :meth:`plan` with the same target; return its report."""
        return target_class(target).from_settings(self.settings, **options).apply(plan)

    def export(self, playlist_ids: Sequence[str], target: str, *, dry_run: bool = False, **options: Any) -> Any:
        """Plan, then (unless ``dry_run``) apply: the report, or the plan when dry-running."""
        plan = self.plan(playlist_ids, target, **options)
        return plan if dry_run else self.apply(target, plan, **options)

    # -- covers ----------------------------------------------------------------------------

    def playlist_cover(self, playlist_id: str, *, refresh: bool = False) -> tuple[Path | None, str | None]:
        """Keep the playlist's cover in the library, offline first: ``(cover file, warning)``.

        Loads and syncs call it (through the library); exports only read what it kept.

        The cached file (``playlists/<id>.cover.jpg``) is used when present.
        Otherwise the playlist's ``cover_url`` is downloaded (at most
        :data:`~tunecrate.media.covers.MAX_COVER_BYTES`, JPEG or PNG only) and
        cached atomically. ``refresh`` downloads again even when cached; a
        failed refresh keeps the old file. ``warning`` says why there is no
        (fresh) cover, ``None`` when there was simply none. Never raises for
        network problems; raises :class:`NotFound` for an unknown playlist.
        """
        row = self.catalogue.playlist_row(playlist_id)
        if row is None:
            raise NotFound(f"no playlist {playlist_id!r} in the library (see `tunecrate playlists`)")
        cache = self.layout.playlist_cover_path(playlist_id)
        if not refresh and cache.is_file():
            return cache, None
        if not row.cover_url:
            return (cache if cache.is_file() else None), None
        try:
            cover = self.covers.get(row.cover_url, fresh=refresh)
        except DownloadError as exc:
            if cache.is_file():
                return cache, f"cover not refreshed ({exc}); using the cached one"
            return None, f"no cover: {exc}"
        try:
            self.layout.write_bytes(cache, cover.data)
        except StorageError as exc:
            return None, f"cover not cached: {exc}"
        return cache, None

    def cover_warning(self, playlist_id: str) -> str | None:
        """Why an export of the playlist has no cover, when it should have one (it is not stored yet)."""
        row = self.catalogue.playlist_row(playlist_id)
        if row is None or not row.cover_url or self.cover_of(playlist_id) is not None:
            return None
        return (f"no cover stored for this playlist; `tunecrate sync {playlist_id}` fetches it "
                "(exports never use the network)")

    # -- the built-in targets, as the CLI names them ------------------------------------------

    def playlist_zip(self, playlist_id: str, out: Destination, *, directory: bool = False) -> ExportResult:
        """Write a playlist's ZIP (layout in :mod:`tunecrate.targets.playlist_zip`) to ``out``.

        In a directory the archive is ``<title>.zip`` (replaced if present); a
        file path is written as given. Tracks without a file are left out and
        listed in ``missing``; ``warnings`` say why a cover is missing. Works
        offline (the cover is the one stored at load or sync time).
        Raises :class:`NotFound` and :class:`StorageError`.
        """
        title = self.tracklist(playlist_id).title
        self._outside_library(_path(out))
        from tunecrate.targets.playlist_zip import zip_filename  # the target's module, loaded when used

        dest = _target(out, zip_filename(title), directory=directory)
        warning = self.cover_warning(playlist_id)
        result = self.export([playlist_id], "zip", dest=dest)
        if warning:
            result.warnings.append(warning)
        return result

    def iter_playlist_zip(self, playlist_id: str, *, chunk_size: int | None = None) -> PlaylistZip:
        """Stream a playlist's ZIP as bytes chunks (for an HTTP response or stdout).

        ``.filename`` is ``"<title>.zip"``; ``.result`` lists the missing
        tracks before iteration, the counts after it, and the cover warning.
        Raises :class:`NotFound` at once, and :class:`StorageError` while
        iterating if a file fails to copy.
        """
        warning = self.cover_warning(playlist_id)
        stream = self.export([playlist_id], "zip", dest=None, chunk_size=chunk_size)
        if warning:
            stream.result.warnings.append(warning)
        return stream

    def m3u8(self, playlist_id: str, dest: Destination, *, absolute: bool = False,
             directory: bool = False) -> ExportResult:
        """Write a playlist as an extended M3U8 pointing at the library files.

        In a directory the file is ``<title>.m3u8`` (replaced if present).
        Locations are relative to the M3U8's folder, or absolute with
        ``absolute``. Tracks without a file are left out (``missing``).
        Raises :class:`NotFound` and :class:`StorageError`.
        """
        title = self.tracklist(playlist_id).title
        self._outside_library(_path(dest))
        target = _target(dest, safe_component(title, ext=".m3u8"), directory=directory)
        return self.export([playlist_id], "m3u8", dest=target, absolute=absolute)

    def mirror(self, playlist_ids: Sequence[str] | None, dest: Destination, *, dry_run: bool = False) -> MirrorResult:
        """Make folder ``dest`` hold exactly the given playlists (rules in :mod:`tunecrate.targets.mirror`).

        ``playlist_ids`` ``None`` means every playlist of the library, ``likes``
        included. With ``dry_run`` nothing changes and the result is the plan.
        Raises :class:`NotFound` (an unknown playlist, or ``None`` on a library
        without playlists, which would otherwise empty ``dest``) and
        :class:`StorageError`.
        """
        if playlist_ids is None:
            playlist_ids = self.catalogue.playlist_ids()
            if not playlist_ids:
                raise NotFound("the library holds no playlists to mirror (see `tunecrate playlists`)")
        folder = self._outside_library(_path(dest)).absolute()
        result = self.export(list(dict.fromkeys(playlist_ids)), "mirror", dest=folder, dry_run=dry_run)
        return result.preview if dry_run else result
