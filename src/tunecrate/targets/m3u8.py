"""The ``m3u8`` target: an extended M3U8 playlist that points at the library's files; and an M3U file
as a playlist service, for transfers (the ``m3u`` source and target).

For Plex, Jellyfin, Navidrome, VLC and phones: ``#EXTM3U``, ``#PLAYLIST:``
with the title, then per entry ``#EXTINF:<seconds>,<Artist> - <Title>`` and
the file's location, relative to the M3U8's folder (or absolute). Tracks not
downloaded yet are left out and reported.

A transfer reads an M3U file through :class:`M3USource` (each entry described by its file's tags) and
writes into one through :class:`M3UPlaylistTarget`, whose candidates are the library's own files.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunecrate.core.errors import StorageError
from tunecrate.storage.atomic import atomic_write
from tunecrate.core.text import track_label
from tunecrate.core.matching import Thresholds
from tunecrate.targets.base import ExportEntry, ExportResult, entries_of, file_stat
from tunecrate.core.service import (
    CandidateIndex, LibraryFiles, Operation, PlaylistPlan, ProgressFn, PushReport, RemotePlaylist, RemoteTrack,
    ServiceLibrary, WriteOutcome, order_changes, plan_playlist,
)

if TYPE_CHECKING:
    from tunecrate.core.settings import Settings
    from tunecrate.core.types import TrackInfo, TrackList

__all__ = ["M3U8Target", "M3UEntry", "M3UPlaylistService", "M3UPlaylistTarget", "M3USource", "entry_track_id",
           "m3u8_lines", "read_m3u", "write_m3u8"]


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
    capabilities = frozenset()

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


# -- an M3U file as a playlist service (transfers) ------------------------------------------------------


@dataclass(frozen=True)
class M3UEntry:
    """One entry of an M3U/M3U8 file: ``seconds`` (-1 when unknown), ``label`` (the ``#EXTINF`` title,
    ``"Artist - Title"`` by convention) and ``path``, the absolute location (relative ones resolved
    against the file's folder)."""

    seconds: int
    label: str
    path: Path


def read_m3u(path: Path) -> tuple[str | None, list[M3UEntry]]:
    """The ``#PLAYLIST:`` title (``None`` without one) and the entries of an M3U/M3U8 file.

    Reads UTF-8 (Latin-1 when that fails, as plain ``.m3u`` files may be), skips comments, blank lines
    and URLs. Raises :class:`NotFound` when the file is missing, :class:`StorageError` when unreadable.
    """
    from tunecrate.core.errors import NotFound

    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise NotFound(f"no playlist file {path}") from None
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    title, seconds, label, entries = None, -1, "", []
    folder = Path(path).absolute().parent
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#PLAYLIST:"):
            title = line[len("#PLAYLIST:"):].strip() or None
        elif line.startswith("#EXTINF:"):
            head, _, label = line[len("#EXTINF:"):].partition(",")
            try:
                seconds = int(float(head.split()[0])) if head.strip() else -1
            except ValueError:
                seconds = -1
        elif line and not line.startswith("#"):
            if "://" not in line:
                location = Path(line.replace("\\", os.sep) if os.sep != "\\" else line)
                entries.append(M3UEntry(seconds, label.strip(), location if location.is_absolute()
                                        else Path(os.path.normpath(folder / location))))
            seconds, label = -1, ""
    return title, entries


def _label_parts(entry: M3UEntry) -> tuple[tuple[str, ...], str]:
    artist, sep, title = entry.label.partition(" - ")
    if sep and artist.strip() and title.strip():
        return (artist.strip(),), title.strip()
    return (), entry.label or entry.path.stem


def _file_info(entry: M3UEntry, track_id: str) -> TrackInfo:
    """The entry's track from its file's tags (mutagen), else from its ``#EXTINF`` label."""
    from tunecrate.core.types import TrackInfo

    artists, title = _label_parts(entry)
    album, isrc, duration = "", None, entry.seconds * 1000 if entry.seconds > 0 else 0
    try:
        import mutagen

        audio = mutagen.File(entry.path, easy=True)
    except Exception:  # noqa: BLE001 - an unreadable or missing file keeps its label
        audio = None
    if audio is not None:
        tags = audio.tags or {}
        first = lambda key: str((tags.get(key) or [""])[0])  # noqa: E731
        title = first("title") or title
        artists = tuple(a for a in (tags.get("artist") or []) if a) or artists
        album, isrc = first("album"), first("isrc") or None
        if audio.info is not None and audio.info.length:
            duration = round(audio.info.length * 1000)
    missing = {"album_artists", "track_number", "track_total", "disc_number", "release_date", "cover_url"}
    missing |= {name for name, value in (("album", album), ("isrc", isrc), ("duration_ms", duration)) if not value}
    return TrackInfo(track_id=track_id, title=title, artists=artists, album=album, duration_ms=duration, isrc=isrc,
                     missing=frozenset(missing))


def entry_track_id(path: Path) -> str:
    """The track id of a file listed in an M3U: the Spotify id that names a tunecrate library file
    (``tracks/xx/<id>.mp3``), else ``m3u-<digest of the absolute path>``."""
    from tunecrate.core.ids import is_spotify_id

    if is_spotify_id(path.stem) and path.parent.parent.name == "tracks":
        return path.stem
    return "m3u-" + hashlib.sha1(str(path).encode("utf-8")).hexdigest()[:20]


class M3USource:
    """The ``m3u`` :class:`~tunecrate.sources.base.Source`: the entries of an M3U/M3U8 file (the
    reference's ``text`` is its absolute path), each described by its file's tags when readable."""

    name = "m3u"
    settings_model = None

    @classmethod
    def from_settings(cls, settings: Settings) -> M3USource:
        return cls()

    def suitable(self, ref) -> bool:
        return ref.service == "m3u" and ref.kind == "playlist"

    def fetch(self, ref) -> TrackList:
        from tunecrate.core.types import TrackList

        path = Path(ref.text)
        title, entries = read_m3u(path)
        tracks = tuple(_file_info(e, entry_track_id(e.path)) for e in entries)
        snapshot = hashlib.sha1("\n".join(str(e.path) for e in entries).encode("utf-8")).hexdigest()
        return TrackList(kind="playlist", id=ref.id, title=title or path.stem, entries=tracks, snapshot=snapshot,
                         source=self.name)

    def snapshot(self, ref) -> str | None:
        return self.fetch(ref).snapshot

    def close(self) -> None:
        pass


class M3UPlaylistService:
    """An M3U8 file as a :class:`~tunecrate.core.service.PlaylistService` for transfers: its items are
    real file paths; a song's candidates are the library's downloaded tracks (its own file first,
    exactly); writing rewrites the file (atomically) with paths relative to its folder."""

    name = "m3u"
    provider = "m3u"
    indexed = False
    exact = "path"

    def __init__(self, path: Path) -> None:
        self.path = Path(path).expanduser().absolute()
        self._known: dict[str, RemoteTrack] = {}
        self._index: CandidateIndex | None = None
        self._library: ServiceLibrary | None = None

    def _remember(self, track: RemoteTrack) -> RemoteTrack:
        self._known[track.item_id] = track
        return track

    def find_playlist(self, title: str) -> RemotePlaylist | None:
        if not self.path.exists():
            return None
        name, entries = read_m3u(self.path)
        items = []
        for n, entry in enumerate(entries):
            artists, label = _label_parts(entry)
            items.append((str(n), self._remember(RemoteTrack(
                os.path.realpath(entry.path), label, artists,
                duration_ms=entry.seconds * 1000 if entry.seconds > 0 else None, path=str(entry.path)))))
        return RemotePlaylist(str(self.path), name or self.path.stem, tuple(items))

    @staticmethod
    def _of(info: TrackInfo, path: Path) -> RemoteTrack:
        """A library track as an item: its id is the file's real path (symbolic links resolved, as the
        playlist's entries are, so that a file is recognised however it was listed)."""
        return RemoteTrack(os.path.realpath(path), info.title, info.artists, info.album,
                           info.album_artists[0] if info.album_artists else "", info.duration_ms or None, info.isrc,
                           str(path))

    def exact_matches(self, tracks: Sequence[TrackInfo], library: LibraryFiles) -> dict[str, RemoteTrack]:
        self._library = library  # type: ignore[assignment]
        found = {}
        for track in tracks:
            path = library.path_of(track.track_id)
            if path is not None:
                found[track.track_id] = self._remember(self._of(track, path))
        return found

    def resolve(self, item: RemoteTrack) -> RemoteTrack | None:
        return self._remember(item) if Path(item.item_id).is_file() else None

    def search(self, track: TrackInfo) -> list[RemoteTrack]:
        if self._index is None:
            rows = self._library.library_tracks() if self._library is not None else []
            self._index = CandidateIndex.of(self._of(info, path) for info, path in rows)
        return [self._remember(t) for t in self._index.candidates(track)]

    def operations(self, playlist: RemotePlaylist | None, title: str, desired: Sequence[str]) -> list[Operation]:
        if playlist is None:
            return [Operation("create", tuple(desired))] if desired else []
        if order_changes([(e, t.item_id) for e, t in playlist.entries], desired).unchanged:
            return []
        return [Operation("replace", tuple(desired))]

    def write(self, playlist: RemotePlaylist | None, title: str, desired: Sequence[str],
              progress: ProgressFn | None = None) -> WriteOutcome:
        changes = order_changes([(e, t.item_id) for e, t in playlist.entries] if playlist else [], desired)
        if (playlist is not None and changes.unchanged) or (playlist is None and not desired):
            return WriteOutcome(str(self.path) if playlist is not None else None)
        start = os.path.realpath(self.path.parent)
        items = []
        for item_id in desired:
            track = self._known.get(item_id) or RemoteTrack(item_id, Path(item_id).stem)
            entry = ExportEntry(item_id, track.title, track.artists, track.duration_ms or 0, Path(item_id))
            try:
                location = os.path.relpath(os.path.realpath(item_id), start)
            except ValueError:
                location = item_id
            items.append((entry, location))
        name = playlist.title if playlist is not None else self.path.stem
        text = "".join(m3u8_lines(items, title=name)).encode("utf-8")
        with atomic_write(self.path) as tmp:
            tmp.write_bytes(text)
        return WriteOutcome(str(self.path), created=playlist is None, added=len(changes.add),
                            removed=len(changes.remove), moved=len(changes.moves), writes=1)


class M3UPlaylistTarget:
    """Transfers into an M3U8 file (``m3u:<path>``): options ``name`` (the file's path) and ``mode``."""

    name = "m3u"
    settings_model = None
    capabilities = frozenset({"transfer"})

    def __init__(self, path: Path, *, thresholds: Thresholds, mode: str = "merge",
                 progress: ProgressFn | None = None) -> None:
        self.service = M3UPlaylistService(path)
        self.thresholds = thresholds
        self.mode = mode
        self.progress = progress

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> M3UPlaylistTarget:
        from tunecrate.core.errors import ConfigurationError

        if not options.get("name"):
            raise ConfigurationError("an M3U transfer needs the file's path (m3u:<path>)")
        return cls(Path(options["name"]), thresholds=Thresholds(settings.accept_threshold, settings.review_threshold),
                   mode=options.get("mode", "merge"), progress=options.get("progress"))

    def plan(self, lists: Sequence[TrackList], library: ServiceLibrary) -> PlaylistPlan:
        (tracks,) = lists
        return plan_playlist(self.service, tracks, library, title=str(self.service.path), mode=self.mode,
                             thresholds=self.thresholds, progress=self.progress)

    def apply(self, plan: PlaylistPlan) -> PushReport:
        return plan.apply(self.progress)

    def close(self) -> None:
        pass
