"""The ``zip`` target: one playlist as a ZIP archive, written to a file or streamed.

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
import stat
import time
import zipfile
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunecrate.core.errors import StorageError
from tunecrate.core.images import sniff_image_mime
from tunecrate.storage.atomic import atomic_write
from tunecrate.storage.names import check_relative, numbered_filename, safe_component
from tunecrate.targets.base import ExportEntry, ExportResult, entries_of, file_stat
from tunecrate.core.service import LibraryFiles
from tunecrate.targets.m3u8 import m3u8_lines

if TYPE_CHECKING:
    from tunecrate.core.settings import Settings
    from tunecrate.core.types import TrackList

__all__ = ["CHUNK_SIZE", "PlaylistZip", "ZipTarget", "iter_playlist_zip", "write_playlist_zip", "zip_filename"]

#: Bytes read and written per step when copying audio.
CHUNK_SIZE = 1 << 20
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_ZIP_LAST = (2107, 12, 31, 23, 59, 58)


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
    return "cover.png" if sniff_image_mime(head) == "image/png" else "cover.jpg"


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
    with atomic_write(Path(dest)) as tmp, open(tmp, "wb") as f:
        with zipfile.ZipFile(f, "w", allowZip64=True) as zf:
            for _ in _zip_steps(zf, plan, entries, cover, result, chunk_size):
                pass
        result.total_bytes = f.tell()
    return result


@dataclass(frozen=True)
class ZipPlan:
    """The archive :meth:`ZipTarget.apply` writes: to ``dest`` (``None``: a stream), ``title``'s
    ``entries``, with ``cover`` (a file or ``None``)."""

    dest: Path | None
    title: str
    entries: tuple[ExportEntry, ...]
    cover: Path | None

    def to_json(self) -> dict:
        plan = _plan(self.title, self.entries, self.cover)
        return {"dest": str(self.dest) if self.dest else None, "filename": zip_filename(self.title),
                "members": [m.name for m in plan.members], "m3u8": plan.m3u8_name, "cover": plan.cover_name,
                "missing": [e.track_id for e in plan.missing]}


class ZipTarget:
    """Writes one playlist as a ZIP (layout in the module docstring) to ``dest``, or streams it
    when ``dest`` is ``None`` (:meth:`apply` then returns a :class:`PlaylistZip`)."""

    name = "zip"
    settings_model = None
    capabilities = frozenset()

    def __init__(self, dest: Path | None, *, chunk_size: int = CHUNK_SIZE) -> None:
        self.dest = Path(dest) if dest is not None else None
        self.chunk_size = chunk_size

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> ZipTarget:
        return cls(options.get("dest"), chunk_size=options.get("chunk_size") or CHUNK_SIZE)

    def plan(self, lists: Sequence[TrackList], library: LibraryFiles) -> ZipPlan:
        (tracks,) = lists
        return ZipPlan(self.dest, tracks.title, tuple(entries_of(tracks, library)), library.cover_of(tracks.id))

    def apply(self, plan: ZipPlan) -> ExportResult | PlaylistZip:
        if plan.dest is None:
            return iter_playlist_zip(plan.title, plan.entries, plan.cover, chunk_size=self.chunk_size)
        result = write_playlist_zip(plan.dest, plan.title, plan.entries, plan.cover, chunk_size=self.chunk_size)
        result.path = plan.dest
        return result
