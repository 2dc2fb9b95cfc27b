"""A loopback stand-in for the Spotify Web API and accounts service.

It speaks Spotify's wire format (JSON objects, paging objects with absolute
``next`` URLs on its own host, ``{"error": {"status", "message"}}`` bodies)
so that tunecrate's real Spotify source, built on spotipy, runs against it
unchanged: point ``TUNECRATE_SPOTIFY_API_URL`` at :attr:`FakeSpotify.api_url`
and ``TUNECRATE_SPOTIFY_ACCOUNTS_URL`` at :attr:`FakeSpotify.accounts_url`.
``tunecrate demo`` ships this happy path; the tests' subclass adds fault
injection and a request log (``tests/standins``).

::

    with FakeSpotify() as fake:
        album = make_album(fake_id("album"), "Album", ["Artist"], total_tracks=2)
        songs = [make_track(fake_id(f"t{n}"), f"Song {n}", ["Artist"], album,
                            track_number=n, isrc=f"USXXX2400{n:03d}") for n in (1, 2)]
        fake.add_album(album, songs)
        fake.add_playlist(fake_id("pl"), "Mix", [songs[0], None, songs[1]])

Endpoints (paths below ``/v1`` need ``Authorization: Bearer <token>``):

- ``POST /api/token``: ``client_credentials`` (HTTP Basic or form credentials),
  ``authorization_code`` with a PKCE ``code_verifier``, ``refresh_token``.
  Bad credentials give 400 ``{"error": "invalid_client", ...}``.
- ``GET /authorize``: approves at once and redirects (302) to ``redirect_uri``
  with ``code`` and ``state``, as if the user had clicked "Agree".
- ``GET /v1/tracks/{id}``, ``GET /v1/albums/{id}`` (tracks embedded, 50 at most),
  ``GET /v1/albums/{id}/tracks`` (simplified tracks).
- ``GET /v1/playlists/{id}``: metadata and, unless ``embedded_page_size`` is 0,
  a first page of that many entries under ``page_key``. ``fields`` is honoured
  for top-level names (``fields=snapshot_id`` returns only the snapshot id).
- ``GET /v1/playlists/{id}/items``: entries ``{"added_at", "is_local", <item_key>}``.
  Playlists added with ``private_to_other=True`` answer 403, as Spotify does for
  development-mode apps reading a playlist the user neither owns nor collaborates on.
- ``GET /v1/me/tracks``: the saved tracks; needs a user token (401 otherwise,
  403 when its scope lacks ``user-library-read``).
- Batch lookups (``GET /v1/tracks?ids=``, ``/albums?ids=``, ``/artists?ids=``)
  answer 403: development-mode apps lost them in February 2026.

Paged endpoints take ``limit`` (default 20, at most 50, else 400) and
``offset``. ``item_key`` (``"track"`` or ``"item"``) and ``page_key``
(``"tracks"`` or ``"items"``) choose which of the two reported 2026 shapes the
playlist endpoints emit. ``additional_types`` and ``market`` are accepted and
ignored.

Catalogue objects are plain Spotify JSON dicts built with :func:`make_track`,
:func:`make_album`, :func:`make_episode`, :func:`make_local_track`; a playlist
entry is such an object or ``None`` (an entry whose track is ``null``). An
unavailable track is a track object whose ``id`` is ``None`` or that has no
``name``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from tunecrate.demo._http import LoopbackServer, quiet_handler, send_body

__all__ = [
    "FakeSpotify",
    "fake_id",
    "make_album",
    "make_artist",
    "make_episode",
    "make_images",
    "make_local_track",
    "make_track",
]

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_MAX_LIMIT = 50
_DEFAULT_LIMIT = 20


# -- building catalogue objects ---------------------------------------------------------


def fake_id(seed: str) -> str:
    """A deterministic 22-character base62 id derived from ``seed``."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    chars = []
    for _ in range(22):
        number, digit = divmod(number, 62)
        chars.append(_BASE62[digit])
    return "".join(chars)


def make_images(seed: str, base_url: str = "https://i.scdn.co/image/") -> list[dict]:
    """Three image objects (640, 300 and 64 px squares, largest first) as Spotify lists them.

    ``base_url`` lets the demo point covers at a loopback media host.
    """
    key = hashlib.sha1(seed.encode()).hexdigest()
    return [{"url": f"{base_url}{key}-{size}", "width": size, "height": size} for size in (640, 300, 64)]


def make_artist(name: str) -> dict:
    """A simplified artist object whose id is derived from ``name``."""
    artist_id = fake_id("artist:" + name)
    return {
        "external_urls": {"spotify": f"https://open.spotify.com/artist/{artist_id}"},
        "href": f"https://api.spotify.com/v1/artists/{artist_id}",
        "id": artist_id,
        "name": name,
        "type": "artist",
        "uri": f"spotify:artist:{artist_id}",
    }


def make_album(
    album_id: str,
    name: str,
    artists: list[str],
    *,
    release_date: str = "2020-01-01",
    total_tracks: int = 10,
    images: list[dict] | None = None,
    album_type: str = "album",
) -> dict:
    """A simplified album object, as embedded in a track.

    ``release_date`` is ``"YYYY"``, ``"YYYY-MM"`` or ``"YYYY-MM-DD"`` (the
    precision is derived from it). ``images`` defaults to :func:`make_images`.
    """
    precision = {4: "year", 7: "month"}.get(len(release_date), "day")
    return {
        "album_type": album_type,
        "artists": [make_artist(a) for a in artists],
        "available_markets": ["US", "GB", "DE"],
        "external_urls": {"spotify": f"https://open.spotify.com/album/{album_id}"},
        "href": f"https://api.spotify.com/v1/albums/{album_id}",
        "id": album_id,
        "images": make_images(album_id) if images is None else images,
        "name": name,
        "release_date": release_date,
        "release_date_precision": precision,
        "total_tracks": total_tracks,
        "type": "album",
        "uri": f"spotify:album:{album_id}",
    }


def make_track(
    track_id: str | None,
    name: str | None,
    artists: list[str],
    album: dict,
    *,
    duration_ms: int = 180_000,
    isrc: str | None = None,
    explicit: bool = False,
    track_number: int = 1,
    disc_number: int = 1,
) -> dict:
    """A full track object with ``album`` (from :func:`make_album`) embedded.

    ``external_ids`` holds ``isrc`` when given (``{}`` otherwise). Pass
    ``track_id=None`` or ``name=None`` for an unavailable track.
    """
    track = {
        "album": album,
        "artists": [make_artist(a) for a in artists],
        "available_markets": ["US", "GB", "DE"],
        "disc_number": disc_number,
        "duration_ms": duration_ms,
        "explicit": explicit,
        "external_ids": {"isrc": isrc} if isrc else {},
        "external_urls": {"spotify": f"https://open.spotify.com/track/{track_id}"} if track_id else {},
        "href": f"https://api.spotify.com/v1/tracks/{track_id}" if track_id else None,
        "id": track_id,
        "is_local": False,
        "popularity": 50,
        "preview_url": None,
        "track_number": track_number,
        "type": "track",
        "uri": f"spotify:track:{track_id}" if track_id else None,
    }
    if name is not None:
        track["name"] = name
    return track


def make_local_track(name: str, artists: list[str], *, album: str = "", duration_ms: int = 200_000) -> dict:
    """A local-file track object: ``is_local`` true, ``id`` null, a ``spotify:local:`` URI."""
    return {
        "album": {"album_type": None, "artists": [], "available_markets": [], "external_urls": {},
                  "href": None, "id": None, "images": [], "name": album, "release_date": None,
                  "release_date_precision": None, "type": "album", "uri": None},
        "artists": [{"external_urls": {}, "href": None, "id": None, "name": a, "type": "artist", "uri": None}
                    for a in artists],
        "available_markets": [],
        "disc_number": 0,
        "duration_ms": duration_ms,
        "explicit": False,
        "external_ids": {},
        "external_urls": {},
        "href": None,
        "id": None,
        "is_local": True,
        "name": name,
        "popularity": 0,
        "preview_url": None,
        "track_number": 0,
        "type": "track",
        "uri": f"spotify:local:{'+'.join(artists)}:{album}:{name}:{duration_ms // 1000}",
    }


def make_episode(episode_id: str, name: str, *, show: str = "A Podcast", duration_ms: int = 1_800_000) -> dict:
    """A podcast episode object (``type: "episode"``) as found in playlists."""
    show_id = fake_id("show:" + show)
    return {
        "description": "",
        "duration_ms": duration_ms,
        "explicit": False,
        "external_urls": {"spotify": f"https://open.spotify.com/episode/{episode_id}"},
        "href": f"https://api.spotify.com/v1/episodes/{episode_id}",
        "id": episode_id,
        "images": make_images(episode_id),
        "name": name,
        "release_date": "2024-01-01",
        "release_date_precision": "day",
        "show": {"id": show_id, "name": show, "type": "show", "uri": f"spotify:show:{show_id}"},
        "type": "episode",
        "uri": f"spotify:episode:{episode_id}",
    }


# -- the server ---------------------------------------------------------------------------


@dataclass
class _Playlist:
    playlist_id: str
    name: str
    entries: list[dict | None]
    snapshot_id: str
    owner: str
    description: str
    images: list[dict]
    private_to_other: bool


_Response = tuple[int, dict[str, str], bytes]


class FakeSpotify(LoopbackServer):
    """Threaded HTTP server on ``host`` (loopback) with an in-memory Spotify catalogue.

    Start and stop it with :meth:`start`/:meth:`stop` or ``with``.

    ``client_id``/``client_secret`` are the only credentials it accepts.
    ``item_key`` (``"track"``/``"item"``) names an entry's object in playlist
    items; ``page_key`` (``"tracks"``/``"items"``) names the page embedded in a
    playlist object, which holds the first ``embedded_page_size`` entries
    (0: no embedded page). Access tokens live ``token_lifetime_s`` seconds.
    All public methods are thread-safe.
    """

    _thread_name = "fake-spotify"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        client_id: str = "tunecrate-demo-client",
        client_secret: str = "tunecrate-demo-secret",
        item_key: str = "track",
        page_key: str = "tracks",
        embedded_page_size: int = 100,
        token_lifetime_s: int = 3600,
        user_id: str = "demo-user",
    ) -> None:
        if item_key not in ("track", "item") or page_key not in ("tracks", "items"):
            raise ValueError("item_key must be 'track' or 'item', page_key 'tracks' or 'items'")
        self.client_id = client_id
        self.client_secret = client_secret
        self.item_key = item_key
        self.page_key = page_key
        self.embedded_page_size = embedded_page_size
        self.token_lifetime_s = token_lifetime_s
        self.user_id = user_id
        self._lock = threading.Lock()
        self._tracks: dict[str, dict] = {}
        self._albums: dict[str, tuple[dict, list[dict]]] = {}
        self._playlists: dict[str, _Playlist] = {}
        self._saved: list[dict] = []
        self._tokens: dict[str, dict] = {}  # access token -> {"kind", "scope", "expires_at"}
        self._refresh_tokens: dict[str, str] = {}  # refresh token -> scope
        self._codes: dict[str, dict] = {}  # authorization code -> {"challenge", "redirect_uri", "scope"}
        self._snapshot_counter = 0
        self._bind(host, port, quiet_handler(**dict.fromkeys(("GET", "POST", "PUT", "DELETE"), self._serve)))

    # -- addresses ----------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """Web API prefix, ``http://HOST:PORT/v1/`` (for ``TUNECRATE_SPOTIFY_API_URL``)."""
        return self.base_url + "/v1/"

    @property
    def accounts_url(self) -> str:
        """Accounts service root, ``http://HOST:PORT`` (for ``TUNECRATE_SPOTIFY_ACCOUNTS_URL``)."""
        return self.base_url

    # -- catalogue ---------------------------------------------------------------------

    def add_track(self, track: dict) -> None:
        """Make a full track object (from :func:`make_track`) answer ``GET /v1/tracks/{id}``."""
        with self._lock:
            self._tracks[track["id"]] = track

    def add_album(self, album: dict, tracks: list[dict]) -> None:
        """Add an album (from :func:`make_album`) with its full track objects, in order.

        The tracks also become available through ``GET /v1/tracks/{id}``.
        """
        with self._lock:
            self._albums[album["id"]] = (album, list(tracks))
            for track in tracks:
                if track.get("id"):
                    self._tracks[track["id"]] = track

    def add_playlist(
        self,
        playlist_id: str,
        name: str,
        entries: list[dict | None],
        *,
        snapshot_id: str | None = None,
        owner: str = "demo-user",
        description: str = "",
        images: list[dict] | None = None,
        private_to_other: bool = False,
    ) -> str:
        """Add or replace a playlist; ``entries`` are track/episode objects or ``None``.

        Available tracks among the entries also answer ``GET /v1/tracks/{id}``.
        ``private_to_other`` makes its items answer 403. Returns the snapshot id.
        """
        with self._lock:
            snapshot = snapshot_id or self._next_snapshot()
            self._playlists[playlist_id] = _Playlist(
                playlist_id, name, list(entries), snapshot, owner, description,
                make_images("playlist:" + playlist_id) if images is None else images, private_to_other,
            )
            self._index_entries(entries)
            return snapshot

    def set_playlist_items(self, playlist_id: str, entries: list[dict | None]) -> str:
        """Replace a playlist's entries; gives it a new snapshot id, which is returned."""
        with self._lock:
            playlist = self._playlists[playlist_id]
            playlist.entries = list(entries)
            playlist.snapshot_id = self._next_snapshot()
            self._index_entries(entries)
            return playlist.snapshot_id

    def set_saved_tracks(self, tracks: list[dict | None]) -> None:
        """Replace the user's Liked Songs (newest first, as Spotify lists them)."""
        with self._lock:
            self._saved = list(tracks)
            self._index_entries(tracks)

    # -- reading the catalogue (for the web stand-in, which shows the same one) ---------------

    def playlist_view(self, playlist_id: str) -> dict | None:
        """A copy of a playlist: ``{"name", "owner", "description", "images", "snapshot_id", "entries",
        "private_to_other"}`` (``entries`` as given to :meth:`add_playlist`), or None."""
        with self._lock:
            playlist = self._playlists.get(playlist_id)
            if playlist is None:
                return None
            return {"name": playlist.name, "owner": playlist.owner, "description": playlist.description,
                    "images": list(playlist.images), "snapshot_id": playlist.snapshot_id,
                    "entries": list(playlist.entries), "private_to_other": playlist.private_to_other}

    def album_view(self, album_id: str) -> tuple[dict, list[dict]] | None:
        """An album object and its full track objects in order, or None."""
        with self._lock:
            found = self._albums.get(album_id)
            return (found[0], list(found[1])) if found else None

    def track_object(self, track_id: str) -> dict | None:
        """The full track object of ``track_id``, or None."""
        with self._lock:
            return self._tracks.get(track_id)

    # -- internals: state ----------------------------------------------------------------

    def _next_snapshot(self) -> str:
        self._snapshot_counter += 1
        raw = self._snapshot_counter.to_bytes(4, "big") + secrets.token_bytes(12)
        return base64.b64encode(raw).decode()

    def _index_entries(self, entries: list[dict | None]) -> None:
        for obj in entries:
            if obj and obj.get("type") == "track" and obj.get("id") and obj.get("name"):
                self._tracks.setdefault(obj["id"], obj)

    def _user_token(self, scope: str) -> dict:
        access = secrets.token_urlsafe(24)
        refresh = secrets.token_urlsafe(24)
        self._tokens[access] = {"kind": "user", "scope": scope, "expires_at": time.time() + self.token_lifetime_s}
        self._refresh_tokens[refresh] = scope
        return {"access_token": access, "token_type": "Bearer", "expires_in": self.token_lifetime_s,
                "refresh_token": refresh, "scope": scope}

    # -- internals: HTTP -----------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        path = split.path.rstrip("/") or "/"
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        status, out_headers, payload = self._answer(handler.command, path, query, headers, body)
        send_body(handler, status, payload, out_headers)

    def _answer(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
                body: bytes) -> _Response:
        """The answer to one request (``path`` without a trailing slash, ``headers`` lower-cased)."""
        with self._lock:
            return self._route(method, path, query, headers, body)

    def _route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> _Response:
        if path == "/api/token":
            return self._token(headers, body) if method == "POST" else _api_error(405, "Method not allowed")
        if path == "/authorize":
            return self._authorize(query)
        if not path.startswith("/v1/"):
            return _api_error(404, "Service not found")
        token, failure = self._check_bearer(headers)
        if failure:
            return failure
        if method != "GET":
            return _api_error(405, "Method not allowed")
        parts = path[len("/v1/"):].split("/")
        match parts:
            case ["tracks" | "albums" | "artists"]:
                return _api_error(403, "Forbidden")  # batch lookups are gone for development-mode apps
            case ["tracks", track_id]:
                track = self._tracks.get(track_id)
                return _ok(track) if track else _api_error(404, "Resource not found")
            case ["albums", album_id]:
                return self._album(album_id)
            case ["albums", album_id, "tracks"]:
                return self._album_tracks(album_id, query)
            case ["playlists", playlist_id]:
                return self._playlist(playlist_id, query)
            case ["playlists", playlist_id, "items"]:
                return self._playlist_items(playlist_id, query)
            case ["me", "tracks"]:
                if token["kind"] != "user":
                    return _api_error(401, "Invalid access token")
                if "user-library-read" not in token["scope"].split():
                    return _api_error(403, "Insufficient client scope")
                items = [{"added_at": _added_at(i), "track": t} for i, t in enumerate(self._saved)]
                return self._page("/v1/me/tracks", items, query)
        return _api_error(404, "Service not found")

    def _check_bearer(self, headers: dict[str, str]) -> tuple[dict, _Response | None]:
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return {}, _api_error(401, "No token provided")
        token = self._tokens.get(auth[len("Bearer "):].strip())
        if token is None:
            return {}, _api_error(401, "Invalid access token")
        if token["expires_at"] < time.time():
            return {}, _api_error(401, "The access token expired")
        return token, None

    def _page(self, path: str, items: list, query: dict[str, str]) -> _Response:
        """Answer a paged endpoint, checking the request's ``limit`` and ``offset``."""
        try:
            limit = int(query.get("limit", _DEFAULT_LIMIT))
            offset = int(query.get("offset", 0))
        except ValueError:
            return _api_error(400, "Invalid limit or offset")
        if not 1 <= limit <= _MAX_LIMIT or offset < 0:
            return _api_error(400, "Invalid limit")
        return _ok(self._paging(path, items, query, limit, offset))

    def _paging(self, path: str, items: list, query: dict[str, str], limit: int, offset: int) -> dict:
        """A paging object; ``next``/``previous`` keep the request's other query parameters."""

        def link(at: int, size: int) -> str:
            params = {k: v for k, v in query.items() if k not in ("limit", "offset")}
            params.update(offset=str(at), limit=str(size))
            return f"{self.base_url}{path}?{urlencode(params)}"

        total = len(items)
        following = offset + limit
        return {
            "href": link(offset, limit),
            "items": items[offset:following],
            "limit": limit,
            "next": link(following, min(limit, _MAX_LIMIT)) if following < total else None,
            "offset": offset,
            "previous": link(max(0, offset - limit), limit) if offset > 0 else None,
            "total": total,
        }

    def _album(self, album_id: str) -> _Response:
        if album_id not in self._albums:
            return _api_error(404, "Resource not found")
        album, tracks = self._albums[album_id]
        simplified = [_simplified(t) for t in tracks]
        page = self._paging(f"/v1/albums/{album_id}/tracks", simplified, {}, _MAX_LIMIT, 0)
        full = dict(album, tracks=page,
                    copyrights=[], external_ids={}, genres=[], label="tunecrate demo", popularity=40)
        return _ok(full)

    def _album_tracks(self, album_id: str, query: dict[str, str]) -> _Response:
        if album_id not in self._albums:
            return _api_error(404, "Resource not found")
        _, tracks = self._albums[album_id]
        return self._page(f"/v1/albums/{album_id}/tracks", [_simplified(t) for t in tracks], query)

    def _playlist_entries(self, playlist: _Playlist) -> list[dict]:
        return [
            {
                "added_at": _added_at(i),
                "added_by": {"id": playlist.owner, "type": "user", "uri": f"spotify:user:{playlist.owner}"},
                "is_local": bool(obj and obj.get("is_local")),
                "primary_color": None,
                self.item_key: obj,
            }
            for i, obj in enumerate(playlist.entries)
        ]

    def _playlist(self, playlist_id: str, query: dict[str, str]) -> _Response:
        playlist = self._playlists.get(playlist_id)
        if playlist is None:
            return _api_error(404, "Resource not found")
        obj: dict[str, Any] = {
            "collaborative": False,
            "description": playlist.description,
            "external_urls": {"spotify": f"https://open.spotify.com/playlist/{playlist_id}"},
            "followers": {"href": None, "total": 0},
            "href": f"{self.base_url}/v1/playlists/{playlist_id}",
            "id": playlist_id,
            "images": playlist.images,
            "name": playlist.name,
            "owner": {"display_name": playlist.owner, "external_urls": {}, "href": None, "id": playlist.owner,
                      "type": "user", "uri": f"spotify:user:{playlist.owner}"},
            "primary_color": None,
            "public": True,
            "snapshot_id": playlist.snapshot_id,
            "type": "playlist",
            "uri": f"spotify:playlist:{playlist_id}",
        }
        if self.embedded_page_size and not playlist.private_to_other:
            entries = self._playlist_entries(playlist)
            obj[self.page_key] = self._paging(f"/v1/playlists/{playlist_id}/items", entries, {},
                                              self.embedded_page_size, 0)
        if query.get("fields"):
            wanted = _top_level_fields(query["fields"])
            obj = {k: v for k, v in obj.items() if k in wanted}
        return _ok(obj)

    def _playlist_items(self, playlist_id: str, query: dict[str, str]) -> _Response:
        playlist = self._playlists.get(playlist_id)
        if playlist is None:
            return _api_error(404, "Resource not found")
        if playlist.private_to_other:
            return _api_error(403, "Forbidden")
        return self._page(f"/v1/playlists/{playlist_id}/items", self._playlist_entries(playlist), query)

    # -- internals: accounts -----------------------------------------------------------

    def _authorize(self, query: dict[str, str]) -> _Response:
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id:
            return 400, {"Content-Type": "text/plain; charset=utf-8"}, b"INVALID_CLIENT: Invalid client"
        if query.get("response_type") != "code" or not redirect_uri:
            return 400, {"Content-Type": "text/plain; charset=utf-8"}, b"INVALID_REQUEST"
        code = secrets.token_urlsafe(16)
        self._codes[code] = {"challenge": query.get("code_challenge"), "redirect_uri": redirect_uri,
                             "scope": query.get("scope", "")}
        params = {"code": code}
        if "state" in query:
            params["state"] = query["state"]
        sep = "&" if "?" in redirect_uri else "?"
        return 302, {"Location": f"{redirect_uri}{sep}{urlencode(params)}"}, b""

    def _token(self, headers: dict[str, str], body: bytes) -> _Response:
        form = dict(parse_qsl(body.decode("utf-8", "replace")))
        grant = form.get("grant_type")
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        auth = headers.get("authorization", "")
        if auth.startswith("Basic "):
            try:
                client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return _oauth_error("invalid_client", "Invalid client")
        if client_id != self.client_id:
            return _oauth_error("invalid_client", "Invalid client")
        if grant == "client_credentials":
            if client_secret != self.client_secret:
                return _oauth_error("invalid_client", "Invalid client secret")
            access = secrets.token_urlsafe(24)
            self._tokens[access] = {"kind": "client", "scope": "", "expires_at": time.time() + self.token_lifetime_s}
            return _ok({"access_token": access, "token_type": "Bearer", "expires_in": self.token_lifetime_s})
        if grant == "authorization_code":
            pending = self._codes.pop(form.get("code", ""), None)
            if pending is None:
                return _oauth_error("invalid_grant", "Invalid authorization code")
            if form.get("redirect_uri") != pending["redirect_uri"]:
                return _oauth_error("invalid_grant", "Invalid redirect URI")
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            if pending["challenge"] and challenge != pending["challenge"]:
                return _oauth_error("invalid_grant", "code_verifier was incorrect")
            if not pending["challenge"] and client_secret != self.client_secret:
                return _oauth_error("invalid_client", "Invalid client secret")
            return _ok(self._user_token(pending["scope"]))
        if grant == "refresh_token":
            scope = self._refresh_tokens.get(form.get("refresh_token", ""))
            if scope is None:
                return _oauth_error("invalid_grant", "Invalid refresh token")
            token = self._user_token(scope)
            # Like Spotify, answer without a new refresh token: the old one stays valid.
            del self._refresh_tokens[token.pop("refresh_token")]
            return _ok(token)
        return _oauth_error("unsupported_grant_type", "grant_type must be client_credentials, "
                                                      "authorization_code or refresh_token")


# -- helpers ----------------------------------------------------------------------------------


def _json(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def _ok(obj: Any) -> _Response:
    return 200, {"Content-Type": "application/json; charset=utf-8"}, _json(obj)


def _api_error(status: int, message: str) -> _Response:
    return status, {"Content-Type": "application/json; charset=utf-8"}, _json(
        {"error": {"status": status, "message": message}})


def _oauth_error(error: str, description: str) -> _Response:
    return 400, {"Content-Type": "application/json; charset=utf-8"}, _json(
        {"error": error, "error_description": description})


def _added_at(position: int) -> str:
    day = 1 + position % 28
    return f"2024-01-{day:02d}T{position // 28 % 24:02d}:00:00Z"


def _simplified(track: dict) -> dict:
    """A track as listed in an album: no album, no external ids, no popularity."""
    return {k: v for k, v in track.items() if k not in ("album", "external_ids", "popularity")}


def _top_level_fields(fields: str) -> set[str]:
    """Top-level names of a Spotify ``fields`` filter: ``"a,b(c,d),e.f"`` → ``{"a", "b", "e"}``."""
    names, depth, current = set(), 0, ""
    for char in fields + ",":
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            names.add(re.split(r"[.(]", current.strip(), maxsplit=1)[0])
            current = ""
            continue
        if depth == 0 and char not in "()":
            current += char
    return names
