"""The ``subsonic`` target and source: playlists on a Subsonic server (Navidrome, Airsonic, Gonic).

Settings (:class:`SubsonicSettings`): ``TUNECRATE_SUBSONIC_URL`` (the server, e.g.
``http://127.0.0.1:4533``), ``TUNECRATE_SUBSONIC_USER``, ``TUNECRATE_SUBSONIC_PASSWORD``.

The Subsonic REST API, spoken with httpx (py-sonic, the usual client, is GPL and tunecrate is MIT):
``GET|POST {url}/rest/{method}.view`` with ``u`` (the user), ``t`` = md5(password + salt) in hex,
``s`` (a fresh random salt per request), ``v=1.16.1``, ``c=tunecrate`` and ``f=json``; every answer is
``{"subsonic-response": {"status": "ok"|"failed", "error": {"code", "message"}, …}}``. Methods used:

- ``search3?query=…&songCount=20&artistCount=0&albumCount=0``: candidates for a song, by its title
  (then by artist and title when that finds nothing good enough): at most two requests per entry
  that is not already in the playlist. ``song.duration`` is in seconds; ``isrc`` (a list, OpenSubsonic)
  is used when the server sends it (Navidrome does);
- ``getPlaylists``, ``getPlaylist?id=``: the playlist by name, and its entries;
- ``createPlaylist?name=&songId=…`` for a new playlist; for an existing one
  ``updatePlaylist?playlistId=&songIndexToRemove=…&songIdToAdd=…`` when removing and appending
  suffices, else ``createPlaylist?playlistId=&songId=…`` (which replaces the list: the API cannot move
  entries). One write request either way, none when nothing changed. Writes are form POSTs, so that
  long lists fit.

Errors: code 40 (wrong user or password) and 41 (token authentication refused) →
:class:`AuthError`; 70 → :class:`NotFound`; other codes → :class:`ServiceError`; unreachable, 5xx and
timeouts → :class:`ServiceUnavailable`. httpx is imported on first use.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tunecrate.core.errors import (
    AuthError, ConfigurationError, NotFound, ServiceError, ServiceUnavailable, TunecrateError,
)
from tunecrate.core.ids import Reference
from tunecrate.core.matching import Thresholds
from tunecrate.core.retry import retry_call
from tunecrate.core.settings import SettingsModel, setting
from tunecrate.core.types import TrackInfo, TrackList
from tunecrate.core.service import (
    LibraryFiles, Operation, PlaylistPlan, ProgressFn, PushReport, RemotePlaylist, RemoteTrack, ServiceLibrary,
    WriteOutcome, order_changes, plan_playlist,
)

if TYPE_CHECKING:
    import httpx

    from tunecrate.core.settings import Settings

__all__ = ["API_VERSION", "CLIENT", "SubsonicService", "SubsonicSettings", "SubsonicSource", "SubsonicTarget"]

#: The API version tunecrate speaks (``v``).
API_VERSION = "1.16.1"
#: The client name tunecrate gives (``c``).
CLIENT = "tunecrate"
#: Songs asked of one ``search3``.
SEARCH_SIZE = 20
_TIMEOUT_S = 30.0
_BRACKETS = re.compile(r"\s*[(\[].*?[)\]]|\s+-\s+.*$")


class SubsonicSettings(SettingsModel):
    """How tunecrate reaches a Subsonic server."""

    subsonic_url: str | None = setting(None, env="TUNECRATE_SUBSONIC_URL",
                                       help="the Subsonic server (Navidrome, Airsonic, Gonic), e.g. http://127.0.0.1:4533")
    subsonic_user: str | None = setting(None, env="TUNECRATE_SUBSONIC_USER", help="the Subsonic user name")
    subsonic_password: str | None = setting(None, env="TUNECRATE_SUBSONIC_PASSWORD", help="the Subsonic password")


def _song(doc: dict) -> RemoteTrack:
    """A ``song``/``entry`` object (Subsonic ``Child``) as a :class:`RemoteTrack`."""
    isrc = doc.get("isrc")
    if isinstance(isrc, list):
        isrc = next((str(i) for i in isrc if i), None)
    artist = doc.get("artist") or doc.get("displayArtist") or ""
    duration = doc.get("duration")
    return RemoteTrack(item_id=str(doc.get("id", "")), title=str(doc.get("title") or ""),
                       artists=(str(artist),) if artist else (), album=str(doc.get("album") or ""),
                       album_artist=str(doc.get("displayAlbumArtist") or ""),
                       duration_ms=int(duration) * 1000 if isinstance(duration, (int, float)) and duration else None,
                       isrc=str(isrc) if isrc else None, path=doc.get("path"))


class _Client:
    """The Subsonic API over one httpx client, with token authentication and errors translated."""

    def __init__(self, settings: SubsonicSettings, *, proxy: str | None, ca_bundle: Path | None) -> None:
        missing = [n for n, v in (("TUNECRATE_SUBSONIC_URL", settings.subsonic_url),
                                  ("TUNECRATE_SUBSONIC_USER", settings.subsonic_user),
                                  ("TUNECRATE_SUBSONIC_PASSWORD", settings.subsonic_password)) if not v]
        if missing:
            raise ConfigurationError(f"the Subsonic server is not configured: set {' and '.join(missing)}")
        split = urlsplit(settings.subsonic_url)
        if split.scheme not in ("http", "https") or not split.hostname:
            raise ConfigurationError(f"TUNECRATE_SUBSONIC_URL must be an http(s) URL, got {settings.subsonic_url!r}")
        self.settings = settings
        self.host = split.netloc
        self.base = settings.subsonic_url.rstrip("/") + "/rest/"
        self._proxy, self._ca_bundle = proxy, ca_bundle
        self._http: httpx.Client | None = None

    def _auth(self) -> dict[str, str]:
        salt = secrets.token_hex(6)
        token = hashlib.md5((self.settings.subsonic_password + salt).encode("utf-8")).hexdigest()
        return {"u": self.settings.subsonic_user, "t": token, "s": salt, "v": API_VERSION, "c": CLIENT, "f": "json"}

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            from tunecrate.core.net import httpx_client

            self._http = httpx_client(self._proxy, self._ca_bundle, timeout=_TIMEOUT_S)
        return self._http

    def call(self, method: str, params: Sequence[tuple[str, Any]] = (), *, write: bool = False) -> dict:
        """The ``subsonic-response`` of ``method`` (``params`` may repeat keys). Reads are retried."""
        def attempt() -> dict:
            import httpx

            query = [*self._auth().items(), *((k, str(v)) for k, v in params)]
            url = self.base + method + ".view"
            try:
                if write:
                    response = self.http.post(url, data=dict(_grouped(query)))
                else:
                    response = self.http.get(url, params=query)
            except httpx.TimeoutException:
                raise ServiceUnavailable(f"the Subsonic server at {self.host} did not answer {method} within "
                                         f"{_TIMEOUT_S:g} s") from None
            except httpx.HTTPError as exc:
                raise ServiceUnavailable(f"cannot reach the Subsonic server at {self.host}: {type(exc).__name__}; "
                                         "check TUNECRATE_SUBSONIC_URL") from None
            return self._answer(method, response)

        return retry_call(attempt, attempts=1 if write else 3, backoff_s=0.5, max_wait_s=5, max_total_wait_s=15)

    def _answer(self, method: str, response: httpx.Response) -> dict:
        status = response.status_code
        if status >= 500 or status in (408, 429):
            raise ServiceUnavailable(f"the Subsonic server at {self.host} answered {status} to {method}", status)
        try:
            body = response.json()["subsonic-response"]
        except (ValueError, KeyError, TypeError):
            if status == 404:
                raise NotFound(f"no Subsonic API at {self.base} (404); check TUNECRATE_SUBSONIC_URL") from None
            raise ServiceError(f"the server at {self.host} did not answer {method} with subsonic-response JSON "
                               f"(HTTP {status}); check TUNECRATE_SUBSONIC_URL", status) from None
        if body.get("status") == "ok":
            return body
        error = body.get("error") or {}
        code, message = error.get("code"), " ".join(str(error.get("message") or "no message").split())
        if code == 40:
            raise AuthError(f"the Subsonic server refused user {self.settings.subsonic_user!r}: wrong username or "
                            "password (check TUNECRATE_SUBSONIC_USER and TUNECRATE_SUBSONIC_PASSWORD)", 401)
        if code in (41, 42):
            raise AuthError(f"the Subsonic server does not accept token authentication for this user (code {code}: "
                            f"{message})", 401)
        if code == 50:
            raise AuthError(f"the Subsonic server does not let {self.settings.subsonic_user!r} {method}: {message}",
                            403)
        if code == 70:
            raise NotFound(f"the Subsonic server has no such item ({method}: {message})")
        raise ServiceError(f"the Subsonic server refused {method} (code {code}: {message})")

    def close(self) -> None:
        if self._http is not None:
            self._http.close()


def _grouped(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out


class SubsonicService:
    """A Subsonic server as a :class:`~tunecrate.core.service.PlaylistService` (see the module docstring)."""

    name = "subsonic"
    provider = "subsonic"
    indexed = False
    exact = "path"

    def __init__(self, client: _Client) -> None:
        self.client = client

    def find_playlist(self, title: str) -> RemotePlaylist | None:
        lists = self.client.call("getPlaylists").get("playlists", {}).get("playlist", [])
        same = [p for p in lists if str(p.get("name", "")).casefold() == title.casefold()]
        same.sort(key=lambda p: p.get("name") != title)
        if not same:
            return None
        found = self.client.call("getPlaylist", [("id", same[0]["id"])]).get("playlist", {})
        entries = tuple((str(n), _song(doc)) for n, doc in enumerate(found.get("entry", [])))
        return RemotePlaylist(str(found.get("id", same[0]["id"])), str(found.get("name") or title), entries)

    def exact_matches(self, tracks: Sequence[TrackInfo], library: LibraryFiles) -> dict[str, RemoteTrack]:
        return {}

    def resolve(self, item: RemoteTrack) -> RemoteTrack | None:
        return item

    def _search(self, query: str) -> list[RemoteTrack]:
        body = self.client.call("search3", [("query", query), ("songCount", SEARCH_SIZE), ("artistCount", 0),
                                            ("albumCount", 0)])
        return [_song(s) for s in (body.get("searchResult3") or {}).get("song", []) if s.get("id")]

    def search(self, track: TrackInfo) -> list[RemoteTrack]:
        title = _BRACKETS.sub("", track.title).strip() or track.title
        found = self._search(title)
        if track.artists and not any(track.artists[0].casefold() in s.artist.casefold() for s in found):
            seen = {s.item_id for s in found}
            found += [s for s in self._search(f"{track.artists[0]} {title}") if s.item_id not in seen]
        return found

    def operations(self, playlist: RemotePlaylist | None, title: str, desired: Sequence[str]) -> list[Operation]:
        if playlist is None:
            return [Operation("create", tuple(desired))]
        changes = order_changes([(e, t.item_id) for e, t in playlist.entries], desired)
        if changes.unchanged:
            return []
        if changes.moves:
            return [Operation("replace", tuple(desired))]
        return [Operation("update", items=changes.add, entries=changes.remove)]

    def write(self, playlist: RemotePlaylist | None, title: str, desired: Sequence[str],
              progress: ProgressFn | None = None) -> WriteOutcome:
        if playlist is None:
            body = self.client.call("createPlaylist", [("name", title), *(("songId", i) for i in desired)], write=True)
            made = body.get("playlist") or {}
            playlist_id = str(made["id"]) if made.get("id") is not None else None
            if playlist_id is None:
                found = self.find_playlist(title)
                playlist_id = found.playlist_id if found else None
            return WriteOutcome(playlist_id, created=True, added=len(desired), writes=1)
        changes = order_changes([(e, t.item_id) for e, t in playlist.entries], desired)
        if changes.unchanged:
            return WriteOutcome(playlist.playlist_id)
        if changes.moves:
            self.client.call("createPlaylist", [("playlistId", playlist.playlist_id),
                                                *(("songId", i) for i in desired)], write=True)
            return WriteOutcome(playlist.playlist_id, added=len(changes.add), removed=len(changes.remove),
                                moved=len(changes.moves), writes=1)
        self.client.call("updatePlaylist", [("playlistId", playlist.playlist_id),
                                            *(("songIndexToRemove", e) for e in changes.remove),
                                            *(("songIdToAdd", i) for i in changes.add)], write=True)
        return WriteOutcome(playlist.playlist_id, added=len(changes.add), removed=len(changes.remove), writes=1)


class SubsonicTarget:
    """Pushes one library playlist into a Subsonic playlist (``tunecrate push PLAYLIST --to subsonic``).

    Options as :class:`~tunecrate.targets.plex.PlexTarget`'s: ``name``, ``mode``, ``progress``.
    """

    name = "subsonic"
    settings_model = SubsonicSettings
    capabilities = frozenset({"push", "transfer"})

    def __init__(self, settings: SubsonicSettings, *, thresholds: Thresholds, proxy: str | None = None,
                 ca_bundle: Path | None = None, title: str | None = None, mode: str = "mirror",
                 progress: ProgressFn | None = None) -> None:
        self.settings = settings
        self.thresholds = thresholds
        self.title = title
        self.mode = mode
        self.progress = progress
        self._proxy, self._ca_bundle = proxy, ca_bundle
        self._service: SubsonicService | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> SubsonicTarget:
        return cls(settings.section(SubsonicSettings),
                   thresholds=Thresholds(settings.accept_threshold, settings.review_threshold),
                   proxy=settings.proxy, ca_bundle=settings.ca_bundle, title=options.get("name"),
                   mode=options.get("mode", "mirror"), progress=options.get("progress"))

    def service(self) -> SubsonicService:
        if self._service is None:
            self._service = SubsonicService(_Client(self.settings, proxy=self._proxy, ca_bundle=self._ca_bundle))
        return self._service

    def plan(self, lists: Sequence[TrackList], library: ServiceLibrary) -> PlaylistPlan:
        """Match the one list of ``lists`` and plan its Subsonic playlist (reads only)."""
        (tracks,) = lists
        return plan_playlist(self.service(), tracks, library, title=self.title or tracks.title, mode=self.mode,
                             thresholds=self.thresholds, progress=self.progress)

    def apply(self, plan: PlaylistPlan) -> PushReport:
        return plan.apply(self.progress)

    def close(self) -> None:
        if self._service is not None:
            self._service.client.close()


_SAFE_ID = re.compile(r"^[0-9A-Za-z_-]{1,58}$")


def song_track_id(song_id: str) -> str:
    """The track id of a Subsonic song: ``subsonic-song<id>``, or ``subsonic-h<digest>`` for an id that
    cannot be part of a stored id."""
    if _SAFE_ID.match(song_id):
        return f"subsonic-song{song_id}"
    return "subsonic-h" + hashlib.sha1(song_id.encode("utf-8")).hexdigest()[:20]


class SubsonicSource:
    """The ``subsonic`` :class:`~tunecrate.sources.base.Source`: a Subsonic playlist (by name) as a track
    list (track ids from :func:`song_track_id`). Requests: ``getPlaylists``, ``getPlaylist``."""

    name = "subsonic"
    settings_model = SubsonicSettings

    def __init__(self, settings: SubsonicSettings, *, proxy: str | None = None, ca_bundle: Path | None = None) -> None:
        self.settings = settings
        self._proxy, self._ca_bundle = proxy, ca_bundle
        self._client: _Client | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SubsonicSource:
        return cls(settings.section(SubsonicSettings), proxy=settings.proxy, ca_bundle=settings.ca_bundle)

    def suitable(self, ref: Reference) -> bool:
        return ref.service == "subsonic" and ref.kind == "playlist"

    def fetch(self, ref: Reference) -> TrackList:
        if self._client is None:
            self._client = _Client(self.settings, proxy=self._proxy, ca_bundle=self._ca_bundle)
        playlist = SubsonicService(self._client).find_playlist(ref.text)
        if playlist is None:
            raise NotFound(f"the Subsonic server has no playlist called {ref.text!r}")
        entries = tuple(t.info(song_track_id(t.item_id)) for _, t in playlist.entries)
        snapshot = hashlib.sha1(",".join(playlist.item_ids).encode()).hexdigest()
        return TrackList(kind="playlist", id=ref.id, title=playlist.title, entries=entries, snapshot=snapshot,
                         source=self.name)

    def snapshot(self, ref: Reference) -> str | None:
        try:
            return self.fetch(ref).snapshot
        except TunecrateError:
            return None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
