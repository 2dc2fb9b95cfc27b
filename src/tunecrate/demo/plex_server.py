"""A loopback stand-in for a Plex Media Server's music library and playlists.

It answers the XML that python-plexapi reads, so that tunecrate's ``plex`` target and source run
against it unchanged: point ``PLEX_URL`` at :attr:`FakePlex.base_url` and ``PLEX_TOKEN`` at
:attr:`FakePlex.token`. ``tunecrate demo --plex`` ships this happy path; the tests' subclass adds a
request log and faults (``tests/standins/plex.py``).

::

    with FakePlex() as plex:
        music = plex.add_section("Music", "/data/music", folder=tmp / "plex-music")
        plex.add_track(music, "Song", "Artist", "Album", 180_000, "/data/music/Artist/Album/01 Song.mp3")

Routes (every one needs the token, as the ``X-Plex-Token`` header or query parameter; 401 without):

- ``GET /``: the server (``machineIdentifier``, ``friendlyName``, ``version``);
- ``GET /library``, ``GET /library/sections``: the sections as ``<Directory key type="artist" title
  uuid refreshing>`` with their ``<Location path>``;
- ``GET /library/sections/{key}/all?type=10``: the section's tracks, paged by
  ``X-Plex-Container-Start``/``-Size`` (headers or query parameters; ``size``, ``totalSize`` and
  ``offset`` on the container), filtered by ``updatedAt>>=<epoch>`` (strictly after). A ``<Track>``
  has ``ratingKey``, ``key``, ``type``, ``title``, ``parentTitle``, ``grandparentTitle``,
  ``originalTitle`` (compilations only), ``duration``, ``addedAt``, ``updatedAt`` and
  ``<Media><Part file>``;
- ``GET /library/sections/{key}/refresh[?path=]``: a scan in the background (``refreshing="1"``
  meanwhile) of the section's ``folder`` on disk, which stands for its Plex location: each new audio
  file becomes a track, from its tags (mutagen);
- ``GET /library/metadata/{ratingKey}``: one track (plexapi's reload of a partial object);
- ``GET /playlists?playlistType=audio&title=``: playlists whose title contains ``title`` (any case),
  ``GET /playlists/{id}``, ``GET /playlists/{id}/items`` (paged; each ``<Track>`` with its
  ``playlistItemID``);
- ``POST /playlists?type=audio&title=&smart=0&uri=server://{machine}/com.plexapp.plugins.library/library/metadata/{rk,…}``,
  ``PUT /playlists/{id}/items?uri=…`` (append), ``DELETE /playlists/{id}/items/{playlistItemID}``,
  ``DELETE /playlists/{id}/items`` (clear a playlist that is not smart, keeping it),
  ``PUT /playlists/{id}/items/{playlistItemID}/move[?after=playlistItemID]``, ``DELETE /playlists/{id}``.

Times are a logical clock (epoch seconds that advance by one with every change), so that
``updatedAt`` orders changes exactly.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.etree.ElementTree import Element, SubElement, tostring

from tunecrate.demo._http import LoopbackServer, quiet_handler, send_body

__all__ = ["FakePlex", "PlexPlaylist", "PlexSection", "PlexTrack"]

_AUDIO = (".mp3", ".flac", ".m4a", ".ogg", ".opus")
_URI = re.compile(r"^server://(?P<machine>[^/]+)/com\.plexapp\.plugins\.library/library/metadata/(?P<keys>[\d,]+)$")
_Response = tuple[int, dict[str, str], bytes]


@dataclass
class PlexTrack:
    """A track of a section: ``artist`` is the track's own, ``album_artist`` the album's (they differ
    on compilations, where Plex sends the track's artist as ``originalTitle``)."""

    rating_key: int
    section: int
    title: str
    artist: str
    album: str
    duration_ms: int
    file: str
    album_artist: str
    added_at: int
    updated_at: int


@dataclass
class PlexSection:
    """A music section: its ``location`` as Plex sees it, and the ``folder`` on disk a scan reads."""

    key: int
    title: str
    location: str
    folder: Path | None
    uuid: str
    kind: str = "artist"
    refreshing: bool = False


@dataclass
class PlexPlaylist:
    """A playlist: ``items`` are ``(playlistItemID, ratingKey)`` in order."""

    rating_key: int
    title: str
    items: list[tuple[int, int]] = field(default_factory=list)
    smart: bool = False
    added_at: int = 0
    updated_at: int = 0


class FakePlex(LoopbackServer):
    """Threaded HTTP server on ``host`` (loopback) holding sections, tracks and playlists in memory.

    ``token`` is the only ``X-Plex-Token`` it accepts. ``scan_delay_s`` is how long a scan keeps a
    section ``refreshing``. All public methods are thread-safe.
    """

    _thread_name = "fake-plex"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, token: str = "tunecrate-demo-plex-token",
                 machine: str | None = None, scan_delay_s: float = 0.3) -> None:
        self.token = token
        self.machine = machine or hashlib.sha1(b"tunecrate-demo-plex").hexdigest()
        self.scan_delay_s = scan_delay_s
        self._lock = threading.RLock()
        self._clock = 1_700_000_000
        self._next_key = 1000
        self._next_item = 1
        self.sections: dict[int, PlexSection] = {}
        self.tracks: dict[int, PlexTrack] = {}
        self.playlists: dict[int, PlexPlaylist] = {}
        self._order: list[PlexTrack] = []
        self._order_key: tuple | None = None
        self._bind(host, port, quiet_handler(**dict.fromkeys(("GET", "POST", "PUT", "DELETE"), self._serve)))

    # -- the catalogue ------------------------------------------------------------------

    def _tick(self) -> int:
        self._clock += 1
        return self._clock

    def add_section(self, title: str, location: str, *, folder: Path | None = None, kind: str = "artist") -> int:
        """Add a section (``kind`` ``"artist"`` for music) whose Plex location is ``location``, read from
        ``folder`` by scans; returns its key."""
        with self._lock:
            key = len(self.sections) + 1
            self.sections[key] = PlexSection(key, title, location.rstrip("/"), Path(folder) if folder else None,
                                             str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.machine}/{key}")), kind)
            return key

    def add_track(self, section: int, title: str, artist: str, album: str, duration_ms: int, file: str, *,
                  album_artist: str | None = None) -> int:
        """Add a track to ``section`` (its file ``file`` as Plex sees it); returns its ratingKey."""
        with self._lock:
            self._next_key += 1
            now = self._tick()
            self.tracks[self._next_key] = PlexTrack(self._next_key, section, title, artist, album, duration_ms, file,
                                                    album_artist or artist, now, now)
            return self._next_key

    def update_track(self, rating_key: int, **changes: Any) -> None:
        """Change a track's fields (``title``, ``artist``, …); its ``updatedAt`` moves on."""
        with self._lock:
            track = self.tracks[rating_key]
            for name, value in changes.items():
                setattr(track, name, value)
            track.updated_at = self._tick()

    def remove_track(self, rating_key: int) -> None:
        """Remove a track from its section and from every playlist (as emptying Plex's trash does)."""
        with self._lock:
            del self.tracks[rating_key]
            self._tick()
            for playlist in self.playlists.values():
                playlist.items = [(i, rk) for i, rk in playlist.items if rk != rating_key]

    def playlist_titles(self) -> dict[str, list[tuple[str, str]]]:
        """Each playlist's title → its items as ``(artist, title)``, in order."""
        with self._lock:
            return {p.title: [(self.tracks[rk].artist, self.tracks[rk].title) for _, rk in p.items]
                    for p in self.playlists.values()}

    def playlist_keys(self, title: str) -> list[int]:
        """The ratingKeys of the playlist called ``title``, in order."""
        with self._lock:
            playlist = next(p for p in self.playlists.values() if p.title == title)
            return [rk for _, rk in playlist.items]

    # -- scans --------------------------------------------------------------------------

    def _scan(self, section: PlexSection, path: str | None) -> None:
        time.sleep(self.scan_delay_s)
        try:
            if section.folder is not None and section.folder.is_dir():
                with self._lock:
                    known = {t.file for t in self.tracks.values() if t.section == section.key}
                root = section.folder
                start = root
                if path and path.startswith(section.location):
                    start = root / path[len(section.location):].lstrip("/")
                for file in sorted(start.rglob("*")) if start.is_dir() else []:
                    if file.suffix.lower() not in _AUDIO or file.name.startswith("."):
                        continue
                    plex_path = section.location + "/" + file.relative_to(root).as_posix()
                    if plex_path in known:
                        continue
                    title, artist, album, album_artist, duration_ms = _read_tags(file)
                    self.add_track(section.key, title, artist, album, duration_ms, plex_path,
                                   album_artist=album_artist)
        finally:
            with self._lock:
                section.refreshing = False

    # -- HTTP -----------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        path = unquote(split.path).rstrip("/") or "/"
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in handler.headers.items()}
        length = int(headers.get("content-length") or 0)
        if length:
            handler.rfile.read(length)
        status, out, body = self._answer(handler.command, path, query, headers)
        send_body(handler, status, body, out)

    def _answer(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> _Response:
        """The answer to one request (``headers`` lower-cased)."""
        if (headers.get("x-plex-token") or query.get("X-Plex-Token")) != self.token:
            return 401, {"Content-Type": "text/html"}, (b"<html><head><title>Unauthorized</title></head>"
                                                        b"<body><h1>401 Unauthorized</h1></body></html>")
        with self._lock:
            return self._route(method, path, query, headers)

    def _route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> _Response:
        parts = path.strip("/").split("/") if path != "/" else []
        match (method, parts):
            case ("GET", []):
                return _xml(Element("MediaContainer", size="0", friendlyName="tunecrate demo Plex",
                                    machineIdentifier=self.machine, version="1.41.3.9314", platform="Linux",
                                    myPlex="0", allowSync="0", transcoderAudio="1"))
            case ("GET", ["library"]):
                root = Element("MediaContainer", size="1", allowSync="0", identifier="com.plexapp.plugins.library",
                               mediaTagPrefix="/system/bundle/media/flags/", mediaTagVersion="1", title1="Plex Library",
                               title2="")
                SubElement(root, "Directory", key="sections", title="Library Sections")
                return _xml(root)
            case ("GET", ["library", "sections"]):
                return _xml(self._sections())
            case ("GET", ["library", "sections", key, "all"]):
                return self._all(key, query, headers)
            case ("GET", ["library", "sections", key, "refresh"]):
                section = self.sections.get(_num(key))
                if section is None:
                    return _status(404)
                if not section.refreshing:
                    section.refreshing = True
                    threading.Thread(target=self._scan, args=(section, query.get("path")), daemon=True).start()
                return 200, {}, b""
            case ("GET", ["library", "metadata", key]):
                track = self.tracks.get(_num(key))
                if track is None:
                    return _status(404)
                root = Element("MediaContainer", size="1")
                root.append(self._track(track))
                return _xml(root)
            case ("GET", ["playlists"]):
                return self._playlists(query)
            case ("POST", ["playlists"]):
                return self._create(query)
            case ("GET", ["playlists", key]):
                playlist = self.playlists.get(_num(key))
                if playlist is None:
                    return _status(404)
                root = Element("MediaContainer", size="1")
                root.append(self._playlist(playlist))
                return _xml(root)
            case ("DELETE", ["playlists", key]):
                return (200, {}, b"") if self.playlists.pop(_num(key), None) else _status(404)
            case ("GET", ["playlists", key, "items"]):
                return self._items(key, query, headers)
            case ("PUT", ["playlists", key, "items"]):
                return self._add(key, query)
            case ("DELETE", ["playlists", key, "items"]):
                return self._clear(key)
            case ("DELETE", ["playlists", key, "items", item]):
                return self._remove(key, item)
            case ("PUT", ["playlists", key, "items", item, "move"]):
                return self._move(key, item, query)
        return _status(404)

    # -- answers --------------------------------------------------------------------------

    def _sections(self) -> Element:
        root = Element("MediaContainer", size=str(len(self.sections)), allowSync="0", title1="Plex Library")
        for s in self.sections.values():
            directory = SubElement(root, "Directory", allowSync="1", key=str(s.key), type=s.kind, title=s.title,
                                   agent="tv.plex.agents.music", scanner="Plex Music", language="en-US",
                                   uuid=s.uuid, refreshing="1" if s.refreshing else "0", updatedAt=str(self._clock),
                                   createdAt="1700000000", scannedAt=str(self._clock), content="1", directory="1",
                                   contentChangedAt=str(self._clock), hidden="0")
            SubElement(directory, "Location", id=str(s.key), path=s.location)
        return root

    def _track(self, t: PlexTrack, item_id: int | None = None) -> Element:
        section = self.sections[t.section]
        artist_key = 100 + int(hashlib.sha1(t.album_artist.encode()).hexdigest()[:6], 16)
        album_key = 200 + int(hashlib.sha1((t.album_artist + "/" + t.album).encode()).hexdigest()[:6], 16)
        attrs = {"ratingKey": str(t.rating_key), "key": f"/library/metadata/{t.rating_key}",
                 "parentRatingKey": str(album_key), "grandparentRatingKey": str(artist_key),
                 "guid": f"plex://track/{t.rating_key:024x}", "type": "track", "title": t.title,
                 "grandparentKey": f"/library/metadata/{artist_key}", "parentKey": f"/library/metadata/{album_key}",
                 "librarySectionTitle": section.title, "librarySectionID": str(section.key),
                 "librarySectionKey": f"/library/sections/{section.key}", "grandparentTitle": t.album_artist,
                 "parentTitle": t.album, "index": "1", "parentIndex": "1", "duration": str(t.duration_ms),
                 "addedAt": str(t.added_at), "updatedAt": str(t.updated_at)}
        if t.artist != t.album_artist:
            attrs["originalTitle"] = t.artist
        if item_id is not None:
            attrs["playlistItemID"] = str(item_id)
        track = Element("Track", attrs)
        media = SubElement(track, "Media", id=str(t.rating_key), duration=str(t.duration_ms), bitrate="245",
                           audioChannels="2", audioCodec="mp3", container="mp3")
        SubElement(media, "Part", id=str(t.rating_key), key=f"/library/parts/{t.rating_key}/file.mp3",
                   duration=str(t.duration_ms), file=t.file, size="1000000", container="mp3")
        return track

    def _playlist(self, p: PlexPlaylist) -> Element:
        duration = sum(self.tracks[rk].duration_ms for _, rk in p.items if rk in self.tracks)
        return Element("Playlist", ratingKey=str(p.rating_key), key=f"/playlists/{p.rating_key}/items",
                       guid=f"com.plexapp.agents.none://{uuid.uuid5(uuid.NAMESPACE_URL, str(p.rating_key))}",
                       type="playlist", title=p.title, summary="", smart="1" if p.smart else "0",
                       playlistType="audio", composite=f"/playlists/{p.rating_key}/composite/{p.updated_at}",
                       leafCount=str(len(p.items)), duration=str(duration), addedAt=str(p.added_at),
                       updatedAt=str(p.updated_at))

    def _page(self, container: Element, items: list, build, query: dict[str, str],
              headers: dict[str, str]) -> _Response:
        """One page of ``items`` (``X-Plex-Container-Start``/``-Size``), each made an element by ``build``."""
        start = _num(headers.get("x-plex-container-start") or query.get("X-Plex-Container-Start") or "0")
        size_text = headers.get("x-plex-container-size") or query.get("X-Plex-Container-Size")
        size = len(items) if size_text is None else _num(size_text)
        if start is None or size is None or start < 0 or size < 0:
            return _status(400)
        page = items[start:start + size]
        container.set("size", str(len(page)))
        container.set("totalSize", str(len(items)))
        container.set("offset", str(start))
        container.extend(build(item) for item in page)
        return _xml(container)

    def _listing(self, section: PlexSection) -> list[PlexTrack]:
        """The section's tracks in listing order (by album artist, album), kept until the next change."""
        key = (section.key, self._clock, len(self.tracks))
        if self._order_key != key:
            self._order = sorted((t for t in self.tracks.values() if t.section == section.key),
                                 key=lambda t: (t.album_artist.casefold(), t.album.casefold(), t.rating_key))
            self._order_key = key
        return self._order

    def _all(self, key: str, query: dict[str, str], headers: dict[str, str]) -> _Response:
        section = self.sections.get(_num(key))
        if section is None:
            return _status(404)
        if query.get("type") != "10":
            return _status(400)
        tracks = self._listing(section)
        since = query.get("updatedAt>>")
        if since is not None:
            threshold = _num(since)
            if threshold is None:
                return _status(400)
            tracks = [t for t in tracks if t.updated_at > threshold]
        container = Element("MediaContainer", allowSync="1", identifier="com.plexapp.plugins.library",
                            librarySectionID=str(section.key), librarySectionTitle=section.title,
                            librarySectionUUID=section.uuid, mediaTagPrefix="/system/bundle/media/flags/",
                            title1=section.title, title2="All Tracks", viewGroup="track")
        return self._page(container, tracks, self._track, query, headers)

    def _playlists(self, query: dict[str, str]) -> _Response:
        found = [p for p in self.playlists.values()
                 if query.get("playlistType", "audio") == "audio"
                 and query.get("title", "").casefold() in p.title.casefold()]
        root = Element("MediaContainer", size=str(len(found)))
        for p in found:
            root.append(self._playlist(p))
        return _xml(root)

    def _keys(self, uri: str | None) -> list[int] | None:
        m = _URI.match(uri or "")
        if not m or m.group("machine") != self.machine:
            return None
        keys = [int(k) for k in m.group("keys").split(",") if k]
        return keys if keys and all(k in self.tracks for k in keys) else None

    def _create(self, query: dict[str, str]) -> _Response:
        keys = self._keys(query.get("uri"))
        if query.get("type") != "audio" or query.get("smart") != "0" or not query.get("title") or keys is None:
            return _status(400)
        self._next_key += 1
        now = self._tick()
        playlist = PlexPlaylist(self._next_key, query["title"], added_at=now, updated_at=now)
        for rk in keys:
            playlist.items.append((self._next_item, rk))
            self._next_item += 1
        self.playlists[playlist.rating_key] = playlist
        root = Element("MediaContainer", size="1")
        root.append(self._playlist(playlist))
        return _xml(root)

    def _items(self, key: str, query: dict[str, str], headers: dict[str, str]) -> _Response:
        playlist = self.playlists.get(_num(key))
        if playlist is None:
            return _status(404)
        container = Element("MediaContainer", composite=f"/playlists/{playlist.rating_key}/composite/1",
                            duration="0", leafCount=str(len(playlist.items)), playlistType="audio",
                            ratingKey=str(playlist.rating_key), smart="0", title=playlist.title)
        return self._page(container, playlist.items, lambda entry: self._track(self.tracks[entry[1]], entry[0]),
                          query, headers)

    def _add(self, key: str, query: dict[str, str]) -> _Response:
        playlist = self.playlists.get(_num(key))
        keys = self._keys(query.get("uri"))
        if playlist is None:
            return _status(404)
        if keys is None or playlist.smart:
            return _status(400)
        for rk in keys:
            playlist.items.append((self._next_item, rk))
            self._next_item += 1
        playlist.updated_at = self._tick()
        root = Element("MediaContainer", leafCountAdded=str(len(keys)), leafCountRequested=str(len(keys)), size="1")
        root.append(self._playlist(playlist))
        return _xml(root)

    def _remove(self, key: str, item: str) -> _Response:
        playlist = self.playlists.get(_num(key))
        item_id = _num(item)
        if playlist is None or all(i != item_id for i, _ in playlist.items):
            return _status(404)
        playlist.items = [(i, rk) for i, rk in playlist.items if i != item_id]
        playlist.updated_at = self._tick()
        root = Element("MediaContainer", size="1")
        root.append(self._playlist(playlist))
        return _xml(root)

    def _clear(self, key: str) -> _Response:
        playlist = self.playlists.get(_num(key))
        if playlist is None:
            return _status(404)
        if playlist.smart:
            return _status(400)
        playlist.items = []
        playlist.updated_at = self._tick()
        root = Element("MediaContainer", size="1")
        root.append(self._playlist(playlist))
        return _xml(root)

    def _move(self, key: str, item: str, query: dict[str, str]) -> _Response:
        playlist = self.playlists.get(_num(key))
        item_id, after = _num(item), query.get("after")
        if playlist is None:
            return _status(404)
        moving = next((entry for entry in playlist.items if entry[0] == item_id), None)
        if moving is None:
            return _status(404)
        rest = [entry for entry in playlist.items if entry[0] != item_id]
        if after is None:
            rest.insert(0, moving)
        else:
            at = next((n for n, (i, _) in enumerate(rest) if i == _num(after)), None)
            if at is None:
                return _status(404)
            rest.insert(at + 1, moving)
        playlist.items = rest
        playlist.updated_at = self._tick()
        return self._items(key, {}, {})


def _read_tags(path: Path) -> tuple[str, str, str, str, int]:
    """``(title, artist, album, album artist, duration ms)`` of an audio file, as a scanner reads them."""
    import mutagen

    audio = mutagen.File(path, easy=True)
    tags = (audio.tags if audio is not None else None) or {}

    def first(key: str) -> str:
        values = tags.get(key) or []
        return str(values[0]) if values else ""

    artist = first("artist") or "Unknown Artist"
    duration = round(audio.info.length * 1000) if audio is not None and audio.info else 0
    return first("title") or path.stem, artist, first("album") or "Unknown Album", first("albumartist") or artist, \
        duration


def _num(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _xml(root: Element) -> _Response:
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="utf-8")
    return 200, {"Content-Type": "text/xml;charset=utf-8"}, body


def _status(code: int) -> _Response:
    reason = {400: "Bad Request", 404: "Not Found"}.get(code, "Error")
    return code, {"Content-Type": "text/html"}, f"<html><head><title>{reason}</title></head></html>".encode()
