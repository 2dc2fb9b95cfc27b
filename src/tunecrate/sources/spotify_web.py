"""The ``spotify-web`` source: public Spotify playlists, albums and tracks, with no credentials.

Two public services of Spotify's, reached with httpx:

- the **embed pages** ``{TUNECRATE_SPOTIFY_WEB_URL}/embed/{playlist|album|track}/{id}``
  (default ``https://open.spotify.com``): one GET, no secret. The page's
  ``<script id="__NEXT_DATA__" type="application/json">`` holds
  ``props.pageProps.state.data.entity`` (``id``, ``uri``, ``name``/``title``,
  ``subtitle``, ``coverArt.sources[]``, ``releaseDate.isoString``, and
  ``trackList[]`` rows: ``uri`` = ``spotify:track:ID``, ``title``,
  ``subtitle`` = the artists joined by ``",\\u00a0"``, ``duration`` in ms,
  ``isExplicit``, ``entityType``; a track's page has ``artists[]`` and
  ``relatedEntityUri``, its album) and
  ``props.pageProps.state.settings.session.accessToken``, an anonymous
  token. An entity that is not public has ``status`` or ``forbiddenReason``
  in ``pageProps``. The rows carry no album, no ISRC, and stop at 100;
- the **partner GraphQL endpoint** ``TUNECRATE_SPOTIFY_PARTNER_URL``
  (default ``https://api-partner.spotify.com/pathfinder/v1/query``), the web
  player's own: ``GET ?operationName=fetchPlaylist&variables={"uri",
  "offset", "limit", "enableWatchFeedEntrypoint"}&extensions={"persistedQuery":
  {"version": 1, "sha256Hash": …}}`` with the embed's token as bearer. It
  answers ``data.playlistV2`` (``name``, ``description``,
  ``content.totalCount`` and ``content.items[].itemV2.data``: ``__typename``
  ``Track``, ``uri``, ``name``, ``trackDuration.totalMilliseconds``,
  ``artists.items[].profile.name``, ``albumOfTrack.{name, uri,
  artists.items[].profile.name, coverArt.sources[]}``, ``contentRating.label``,
  ``trackNumber``, ``discNumber``). The persisted query's hash changes when
  Spotify ships a new web player, so it is a setting
  (``TUNECRATE_SPOTIFY_PARTNER_HASH``); an unknown hash
  (``PersistedQueryNotFound``) is a :class:`ConfigurationError` that names it.

Requests, for a playlist of N entries:

=============================  ================================================================
``playlist(id)``, ``snapshot``  1 + ceil(N/100): the embed page, then ``fetchPlaylist`` pages of
                               100 (the rows carry title, artists, album, album artists, cover,
                               duration, explicit, track and disc number)
``album(id)``                  1: the embed page (at most 100 tracks)
``track(id)``                  2: the track's embed page, then its album's (for the album's
                               name, album artists and the track's number); 1 when the page
                               names no album
=============================  ================================================================

When the partner endpoint fails (5xx, network, a refused token, an answer
without the playlist, an empty page before ``totalCount``), the playlist is built from what was read: the
partner pages that arrived, else the embed's rows. The list is then
``complete=False`` (a sync adds what it sees and prunes nothing), its
snapshot is ``None``, and one warning says how many entries were left out
and which tags the files it downloads will lack. The fields a track lacks are named
in :attr:`TrackInfo.missing <tunecrate.core.types.TrackInfo.missing>`; this
source never knows an ISRC.

Reading a playlist or an album makes no request per track. A row that
lacks what the matcher needs (artists or duration: an embed row the page
sends short) is filled by :meth:`SpotifyWebSource.complete`, one
request to the track's embed page, which the pipeline calls only for a
track it is about to search for: a track whose file is there, or that is
pinned or skipped, costs nothing, and a track once filled keeps what was
filled on its row. The file and row of a filled track then carry the filled
artists and duration, and the track page's cover and release date where the
row had none.

Snapshots: the embed carries no snapshot id, so the snapshot is a digest of
the ordered track ids (``"sha256:<32 hex>"``). Computing it reads the whole
list; the list read is kept for the ``fetch`` that a changed snapshot leads
to, so a no-op sync costs 1 + ceil(N/100) requests and a changed one no more.

Which links it takes (:meth:`SpotifyWebSource.suitable`) follows
``TUNECRATE_SPOTIFY_SOURCE``: every public track, album and playlist unless
it is ``api``. It reads no Liked Songs. Every request runs under the one
retry policy (:mod:`tunecrate.core.retry`); ``TUNECRATE_PROXY`` and
``TUNECRATE_CA_BUNDLE`` reach its HTTP client. httpx is imported on the
first request.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import field_validator

from ..core.errors import (
    ConfigurationError, NotFound, RateLimited, ServiceError, ServiceUnavailable, TunecrateError,
)
from ..core.ids import Reference, is_spotify_id, parse_spotify_ref
from ..core.retry import retry_call
from ..core.settings import SettingsModel, setting
from ..core.types import OPTIONAL_FIELDS, SkippedEntry, TrackInfo, TrackList
from .spotify_api import _parse_retry_after
from .spotify_login import SOURCE_CHOICES, SpotifySettings, checked_url

if TYPE_CHECKING:
    import httpx

    from ..core.settings import Settings

__all__ = ["DEFAULT_PARTNER_HASH", "DEFAULT_PARTNER_URL", "DEFAULT_WEB_URL", "EMBED_ROW_LIMIT", "PARTNER_PAGE_SIZE",
           "SpotifyWebSettings", "SpotifyWebSource", "digest_snapshot", "split_artists"]

DEFAULT_WEB_URL = "https://open.spotify.com"
DEFAULT_PARTNER_URL = "https://api-partner.spotify.com/pathfinder/v1/query"
#: The ``sha256Hash`` of the web player's ``fetchPlaylist`` persisted query (2026).
DEFAULT_PARTNER_HASH = "a65e12194ed5fc443a1cdebed5fabe33ca5b07b987185d63c72483867ad13cb4"
#: Entries asked for per ``fetchPlaylist`` page.
PARTNER_PAGE_SIZE = 100
#: The most rows an embed page lists.
EMBED_ROW_LIMIT = 100
#: How the embed joins a row's artists in ``subtitle``.
ARTIST_SEPARATOR = ",\u00a0"

_NEXT_DATA = re.compile(r"""<script\b[^>]*\bid\s*=\s*["']__NEXT_DATA__["'][^>]*>(.*?)</script>""", re.S | re.I)
_HASH_SETTING = "TUNECRATE_SPOTIFY_PARTNER_HASH"
_USER_AGENT = "Mozilla/5.0 (compatible; tunecrate)"
#: Seconds a list read for :meth:`SpotifyWebSource.snapshot` stays usable by the ``fetch`` that follows it
#: within the same sync (milliseconds later, normally); any older read is read again.
_RECENT_S = 5.0
#: Fields a partner row never has; fields an embed row never has.
_PARTNER_NEVER = frozenset({"isrc", "release_date", "track_total"})
_EMBED_ROW_NEVER = frozenset({"album", "album_artists", "track_number", "track_total", "disc_number",
                              "release_date", "isrc", "cover_url"})
#: Tag names for the fields a partial view lacks, as the warning lists them.
_TAG_NAMES = {"album": "album", "album_artists": "album artist", "track_number": "track number",
              "disc_number": "disc number", "cover_url": "cover"}


class SpotifyWebSettings(SettingsModel):
    """How tunecrate reaches Spotify's public embed pages and the web player's partner API."""

    spotify_web_url: str = setting(DEFAULT_WEB_URL, env="TUNECRATE_SPOTIFY_WEB_URL",
                                   help="Spotify's public web host (embed pages)")
    spotify_partner_url: str = setting(DEFAULT_PARTNER_URL, env="TUNECRATE_SPOTIFY_PARTNER_URL",
                                       help="the web player's GraphQL endpoint (playlists past 100 entries)")
    spotify_partner_hash: str = setting(DEFAULT_PARTNER_HASH, env=_HASH_SETTING,
                                        help="sha256Hash of the web player's fetchPlaylist persisted query")
    spotify_web_timeout: float = setting(10.0, env="TUNECRATE_SPOTIFY_WEB_TIMEOUT",
                                         help="connect and read timeout of each web request (s)")
    spotify_web_retries: int = setting(3, env="TUNECRATE_SPOTIFY_WEB_RETRIES",
                                       help="retries of a web request after a 429, 5xx or network failure")

    @field_validator("spotify_partner_hash", mode="before")
    @classmethod
    def _hash(cls, value: object) -> str:
        text = str(value).strip().lower()
        if not re.fullmatch(r"[0-9a-f]{64}", text):
            raise ValueError("must be 64 hexadecimal digits (a sha256 hash)")
        return text

    @field_validator("spotify_web_timeout")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be more than 0 seconds")
        return value

    @field_validator("spotify_web_retries")
    @classmethod
    def _not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be 0 or more")
        return value


def split_artists(subtitle: Any) -> tuple[str, ...]:
    """The artists of an embed row's ``subtitle`` (``"A,\\u00a0B"`` → ``("A", "B")``); a plain comma
    stays inside a name ("Tyler, The Creator")."""
    if not isinstance(subtitle, str):
        return ()
    return tuple(name.strip() for name in subtitle.split(ARTIST_SEPARATOR) if name.strip())


def digest_snapshot(track_ids: Iterable[str]) -> str:
    """``"sha256:<32 hex digits>"`` of the ordered ``track_ids``: the snapshot of a list without snapshot ids."""
    return "sha256:" + hashlib.sha256("\n".join(track_ids).encode()).hexdigest()[:32]


class _PartnerFailed(Exception):
    """The partner endpoint failed in a way a partial view can get past: ``reason`` completes "Spotify's
    partner API …"; ``items`` were read before, of ``total`` (when known)."""

    def __init__(self, reason: str, items: list, total: int | None) -> None:
        super().__init__(reason)
        self.reason, self.items, self.total = reason, items, total


@dataclass(frozen=True)
class _Embed:
    """What an embed page holds: its entity and the anonymous access token (or None)."""

    entity: dict
    token: str | None


class SpotifyWebSource:
    """The ``spotify-web`` :class:`~tunecrate.sources.base.Source`: Spotify's public pages (see the module doc).

    ``web_url`` and ``partner_url`` default to Spotify's own hosts;
    ``partner_hash`` is the ``fetchPlaylist`` persisted-query hash;
    ``timeout_s`` bounds each request (connect and read, seconds);
    ``max_retries`` and ``backoff_s`` (the first wait, doubling) shape the
    retries of 429/5xx answers and network failures, and a 429 asking to
    wait more than ``max_retry_after_s`` seconds fails at once; ``proxy`` (a
    URL) and ``ca_bundle`` (a PEM file of certificate authorities trusted
    besides the system's) reach the HTTP client. ``choice`` is the value of
    ``TUNECRATE_SPOTIFY_SOURCE``.

    Raises :class:`ConfigurationError` for a URL that is not
    ``http(s)://host…``, a hash that is not 64 hex digits, or an unknown
    ``choice``. No request is made until a method is called.
    """

    name = "spotify-web"
    settings_model = SpotifyWebSettings

    def __init__(
        self,
        *,
        web_url: str = DEFAULT_WEB_URL,
        partner_url: str = DEFAULT_PARTNER_URL,
        partner_hash: str = DEFAULT_PARTNER_HASH,
        timeout_s: float = 10.0,
        max_retries: int = 3,
        backoff_s: float = 0.3,
        max_retry_after_s: float = 60.0,
        proxy: str | None = None,
        ca_bundle: Path | str | None = None,
        choice: str = "auto",
    ) -> None:
        if choice not in SOURCE_CHOICES:
            raise ConfigurationError(f"TUNECRATE_SPOTIFY_SOURCE must be one of {', '.join(SOURCE_CHOICES)}, "
                                     f"not {choice!r}")
        if not re.fullmatch(r"[0-9a-f]{64}", partner_hash or ""):
            raise ConfigurationError(f"{_HASH_SETTING} must be 64 hexadecimal digits, got {partner_hash!r}")
        self._web_url = checked_url(web_url, "TUNECRATE_SPOTIFY_WEB_URL").rstrip("/")
        self._partner_url = checked_url(partner_url, "TUNECRATE_SPOTIFY_PARTNER_URL")
        self._hash = partner_hash
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._backoff_s = backoff_s
        self._max_retry_after_s = max_retry_after_s
        self._proxy = proxy
        self._ca_bundle = ca_bundle
        self._choice = choice
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()
        self._unreachable = False
        self._recent: tuple[str, TrackList, float] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SpotifyWebSource:
        """The source for a library: its web settings, the shared Spotify settings, proxy and CA bundle."""
        web = settings.section(SpotifyWebSettings)
        spotify = settings.section(SpotifySettings)
        return cls(web_url=web.spotify_web_url, partner_url=web.spotify_partner_url,
                   partner_hash=web.spotify_partner_hash, timeout_s=web.spotify_web_timeout,
                   max_retries=web.spotify_web_retries, max_retry_after_s=spotify.spotify_max_retry_after,
                   proxy=settings.proxy, ca_bundle=settings.ca_bundle, choice=spotify.spotify_source)

    def close(self) -> None:
        """Close the pooled HTTP connections."""
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- the Source protocol -----------------------------------------------------------

    def suitable(self, ref: Reference) -> bool:
        """Spotify tracks, albums and playlists, unless ``TUNECRATE_SPOTIFY_SOURCE`` is ``api``."""
        return ref.is_spotify and ref.kind in ("track", "album", "playlist") and self._choice != "api"

    def fetch(self, ref: Reference) -> TrackList:
        """The list ``ref`` names (see the module docstring for the requests)."""
        if ref.kind == "track":
            track, warnings = self._track_with_album(ref.id)
            return TrackList(kind="track", id=track.track_id, title=f"{track.artist} - {track.title}",
                             entries=(track,), source=self.name, warnings=tuple(warnings))
        if ref.kind == "album":
            return self.album(ref.id)
        if ref.kind == "playlist":
            return self._take_recent(ref.id) or self.playlist(ref.id)
        raise NotFound(f"the Spotify web pages hold no {ref.kind}")

    def snapshot(self, ref: Reference) -> str | None:
        """A playlist's digest of its ordered track ids (it reads the list; ``None`` for a partial view
        and for anything else). The list read is kept for the ``fetch`` that follows."""
        if ref.kind != "playlist":
            return None
        tracks = self.playlist(ref.id)
        self._recent = (tracks.id, tracks, time.monotonic())
        return tracks.snapshot

    # -- public reads ------------------------------------------------------------------

    def track(self, track_id: str) -> TrackInfo:
        """One track from its embed page (1 request): title, artists, duration, explicit, release date
        and cover; album fields are in ``missing`` (:meth:`fetch` reads them from the album's page).

        For filling what another source lacks. Raises :class:`InvalidReference`,
        :class:`NotFound` for a track that is not public, and the errors of the module docstring.
        """
        tid = parse_spotify_ref(track_id, "track").id
        return _track_page_info(tid, self._embed("track", tid).entity)

    def complete(self, info: TrackInfo) -> TrackInfo:
        """``info`` with the artists, duration and title the matcher needs from the track's embed page
        (1 request), when ``info`` lacks one of them (an export row names one artist and no duration, an
        embed row may come without its duration or artists);
        the release date, cover and explicit flag come along where ``info`` lacks them, and
        ``missing`` drops what was filled.

        ``info`` comes back unchanged when it lacks none of them, when ``TUNECRATE_SPOTIFY_SOURCE``
        is ``api``, when the track is not public, and once the web pages could not be reached
        (network, 5xx, rate limit): from then on this source asks no more for the rest of its life,
        so an offline import costs one failed request. Raises nothing.
        """
        lacks = not info.title or not info.artists or not info.duration_ms or not (
            info.knows("artists") and info.knows("duration_ms"))
        if not lacks or self._choice == "api" or self._unreachable:
            return info
        with self._client_lock:  # the pipeline asks from several threads: one pooled client
            self._http()
        try:
            page = self.track(info.track_id)
        except (ServiceUnavailable, RateLimited):
            self._unreachable = True
            return info
        except TunecrateError:
            return info
        artists = page.artists if page.artists and (not info.artists or not info.knows("artists")) else ()
        return _with(info, title="" if info.title else page.title, artists=artists,
                     duration_ms=0 if info.knows("duration_ms") and info.duration_ms else page.duration_ms,
                     release_date=info.release_date or page.release_date, cover_url=info.cover_url or page.cover_url,
                     **({"explicit": page.explicit} if not info.knows("explicit") and page.knows("explicit") else {}))

    def album(self, album_id: str) -> TrackList:
        """An album from its embed page (1 request), ``kind="album"``.

        Each track has the album's name, artists (``owner`` too), cover and
        release date, and its number in the page's order (which runs on across
        discs: the disc is in ``missing``). Raises :class:`NotFound` for an
        album that is not public.
        """
        aid = parse_spotify_ref(album_id, "album").id
        entity = self._embed("album", aid).entity
        album = _album_of(entity)
        rows = _rows(entity)
        found, skipped = _embed_entries(rows)
        entries = [_with(info, album=album["name"], album_artists=album["artists"], cover_url=album["cover"],
                         release_date=album["date"], track_number=position + 1,
                         track_total=len(rows) if len(rows) < EMBED_ROW_LIMIT else None)
                   for position, info in found]
        warnings = ()
        if len(rows) >= EMBED_ROW_LIMIT:
            warnings = (f"Spotify's embed page lists at most {EMBED_ROW_LIMIT} tracks of album {aid}; "
                        "any after them were left out",)
        return TrackList(kind="album", id=aid, title=album["name"], entries=tuple(entries), skipped=skipped,
                         owner=", ".join(album["artists"]) or None, cover_url=album["cover"], source=self.name,
                         complete=len(rows) < EMBED_ROW_LIMIT, warnings=warnings)

    def playlist(self, playlist_id: str) -> TrackList:
        """A public playlist with every entry: the embed page, then ``fetchPlaylist`` pages of 100.

        Its snapshot is :func:`digest_snapshot` of the ordered track ids. When
        the partner endpoint fails, a partial view (see the module docstring).
        Raises :class:`NotFound` for a playlist that is not public,
        :class:`ConfigurationError` naming ``TUNECRATE_SPOTIFY_PARTNER_HASH``
        when the partner endpoint does not know the hash, and the errors of
        the module docstring for the embed page.
        """
        pid = parse_spotify_ref(playlist_id, "playlist").id
        embed = self._embed("playlist", pid)
        entity = embed.entity
        meta: dict = {}
        try:
            if not embed.token:
                raise _PartnerFailed("got no access token from the embed page", [], None)
            items, total, meta = self._partner_items(pid, embed.token)
        except _PartnerFailed as failed:
            return self._partial_playlist(pid, entity, failed)
        entries, skipped = _partner_entries(items)
        return TrackList(
            kind="playlist", id=pid, title=_text(meta.get("name")) or _entity_name(entity),
            entries=entries, skipped=skipped, snapshot=digest_snapshot(t.track_id for t in entries),
            owner=_owner(meta) or _text(entity.get("subtitle")) or None,
            description=_text(meta.get("description")) or None, cover_url=_largest(entity.get("coverArt")),
            source=self.name,
        )

    # -- playlists -----------------------------------------------------------------------

    def _partner_items(self, pid: str, token: str) -> tuple[list, int, dict]:
        """Every ``content.items[]`` of the playlist, its ``totalCount`` and the ``playlistV2`` object."""
        items: list = []
        total: int | None = None
        meta: dict = {}
        while True:
            try:
                playlist = self._partner_page(pid, token, len(items))
            except (ServiceUnavailable, RateLimited) as exc:
                raise _PartnerFailed(f"failed ({exc})", items, total) from exc
            except _PartnerFailed as exc:
                raise _PartnerFailed(exc.reason, items, total) from exc
            meta = meta or playlist
            content = playlist.get("content") if isinstance(playlist.get("content"), dict) else {}
            page = content.get("items")
            count = content.get("totalCount")
            if not isinstance(page, list) or not isinstance(count, int):
                raise _PartnerFailed("sent a playlist without its items", items, total)
            total = count
            if not page and len(items) < total:  # taken as the whole list, it would prune what it lacks
                raise _PartnerFailed(f"sent no entries from {len(items)} on, of {total}", items, total)
            items.extend(page)
            if len(items) >= total:
                return items, total, meta

    def _partner_page(self, pid: str, token: str, offset: int) -> dict:
        """``data.playlistV2`` of one ``fetchPlaylist`` page from ``offset``."""
        what = f"playlist {pid}"
        variables = {"uri": f"spotify:playlist:{pid}", "offset": offset, "limit": PARTNER_PAGE_SIZE,
                     "enableWatchFeedEntrypoint": False}
        extensions = {"persistedQuery": {"version": 1, "sha256Hash": self._hash}}
        params = {"operationName": "fetchPlaylist", "variables": json.dumps(variables, separators=(",", ":")),
                  "extensions": json.dumps(extensions, separators=(",", ":"))}
        response = self._get(what, self._partner_url, params=params,
                             headers={"Authorization": f"Bearer {token}", "App-Platform": "WebPlayer",
                                      "Accept": "application/json"})
        try:
            doc = response.json()
        except ValueError:
            doc = None
        errors = doc.get("errors") if isinstance(doc, dict) else None
        messages = [str(e.get("message") or (e.get("extensions") or {}).get("code") or "")
                    for e in errors or () if isinstance(e, dict)]
        if any("persistedquerynotfound" in m.replace("_", "").lower() for m in messages):
            raise ConfigurationError(
                f"Spotify's partner API does not know the fetchPlaylist query hash {self._hash[:12]}… (it changes "
                f"with the web player): set {_HASH_SETTING} to the sha256Hash the web player at open.spotify.com "
                "sends now")
        status = response.status_code
        if status in (401, 403):
            raise _PartnerFailed(f"refused the embed page's anonymous token ({status})", [], None)
        if status >= 400 or messages:
            reason = messages[0] if messages else f"HTTP {status}"
            raise _PartnerFailed(f"answered with an error ({reason})", [], None)
        playlist = ((doc or {}).get("data") or {}).get("playlistV2") if isinstance(doc, dict) else None
        if not isinstance(playlist, dict) or playlist.get("__typename") not in (None, "Playlist"):
            kind = playlist.get("__typename") if isinstance(playlist, dict) else "nothing"
            raise _PartnerFailed(f"answered {kind} for playlist {pid}", [], None)
        return playlist

    def _partial_playlist(self, pid: str, entity: dict, failed: _PartnerFailed) -> TrackList:
        """The view of a playlist whose partner pages failed: the pages read, else the embed's rows."""
        if failed.items:
            entries, skipped = _partner_entries(failed.items)
            seen = len(failed.items)
        else:
            rows = _rows(entity)
            found, skipped = _embed_entries(rows)
            entries, seen = tuple(info for _, info in found), len(rows)
        if failed.total is not None:
            left_out = (f"{failed.total - seen} of its {failed.total} entries were left out" if failed.total > seen
                        else "no entry was left out")
        elif seen >= EMBED_ROW_LIMIT:
            left_out = f"entries after the first {seen} were left out (the embed page lists at most {EMBED_ROW_LIMIT})"
        else:
            left_out = f"the embed page listed {seen} entries"
        lacking = sorted({name for t in entries for name in t.missing if name in _TAG_NAMES},
                         key=list(_TAG_NAMES).index)
        names = [_TAG_NAMES[n] for n in lacking]
        listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)
        tags = (f"; tracks downloaded from this read will lack the {listed} tags until a later sync and "
                f"`tunecrate retag` (files already in the library keep theirs)" if lacking else "")
        warning = (f"playlist {pid} was read from its embed page only, because Spotify's partner API "
                   f"{failed.reason}: {left_out}, and none will be removed from the library{tags}")
        return TrackList(kind="playlist", id=pid, title=_entity_name(entity), entries=entries, skipped=skipped,
                         snapshot=None, owner=_text(entity.get("subtitle")) or None,
                         cover_url=_largest(entity.get("coverArt")), source=self.name, complete=False,
                         warnings=(warning,))

    def _take_recent(self, pid: str) -> TrackList | None:
        """The list :meth:`snapshot` just read for ``pid`` (once, within :data:`_RECENT_S` seconds)."""
        recent, self._recent = self._recent, None
        if recent is not None and recent[0] == pid and time.monotonic() - recent[2] < _RECENT_S:
            return recent[1]
        return None

    # -- tracks ------------------------------------------------------------------------

    def _track_with_album(self, track_id: str) -> tuple[TrackInfo, list[str]]:
        """A track with its album's name, artists and the track's number, read from the album's embed page."""
        tid = parse_spotify_ref(track_id, "track").id
        entity = self._embed("track", tid).entity
        info = _track_page_info(tid, entity)
        related = _text(entity.get("relatedEntityUri"))
        album_id = related.removeprefix("spotify:album:") if related.startswith("spotify:album:") else ""
        if not is_spotify_id(album_id):
            return info, [f"Spotify's page of track {tid} names no album: its file will lack the album tags"]
        try:
            album_entity = self._embed("album", album_id).entity
        except (NotFound, ServiceError) as exc:
            return info, [f"the album of track {tid} could not be read ({exc}): its file will lack the album tags"]
        album = _album_of(album_entity)
        rows = _rows(album_entity)
        number = next((i + 1 for i, row in enumerate(rows) if _text(row.get("uri")) == f"spotify:track:{tid}"), None)
        info = _with(info, album=album["name"], album_artists=album["artists"], track_number=number,
                     track_total=len(rows) if number and len(rows) < EMBED_ROW_LIMIT else None,
                     cover_url=info.cover_url or album["cover"], release_date=info.release_date or album["date"])
        return info, []

    # -- HTTP --------------------------------------------------------------------------

    def _embed(self, kind: str, entity_id: str) -> _Embed:
        """The embed page of ``kind``/``entity_id``, parsed. Raises :class:`NotFound` for an entity that
        is not public, :class:`ServiceError` for a page without ``__NEXT_DATA__``."""
        what = f"{kind} {entity_id}"
        response = self._get(what, f"{self._web_url}/embed/{kind}/{entity_id}")
        hint = " (a private playlist needs --source api and `tunecrate login`)" if kind == "playlist" else ""
        if response.status_code == 404:
            raise NotFound(f"Spotify shows no public {what}{hint}")
        if response.status_code >= 400:
            raise ServiceError(f"Spotify's embed page of {what} answered {response.status_code}",
                               response.status_code)
        found = _NEXT_DATA.search(response.text)
        try:
            doc = json.loads(found.group(1)) if found else None
        except ValueError:
            doc = None
        props = _dig(doc, "props", "pageProps")
        if not isinstance(props, dict):
            raise ServiceError(f"Spotify's embed page of {what} carries no __NEXT_DATA__ JSON "
                               "(the page format may have changed)")
        status, reason = props.get("status"), props.get("forbiddenReason")
        if reason or (status is not None and status != 200):
            raise NotFound(f"Spotify shows no public {what}: its embed page says {reason or status}{hint}")
        entity = _dig(props, "state", "data", "entity")
        # Not the uri: a track relinked for the market may carry another id; the link's id stays the track's.
        if not isinstance(entity, dict) or _text(entity.get("type")) not in ("", kind):
            raise ServiceError(f"Spotify's embed page of {what} holds no {kind}")
        token = _dig(props, "state", "settings", "session", "accessToken")
        return _Embed(entity, token if isinstance(token, str) and token else None)

    def _get(self, what: str, url: str, *, params: dict | None = None,
             headers: dict | None = None) -> httpx.Response:
        """One GET under the retry policy; 429, 408 and 5xx answers and network failures become the
        transient errors it retries. Other answers are returned as they are."""

        def attempt() -> httpx.Response:
            import httpx

            try:
                response = self._http().get(url, params=params, headers=headers)
            except httpx.TimeoutException as exc:
                raise ServiceUnavailable(f"Spotify at {urlsplit(url).netloc} sent no answer within "
                                         f"{self._timeout_s:g} s for {what}") from exc
            except httpx.HTTPError as exc:
                raise ServiceUnavailable(f"cannot reach Spotify at {urlsplit(url).netloc}: "
                                         f"{_network_reason(exc)}") from exc
            status = response.status_code
            if status == 429:
                wait = _parse_retry_after(response.headers.get("Retry-After"))
                if wait is not None and wait > self._max_retry_after_s:
                    raise RateLimited(f"Spotify rate limit: asked to wait {wait:g} s, more than the "
                                      f"{self._max_retry_after_s:g} s bound (TUNECRATE_SPOTIFY_MAX_RETRY_AFTER); "
                                      "try again later", retry_after=wait, transient=False)
                raise RateLimited(f"Spotify rate limit still in force for {what} after {self._max_retries} "
                                  "retries; try again later", retry_after=wait)
            if status >= 500 or status == 408:
                raise ServiceUnavailable(f"Spotify at {urlsplit(url).netloc} answered {status} for {what}, also "
                                         f"after {self._max_retries} retries; try again later", status)
            return response

        return retry_call(attempt, attempts=1 + self._max_retries, backoff_s=self._backoff_s,
                          max_wait_s=self._max_retry_after_s, max_total_wait_s=2 * self._max_retry_after_s)

    def _http(self) -> httpx.Client:
        if self._client is None:
            from tunecrate.core.net import httpx_client

            self._client = httpx_client(self._proxy, self._ca_bundle, timeout=self._timeout_s,
                                        follow_redirects=True,
                                        headers={"User-Agent": _USER_AGENT, "Accept-Language": "en"})
        return self._client


# -- parsing ------------------------------------------------------------------------------------


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _int(value: Any) -> int:
    """An integer from a JSON number or a numeric string (the embed sends both); 0 otherwise."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return 0


def _largest(image: Any) -> str | None:
    """URL of the largest of ``{"sources": [{"url", "width", "height"}]}`` (sizes may be null)."""
    sources = image.get("sources") if isinstance(image, dict) else image
    found = [s for s in sources or () if isinstance(s, dict) and _text(s.get("url"))]
    if not found:
        return None
    return max(found, key=lambda s: (s.get("width") or s.get("maxWidth") or 0))["url"]


def _date(value: Any) -> str | None:
    """``"YYYY-MM-DD"`` from ``{"isoString": "2026-11-21T00:00:00Z"}``, or None."""
    iso = _text(_dig(value, "isoString") if isinstance(value, dict) else value)
    return iso[:10] if re.match(r"\d{4}-\d{2}-\d{2}", iso) else None


def _entity_name(entity: dict) -> str:
    return _text(entity.get("name")) or _text(entity.get("title"))


def _owner(playlist: dict) -> str:
    return _text(_dig(playlist, "ownerV2", "data", "name"))


def _names(items: Any) -> tuple[str, ...]:
    """Names from ``{"items": [{"profile": {"name"}}]}`` (partner) or ``[{"name"}]`` (embed)."""
    items = items.get("items") if isinstance(items, dict) else items
    names = (_text(_dig(a, "profile", "name")) or _text(_dig(a, "name")) for a in items or () if isinstance(a, dict))
    return tuple(n for n in names if n)


def _rows(entity: dict) -> list[dict]:
    return [row for row in entity.get("trackList") or () if isinstance(row, dict)]


def _album_of(entity: dict) -> dict:
    """An album embed's name, artists, cover and release date."""
    return {"name": _entity_name(entity), "artists": split_artists(entity.get("subtitle")) or _names(
        entity.get("artists")), "cover": _largest(entity.get("coverArt")), "date": _date(entity.get("releaseDate"))}


def _info(track_id: str, title: str, artists: tuple[str, ...], *, known: frozenset[str] = frozenset(),
          never: frozenset[str] = frozenset(), **values: Any) -> TrackInfo:
    """A :class:`TrackInfo` whose ``missing`` names the optional fields left empty (``explicit`` is
    known only when it is in ``known``) and those in ``never``."""
    info = TrackInfo(track_id=track_id, title=title, artists=artists, **values)
    missing = {name for name in OPTIONAL_FIELDS if name != "explicit" and _empty(getattr(info, name))}
    if "explicit" not in known:
        missing.add("explicit")
    return replace(info, missing=frozenset(missing | never))


def _empty(value: Any) -> bool:
    """Whether a field's value says nothing: None, ``""``, ``()`` or a duration/number of 0."""
    return value is None or value == "" or value == () or (type(value) is int and value == 0)


def _with(info: TrackInfo, **values: Any) -> TrackInfo:
    """``info`` with the non-empty ``values`` filled in; ``missing`` drops the fields that now hold one."""
    values = {k: v for k, v in values.items() if not _empty(v)}
    filled = replace(info, **values)
    return replace(filled, missing=frozenset(n for n in info.missing if n not in values))


def _row_info(row: dict) -> tuple[TrackInfo | None, str]:
    """An embed ``trackList`` row as a track, or ``(None, skip reason)``."""
    uri = _text(row.get("uri"))
    kind = _text(row.get("entityType"))
    if kind == "episode" or uri.startswith("spotify:episode:"):
        return None, "episode"
    if uri.startswith("spotify:local:"):
        return None, "local"
    track_id = uri.removeprefix("spotify:track:")
    title = _text(row.get("title"))
    if not uri.startswith("spotify:track:") or not is_spotify_id(track_id) or not title:
        return None, "unavailable"
    explicit = row.get("isExplicit")
    return _info(track_id, title, split_artists(row.get("subtitle")), duration_ms=_int(row.get("duration")),
                 explicit=bool(explicit), known=frozenset({"explicit"} if isinstance(explicit, bool) else ()),
                 never=_EMBED_ROW_NEVER), ""


def _track_page_info(track_id: str, entity: dict) -> TrackInfo:
    """A track's embed entity as a :class:`TrackInfo` (album fields missing)."""
    explicit = entity.get("isExplicit")
    return _info(track_id, _text(entity.get("title")) or _text(entity.get("name")),
                 _names(entity.get("artists")) or split_artists(entity.get("subtitle")),
                 duration_ms=_int(entity.get("duration")), explicit=bool(explicit),
                 release_date=_date(entity.get("releaseDate")), cover_url=_largest(entity.get("coverArt")),
                 known=frozenset({"explicit"} if isinstance(explicit, bool) else ()),
                 never=frozenset({"isrc", "album", "album_artists", "track_number", "track_total", "disc_number"}))


def _embed_entries(rows: list[dict]) -> tuple[list[tuple[int, TrackInfo]], tuple[SkippedEntry, ...]]:
    """An embed page's track rows as ``(position, track)`` pairs and skipped entries, in order."""
    entries: list[tuple[int, TrackInfo]] = []
    skipped: list[SkippedEntry] = []
    for position, row in enumerate(rows):
        info, reason = _row_info(row)
        if info is None:
            skipped.append(SkippedEntry(position, reason, _text(row.get("title")) or None))
        else:
            entries.append((position, info))
    return entries, tuple(skipped)


def _partner_entries(items: list) -> tuple[tuple[TrackInfo, ...], tuple[SkippedEntry, ...]]:
    """``content.items[]`` of ``fetchPlaylist`` as tracks and skipped entries, in order."""
    entries: list[TrackInfo] = []
    skipped: list[SkippedEntry] = []
    for position, item in enumerate(items):
        data = _dig(item, "itemV2", "data")
        if not isinstance(data, dict):
            skipped.append(SkippedEntry(position, "null"))
            continue
        info, reason = _partner_info(data)
        if info is None:
            skipped.append(SkippedEntry(position, reason, _text(data.get("name")) or None))
        else:
            entries.append(info)
    return tuple(entries), tuple(skipped)


def _partner_info(data: dict) -> tuple[TrackInfo | None, str]:
    """One ``itemV2.data`` object as a track, or ``(None, skip reason)``."""
    uri, kind = _text(data.get("uri")), _text(data.get("__typename"))
    if kind == "LocalTrack" or uri.startswith("spotify:local:"):
        return None, "local"
    if kind == "Episode" or uri.startswith("spotify:episode:"):
        return None, "episode"
    track_id = uri.removeprefix("spotify:track:")
    title = _text(data.get("name"))
    if kind != "Track" or not uri.startswith("spotify:track:") or not is_spotify_id(track_id) or not title:
        return None, "unavailable"
    album = data.get("albumOfTrack") if isinstance(data.get("albumOfTrack"), dict) else {}
    label = _dig(data, "contentRating", "label")
    return _info(track_id, title, _names(data.get("artists")), album=_text(album.get("name")),
                 album_artists=_names(album.get("artists")),
                 duration_ms=_int(_dig(data, "trackDuration", "totalMilliseconds")),
                 track_number=_int(data.get("trackNumber")) or None, disc_number=_int(data.get("discNumber")) or None,
                 explicit=label == "EXPLICIT", cover_url=_largest(album.get("coverArt")),
                 known=frozenset({"explicit"} if isinstance(label, str) else ()), never=_PARTNER_NEVER), ""


def _network_reason(exc: Exception) -> str:
    """A short reason for a failed connection: ``[Errno 111] Connection refused`` or the error's name."""
    found = re.search(r"\[Errno -?\d+\][^'\")]*", str(exc))
    return found.group(0).strip() if found else (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)

