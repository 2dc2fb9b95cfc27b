"""A loopback stand-in for Spotify's web player: a login page and Liked Songs at ``/collection/tracks``.

It has the structure of the real page (``tunecrate.sources.spotify_browser``
documents what the reader relies on) and the real page's behaviour:

- ``/collection/tracks`` without the ``sp_dc`` login cookie redirects to
  ``/login?continue=…``; the login form (``#login-username``,
  ``#login-password``, ``#login-button``) sets a persistent ``sp_dc`` cookie
  and redirects to ``continue`` (``/``, the home page, when there is none);
- the page loads its rows from ``/api/collection/tracks?offset=&limit=50``
  (401 without the cookie, ``latency_s`` per page), showing rows without a
  track link while a page loads;
- the list is virtualised: at most :data:`MAX_ROWS` rows are in the DOM at a
  time, placed in a tall container as the scroll node scrolls.

Test hooks: ``songs`` (replace it to change the list), ``announce`` (the
``aria-rowcount`` the page claims, less the header: a list that stops loading
short), ``serve_limit`` (the API answers only the first N songs),
``auto_login_ms`` (the login page fills itself in and submits after that
long, as a user would), ``land_on_home`` (a login ends on the home page, not
where it was asked to continue), ``requests`` and ``logins``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tunecrate.core.errors import ConfigurationError
from tunecrate.demo._http import LoopbackServer, quiet_handler, send_body
from tunecrate.demo.spotify_server import fake_id
from tunecrate.sources.spotify_browser import LOGIN_COOKIE, BrowserBinaries, find_binaries, start_browser

#: The most track rows the page keeps in the DOM at once (the real list keeps about as many).
MAX_ROWS = 50
_PAGE_SIZE = 50
_HERE = Path(__file__).parent
_ODD_TITLES = ("Café del Mar", "Don't Stop <Me> Now", "Ünïcödé & Friends", "Song, With a Comma", "日本語の歌",
               "\"Quoted\" Title", "Back/Slash \\ Song", "Tab\tand  Spaces")


@dataclass(frozen=True)
class LikedSong:
    """One row of Liked Songs: ``artists`` and ``album`` as ``(id, name)`` pairs, duration in ms."""

    id: str
    title: str
    artists: tuple[tuple[str, str], ...]
    album: tuple[str, str]
    duration_ms: int
    explicit: bool = False
    added: str = "Mar 3, 2026"

    def to_json(self) -> dict:
        return {"id": self.id, "title": self.title, "explicit": self.explicit, "added": self.added,
                "duration_ms": self.duration_ms, "album": {"id": self.album[0], "name": self.album[1]},
                "artists": [{"id": i, "name": n} for i, n in self.artists]}

    @classmethod
    def from_track(cls, track: dict) -> "LikedSong":
        """From a Web API track object (the demo catalogue's)."""
        return cls(track["id"], track["name"], tuple((a["id"], a["name"]) for a in track["artists"]),
                   (track["album"]["id"], track["album"]["name"]), int(track["duration_ms"]),
                   bool(track.get("explicit")))


def make_liked_songs(count: int, seed: str = "likes") -> list[LikedSong]:
    """``count`` distinct songs with deterministic ids, some with odd titles and several artists."""
    songs = []
    for i in range(count):
        title = _ODD_TITLES[i % len(_ODD_TITLES)] + f" {i}" if i % 7 == 3 else f"Song Number {i}"
        artists = [(fake_id(f"{seed}-artist-{i % 40}"), f"Artist {i % 40}")]
        if i % 5 == 0:
            artists.append((fake_id(f"{seed}-artist-feat-{i % 9}"), f"Guest, Jr. {i % 9}"))
        songs.append(LikedSong(fake_id(f"{seed}-track-{i}"), title, tuple(artists),
                               (fake_id(f"{seed}-album-{i // 10}"), f"Album {i // 10}"),
                               90_000 + (i * 7919) % 300_000, explicit=i % 11 == 0))
    return songs


@dataclass(frozen=True)
class WebRequest:
    method: str
    path: str
    query: dict[str, str]
    logged_in: bool


class FakeWebPlayer(LoopbackServer):
    """The stand-in (see the module docstring). ``base_url`` is what ``TUNECRATE_SPOTIFY_WEB_URL`` takes."""

    _thread_name = "web-player"

    def __init__(self, songs: list[LikedSong] | None = None, *, latency_s: float = 0.02,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.songs: list[LikedSong] = list(songs or [])
        self.latency_s = latency_s
        self.announce: int | None = None
        self.serve_limit: int | None = None
        self.auto_login_ms: int | None = None
        self.land_on_home = False
        self.requests: list[WebRequest] = []
        self.logins = 0
        self._tokens: set[str] = set()
        self._lock = threading.Lock()
        self._bind(host, port, quiet_handler(GET=self._get, POST=self._post))

    # -- test hooks ------------------------------------------------------------------------

    def paths(self, method: str = "GET") -> list[str]:
        """The paths requested with ``method``, in order."""
        return [r.path for r in self.requests if r.method == method]

    # -- serving ---------------------------------------------------------------------------

    def _logged_in(self, handler: BaseHTTPRequestHandler) -> bool:
        cookie = SimpleCookie(handler.headers.get("Cookie", ""))
        return "sp_dc" in cookie and cookie["sp_dc"].value in self._tokens

    def _record(self, handler: BaseHTTPRequestHandler) -> tuple[str, dict[str, str], bool]:
        split = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        logged_in = self._logged_in(handler)
        with self._lock:
            self.requests.append(WebRequest(handler.command, split.path, query, logged_in))
        return split.path, query, logged_in

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        path, query, logged_in = self._record(handler)
        if path == "/login":
            page = (_HERE / "web_player_login.html").read_text(encoding="utf-8")
            config = {"continue": query.get("continue", "/"), "autoLoginMs": self.auto_login_ms}
            return _send(handler, 200, page.replace("/*CONFIG*/null", json.dumps(config)), "text/html")
        if path == "/collection/tracks":
            if not logged_in:
                return _redirect(handler, "/login?continue=" + quote(path, safe=""))
            page = (_HERE / "web_player_page.html").read_text(encoding="utf-8")
            total = len(self.songs) if self.announce is None else self.announce
            config = {"total": total, "maxRows": MAX_ROWS, "pageSize": _PAGE_SIZE}
            return _send(handler, 200, page.replace("/*CONFIG*/null", json.dumps(config)), "text/html")
        if path == "/api/collection/tracks":
            if not logged_in:
                return _send(handler, 401, json.dumps({"error": {"status": 401, "message": "No token"}}),
                             "application/json")
            time.sleep(self.latency_s)
            offset, limit = int(query.get("offset", 0)), min(int(query.get("limit", _PAGE_SIZE)), _PAGE_SIZE)
            songs = self.songs if self.serve_limit is None else self.songs[:self.serve_limit]
            items = [s.to_json() for s in songs[offset:offset + limit]]
            return _send(handler, 200, json.dumps({"total": len(self.songs), "offset": offset, "items": items}),
                         "application/json")
        if path == "/":
            body = ("<!doctype html><title>Spotify - Web Player</title><body style='background:#121212;color:#fff'>"
                    + ("<button data-testid='user-widget-link'>You</button>" if logged_in
                       else "<button data-testid='login-button'>Log in</button>")
                    + "<a href='/collection/tracks'>Liked Songs</a></body>")
            return _send(handler, 200, body, "text/html")
        _send(handler, 404, "not found", "text/plain")

    def _post(self, handler: BaseHTTPRequestHandler) -> None:
        path, _, _ = self._record(handler)
        length = int(handler.headers.get("Content-Length") or 0)
        form = {k: v[-1] for k, v in parse_qs(handler.rfile.read(length).decode()).items()}
        if path != "/login":
            return _send(handler, 404, "not found", "text/plain")
        if not form.get("username") or not form.get("password"):
            return _redirect(handler, "/login?continue=" + quote(form.get("continue", "/"), safe=""))
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens.add(token)
            self.logins += 1
        target = "/" if self.land_on_home else form.get("continue", "/")
        if not target.startswith("/") or target.startswith("//"):
            target = "/"
        _redirect(handler, target, cookie=f"sp_dc={token}; Max-Age=31536000; Path=/; HttpOnly; SameSite=Lax")


def _send(handler: BaseHTTPRequestHandler, status: int, body: str, content_type: str) -> None:
    send_body(handler, status, body.encode("utf-8"),
              {"Content-Type": f"{content_type}; charset=utf-8", "Cache-Control": "no-store"})


def _redirect(handler: BaseHTTPRequestHandler, location: str, cookie: str | None = None) -> None:
    handler.send_response(302)
    handler.send_header("Location", location)
    if cookie:
        handler.send_header("Set-Cookie", cookie)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def browser_binaries() -> BrowserBinaries:
    """Chromium and chromedriver from PATH for the browser tests, which skip only where neither is
    installed, and never in CI (``.ci/run`` installs both)."""
    try:
        return find_binaries(download_root=None)
    except ConfigurationError as exc:
        have = [name for name in ("chromium", "chromedriver") if shutil.which(name)]
        if have or os.environ.get("CI"):
            pytest.fail(f"the browser tests need Chromium and chromedriver: {exc}")
        pytest.skip(f"neither Chromium nor chromedriver is installed here ({exc})")


def log_in(binaries: BrowserBinaries, profile: Path, web: FakeWebPlayer) -> None:
    """Log in on the stand-in's form with the browser profile ``profile``, as a user would in the window."""
    from selenium.webdriver.common.by import By

    driver = start_browser(binaries, profile, headless=True)
    try:
        driver.get(web.base_url + "/collection/tracks")
        driver.find_element(By.ID, "login-username").send_keys("listener@example.org")
        driver.find_element(By.ID, "login-password").send_keys("correct horse")
        driver.find_element(By.ID, "login-button").click()
        deadline = time.monotonic() + 10
        while driver.get_cookie(LOGIN_COOKIE) is None:
            assert time.monotonic() < deadline, "the stand-in's login did not set its cookie"
            time.sleep(0.05)
    finally:
        driver.quit()
