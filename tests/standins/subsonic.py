"""A loopback Subsonic server (as Navidrome answers the API), with a request log.

``GET|POST /rest/{method}[.view]`` with ``u``, ``t`` = md5(password + ``s``), ``s``, ``v``, ``c`` and
``f=json``; answers ``{"subsonic-response": {"status", "version", "type", "serverVersion",
"openSubsonic", …}}``, errors as ``status: "failed"`` with ``error: {code, message}`` (40 wrong
credentials, 10 a missing parameter, 70 not found). Methods: ``ping``, ``search3`` (every word of
``query`` in the song's title, artist or album, case and accents folded; ``songCount``/``songOffset``),
``getPlaylists``, ``getPlaylist``, ``createPlaylist`` (``name`` or ``playlistId``, which replaces the
songs), ``updatePlaylist`` (``songIndexToRemove`` then ``songIdToAdd``), ``deletePlaylist``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import unicodedata
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlsplit

from tunecrate.demo._http import LoopbackServer, quiet_handler, send_body


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


@dataclass(frozen=True)
class SubsonicRequest:
    """One request: the HTTP ``method``, the API ``name`` (``search3``) and its parameters (repeats kept)."""

    method: str
    name: str
    params: tuple[tuple[str, str], ...]

    def get(self, key: str) -> str | None:
        return next((v for k, v in self.params if k == key), None)

    def all(self, key: str) -> list[str]:
        return [v for k, v in self.params if k == key]


@dataclass
class _Playlist:
    id: str
    name: str
    songs: list[str] = field(default_factory=list)


class FakeSubsonic(LoopbackServer):
    """Threaded Subsonic server on loopback with songs and playlists in memory (thread-safe)."""

    _thread_name = "fake-subsonic"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, user: str = "demo",
                 password: str = "sesame") -> None:
        self.user, self.password = user, password
        self.songs: dict[str, dict] = {}
        self.playlists: dict[str, _Playlist] = {}
        self._lock = threading.Lock()
        self._log: list[SubsonicRequest] = []
        self._bind(host, port, quiet_handler(GET=self._serve, POST=self._serve))

    # -- the catalogue --------------------------------------------------------------------

    def add_song(self, title: str, artist: str, album: str, seconds: int, *, isrc: str | None = None) -> str:
        """Add a song; returns its id (22 random characters, as Navidrome's)."""
        with self._lock:
            song_id = secrets.token_hex(11)
            song = {"id": song_id, "parent": hashlib.md5(album.encode()).hexdigest()[:22], "isDir": False,
                    "title": title, "album": album, "artist": artist, "track": 1, "year": 2020, "size": 1000000,
                    "contentType": "audio/mpeg", "suffix": "mp3", "duration": seconds, "bitRate": 245,
                    "path": f"{artist}/{album}/{title}.mp3", "type": "music", "mediaType": "song",
                    "albumId": hashlib.md5(album.encode()).hexdigest()[:22],
                    "artistId": hashlib.md5(artist.encode()).hexdigest()[:22]}
            if isrc:
                song["isrc"] = [isrc]
            self.songs[song_id] = song
            return song_id

    def playlist_songs(self, name: str) -> list[tuple[str, str]]:
        """``(artist, title)`` of the playlist called ``name``, in order."""
        with self._lock:
            playlist = next(p for p in self.playlists.values() if p.name == name)
            return [(self.songs[s]["artist"], self.songs[s]["title"]) for s in playlist.songs]

    @property
    def requests(self) -> list[SubsonicRequest]:
        with self._lock:
            return list(self._log)

    def requests_to(self, name: str) -> list[SubsonicRequest]:
        return [r for r in self.requests if r.name == name]

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    # -- HTTP ---------------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        params = parse_qsl(split.query, keep_blank_values=True)
        length = int(handler.headers.get("Content-Length") or 0)
        if handler.command == "POST" and length:
            params += parse_qsl(handler.rfile.read(length).decode("utf-8"), keep_blank_values=True)
        name = split.path.rsplit("/", 1)[-1].removesuffix(".view")
        with self._lock:
            self._log.append(SubsonicRequest(handler.command, name, tuple(params)))
            if not split.path.startswith("/rest/"):
                status, body = 404, b"404 page not found"
            else:
                status, body = 200, json.dumps({"subsonic-response": self._answer(name, params)}).encode()
        send_body(handler, status, body, {"Content-Type": "application/json" if status == 200 else "text/plain"})

    def _answer(self, name: str, params: list[tuple[str, str]]) -> dict:
        first = {k: v for k, v in reversed(params)}
        many = lambda key: [v for k, v in params if k == key]  # noqa: E731
        salt, token = first.get("s", ""), first.get("t", "")
        if first.get("u") != self.user or token != hashlib.md5((self.password + salt).encode()).hexdigest():
            return _failed(40, "Wrong username or password")
        if first.get("f") != "json":
            return _failed(0, "this stand-in answers JSON only")
        if name == "ping":
            return _ok({})
        if name == "search3":
            words = _fold(first.get("query", "")).replace('"', " ").split()
            found = [s for s in self.songs.values()
                     if all(w in _fold(f"{s['title']} {s['artist']} {s['album']}") for w in words)]
            offset, count = int(first.get("songOffset", 0)), int(first.get("songCount", 20))
            return _ok({"searchResult3": {"song": found[offset:offset + count]}})
        if name == "getPlaylists":
            return _ok({"playlists": {"playlist": [self._summary(p) for p in self.playlists.values()]}})
        if name == "getPlaylist":
            playlist = self.playlists.get(first.get("id", ""))
            if playlist is None:
                return _failed(70, "Playlist not found")
            return _ok({"playlist": {**self._summary(playlist), "entry": [self.songs[s] for s in playlist.songs]}})
        if name == "createPlaylist":
            songs = many("songId")
            if any(s not in self.songs for s in songs):
                return _failed(70, "Song not found")
            if "playlistId" in first:
                playlist = self.playlists.get(first["playlistId"])
                if playlist is None:
                    return _failed(70, "Playlist not found")
                playlist.songs = songs
            elif first.get("name"):
                playlist = _Playlist(secrets.token_hex(11), first["name"], songs)
                self.playlists[playlist.id] = playlist
            else:
                return _failed(10, "Required parameter is missing: name")
            return _ok({"playlist": {**self._summary(playlist), "entry": [self.songs[s] for s in playlist.songs]}})
        if name == "updatePlaylist":
            playlist = self.playlists.get(first.get("playlistId", ""))
            if playlist is None:
                return _failed(70, "Playlist not found")
            remove = {int(i) for i in many("songIndexToRemove")}
            add = many("songIdToAdd")
            if any(i >= len(playlist.songs) for i in remove) or any(s not in self.songs for s in add):
                return _failed(70, "Song not found")
            playlist.songs = [s for i, s in enumerate(playlist.songs) if i not in remove] + add
            return _ok({})
        if name == "deletePlaylist":
            return _ok({}) if self.playlists.pop(first.get("id", ""), None) else _failed(70, "Playlist not found")
        return _failed(0, f"unknown method {name}")

    def _summary(self, p: _Playlist) -> dict:
        return {"id": p.id, "name": p.name, "owner": self.user, "public": False, "songCount": len(p.songs),
                "duration": sum(self.songs[s]["duration"] for s in p.songs), "created": "2026-01-01T00:00:00Z",
                "changed": "2026-01-01T00:00:00Z"}


def _envelope(status: str) -> dict:
    return {"status": status, "version": "1.16.1", "type": "navidrome", "serverVersion": "0.55.0",
            "openSubsonic": True}


def _ok(body: dict) -> dict:
    return {**_envelope("ok"), **body}


def _failed(code: int, message: str) -> dict:
    return {**_envelope("failed"), "error": {"code": code, "message": message}}
