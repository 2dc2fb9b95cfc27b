"""The on-disk layout of a library and its atomic file operations.

::

    <storage_root>/
      tracks/<first two chars of id>/<track_id>.mp3   the audio, complete files only
      tmp/                                            work files; emptied at start
      playlists/<playlist_id>.json                    metadata + ordered track ids
      playlists/<playlist_id>.cover.jpg               the playlist's cover (JPEG or PNG)
      decisions.json, decisions.log                   the user's pins and skips, and the journal of changes

Every file reaches its final place only complete: it is written under
``tmp/`` (same filesystem) and moved into place by
:mod:`tunecrate.storage.atomic`. Ids are validated before they become paths.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from tunecrate.core.errors import StorageError
from tunecrate.core.ids import validate_stored_id
from tunecrate.storage import atomic

TRACK_SUFFIX = ".mp3"


class Layout:
    """Paths and atomic operations under one storage root.

    All methods raise :class:`StorageError` for filesystem failures (disk
    full, permissions) and :class:`InvalidReference` for unsafe ids.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tracks_dir = self.root / "tracks"
        self.tmp_dir = self.root / "tmp"
        self.playlists_dir = self.root / "playlists"
        self.decisions_path = self.root / "decisions.json"
        self.decisions_journal_path = self.root / "decisions.log"

    def ensure(self) -> None:
        """Create the directories of the layout."""
        try:
            for d in (self.tracks_dir, self.tmp_dir, self.playlists_dir):
                d.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create library folders under {self.root}: {exc}") from exc

    # -- paths -----------------------------------------------------------------

    def track_relpath(self, track_id: str) -> str:
        """``tracks/<prefix>/<id>.mp3``, relative to the root, with ``/`` separators."""
        validate_stored_id(track_id)
        return f"tracks/{track_id[:2]}/{track_id}{TRACK_SUFFIX}"

    def track_path(self, track_id: str) -> Path:
        return self.root / self.track_relpath(track_id)

    def resolve(self, relpath: str) -> Path:
        """The absolute path of a stored relative path, refusing escapes."""
        path = (self.root / relpath).resolve()
        root = self.root.resolve()
        if root not in path.parents:
            raise StorageError(f"path {relpath!r} escapes the library root")
        return path

    def playlist_json_path(self, playlist_id: str) -> Path:
        validate_stored_id(playlist_id)
        return self.playlists_dir / f"{playlist_id}.json"

    def playlist_cover_path(self, playlist_id: str) -> Path:
        """Where a playlist's cover is kept: ``playlists/<id>.cover.jpg`` (JPEG or PNG bytes)."""
        validate_stored_id(playlist_id)
        return self.playlists_dir / f"{playlist_id}.cover.jpg"

    def remove(self, path: Path) -> bool:
        """Delete ``path`` if it exists; True if it did. Raises :class:`StorageError` naming the path."""
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StorageError(f"cannot remove {path}: {exc.strerror or exc}") from exc
        return True

    def iter_track_files(self) -> Iterator[Path]:
        """Every ``*.mp3`` under ``tracks/``."""
        if self.tracks_dir.is_dir():
            yield from self.tracks_dir.glob(f"*/*{TRACK_SUFFIX}")

    def iter_library_files(self) -> Iterator[Path]:
        """Every file the library keeps (audio, playlist documents and covers, decisions), not ``tmp/``."""
        yield from self.iter_track_files()
        if self.playlists_dir.is_dir():
            yield from (p for p in self.playlists_dir.iterdir() if p.is_file())
        for path in (self.decisions_path, self.decisions_journal_path):
            if path.is_file():
                yield path

    # -- tmp ---------------------------------------------------------------------

    def tmp_file(self, suffix: str = "") -> Path:
        """A fresh, empty, uniquely named file under ``tmp/`` (mode 0666 less the umask)."""
        return atomic.create_temp(self.tmp_dir, suffix=suffix or atomic.TMP_SUFFIX, create=True)

    def tmp_dir_for(self, prefix: str) -> Path:
        """A fresh directory under ``tmp/`` (for downloads that pick their own names)."""
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=self.tmp_dir, prefix=prefix))

    def stray_tmp(self) -> list[Path]:
        """What sits under ``tmp/`` now."""
        if not self.tmp_dir.is_dir():
            return []
        return sorted(self.tmp_dir.iterdir())

    def clean_tmp(self) -> list[Path]:
        """Remove everything under ``tmp/`` (leftovers of an interrupted run); return what went."""
        removed = self.stray_tmp()
        for p in removed:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
                continue
            try:
                p.unlink(missing_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot remove {p}: {exc.strerror or exc}") from exc
        return removed

    # -- atomic placement -------------------------------------------------------------

    def install(self, tmp: Path, dest: Path) -> int:
        """Move a complete file from ``tmp/`` to ``dest`` atomically; return its size in bytes."""
        return atomic.install(tmp, dest)

    def write_bytes(self, dest: Path, data: bytes) -> None:
        """Write ``data`` to ``dest`` atomically (through ``tmp/``)."""
        atomic.write_bytes(dest, data, tmp_dir=self.tmp_dir)

    def write_json(self, dest: Path, obj: Any) -> None:
        """Write ``obj`` as UTF-8 JSON to ``dest`` atomically (through ``tmp/``)."""
        atomic.write_json(dest, obj, tmp_dir=self.tmp_dir)
