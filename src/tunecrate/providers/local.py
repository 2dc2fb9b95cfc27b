"""Music the user already owns: an index of their folders and a provider over it.

The user names music folders (``TUNECRATE_MUSIC_DIRS``, ``music_dirs`` in
``config.toml``, or ``tunecrate sources add``, stored in
:func:`music_dirs_file`). :meth:`LocalIndex.scan` walks them and records each
audio file's tags in the :class:`~tunecrate.db.local_index.LocalFile` table;
:class:`LocalProvider` offers the indexed files as candidates to the matcher,
before the online providers are asked. A file the pipeline takes is copied
(:func:`is_suitable_mp3`) or encoded; the folders themselves are never
modified: every file is opened read-only.

Formats and the tags read (with mutagen):

=====================  ====================================================
MP3, WAV (ID3)         ``TIT2``, ``TPE1``, ``TALB``, ``TSRC``
FLAC, Ogg Vorbis/Opus  Vorbis comments ``title``, ``artist``, ``album``, ``isrc``
M4A (AAC, ALAC)        ``©nam``, ``©ART``, ``©alb``, ``----:com.apple.iTunes:ISRC``
=====================  ====================================================

A file without a title tag (typically WAV) is named by its file name:
``"01 - Artist - Title.wav"`` gives artist ``Artist`` and title ``Title``.
"""

from __future__ import annotations

import json
import os
import re
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import delete, func
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from ..core.errors import ConfigurationError, ServiceUnavailable, StorageError, one_line
from ..core.matching import normalize_title, search_key
from ..core.settings import PathList, Settings, SettingsModel, setting
from ..core.types import Candidate, TrackInfo
from ..db.local_index import LocalFile
from ..db.models import utcnow
from ..storage.atomic import write_bytes
from .base import ProviderContext

__all__ = [
    "AUDIO_EXTENSIONS",
    "LocalIndex",
    "LocalProvider",
    "ScanProgress",
    "ScanReport",
    "add_music_dir",
    "is_suitable_mp3",
    "load_music_dirs",
    "music_dirs_file",
    "remove_music_dir",
    "stored_music_dirs",
]

#: File name extensions (lower case) that a scan reads; other files are ignored.
AUDIO_EXTENSIONS = frozenset({".mp3", ".flac", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".wav"})

#: Minimum bitrate (kbit/s) of an MP3 copied as is: constant bitrate, and the
#: average of a VBR file, whose rate follows the music (LAME V2 averages about
#: 190 kbit/s on typical music, less on quiet recordings).
MIN_CBR_KBPS = 192
MIN_VBR_KBPS = 176

#: Title similarity (rapidfuzz token_set_ratio, 0-100: 100 when the words of
#: one title are all in the other) below which a file is not a candidate.
TITLE_CUTOFF = 75
#: Share of the title in the prefilter's ranking; the artist has the rest.
TITLE_SHARE = 0.6

#: Rows written or deleted per transaction during a scan.
_BATCH = 500

_ISRC = re.compile(r"[A-Z]{2}[A-Z0-9]{3}\d{7}")
_TRACK_NUMBER = re.compile(r"^\d{1,3}\s*[.-]\s+")
_MP4_ISRC = "----:com.apple.iTunes:ISRC"

#: ``progress(files_done, files_total)``, called after each file of a scan.
ScanProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class ScanReport:
    """What :meth:`LocalIndex.scan` did, in files.

    ``added``: new files read; ``updated``: known files read again because
    their mtime or size changed; ``removed``: index rows dropped (file gone,
    folder no longer configured, or now unreadable); ``unchanged``: known
    files not read again. ``errors`` lists ``(path, reason)`` for folders and
    files that could not be read; they are not in the index.
    """

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    errors: list[tuple[Path, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Keys:
    """The search keys of every indexed file, and the table state they reflect."""

    signature: tuple[Any, ...]
    paths: list[str]
    titles: list[str]
    artists: list[str]


class LocalIndex:
    """The index of the user's music folders, in the catalogue database.

    ``engine`` is the catalogue's engine (:func:`tunecrate.db.engine.open_engine`);
    the :class:`~tunecrate.db.local_index.LocalFile` table must exist.
    Searches may run concurrently from several threads. Database failures
    raise :class:`StorageError`.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._keys: _Keys | None = None

    # -- scanning ------------------------------------------------------------------

    def scan(self, roots: Sequence[Path], progress: ScanProgress | None = None) -> ScanReport:
        """Bring the index in line with the audio files under ``roots``.

        ``roots`` is the complete list of configured music folders (see
        :func:`load_music_dirs`): files indexed under any other folder are
        removed. Hidden files and folders (name starting with ``.``) are
        skipped; symlinks are followed, each directory and file at most once.
        A file already indexed with the same mtime (ns), size (bytes) and root
        is not read again. Unreadable folders and files are reported in
        :attr:`ScanReport.errors`, not raised, and leave the index (a folder
        on an unmounted disk is read again in full once it is back). Rows are
        written in batches, so an interrupted scan leaves a consistent, partly
        updated index.
        Raises :class:`StorageError` when the database fails.
        """
        errors: list[tuple[Path, str]] = []
        found = _walk(roots, errors)
        added = updated = unchanged = 0
        with _database("updated"):
            with Session(self.engine) as session:
                known = {
                    path: (root, mtime_ns, size)
                    for path, root, mtime_ns, size in session.exec(
                        select(LocalFile.path, LocalFile.root, LocalFile.mtime_ns, LocalFile.size_bytes)
                    )
                }
            gone = set(known) - set(found)
            batch: list[dict[str, Any]] = []
            for done, (path, (root, st)) in enumerate(found.items(), 1):
                old = known.get(path)
                if old == (root, st.st_mtime_ns, st.st_size):
                    unchanged += 1
                else:
                    try:
                        batch.append(_read_file(path, root, st))
                    # mutagen raises many exception types on malformed files; one
                    # bad file of the user's must not stop the scan.
                    except Exception as exc:  # noqa: BLE001
                        errors.append((Path(path), one_line(exc)))
                        if old is not None:
                            gone.add(path)
                    else:
                        if old is None:
                            added += 1
                        else:
                            updated += 1
                        if len(batch) >= _BATCH:
                            self._upsert(batch)
                            batch = []
                if progress is not None:
                    progress(done, len(found))
            self._upsert(batch)
            self._delete(sorted(gone))
        with self._lock:
            self._keys = None
        return ScanReport(added, updated, len(gone), unchanged, errors)

    def _upsert(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        insert = sqlite_insert(LocalFile.__table__)
        insert = insert.on_conflict_do_update(
            index_elements=["path"], set_={name: insert.excluded[name] for name in rows[0] if name != "path"}
        )
        with self.engine.begin() as conn:
            conn.execute(insert, rows)

    def _delete(self, paths: list[str]) -> None:
        with self.engine.begin() as conn:
            for start in range(0, len(paths), _BATCH):
                conn.execute(delete(LocalFile).where(LocalFile.path.in_(paths[start : start + _BATCH])))

    # -- queries -------------------------------------------------------------------

    def file_counts(self) -> dict[Path, int]:
        """Number of indexed files per music folder (folders without files are absent)."""
        with _database("read"), Session(self.engine) as session:
            rows = session.exec(select(LocalFile.root, func.count()).group_by(LocalFile.root)).all()
        return {Path(root): count for root, count in rows}

    def search(self, track: TrackInfo, limit: int = 10) -> list[Candidate]:
        """Indexed files that may be ``track``'s recording, best guesses first, at most ``limit``.

        Files with the track's ISRC come first (an indexed lookup). The rest
        are the files whose normalised title is close to the track's
        (:func:`~tunecrate.core.matching.normalize_title`, rapidfuzz
        token_set_ratio of at least :data:`TITLE_CUTOFF`), ranked by title
        and artist similarity; the matcher scores them properly afterwards.
        The search keys of all files are held in memory and reloaded when the
        table changed (one cheap query per search), so a search of a 20k-file
        library takes about 15 ms. Files that vanished since the last scan
        are left out. Each candidate has ``url`` = the absolute path,
        ``provider="local"`` and ``verified=True`` (the user's own file).
        Raises :class:`StorageError` when the database fails.
        """
        rows: list[LocalFile] = []
        with _database("read"), Session(self.engine) as session:
            isrc = _normalize_isrc(track.isrc)
            if isrc:
                query = select(LocalFile).where(LocalFile.isrc == isrc).order_by(LocalFile.path).limit(limit)
                rows = list(session.exec(query))
            taken = {row.path for row in rows}
            paths = [p for p in self._similar(session, track, limit + len(taken)) if p not in taken]
            paths = paths[: max(0, limit - len(rows))]
            if paths:
                by_path = {r.path: r for r in session.exec(select(LocalFile).where(LocalFile.path.in_(paths)))}
                rows += [by_path[p] for p in paths if p in by_path]
        return [_candidate(row) for row in rows if os.path.isfile(row.path)]

    def _similar(self, session: Session, track: TrackInfo, limit: int) -> list[str]:
        """Paths of up to ``limit`` files whose title (then artist) resembles ``track``'s."""
        title = normalize_title(track.title)
        keys = self._current_keys(session)
        if not title or not keys.titles:
            return []
        artist = search_key(" ".join(track.artists))
        hits = process.extract(
            title, keys.titles, scorer=fuzz.token_set_ratio, processor=None, limit=None, score_cutoff=TITLE_CUTOFF
        )

        def similarity(hit: tuple[str, float, int]) -> tuple[float, float]:
            """Title and artist; then the plain title ratio, so "love" prefers "love" to "love me do"."""
            file_title, title_sim, index = hit
            artist_sim = fuzz.token_set_ratio(artist, keys.artists[index])
            return TITLE_SHARE * title_sim + (1 - TITLE_SHARE) * artist_sim, fuzz.ratio(title, file_title)

        ranked = sorted(hits, key=similarity, reverse=True)
        return [keys.paths[index] for _, _, index in ranked[:limit]]

    def _current_keys(self, session: Session) -> _Keys:
        """The in-memory search keys, reloaded when the table's row count or newest read changed."""
        signature = tuple(session.exec(select(func.count(), func.max(LocalFile.indexed_at))).one())
        with self._lock:
            if self._keys is None or self._keys.signature != signature:
                rows = session.exec(select(LocalFile.path, LocalFile.title_key, LocalFile.artist_key)).all()
                self._keys = _Keys(signature, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
            return self._keys


class LocalSettings(SettingsModel):
    """Where the user's own music is."""

    music_dirs: PathList = setting((), env="TUNECRATE_MUSIC_DIRS",
                                   help="folders of music you own (os.pathsep-separated), never modified")


class LocalProvider:
    """The :class:`~tunecrate.providers.base.Provider` of the user's own music (``"local"``).

    Wraps a :class:`LocalIndex`; ``limit`` is how many candidates a search
    returns. Searches only the index: scan first (:meth:`LocalIndex.scan`).
    Raises :class:`ServiceUnavailable` when the index cannot be read.
    """

    name = "local"
    settings_model = LocalSettings

    @classmethod
    def from_settings(cls, settings: Settings, context: ProviderContext) -> "LocalProvider":
        return cls(LocalIndex(context.engine))

    @staticmethod
    def wanted(settings: Settings) -> bool:
        """Whether any music folder is configured (then this provider is searched first)."""
        return bool(load_music_dirs(settings))

    def __init__(self, index: LocalIndex, limit: int = 5) -> None:
        self.index = index
        self.limit = limit

    def search(self, track: TrackInfo) -> list[Candidate]:
        """Indexed files for ``track``; see :meth:`LocalIndex.search`."""
        try:
            return self.index.search(track, limit=self.limit)
        except StorageError as exc:
            raise ServiceUnavailable(str(exc)) from exc


def is_suitable_mp3(path: Path) -> bool:
    """Whether the file at ``path`` is an MP3 good enough to copy instead of re-encoding.

    True for MPEG-1 Layer III at 44.1 or 48 kHz with a bitrate of at least
    :data:`MIN_CBR_KBPS` kbit/s, or for VBR an average of at least
    :data:`MIN_VBR_KBPS` kbit/s. False for anything else, including files
    that are not MP3 or cannot be read. The file is opened read-only.
    """
    from mutagen import MutagenError
    from mutagen.mp3 import MP3, BitrateMode

    try:
        with open(path, "rb") as fh:
            info = MP3(fh).info
    except (MutagenError, OSError):
        return False
    minimum = MIN_VBR_KBPS if info.bitrate_mode == BitrateMode.VBR else MIN_CBR_KBPS
    return (
        info.version == 1
        and info.layer == 3
        and info.sample_rate in (44100, 48000)
        and info.bitrate >= minimum * 1000
    )


# -- music folders ---------------------------------------------------------------


def music_dirs_file(data_root: Path) -> Path:
    """The JSON file (a list of absolute folder paths) of folders added by ``tunecrate sources add``."""
    return Path(data_root) / "music_dirs.json"


def stored_music_dirs(data_root: Path) -> list[Path]:
    """The folders added by ``tunecrate sources add``, absolute, in the order added.

    Raises :class:`ConfigurationError` when :func:`music_dirs_file` is not a
    JSON list of strings, :class:`StorageError` when it cannot be read.
    """
    file = music_dirs_file(data_root)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise StorageError(f"cannot read {file}: {one_line(exc)}") from exc
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ConfigurationError(f"{file} is not valid JSON ({exc}); fix or delete it") from exc
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigurationError(f"{file} must hold a JSON list of folder paths; fix or delete it")
    return list(dict.fromkeys(_absolute(v) for v in value))


def load_music_dirs(settings: Settings) -> list[Path]:
    """All configured music folders: ``settings.music_dirs`` then the stored ones, without duplicates.

    Paths are absolute and normalised. Raises like :func:`stored_music_dirs`.
    """
    stored = stored_music_dirs(settings.data_root)
    configured = settings.section(LocalSettings).music_dirs
    return list(dict.fromkeys([*(_absolute(p) for p in configured), *stored]))


def music_dir_origins(settings: Settings) -> list[tuple[Path, str]]:
    """Each folder of :func:`load_music_dirs` with where it comes from: ``"settings"``
    (``TUNECRATE_MUSIC_DIRS`` or the config file), ``"added"`` (``sources add``), or both."""
    configured = {_absolute(p) for p in settings.section(LocalSettings).music_dirs}
    stored = set(stored_music_dirs(settings.data_root))
    return [(folder, ",".join(name for name, where in (("settings", configured), ("added", stored))
                              if folder in where))
            for folder in load_music_dirs(settings)]


def add_music_dir(data_root: Path, path: Path | str) -> Path:
    """Add the folder ``path`` to the stored music folders; return it, absolute.

    Adding a folder already stored changes nothing. The file is replaced
    atomically. Raises :class:`ConfigurationError` when ``path`` is not an
    existing directory, :class:`StorageError` when the file cannot be written.
    """
    folder = _absolute(path)
    if not folder.is_dir():
        what = "is not a directory" if folder.exists() else "does not exist"
        raise ConfigurationError(f"music folder {folder} {what}; give the path of a folder of audio files")
    stored = stored_music_dirs(data_root)
    if folder not in stored:
        _write_music_dirs(data_root, [*stored, folder])
    return folder


def remove_music_dir(data_root: Path, path: Path | str) -> Path:
    """Remove the folder ``path`` from the stored music folders; return it, absolute.

    The folder need not exist any more. Its files leave the index at the
    next :meth:`LocalIndex.scan`. Raises :class:`ConfigurationError` when it
    is not a stored folder, :class:`StorageError` when the file cannot be
    written.
    """
    folder = _absolute(path)
    stored = stored_music_dirs(data_root)
    if folder not in stored:
        raise ConfigurationError(
            f"{folder} is not a music folder added with `tunecrate sources add`; folders from "
            "TUNECRATE_MUSIC_DIRS or config.toml are removed there"
        )
    _write_music_dirs(data_root, [p for p in stored if p != folder])
    return folder


def _write_music_dirs(data_root: Path, folders: list[Path]) -> None:
    """Replace :func:`music_dirs_file` atomically (:mod:`tunecrate.storage.atomic`)."""
    text = json.dumps([str(f) for f in folders], indent=2, ensure_ascii=False) + "\n"
    file = music_dirs_file(data_root)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot write {file}: {one_line(exc)}; check that its folder is writable") from exc
    write_bytes(file, text.encode("utf-8"))


# -- helpers ---------------------------------------------------------------------


def _absolute(path: Path | str) -> Path:
    """``path`` with ``~`` expanded, made absolute, ``..`` resolved lexically (symlinks kept)."""
    return Path(os.path.normpath(Path(path).expanduser().absolute()))


@contextmanager
def _database(action: str) -> Iterator[None]:
    """Turn SQLAlchemy errors into :class:`StorageError`."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise StorageError(f"the local music index could not be {action}: {one_line(exc)}") from exc


def _walk(roots: Sequence[Path], errors: list[tuple[Path, str]]) -> dict[str, tuple[str, os.stat_result]]:
    """Audio files under ``roots``: absolute path → (root, stat), in a stable order.

    Each directory and each file (by device and inode) is visited once, so
    symlink loops end and a file reached twice is indexed under its first
    path. Problems are appended to ``errors``.
    """
    found: dict[str, tuple[str, os.stat_result]] = {}
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    for root in dict.fromkeys(_absolute(r) for r in roots):
        try:
            root_stat = os.stat(root)
        except OSError as exc:
            errors.append((root, f"music folder not readable: {one_line(exc)}"))
            continue
        if not stat.S_ISDIR(root_stat.st_mode):
            errors.append((root, "music folder is not a directory"))
            continue
        stack = [(str(root), root_stat)]
        while stack:
            directory, dir_stat = stack.pop()
            if (dir_stat.st_dev, dir_stat.st_ino) in seen_dirs:
                continue
            seen_dirs.add((dir_stat.st_dev, dir_stat.st_ino))
            try:
                with os.scandir(directory) as it:
                    entries = sorted(it, key=lambda e: e.name, reverse=True)
            except OSError as exc:
                errors.append((Path(directory), one_line(exc)))
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_dir():
                        stack.append((entry.path, entry.stat()))
                        continue
                    if os.path.splitext(entry.name)[1].lower() not in AUDIO_EXTENSIONS:
                        continue
                    entry_stat = entry.stat()
                except OSError as exc:
                    errors.append((Path(entry.path), one_line(exc)))
                    continue
                if not stat.S_ISREG(entry_stat.st_mode):
                    continue
                try:
                    entry.path.encode("utf-8")
                except UnicodeEncodeError:
                    errors.append((Path(entry.path), "file name is not valid UTF-8; rename the file"))
                    continue
                inode = (entry_stat.st_dev, entry_stat.st_ino)
                if inode not in seen_files:
                    seen_files.add(inode)
                    found[entry.path] = (str(root), entry_stat)
    return found


@lru_cache(maxsize=None)
def _kinds() -> dict[type, tuple[str, str]]:
    """mutagen file type → (format, codec); the MP4 codec is read from the stream."""
    from mutagen.aac import AAC
    from mutagen.flac import FLAC
    from mutagen.mp3 import MP3
    from mutagen.mp4 import MP4
    from mutagen.oggopus import OggOpus
    from mutagen.oggvorbis import OggVorbis
    from mutagen.wave import WAVE

    return {
        MP3: ("mp3", "mp3"), FLAC: ("flac", "flac"), MP4: ("mp4", "aac"), OggVorbis: ("ogg", "vorbis"),
        OggOpus: ("ogg", "opus"), WAVE: ("wav", "pcm"), AAC: ("aac", "aac"),
    }


def _read_file(path: str, root: str, st: os.stat_result) -> dict[str, Any]:
    """The :class:`LocalFile` row of the audio file at ``path`` (opened read-only).

    ``st`` is the file's stat taken before reading. Raises ``ValueError`` when
    mutagen does not recognise the file, and whatever mutagen raises.
    """
    import mutagen

    kinds = _kinds()
    with open(path, "rb") as fh:
        audio = mutagen.File(fh, easy=False, options=list(kinds))
    if audio is None:
        raise ValueError("not a supported audio file (MP3, FLAC, M4A/AAC, Ogg Vorbis/Opus, WAV)")
    container, codec = kinds[type(audio)]
    mp4_codec = getattr(audio.info, "codec", "")
    if container == "mp4" and not mp4_codec.startswith("mp4a"):
        codec = mp4_codec or codec
    title, artists, album, isrc = _tags(audio.tags)
    if not title:
        named_artist, title = _name_from_file(Path(path).stem)
        artists = artists or ([named_artist] if named_artist else [])
    length_s = getattr(audio.info, "length", 0) or 0
    bitrate = getattr(audio.info, "bitrate", 0) or 0
    return {
        "path": path,
        "root": root,
        "mtime_ns": st.st_mtime_ns,
        "size_bytes": st.st_size,
        "format": container,
        "codec": codec,
        "title": title,
        "artists": artists,
        "album": album,
        "isrc": _normalize_isrc(isrc),
        "duration_ms": round(length_s * 1000) or None,
        "bitrate_kbps": round(bitrate / 1000) or None,
        "title_key": normalize_title(title),
        "artist_key": search_key(" ".join(artists)),
        "indexed_at": utcnow(),
    }


def _tags(tags: Any) -> tuple[str, list[str], str, str | None]:
    """(title, artists, album, isrc) from an ID3, Vorbis comment or MP4 tag; blanks when absent."""
    from mutagen.id3 import ID3
    from mutagen.mp4 import MP4Tags

    if isinstance(tags, ID3):
        def values(key: str) -> list[str]:
            frame = tags.get(key)
            return [str(t) for t in frame.text] if frame is not None else []
        title, artists, album, isrc = values("TIT2"), values("TPE1"), values("TALB"), values("TSRC")
    elif isinstance(tags, MP4Tags):
        title, artists, album = (tags.get(k, []) for k in ("\xa9nam", "\xa9ART", "\xa9alb"))
        isrc = [bytes(v).decode("utf-8", "replace") for v in tags.get(_MP4_ISRC, [])]
    elif tags is not None:  # Vorbis comments (FLAC, Ogg); keys are case-insensitive
        title, artists, album, isrc = (tags.get(k, []) for k in ("title", "artist", "album", "isrc"))
    else:
        return "", [], "", None
    artists = [a.strip() for a in artists if a.strip()]
    return _first(title), artists, _first(album), _first(isrc) or None


def _first(values: list[str]) -> str:
    """The first non-blank value, stripped, or ``""``."""
    return next((v.strip() for v in values if v.strip()), "")


def _name_from_file(stem: str) -> tuple[str | None, str]:
    """(artist or None, title) from a file name: ``"01 - Artist - Title"`` → ``("Artist", "Title")``."""
    stem = _TRACK_NUMBER.sub("", stem).strip() or stem
    artist, sep, title = stem.partition(" - ")
    if sep and artist.strip() and title.strip():
        return artist.strip(), title.strip()
    return None, stem


def _normalize_isrc(raw: str | None) -> str | None:
    """``"us-s1z-99-00001"`` → ``"USS1Z9900001"``; ``None`` when blank or not an ISRC."""
    isrc = re.sub(r"[\s-]", "", raw or "").upper()
    return isrc if _ISRC.fullmatch(isrc) else None


def _candidate(row: LocalFile) -> Candidate:
    return Candidate(
        url=row.path,
        title=row.title,
        artist=", ".join(row.artists),
        duration_ms=row.duration_ms,
        provider=LocalProvider.name,
        isrc=row.isrc,
        verified=True,
        album=row.album or None,
    )
