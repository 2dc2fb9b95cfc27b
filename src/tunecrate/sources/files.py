"""Reading the files of an export the user supplies: one file, a folder, or a ZIP, never extracted.

The export sources (:mod:`.spotify_export`, :mod:`.exportify`) find their
files here by *base name* (``Playlist1.json``, ``chill.csv``), wherever they
sit in the folder or the archive: Spotify's ZIP holds them under
``Spotify Account Data/``, and a user may point at the folder above the one
they unpacked. Nothing is ever written to disk, so a member called
``../../etc/passwd`` or ``C:\\evil.json`` is only a name: it is matched on
its last component and read into memory.

Limits, so that a hostile or broken file costs little:

- a member or file larger than :data:`MAX_MEMBER_BYTES` is refused, and a
  member is read with that bound whatever its header claims (a ZIP bomb
  stops there);
- encrypted ZIP members, directories, links and special files (a FIFO would
  block) are skipped; a folder is searched :data:`FOLDER_DEPTH` levels deep,
  without following links to folders;
- names are NFC-normalised and control characters dropped before they are
  shown or hashed.

Errors: :class:`~tunecrate.core.errors.NotFound` when the path does not
exist, :class:`~tunecrate.core.errors.InvalidFile` for a damaged ZIP or an
oversized member.

Ids and snapshots of export lists are made here too (:func:`stable_token`,
:func:`list_snapshot`): a digest, so that no name from a file ever becomes
a path.
"""

from __future__ import annotations

import hashlib
import io
import os
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tunecrate.core.errors import InvalidFile, NotFound

__all__ = ["FOLDER_DEPTH", "MAX_MEMBER_BYTES", "ExportFile", "Member", "clean_name", "find_members",
           "list_snapshot", "skip_reason", "stable_token"]

#: Largest file (or ZIP member) read, in bytes: an account-data export's
#: largest file holds a few MB even for 10,000 liked songs.
MAX_MEMBER_BYTES = 256 * 1024 * 1024
#: How deep a folder is searched: the folder itself and the folders in it.
FOLDER_DEPTH = 2


def clean_name(name: str) -> str:
    """``name`` for display and hashing: NFC, control characters dropped, surrounding space trimmed."""
    name = unicodedata.normalize("NFC", name)
    return "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs")).strip()


def stable_token(*parts: str) -> str:
    """16 hex digits of the SHA-256 of ``parts``: the token of an ``<kind>-<token>`` id."""
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:16]


def list_snapshot(title: str, description: str | None, track_ids: Sequence[str]) -> str:
    """The snapshot of a list read from a file: a digest of its title, description and ordered
    track ids, so that an unchanged list in a newer export short-circuits its sync."""
    digest = hashlib.sha256()
    for part in (title, description or "", *track_ids):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\x00")
    return digest.hexdigest()[:32]


def skip_reason(uri: str) -> str:
    """The :class:`~tunecrate.core.types.SkippedEntry` reason of an export row whose URI is not a
    Spotify track's: ``"local"``, ``"episode"`` or ``"unavailable"`` (no URI, or another kind)."""
    if uri.startswith("spotify:local:"):
        return "local"
    if uri.startswith("spotify:episode:"):
        return "episode"
    return "unavailable"


@dataclass(frozen=True)
class Member:
    """One file of an export: its base ``name`` (cleaned), ``where`` it is for messages
    (``"export.zip:Spotify Account Data/Playlist1.json"``) and its size in bytes."""

    name: str
    where: str
    size: int
    _open: Callable[[], IO[bytes]]

    def read_bytes(self) -> bytes:
        """The whole content. Raises :class:`InvalidFile` past :data:`MAX_MEMBER_BYTES` or when unreadable."""
        with self.open() as stream:
            return stream.read()  # in chunks: the stream itself stops past the bound

    def open(self) -> IO[bytes]:
        """A binary stream of the content (close it). Raises :class:`InvalidFile` when it cannot be read."""
        if self.size > MAX_MEMBER_BYTES:
            raise InvalidFile(f"{self.where} is larger than {MAX_MEMBER_BYTES // 2**20} MiB: not an export file")
        try:
            return io.BufferedReader(_Bounded(self._open(), self.where))
        except (OSError, zipfile.BadZipFile, RuntimeError, NotImplementedError, zlib.error) as exc:
            raise InvalidFile(f"cannot read {self.where}: {exc}") from None


class _Bounded(io.RawIOBase):
    """A stream that raises :class:`InvalidFile` past :data:`MAX_MEMBER_BYTES` or on a damaged member."""

    def __init__(self, inner: IO[bytes], where: str) -> None:
        self._inner, self._where, self._read = inner, where, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self._inner.read(len(buffer))
        except (OSError, zipfile.BadZipFile, EOFError, RuntimeError, zlib.error) as exc:
            raise InvalidFile(f"cannot read {self._where}: {exc}") from None
        self._read += len(data)
        if self._read > MAX_MEMBER_BYTES:
            raise InvalidFile(f"{self._where} is larger than {MAX_MEMBER_BYTES // 2**20} MiB: not an export file")
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


class ExportFile:
    """The file, folder or ZIP at ``path``, opened to list its members (use as a context manager).

    Raises :class:`NotFound` when ``path`` does not exist and
    :class:`InvalidFile` for a damaged ZIP.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self._zip: zipfile.ZipFile | None = None
        if not self.path.exists():
            raise NotFound(f"no file or folder {str(path)!r}")
        self.is_dir = self.path.is_dir()
        self.is_zip = not self.is_dir and zipfile.is_zipfile(self.path)
        if self.is_zip:
            try:
                self._zip = zipfile.ZipFile(self.path)
            except (OSError, zipfile.BadZipFile) as exc:
                raise InvalidFile(f"{self.path} is a damaged ZIP: {exc}") from None

    def __enter__(self) -> ExportFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def members(self, wanted: Callable[[str], bool]) -> list[Member]:
        """The members whose cleaned base name ``wanted`` accepts, sorted by where they are.

        For a plain file that is the file itself (when its name is wanted).
        """
        if self._zip is not None:
            found = list(self._zip_members(wanted))
        elif self.is_dir:
            found = list(self._folder_members(self.path, wanted, FOLDER_DEPTH))
        else:
            found = [self._file_member(self.path)] if wanted(clean_name(self.path.name)) else []
        return sorted(found, key=lambda m: m.where)

    def _zip_members(self, wanted: Callable[[str], bool]) -> Iterator[Member]:
        assert self._zip is not None
        for info in self._zip.infolist():
            if info.is_dir() or info.flag_bits & 0x1:  # directories, encrypted members
                continue
            if (info.external_attr >> 16) & 0o170000 == 0o120000:  # a symbolic link
                continue
            name = clean_name(info.filename.replace("\\", "/").rsplit("/", 1)[-1])
            if name and wanted(name):
                yield Member(name, f"{self.path}:{clean_name(info.filename)}", info.file_size,
                             lambda info=info: self._zip.open(info))

    def _folder_members(self, folder: Path, wanted: Callable[[str], bool], depth: int) -> Iterator[Member]:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if depth > 1:
                        yield from self._folder_members(Path(entry.path), wanted, depth - 1)
                elif entry.is_file() and wanted(clean_name(entry.name)):
                    yield self._file_member(Path(entry.path))
            except OSError:
                continue

    @staticmethod
    def _file_member(path: Path) -> Member:
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise InvalidFile(f"cannot read {path}: {exc.strerror or exc}") from None
        return Member(clean_name(path.name), str(path), size, lambda: open(path, "rb"))


def find_members(path: str, wanted: Callable[[str], bool]) -> bool:
    """Whether ``path`` (a file, folder or ZIP) holds a member ``wanted`` accepts; False for a path
    that does not exist or cannot be read (for ``suitable()``, which never raises)."""
    try:
        with ExportFile(path) as export:
            return bool(export.members(wanted))
    except (OSError, NotFound, InvalidFile):
        return False
