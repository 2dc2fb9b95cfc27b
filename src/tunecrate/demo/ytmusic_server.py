"""A loopback stand-in for YouTube Music's web front end: its home page and the InnerTube ``search``.

ytmusicapi talks to ``https://music.youtube.com`` and nothing else (its base
URL is a constant), so the stand-in is reached the way a user behind an
inspecting proxy reaches the real one: ``music.youtube.com`` is a site of a
:class:`~tunecrate.demo.proxy.StandInProxy` pointing at this server, and the
client trusts the proxy's CA (``TUNECRATE_PROXY``, ``TUNECRATE_CA_BUNDLE``).
ytmusicapi's own parsers then read its answers, so the search, the
provider's parsing and the matcher run end to end offline.

Endpoints, with the real service's shapes (``WEB_REMIX`` client):

- ``GET /``: the home page, an HTML document whose
  ``ytcfg.set({...});`` carries ``VISITOR_DATA`` (which ytmusicapi sends back
  as ``X-Goog-Visitor-Id``), the API key and the client version;
- ``POST /youtubei/v1/search?alt=json``: body ``{"context", "query",
  "params"?}``. ``params`` is the protobuf (base64) by which the web client
  filters a search; field 2 → 17 → 1 means songs, → 2 videos. The answer is
  ``contents.tabbedSearchResultsRenderer.tabs[0].tabRenderer.content
  .sectionListRenderer.contents``: one ``musicShelfRenderer`` ("Songs" or
  "Videos") whose ``contents`` are ``musicResponsiveListItemRenderer`` items
  (thumbnail, play button overlay with the ``watchEndpoint`` and its
  ``musicVideoType``, two flex columns: title; artists • album • duration for
  songs, artists • views • duration for videos; a menu; an explicit badge).
  Without a filter the answer has a "Songs" and a "Videos" shelf. No match
  answers the "No results found" item section. Every result fits on the
  first page, so no ``continuations`` are sent.

What matches: a query equal to a song's ISRC finds that song (YouTube Music
indexes ISRCs); otherwise recordings sharing words with the query (artists,
title, album; case and accents ignored), most shared words first.
Recordings are added with :meth:`FakeYouTubeMusic.add`. ``tunecrate demo``
ships this happy path; the tests' subclass records requests
(``tests/standins``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

from tunecrate.demo._http import LoopbackServer, quiet_handler, send_body, words

__all__ = ["FakeYouTubeMusic", "HOST", "Recording"]

#: The host name the proxy routes here.
HOST = "music.youtube.com"
CLIENT_VERSION = "1.20260707.12.00"
API_KEY = "AIzaSyDemoStandInMusicKeyNotARealKey000"
#: The filter number in a search's ``params`` (field 2 → 17 → N) for each result type.
FILTERS = {1: "songs", 2: "videos", 3: "albums", 4: "artists", 5: "playlists"}
_DOT = {"text": " \u2022 "}


@dataclass(frozen=True)
class Recording:
    """A song (``kind="song"``, an Art Track, ``MUSIC_VIDEO_TYPE_ATV``) or a video (``kind="video"``,
    ``MUSIC_VIDEO_TYPE_OMV`` for an official music video, ``MUSIC_VIDEO_TYPE_UGC`` for an upload)
    on YouTube Music. ``duration_s`` is in seconds; ``album`` is only shown for songs."""

    video_id: str
    title: str
    artists: tuple[str, ...]
    duration_s: int
    kind: str = "song"
    album: str | None = None
    explicit: bool = False
    isrc: str | None = None
    views: str = "1.2K"
    video_type: str = ""
    keywords: frozenset[str] = field(default=frozenset(), init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in ("song", "video"):
            raise ValueError(f"kind must be 'song' or 'video', not {self.kind!r}")
        if not self.video_type:
            object.__setattr__(self, "video_type",
                               "MUSIC_VIDEO_TYPE_ATV" if self.kind == "song" else "MUSIC_VIDEO_TYPE_OMV")
        object.__setattr__(self, "keywords", frozenset(words(" ".join((*self.artists, self.title,
                                                                             self.album or "")))))


def search_filter(params: str | None) -> str | None:
    """The result type a search's ``params`` asks for (``"songs"``, ``"videos"``…), or ``None`` (no filter)."""
    if not params:
        return None
    try:
        raw = base64.urlsafe_b64decode(unquote(params).replace("+", "-").replace("/", "_") + "==")
        inner = _field(_field(raw, 2), 17)
    except (ValueError, IndexError):
        return None
    number = next(iter(_fields(inner)), None)
    return FILTERS.get(number) if number else None


def _fields(data: bytes) -> dict[int, Any]:
    """The fields of a protobuf message: number → varint value or bytes."""
    found: dict[int, Any] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            found[number], pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            found[number], pos = data[pos:pos + length], pos + length
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return found


def _field(data: bytes, number: int) -> bytes:
    value = _fields(data).get(number)
    if not isinstance(value, bytes):
        raise ValueError(f"no message in field {number}")
    return value


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _clock(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _browse_id(prefix: str, name: str, length: int) -> str:
    return prefix + hashlib.sha1(name.encode()).hexdigest()[:length]


def _tracking(seed: str) -> str:
    return base64.b64encode(hashlib.sha1(seed.encode()).digest()[:15]).decode()


class FakeYouTubeMusic(LoopbackServer):
    """Threaded HTTP server on 127.0.0.1 answering for ``music.youtube.com`` behind the stand-in proxy."""

    _thread_name = "fake-ytmusic"
    hostnames = (HOST,)

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._recordings: list[Recording] = []
        self._lock = threading.Lock()
        self.visitor_data = "CgtZVE11c2ljRGVtbyiAgICAgAE%3D"
        self._bind(host, port, quiet_handler(GET=self._serve, POST=self._serve))

    def add(self, recording: Recording) -> None:
        """Make ``recording`` findable."""
        with self._lock:
            self._recordings.append(recording)

    # -- answers ----------------------------------------------------------------------

    def find(self, query: str, kind: str | None) -> list[Recording]:
        """The recordings a search for ``query`` finds, best first, of ``kind`` (``"song"``/``"video"``/``None``)."""
        with self._lock:
            recordings = [r for r in self._recordings if kind is None or r.kind == kind]
        wanted = query.strip().upper()
        by_isrc = [r for r in recordings if r.isrc and r.isrc.upper() == wanted]
        if by_isrc:
            return by_isrc
        wanted = set(words(query))
        scored = [(len(wanted & r.keywords), -index, r) for index, r in enumerate(recordings)]
        return [r for shared, _, r in sorted(scored, reverse=True) if shared]

    def search_response(self, query: str, params: str | None) -> dict[str, Any]:
        """The InnerTube ``search`` answer for ``query`` with ``params`` (see the module docstring)."""
        chosen = search_filter(params)
        if chosen in ("songs", "videos"):
            shelves = [(chosen.title(), self.find(query, chosen[:-1]))]
        elif chosen is None:
            shelves = [("Songs", self.find(query, "song")), ("Videos", self.find(query, "video"))]
        else:
            shelves = [(chosen.title(), [])]
        shelves = [(title, found) for title, found in shelves if found]
        contents: list[dict[str, Any]] = [self._shelf(title, found, query) for title, found in shelves]
        if not contents:
            contents = [{"itemSectionRenderer": {"contents": [{"messageRenderer": {
                "text": {"runs": [{"text": "No results found"}]},
                "subtext": {"messageSubtextRenderer": {"text": {"runs": [
                    {"text": "Try different keywords or check your spelling"}]}}},
                "trackingParams": _tracking("none:" + query)}}], "trackingParams": _tracking("section:" + query)}}]
        tab = {"tabRenderer": {"title": "YT Music", "selected": True, "content": {"sectionListRenderer": {
            "contents": contents, "trackingParams": _tracking("list:" + query),
            "header": {"chipCloudRenderer": {"chips": [], "trackingParams": _tracking("chips:" + query),
                                             "horizontalScrollable": False}}}},
            "tabIdentifier": "music_search_catalog", "trackingParams": _tracking("tab:" + query)}}
        library = {"tabRenderer": {"title": "Library", "selected": False, "content": {"sectionListRenderer": {
            "contents": [], "trackingParams": _tracking("libtab:" + query)}},
            "tabIdentifier": "library_search_catalog", "trackingParams": _tracking("libtab:" + query)}}
        return {
            "responseContext": {"visitorData": self.visitor_data, "serviceTrackingParams": [
                {"service": "CSI", "params": [{"key": "c", "value": "WEB_REMIX"},
                                              {"key": "cver", "value": CLIENT_VERSION},
                                              {"key": "yt_li", "value": "0"},
                                              {"key": "GetSearch_rid", "value": "0x7475636372617465"}]},
                {"service": "GFEEDBACK", "params": [{"key": "logged_in", "value": "0"}]}],
                "maxAgeSeconds": 300},
            "contents": {"tabbedSearchResultsRenderer": {"tabs": [tab, library]}},
            "trackingParams": _tracking("search:" + query),
        }

    def _shelf(self, title: str, found: list[Recording], query: str) -> dict[str, Any]:
        return {"musicShelfRenderer": {
            "title": {"runs": [{"text": title}]},
            "contents": [self._item(r) for r in found],
            "trackingParams": _tracking(f"shelf:{title}:{query}"),
            "shelfDivider": {"musicShelfDividerRenderer": {"hidden": True}},
        }}

    def _item(self, r: Recording) -> dict[str, Any]:
        tracking = _tracking("item:" + r.video_id)
        watch = {"videoId": r.video_id, "watchEndpointMusicSupportedConfigs": {
            "watchEndpointMusicConfig": {"musicVideoType": r.video_type}}}
        artist_runs: list[dict[str, Any]] = []
        for index, name in enumerate(r.artists):
            if index:
                artist_runs.append({"text": " & " if index == len(r.artists) - 1 else ", "})
            artist_runs.append({"text": name, "navigationEndpoint": {"clickTrackingParams": tracking, "browseEndpoint": {
                "browseId": _browse_id("UC", name, 22), "browseEndpointContextSupportedConfigs": {
                    "browseEndpointContextMusicConfig": {"pageType": "MUSIC_PAGE_TYPE_ARTIST"}}}}})
        details: list[dict[str, Any]] = [*artist_runs, _DOT]
        if r.kind == "song" and r.album:
            details += [{"text": r.album, "navigationEndpoint": {"clickTrackingParams": tracking, "browseEndpoint": {
                "browseId": _browse_id("MPREb_", r.album, 11), "browseEndpointContextSupportedConfigs": {
                    "browseEndpointContextMusicConfig": {"pageType": "MUSIC_PAGE_TYPE_ALBUM"}}}}}, _DOT]
        elif r.kind == "video":
            details += [{"text": f"{r.views} views"}, _DOT]
        details.append({"text": _clock(r.duration_s)})
        thumb = hashlib.sha1(r.video_id.encode()).hexdigest()
        item: dict[str, Any] = {
            "trackingParams": tracking,
            "thumbnail": {"musicThumbnailRenderer": {
                "thumbnail": {"thumbnails": [
                    {"url": f"https://lh3.googleusercontent.com/{thumb}=w60-h60-l90-rj", "width": 60, "height": 60},
                    {"url": f"https://lh3.googleusercontent.com/{thumb}=w120-h120-l90-rj", "width": 120,
                     "height": 120}]},
                "thumbnailCrop": "MUSIC_THUMBNAIL_CROP_UNSPECIFIED",
                "thumbnailScale": "MUSIC_THUMBNAIL_SCALE_ASPECT_FIT", "trackingParams": tracking}},
            "overlay": {"musicItemThumbnailOverlayRenderer": {
                "background": {"verticalGradient": {"gradientLayerColors": ["3422552064", "3422552064"]}},
                "content": {"musicPlayButtonRenderer": {
                    "playNavigationEndpoint": {"clickTrackingParams": tracking, "watchEndpoint": watch},
                    "trackingParams": tracking, "playIcon": {"iconType": "PLAY_ARROW"},
                    "pauseIcon": {"iconType": "PAUSE"}, "iconColor": 4294967295, "backgroundColor": 0,
                    "activeBackgroundColor": 0, "loadingIndicatorColor": 14745645,
                    "playingIcon": {"iconType": "VOLUME_UP"}, "iconLoadingColor": 0, "activeScaleFactor": 1,
                    "buttonSize": "MUSIC_PLAY_BUTTON_SIZE_SMALL",
                    "rippleTarget": "MUSIC_PLAY_BUTTON_RIPPLE_TARGET_SELF",
                    "accessibilityPlayData": {"accessibilityData": {"label": f"Play {r.title}"}},
                    "accessibilityPauseData": {"accessibilityData": {"label": f"Pause {r.title}"}}}},
                "contentPosition": "MUSIC_ITEM_THUMBNAIL_OVERLAY_CONTENT_POSITION_CENTERED",
                "displayStyle": "MUSIC_ITEM_THUMBNAIL_OVERLAY_DISPLAY_STYLE_PERSISTENT"}},
            "flexColumns": [
                {"musicResponsiveListItemFlexColumnRenderer": {
                    "text": {"runs": [{"text": r.title, "navigationEndpoint": {
                        "clickTrackingParams": tracking, "watchEndpoint": watch}}]},
                    "displayPriority": "MUSIC_RESPONSIVE_LIST_ITEM_COLUMN_DISPLAY_PRIORITY_HIGH"}},
                {"musicResponsiveListItemFlexColumnRenderer": {
                    "text": {"runs": details},
                    "displayPriority": "MUSIC_RESPONSIVE_LIST_ITEM_COLUMN_DISPLAY_PRIORITY_HIGH"}},
            ],
            "menu": {"menuRenderer": {"items": [
                {"menuNavigationItemRenderer": {
                    "text": {"runs": [{"text": "Start radio"}]}, "icon": {"iconType": "MIX"},
                    "navigationEndpoint": {"clickTrackingParams": tracking, "watchEndpoint": {
                        "videoId": r.video_id, "playlistId": f"RDAMVM{r.video_id}", "params": "wAEB"}},
                    "trackingParams": tracking}},
                {"menuServiceItemRenderer": {
                    "text": {"runs": [{"text": "Play next"}]}, "icon": {"iconType": "QUEUE_PLAY_NEXT"},
                    "serviceEndpoint": {"clickTrackingParams": tracking, "queueAddEndpoint": {
                        "queueTarget": {"videoId": r.video_id, "onEmptyQueue": {"clickTrackingParams": tracking,
                                                                                 "watchEndpoint": {"videoId": r.video_id}}},
                        "queueInsertPosition": "INSERT_AFTER_CURRENT_VIDEO"}},
                    "trackingParams": tracking}},
            ], "trackingParams": tracking, "accessibility": {"accessibilityData": {"label": "Action menu"}}}},
            "playlistItemData": {"videoId": r.video_id},
            "flexColumnDisplayStyle": "MUSIC_RESPONSIVE_LIST_ITEM_FLEX_COLUMN_DISPLAY_STYLE_TWO_LINE_STACK",
            "itemHeight": "MUSIC_ITEM_HEIGHT_TALL",
        }
        if r.explicit:
            item["badges"] = [{"musicInlineBadgeRenderer": {
                "trackingParams": tracking, "icon": {"iconType": "MUSIC_EXPLICIT_BADGE"},
                "accessibilityData": {"accessibilityData": {"label": "Explicit"}}}}]
        return {"musicResponsiveListItemRenderer": item}

    def home_page(self) -> str:
        """The home page: just enough HTML around ``ytcfg.set({...});``."""
        ytcfg = {
            "INNERTUBE_API_KEY": API_KEY, "INNERTUBE_API_VERSION": "v1", "INNERTUBE_CLIENT_NAME": "WEB_REMIX",
            "INNERTUBE_CLIENT_VERSION": CLIENT_VERSION, "INNERTUBE_CONTEXT_CLIENT_NAME": 67,
            "INNERTUBE_CONTEXT": {"client": {"hl": "en", "gl": "US", "visitorData": self.visitor_data,
                                             "clientName": "WEB_REMIX", "clientVersion": CLIENT_VERSION}},
            "VISITOR_DATA": self.visitor_data, "LOGGED_IN": False, "HL": "en", "GL": "US",
        }
        return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>YouTube Music</title>"
                f"<script nonce=\"demo\">ytcfg.set({json.dumps(ytcfg)});</script></head>"
                "<body><ytmusic-app></ytmusic-app></body></html>")

    # -- request handling ---------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        path = urlsplit(handler.path).path
        if handler.command == "GET" and path in ("", "/"):
            self._send(handler, 200, self.home_page().encode(), "text/html; charset=utf-8")
            return
        if handler.command == "POST" and path == "/youtubei/v1/search":
            length = int(handler.headers.get("Content-Length") or 0)
            try:
                body = json.loads(handler.rfile.read(length) or b"{}")
                query = str(body.get("query") or "")
            except (ValueError, AttributeError):
                self._send_json(handler, 400, {"error": {"code": 400, "message": "Invalid JSON payload received.",
                                                         "status": "INVALID_ARGUMENT"}})
                return
            self._send_json(handler, 200, self.search_response(query, body.get("params")))
            return
        self._send_json(handler, 404, {"error": {"code": 404, "message": "Requested entity was not found.",
                                                 "status": "NOT_FOUND"}})

    @staticmethod
    def _send_json(handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
        FakeYouTubeMusic._send(handler, status, json.dumps(payload).encode(), "application/json; charset=UTF-8")

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
        send_body(handler, status, body, {"Content-Type": content_type})
