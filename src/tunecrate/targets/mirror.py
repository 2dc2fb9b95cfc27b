"""The ``mirror`` target: keep a folder (a phone, a USB stick) equal to one or more playlists.

Layout of DEST (flat; every name FAT-safe, see :mod:`tunecrate.storage.names`)::

    .tunecrate-mirror.json      the manifest: which files this mirror wrote
    Road Trip.m3u8              one extended M3U8 per playlist, listing bare file names
    Artist - Title.mp3          one file per distinct track, shared by all playlists
    Artist - Title (2).mp3      another track with the same name, or a name a foreign
                                file already held (compared ignoring case)

Each call states the whole content: tracks that no playlist lists any more
are deleted, and so is the M3U8 of a playlist that is no longer passed. A
track keeps its file name for as long as it stays in the mirror (a renamed
track is not renamed in DEST).

Ownership. The manifest maps each file name the mirror wrote to the track
(or playlist) it holds and to the size and mtime of the file as written.
The mirror never touches a name that is not in it: foreign files survive,
and a new file whose name is taken gets a number instead. For the files it
owns:

- a track file is replaced only if the library file changed (size, or mtime
  by more than 2 s: FAT stores mtimes to 2 s) and deleted only when no
  playlist lists it, and in both cases only if it is still as written;
- a track file that is missing from DEST is copied again;
- a track file that was changed in DEST (size or mtime differ from the
  manifest) is left in place and released: it leaves the manifest and is
  never touched again; a still listed track gets a fresh copy under a
  numbered name. If the changed file still has the library file's bytes
  (only its mtime moved, as when a FAT volume is used in another time zone)
  it is kept and its new mtime recorded;
- M3U8 files are generated: they are rewritten whenever their text differs.

A track whose library file is gone (``path=None`` or deleted) keeps its
copy in DEST if it has one; otherwise it is reported in ``missing``.

Copies are atomic (``.tunecrate-tmp-<hex>.part`` in DEST, fsync,
``os.replace``) and carry the library file's mtime, so the next run sees no
change. Leftover temporary files of an interrupted run are removed. The
manifest is saved atomically before copying (with the names about to be
created) and after, so an interrupted run leaves nothing unaccounted for.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tunecrate.core.settings import Settings
    from tunecrate.core.types import TrackList

from tunecrate.core.errors import StorageError
from tunecrate.storage.atomic import TMP_PREFIX, TMP_SUFFIX, atomic_write
from tunecrate.targets.base import ExportEntry, entries_of, file_stat
from tunecrate.core.service import LibraryFiles
from tunecrate.targets.m3u8 import m3u8_lines
from tunecrate.storage.atomic import fsync_dir
from tunecrate.core.text import track_label
from tunecrate.storage.names import NameAllocator, check_relative, ensure_within

#: File name of the manifest inside DEST.
MANIFEST_NAME = ".tunecrate-mirror.json"
#: Largest mtime difference (ns) still taken as "unchanged": FAT's 2-second resolution.
MTIME_TOLERANCE_NS = 2_000_000_000

_FORMAT = 1
_COMPARE_CHUNK = 1 << 20


@dataclass(frozen=True)
class MirrorItem:
    """One file in a mirror plan.

    ``name`` is the file name in DEST; ``kind`` ``"track"`` or
    ``"playlist"``; ``key`` the track id or the playlist title (a second
    playlist with the same title gets ``"Title (2)"``); ``reason`` says why
    (``"new"``, ``"source changed"``, ``"missing in DEST"``, ``"changed in
    DEST"``, ``"playlist changed"``, ``"unchanged"``, …); ``size`` the bytes
    to write for a copy or update, else the file's last known size.
    """

    name: str
    kind: str
    key: str
    reason: str
    size: int = 0


@dataclass(frozen=True)
class MirrorResult:
    """What :func:`mirror` did, or would do with ``dry_run``.

    ``copy``: files created (new tracks, new M3U8s, owned files missing from
    DEST); ``update``: owned files replaced; ``delete``: owned files removed;
    ``keep``: owned files left as they are; ``release``: owned files changed
    in DEST, left in place and dropped from the manifest; ``missing``:
    tracks with neither a library file nor a copy in DEST, in playlist order.
    """

    dest: Path
    dry_run: bool
    copy: tuple[MirrorItem, ...]
    update: tuple[MirrorItem, ...]
    delete: tuple[MirrorItem, ...]
    keep: tuple[MirrorItem, ...]
    release: tuple[MirrorItem, ...]
    missing: tuple[ExportEntry, ...]

    @property
    def bytes_to_write(self) -> int:
        """Bytes copied or written (``copy`` + ``update``)."""
        return sum(item.size for item in self.copy + self.update)

    def to_json(self) -> dict:
        doc: dict[str, Any] = {"dest": str(self.dest), "dry_run": self.dry_run, "bytes_to_write": self.bytes_to_write}
        for action in ("copy", "update", "delete", "release", "keep"):
            doc[action] = [asdict(item) for item in getattr(self, action)]
        doc["missing"] = [{"track_id": e.track_id, "title": e.title, "artists": list(e.artists)} for e in self.missing]
        return doc


@dataclass(frozen=True)
class _Record:
    """A manifest line: what an owned file holds and its size/mtime (ns) as written."""

    kind: str
    key: str
    size: int = 0
    mtime_ns: int = 0
    source_size: int = 0
    source_mtime_ns: int = 0


@dataclass(frozen=True)
class _Write:
    """A file to write: a track copied from ``source``, or a playlist's ``content``."""

    item: MirrorItem
    record: _Record
    source: Path | None = None
    content: bytes = b""


def _same_stat(st: os.stat_result, size: int, mtime_ns: int) -> bool:
    return (
        stat.S_ISREG(st.st_mode)
        and st.st_size == size
        and abs(st.st_mtime_ns - mtime_ns) <= MTIME_TOLERANCE_NS
    )


def _same_bytes(a: Path, b: Path) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            chunk = fa.read(_COMPARE_CHUNK)
            if chunk != fb.read(_COMPARE_CHUNK):
                return False
            if not chunk:
                return True


def _load_manifest(dest: Path) -> dict[str, _Record]:
    path = dest / MANIFEST_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(raw)
        if data["format"] != _FORMAT:
            raise ValueError(f"unknown format {data['format']!r}")
        records = {}
        for name, fields in data["files"].items():
            if "/" in check_relative(name) or name == MANIFEST_NAME:
                raise ValueError(f"bad file name {name!r}")
            record = _Record(**fields)
            if record.kind not in ("track", "playlist") or not isinstance(record.key, str) or not all(
                isinstance(v, int) for v in (record.size, record.mtime_ns, record.source_size, record.source_mtime_ns)
            ):
                raise ValueError(f"bad entry for {name!r}")
            records[name] = record
    except (ValueError, KeyError, TypeError, AttributeError, StorageError) as exc:
        raise StorageError(
            f"{path} is damaged ({exc}); delete it to start over "
            "(the files already in the folder will then be left alone as foreign files)"
        ) from exc
    return records


def mirrored_tracks(dest: Path) -> dict[str, str]:
    """File name → track id of the track files a mirror wrote into ``dest`` (from its manifest);
    ``{}`` when ``dest`` holds no mirror, or its manifest cannot be read (a media server matching
    files by path then simply finds none there)."""
    try:
        records = _load_manifest(Path(dest))
    except StorageError:
        return {}
    return {name: record.key for name, record in records.items() if record.kind == "track"}


def _save_manifest(dest: Path, records: dict[str, _Record]) -> None:
    text = json.dumps(
        {"format": _FORMAT, "files": {name: asdict(r) for name, r in sorted(records.items())}},
        ensure_ascii=False, indent=1,
    )
    with atomic_write(dest / MANIFEST_NAME) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _listing(dest: Path) -> dict[str, os.stat_result]:
    """Names in DEST (without the manifest and temporary files) → lstat."""
    if not dest.exists():
        return {}
    if not dest.is_dir():
        raise StorageError(f"cannot mirror into {dest}: it is not a directory")
    try:
        return {
            e.name: e.stat(follow_symlinks=False)
            for e in os.scandir(dest)
            if e.name != MANIFEST_NAME and not (e.name.startswith(TMP_PREFIX) and e.name.endswith(TMP_SUFFIX))
        }
    except OSError as exc:
        raise StorageError(f"cannot list {dest}: {exc.strerror or exc}") from exc


class _Planner:
    """Decides every file's fate; see the module docstring for the rules."""

    def __init__(self, dest: Path, manifest: dict[str, _Record], listing: dict[str, os.stat_result]) -> None:
        self.dest = dest
        self.manifest = manifest
        self.listing = listing
        self.on_disk = NameAllocator(listing)
        self.names = NameAllocator([*listing, *manifest])
        self.final: dict[str, _Record] = {}
        self.writes: list[_Write] = []
        self.delete: list[MirrorItem] = []
        self.keep: list[MirrorItem] = []
        self.release: list[MirrorItem] = []
        self.missing: list[ExportEntry] = []

    def _owned(self, kind: str) -> dict[str, str]:
        return {r.key: name for name, r in self.manifest.items() if r.kind == kind}

    def _usable(self, name: str) -> bool:
        """An owned name that is absent may be written again unless a case variant now exists."""
        return name in self.listing or name not in self.on_disk

    def tracks(self, wanted: dict[str, ExportEntry]) -> dict[str, str]:
        """Plan track files; return track_id → file name for those that will be in DEST."""
        owned = self._owned("track")
        placed: dict[str, str] = {}
        for track_id, entry in wanted.items():
            src = file_stat(entry.path)
            name = owned.pop(track_id, None)
            if name is not None and self._usable(name):
                name = self._plan_owned_track(name, entry, src)
            else:
                name = None
            if name is None and src is not None:
                name = self.names.claim(track_label(entry.artists, entry.title), ext=".mp3")
                self._copy(name, "new", track_id, src, entry.path)
            if name is None:
                self.missing.append(entry)
            else:
                placed[track_id] = name
        for name in owned.values():
            self._drop(name, "not in any playlist")
        return placed

    def _plan_owned_track(self, name: str, entry: ExportEntry, src: os.stat_result | None) -> str | None:
        record = self.manifest[name]
        st = self.listing.get(name)
        if st is None:
            if src is None:
                return None
            self._copy(name, "missing in DEST", record.key, src, entry.path)
        elif _same_stat(st, record.size, record.mtime_ns):
            if src is None or _same_stat(src, record.source_size, record.source_mtime_ns):
                reason = "unchanged" if src is not None else "library file missing, copy kept"
                self.keep.append(MirrorItem(name, "track", record.key, reason, st.st_size))
                self.final[name] = record
            else:
                self._copy(name, "source changed", record.key, src, entry.path)
        elif src is not None and stat.S_ISREG(st.st_mode) and st.st_size == src.st_size \
                and entry.path is not None and _same_bytes(entry.path, self.dest / name):
            self.keep.append(MirrorItem(name, "track", record.key, "same bytes, new mtime", st.st_size))
            self.final[name] = _Record("track", record.key, st.st_size, st.st_mtime_ns,
                                       src.st_size, src.st_mtime_ns)
        else:
            self.release.append(MirrorItem(name, "track", record.key, "changed in DEST", st.st_size))
            return None
        return name

    def _copy(self, name: str, reason: str, track_id: str, src: os.stat_result, path: Path | None) -> None:
        item = MirrorItem(name, "track", track_id, reason, src.st_size)
        final = _Record("track", track_id, src.st_size, src.st_mtime_ns, src.st_size, src.st_mtime_ns)
        self.writes.append(_Write(item, final, source=path))
        self.final[name] = final

    def _drop(self, name: str, reason: str) -> None:
        record = self.manifest[name]
        st = self.listing.get(name)
        if st is None:
            return
        generated = record.kind == "playlist" and stat.S_ISREG(st.st_mode)
        if generated or _same_stat(st, record.size, record.mtime_ns):
            self.delete.append(MirrorItem(name, record.kind, record.key, reason, st.st_size))
        else:
            self.release.append(MirrorItem(name, record.kind, record.key, "changed in DEST", st.st_size))

    def playlists(self, playlists: Sequence[tuple[str, Sequence[ExportEntry]]], placed: dict[str, str]) -> None:
        owned = self._owned("playlist")
        count: dict[str, int] = {}
        for title, entries in playlists:
            count[title] = count.get(title, 0) + 1
            key = title if count[title] == 1 else f"{title} ({count[title]})"
            items = [(e, placed[e.track_id]) for e in entries if e.track_id in placed]
            content = "".join(m3u8_lines(items, title=title)).encode("utf-8")
            record = _Record("playlist", key)
            name = owned.pop(key, None)
            if name is not None and self._usable(name):
                st = self.listing.get(name)
                if st is None:
                    reason = "missing in DEST"
                elif not stat.S_ISREG(st.st_mode):
                    self.release.append(MirrorItem(name, "playlist", key, "changed in DEST", st.st_size))
                    name = None
                elif st.st_size == len(content) and (self.dest / name).read_bytes() == content:
                    self.keep.append(MirrorItem(name, "playlist", key, "unchanged", st.st_size))
                    self.final[name] = record
                    continue
                else:
                    reason = "playlist changed"
            else:
                name = None
            if name is None:
                name, reason = self.names.claim(title, ext=".m3u8"), "new"
            item = MirrorItem(name, "playlist", key, reason, len(content))
            self.writes.append(_Write(item, record, content=content))
            self.final[name] = record
        for name in owned.values():
            self._drop(name, "playlist removed")


def _copy_track(source: Path, target: Path, track_id: str) -> _Record:
    """Atomically copy ``source`` to ``target`` with its mtime; the manifest record of the copy.

    The source is stat'ed before copying, so a change during the copy shows
    as a changed source on the next run.
    """
    st = os.stat(source)
    with atomic_write(target, sync_dir=False) as tmp:
        shutil.copyfile(source, tmp)
        os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    return _Record("track", track_id, st.st_size, st.st_mtime_ns, st.st_size, st.st_mtime_ns)


def mirror(
    dest: Path, playlists: Sequence[tuple[str, Sequence[ExportEntry]]], *, dry_run: bool = False
) -> MirrorResult:
    """Make folder ``dest`` hold exactly ``playlists`` (layout and rules in the module docstring).

    ``playlists`` lists ``(title, entries)`` pairs, entries in playlist
    order. ``dest`` is created when missing. With ``dry_run`` nothing is
    created, written or deleted and the result is the plan.

    Raises StorageError when ``dest`` is not a directory, its manifest is
    damaged, or a file cannot be read, written or deleted (the manifest
    then still accounts for every file written so far).
    """
    dest = Path(dest)
    listing = _listing(dest)
    manifest = _load_manifest(dest)
    planner = _Planner(dest, manifest, listing)
    wanted: dict[str, ExportEntry] = {}
    for _, entries in playlists:
        for entry in entries:
            wanted.setdefault(entry.track_id, entry)
    try:
        planner.playlists(playlists, planner.tracks(wanted))
    except OSError as exc:
        raise StorageError(f"cannot compare files in {dest}: {exc.strerror or exc}") from exc
    copies = [w.item for w in planner.writes if w.item.name not in planner.listing]
    updates = [w.item for w in planner.writes if w.item.name in planner.listing]
    if not dry_run:
        _apply(dest, manifest, planner)
    return MirrorResult(
        dest, dry_run, tuple(copies), tuple(updates), tuple(planner.delete), tuple(planner.keep),
        tuple(planner.release), tuple(planner.missing),
    )


def _apply(dest: Path, manifest: dict[str, _Record], planner: _Planner) -> None:
    try:
        dest.mkdir(parents=True, exist_ok=True)
        for entry in os.scandir(dest):
            if entry.name.startswith(TMP_PREFIX) and entry.name.endswith(TMP_SUFFIX) and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
        created = {w.item.name: w.record for w in planner.writes if w.item.name not in manifest}
        if created:
            _save_manifest(dest, {**manifest, **created})
        for item in planner.delete:
            ensure_within(dest, dest / item.name).unlink(missing_ok=True)
        for write in planner.writes:
            target = ensure_within(dest, dest / write.item.name)
            if write.source is None:  # a playlist
                with atomic_write(target, sync_dir=False) as tmp:
                    tmp.write_bytes(write.content)
            else:
                planner.final[write.item.name] = _copy_track(write.source, target, write.item.key)
        if planner.final != manifest:
            _save_manifest(dest, planner.final)
        fsync_dir(dest)
    except OSError as exc:
        raise StorageError(f"mirror into {dest} failed: {exc.strerror or exc}; check free space and permissions") from exc


@dataclass(frozen=True)
class MirrorPlan:
    """The playlists :meth:`MirrorTarget.apply` mirrors into ``dest``, and the changes that makes now
    (``preview``, a dry-run :class:`MirrorResult`)."""

    dest: Path
    playlists: tuple[tuple[str, tuple[ExportEntry, ...]], ...]
    preview: MirrorResult

    def to_json(self) -> dict:
        return self.preview.to_json()


class MirrorTarget:
    """Keeps the folder ``dest`` equal to the playlists it is given (rules in the module docstring)."""

    name = "mirror"
    settings_model = None
    capabilities = frozenset()

    def __init__(self, dest: Path) -> None:
        self.dest = Path(dest)

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> MirrorTarget:
        return cls(options["dest"])

    def plan(self, lists: Sequence[TrackList], library: LibraryFiles) -> MirrorPlan:
        playlists = tuple((t.title, tuple(entries_of(t, library))) for t in lists)
        return MirrorPlan(self.dest, playlists, mirror(self.dest, playlists, dry_run=True))

    def apply(self, plan: MirrorPlan) -> MirrorResult:
        """Mirror now (the folder is compared again: it may have changed since the plan)."""
        return mirror(plan.dest, plan.playlists)
