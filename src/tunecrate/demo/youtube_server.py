"""A loopback stand-in for YouTube's watch pages, player and media servers, reached through the proxy.

yt-dlp's real YouTube extractor downloads from it unchanged when
``www.youtube.com`` and the media host ``rr1---sn-tunecrate.googlevideo.com``
are sites of a :class:`~tunecrate.demo.proxy.StandInProxy` pointing here.
It answers as YouTube did in 2026, in the parts yt-dlp reads:

- ``GET /watch?v=ID``: an HTML page with ``ytcfg.set({...})`` (API key,
  client version, visitor data, ``PLAYER_JS_URL``, ``STS``) and
  ``var ytInitialPlayerResponse = {...};`` (the ``WEB`` client's answer);
- ``GET /s/player/<player id>/…/base.js``: the player script. Its
  signature and ``n`` functions are small and synthetic, but sit in the
  structure the EJS challenge solver looks for, so yt-dlp must solve them
  with its JavaScript runtime, as it must for the real player;
- ``GET /iframe_api``: the script that names the current player;
- ``POST /youtubei/v1/player``: the InnerTube player answer for the client
  named in the body's ``context.client`` (``playabilityStatus``,
  ``videoDetails``, ``microformat``, ``streamingData``). Web clients get
  ``url``s (``n`` challenge) and need a PO token for them, as on YouTube;
  other clients (TV) get ``signatureCipher`` (``s`` challenge, and ``n``);
- ``POST /youtubei/v1/next``: the watch-next answer (title, channel);
- ``POST /youtubei/v1/search`` (after ``GET /`` for its ``ytcfg``): the
  ``WEB`` client's answer, ``contents.twoColumnSearchResultsRenderer
  .primaryContents.sectionListRenderer.contents[0].itemSectionRenderer
  .contents[]`` of ``videoRenderer`` items (id, title, channel with its
  badges, length, views) for the videos sharing words with the query;
- ``GET /videoplayback?…`` on the media host: the audio (WebM/Opus, ``Range``
  and ``range=`` supported), only when ``sig`` and ``n`` carry the solved
  challenges; otherwise 403, as googlevideo refuses unsolved URLs.

So a download succeeds only when yt-dlp's JavaScript runtime and EJS
solver scripts work. The videos are added with :meth:`FakeYouTube.add_video`;
unknown ids get ``playabilityStatus: ERROR`` ("Video unavailable").
``tunecrate demo`` ships this happy path; the tests' subclass answers bot
checks and records requests (``tests/standins``).
"""

from __future__ import annotations

import hashlib
import html
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tunecrate.demo._http import LoopbackServer, quiet_handler, send_body, words
from tunecrate.demo.media_server import send_file

__all__ = ["FakeYouTube", "MEDIA_HOST", "Video", "WEB_HOSTS"]

#: Host names of the watch pages and InnerTube API.
WEB_HOSTS = ("www.youtube.com", "youtube.com", "m.youtube.com")
#: The media server the format URLs point at.
MEDIA_HOST = "rr1---sn-tunecrate.googlevideo.com"
PLAYER_ID = "7c0de1ab"
PLAYER_PATH = f"/s/player/{PLAYER_ID}/player_ias.vflset/en_US/base.js"
SIGNATURE_TIMESTAMP = 20600
API_KEY = "AIzaSyDemoStandInKeyNotARealKey000000000"
WEB_CLIENT_VERSION = "2.20260708.00.00"
#: Client names (``context.client.clientName``) whose format URLs need a PO token.
_WEB_CLIENTS = {"WEB", "MWEB", "WEB_REMIX"}

#: The player script: the signature and ``n`` transforms live in the URL wrapper
#: ``U`` (the shape the EJS solver extracts); both reverse their input.
PLAYER_JS = r"""var _yt_player={};(function(g){var window=this;
var sts={signatureTimestamp:%d};
function P(){this.m={};}
P.prototype.set=function(k,v){this.m[k]=v;};
P.prototype.get=function(k){return this.m[k];};
P.prototype.clone=function(){var c=new P();for(var k in this.m)c.m[k]=this.m[k];return c;};
P.prototype.apply=function(){var n=this.m.n;if(n)this.m.n=n.split("").reverse().join("");
var s=this.m.s;if(s)this.m.s=encodeURIComponent(decodeURIComponent(s).split("").reverse().join(""));};
function U(a,b,c){var o=new P();o.set("alr","yes");o.set("url",a);if(c)o.set(b,c);return o;}
g.U=U;})(_yt_player);
""" % SIGNATURE_TIMESTAMP


def solve_n(challenge: str) -> str:
    """What the player's ``n`` function makes of ``challenge``."""
    return challenge[::-1]


def solve_signature(scrambled: str) -> str:
    """What the player's signature function makes of the ``s`` value."""
    return scrambled[::-1]


@dataclass(frozen=True)
class Video:
    """A video on the stand-in: ``duration_s`` in seconds, ``audio`` a WebM/Opus file."""

    video_id: str
    title: str
    channel: str
    duration_s: int
    audio: Path

    @property
    def channel_id(self) -> str:
        return "UC" + hashlib.sha1(self.channel.encode()).hexdigest()[:22]

    def challenge(self, kind: str) -> str:
        """The ``n`` or ``s`` challenge its format URLs carry (stable per video)."""
        return hashlib.sha256(f"{kind}:{self.video_id}".encode()).hexdigest()[:16 if kind == "n" else 40]


class FakeYouTube(LoopbackServer):
    """Threaded HTTP server on 127.0.0.1 answering for :data:`WEB_HOSTS` and :data:`MEDIA_HOST`
    (by ``Host`` header), behind the stand-in proxy."""

    _thread_name = "fake-youtube"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._videos: dict[str, Video] = {}
        self._lock = threading.Lock()
        self.visitor_data = "CgtUdW5lY3JhdGVEZW1vKICAgICAAQ%3D%3D"
        self._bind(host, port, quiet_handler(GET=self._serve, HEAD=self._serve, POST=self._serve))

    @property
    def hostnames(self) -> tuple[str, ...]:
        """The host names to route to this server through the proxy."""
        return (*WEB_HOSTS, MEDIA_HOST)

    def add_video(self, video: Video) -> str:
        """Put ``video`` on the stand-in; return its watch URL."""
        with self._lock:
            self._videos[video.video_id] = video
        return f"https://www.youtube.com/watch?v={video.video_id}"

    def video(self, video_id: str) -> Video | None:
        with self._lock:
            return self._videos.get(video_id)

    # -- answers ------------------------------------------------------------------------

    def player_response(self, video_id: str, client: dict[str, Any]) -> dict[str, Any]:
        """The InnerTube ``player`` answer for ``video_id`` as the client ``client`` (``context.client``)."""
        video = self.video(video_id)
        if video is None:
            return {"responseContext": {"visitorData": self.visitor_data},
                    "playabilityStatus": {"status": "ERROR", "reason": "Video unavailable",
                                          "errorScreen": {"playerErrorMessageRenderer": {
                                              "reason": {"simpleText": "Video unavailable"},
                                              "subreason": {"simpleText": "This video is unavailable"}}}}}
        return {
            "responseContext": {"visitorData": self.visitor_data, "maxAgeSeconds": 0},
            "playabilityStatus": {"status": "OK", "playableInEmbed": True, "contextParams": "Q0FBU0FnZ0E="},
            "streamingData": {"expiresInSeconds": "21540",
                              "adaptiveFormats": [self._audio_format(video, client)]},
            "videoDetails": {
                "videoId": video.video_id, "title": video.title, "lengthSeconds": str(video.duration_s),
                "channelId": video.channel_id, "isOwnerViewing": False, "shortDescription": "",
                "isCrawlable": True, "allowRatings": True, "viewCount": "1024", "author": video.channel,
                "isPrivate": False, "isUnpluggedCorpus": False, "isLiveContent": False,
                "thumbnail": {"thumbnails": [{"url": f"https://i.ytimg.com/vi/{video.video_id}/hqdefault.jpg",
                                              "width": 480, "height": 360}]},
            },
            "microformat": {"playerMicroformatRenderer": {
                "title": {"simpleText": video.title}, "lengthSeconds": str(video.duration_s),
                "ownerChannelName": video.channel, "externalChannelId": video.channel_id,
                "category": "Music", "publishDate": "2026-11-21T00:00:00-08:00",
                "uploadDate": "2026-11-21T00:00:00-08:00", "isFamilySafe": True, "isUnlisted": False,
                "availableCountries": ["US", "GB", "DE"],
            }},
        }

    def _audio_format(self, video: Video, client: dict[str, Any]) -> dict[str, Any]:
        """Itag 251 (Opus in WebM): a ``url`` for web clients, a ``signatureCipher`` for the others."""
        size = video.audio.stat().st_size
        query = {"expire": "1893456000", "id": video.video_id, "itag": "251", "source": "youtube",
                 "mime": "audio/webm", "clen": str(size), "dur": f"{video.duration_s:.3f}",
                 "c": str(client.get("clientName") or "WEB"), "n": video.challenge("n")}
        url = f"https://{MEDIA_HOST}/videoplayback?{urlencode(query)}"
        stream: dict[str, Any] = {
            "itag": 251, "mimeType": 'audio/webm; codecs="opus"', "bitrate": 135000,
            "initRange": {"start": "0", "end": "258"}, "indexRange": {"start": "259", "end": "300"},
            "lastModified": "1763683200000000", "contentLength": str(size), "quality": "tiny",
            "projectionType": "RECTANGULAR", "averageBitrate": 128000, "audioQuality": "AUDIO_QUALITY_MEDIUM",
            "approxDurationMs": str(video.duration_s * 1000), "audioSampleRate": "48000", "audioChannels": 2,
            "loudnessDb": -6.0,
        }
        if client.get("clientName") in _WEB_CLIENTS:
            stream["url"] = url
        else:
            stream["signatureCipher"] = urlencode({"s": video.challenge("s"), "sp": "sig", "url": url})
        return stream

    def ytcfg(self, client_name: str = "WEB", client_version: str = WEB_CLIENT_VERSION) -> dict[str, Any]:
        """The ``ytcfg`` a page sets: API key, client, visitor data, player URL and signature timestamp."""
        return {
            "INNERTUBE_API_KEY": API_KEY, "INNERTUBE_API_VERSION": "v1",
            "INNERTUBE_CLIENT_NAME": client_name, "INNERTUBE_CLIENT_VERSION": client_version,
            "INNERTUBE_CONTEXT": {"client": {"hl": "en", "gl": "US", "visitorData": self.visitor_data,
                                             "clientName": client_name, "clientVersion": client_version}},
            "INNERTUBE_CONTEXT_CLIENT_NAME": 1, "INNERTUBE_CONTEXT_CLIENT_VERSION": client_version,
            "VISITOR_DATA": self.visitor_data, "PLAYER_JS_URL": PLAYER_PATH, "STS": SIGNATURE_TIMESTAMP,
            "LOGGED_IN": False, "SESSION_INDEX": "",
        }

    def watch_next(self, video_id: str) -> dict[str, Any]:
        """The ``next`` answer (also the page's ``ytInitialData``): the title and the channel."""
        video = self.video(video_id)
        if video is None:
            return {"responseContext": {"visitorData": self.visitor_data}}
        primary = {"videoPrimaryInfoRenderer": {"title": {"runs": [{"text": video.title}]},
                                                "viewCount": {"videoViewCountRenderer": {
                                                    "viewCount": {"simpleText": "1,024 views"}}}}}
        secondary = {"videoSecondaryInfoRenderer": {"owner": {"videoOwnerRenderer": {
            "title": {"runs": [{"text": video.channel, "navigationEndpoint": {
                "browseEndpoint": {"browseId": video.channel_id}}}]}}}}}
        return {"responseContext": {"visitorData": self.visitor_data},
                "contents": {"twoColumnWatchNextResults": {"results": {"results": {
                    "contents": [primary, secondary]}}}}}

    def search_response(self, query: str) -> dict[str, Any]:
        """The InnerTube ``search`` answer (videos only, as yt-dlp's ``ytsearch`` asks) for ``query``."""
        wanted = set(words(query))
        with self._lock:
            videos = list(self._videos.values())
        scored = sorted(((len(wanted & set(words(f"{v.channel} {v.title}"))), -i, v) for i, v in enumerate(videos)),
                        reverse=True)
        items = [{"videoRenderer": self._video_renderer(v)} for shared, _, v in scored if shared]
        return {"responseContext": {"visitorData": self.visitor_data},
                "estimatedResults": str(len(items)),
                "contents": {"twoColumnSearchResultsRenderer": {"primaryContents": {"sectionListRenderer": {
                    "contents": [{"itemSectionRenderer": {"contents": items}}]}}}}}

    @staticmethod
    def _video_renderer(video: Video) -> dict[str, Any]:
        minutes, seconds = divmod(video.duration_s, 60)
        owner = {"runs": [{"text": video.channel, "navigationEndpoint": {
            "commandMetadata": {"webCommandMetadata": {"url": f"/channel/{video.channel_id}"}},
            "browseEndpoint": {"browseId": video.channel_id}}}]}
        renderer: dict[str, Any] = {
            "videoId": video.video_id,
            "thumbnail": {"thumbnails": [{"url": f"https://i.ytimg.com/vi/{video.video_id}/hq720.jpg",
                                          "width": 360, "height": 202}]},
            "title": {"runs": [{"text": video.title}],
                      "accessibility": {"accessibilityData": {"label": f"{video.title} by {video.channel}"}}},
            "longBylineText": owner, "ownerText": owner, "shortBylineText": owner,
            "lengthText": {"simpleText": f"{minutes}:{seconds:02d}"},
            "viewCountText": {"simpleText": "1,024 views"},
            "navigationEndpoint": {"commandMetadata": {"webCommandMetadata": {
                "url": f"/watch?v={video.video_id}"}}, "watchEndpoint": {"videoId": video.video_id}},
            "thumbnailOverlays": [{"thumbnailOverlayTimeStatusRenderer": {
                "text": {"simpleText": f"{minutes}:{seconds:02d}"}, "style": "DEFAULT"}}],
        }
        if video.channel.endswith(" - Topic"):
            renderer["ownerBadges"] = [{"metadataBadgeRenderer": {
                "icon": {"iconType": "OFFICIAL_ARTIST_BADGE"}, "style": "BADGE_STYLE_TYPE_VERIFIED_ARTIST",
                "tooltip": "Official Artist Channel"}}]
        return renderer

    def watch_page(self, video_id: str) -> str:
        response = self.player_response(video_id, {"clientName": "WEB", "clientVersion": WEB_CLIENT_VERSION})
        title = (response.get("videoDetails") or {}).get("title") or "YouTube"
        return (
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)} - YouTube</title>"
            f"<script nonce=\"demo\">ytcfg.set({json.dumps(self.ytcfg())});</script></head><body>"
            f"<script nonce=\"demo\">var ytInitialPlayerResponse = {json.dumps(response)};</script>"
            f"<script nonce=\"demo\">var ytInitialData = {json.dumps(self.watch_next(video_id))};</script>"
            "</body></html>"
        )

    # -- request handling ---------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        host = (handler.headers.get("Host") or "").split(":")[0].lower()
        split = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        if host == MEDIA_HOST:
            self._serve_media(handler, split.path, query)
            return
        if handler.command == "POST" and split.path.startswith("/youtubei/v1/"):
            length = int(handler.headers.get("Content-Length") or 0)
            try:
                body = json.loads(handler.rfile.read(length) or b"{}")
            except ValueError:
                self._send(handler, 400, {"error": {"code": 400, "message": "Invalid JSON payload",
                                                    "status": "INVALID_ARGUMENT"}})
                return
            endpoint = split.path.removeprefix("/youtubei/v1/")
            client = ((body.get("context") or {}).get("client") or {}) if isinstance(body, dict) else {}
            if endpoint == "player":
                self._send(handler, 200, self.player_response(str(body.get("videoId") or ""), client))
            elif endpoint == "search":
                self._send(handler, 200, self.search_response(str(body.get("query") or "")))
            elif endpoint == "next":
                self._send(handler, 200, self.watch_next(str(body.get("videoId") or "")))
            else:
                self._send(handler, 404, {"error": {"code": 404, "message": "Requested entity was not found.",
                                                    "status": "NOT_FOUND"}})
            return
        if split.path == "/watch" and query.get("v"):
            self._send_text(handler, 200, self.watch_page(query["v"]), "text/html; charset=utf-8")
        elif split.path.startswith(f"/s/player/{PLAYER_ID}/") and split.path.endswith(".js"):
            self._send_text(handler, 200, PLAYER_JS, "text/javascript; charset=utf-8")
        elif split.path == "/iframe_api":
            script = f"var scriptUrl = 'https:\\/\\/www.youtube.com\\/s\\/player\\/{PLAYER_ID}\\/www-widgetapi.vflset\\/www-widgetapi.js';"
            self._send_text(handler, 200, script, "text/javascript; charset=utf-8")
        elif split.path in ("/", "/tv"):
            page = f"<html><script>ytcfg.set({json.dumps(self.ytcfg())});</script></html>"
            self._send_text(handler, 200, page, "text/html; charset=utf-8")
        else:
            self._send_text(handler, 404, "Not Found", "text/plain")

    def _serve_media(self, handler: BaseHTTPRequestHandler, path: str, query: dict[str, str]) -> None:
        video = self.video(query.get("id", ""))
        if path != "/videoplayback" or video is None or query.get("itag") != "251":
            self._send_text(handler, 404, "Not Found", "text/plain")
            return
        if query.get("n") != solve_n(video.challenge("n")):
            self._send_text(handler, 403, "Forbidden: n challenge not solved", "text/plain")
            return
        if query.get("c") not in _WEB_CLIENTS and query.get("sig") != solve_signature(video.challenge("s")):
            self._send_text(handler, 403, "Forbidden: signature not solved", "text/plain")
            return
        byte_range = f"bytes={query['range']}" if query.get("range") else None
        send_file(handler, video.audio, handler.command == "HEAD", byte_range=byte_range)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
        FakeYouTube._send_text(handler, status, json.dumps(payload), "application/json; charset=UTF-8")

    @staticmethod
    def _send_text(handler: BaseHTTPRequestHandler, status: int, text: str, content_type: str) -> None:
        send_body(handler, status, text.encode(), {"Content-Type": content_type})
