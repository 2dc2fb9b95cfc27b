"""The target protocol: where a playlist of the library is written (a ZIP, an M3U8, a folder, a media server).

A target is the other side of a source: it takes
:class:`~tunecrate.core.types.TrackList` s (what should be there) and makes a
destination hold them, in two steps:

- :meth:`Target.plan` computes what would change and changes nothing: a
  dry run *is* the plan, and its ``to_json()`` is what ``--dry-run --json``
  prints;
- :meth:`Target.apply` carries a plan out and returns a report (with
  ``to_json()``).

The library hands a target its lists and a :class:`~tunecrate.core.service.LibraryFiles` (the
absolute path of each track's file, the playlist's cover), so that a target
needs no database. Targets that write to a playlist service (Plex, Subsonic,
Spotify, an M3U file) get a richer view,
:class:`~tunecrate.core.service.ServiceLibrary`: the remembered match of
each song there, and a service's index cached in the catalogue. Each target declares its settings model
(``settings_model``) and is built by ``from_settings(settings, **options)``,
where ``options`` are the user's choices for one run (a destination, a
playlist name). A service that also holds playlists (a media server) offers a
source in the same module, which is what transfers need; its target's
``capabilities`` say whether ``push`` and transfers may write to it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    from tunecrate.core.service import LibraryFiles
    from tunecrate.core.settings import Settings, SettingsModel
    from tunecrate.core.types import TrackList

__all__ = ["ExportEntry", "ExportResult", "Target", "entries_of", "file_stat"]


@runtime_checkable
class Target(Protocol):
    """Writes playlists somewhere. See the module docstring."""

    name: ClassVar[str]
    settings_model: ClassVar[type[SettingsModel] | None]
    #: What the target does beyond exports, from :data:`tunecrate.targets.CAPABILITIES` (``push``,
    #: ``transfer``, ``scan``); empty for a target that only writes files.
    capabilities: ClassVar[frozenset[str]]

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> Target:
        """Build the target for one run. Raises :class:`ConfigurationError` for bad settings or options."""
        ...

    def plan(self, lists: Sequence[TrackList], library: LibraryFiles) -> Any:
        """What :meth:`apply` would do, computed without changing anything (has ``to_json()``)."""
        ...

    def apply(self, plan: Any) -> Any:
        """Carry ``plan`` out; return the report (has ``to_json()``). Raises :class:`StorageError`,
        :class:`ServiceError` and their kin."""
        ...


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
    not be fetched); the writers here never add any. ``path`` is the file
    written (``None`` for a stream).
    """

    tracks: int = 0
    entries: int = 0
    audio_bytes: int = 0
    total_bytes: int = 0
    cover: bool = False
    missing: list[ExportEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    path: Path | None = None

    def to_json(self) -> dict:
        return {
            "path": str(self.path) if self.path is not None else None, "tracks": self.tracks,
            "entries": self.entries, "audio_bytes": self.audio_bytes, "total_bytes": self.total_bytes,
            "cover": self.cover, "warnings": list(self.warnings),
            "missing": [{"track_id": e.track_id, "title": e.title, "artists": list(e.artists)} for e in self.missing],
        }


def file_stat(path: Path | None) -> os.stat_result | None:
    """``os.stat`` of a regular file; None when ``path`` is None, missing, unreadable or not a file."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def entries_of(tracks: TrackList, library: LibraryFiles) -> list[ExportEntry]:
    """The export entries of a list, in order, each with its library file (or ``None``)."""
    return [ExportEntry(t.track_id, t.title, t.artists, t.duration_ms, library.path_of(t.track_id))
            for t in tracks.entries]
