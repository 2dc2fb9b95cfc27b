"""The ``m3u8`` target: an extended M3U8 playlist that points at the library's files.

For Plex, Jellyfin, Navidrome, VLC and phones: ``#EXTM3U``, ``#PLAYLIST:``
with the title, then per entry ``#EXTINF:<seconds>,<Artist> - <Title>`` and
the file's location, relative to the M3U8's folder (or absolute). Tracks not
downloaded yet are left out and reported.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunecrate.core.errors import StorageError
from tunecrate.storage.atomic import atomic_write
from tunecrate.core.text import track_label
from tunecrate.targets.base import ExportEntry, ExportResult, LibraryFiles, entries_of, file_stat

if TYPE_CHECKING:
    from tunecrate.core.settings import Settings
    from tunecrate.core.types import TrackList

__all__ = ["M3U8Target", "m3u8_lines", "write_m3u8"]


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
    with atomic_write(dest_file) as tmp:
        tmp.write_bytes(text)
    result.entries = len(items)
    result.total_bytes = len(text)
    return result


@dataclass(frozen=True)
class M3U8Plan:
    """The M3U8 that :meth:`M3U8Target.apply` writes: to ``dest``, the ``entries`` of ``title``."""

    dest: Path
    title: str
    entries: tuple[ExportEntry, ...]
    absolute: bool

    def to_json(self) -> dict:
        present = [e for e in self.entries if file_stat(e.path) is not None]
        return {"dest": str(self.dest), "title": self.title, "entries": len(present),
                "missing": [e.track_id for e in self.entries if e not in present]}


class M3U8Target:
    """Writes one playlist as an M3U8 file at ``dest``; ``absolute`` writes absolute paths."""

    name = "m3u8"
    settings_model = None

    def __init__(self, dest: Path, *, absolute: bool = False) -> None:
        self.dest = Path(dest)
        self.absolute = absolute

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> M3U8Target:
        return cls(options["dest"], absolute=bool(options.get("absolute")))

    def plan(self, lists: Sequence[TrackList], library: LibraryFiles) -> M3U8Plan:
        (tracks,) = lists
        return M3U8Plan(self.dest, tracks.title, tuple(entries_of(tracks, library)), self.absolute)

    def apply(self, plan: M3U8Plan) -> ExportResult:
        result = write_m3u8(plan.dest, plan.entries, absolute=plan.absolute, title=plan.title)
        result.path = plan.dest
        return result
