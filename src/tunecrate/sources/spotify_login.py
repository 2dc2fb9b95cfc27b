"""Spotify's settings and the user's login: a private token file, and ``tunecrate login`` / ``logout`` / status.

:class:`SpotifySettings` are the settings of everything that talks to
Spotify's Web API and accounts service (the ``spotify-api`` source and the
login).

Liked Songs, and the playlists a user owns or collaborates on, need a user
token (Authorization Code with PKCE, scopes :data:`USER_SCOPES`: a
development-mode app reads the items of such playlists only with the user's
token); adding songs to the user's playlists (a transfer) needs
:data:`WRITE_SCOPE`, which a login asks for too. :func:`login` gets one and
stores it in a JSON file,
by convention ``<data_root>/spotify-token.json`` (:data:`TOKEN_FILE_NAME`);
:class:`~tunecrate.sources.spotify_api.SpotifySource` later reads it and
refreshes it when expired, through
:func:`make_user_auth_manager`.

The token file is the login: anyone who can read it can read the user's
library. It is written mode 0600, atomically, and never exists with wider
permissions (see :class:`PrivateTokenCache`). No system keyring is used: the
file works the same on desktops, servers and containers.

How :func:`login` catches the answer: for a redirect URI
``http://127.0.0.1:<port>/<path>`` (the default, ``SPOTIPY_REDIRECT_URI``) a
small HTTP server listens on that port while the user agrees in a browser,
and Spotify's redirect brings the code to it. The authorisation URL is
always printed to stderr, so that it can be opened by hand when no browser
opens (a headless terminal; on another machine, forward the port first, for
example ``ssh -L 8888:127.0.0.1:8888 <host>``). For any other redirect URI
the user pastes the address the browser was sent to.

spotipy's own interactive flow is not used for that part: it starts its
local server only when it may open a browser itself (otherwise it asks for
the pasted address), serves exactly one request with no time limit (a
browser's favicon or pre-connect request ends or blocks it), and sends no
``state``. The token exchange and refreshes are spotipy's.

spotipy is imported when a login runs or :class:`PrivateTokenCache` is first
used, not with this module; :func:`logout` and :func:`login_state` never
import it.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import queue
import secrets
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from pydantic import field_validator

from ..core.errors import AuthError, ConfigurationError, ServiceUnavailable, StorageError
from ..core.settings import SettingsModel, setting
from ..storage.atomic import SECRET_MODE, atomic_write

if TYPE_CHECKING:
    from spotipy.oauth2 import SpotifyPKCE

__all__ = ["DEFAULT_ACCOUNTS_URL", "DEFAULT_API_URL", "DEFAULT_REDIRECT_URI", "LOGIN_SCOPE", "SOURCE_CHOICES",
           "TOKEN_FILE_NAME", "USER_SCOPE", "USER_SCOPES", "WRITE_SCOPE", "PrivateTokenCache", "SpotifySettings",
           "checked_url", "login", "login_state", "logout", "make_user_auth_manager", "missing_scopes", "token_path"]

DEFAULT_API_URL = "https://api.spotify.com/v1/"
DEFAULT_ACCOUNTS_URL = "https://accounts.spotify.com"
#: Spotify accepts only 127.0.0.1 (not ``localhost``) in loopback redirect URIs.
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8888/callback"
#: The scopes a user login asks for: Liked Songs, and the private and collaborative playlists of the user.
USER_SCOPES = ("user-library-read", "playlist-read-private", "playlist-read-collaborative")
#: :data:`USER_SCOPES` as the space-separated string OAuth sends.
USER_SCOPE = " ".join(USER_SCOPES)
#: The scopes adding to the user's playlists needs (a transfer into ``spotify:<playlist>``).
WRITE_SCOPE = "playlist-modify-public playlist-modify-private"
#: What a login asks for: reading and writing.
LOGIN_SCOPE = f"{USER_SCOPE} {WRITE_SCOPE}"
#: The token file's name inside the data root (``TUNECRATE_DATA_ROOT``).
TOKEN_FILE_NAME = "spotify-token.json"


#: Values of ``spotify_source`` (``TUNECRATE_SPOTIFY_SOURCE``): which Spotify source reads links.
SOURCE_CHOICES = ("auto", "api", "web")


class SpotifySettings(SettingsModel):
    """How tunecrate reaches Spotify's Web API and accounts service, and which Spotify source reads links.

    ``spotify_source`` is ``"auto"`` (the Web API when app credentials are
    set, the public web pages otherwise or when the API refuses),
    ``"api"`` or ``"web"``; see :mod:`tunecrate.sources.spotify_web`.
    """

    spotify_source: str = setting("auto", env="TUNECRATE_SPOTIFY_SOURCE",
                                  help="which Spotify source reads links: auto, api (Web API) or web (public pages)")

    spotify_client_id: str | None = setting(None, env="SPOTIPY_CLIENT_ID", help="Spotify app client id")
    spotify_client_secret: str | None = setting(None, env="SPOTIPY_CLIENT_SECRET", help="Spotify app client secret")
    spotify_redirect_uri: str = setting(DEFAULT_REDIRECT_URI, env="SPOTIPY_REDIRECT_URI",
                                        help="redirect URI of the login (Spotify refuses localhost)")
    spotify_api_url: str = setting(DEFAULT_API_URL, env="TUNECRATE_SPOTIFY_API_URL", help="Web API base URL")
    spotify_accounts_url: str = setting(DEFAULT_ACCOUNTS_URL, env="TUNECRATE_SPOTIFY_ACCOUNTS_URL",
                                        help="accounts service (token, authorize)")
    spotify_max_retry_after: float = setting(60.0, env="TUNECRATE_SPOTIFY_MAX_RETRY_AFTER",
                                             help="longest 429 Retry-After waited for (s)")

    @field_validator("spotify_source", mode="before")
    @classmethod
    def _source_choice(cls, value: object) -> str:
        choice = str(value).strip().lower()
        if choice not in SOURCE_CHOICES:
            raise ValueError(f"must be one of {', '.join(SOURCE_CHOICES)}")
        return choice

    @property
    def has_app_credentials(self) -> bool:
        """Whether both the app's client id and secret are set."""
        return bool(self.spotify_client_id and self.spotify_client_secret)


def token_path(data_root: Path) -> Path:
    """Where the user's Spotify login is kept: ``<data_root>/spotify-token.json`` (mode 0600)."""
    return Path(data_root) / TOKEN_FILE_NAME


def checked_url(url: str, setting_name: str) -> str:
    """``url`` if it is ``http(s)://host…``; else :class:`ConfigurationError` naming the setting."""
    split = urlsplit(url or "")
    if split.scheme not in ("http", "https") or not split.hostname:
        raise ConfigurationError(f"{setting_name} must be an http(s) URL, got {url!r}")
    return url


def make_user_auth_manager(
    client_id: str | None,
    *,
    token_path: str | Path,
    accounts_url: str = DEFAULT_ACCOUNTS_URL,
    redirect_uri: str = DEFAULT_REDIRECT_URI,
    scope: str = USER_SCOPE,
    requests_timeout_s: float = 10.0,
    open_browser: bool = True,
    requests_session: Any = None,
) -> SpotifyPKCE:
    """A spotipy PKCE auth manager whose token lives in the JSON file ``token_path``.

    :func:`login` gets the authorisation code and has this manager exchange
    it (``get_access_token(code=…)``); the ``spotify-api`` source only reads
    and refreshes the cached token. ``redirect_uri`` must use ``127.0.0.1``
    (``SPOTIPY_REDIRECT_URI``; Spotify refuses ``localhost``). The token is
    kept by a :class:`PrivateTokenCache` (mode 0600, replaced atomically).
    Raises :class:`ConfigurationError` for a missing client id, a
    ``localhost`` redirect URI or a bad ``accounts_url``. ``requests_session``
    (a ``requests.Session``, e.g. with the library's proxy and CA bundle)
    carries the token requests; ``None`` makes spotipy's own.
    """
    if not client_id:
        raise ConfigurationError("Spotify app credentials missing: set SPOTIPY_CLIENT_ID")
    if urlsplit(redirect_uri).hostname == "localhost":
        raise ConfigurationError(f"Spotify refuses localhost redirect URIs: set SPOTIPY_REDIRECT_URI to "
                                 f"{redirect_uri.replace('localhost', '127.0.0.1', 1)}")
    base = checked_url(accounts_url, "TUNECRATE_SPOTIFY_ACCOUNTS_URL").rstrip("/")

    from spotipy.oauth2 import SpotifyPKCE

    Path(token_path).parent.mkdir(parents=True, exist_ok=True)
    manager = SpotifyPKCE(
        client_id=client_id, redirect_uri=redirect_uri, scope=scope, requests_timeout=requests_timeout_s,
        open_browser=open_browser, cache_handler=_private_token_cache_class()(token_path),
        requests_session=requests_session if requests_session is not None else True,
    )
    manager.OAUTH_AUTHORIZE_URL = base + "/authorize"
    manager.OAUTH_TOKEN_URL = base + "/api/token"
    return manager

_LOG = logging.getLogger(__name__)
_AGAIN = "run `tunecrate login` again"


class _TokenFile:
    """A spotipy token dict kept as JSON in ``path``, readable by the owner only (0600).

    The implementation of :class:`PrivateTokenCache`, without spotipy, so that
    :func:`logout` and :func:`login_state` stay light.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def get_cached_token(self) -> dict | None:
        """The stored token dict, or None when the file is missing, unreadable or not a token.

        A token is a JSON object with a string ``access_token`` and an integer
        ``expires_at`` (epoch seconds), as spotipy stores it.
        """
        try:
            token = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            _LOG.warning("ignoring unreadable Spotify token file %s: %s", self.path, exc)
            return None
        if (not isinstance(token, dict) or not isinstance(token.get("access_token"), str)
                or not isinstance(token.get("expires_at"), int)):
            _LOG.warning("ignoring Spotify token file %s: not a token", self.path)
            return None
        return token

    def save_token_to_cache(self, token_info: dict) -> None:
        """Replace the file with ``token_info`` as JSON, atomically, mode 0600.

        The JSON goes to a temporary file in the same folder, created 0600
        (``O_EXCL``), fsynced, then renamed over the old file, so that no
        reader ever sees a partial token or a file with wider permissions. The
        folder is created if needed. Raises :class:`StorageError` when the file
        cannot be written (a refreshed token that is not stored would be lost).
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(self.path, mode=SECRET_MODE) as tmp:
                with open(tmp, "w", encoding="utf-8") as fh:
                    json.dump(token_info, fh)
        except (OSError, StorageError) as exc:
            cause = exc if isinstance(exc, OSError) else exc.__cause__
            reason = getattr(cause, "strerror", None) or str(exc)
            raise StorageError(f"cannot write the Spotify login to {self.path}: {reason}") from exc

    def delete(self) -> bool:
        """Remove the file; True if there was one. Raises :class:`StorageError` if it cannot be removed."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StorageError(f"cannot remove the Spotify login {self.path}: {exc.strerror}") from exc
        return True


@functools.cache
def _private_token_cache_class() -> type:
    from spotipy.cache_handler import CacheHandler

    class PrivateTokenCache(_TokenFile, CacheHandler):
        """A spotipy ``CacheHandler`` keeping the user's token in a 0600 JSON file.

        ``PrivateTokenCache(path)``. spotipy's ``CacheFileHandler`` writes the
        file with the default permissions, then narrows them; this one creates
        it private and replaces it atomically. ``get_cached_token()`` → token
        dict or None, ``save_token_to_cache(token)`` (raises
        :class:`StorageError`), ``delete()`` → whether there was a file.
        """

        __qualname__ = "PrivateTokenCache"
        __module__ = __name__

    return PrivateTokenCache


def __getattr__(name: str) -> Any:
    # PrivateTokenCache subclasses spotipy's CacheHandler (spotipy asserts it),
    # so the class is made on first use rather than when this module is imported.
    if name == "PrivateTokenCache":
        return _private_token_cache_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- login, logout, status ---------------------------------------------------------------------


def login(
    *,
    client_id: str | None,
    token_path: Path,
    accounts_url: str,
    redirect_uri: str,
    open_browser: bool = True,
    prompt: Callable[[str], str] | None = None,
    timeout_s: float = 300.0,
    requests_session: Any = None,
) -> dict:
    """Log the user in to Spotify (PKCE) and store the token in ``token_path`` (mode 0600).

    Prints the authorisation URL to stderr and, with ``open_browser``, opens
    it in the default browser. For a redirect URI ``http://127.0.0.1:<port>/…``
    a local server on that port waits up to ``timeout_s`` seconds for the
    browser to be redirected back; for any other redirect URI, ``prompt``
    (default :func:`input`) is called with a message and must return the
    address the browser was sent to. The code is then exchanged for a token
    at ``<accounts_url>/api/token`` (spotipy, with the PKCE verifier); an
    earlier login in ``token_path`` is replaced.

    Returns ``{"scope": str, "expires_at": int}`` (epoch seconds: when the
    access token expires; it is refreshed as needed afterwards).

    Raises :class:`ConfigurationError` for a missing client id, a
    ``localhost`` redirect URI, a bad ``accounts_url`` or a redirect port
    already in use; :class:`AuthError` when the user does not agree, nothing
    arrives within ``timeout_s``, a pasted address carries no code or a stale
    ``state``, or Spotify refuses the code; :class:`ServiceUnavailable` when
    the accounts service cannot be reached or answers 429/5xx;
    :class:`StorageError` when the token file cannot be written.
    """
    manager = make_user_auth_manager(client_id, token_path=token_path, accounts_url=accounts_url,
                                     redirect_uri=redirect_uri, requests_session=requests_session,
                                     scope=LOGIN_SCOPE)
    state = secrets.token_urlsafe(16)
    url = manager.get_authorize_url(state=state)
    split = urlsplit(redirect_uri)
    if split.scheme == "http" and split.hostname == "127.0.0.1" and split.port:
        answer = _catch_redirect(split.port, split.path or "/", state, url, open_browser, timeout_s)
    else:
        _show(url, open_browser, f"Then copy the address your browser is sent to (it starts with {redirect_uri}).")
        answer = _pasted_answer((prompt or input)("Address you were sent to: "), state)
    if "error" in answer:
        raise AuthError(f"the Spotify login was not approved ({answer['error']}); {_AGAIN} and agree")
    _exchange(manager, answer["code"])
    token = manager.cache_handler.get_cached_token() or {}
    return {"scope": token.get("scope"), "expires_at": token.get("expires_at")}


def logout(token_path: Path) -> bool:
    """Forget the Spotify login: remove ``token_path``. True if there was one.

    Local only (Spotify keeps the app's grant until the user removes it at
    https://www.spotify.com/account/apps/). Raises :class:`StorageError` if
    the file cannot be removed.
    """
    return _TokenFile(token_path).delete()


def login_state(token_path: Path) -> dict:
    """What the stored login allows, read from ``token_path`` without any network request.

    Returns ``{"logged_in": bool, "expires_at": int | None, "scope": str | None,
    "missing_scopes": list[str], "path": str}``. ``logged_in`` is true when
    there is a token that grants every scope of :data:`USER_SCOPES` and that
    is either unexpired or refreshable (it has a refresh token; Spotify may
    still refuse it, which shows at the next request). ``missing_scopes``
    lists the scopes of :data:`USER_SCOPES` the stored token lacks (a login
    made by an older tunecrate); ``expires_at`` is the access token's expiry
    (epoch seconds). A missing or unreadable file counts as not logged in.
    """
    token = _TokenFile(token_path).get_cached_token()
    if token is None:
        return {"logged_in": False, "expires_at": None, "scope": None, "missing_scopes": [],
                "path": str(token_path)}
    scope = token.get("scope") if isinstance(token.get("scope"), str) else None
    usable = bool(token.get("refresh_token")) or token["expires_at"] > time.time()
    lacking = missing_scopes(token)
    return {"logged_in": usable and not lacking, "expires_at": token["expires_at"], "scope": scope,
            "missing_scopes": lacking, "path": str(token_path)}


def missing_scopes(token: dict) -> list[str]:
    """The scopes of :data:`USER_SCOPES` that the token dict ``token`` (as spotipy caches it) does not grant."""
    granted = set(str(token.get("scope") or "").split())
    return [scope for scope in USER_SCOPES if scope not in granted]


# -- internals ----------------------------------------------------------------------------------


def _show(url: str, open_browser: bool, then: str) -> None:
    """Tell the user (on stderr) where to agree to the login, and open a browser if asked and possible.

    Without a graphical session on Linux/BSD no browser is started: Python's
    :mod:`webbrowser` would run a text browser in this terminal, where
    Spotify's login page does not work.
    """
    print(f"Log in to Spotify: open this address and agree.\n\n    {url}\n\n{then}", file=sys.stderr, flush=True)
    graphical = sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY")
                                                            or os.environ.get("WAYLAND_DISPLAY"))
    if open_browser and graphical:
        import webbrowser

        webbrowser.open(url)


class _CallbackServer(ThreadingHTTPServer):
    """Waits on 127.0.0.1:``port`` for Spotify's redirect to ``path`` carrying ``state``.

    Answers with matching ``state`` and a ``code`` or ``error`` go to
    :attr:`answers`; anything else (favicons, stale links) is answered and
    ignored.
    """

    daemon_threads = True

    def __init__(self, port: int, path: str, state: str) -> None:
        self.callback_path = path
        self.state = state
        self.answers: queue.Queue[dict[str, str]] = queue.Queue()
        super().__init__(("127.0.0.1", port), _CallbackHandler)


class _CallbackHandler(BaseHTTPRequestHandler):
    timeout = 10  # seconds: drop idle connections, such as a browser's pre-connects
    server: _CallbackServer

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        query = dict(parse_qsl(split.query))
        if split.path != self.server.callback_path or not ("code" in query or "error" in query):
            self._reply(404, "This is not the tunecrate login address.")
        elif query.get("state") != self.server.state:
            self._reply(400, "This login link is out of date: open the one tunecrate printed last.")
        else:
            self._reply(200, "Spotify login received: you can close this tab and return to tunecrate."
                        if "error" not in query else f"The Spotify login was not approved ({query['error']}).")
            self.server.answers.put(query)

    def _reply(self, status: int, message: str) -> None:
        body = f"<!doctype html><title>tunecrate</title><p>{message}</p>\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:  # the terminal shows our messages only
        pass


def _catch_redirect(port: int, path: str, state: str, url: str, open_browser: bool,
                    timeout_s: float) -> dict[str, str]:
    """The query of the redirect that reaches 127.0.0.1:``port``: ``code`` or ``error``, and ``state``."""
    try:
        server = _CallbackServer(port, path, state)
    except OSError as exc:
        raise ConfigurationError(f"cannot listen on 127.0.0.1:{port} for the Spotify login ({exc.strerror}); "
                                 "stop what uses that port, or set SPOTIPY_REDIRECT_URI to another port "
                                 "registered for your Spotify app") from exc
    with server:
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                  name="tunecrate-login", daemon=True)
        thread.start()
        try:
            _show(url, open_browser, f"Waiting up to {timeout_s:g} s for Spotify to send the browser back to port "
                  f"{port} (from another machine, forward that port first: ssh -L {port}:127.0.0.1:{port} <this host>).")
            return server.answers.get(timeout=timeout_s)
        except queue.Empty:
            raise AuthError(f"no Spotify login arrived on 127.0.0.1:{port} within {timeout_s:g} s; "
                            f"{_AGAIN}") from None
        finally:
            server.shutdown()


def _pasted_answer(address: str, state: str) -> dict[str, str]:
    """The query of the address the user pasted, checked: ``code`` or ``error``, with our ``state``."""
    query = dict(parse_qsl(urlsplit(address.strip()).query))
    if not ("code" in query or "error" in query):
        raise AuthError(f"the address pasted carries no Spotify login code; {_AGAIN}")
    if query.get("state") != state:
        raise AuthError(f"the address pasted belongs to another login attempt; {_AGAIN}")
    return query


def _exchange(manager: SpotifyPKCE, code: str) -> None:
    """Trade the authorisation code for a token (spotipy, with the PKCE verifier); it is saved by the cache."""
    import requests
    from spotipy.oauth2 import SpotifyOauthError

    host = urlsplit(manager.OAUTH_TOKEN_URL).netloc
    try:
        manager.get_access_token(code=code, check_cache=False)
    except SpotifyOauthError as exc:
        status = getattr(getattr(exc.__context__, "response", None), "status_code", None)
        if status is not None and (status == 429 or status >= 500):
            raise ServiceUnavailable(f"Spotify's accounts service at {host} answered {status}; "
                                     f"{_AGAIN} later", status) from exc
        raise AuthError(f"Spotify refused the login ({exc.error}: {exc.error_description}); {_AGAIN}",
                        status) from exc
    except requests.exceptions.RequestException as exc:
        raise ServiceUnavailable(f"cannot reach Spotify's accounts service at {host} "
                                 f"({type(exc).__name__}); check the network and TUNECRATE_SPOTIFY_ACCOUNTS_URL"
                                 ) from exc
