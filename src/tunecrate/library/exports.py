"""Getting music out of the library: single files, playlist ZIPs, M3U8 lists and folder mirrors.

:class:`ExportsMixin` holds the methods :class:`~tunecrate.library.library.Library`
inherits for this. They only read the catalogue and the audio, so they take no
library lock and work offline; the one network access is the optional download
of a playlist's cover (see :meth:`ExportsMixin.playlist_cover`).

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
import secrets
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Union

from sqlmodel import Session, select

from tunecrate.core.errors import NotFound, StorageError
from tunecrate.core.ids import parse_spotify_ref, validate_stored_id
from tunecrate.db.models import Playlist, Track, TrackStatus
from tunecrate.storage.export import (
    TMP_PREFIX,
    TMP_SUFFIX,
    ExportEntry,
    ExportResult,
    PlaylistZip,
    atomic_path,
    iter_playlist_zip,
    write_m3u8,
    write_playlist_zip,
    zip_filename,
)
from tunecrate.storage.layout import fsync_dir
from tunecrate.storage.mirror import MirrorResult
from tunecrate.storage.mirror import mirror as mirror_folder
from tunecrate.storage.names import NameAllocator, ensure_within, safe_component, track_label

if TYPE_CHECKING:  # pragma: no cover
    from tunecrate.core.settings import Settings
    from tunecrate.storage.layout import Layout

#: A destination: a path, or text (a trailing separator marks a directory).
Destination = Union[str, "os.PathLike[str]"]
#: Seconds allowed for each step (connect, read) of a cover download.
COVER_TIMEOUT_S = 5.0
#: Largest cover image accepted, in bytes.
MAX_COVER_BYTES = 10 * 1024 * 1024

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


def _copy_new(source: Path, folder: Path, label: str, ext: str) -> Path:
    """Copy ``source`` into ``folder`` under a free safe name for ``label`` + ``ext``; never overwrite.

    The copy is written to a temporary file in ``folder`` and fsynced, then
    hard-linked to its name, which fails instead of replacing a file that
    appeared meanwhile. Where hard links are not supported (FAT, exFAT, some
    network shares) it is renamed after a last existence check.
    """
    folder = folder.absolute()
    tmp = folder / f"{TMP_PREFIX}{secrets.token_hex(8)}{TMP_SUFFIX}"
    try:
        try:
            shutil.copyfile(source, tmp)
            shutil.copystat(source, tmp)
            fd = os.open(tmp, os.O_RDWR)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            names = NameAllocator(os.listdir(folder))
            while True:
                target = folder / names.claim(label, ext=ext)
                ensure_within(folder, target)
                try:
                    os.link(tmp, target)
                except FileExistsError:
                    continue
                except OSError:
                    if os.path.lexists(target):
                        continue
                    os.replace(tmp, target)
                break
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(folder)
    except OSError as exc:
        raise StorageError(f"cannot copy into {folder}: {exc.strerror or exc}; "
                           "check free space and permissions") from exc
    return target


class ExportsMixin:
    """Export methods of :class:`~tunecrate.library.library.Library` (see the module docstring).

    Uses ``self.layout``, ``self.engine``, ``self.settings`` and
    ``self.playlist_local`` of the library it is mixed into.
    """

    layout: "Layout"
    settings: "Settings"

    def _outside_library(self, path: Path) -> Path:
        """``path``, refused (StorageError) when it lies in the storage root, where it could clobber audio."""
        root = self.layout.root.resolve()
        resolved = path.resolve()
        if resolved == root or root in resolved.parents:
            raise StorageError(f"refusing to write {path}: it is inside the library's storage folder {root}")
        return path

    # -- tracks --------------------------------------------------------------------

    def track_file(self, track_ref: str) -> Path:
        """The absolute path of a downloaded track's MP3 in the library.

        ``track_ref`` is a Spotify track URL, URI or id. Raises
        :class:`InvalidReference` for a malformed reference and
        :class:`NotFound` when the library does not hold the track, or holds it
        without a file (not downloaded yet, or the file went missing).
        """
        return self._track_row_file(track_ref)[1]

    def _track_row_file(self, track_ref: str) -> tuple[Track, Path]:
        track_id = parse_spotify_ref(track_ref, "track").id
        with Session(self.engine) as session:
            row = session.get(Track, track_id)
        if row is None:
            raise NotFound(f"no track {track_id} in the library (see `tunecrate tracks`)")
        label = track_label(row.artists, row.title)
        if row.status != TrackStatus.DOWNLOADED or not row.path:
            reason = f": {' '.join(row.reason.split())}" if row.reason else ""
            raise NotFound(f"track {track_id} ({label}) is not downloaded (status {row.status}{reason})")
        try:
            path = self.layout.resolve(row.path)
        except StorageError:
            path = None
        if path is None or not path.is_file():
            raise NotFound(f"the file of track {track_id} ({label}) is missing from the library; "
                           "load the track or its playlist again to fetch it")
        return row, path

    def save_track(self, track_ref: str, out: Destination, *, directory: bool = False) -> Path:
        """Copy a downloaded track's MP3 out of the library; return the absolute path written.

        ``out`` is a directory (see the module docstring: existing, trailing
        separator, or ``directory=True``; created when missing), where the file
        is named ``Artist - Title.mp3`` and numbered rather than overwrite
        anything, or a file path, which is replaced atomically if it exists
        (its folder must exist). Raises what :meth:`track_file` raises, and
        :class:`StorageError` when the copy cannot be written.
        """
        row, source = self._track_row_file(track_ref)
        self._outside_library(_path(out))
        if _wants_dir(out, directory):
            return _copy_new(source, _prepare_dir(_path(out)), track_label(row.artists, row.title), ".mp3")
        target = _check_file_target(_path(out).absolute())
        if target.is_dir():
            raise StorageError(f"cannot write {target}: it is a folder")
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)
            shutil.copystat(source, tmp)
        return target

    # -- playlists -----------------------------------------------------------------

    def export_entries(self, playlist_ref: str) -> tuple[str, str, list[ExportEntry]]:
        """``(playlist_id, title, entries)`` of a playlist of the library, entries in playlist order.

        A track listed twice gives two entries. ``path`` is the absolute path of
        the library file, or None when the track has none (not downloaded, or a
        stored path that would lie outside the storage root). Durations in ms.
        Raises :class:`InvalidReference` and :class:`NotFound` (not in the library).
        """
        playlist_id = self.playlist_id(playlist_ref)
        doc = self.playlist_local(playlist_id)
        root = self.layout.root.resolve()
        entries = []
        for track in doc["tracks"]:
            path = Path(track["path"]) if track.get("path") else None
            if path is not None and root not in path.resolve().parents:
                path = None
            entries.append(ExportEntry(track["track_id"], track["title"], tuple(track["artists"]),
                                       int(track.get("duration_ms") or 0), path))
        return playlist_id, doc["title"], entries

    def playlist_cover_path(self, playlist_id: str) -> Path:
        """Where a playlist's cover is cached: ``<storage>/playlists/<id>.cover.jpg`` (JPEG or PNG bytes)."""
        return self.layout.playlists_dir / f"{validate_stored_id(playlist_id)}.cover.jpg"

    def playlist_cover(self, playlist_ref: str, *, refresh: bool = False) -> tuple[Path | bytes | None, str | None]:
        """A playlist's cover for exports, offline first: ``(cover, warning)``.

        ``cover`` is the cached file (:meth:`playlist_cover_path`) when
        present. Otherwise the playlist's ``cover_url`` (Spotify's largest
        playlist image) is downloaded with httpx (:data:`COVER_TIMEOUT_S` per
        step, at most :data:`MAX_COVER_BYTES`, JPEG or PNG only) and cached
        atomically; if caching fails the bytes are returned. ``refresh``
        downloads again even when cached (call it after a sync changed the
        cover URL); a failed refresh keeps the old cached file. ``cover`` is
        None when there is no cover URL or the download failed; ``warning``
        then says why (None when there was simply no cover). Never raises for
        network problems; raises :class:`NotFound` for an unknown playlist.
        """
        playlist_id = self.playlist_id(playlist_ref)
        cache = self.playlist_cover_path(playlist_id)
        if not refresh and cache.is_file():
            return cache, None
        with Session(self.engine) as session:
            row = session.get(Playlist, playlist_id)
        if row is None:
            raise NotFound(f"no playlist {playlist_id!r} in the library (see `tunecrate playlists`)")
        if not row.cover_url:
            return (cache if cache.is_file() else None), None
        data, problem = _download_cover(row.cover_url)
        if data is None:
            if cache.is_file():
                return cache, f"cover not refreshed ({problem}); using the cached one"
            return None, f"no cover: {problem}"
        try:
            self.layout.write_bytes(cache, data)  # through tmp/, which every start empties
        except StorageError as exc:
            return data, f"cover not cached: {exc}"
        return cache, None

    def iter_playlist_zip(self, playlist_ref: str, *, chunk_size: int | None = None) -> PlaylistZip:
        """Stream a playlist's ZIP (layout in :mod:`tunecrate.storage.export`) as bytes chunks.

        For an HTTP response body: ``.filename`` is ``"<title>.zip"``;
        ``.result`` (an :class:`ExportResult`) lists the missing tracks before
        iteration, the counts after it, and the cover warning in ``warnings``.
        Raises :class:`InvalidReference`/:class:`NotFound` at once, and
        :class:`StorageError` while iterating if a file fails to copy.
        """
        _, title, entries = self.export_entries(playlist_ref)
        cover, warning = self.playlist_cover(playlist_ref)
        kwargs = {"chunk_size": chunk_size} if chunk_size else {}
        stream = iter_playlist_zip(title, entries, cover, **kwargs)
        if warning:
            stream.result.warnings.append(warning)
        return stream

    def export_playlist_zip(self, playlist_ref: str, out: Destination, *,
                            directory: bool = False) -> tuple[Path, ExportResult]:
        """Write a playlist's ZIP to ``out``; return ``(absolute path, result)``.

        In a directory the archive is ``<title>.zip`` (replaced if present);
        a file path is written as given. Tracks without a file are left out
        and listed in ``result.missing``; ``result.warnings`` says why a cover
        is missing. Raises :class:`InvalidReference`, :class:`NotFound` and
        :class:`StorageError`.
        """
        _, title, entries = self.export_entries(playlist_ref)
        self._outside_library(_path(out))
        target = _target(out, zip_filename(title), directory=directory)
        cover, warning = self.playlist_cover(playlist_ref)
        result = write_playlist_zip(target, title, entries, cover)
        if warning:
            result.warnings.append(warning)
        return target, result

    def export_m3u8(self, playlist_ref: str, dest: Destination, *, absolute: bool = False,
                    directory: bool = False) -> tuple[Path, ExportResult]:
        """Write a playlist as an extended M3U8 pointing at the library files; ``(path, result)``.

        In a directory the file is ``<title>.m3u8`` (replaced if present).
        Locations are relative to the M3U8's folder, or absolute with
        ``absolute``. Tracks without a file are left out (``result.missing``).
        Raises :class:`InvalidReference`, :class:`NotFound` and :class:`StorageError`.
        """
        _, title, entries = self.export_entries(playlist_ref)
        self._outside_library(_path(dest))
        target = _target(dest, safe_component(title, ext=".m3u8"), directory=directory)
        result = write_m3u8(target, entries, absolute=absolute, title=title)
        return target, result

    def mirror(self, playlist_refs: Sequence[str] | None, dest: Destination, *,
               dry_run: bool = False) -> MirrorResult:
        """Make folder ``dest`` hold exactly the given playlists (rules in :mod:`tunecrate.storage.mirror`).

        ``playlist_refs`` lists playlists (URLs, URIs, ids, ``likes``), or is
        None for every playlist of the library, ``likes`` included. Tracks and
        M3U8s of playlists not passed are removed from ``dest``; files the
        mirror did not write are never touched. With ``dry_run`` nothing
        changes and the result is the plan. Raises :class:`InvalidReference`,
        :class:`NotFound` (an unknown playlist, or ``None`` on a library
        without playlists, which would otherwise empty ``dest``) and
        :class:`StorageError`.
        """
        if playlist_refs is None:
            with Session(self.engine) as session:
                ids = list(session.exec(select(Playlist.playlist_id).order_by(Playlist.title, Playlist.playlist_id)))
            if not ids:
                raise NotFound("the library holds no playlists to mirror (see `tunecrate playlists`)")
        else:
            ids = list(dict.fromkeys(self.playlist_id(ref) for ref in playlist_refs))
        playlists = [self.export_entries(pid)[1:] for pid in ids]
        return mirror_folder(self._outside_library(_path(dest)).absolute(), playlists, dry_run=dry_run)


def _download_cover(url: str) -> tuple[bytes | None, str]:
    """``(image bytes, "")`` or ``(None, reason)``: a JPEG/PNG from an http(s) ``url``."""
    if not url.startswith(("http://", "https://")):
        return None, f"unsupported cover URL {url!r}"
    import httpx

    from tunecrate.services.tagging import sniff_image_mime

    try:
        with httpx.Client(timeout=COVER_TIMEOUT_S, follow_redirects=True) as client:
            with client.stream("GET", url) as response:
                response.raise_for_status()
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_COVER_BYTES:
                        return None, f"the cover at {url} is larger than {MAX_COVER_BYTES} bytes"
                    chunks.append(chunk)
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
        return None, f"cover not downloaded from {url}: {exc or type(exc).__name__}"
    data = b"".join(chunks)
    if sniff_image_mime(data) is None:
        return None, f"the cover at {url} is not a JPEG or PNG image"
    return data, ""
