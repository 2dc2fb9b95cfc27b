"""The ``plex`` target and source: playlists in a Plex Media Server's music library (python-plexapi).

Settings (:class:`PlexSettings`, named as the Spotify → Plex guide names them): ``PLEX_URL``,
``PLEX_TOKEN`` (a media item's "Get Info → View XML" shows it as ``X-Plex-Token``),
``PLEX_MUSIC_LIBRARY`` (the music section, default ``Music``) and ``PLEX_PATH_MAP``
(``/srv/music=/data/music``, several separated by commas: tunecrate's paths on the left, Plex's on the
right, for a Plex in a container or on another machine).

**The index.** A push matches its entries against a copy of the section's tracks kept in the
catalogue (:class:`~tunecrate.db.service_index.ServiceTrack`), not with one Plex search per entry. The
first push lists the section, ``GET /library/sections/{key}/all?type=10`` in pages of
``TUNECRATE_PLEX_PAGE_SIZE`` (100, plexapi's ``X_PLEX_CONTAINER_SIZE``) by ``X-Plex-Container-Start``/
``-Size`` until ``totalSize``; later pushes ask for the section's track count (one request with a page
size of 0) and for the tracks changed since (``updatedAt>>=``), and list the section again only when
tracks left it. The listing is parsed from plexapi's :meth:`PlexServer.query` XML, never through
plexapi's objects: reading an attribute that a listing did not carry (``originalTitle`` on most
tracks) makes a plexapi object fetch its item again, one ``GET /library/metadata/{ratingKey}`` per
track. A track's artist is ``originalTitle`` when Plex has one (on a compilation
``grandparentTitle`` is the album artist, "Various Artists"), else ``grandparentTitle``; its file is
``<Media><Part file>``. Plex's listings carry no ISRC.

**Matching** (:mod:`tunecrate.core.service`): tunecrate's own files first, exactly: an entry whose
library file, or whose copy in a folder a ``tunecrate mirror`` keeps, is a file of the section
(through ``PLEX_PATH_MAP``) is that item; then the scorer.

**Requests of a push** of N entries, beside the index: ``GET /``, ``GET /library``,
``GET /library/sections``, ``GET /playlists?playlistType=audio&title=…`` and, for an existing
playlist, ``GET /playlists/{id}/items`` in pages of :data:`ITEMS_PAGE`. Writes go through
:meth:`PlexServer.query` on the routes of plexapi's ``Playlist.create/addItems/removeItems/moveItem``
(those methods read the playlist's items 100 a page and cache them until ``reload()``, which would
miss the ids of items just added): ``POST /playlists?type=audio&title=…&smart=0&uri=server://{machine}
/com.plexapp.plugins.library/library/metadata/{rk,…}`` (:data:`URI_BATCH` items a request, more with
``PUT /playlists/{id}/items?uri=…``), ``DELETE /playlists/{id}/items/{playlistItemID}`` per removed
item, one ``PUT /playlists/{id}/items?uri=…`` for the added ones, then, when something must move, one
``GET`` of the items (the ids of those just added) and ``PUT /playlists/{id}/items/{playlistItemID}/
move?after=…`` per moved item (Plex only appends, so each song added amid the playlist costs a move).
When emptying the playlist (``DELETE /playlists/{id}/items``, which keeps the playlist, its id and
title) and adding the wanted items back in order (:data:`URI_BATCH` a request) takes fewer requests,
a push does that instead: a playlist of 500 after 25 scattered changes costs 4 writes, not 26. Only a
push clears a playlist, since it wants nothing but the library playlist's songs there; a transfer,
which keeps what the playlist has, always changes it in place. A push with nothing changed writes
nothing.

**Scans.** :meth:`PlexTarget.scan` asks Plex to scan a folder (``GET /library/sections/{key}/refresh?path=``)
and waits until the section is no longer ``refreshing`` and the expected files are indexed.

Errors, one line each: 401 → :class:`AuthError` (the token), an unknown section →
:class:`ConfigurationError` listing the music sections, the server unreachable →
:class:`ServiceUnavailable`, 404 → :class:`NotFound`, other answers → :class:`ServiceError`.
plexapi and requests are imported on first use.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import field_validator

from tunecrate.core.errors import (
    AuthError, ConfigurationError, NotFound, ServiceError, ServiceUnavailable, TunecrateError,
)
from tunecrate.core.ids import Reference
from tunecrate.core.matching import Thresholds
from tunecrate.core.retry import retry_call
from tunecrate.core.settings import SettingsModel, StrList, setting
from tunecrate.core.types import TrackInfo, TrackList
from tunecrate.targets.mirror import MANIFEST_NAME, mirrored_tracks
from tunecrate.core.service import (
    CandidateIndex, IndexState, LibraryFiles, Operation, OrderChanges, PENDING_PREFIX, PlaylistPlan, ProgressFn,
    PushReport, RemotePlaylist, RemoteTrack, ServiceLibrary, WriteOutcome, folded_path, index_row, order_changes,
    plan_playlist,
)

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    from tunecrate.core.settings import Settings

__all__ = ["ITEMS_PAGE", "URI_BATCH", "PathMap", "PlexService", "PlexSettings", "PlexSource", "PlexTarget"]

#: Playlist items read per request (a playlist is read whole in one request up to this size).
ITEMS_PAGE = 1000
#: Rating keys per ``uri=`` of a create or add request (keeps URLs under ~2 KB).
URI_BATCH = 200
#: Seconds between two looks at a section being scanned.
SCAN_POLL_S = 0.5
#: Seconds to wait for a scan to show at all before taking the files as not visible to Plex.
SCAN_QUIET_S = 10.0
_TOKEN_HINT = "the Plex token is invalid or expired: get a new one from a media item's View XML (PLEX_TOKEN)"


class PlexSettings(SettingsModel):
    """How tunecrate reaches a Plex Media Server (see the module docstring)."""

    plex_url: str | None = setting(None, env="PLEX_URL", help="the Plex server, e.g. http://127.0.0.1:32400")
    plex_token: str | None = setting(None, env="PLEX_TOKEN", help="X-Plex-Token (a media item's View XML shows it)")
    plex_music_library: str = setting("Music", env="PLEX_MUSIC_LIBRARY", help="the Plex music section to use")
    plex_path_map: StrList = setting((), env="PLEX_PATH_MAP",
                                     help="tunecrate path=Plex path pairs, comma-separated (/srv/music=/data/music)")
    plex_page_size: int = setting(100, env="TUNECRATE_PLEX_PAGE_SIZE",
                                  help="tracks per request when indexing the Plex section")
    plex_timeout: float = setting(30.0, env="TUNECRATE_PLEX_TIMEOUT", help="seconds to wait for one Plex answer")
    plex_scan_timeout: float = setting(600.0, env="TUNECRATE_PLEX_SCAN_TIMEOUT",
                                       help="seconds to wait for a Plex scan after a mirror")

    @field_validator("plex_path_map")
    @classmethod
    def _pairs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        PathMap.parse(value)
        return value

    @field_validator("plex_page_size")
    @classmethod
    def _page(cls, value: int) -> int:
        if value < 1:
            raise ValueError("plex_page_size must be at least 1")
        return value


@dataclass(frozen=True)
class PathMap:
    """``PLEX_PATH_MAP``: pairs of path prefixes, tunecrate's and Plex's, compared as :func:`folded_path`.

    ``to_plex`` maps a tunecrate path to the path Plex sees (unchanged when no pair applies: Plex on
    this machine); ``to_local`` the other way (``None`` for a path that is not a local absolute one).
    """

    pairs: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, entries: Sequence[str]) -> PathMap:
        """Pairs from ``LOCAL=PLEX`` entries. Raises ``ValueError`` for an entry without both sides."""
        pairs = []
        for entry in entries:
            local, sep, plex = entry.partition("=")
            if not sep or not local.strip() or not plex.strip():
                raise ValueError(f"PLEX_PATH_MAP entries are LOCAL=PLEX, got {entry!r}")
            if not os.path.isabs(local.strip()):
                raise ValueError(f"the local side of {entry!r} must be an absolute path")
            pairs.append((folded_path(local.strip()).rstrip("/"), folded_path(plex.strip()).rstrip("/")))
        return cls(tuple(pairs))

    @staticmethod
    def _swap(path: str, pairs: Sequence[tuple[str, str]]) -> str | None:
        for old, new in pairs:
            if path == old or path.startswith(old + "/"):
                return new + path[len(old):]
        return None

    def to_plex(self, local: Path | str) -> str:
        path = folded_path(os.path.abspath(os.fspath(local)))
        return self._swap(path, self.pairs) or path

    def to_local(self, plex: str) -> Path | None:
        path = folded_path(plex)
        mapped = self._swap(path, [(b, a) for a, b in self.pairs])
        if mapped is not None:
            return Path(mapped)
        return Path(path) if os.path.isabs(path) else None


# -- the connection -----------------------------------------------------------------------------------


class _Connection:
    """plexapi's server and music section over one requests session, with errors translated."""

    def __init__(self, settings: PlexSettings, *, proxy: str | None, ca_bundle: Path | None) -> None:
        if not settings.plex_url or not settings.plex_token:
            missing = " and ".join(n for n, v in (("PLEX_URL", settings.plex_url),
                                                 ("PLEX_TOKEN", settings.plex_token)) if not v)
            raise ConfigurationError(f"Plex is not configured: set {missing} (the token is X-Plex-Token in a "
                                     "media item's View XML)")
        split = urlsplit(settings.plex_url)
        if split.scheme not in ("http", "https") or not split.hostname:
            raise ConfigurationError(f"PLEX_URL must be an http(s) URL, got {settings.plex_url!r}")
        self.settings = settings
        self.host = split.netloc
        self._proxy, self._ca_bundle = proxy, ca_bundle
        self._session = None
        self._server = None
        self._section = None

    # -- errors ---------------------------------------------------------------------------

    def call(self, what: str, fn: Callable[[], Any], *, read: bool = True) -> Any:
        """``fn()`` with plexapi's and requests' errors as tunecrate's; reads are retried (5xx, network)."""
        def attempt() -> Any:
            import requests
            from plexapi.exceptions import BadRequest, NotFound as PlexNotFound, Unauthorized

            try:
                return fn()
            except Unauthorized:
                raise AuthError(_TOKEN_HINT, 401) from None
            except PlexNotFound as exc:
                raise NotFound(f"Plex has no {what} ({_status_text(exc)})") from None
            except BadRequest as exc:
                status = _status(exc)
                if status is not None and (status >= 500 or status in (408, 429)):
                    raise ServiceUnavailable(f"Plex at {self.host} answered {status} to {what}; try again later",
                                             status) from None
                raise ServiceError(f"Plex refused {what}: {_status_text(exc)}", status) from None
            except requests.exceptions.Timeout:
                raise ServiceUnavailable(f"Plex at {self.host} did not answer {what} within "
                                         f"{self.settings.plex_timeout:g} s; check PLEX_URL") from None
            except requests.exceptions.RequestException as exc:
                raise ServiceUnavailable(f"cannot reach Plex at {self.host}: {_reason(exc)}; check PLEX_URL") from None

        return retry_call(attempt, attempts=3 if read else 1, backoff_s=0.5, max_wait_s=5, max_total_wait_s=15)

    # -- plexapi objects --------------------------------------------------------------------

    @property
    def session(self):
        if self._session is None:
            from tunecrate.core.net import requests_session

            self._session = requests_session(self._proxy, self._ca_bundle)
        return self._session

    @property
    def server(self):
        """plexapi's ``PlexServer`` (``GET /``)."""
        if self._server is None:
            from plexapi.server import PlexServer

            self._server = self.call("the server's identity", lambda: PlexServer(
                self.settings.plex_url, self.settings.plex_token, session=self.session,
                timeout=self.settings.plex_timeout))
        return self._server

    @property
    def machine(self) -> str:
        return self.server.machineIdentifier or ""

    @property
    def section(self):
        """The music section ``PLEX_MUSIC_LIBRARY`` (``GET /library``, ``GET /library/sections``)."""
        if self._section is None:
            name = self.settings.plex_music_library
            library = self.call("the library", lambda: self.server.library)
            try:
                section = self.call(f"library section {name!r}", lambda: library.section(name))
            except NotFound:
                section = None
            if section is None or section.type != "artist":
                music = [s.title for s in self.call("the library sections", library.sections) if s.type == "artist"]
                listed = ", ".join(repr(t) for t in music) or "none"
                what = "is not a music library" if section is not None else "does not exist"
                raise ConfigurationError(f"the Plex library {name!r} {what}; music libraries on this server: "
                                         f"{listed} (set PLEX_MUSIC_LIBRARY)")
            self._section = section
        return self._section

    def query(self, what: str, key: str, *, headers: dict | None = None, method: str = "get") -> Element | None:
        """The XML Plex answers to ``key`` (plexapi's ``query``); ``method`` get, post, put or delete."""
        server = self.server
        call = getattr(self.session, method)
        return self.call(what, lambda: server.query(key, method=call, headers=headers), read=method == "get")

    def pages(self, what: str, key: str, page: int, progress: Callable[[int, int], None] | None = None
              ) -> Iterator[Element]:
        """The children of ``key``'s answers, page after page (``X-Plex-Container-Start``/``-Size``)."""
        start = 0
        while True:
            data = self.query(what, key, headers={"X-Plex-Container-Start": str(start),
                                                  "X-Plex-Container-Size": str(page)})
            children = list(data) if data is not None else []
            total = _int(data.attrib.get("totalSize") if data is not None else None)
            yield from children
            start += len(children)
            if progress is not None:
                progress(start, total if total is not None else start)
            if not children or total is None or start >= total:
                return

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def _status(exc: Exception) -> int | None:
    text = str(exc)
    if text.startswith("(") and ")" in text:
        head = text[1:text.index(")")]
        return int(head) if head.isdigit() else None
    return None


def _status_text(exc: Exception) -> str:
    """``(404) not_found`` of a plexapi error, without the URL and body that follow."""
    return str(exc).split(";")[0].strip() or type(exc).__name__


def _reason(exc: Exception) -> str:
    found = re.search(r"\[Errno -?\d+\][^'\")]*", str(exc))
    return found.group(0).strip() if found else type(exc).__name__


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _track(elem: Element) -> RemoteTrack:
    """A ``<Track>`` of a listing as a :class:`RemoteTrack` (attributes read from the XML, no reload)."""
    attrs = elem.attrib
    artist = attrs.get("originalTitle") or attrs.get("grandparentTitle") or ""
    part = elem.find("Media/Part")
    return RemoteTrack(item_id=attrs.get("ratingKey", ""), title=attrs.get("title", ""),
                       artists=(artist,) if artist else (), album=attrs.get("parentTitle", ""),
                       album_artist=attrs.get("grandparentTitle", ""), duration_ms=_int(attrs.get("duration")),
                       isrc=attrs.get("isrc") or None, path=part.get("file") if part is not None else None)


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


# -- the service --------------------------------------------------------------------------------------


class PlexService:
    """Plex as a :class:`~tunecrate.core.service.PlaylistService`: playlists of audio, the music
    section's tracks matched through the cached index (:meth:`load_index`)."""

    name = "plex"
    provider = "plex"
    indexed = True
    exact = "path"

    def __init__(self, connection: _Connection, paths: PathMap, mirror_files: dict[str, Path] | None = None, *,
                 may_clear: bool = False) -> None:
        self.conn = connection
        self.paths = paths
        self.mirror_files = dict(mirror_files or {})
        self.may_clear = may_clear
        self.index = CandidateIndex(())
        self._by_id: dict[str, RemoteTrack] = {}
        self._by_path: dict[str, RemoteTrack] = {}
        self.warnings: list[str] = []

    @property
    def index_id(self) -> str:
        return f"plex:{self.conn.machine}:{self.conn.section.uuid}"

    # -- the index --------------------------------------------------------------------------

    def _listing(self, since: int | None, progress: ProgressFn | None) -> tuple[list[RemoteTrack], int]:
        key = f"/library/sections/{self.conn.section.key}/all?type=10"
        if since is not None:
            key += f"&updatedAt>>={since}"
        stage = "indexing Plex" if since is None else "Plex changes"
        tracks, newest = [], 0
        report = (lambda done, total: progress(stage, done, total)) if progress else None
        for elem in self.conn.pages("the music section's tracks", key, self.conn.settings.plex_page_size, report):
            if elem.tag == "Track" and elem.get("ratingKey"):
                tracks.append(_track(elem))
                newest = max(newest, _int(elem.get("updatedAt")) or 0)
        return tracks, newest

    def _count(self) -> int:
        data = self.conn.query("the music section's size",
                               f"/library/sections/{self.conn.section.key}/all?type=10",
                               headers={"X-Plex-Container-Start": "0", "X-Plex-Container-Size": "0"})
        return _int(data.attrib.get("totalSize") if data is not None else None) or 0

    def load_index(self, library: ServiceLibrary, progress: ProgressFn | None = None) -> None:
        """Bring the cached index up to date (see the module docstring) and load it for matching."""
        store = library.service_index(self.index_id)
        state = store.state()
        title = self.conn.section.title or ""
        rows = store.tracks() if state is not None else []
        if state is not None:
            total = self._count()
            changed, newest = self._listing(max(0, state.updated_at - 1), progress)
            known = {track.item_id for track, _, _ in rows}
            added = sum(1 for t in changed if t.item_id not in known)
            if state.count + added == total:
                fresh = [index_row(t) for t in changed]
                if fresh:
                    store.save(fresh, IndexState(total, max(newest, state.updated_at), title), replace=False)
                    by_id = {row[0].item_id: row for row in rows}
                    by_id.update((row[0].item_id, row) for row in fresh)
                    rows = list(by_id.values())
                self._use(rows)
                return
            self.warnings.append(f"{state.count + added - total} track(s) left the Plex library since the last push: "
                                 "its index was rebuilt")
        tracks, newest = self._listing(None, progress)
        rows = [index_row(t) for t in tracks]
        store.save(rows, IndexState(len(rows), newest, title), replace=True)
        self._use(rows)

    def _use(self, rows: Sequence[tuple[RemoteTrack, str, str]]) -> None:
        self.index = CandidateIndex(rows)
        self._by_id = {t.item_id: t for t, _, _ in rows}
        self._by_path = {folded_path(t.path): t for t, _, _ in rows if t.path}

    def indexed_path(self, local: Path) -> RemoteTrack | None:
        """The indexed track whose file is the local file ``local`` (through ``PLEX_PATH_MAP``)."""
        return self._by_path.get(folded_path(self.paths.to_plex(local)))

    # -- PlaylistService ----------------------------------------------------------------------

    def find_playlist(self, title: str) -> RemotePlaylist | None:
        server = self.conn.server
        found = self.conn.call("the playlists", lambda: server.playlists(playlistType="audio", title=title))
        same = [p for p in found if (p.title or "").casefold() == title.casefold()]
        same.sort(key=lambda p: (p.title != title, bool(p.smart)))
        if not same:
            return None
        playlist = same[0]
        if playlist.smart:
            raise ConfigurationError(f"the Plex playlist {title!r} is a smart playlist, which tunecrate cannot "
                                     "change; choose another name with --name")
        return RemotePlaylist(str(playlist.ratingKey), playlist.title or title,
                              self._entries(str(playlist.ratingKey), title))

    def _entries(self, playlist_id: str, title: str) -> tuple[tuple[str, RemoteTrack], ...]:
        """``(playlistItemID, track)`` of a playlist, :data:`ITEMS_PAGE` a request."""
        entries = []
        for elem in self.conn.pages(f"the items of playlist {title!r}", f"/playlists/{playlist_id}/items",
                                    ITEMS_PAGE):
            if elem.get("playlistItemID") and elem.get("ratingKey"):
                entries.append((elem.get("playlistItemID"), _track(elem)))
        return tuple(entries)

    def exact_matches(self, tracks: Sequence[TrackInfo], library: LibraryFiles) -> dict[str, RemoteTrack]:
        """Entries whose file Plex holds: :attr:`mirror_files` (track id → a file a mirror placed), the
        library's own file, and the files of every mirror folder among the folders of the section's tracks."""
        wanted = {t.track_id for t in tracks}
        found: dict[str, RemoteTrack] = {}

        def take(track_id: str, local: Path | None) -> None:
            if local is not None and track_id in wanted and track_id not in found:
                item = self.indexed_path(local)
                if item is not None:
                    found[track_id] = item

        for track_id, local in self.mirror_files.items():
            take(track_id, local)
        for track_id in wanted:
            take(track_id, library.path_of(track_id))
        for folder in self._mirror_folders():
            for name, track_id in mirrored_tracks(folder).items():
                take(track_id, folder / name)
        return found

    def _mirror_folders(self) -> list[Path]:
        """Local folders holding a ``tunecrate mirror`` among the folders of the section's files."""
        folders = {os.path.dirname(path) for path in self._by_path}
        found = []
        for folder in sorted(folders):
            local = self.paths.to_local(folder)
            if local is not None and (local / MANIFEST_NAME).is_file():
                found.append(local)
        return found

    def resolve(self, item: RemoteTrack) -> RemoteTrack | None:
        return self._by_id.get(item.item_id)

    def search(self, track: TrackInfo) -> list[RemoteTrack]:
        return self.index.candidates(track)

    def operations(self, playlist: RemotePlaylist | None, title: str, desired: Sequence[str]) -> list[Operation]:
        if playlist is None:
            if not desired:
                return []
            return [Operation("create", tuple(chunk)) if n == 0 else Operation("add", tuple(chunk))
                    for n, chunk in enumerate(_chunks(list(desired), URI_BATCH))]
        changes = order_changes([(e, t.item_id) for e, t in playlist.entries], desired)
        if self._refill(desired, changes):
            return [Operation("clear"), *(Operation("add", tuple(chunk)) for chunk in _chunks(list(desired), URI_BATCH))]
        ops = [Operation("remove", entries=(entry,)) for entry in changes.remove]
        ops += [Operation("add", tuple(chunk)) for chunk in _chunks(list(changes.add), URI_BATCH)]
        for i in changes.moves:
            ops.append(Operation("move", items=(changes.slots[i][1],),
                                 after=changes.slots[i - 1][1] if i else None))
        return ops

    def _refill(self, desired: Sequence[str], changes: OrderChanges) -> bool:
        """Whether emptying the playlist and adding ``desired`` back takes fewer write requests than the
        ``changes`` in place (ties change it in place); never unless :attr:`may_clear`."""
        if not self.may_clear or changes.unchanged:
            return False
        in_place = len(changes.remove) + len(_chunks(list(changes.add), URI_BATCH)) + len(changes.moves)
        return 1 + len(_chunks(list(desired), URI_BATCH)) < in_place

    def _uri(self, rating_keys: Sequence[str]) -> str:
        return f"server://{self.conn.machine}/com.plexapp.plugins.library/library/metadata/{','.join(rating_keys)}"

    def write(self, playlist: RemotePlaylist | None, title: str, desired: Sequence[str],
              progress: ProgressFn | None = None) -> WriteOutcome:
        from plexapi.utils import joinArgs

        query = self.conn.query
        if playlist is None:
            if not desired:
                return WriteOutcome(None)
            chunks = _chunks(list(desired), URI_BATCH)
            args = {"type": "audio", "title": title, "smart": 0, "uri": self._uri(chunks[0])}
            data = query(f"creating playlist {title!r}", "/playlists" + joinArgs(args), method="post")
            made = data.find("Playlist") if data is not None else None
            if made is None or not made.get("ratingKey"):
                raise ServiceError(f"Plex created playlist {title!r} but did not say its id")
            playlist_id = made.get("ratingKey")
            for chunk in chunks[1:]:
                query(f"adding to playlist {title!r}", f"/playlists/{playlist_id}/items" +
                      joinArgs({"uri": self._uri(chunk)}), method="put")
            return WriteOutcome(playlist_id, created=True, added=len(desired), writes=len(chunks))
        pid = playlist.playlist_id
        entries = list(playlist.entries)
        changes = order_changes([(e, t.item_id) for e, t in entries], desired)
        if self._refill(desired, changes):
            query(f"clearing playlist {title!r}", f"/playlists/{pid}/items", method="delete")
            chunks = _chunks(list(desired), URI_BATCH)
            for chunk in chunks:
                query(f"adding to playlist {title!r}", f"/playlists/{pid}/items" +
                      joinArgs({"uri": self._uri(chunk)}), method="put")
            return WriteOutcome(pid, added=len(changes.add), removed=len(changes.remove), moved=len(changes.moves),
                                writes=1 + len(chunks))
        writes = 0
        for entry_id in changes.remove:
            query(f"removing from playlist {title!r}", f"/playlists/{pid}/items/{entry_id}", method="delete")
            writes += 1
        for chunk in _chunks(list(changes.add), URI_BATCH):
            query(f"adding to playlist {title!r}", f"/playlists/{pid}/items" + joinArgs({"uri": self._uri(chunk)}),
                  method="put")
            writes += 1
        slots = [entry_id for entry_id, _ in changes.slots]
        needed = {i for i in changes.moves} | {i - 1 for i in changes.moves if i}
        if any(slots[i] is None for i in needed):
            known = {e for e, _ in entries}
            new = iter(e for e, _ in self._entries(pid, title) if e not in known)
            slots = [entry_id if entry_id is not None else next(new, None) for entry_id in slots]
        for n, i in enumerate(changes.moves):
            after = joinArgs({"after": slots[i - 1]}) if i else ""
            query(f"ordering playlist {title!r}", f"/playlists/{pid}/items/{slots[i]}/move{after}", method="put")
            writes += 1
            if progress is not None:
                progress("ordering", n + 1, len(changes.moves))
        return WriteOutcome(pid, added=len(changes.add), removed=len(changes.remove), moved=len(changes.moves),
                            writes=writes)

    # -- scans ----------------------------------------------------------------------------------

    def scan(self, folder: Path, expect: Sequence[Path], library: ServiceLibrary,
             progress: ProgressFn | None = None, *, sleep: Callable[[float], None] = time.sleep) -> list[str]:
        """Ask Plex to scan ``folder`` (a local path, mapped to Plex's) and wait until it is done and
        the files ``expect`` are indexed, or ``plex_scan_timeout`` passed; the index is refreshed.
        Returns warnings (files Plex did not index)."""
        from plexapi.utils import joinArgs

        section = self.conn.section
        plex_folder = self.paths.to_plex(folder)
        self.conn.query(f"a scan of {plex_folder}", f"/library/sections/{section.key}/refresh" +
                        joinArgs({"path": plex_folder}))
        deadline = time.monotonic() + self.conn.settings.plex_scan_timeout
        started, quiet_since = False, time.monotonic()
        while time.monotonic() < deadline:
            sleep(SCAN_POLL_S)
            self.conn.call("the section's state", section.reload)
            if section.refreshing:
                started = True
                if progress is not None:
                    progress("Plex scanning", 0, None)
                continue
            self.load_index(library)
            if all(self.indexed_path(p) is not None for p in expect) or started:
                break
            if time.monotonic() - quiet_since > SCAN_QUIET_S:
                break  # no scan ever showed, and the files are not there: Plex does not see this folder
        left = [p for p in expect if self.indexed_path(p) is None]
        if left:
            return [f"Plex did not index {len(left)} of the {len(expect)} mirrored file(s) (first: {left[0].name}); "
                    "check that the folder is inside the Plex library and PLEX_PATH_MAP"]
        return []


# -- the target ----------------------------------------------------------------------------------------


class PlexTarget:
    """Pushes one library playlist into a Plex playlist (``tunecrate push PLAYLIST --to plex``).

    Options (``from_settings(settings, **options)``): ``name`` (the Plex playlist's title; the
    playlist's own by default), ``mode`` (``"mirror"``: the Plex playlist ends equal to the source;
    ``"merge"``: only adds, for transfers), ``mirror_files`` (track id → a file a mirror placed or will
    place in a folder Plex watches), ``progress`` (a :data:`~tunecrate.core.service.ProgressFn`).
    """

    name = "plex"
    settings_model = PlexSettings
    capabilities = frozenset({"push", "transfer", "scan"})

    def __init__(self, settings: PlexSettings, *, thresholds: Thresholds, proxy: str | None = None,
                 ca_bundle: Path | None = None, title: str | None = None, mode: str = "mirror",
                 mirror_files: dict[str, Path] | None = None, progress: ProgressFn | None = None) -> None:
        self.settings = settings
        self.paths = PathMap.parse(settings.plex_path_map)
        self.thresholds = thresholds
        self.title = title
        self.mode = mode
        self.mirror_files = dict(mirror_files or {})
        self.progress = progress
        self._proxy, self._ca_bundle = proxy, ca_bundle
        self._service: PlexService | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> PlexTarget:
        return cls(settings.section(PlexSettings),
                   thresholds=Thresholds(settings.accept_threshold, settings.review_threshold),
                   proxy=settings.proxy, ca_bundle=settings.ca_bundle, title=options.get("name"),
                   mode=options.get("mode", "mirror"), mirror_files=options.get("mirror_files"),
                   progress=options.get("progress"))

    def service(self, library: ServiceLibrary | None = None) -> PlexService:
        """The connection to Plex, its index loaded when ``library`` is given (once)."""
        if self._service is None:
            self._service = PlexService(_Connection(self.settings, proxy=self._proxy, ca_bundle=self._ca_bundle),
                                        self.paths, self.mirror_files, may_clear=self.mode == "mirror")
            if library is not None:
                self._service.load_index(library, self.progress)
        return self._service

    def plan(self, lists: Sequence[TrackList], library: ServiceLibrary) -> PlaylistPlan:
        """Match the one list of ``lists`` and plan its Plex playlist (reads only; refreshes the index)."""
        (tracks,) = lists
        service = self.service(library)
        infos = {t.track_id: t for t in tracks.entries}
        pending = {}
        for track_id, local in self.mirror_files.items():
            if track_id in infos and service.indexed_path(local) is None:
                plex_path = self.paths.to_plex(local)
                info = infos[track_id]
                pending[track_id] = RemoteTrack(PENDING_PREFIX + plex_path, info.title, info.artists, info.album,
                                                duration_ms=info.duration_ms or None, path=plex_path)
        plan = plan_playlist(service, tracks, library, title=self.title or tracks.title, mode=self.mode,
                             thresholds=self.thresholds, pending_paths=pending, progress=self.progress)
        plan.warnings[:0] = service.warnings
        return plan

    def apply(self, plan: PlaylistPlan) -> PushReport:
        return plan.apply(self.progress)

    def scan(self, folder: Path, library: ServiceLibrary) -> list[str]:
        """Ask Plex to scan ``folder`` and wait for the files of :attr:`mirror_files` (see :meth:`PlexService.scan`)."""
        return self.service(library).scan(folder, list(self.mirror_files.values()), library, self.progress)

    def close(self) -> None:
        if self._service is not None:
            self._service.conn.close()


# -- the source ----------------------------------------------------------------------------------------


def plex_reference(title: str) -> Reference:
    """The reference of the Plex playlist called ``title`` (``plex:<title>`` in a transfer)."""
    digest = hashlib.sha1(title.encode("utf-8")).hexdigest()[:16]
    return Reference("playlist", f"plex-{digest}", "plex", title)


class PlexSource:
    """The ``plex`` :class:`~tunecrate.sources.base.Source`: a Plex playlist (by title) as a track list.

    Track ids are ``plex-<first 8 characters of the server's machineIdentifier>-<ratingKey>``; the
    list's id is :func:`plex_reference`'s, its snapshot a digest of the items in order. Requests:
    ``GET /``, ``GET /playlists?playlistType=audio&title=…`` and the items, :data:`ITEMS_PAGE` a page.
    """

    name = "plex"
    settings_model = PlexSettings

    def __init__(self, settings: PlexSettings, *, proxy: str | None = None, ca_bundle: Path | None = None) -> None:
        self.settings = settings
        self._proxy, self._ca_bundle = proxy, ca_bundle
        self._conn: _Connection | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> PlexSource:
        return cls(settings.section(PlexSettings), proxy=settings.proxy, ca_bundle=settings.ca_bundle)

    def suitable(self, ref: Reference) -> bool:
        return ref.service == "plex" and ref.kind == "playlist"

    def _service(self) -> PlexService:
        if self._conn is None:
            self._conn = _Connection(self.settings, proxy=self._proxy, ca_bundle=self._ca_bundle)
        return PlexService(self._conn, PathMap.parse(self.settings.plex_path_map))

    def fetch(self, ref: Reference) -> TrackList:
        playlist = self._service().find_playlist(ref.text)
        if playlist is None:
            raise NotFound(f"Plex has no audio playlist called {ref.text!r}")
        machine = self._conn.machine[:8] or "server"
        entries = tuple(t.info(f"plex-{machine}-{t.item_id}") for _, t in playlist.entries)
        snapshot = hashlib.sha1(",".join(playlist.item_ids).encode()).hexdigest()
        return TrackList(kind="playlist", id=ref.id, title=playlist.title, entries=entries, snapshot=snapshot,
                         source=self.name)

    def snapshot(self, ref: Reference) -> str | None:
        try:
            return self.fetch(ref).snapshot
        except TunecrateError:
            return None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
