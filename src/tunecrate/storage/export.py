"""Playlist exports: streamed ZIP archives and extended M3U8 files.

A playlist export takes the playlist ``title``, its :class:`ExportEntry` list
in playlist order (a track listed twice appears twice) and an optional cover.

ZIP layout (flat, no top folder)::

    cover.jpg                       the cover, when given (cover.png for PNG data)
    01 - Artist - Title.mp3         one member per distinct track, numbered by the
    03 - Artist - Other.mp3         track's first position, padded to the playlist
    ...                             length (at least 2 digits); bytes as in the library
    <Playlist title>.m3u8           every entry in order, duplicates included

MP3 members are STORED (audio does not deflate); the M3U8 is DEFLATED.
Tracks without a file (``path=None``, deleted, unreadable) are left out of the
archive and its M3U8 and reported in :attr:`ExportResult.missing`; the other
members keep their numbers, so the numbering shows the gap.

Memory stays flat whatever the playlist size: files are copied
``chunk_size`` bytes at a time; only the central directory (about 100 bytes
per member) accumulates. :func:`iter_playlist_zip` writes to an unseekable
sink, so :mod:`zipfile` puts sizes and CRCs in data descriptors after each
member; :func:`write_playlist_zip` writes a seekable temporary file, so the
local headers carry them (readable by streaming unzippers too). Each member
is announced with its size on disk, so :mod:`zipfile` switches that member
to ZIP64 when it needs to; archive offsets past 4 GiB switch the central
directory to ZIP64 on their own.

Errors: :class:`~tunecrate.core.errors.StorageError` when the destination
cannot be written or a source fails while it is being copied.
"""

from __future__ import annotations

import os
import secrets
import stat
import time
import unicodedata
import zipfile
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tunecrate.core.errors import StorageError
from tunecrate.storage.layout import fsync_dir
from tunecrate.storage.names import (
    check_relative,
    numbered_filename,
    safe_component,
    track_label,
)

#: Bytes read and written per step when copying audio.
CHUNK_SIZE = 1 << 20
#: Prefix of the temporary files tunecrate creates next to a destination.
TMP_PREFIX = ".tunecrate-tmp-"
TMP_SUFFIX = ".part"

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_ZIP_LAST = (2107, 12, 31, 23, 59, 58)


@dataclass(frozen=True)
class ExportEntry:
    """One playlist entry to export.

    ``duration_ms`` is the track length in milliseconds (0 when unknown);
    ``path`` the absolute path of the library MP3, ``None`` while the track
    is not downloaded.
    """

    track_id: str
    title: str
    artists: tuple[str, ...]
    duration_ms: int
    path: Path | None


@dataclass
class ExportResult:
    """What an export wrote.

    ``tracks``: distinct audio files included; ``entries``: M3U8 entries
    written (duplicates counted); ``audio_bytes``: MP3 bytes copied;
    ``total_bytes``: size of the file or stream produced (ZIP or M3U8);
    ``cover``: whether a cover was included; ``missing``: distinct tracks
    left out because they have no readable file, in playlist order;
    ``warnings``: one-line notes from the caller (e.g. a cover that could
    not be fetched); the writers here never add any.
    """

    tracks: int = 0
    entries: int = 0
    audio_bytes: int = 0
    total_bytes: int = 0
    cover: bool = False
    missing: list[ExportEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- files


@contextmanager
def atomic_path(dest: Path, *, sync_dir: bool = True) -> Iterator[Path]:
    """Yield a fresh temporary path next to ``dest``; on success it becomes ``dest``.

    The caller creates and fills the file at the yielded path. On leaving the
    block without error the file is fsynced and ``os.replace``\\ d onto
    ``dest`` (then the directory is fsynced when ``sync_dir``); on error it is
    removed. Temporary names are ``.tunecrate-tmp-<hex>.part``.

    Raises StorageError for any OSError (disk full, permissions, …).
    """
    dest = Path(dest)
    tmp = dest.parent / f"{TMP_PREFIX}{secrets.token_hex(8)}{TMP_SUFFIX}"
    try:
        try:
            yield tmp
            fd = os.open(tmp, os.O_RDWR)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        if sync_dir:
            fsync_dir(dest.parent)
    except OSError as exc:
        raise StorageError(f"cannot write {dest}: {exc.strerror or exc}; check free space and permissions") from exc


# --------------------------------------------------------------------------- M3U8


def _one_line(text: str) -> str:
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text)


def m3u8_lines(items: Iterable[tuple[ExportEntry, str]], *, title: str | None = None) -> Iterator[str]:
    """Render an extended M3U8 for an already decided entry → location mapping.

    ``items`` yields ``(entry, location)`` in playlist order; ``location`` is
    written as given (a relative or absolute path, ``/`` or native
    separators). Yields lines ending in ``"\\n"``: ``#EXTM3U``, then
    ``#PLAYLIST:<title>`` when ``title`` is given, then per entry
    ``#EXTINF:<seconds>,<Artist> - <Title>`` (seconds rounded, ``-1`` when the
    duration is unknown) and the location. A relative location starting with
    ``#`` gets ``./`` so players do not take it for a comment.

    Raises StorageError for a location containing a line break.
    """
    yield "#EXTM3U\n"
    if title is not None:
        yield f"#PLAYLIST:{_one_line(title)}\n"
    for entry, location in items:
        if "\n" in location or "\r" in location:
            raise StorageError(f"cannot list {location!r} in an M3U8: it contains a line break")
        seconds = round(entry.duration_ms / 1000) if entry.duration_ms > 0 else -1
        if location.startswith("#"):
            location = "./" + location
        yield f"#EXTINF:{seconds},{_one_line(track_label(entry.artists, entry.title))}\n{location}\n"


def file_stat(path: Path | None) -> os.stat_result | None:
    """``os.stat`` of a regular file; None when ``path`` is None, missing, unreadable or not a file."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def write_m3u8(
    dest_file: Path,
    entries: Sequence[ExportEntry],
    *,
    base_dir: Path | None = None,
    absolute: bool = False,
    title: str | None = None,
) -> ExportResult:
    """Write an extended M3U8 (UTF-8, atomic) listing the entries' library files.

    Locations are relative to ``base_dir`` (default: the directory of
    ``dest_file``) with native separators, or absolute paths when
    ``absolute``; a file on another Windows drive is always absolute.
    Relative locations are computed between real paths (symbolic links
    resolved), because the system resolves ``..`` after following a link.
    Entries whose file is missing are left out and reported in ``missing``.
    ``title`` adds a ``#PLAYLIST:`` line.

    Raises StorageError when the file cannot be written.
    """
    dest_file = Path(dest_file)
    start = os.path.realpath(base_dir if base_dir is not None else dest_file.parent)
    result = ExportResult()
    items: list[tuple[ExportEntry, str]] = []
    present: dict[str, bool] = {}
    for entry in entries:
        if entry.track_id not in present:
            present[entry.track_id] = file_stat(entry.path) is not None
            if present[entry.track_id]:
                result.tracks += 1
            else:
                result.missing.append(entry)
        if not present[entry.track_id] or entry.path is None:
            continue
        location = os.path.abspath(entry.path)
        if not absolute:
            try:
                location = os.path.relpath(os.path.realpath(location), start)
            except ValueError:  # another drive on Windows
                pass
        items.append((entry, location))
    text = "".join(m3u8_lines(items, title=title)).encode("utf-8")
    with atomic_path(dest_file) as tmp:
        tmp.write_bytes(text)
    result.entries = len(items)
    result.total_bytes = len(text)
    return result


# --------------------------------------------------------------------------- ZIP


def zip_filename(title: str) -> str:
    """The safe file name ``"<title>.zip"`` for a playlist archive (e.g. for Content-Disposition)."""
    return safe_component(title, ext=".zip")


@dataclass(frozen=True)
class _Member:
    entry: ExportEntry
    name: str
    path: Path


@dataclass(frozen=True)
class _Plan:
    title: str
    members: tuple[_Member, ...]
    missing: tuple[ExportEntry, ...]
    m3u8_name: str
    cover_name: str | None


def _cover_name(cover: bytes | Path | None) -> str | None:
    if cover is None:
        return None
    if isinstance(cover, bytes):
        head = cover[:8]
    else:
        try:
            with open(cover, "rb") as f:
                head = f.read(8)
        except OSError:
            return None
    return "cover.png" if head == _PNG_SIGNATURE else "cover.jpg"


def _plan(title: str, entries: Sequence[ExportEntry], cover: bytes | Path | None) -> _Plan:
    members: list[_Member] = []
    missing: list[ExportEntry] = []
    seen: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        if entry.track_id in seen:
            continue
        seen.add(entry.track_id)
        if entry.path is None or file_stat(entry.path) is None:
            missing.append(entry)
            continue
        name = numbered_filename(position, len(entries), entry.artists, entry.title)
        members.append(_Member(entry, name, Path(entry.path)))
    return _Plan(title, tuple(members), tuple(missing), safe_component(title, ext=".m3u8"), _cover_name(cover))


def _zipinfo(name: str, mtime: float, compress_type: int, size: int = 0) -> zipfile.ZipInfo:
    date_time = min(max(time.localtime(mtime)[:6], _ZIP_EPOCH), _ZIP_LAST)
    info = zipfile.ZipInfo(check_relative(name), date_time)
    info.compress_type = compress_type
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    info.file_size = size  # lets zipfile choose ZIP64 for this member up front
    return info


def _copy_file(zf: zipfile.ZipFile, name: str, path: Path, chunk_size: int) -> Generator[None, None, int]:
    """Copy ``path`` into a STORED member ``name``, yielding after each chunk.

    Yields nothing and returns -1 when ``path`` cannot be opened (nothing is
    written then); otherwise returns the number of bytes copied.
    """
    try:
        src = open(path, "rb")
    except OSError:
        return -1
    with src:
        st = os.fstat(src.fileno())
        info = _zipinfo(name, st.st_mtime, zipfile.ZIP_STORED, st.st_size)
        with zf.open(info, "w") as out:
            while chunk := src.read(chunk_size):
                out.write(chunk)
                yield
    return info.file_size


def _zip_steps(
    zf: zipfile.ZipFile, plan: _Plan, entries: Sequence[ExportEntry], cover: bytes | Path | None,
    result: ExportResult, chunk_size: int,
) -> Iterator[None]:
    """Write the archive's members to ``zf``, yielding after every write of a chunk."""
    if isinstance(cover, bytes) and plan.cover_name is not None:
        zf.writestr(_zipinfo(plan.cover_name, time.time(), zipfile.ZIP_STORED, len(cover)), cover)
        result.cover = True
    elif cover is not None and plan.cover_name is not None:
        result.cover = (yield from _copy_file(zf, plan.cover_name, Path(cover), chunk_size)) >= 0
    written: dict[str, str] = {}
    for member in plan.members:
        size = yield from _copy_file(zf, member.name, member.path, chunk_size)
        if size < 0:
            result.missing.append(member.entry)
            continue
        written[member.entry.track_id] = member.name
        result.tracks += 1
        result.audio_bytes += size
    items = [(e, written[e.track_id]) for e in entries if e.track_id in written]
    with zf.open(_zipinfo(plan.m3u8_name, time.time(), zipfile.ZIP_DEFLATED), "w") as out:
        for line in m3u8_lines(items, title=plan.title):
            out.write(line.encode("utf-8"))
            yield
    result.entries = len(items)
    first: dict[str, int] = {}
    for index, entry in enumerate(entries):
        first.setdefault(entry.track_id, index)
    result.missing.sort(key=lambda e: first[e.track_id])


class _Sink:
    """Write-only, unseekable file object that hands what zipfile writes to a generator."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.total = 0

    def write(self, data: bytes) -> int:
        data = bytes(data) if not isinstance(data, bytes) else data
        if data:
            self.parts.append(data)
            self.total += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = self.parts[0] if len(self.parts) == 1 else b"".join(self.parts)
        self.parts.clear()
        return data


class PlaylistZip:
    """An iterator over the bytes of a playlist ZIP, produced as it is consumed.

    Built by :func:`iter_playlist_zip`. Each item is a non-empty ``bytes``
    chunk of about ``chunk_size`` bytes (headers ride along with data).
    ``filename`` is the suggested archive name. ``result`` is filled in while
    iterating and final once the iterator is exhausted; ``result.missing``
    already lists, before iteration, the tracks that have no file.
    :meth:`close` stops early and closes open files (for an HTTP client that
    went away).

    Iteration raises StorageError when a source fails while being copied.
    """

    def __init__(
        self, title: str, entries: Sequence[ExportEntry], cover: bytes | Path | None = None,
        *, chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self.filename = zip_filename(title)
        self._plan = _plan(title, entries, cover)
        self.result = ExportResult(missing=list(self._plan.missing))
        self._chunks = self._generate(entries, cover, chunk_size)

    def _generate(self, entries: Sequence[ExportEntry], cover: bytes | Path | None, chunk_size: int) -> Iterator[bytes]:
        sink = _Sink()
        try:
            with zipfile.ZipFile(sink, "w", allowZip64=True) as zf:  # type: ignore[arg-type]
                for _ in _zip_steps(zf, self._plan, entries, cover, self.result, chunk_size):
                    if sink.parts:
                        yield sink.drain()
        except OSError as exc:
            raise StorageError(f"ZIP export of {self.filename} failed: {exc}") from exc
        if sink.parts:
            yield sink.drain()
        self.result.total_bytes = sink.total

    def __iter__(self) -> PlaylistZip:
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        """Stop producing; open source files are closed."""
        self._chunks.close()


def iter_playlist_zip(
    title: str, entries: Sequence[ExportEntry], cover: bytes | Path | None = None,
    *, chunk_size: int = CHUNK_SIZE,
) -> PlaylistZip:
    """Stream the playlist ZIP (layout in the module docstring) as ``bytes`` chunks.

    ``cover`` is image bytes or a path (JPEG or PNG); a cover path that does
    not exist is skipped (``result.cover`` stays False). Nothing is read until
    iteration starts, apart from a ``stat`` of every file and the first
    bytes of a cover file. Suited to an HTTP response body; see :class:`PlaylistZip` for the result and errors.
    """
    return PlaylistZip(title, entries, cover, chunk_size=chunk_size)


def write_playlist_zip(
    dest: Path, title: str, entries: Sequence[ExportEntry], cover: bytes | Path | None = None,
    *, chunk_size: int = CHUNK_SIZE,
) -> ExportResult:
    """Write the playlist ZIP to ``dest`` atomically (temporary file, fsync, ``os.replace``).

    ``dest`` appears complete or not at all; an existing file is replaced.
    Returns the :class:`ExportResult` (``total_bytes`` = archive size).

    Raises StorageError when ``dest`` cannot be written or a source fails
    while being copied.
    """
    plan = _plan(title, entries, cover)
    result = ExportResult(missing=list(plan.missing))
    with atomic_path(Path(dest)) as tmp, open(tmp, "xb") as f:
        with zipfile.ZipFile(f, "w", allowZip64=True) as zf:
            for _ in _zip_steps(zf, plan, entries, cover, result, chunk_size):
                pass
        result.total_bytes = f.tell()
    return result
