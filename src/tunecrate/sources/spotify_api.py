"""The ``spotify-api`` source: playlists, albums, single tracks and Liked Songs from the Web API.

Built on spotipy. Catalogue reads use the app's client-credentials token;
Liked Songs (``/me/tracks``) need a user login, made by
:mod:`tunecrate.sources.spotify_login` (Authorization Code with PKCE).
Settings: :class:`~tunecrate.sources.spotify_login.SpotifySettings`.

Requests made (the token request aside), for N entries:

============================  ========================================================
``track(id)``                 1: ``GET /tracks/{id}``
``playlist(id)``              at most 1 + ceil(N/50): ``GET /playlists/{id}`` (metadata,
                              snapshot and the embedded first page when Spotify sends
                              one), then ``GET /playlists/{id}/items?limit=50`` from the
                              first entry not embedded, following ``next``
``playlist_snapshot(id)``     1: ``GET /playlists/{id}?fields=snapshot_id``
``album(id)``                 1 + ceil((N-50)/50) pages, plus one ``GET /tracks/{id}``
                              per track: album tracks are simplified objects without
                              ``external_ids``, so the ISRC needs the full track
``saved_tracks()``            ceil(N/50), at least 1: ``GET /me/tracks?limit=50``
``saved_tracks_snapshot()``   1: ``GET /me/tracks?limit=1``
============================  ========================================================

The rule behind the per-track requests: an entry is fetched on its own only
when it lacks data (no ``external_ids`` or no ``album``). Batch lookups
(``?ids=``) are never used: development-mode apps lost them in February 2026.

Which links it takes (:meth:`SpotifyApiSource.suitable`) follows
``TUNECRATE_SPOTIFY_SOURCE``: with ``auto`` (the default) tracks, albums and
playlists only when the app credentials are set, so that without them the
``spotify-web`` source reads them; with ``api`` always; with ``web`` none of
them. Liked Songs are always its own.

Playlists are read with the user's login when there is one (``tunecrate
login``): a development-mode app reads the items of the playlists the user
owns or collaborates on only with the user's token. Without a login, the
app's client-credentials token reads them.

Errors (all :mod:`tunecrate.core.errors`, one-line messages): 401 →
:class:`AuthError`, 403 → :class:`~tunecrate.sources.base.SourceRefused`
(an :class:`AuthError` another source may get past), 404 → :class:`NotFound`
(:class:`~tunecrate.sources.base.SourceRefused` for a Spotify-owned ``37i9…``
playlist, which every Web API app gets 404 for since November 2024), 429 whose ``Retry-After`` exceeds
``max_retry_after_s`` (or that persists) → :class:`RateLimited`, 5xx after the
retries, timeouts and connection failures → :class:`ServiceUnavailable`.
The module's target half, :class:`SpotifyTarget`, adds songs to one of the user's playlists (a
transfer into ``spotify:<playlist>``): candidates come from ``GET /search?type=track`` (by
``isrc:`` first, then by title and artist; at most 10 results, the development-mode limit), and the
songs are inserted with ``POST /playlists/{id}/items`` (JSON list of ``spotify:track:`` URIs, at most
100 a request, ``position`` in the query), which needs a login with the ``playlist-modify-public``
and ``playlist-modify-private`` scopes.

Every request runs under the one retry policy (:mod:`tunecrate.core.retry`):
a 429 asking for at most ``max_retry_after_s`` is slept and retried, and 5xx
answers and network failures are retried with exponential backoff, up to
``max_retries`` times; nothing below (spotipy, urllib3) retries on its own.

spotipy and requests are imported on the first request, not with this
module, so that ``tunecrate --help`` stays fast.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..core.errors import (
    AuthError,
    ConfigurationError,
    NotFound,
    RateLimited,
    ServiceError,
    ServiceUnavailable,
    TunecrateError,
)
from ..core.net import TLS_HINT, requests_session, untrusted_certificate
from ..core.matching import Thresholds
from ..core.retry import retry_call
from ..core.ids import LIKES, Reference, is_spotify_id, parse_spotify_ref
from ..core.types import SkippedEntry, TrackInfo, TrackList
from ..core.service import (
    Operation, PlaylistPlan, ProgressFn, PushReport, RemotePlaylist, RemoteTrack, WriteOutcome, plan_playlist,
)
from .base import SourceRefused
from .spotify_login import (
    DEFAULT_ACCOUNTS_URL,
    DEFAULT_API_URL,
    SOURCE_CHOICES,
    USER_SCOPE,
    WRITE_SCOPE,
    SpotifySettings,
    checked_url,
    make_user_auth_manager,
    token_path,
)

if TYPE_CHECKING:
    import requests
    import spotipy
    from spotipy.oauth2 import SpotifyPKCE

    from ..core.settings import Settings

__all__ = ["SpotifyApiSource", "SpotifyService", "SpotifyTarget"]

_PAGE_SIZE = 50
_ENTRY_TYPES = ("track", "episode")
_LOGIN_HINT = "run `tunecrate login`"
_CREDENTIALS_HINT = "check SPOTIPY_CLIENT_ID/SECRET"
_PLAYLIST_403_HINT = ("a development-mode Spotify app can only read playlists "
                      "the user owns or collaborates on")
#: Spotify-owned playlists (editorial, "This Is", mixes) have ids starting so; the Web API answers them 404.
_SPOTIFY_OWNED_PREFIX = "37i9"


class SpotifyApiSource:
    """The ``spotify-api`` :class:`~tunecrate.sources.base.Source`: the Spotify Web API.

    ``client_id``/``client_secret`` are the app's credentials (``SPOTIPY_CLIENT_ID``,
    ``SPOTIPY_CLIENT_SECRET``). ``api_url`` and ``accounts_url`` default to
    Spotify's own hosts (``TUNECRATE_SPOTIFY_API_URL``,
    ``TUNECRATE_SPOTIFY_ACCOUNTS_URL``). ``max_retry_after_s`` bounds how long
    a 429's ``Retry-After`` may make us wait (seconds); ``requests_timeout_s``
    bounds each request; ``max_retries`` and ``backoff_s`` (the first wait, in
    seconds, doubling after each attempt) shape the retries of 429/5xx answers
    and failed connections. ``user_auth_manager`` is a spotipy user auth
    manager (see :func:`make_user_auth_manager`), needed for :meth:`saved_tracks`
    and used for playlists when given. ``choice`` is the value of
    ``TUNECRATE_SPOTIFY_SOURCE`` (``"auto"``, ``"api"`` or ``"web"``), which
    decides what :meth:`suitable` takes (see the module docstring). ``proxy``
    (a URL) and ``ca_bundle`` (a PEM file of extra certificate authorities)
    shape the one requests session that every call shares
    (:func:`tunecrate.core.net.requests_session`).

    Raises :class:`ConfigurationError` when a URL is not ``http(s)://host…``,
    and on the first request when credentials are missing. No request is made
    until a method is called.
    """

    name = "spotify-api"
    settings_model = SpotifySettings

    def __init__(
        self,
        *,
        client_id: str | None,
        client_secret: str | None,
        api_url: str = DEFAULT_API_URL,
        accounts_url: str = DEFAULT_ACCOUNTS_URL,
        max_retry_after_s: float = 60.0,
        requests_timeout_s: float = 10.0,
        max_retries: int = 3,
        backoff_s: float = 0.3,
        user_auth_manager: SpotifyPKCE | None = None,
        choice: str = "auto",
        proxy: str | None = None,
        ca_bundle: Path | None = None,
    ) -> None:
        if choice not in SOURCE_CHOICES:
            raise ConfigurationError(f"TUNECRATE_SPOTIFY_SOURCE must be one of {', '.join(SOURCE_CHOICES)}, "
                                     f"not {choice!r}")
        self._choice = choice
        self._client_id, self._client_secret = client_id, client_secret
        self._api_url = checked_url(api_url, "TUNECRATE_SPOTIFY_API_URL").rstrip("/") + "/"
        self._accounts_url = checked_url(accounts_url, "TUNECRATE_SPOTIFY_ACCOUNTS_URL").rstrip("/")
        self._max_retry_after_s = max_retry_after_s
        self._max_retries = max_retries
        self._backoff_s = backoff_s
        self._requests_timeout_s = requests_timeout_s
        self._user_auth = user_auth_manager
        self._proxy, self._ca_bundle = proxy, ca_bundle
        self._session: requests.Session | None = None
        self._clients: tuple[spotipy.Spotify, spotipy.Spotify] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SpotifyApiSource:
        """The source for a library: its app credentials, and the user's login if there is one."""
        s = settings.section(SpotifySettings)
        path = token_path(settings.data_root)
        user_auth = None
        if s.spotify_client_id and path.exists():
            user_auth = make_user_auth_manager(s.spotify_client_id, token_path=path,
                                               accounts_url=s.spotify_accounts_url,
                                               redirect_uri=s.spotify_redirect_uri,
                                               requests_session=requests_session(settings.proxy, settings.ca_bundle))
        return cls(client_id=s.spotify_client_id, client_secret=s.spotify_client_secret,
                   api_url=s.spotify_api_url, accounts_url=s.spotify_accounts_url,
                   max_retry_after_s=s.spotify_max_retry_after, user_auth_manager=user_auth,
                   choice=s.spotify_source, proxy=settings.proxy, ca_bundle=settings.ca_bundle)

    @property
    def _sp(self) -> spotipy.Spotify:
        return self._connect()[0]

    @property
    def _user_sp(self) -> spotipy.Spotify:
        return self._connect()[1]

    def _connect(self) -> tuple[spotipy.Spotify, spotipy.Spotify]:
        """The app's client and the user's client (authorised per call), built on first use."""
        if self._clients is not None:
            return self._clients
        missing = [name for name, value in (("SPOTIPY_CLIENT_ID", self._client_id),
                                            ("SPOTIPY_CLIENT_SECRET", self._client_secret)) if not value]
        if missing:
            raise ConfigurationError(
                f"Spotify app credentials missing: set {' and '.join(missing)} "
                "(from your app at https://developer.spotify.com/dashboard)"
            )
        import spotipy
        from spotipy.cache_handler import MemoryCacheHandler
        from spotipy.oauth2 import SpotifyClientCredentials

        self._session = requests_session(self._proxy, self._ca_bundle)
        credentials = SpotifyClientCredentials(
            self._client_id, self._client_secret, requests_session=self._session,
            requests_timeout=self._requests_timeout_s, cache_handler=MemoryCacheHandler(),
        )
        credentials.OAUTH_TOKEN_URL = self._accounts_url + "/api/token"
        self._clients = (self._client(spotipy, auth_manager=credentials), self._client(spotipy))
        return self._clients

    def _client(self, spotipy: Any, **kwargs: Any) -> spotipy.Spotify:
        client = spotipy.Spotify(requests_session=self._session, requests_timeout=self._requests_timeout_s, **kwargs)
        client.prefix = self._api_url
        return client

    def close(self) -> None:
        """Close the pooled HTTP connections."""
        if self._session is not None:
            self._session.close()

    # -- the Source protocol -----------------------------------------------------------

    def suitable(self, ref: Reference) -> bool:
        """Liked Songs; Spotify tracks, albums and playlists as ``choice`` says (see the module docstring)."""
        if not ref.is_spotify:
            return False
        if ref.kind == "likes":
            return True
        if ref.kind not in ("track", "album", "playlist") or self._choice == "web":
            return False
        return self._choice == "api" or bool(self._client_id and self._client_secret)

    def fetch(self, ref: Reference) -> TrackList:
        """The track list ``ref`` names (one request or a few; see the module docstring)."""
        if ref.kind == "likes":
            return self.saved_tracks()
        if ref.kind == "track":
            track = self.track(ref.id)
            return TrackList(kind="track", id=track.track_id, title=f"{track.artist} - {track.title}",
                             entries=(track,), source=self.name)
        if ref.kind == "album":
            return self.album(ref.id)
        return self.playlist(ref.id)

    def snapshot(self, ref: Reference) -> str | None:
        """Spotify's snapshot id of a playlist, a fingerprint of Liked Songs; ``None`` for the rest."""
        if ref.kind == "likes":
            return self.saved_tracks_snapshot()
        if ref.kind == "playlist":
            return self.playlist_snapshot(ref.id)
        return None

    # -- public reads ------------------------------------------------------------------

    def track(self, track_id: str) -> TrackInfo:
        """One track by id, URI or URL: ``GET /tracks/{id}``.

        Raises :class:`InvalidReference` for a malformed id, :class:`NotFound`
        for an unknown or unavailable track, and the errors of the class doc.
        """
        tid = parse_spotify_ref(track_id, "track").id
        what = f"track {tid}"
        obj = self._get(what, self._sp.track, tid)
        if _skip_reason(obj) is not None:
            raise NotFound(f"Spotify track {tid} is unavailable")
        return _track_info(obj)

    def album(self, album_id: str) -> TrackList:
        """An album by id, URI or URL, as a ``kind="album"`` :class:`TrackList`.

        ``GET /albums/{id}`` (tracks embedded, 50 at most), then the following
        track pages. Album tracks are simplified objects without ISRC, so each
        track is also read with ``GET /tracks/{id}``; a track that answers 404
        there keeps the album's data without ISRC. ``owner`` holds the album
        artists, ``cover_url`` the largest cover.
        """
        aid = parse_spotify_ref(album_id, "album").id
        what = f"album {aid}"
        album = self._get(what, self._sp.album, aid)
        entries, skipped = self._parse_entries(self._album_items(what, album), album=album)
        return TrackList(
            kind="album", id=aid, title=album.get("name") or "", entries=entries, skipped=skipped,
            owner=", ".join(_names(album.get("artists"))) or None,
            cover_url=_largest_image_url(album.get("images")), source=self.name,
        )

    def playlist(self, playlist_id: str) -> TrackList:
        """A playlist by id, URI or URL, with its entries in order and its snapshot id.

        ``GET /playlists/{id}``, whose embedded first page (under ``tracks`` or
        ``items``) is used when present, then ``GET /playlists/{id}/items``
        pages of 50 from the first entry not yet read, following ``next``: at
        most 1 + ceil(N/50) requests, with the user's login when there is one.
        Entries that are null, local files, episodes or unavailable are
        reported in ``skipped``. Raises :class:`SourceRefused` on 403
        (development-mode apps read only playlists the user owns or
        collaborates on) and on 404 for a Spotify-owned ``37i9…`` playlist,
        :class:`NotFound` on other 404s, :class:`AuthError` when the login
        lacks a scope.
        """
        pid = parse_spotify_ref(playlist_id, "playlist").id
        what = f"playlist {pid}"
        user = self._playlist_reader(what)
        with _spotify_owned(pid):
            meta = self._get(what, self._client_for(user).playlist, pid, additional_types=_ENTRY_TYPES,
                             forbidden=_PLAYLIST_403_HINT, user=user)
            entries, skipped = self._parse_entries(self._playlist_items(what, pid, meta, user))
        owner = meta.get("owner") or {}
        return TrackList(
            kind="playlist", id=pid, title=meta.get("name") or "", entries=entries, skipped=skipped,
            snapshot=meta.get("snapshot_id"), owner=owner.get("display_name") or owner.get("id"),
            description=meta.get("description") or None, cover_url=_largest_image_url(meta.get("images")),
            source=self.name,
        )

    def playlist_snapshot(self, playlist_id: str) -> str:
        """The playlist's current snapshot id, in one light request.

        ``GET /playlists/{id}?fields=snapshot_id``. Errors as :meth:`playlist`.
        """
        pid = parse_spotify_ref(playlist_id, "playlist").id
        what = f"playlist {pid}"
        user = self._playlist_reader(what)
        with _spotify_owned(pid):
            meta = self._get(what, self._client_for(user).playlist, pid, fields="snapshot_id",
                             forbidden=_PLAYLIST_403_HINT, user=user)
        snapshot = meta.get("snapshot_id")
        if not isinstance(snapshot, str) or not snapshot:
            raise ServiceError(f"Spotify sent no snapshot id for {what}")
        return snapshot

    def saved_tracks(self) -> TrackList:
        """The user's Liked Songs: ``kind="likes"``, ``playlist_id="likes"``, newest first.

        ``GET /me/tracks?limit=50`` pages with the user's token (refreshed by
        the user auth manager when expired); the snapshot (see
        :meth:`saved_tracks_snapshot`) comes from the first page. Raises :class:`AuthError` telling
        to run ``tunecrate login`` when there is no usable login.
        """
        what = "Liked Songs"
        self._authorise_user(what)
        first = self._get(what, self._user_sp.current_user_saved_tracks, limit=_PAGE_SIZE, user=True)
        entries, skipped = self._parse_entries(self._follow(what, first, user=True))
        return TrackList(kind="likes", id=LIKES, title="Liked Songs", entries=entries, skipped=skipped,
                         snapshot=_likes_fingerprint(first, what), source=self.name)

    def saved_tracks_snapshot(self) -> str:
        """A fingerprint of the Liked Songs, in one light request: ``GET /me/tracks?limit=1``.

        ``"<total>:<newest track id>:<its added_at>"``, e.g.
        ``"110:4uLU6hMCjMI75M1A2tKUQC:2024-01-01T00:00:00Z"`` (``"0::"`` when
        there are none). Liked Songs have no snapshot id; Spotify lists them
        newest first, so liking a song changes the newest entry and unliking
        one lowers the total. Limitation: an unlike together with a like that
        lands below the newest entry (``PUT /me/tracks`` accepts an explicit
        ``added_at``) keeps both, and changes inside entries (a track relinked
        or becoming unavailable) change neither; those show at the next full
        :meth:`saved_tracks`. Errors as :meth:`saved_tracks`.
        """
        what = "Liked Songs"
        self._authorise_user(what)
        page = self._get(what, self._user_sp.current_user_saved_tracks, limit=1, user=True)
        return _likes_fingerprint(page, what)

    def search_tracks(self, query: str, limit: int = 10) -> list[TrackInfo]:
        """Tracks Spotify's search finds for ``query`` (``isrc:…``, ``track:"…" artist:"…"``), at most
        ``limit`` (10 for development-mode apps): ``GET /search?type=track``. Errors as :meth:`track`."""
        found = self._get(f"the search {query!r}", self._sp.search, query, limit=limit, type="track")
        items = (found.get("tracks") or {}).get("items") or []
        return [_track_info(obj) for obj in items if isinstance(obj, dict) and _skip_reason(obj) is None]

    def add_to_playlist(self, playlist_id: str, track_ids: Sequence[str], position: int) -> str | None:
        """Insert ``track_ids`` (at most 100) into the user's playlist at ``position`` (0-based):
        ``POST /playlists/{id}/items``; the new snapshot id. Needs a login with the playlist-modify
        scopes (:class:`AuthError` telling to log in again otherwise)."""
        what = f"playlist {playlist_id}"
        self._authorise_user(what, scope=WRITE_SCOPE)
        answer = self._get(what, self._user_sp.playlist_add_items, playlist_id,
                           [f"spotify:track:{t}" for t in track_ids], position=position, user=True,
                           forbidden="only the playlist's owner and collaborators may add to it")
        return answer.get("snapshot_id")

    def _authorise_user(self, what: str, scope: str = USER_SCOPE) -> None:
        """Give the user client the login's access token, refreshed (and saved) if expired.

        Raises :class:`AuthError` telling to run ``tunecrate login`` when there
        is no login, it lacks ``scope``, or it expired without a refresh token.
        """
        if self._user_auth is None:
            raise AuthError(f"{what} needs a Spotify login: {_LOGIN_HINT}")
        cached = self._user_auth.cache_handler.get_cached_token()
        granted = set(str(cached.get("scope") or "").split()) if cached else None
        lacking = [s for s in scope.split() if s not in granted] if granted is not None else []
        if lacking:
            raise AuthError(f"the Spotify login does not grant {', '.join(lacking)}, which tunecrate now asks "
                            f"for: run `tunecrate login` again")
        if cached and not cached.get("refresh_token") and self._user_auth.is_token_expired(cached):
            raise AuthError(f"the Spotify login expired and cannot be renewed (no refresh token): {_LOGIN_HINT}")
        with self._translated(what, user=True):
            token_info = self._user_auth.validate_token(cached)
        if not token_info:
            raise AuthError(f"no valid Spotify login for {what} (missing or expired): {_LOGIN_HINT}")
        self._user_sp.set_auth(token_info["access_token"])

    def _playlist_reader(self, what: str) -> bool:
        """Whether playlists are read with the user's login (there is one: it is made ready now).

        A login that cannot be used (a scope lacking, expired for good, refused) raises
        :class:`SourceRefused` with the same one-line message, so that a public
        playlist is still read by the next source while the user is asked to
        log in again.
        """
        if self._user_auth is None:
            return False
        try:
            self._authorise_user(what)
        except AuthError as exc:
            raise SourceRefused(str(exc), exc.status) from exc
        return True

    def _client_for(self, user: bool) -> spotipy.Spotify:
        return self._user_sp if user else self._sp

    # -- paging ------------------------------------------------------------------------

    def _playlist_items(self, what: str, pid: str, meta: dict, user: bool) -> Iterator[Any]:
        page = _embedded_page(meta)
        read = 0
        if page is not None:
            items = page.get("items") or []
            yield from items
            read = len(items)
            total = page.get("total")
            if not page.get("next") and not (isinstance(total, int) and total > read):
                return
        # Not the embedded page's ``next``: it may name the retired /tracks endpoint or a limit over 50.
        page = self._get(what, self._client_for(user).playlist_items, pid, limit=_PAGE_SIZE, offset=read,
                         additional_types=_ENTRY_TYPES, forbidden=_PLAYLIST_403_HINT, user=user)
        yield from self._follow(what, page, forbidden=_PLAYLIST_403_HINT, user=user)

    def _album_items(self, what: str, album: dict) -> Iterator[Any]:
        page = album.get("tracks")
        if isinstance(page, dict):
            yield from self._follow(what, page)

    def _follow(self, what: str, page: dict, **context: Any) -> Iterator[Any]:
        """Yield the items of ``page`` and of the pages its ``next`` links lead to."""
        client = self._user_sp if context.get("user") else self._sp
        while True:
            items = page.get("items") or []
            yield from items
            if not items or not page.get("next"):
                return
            page = self._get(what, client.next, page, **context)

    # -- parsing -----------------------------------------------------------------------

    def _parse_entries(
        self, items: Iterable[Any], album: dict | None = None
    ) -> tuple[tuple[TrackInfo, ...], tuple[SkippedEntry, ...]]:
        """Turn source entries into tracks, filling entries that lack data with ``GET /tracks/{id}``.

        ``items`` are playlist/saved-track entries (``{"track"|"item": obj}``)
        or, for an album (``album`` given), simplified track objects.
        """
        entries: list[TrackInfo] = []
        skipped: list[SkippedEntry] = []
        for position, item in enumerate(items):
            obj = item if album is not None else _entry_object(item)
            reason = _skip_reason(obj, item)
            if reason is not None:
                name = obj.get("name") if isinstance(obj, dict) else None
                skipped.append(SkippedEntry(position, reason, name or None))
                continue
            if "external_ids" not in obj or not obj.get("album"):
                obj = self._filled(obj)
            entries.append(_track_info(obj, album))
        return tuple(entries), tuple(skipped)

    def _filled(self, obj: dict) -> dict:
        """The full track object for an entry that lacks data; the entry itself if Spotify has none."""
        try:
            return self._get(f"track {obj['id']}", self._sp.track, obj["id"])
        except NotFound:
            return obj

    # -- requests and errors -----------------------------------------------------------

    def _get(self, what: str, call: Callable[..., Any], *args: Any, forbidden: str | None = None,
             user: bool = False, **kwargs: Any) -> dict:
        """Run one spotipy call under the retry policy (:mod:`tunecrate.core.retry`), translating its
        failures; the JSON object it returned."""

        def attempt() -> Any:
            with self._translated(what, forbidden=forbidden, user=user):
                return call(*args, **kwargs)

        result = retry_call(attempt, attempts=1 + self._max_retries, backoff_s=self._backoff_s,
                            max_wait_s=self._max_retry_after_s, max_total_wait_s=2 * self._max_retry_after_s)
        if not isinstance(result, dict):
            raise ServiceUnavailable(f"Spotify answered a request for {what} with something that is not JSON")
        return result

    @contextmanager
    def _translated(self, what: str, *, forbidden: str | None = None, user: bool = False) -> Iterator[None]:
        """Turn spotipy/requests failures into :mod:`tunecrate.core.errors`.

        ``what`` names the object for messages ("playlist <id>"); ``forbidden``
        explains a 403; ``user`` says the request used the user's login.
        """
        import requests
        from spotipy.exceptions import SpotifyException
        from spotipy.oauth2 import SpotifyOauthError

        try:
            yield
        except SpotifyException as exc:
            raise self._http_error(exc.http_status, _spotify_message(exc.msg), exc.headers or {},
                                   what, forbidden, user) from exc
        except SpotifyOauthError as exc:
            raise self._token_error(exc, user) from exc
        except requests.exceptions.RequestException as exc:
            raise self._network_error(exc) from exc

    def _http_error(self, status: int, message: str, headers: Any, what: str,
                    forbidden: str | None, user: bool) -> TunecrateError:
        if status == 401:
            hint = _LOGIN_HINT if user else _CREDENTIALS_HINT
            return AuthError(f"Spotify refused the access token for {what} (401: {message}); {hint}", status)
        if status == 403:
            return SourceRefused(f"Spotify refused access to {what} (403: {message})"
                                 + (f"; {forbidden}" if forbidden else ""), status)
        if status == 404:
            return NotFound(f"Spotify has no {what}")
        if status == 429:
            return self._rate_limited(headers.get("Retry-After"))
        if status >= 500 or status == 408:
            return ServiceUnavailable(f"Spotify answered {status} ({message}) for {what}, also after "
                                      f"{self._max_retries} retries; try again later", status)
        return ServiceError(f"Spotify answered {status} for {what}: {message}", status)

    def _rate_limited(self, retry_after: str | None) -> RateLimited:
        wait = _parse_retry_after(retry_after)
        if wait is not None and wait > self._max_retry_after_s:
            return RateLimited(
                f"Spotify rate limit: asked to wait {wait:g} s, more than the {self._max_retry_after_s:g} s "
                "bound (TUNECRATE_SPOTIFY_MAX_RETRY_AFTER); try again later", retry_after=wait, transient=False)
        return RateLimited(f"Spotify rate limit still in force after {self._max_retries} retries; "
                           "try again later", retry_after=wait)

    def _token_error(self, exc: Any, user: bool) -> TunecrateError:
        response = getattr(exc.__context__, "response", None)
        status = getattr(response, "status_code", None)
        if status == 429:
            return self._rate_limited(response.headers.get("Retry-After"))
        if status is not None and status >= 500:
            return ServiceUnavailable(f"Spotify's accounts service answered {status}, also after "
                                      f"{self._max_retries} retries; try again later", status)
        if user:
            return AuthError(f"Spotify refused the login ({exc.error}: {exc.error_description}); {_LOGIN_HINT}",
                             status)
        if exc.error == "invalid_client":
            return AuthError(f"Spotify refused the client credentials; {_CREDENTIALS_HINT}", status)
        return AuthError(f"Spotify refused the token request ({exc.error}: {exc.error_description}); "
                         f"{_CREDENTIALS_HINT}", status)

    def _network_error(self, exc: requests.exceptions.RequestException) -> ServiceUnavailable:
        import requests

        url = getattr(exc.request, "url", None) or self._api_url
        host = urlsplit(url).netloc
        if isinstance(exc, requests.exceptions.Timeout):
            reason = f"no answer within {self._requests_timeout_s:g} s"
        elif untrusted_certificate(exc):
            error = ServiceUnavailable(f"cannot reach Spotify at {host}: its TLS certificate is not trusted "
                                       f"({TLS_HINT})")
            error.transient = False  # retrying cannot help
            return error
        else:
            found = re.search(r"\[Errno -?\d+\][^'\")]*", str(exc))
            reason = found.group(0).strip() if found else type(exc).__name__
        return ServiceUnavailable(f"cannot reach Spotify at {host}: {reason}")


# -- HTTP plumbing ------------------------------------------------------------------------------


@contextmanager
def _spotify_owned(playlist_id: str) -> Iterator[None]:
    """Turn the 404 of a Spotify-owned (``37i9…``) playlist into :class:`SourceRefused`: the Web API
    answers it to every app since 27 November 2024, while the public web pages still show it."""
    try:
        yield
    except NotFound as exc:
        if not playlist_id.startswith(_SPOTIFY_OWNED_PREFIX):
            raise
        raise SourceRefused(f"Spotify's Web API answers 404 for Spotify-owned playlists such as {playlist_id} "
                            "(every app since November 2024)", 404) from exc


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds asked by a ``Retry-After`` header (delta seconds or HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _spotify_message(msg: str | None) -> str:
    """The server's message from a SpotifyException text ``"<url>:\\n <message>"``, on one line."""
    text = (msg or "").rsplit(":\n", 1)[-1]
    return " ".join(text.split()) or "no message"


# -- parsing ------------------------------------------------------------------------------------


def _likes_fingerprint(page: dict, what: str) -> str:
    """``"<total>:<newest track id>:<its added_at>"`` from the first page of ``/me/tracks``."""
    total = page.get("total")
    if not isinstance(total, int):
        raise ServiceError(f"Spotify sent no total for {what}")
    first = (page.get("items") or [None])[0]
    first = first if isinstance(first, dict) else {}
    newest = _entry_object(first)
    track_id = newest.get("id") if isinstance(newest, dict) else None
    return f"{total}:{track_id or ''}:{first.get('added_at') or ''}"


def _embedded_page(playlist: dict) -> dict | None:
    for key in ("tracks", "items"):
        page = playlist.get(key)
        if isinstance(page, dict) and isinstance(page.get("items"), list):
            return page
    return None


def _entry_object(item: Any) -> Any:
    """The track/episode object of a playlist or saved-track entry (under ``track`` or ``item``)."""
    if not isinstance(item, dict):
        return None
    obj = item.get("track")
    return obj if obj is not None else item.get("item")


def _skip_reason(obj: Any, item: Any = None) -> str | None:
    """Why ``obj`` cannot become a track (a :class:`SkippedEntry` reason), or None if it can."""
    if not isinstance(obj, dict):
        return "null"
    if obj.get("is_local") or (isinstance(item, dict) and item.get("is_local")):
        return "local"
    kind = obj.get("type", "track")
    if kind == "episode":
        return "episode"
    if kind != "track" or not is_spotify_id(str(obj.get("id") or "")) or not obj.get("name"):
        return "unavailable"
    return None


def _names(objs: Any) -> tuple[str, ...]:
    return tuple(o["name"] for o in objs or () if isinstance(o, dict) and o.get("name"))


def _largest_image_url(images: Any) -> str | None:
    """URL of the image with the most pixels (Spotify sends sizes as width/height, maybe null)."""
    candidates = [i for i in images or () if isinstance(i, dict) and i.get("url")]
    if not candidates:
        return None
    return max(candidates, key=lambda i: (i.get("width") or 0) * (i.get("height") or 0))["url"]


def _track_info(obj: dict, album: dict | None = None) -> TrackInfo:
    """A :class:`TrackInfo` from a track object; ``album`` stands in when the object has none."""
    album = obj.get("album") or album or {}
    isrc = ((obj.get("external_ids") or {}).get("isrc") or "").strip().upper() or None
    return TrackInfo(
        track_id=obj["id"],
        title=obj["name"],
        artists=_names(obj.get("artists")),
        album=album.get("name") or "",
        album_artists=_names(album.get("artists")),
        duration_ms=int(obj.get("duration_ms") or 0),
        track_number=obj.get("track_number") or None,
        track_total=album.get("total_tracks") or None,
        disc_number=obj.get("disc_number") or None,
        release_date=album.get("release_date") or None,
        explicit=bool(obj.get("explicit")),
        isrc=isrc,
        cover_url=_largest_image_url(album.get("images")),
    )


# -- the target half: adding songs to the user's playlists -------------------------------------------

#: Track URIs per ``POST /playlists/{id}/items``.
_ADD_BATCH = 100
#: Brackets and dash-separated tails of a title ("Song (feat. X) - Remastered"), left out of a search.
_QUALIFIERS = re.compile(r"\s*[(\[].*?[)\]]|\s+-\s+.*$")


def _remote(track: TrackInfo) -> RemoteTrack:
    return RemoteTrack(track.track_id, track.title, track.artists, track.album,
                       track.album_artists[0] if track.album_artists else "", track.duration_ms or None, track.isrc)


class SpotifyService:
    """Spotify as a :class:`~tunecrate.core.service.PlaylistService` for transfers: a playlist named
    by its URL, URI or id; a song that is a Spotify track is itself (``"same track"``); others are
    searched. Only adds (``mode="merge"``): a Spotify playlist is never emptied or reordered."""

    name = "spotify"
    provider = "spotify"
    indexed = False
    exact = "same track"

    def __init__(self, source: SpotifyApiSource) -> None:
        self.source = source

    def find_playlist(self, title: str) -> RemotePlaylist | None:
        """The playlist (entries that are not tracks, such as podcast episodes, keep their places)."""
        tracks = self.source.playlist(title)
        skipped = {s.position: s for s in tracks.skipped}
        remaining = iter(tracks.entries)
        entries = []
        for position in range(len(tracks.entries) + len(skipped)):
            if position in skipped:
                entries.append((str(position), RemoteTrack(f"spotify-entry:{position}", skipped[position].name or "")))
            else:
                entries.append((str(position), _remote(next(remaining))))
        return RemotePlaylist(tracks.id, tracks.title, tuple(entries))

    def exact_matches(self, tracks: Sequence[TrackInfo], library: Any) -> dict[str, RemoteTrack]:
        return {t.track_id: _remote(t) for t in tracks if is_spotify_id(t.track_id)}

    def resolve(self, item: RemoteTrack) -> RemoteTrack | None:
        return item

    def search(self, track: TrackInfo) -> list[RemoteTrack]:
        found: dict[str, RemoteTrack] = {}
        if track.isrc:
            found.update((t.track_id, _remote(t)) for t in self.source.search_tracks(f"isrc:{track.isrc}"))
        if not found:
            title = (_QUALIFIERS.sub("", track.title).strip() or track.title).replace('"', " ")
            query = f'track:"{title}"' + (f' artist:"{track.artists[0]}"' if track.artists else "")
            found.update((t.track_id, _remote(t)) for t in self.source.search_tracks(query))
        return list(found.values())

    @staticmethod
    def _inserts(current: Sequence[str], desired: Sequence[str]) -> list[tuple[int, list[str]]]:
        """``(position, track ids)`` runs that turn ``current`` into ``desired`` (which keeps ``current``
        in order), each inserted left to right."""
        runs: list[tuple[int, list[str]]] = []
        at = 0
        for index, item in enumerate(desired):
            if at < len(current) and current[at] == item:
                at += 1
            elif runs and runs[-1][0] + len(runs[-1][1]) == index and len(runs[-1][1]) < _ADD_BATCH:
                runs[-1][1].append(item)
            else:
                runs.append((index, [item]))
        if at != len(current):
            raise ConfigurationError("a transfer into Spotify only adds songs; it cannot remove or reorder them")
        return runs

    def operations(self, playlist: RemotePlaylist | None, title: str, desired: Sequence[str]) -> list[Operation]:
        current = playlist.item_ids if playlist else []
        return [Operation("insert", tuple(items), position=position)
                for position, items in self._inserts(current, desired)]

    def write(self, playlist: RemotePlaylist | None, title: str, desired: Sequence[str],
              progress: ProgressFn | None = None) -> WriteOutcome:
        if playlist is None:
            raise NotFound(f"Spotify has no playlist {title}")
        runs = self._inserts(playlist.item_ids, desired)
        for position, items in runs:
            self.source.add_to_playlist(playlist.playlist_id, items, position)
        return WriteOutcome(playlist.playlist_id, added=sum(len(i) for _, i in runs), writes=len(runs))


class SpotifyTarget:
    """Transfers into one of the user's Spotify playlists (``spotify:<playlist>``): options ``name``
    (the playlist's URL, URI or id), ``mode`` (``"merge"`` only) and ``progress``."""

    name = "spotify"
    settings_model = SpotifySettings
    capabilities = frozenset({"transfer"})

    def __init__(self, source: SpotifyApiSource, playlist: str, *, thresholds: Thresholds,
                 progress: ProgressFn | None = None) -> None:
        self.service = SpotifyService(source)
        self.playlist = playlist
        self.thresholds = thresholds
        self.progress = progress

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> SpotifyTarget:
        if options.get("mode", "merge") != "merge":
            raise ConfigurationError("Spotify playlists are written by transfers only (they only add songs)")
        if not options.get("name"):
            raise ConfigurationError("a transfer into Spotify needs the playlist (spotify:<playlist URL or id>)")
        return cls(SpotifyApiSource.from_settings(settings), options["name"],
                   thresholds=Thresholds(settings.accept_threshold, settings.review_threshold),
                   progress=options.get("progress"))

    def plan(self, lists: Sequence[TrackList], library: Any) -> PlaylistPlan:
        (tracks,) = lists
        return plan_playlist(self.service, tracks, library, title=self.playlist, mode="merge",
                             thresholds=self.thresholds, progress=self.progress)

    def apply(self, plan: PlaylistPlan) -> PushReport:
        return plan.apply(self.progress)

    def close(self) -> None:
        self.service.source.close()
