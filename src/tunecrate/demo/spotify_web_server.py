"""A loopback stand-in for Spotify's public embed pages and the web player's partner GraphQL endpoint.

It shows the catalogue of a :class:`~tunecrate.demo.spotify_server.FakeSpotify`
(the same playlists, albums and tracks the Web API stand-in answers with), in
the shapes the real pages and endpoint have, so that tunecrate's
``spotify-web`` source runs against it unchanged: point
``TUNECRATE_SPOTIFY_WEB_URL`` at :attr:`FakeSpotifyWeb.web_url` and
``TUNECRATE_SPOTIFY_PARTNER_URL`` at :attr:`FakeSpotifyWeb.partner_url`.
``tunecrate demo`` ships this happy path; the tests' subclass adds fault
injection and a request log (``tests/standins``).

::

    with FakeSpotify() as spotify, FakeSpotifyWeb(spotify) as web:
        spotify.add_playlist(fake_id("pl"), "Mix", tracks)   # now public on both

Endpoints:

- ``GET /embed/{playlist|album|track}/{id}``: an HTML page whose
  ``<script id="__NEXT_DATA__" type="application/json">`` holds
  ``props.pageProps.state.data.entity`` (a playlist's or album's first 100
  ``trackList`` rows, without albums; a track's ``artists`` and its album in
  ``relatedEntityUri``) and ``props.pageProps.state.settings.session.accessToken``,
  a new anonymous token for each page, valid ``token_lifetime_s`` seconds.
  An unknown id answers 404. Playlists added with ``private_to_other`` are
  public here too: the web pages show any public playlist.
- ``GET /pathfinder/v1/query?operationName=fetchPlaylist&variables=…&extensions=…``
  (or ``POST`` with that JSON object): needs ``Authorization: Bearer
  <token of an embed page>`` (else 401), the persisted-query hash
  ``partner_hash`` (else 400 ``PersistedQueryNotFound``), and variables
  ``uri``, ``offset`` and ``limit`` (1 to ``max_page_size``; else 400).
  Answers ``data.playlistV2`` with ``content.totalCount`` and the page of
  ``content.items[].itemV2.data`` (tracks with their album and cover); an
  unknown playlist is ``{"__typename": "NotFound"}``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tunecrate.demo._http import LoopbackServer, quiet_handler, send_body
from tunecrate.demo.spotify_server import FakeSpotify
from tunecrate.sources.spotify_web import ARTIST_SEPARATOR, DEFAULT_PARTNER_HASH, EMBED_ROW_LIMIT

__all__ = ["FakeSpotifyWeb"]

_Response = tuple[int, dict[str, str], bytes]
_HTML = "text/html; charset=utf-8"
_JSON = "application/json; charset=utf-8"
_PARTNER_PATH = "/pathfinder/v1/query"


class FakeSpotifyWeb(LoopbackServer):
    """Threaded HTTP server on ``host`` (loopback) showing ``catalogue``'s public pages.

    ``partner_hash`` is the only ``fetchPlaylist`` hash it knows (by
    default the one tunecrate ships); ``max_page_size`` the largest
    ``limit`` it accepts; tokens live ``token_lifetime_s`` seconds. Start and
    stop it with :meth:`start`/:meth:`stop` or ``with``. Thread-safe.
    """

    _thread_name = "fake-spotify-web"

    def __init__(self, catalogue: FakeSpotify, host: str = "127.0.0.1", port: int = 0, *,
                 partner_hash: str = DEFAULT_PARTNER_HASH, max_page_size: int = 500,
                 token_lifetime_s: int = 3600) -> None:
        self.catalogue = catalogue
        self.partner_hash = partner_hash
        self.max_page_size = max_page_size
        self.token_lifetime_s = token_lifetime_s
        self._tokens: dict[str, float] = {}  # token -> expiry (epoch seconds)
        self._lock = threading.Lock()
        self._bind(host, port, quiet_handler(GET=self._serve, POST=self._serve))

    # -- addresses ----------------------------------------------------------------------

    @property
    def web_url(self) -> str:
        """``http://HOST:PORT``, for ``TUNECRATE_SPOTIFY_WEB_URL``."""
        return self.base_url

    @property
    def partner_url(self) -> str:
        """``http://HOST:PORT/pathfinder/v1/query``, for ``TUNECRATE_SPOTIFY_PARTNER_URL``."""
        return self.base_url + _PARTNER_PATH

    # -- HTTP ---------------------------------------------------------------------------

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
        parts = path.strip("/").split("/")
        if method == "GET" and len(parts) == 3 and parts[0] == "embed" and parts[1] in ("playlist", "album", "track"):
            return self._embed_page(parts[1], parts[2])
        if path == _PARTNER_PATH:
            return self._partner(method, query, headers, body)
        return _html(404, _page("/404", {"statusCode": 404}))

    # -- embed pages ------------------------------------------------------------------------

    def _embed_page(self, kind: str, entity_id: str) -> _Response:
        entity = {"playlist": self._playlist_entity, "album": self._album_entity,
                  "track": self._track_entity}[kind](entity_id)
        if entity is None:
            return _html(404, _page("/404", {"statusCode": 404}))
        token = secrets.token_urlsafe(48)
        expires = time.time() + self.token_lifetime_s
        with self._lock:
            self._tokens[token] = expires
        uri = f"spotify:{kind}:{entity_id}"
        props = {
            "state": {
                "data": {"entity": entity, "embeded_entity_uri": uri,
                         "defaultAudioFileObject": {"passthrough": "NONE"}},
                "settings": {"rtl": False, "session": {"accessToken": token,
                                                       "accessTokenExpirationTimestampMs": int(expires * 1000),
                                                       "isAnonymous": True},
                             "entityContext": kind, "clientId": "tunecrate-demo-web", "isMobile": False,
                             "isSafari": False, "isIOS": False, "isTablet": False, "isDarkMode": False},
                "machineState": {"initialized": False, "showOverflowMenu": False, "playbackMode": "UNKNOWN",
                                 "currentPosition": 0, "isPreviewPlaybackActive": False},
            },
            "config": {"correlationId": secrets.token_hex(16), "strings": {"en": {"translation": {}}},
                       "locale": "en", "clientId": "tunecrate-demo-web", "restrictionId": ""},
        }
        return _html(200, _page(f"/{kind}/[id]", props, entity_id))

    def _playlist_entity(self, playlist_id: str) -> dict | None:
        playlist = self.catalogue.playlist_view(playlist_id)
        if playlist is None:
            return None
        rows = [row for row in map(_row, playlist["entries"][:EMBED_ROW_LIMIT]) if row is not None]
        return _entity("playlist", playlist_id, playlist["name"], playlist["owner"], playlist["images"], None,
                       rows)

    def _album_entity(self, album_id: str) -> dict | None:
        found = self.catalogue.album_view(album_id)
        if found is None:
            return None
        album, tracks = found
        rows = [row for row in map(_row, tracks[:EMBED_ROW_LIMIT]) if row is not None]
        artists = ARTIST_SEPARATOR.join(a["name"] for a in album["artists"])
        return _entity("album", album_id, album["name"], artists, album["images"], album.get("release_date"), rows)

    def _track_entity(self, track_id: str) -> dict | None:
        track = self.catalogue.track_object(track_id)
        if track is None or not track.get("name"):
            return None
        album = track.get("album") or {}
        entity = _entity("track", track_id, track["name"], ARTIST_SEPARATOR.join(a["name"] for a in track["artists"]),
                         album.get("images") or [], album.get("release_date"), None)
        entity.update(artists=[{"name": a["name"], "uri": a["uri"]} for a in track["artists"]],
                      duration=track["duration_ms"], maxDuration=track["duration_ms"],
                      isExplicit=bool(track.get("explicit")), relatedEntityUri=album.get("uri") or entity["uri"],
                      audioPreview=None)
        return entity

    # -- the partner endpoint -------------------------------------------------------------

    def _partner(self, method: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> _Response:
        auth = headers.get("authorization", "")
        with self._lock:
            expires = self._tokens.get(auth.removeprefix("Bearer ").strip()) if auth.startswith("Bearer ") else None
        if expires is None or expires < time.time():
            return _json(401, {"error": {"status": 401, "message": "Invalid access token"}})
        try:
            if method == "POST":
                request = json.loads(body or b"{}")
                operation, variables, extensions = (request.get("operationName"), request.get("variables"),
                                                    request.get("extensions"))
            else:
                operation = query.get("operationName")
                variables = json.loads(query.get("variables") or "null")
                extensions = json.loads(query.get("extensions") or "null")
        except (ValueError, AttributeError):
            return _graphql_error(400, "Invalid JSON in variables or extensions")
        sha = ((extensions or {}).get("persistedQuery") or {}).get("sha256Hash") if isinstance(extensions, dict) \
            else None
        if sha != self.partner_hash:
            return _json(400, {"errors": [{"message": "PersistedQueryNotFound",
                                           "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]})
        if operation != "fetchPlaylist":
            return _graphql_error(400, f"Unknown operation {operation!r}")
        if not isinstance(variables, dict):
            return _graphql_error(400, 'Variable "$uri" of required type "String!" was not provided.')
        uri, offset, limit = variables.get("uri"), variables.get("offset"), variables.get("limit")
        for name, value, kind in (("uri", uri, str), ("offset", offset, int), ("limit", limit, int)):
            if not isinstance(value, kind) or isinstance(value, bool):
                type_name = "String!" if kind is str else "Int!"
                return _graphql_error(400, f'Variable "${name}" of required type "{type_name}" was not provided.')
        if offset < 0 or not 1 <= limit <= self.max_page_size:
            return _graphql_error(400, f"offset must be at least 0 and limit between 1 and {self.max_page_size}")
        playlist_id = uri.removeprefix("spotify:playlist:")
        playlist = self.catalogue.playlist_view(playlist_id) if uri.startswith("spotify:playlist:") else None
        if playlist is None:
            return _json(200, {"data": {"playlistV2": {"__typename": "NotFound",
                                                       "message": f"Playlist {uri} not found"}}, "extensions": {}})
        entries = playlist["entries"]
        items = [_item(obj, position, playlist["owner"]) for position, obj in enumerate(entries)]
        data = {
            "__typename": "Playlist",
            "uri": uri,
            "name": playlist["name"],
            "description": playlist["description"],
            "ownerV2": {"data": {"__typename": "User", "name": playlist["owner"],
                                 "uri": f"spotify:user:{playlist['owner']}", "username": playlist["owner"]}},
            "images": {"items": [{"sources": _sources(playlist["images"])}]},
            "followers": 0,
            "revisionId": hashlib.sha1(playlist["snapshot_id"].encode()).hexdigest(),
            "content": {"__typename": "PlaylistItemsPage", "totalCount": len(entries),
                        "pagingInfo": {"offset": offset, "limit": limit}, "items": items[offset:offset + limit]},
        }
        return _json(200, {"data": {"playlistV2": data}, "extensions": {}})


# -- shapes ---------------------------------------------------------------------------------------


def _sources(images: list[dict]) -> list[dict]:
    return [{"url": i["url"], "width": i.get("width"), "height": i.get("height")} for i in images or ()]


def _release(date: str | None) -> dict | None:
    """``{"isoString": "2026-11-21T00:00:00Z"}`` from a Web API release date of any precision."""
    if not date:
        return None
    year, month, day = (date.split("-") + ["01", "01"])[:3]
    return {"isoString": f"{year}-{month}-{day}T00:00:00Z"}


def _entity(kind: str, entity_id: str, name: str, subtitle: str, images: list[dict], release: str | None,
            rows: list[dict] | None) -> dict:
    entity: dict[str, Any] = {
        "type": kind, "name": name, "uri": f"spotify:{kind}:{entity_id}", "id": entity_id, "title": name,
        "subtitle": subtitle, "coverArt": {"sources": _sources(images)}, "releaseDate": _release(release),
        "duration": sum(r["duration"] for r in rows or ()), "maxDuration": 0, "isPlayable": True,
        "isExplicit": False, "hasVideo": False, "relatedEntityUri": f"spotify:{kind}:{entity_id}",
        "visualIdentity": {"backgroundBase": {"alpha": 255, "blue": 56, "green": 64, "red": 56},
                           "image": [{"url": i["url"], "maxHeight": i.get("height"), "maxWidth": i.get("width")}
                                     for i in images or ()]},
    }
    if rows is not None:
        entity["trackList"] = rows
    return entity


def _row(obj: dict | None) -> dict | None:
    """A Web API track or episode object as an embed ``trackList`` row (None: the embed leaves it out)."""
    if not obj or obj.get("is_local") or not obj.get("id"):
        return None
    kind = obj.get("type", "track")
    artists = [a["name"] for a in obj.get("artists") or ()] if kind == "track" else [obj.get("show", {}).get("name")]
    return {"uri": f"spotify:{kind}:{obj['id']}", "uid": hashlib.md5(obj["id"].encode()).hexdigest()[:16],
            "title": obj.get("name") or "", "subtitle": ARTIST_SEPARATOR.join(a for a in artists if a),
            "isExplicit": bool(obj.get("explicit")), "isNineteenPlus": False, "contentRatings": {"labels": []},
            "duration": obj.get("duration_ms") or 0, "isPlayable": bool(obj.get("name")),
            "playabilityReason": "PLAYABLE" if obj.get("name") else "UNAVAILABLE", "audioPreview": None,
            "entityType": kind}


def _profile_items(artists: list[dict]) -> dict:
    return {"items": [{"uri": a.get("uri"), "profile": {"name": a.get("name")}} for a in artists or ()]}


def _item(obj: dict | None, position: int, owner: str) -> dict:
    """A Web API track/episode object (or None) as a ``fetchPlaylist`` ``content.items[]`` entry."""
    entry: dict[str, Any] = {
        "uid": hashlib.md5(f"{position}:{(obj or {}).get('id')}".encode()).hexdigest()[:16],
        "addedAt": {"isoString": f"2024-01-{1 + position % 28:02d}T00:00:00Z"},
        "addedBy": {"data": {"__typename": "User", "name": owner, "uri": f"spotify:user:{owner}"}},
        "attributes": [],
    }
    if obj is None:
        entry["itemV2"] = None
    elif obj.get("is_local"):
        entry["itemV2"] = {"__typename": "LocalTrackResponseWrapper",
                           "data": {"__typename": "LocalTrack", "uri": obj.get("uri"), "name": obj.get("name")}}
    elif obj.get("type") == "episode":
        entry["itemV2"] = {"__typename": "EpisodeOrChapterResponseWrapper",
                           "data": {"__typename": "Episode", "uri": obj.get("uri"), "name": obj.get("name")}}
    elif not obj.get("id") or not obj.get("name"):
        entry["itemV2"] = {"__typename": "TrackResponseWrapper",
                           "data": {"__typename": "RestrictedContent", "uri": obj.get("uri"), "name": obj.get("name")}}
    else:
        album = obj.get("album") or {}
        entry["itemV2"] = {"__typename": "TrackResponseWrapper", "data": {
            "__typename": "Track",
            "uri": obj["uri"],
            "name": obj["name"],
            "trackDuration": {"totalMilliseconds": obj.get("duration_ms") or 0},
            "playcount": "0",
            "contentRating": {"label": "EXPLICIT" if obj.get("explicit") else "NONE"},
            "artists": _profile_items(obj.get("artists")),
            "albumOfTrack": {"uri": album.get("uri"), "name": album.get("name"),
                             "artists": _profile_items(album.get("artists")),
                             "coverArt": {"sources": _sources(album.get("images"))}},
            "trackNumber": obj.get("track_number"),
            "discNumber": obj.get("disc_number"),
            "playability": {"playable": True, "reason": "PLAYABLE"},
        }}
    return entry


def _page(page: str, page_props: dict, entity_id: str | None = None) -> str:
    """An HTML page with Next.js's ``__NEXT_DATA__`` script (``<``, ``>`` and ``&`` escaped as Next does)."""
    doc = {"props": {"pageProps": page_props, "__N_SSP": True}, "page": page,
           "query": {"id": entity_id} if entity_id else {}, "buildId": "tunecrate-demo",
           "assetPrefix": "https://embed-cdn.spotifycdn.com", "isFallback": False, "gssp": True, "scriptLoader": []}
    data = json.dumps(doc).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return ('<!DOCTYPE html><html lang="en"><head><meta charSet="utf-8"/><title>Spotify Embed</title></head>'
            f'<body><div id="__next"></div><script id="__NEXT_DATA__" type="application/json">{data}</script>'
            '</body></html>')


def _html(status: int, text: str) -> _Response:
    return status, {"Content-Type": _HTML}, text.encode()


def _json(status: int, obj: Any) -> _Response:
    return status, {"Content-Type": _JSON}, json.dumps(obj).encode()


def _graphql_error(status: int, message: str) -> _Response:
    return _json(status, {"errors": [{"message": message, "locations": [], "path": []}]})
