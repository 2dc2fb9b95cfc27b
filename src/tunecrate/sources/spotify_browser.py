"""The ``spotify-browser`` source: Liked Songs read from the Spotify web player in Chromium, no app needed.

A development-mode Spotify app needs Premium and is capped at five users
(2026), so this source reads Liked Songs the way the user sees them: it starts
Chromium through Selenium on ``{spotify_web_url}/collection/tracks``
(``TUNECRATE_SPOTIFY_WEB_URL``, default ``https://open.spotify.com``), lets the
user log in in that window, then scrolls the track list and reads its rows.
It is used only when asked for by name (``tunecrate likes --browser``, or a
``likes`` playlist that this source filled before): the registry never picks
it on its own (``explicit``).

The browser profile lives in ``<data_root>/browser-profile`` (mode 0700), so
the login is kept and later runs need none; a profile that is logged in also
works headless (``--headless``, ``TUNECRATE_BROWSER_HEADLESS``, and always
where there is no display). Cookies are
stored with Chromium's ``--password-store=basic`` so that a headed login is
readable by a headless run; the folder's mode is what protects them.

The web player's page, as read here (Spotify in 2026):

- the list is a ``div[role="grid"]`` (``data-testid="playlist-tracklist"``)
  whose ``aria-rowcount`` counts its rows, the header row included;
- each track is a ``div[data-testid="tracklist-row"]`` inside a
  ``div[role="row"]`` whose ``aria-rowindex`` is its place (the header is 1);
- in a row, ``a[data-testid="internal-track-link"]`` links ``/track/{id}`` and
  holds the title, ``a[href*="/artist/"]`` the artists, ``a[href*="/album/"]``
  the album, a grid cell ending in ``m:ss`` the duration and ``[aria-label="Explicit"]``
  the explicit badge; a row still loading has no track link;
- the rows are virtualised (about 50 in the DOM at a time), so the reader
  scrolls the last row into view, waits until the list stops changing
  (:data:`QUIET_MS`, or :data:`LOADING_QUIET_MS` while rows are still
  loading), and repeats until every row of ``aria-rowcount`` was seen, or
  until :data:`IDLE_PASSES` passes in a row, over :data:`IDLE_S` seconds at
  least, add nothing;
- being logged in means having the ``sp_dc`` cookie (:data:`LOGIN_COOKIE`).

Rows carry no ISRC, release date, track numbers, album artists or cover, so
every track names those in ``missing``. A read that did not see every row the
list announced is returned with ``complete`` False (and a warning): the sync
engine then prunes nothing.

Finding the programs (:func:`find_binaries`): ``TUNECRATE_CHROMIUM`` or the
first of :data:`CHROMIUM_NAMES` on PATH; ``TUNECRATE_CHROMEDRIVER`` or
``chromedriver`` on PATH. Only when neither gives a chromedriver, and the
network answers, is webdriver-manager (the ``browser`` extra) asked to
download one matching the Chromium found, into ``<data_root>/webdriver``.
Selenium is handed the driver explicitly and runs with ``SE_OFFLINE=true``, so
Selenium Manager never downloads anything. ``proxy`` (``TUNECRATE_PROXY``)
becomes Chromium's ``--proxy-server``, and the hosts ``NO_PROXY`` lists its
``--proxy-bypass-list`` (:func:`proxy_bypass_rules`). ``TUNECRATE_CA_BUNDLE``
does not reach Chromium, which has no switch for it: on Linux it trusts what
the user's NSS store (``~/.pki/nssdb``) holds, where a network's inspecting
CA is installed with ``certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n proxy -i ca.pem``.

Selenium (the ``tunecrate[browser]`` extra) is imported on first use.

Errors: :class:`ConfigurationError` when Selenium, Chromium or chromedriver
is missing;
:class:`AuthError` when the profile is not logged in (headless) or nobody
logged in within ``login_timeout_s``; :class:`ServiceError` when the list
never appears or the window is closed; :class:`ServiceUnavailable` when
Chromium cannot start or the page cannot be reached.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..core.errors import AuthError, ConfigurationError, ServiceError, ServiceUnavailable
from ..core.ids import LIKES, Reference
from ..core.settings import SettingsModel, setting
from ..core.types import SkippedEntry, TrackInfo, TrackList
from .spotify_login import checked_url
from .spotify_web import DEFAULT_WEB_URL, SpotifyWebSettings

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

    from ..core.settings import Settings

__all__ = ["BrowserBinaries", "LikedSongsRead", "SpotifyBrowserSettings", "SpotifyBrowserSource",
           "display_available", "find_binaries", "profile_path", "read_liked_songs", "start_browser"]

#: The web player's path of Liked Songs.
LIKED_SONGS_PATH = "/collection/tracks"
#: The cookie the web player keeps a login in.
LOGIN_COOKIE = "sp_dc"
#: Names Chromium (or Chrome) goes by on PATH, tried in order.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
#: Where Chromium and Chrome live on macOS, tried after PATH.
_MAC_APPS = ("/Applications/Chromium.app/Contents/MacOS/Chromium",
             "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome")
#: Consecutive scroll passes that add no row, lasting at least IDLE_S seconds together, before the
#: reader decides it has seen the whole list (when the list does not say how long it is).
IDLE_PASSES = 4
IDLE_S = 3.0
#: A pass waits until the list has not changed for this long (ms) before it reads the rows ...
QUIET_MS = 120
#: ... or for this long while some row is still loading (it has no track link yet) ...
LOADING_QUIET_MS = 600
#: ... but never longer than this (ms).
PASS_LIMIT_MS = 5000
#: The host a download of chromedriver would come from (checked before webdriver-manager is tried).
_DRIVER_HOST = ("googlechromelabs.github.io", 443)
_TRACK_HREF = re.compile(r"/track/([0-9A-Za-z]{22})(?:[/?#]|$)")
_DURATION = re.compile(r"^(\d+):(\d{2})(?::(\d{2}))?$")
#: What a row of the web player never says.
_NEVER_IN_ROWS = frozenset({"album_artists", "track_number", "track_total", "disc_number", "release_date",
                            "isrc", "cover_url"})


class SpotifyBrowserSettings(SettingsModel):
    """Which programs the browser source runs (the web player's address is the web source's
    ``spotify_web_url``, :class:`~tunecrate.sources.spotify_web.SpotifyWebSettings`)."""

    chromium: str | None = setting(None, env="TUNECRATE_CHROMIUM",
                                   help="the Chromium (or Chrome) binary (default: chromium on PATH)")
    chromedriver: str | None = setting(None, env="TUNECRATE_CHROMEDRIVER",
                                       help="the chromedriver binary (default: chromedriver on PATH)")
    browser_headless: bool = setting(False, env="TUNECRATE_BROWSER_HEADLESS",
                                     help="run Chromium without a window (needs a profile already logged in)")
    browser_login_timeout: float = setting(300.0, env="TUNECRATE_BROWSER_LOGIN_TIMEOUT", gt=0,
                                           help="how long to wait for you to log in in the window (s)")
    browser_page_timeout: float = setting(30.0, env="TUNECRATE_BROWSER_PAGE_TIMEOUT", gt=0,
                                          help="how long a page, and the list of Liked Songs, may take to appear (s)")


def profile_path(data_root: Path) -> Path:
    """The browser profile folder of a library: ``<data_root>/browser-profile``."""
    return Path(data_root) / "browser-profile"


# -- finding and starting Chromium ---------------------------------------------------------


@dataclass(frozen=True)
class BrowserBinaries:
    """The programs the source runs: ``chromium`` and ``chromedriver`` (absolute paths), and where
    the driver was found (``"setting"``, ``"PATH"`` or ``"webdriver-manager"``)."""

    chromium: Path
    chromedriver: Path
    driver_origin: str


def _executable(value: str, setting_env: str) -> Path:
    """``value`` (a path, or a name on PATH) as an absolute executable; else :class:`ConfigurationError`."""
    found = shutil.which(os.path.expanduser(value))
    if found is None:
        raise ConfigurationError(f"{setting_env}={value!r} is not an executable file")
    return Path(found).absolute()


def _network_up(proxy: str | None, timeout_s: float = 3.0) -> bool:
    """Whether the host a driver download comes from (or the proxy) accepts a connection."""
    host, port = _DRIVER_HOST
    if proxy:
        split = urlsplit(proxy if "://" in proxy else "http://" + proxy)
        host, port = split.hostname or "", split.port or (443 if split.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _chromium_version(chromium: Path) -> str | None:
    """``"156.0.8078.114"`` from ``chromium --version``, or ``None``."""
    try:
        out = subprocess.run([str(chromium), "--version"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\b(\d+\.\d+\.\d+\.\d+)\b", out)
    return match.group(1) if match else None


def _download_driver(chromium: Path, cache_root: Path, proxy: str | None) -> Path:
    """A chromedriver for ``chromium`` from webdriver-manager (cached under ``cache_root``)."""
    try:
        from webdriver_manager.chrome import ChromeDriverManager
        from webdriver_manager.core.download_manager import WDMDownloadManager
        from webdriver_manager.core.driver_cache import DriverCacheManager
        from webdriver_manager.core.http import WDMHttpClient
        from webdriver_manager.core.os_manager import ChromeType
    except ImportError:
        raise ConfigurationError(_NO_DRIVER + " (webdriver-manager, which could download one, is not installed)"
                                 ) from None

    class _Client(WDMHttpClient):
        def get(self, url, **kwargs):
            if proxy:
                kwargs.setdefault("proxies", {"http": proxy, "https": proxy})
            return super().get(url, **kwargs)

    chrome_type = ChromeType.CHROMIUM if "chromium" in chromium.name.lower() else ChromeType.GOOGLE
    try:
        path = ChromeDriverManager(driver_version=_chromium_version(chromium), chrome_type=chrome_type,
                                   download_manager=WDMDownloadManager(_Client()),
                                   cache_manager=DriverCacheManager(root_dir=str(cache_root))).install()
    except Exception as exc:  # webdriver-manager raises bare ValueError/requests errors
        raise ConfigurationError(f"{_NO_DRIVER} (webdriver-manager could not download one: {_first_line(exc)})"
                                 ) from None
    return Path(path)


_NO_DRIVER = ("chromedriver not found: install it (Debian/Ubuntu: apt install chromium-driver) "
              "or set TUNECRATE_CHROMEDRIVER")


def installed_chromium() -> str | None:
    """The first of :data:`CHROMIUM_NAMES` on PATH, else (macOS) an installed Chromium or Chrome app; ``None``
    when there is none."""
    found = next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)
    if found is None and sys.platform == "darwin":
        found = next((p for p in _MAC_APPS if os.access(p, os.X_OK)), None)
    return found


def find_binaries(chromium: str | None = None, chromedriver: str | None = None, *, proxy: str | None = None,
                  download_root: Path | None = None) -> BrowserBinaries:
    """Chromium and chromedriver: the settings' values, else PATH (see the module docstring).

    ``download_root`` is where webdriver-manager may keep a driver it
    downloads; ``None`` forbids downloading. Raises
    :class:`ConfigurationError` with what to install or set.
    """
    if chromium:
        browser = _executable(chromium, "TUNECRATE_CHROMIUM")
    else:
        found = installed_chromium()
        if found is None:
            raise ConfigurationError("Chromium not found: install it (Debian/Ubuntu: apt install chromium) "
                                     "or set TUNECRATE_CHROMIUM")
        browser = Path(found).absolute()
    if chromedriver:
        return BrowserBinaries(browser, _executable(chromedriver, "TUNECRATE_CHROMEDRIVER"), "setting")
    found = shutil.which("chromedriver")
    if found is not None:
        return BrowserBinaries(browser, Path(found).absolute(), "PATH")
    if download_root is None:
        raise ConfigurationError(_NO_DRIVER)
    if not _network_up(proxy):
        raise ConfigurationError(_NO_DRIVER + " (no network to download one)")
    return BrowserBinaries(browser, _download_driver(browser, download_root, proxy), "webdriver-manager")


def chromium_arguments(profile: Path, *, headless: bool, proxy: str | None) -> list[str]:
    """The command-line switches Chromium is started with (see the module docstring)."""
    args = [f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--password-store=basic"]
    if headless:  # a tall window shows more rows, so fewer scroll passes read the list
        args += ["--headless=new", "--disable-gpu", "--window-size=1280,2400"]
    else:
        args.append("--window-size=1280,900")
    if sys.platform.startswith("linux"):
        args.append("--disable-dev-shm-usage")
        if os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses to start as root with its sandbox
    if proxy:
        args.append(f"--proxy-server={proxy}")
        bypass = proxy_bypass_rules(os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or "")
        if bypass:
            args.append(f"--proxy-bypass-list={';'.join(bypass)}")
    return args


def proxy_bypass_rules(no_proxy: str) -> list[str]:
    """``NO_PROXY`` (``"nas.home,.corp.example,10.0.0.0/8"``) as Chromium's proxy bypass rules, matching
    what curl and requests send direct: a name and its subdomains, a ``.suffix``, an address or
    network, ``*``. Chromium always sends this machine direct on its own."""
    rules: list[str] = []
    for entry in (e.strip() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return ["*"]
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            rules += ["*" + entry] if entry.startswith(".") else [entry] if "*" in entry else [entry, "*." + entry]
        else:
            rules.append(entry)
    return rules


def display_available() -> bool:
    """Whether Chromium can open a window here (on Linux: ``DISPLAY`` or ``WAYLAND_DISPLAY`` is set)."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _private_folder(path: Path) -> Path:
    """``path`` as a folder only its owner may enter (0700), made if needed."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def start_browser(binaries: BrowserBinaries, profile: Path, *, headless: bool, proxy: str | None = None,
                  page_timeout_s: float = 30.0) -> WebDriver:
    """Chromium under chromedriver on the profile folder ``profile`` (made 0700), through Selenium.

    The caller quits the returned driver. Raises :class:`ConfigurationError`
    when Selenium is not installed, :class:`ServiceUnavailable` when Chromium
    does not start.
    """
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise ConfigurationError("the browser source needs Selenium: pip install 'tunecrate[browser]'") from None
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download a driver or a browser
    options = webdriver.ChromeOptions()
    options.binary_location = str(binaries.chromium)
    for arg in chromium_arguments(_private_folder(profile), headless=headless, proxy=proxy):
        options.add_argument(arg)
    service = Service(executable_path=str(binaries.chromedriver), log_output=subprocess.DEVNULL)
    try:
        driver = webdriver.Chrome(service=service, options=options)
    except WebDriverException as exc:
        message = _first_line(exc)
        if "already in use" in message:
            raise ServiceUnavailable(f"Chromium could not start: its profile {profile} is in use by another "
                                     "Chromium; close that one first") from None
        raise ServiceUnavailable(f"Chromium could not start ({binaries.chromium}): {message}") from None
    driver.set_page_load_timeout(page_timeout_s)
    driver.set_script_timeout(PASS_LIMIT_MS / 1000 + page_timeout_s)
    return driver


def _first_line(exc: BaseException) -> str:
    """The first line of a Selenium error (they carry stack traces below it)."""
    text = (getattr(exc, "msg", None) or str(exc)).strip()
    return text.splitlines()[0].removeprefix("Message: ").strip() if text else type(exc).__name__


# -- reading the page ----------------------------------------------------------------------

#: Whether the list is on the page (the grid, or a row of it).
_LISTED_JS = """
return !!document.querySelector(
  'div[data-testid="playlist-tracklist"], div[role="grid"] div[data-testid="tracklist-row"]');
"""

#: One pass: wait until the list has been quiet for arguments[0] ms (arguments[1] ms while a row is
#: loading; at most arguments[2] ms), read every row in the DOM, then scroll the last row into view
#: for the next pass to read.
_PASS_JS = r"""
const quietMs = arguments[0], loadingQuietMs = arguments[1], limitMs = arguments[2];
const done = arguments[arguments.length - 1];
const grid = () => document.querySelector('div[data-testid="playlist-tracklist"]')
  || document.querySelector('div[role="grid"]');
const text = (el) => (el ? el.textContent : '').trim();
function collect() {
  const g = grid();
  const count = g ? parseInt(g.getAttribute('aria-rowcount'), 10) : NaN;
  const rows = [];
  for (const row of document.querySelectorAll('div[data-testid="tracklist-row"]')) {
    const holder = row.closest('[aria-rowindex]');
    const index = holder ? parseInt(holder.getAttribute('aria-rowindex'), 10) : null;
    const link = row.querySelector('a[data-testid="internal-track-link"]');
    if (!link) { rows.push({index: index, loading: true}); continue; }
    const artists = Array.from(row.querySelectorAll('a[href*="/artist/"]')).map(text).filter(Boolean);
    let duration = null;
    for (const cell of row.querySelectorAll('[role="gridcell"]')) {
      const m = /(?:^|\s)(\d+:\d{2}(?::\d{2})?)$/.exec(text(cell));
      if (m) duration = m[1];
    }
    rows.push({index: index, href: link.getAttribute('href') || '', title: text(link), artists: artists,
               album: text(row.querySelector('a[href*="/album/"]')), duration: duration,
               explicit: !!row.querySelector('[aria-label="Explicit"]')});
  }
  return {rowcount: isNaN(count) ? null : count, rows: rows};
}
const target = grid() || document.body;
const start = performance.now();
let last = start;
const observer = new MutationObserver(() => { last = performance.now(); });
observer.observe(target, {subtree: true, childList: true, characterData: true, attributes: true});
(function tick() {
  const now = performance.now();
  const loading = document.querySelector('div[data-testid="tracklist-row"]:not(:has(a[data-testid="internal-track-link"]))');
  if (now - last < (loading ? loadingQuietMs : quietMs) && now - start < limitMs) { setTimeout(tick, 20); return; }
  observer.disconnect();
  const found = collect();
  const rows = document.querySelectorAll('div[data-testid="tracklist-row"]');
  if (rows.length) rows[rows.length - 1].scrollIntoView({block: 'start'});
  done(found);
})();
"""


@dataclass
class LikedSongsRead:
    """What one read of the list saw: ``entries`` in list order, the ``skipped`` rows that link no
    track, ``expected`` rows as the list announced them (``aria-rowcount`` less the header; ``None``
    when it did not say), ``passes`` scroll passes made and ``most_rows`` the most rows seen in the
    DOM at once."""

    entries: list[TrackInfo] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)
    expected: int | None = None
    passes: int = 0
    most_rows: int = 0

    @property
    def complete(self) -> bool:
        """Whether every row the list announced was read."""
        return self.expected is None or len(self.entries) + len(self.skipped) >= self.expected


def _duration_ms(text: str | None) -> int:
    match = _DURATION.match(text or "")
    if not match:
        return 0
    a, b, c = match.groups()
    seconds = int(a) * 3600 + int(b) * 60 + int(c) if c else int(a) * 60 + int(b)
    return seconds * 1000


def _track(row: dict[str, Any], track_id: str) -> TrackInfo:
    """A row of the list as a :class:`TrackInfo` (see the module docstring for what it lacks)."""
    duration = _duration_ms(row.get("duration"))
    missing = set(_NEVER_IN_ROWS)
    if not row.get("album"):
        missing.add("album")
    if not duration:
        missing.add("duration_ms")
    return TrackInfo(track_id=track_id, title=str(row.get("title") or ""),
                     artists=tuple(str(a) for a in row.get("artists") or ()), album=str(row.get("album") or ""),
                     duration_ms=duration, explicit=bool(row.get("explicit")),
                     missing=frozenset(missing))


def _wait_for_list(driver: WebDriver, list_url: str, *, interactive: bool, login_timeout_s: float,
                   page_timeout_s: float, profile: Path | None) -> None:
    """Return once the list is on the page; on the way, let the user log in when ``interactive``."""
    driver.get(list_url)
    now = time.monotonic()
    login_deadline = now + login_timeout_s
    list_deadline: float | None = None
    last_visit = now
    where = f" (profile {profile})" if profile else ""
    while not driver.execute_script(_LISTED_JS):
        now = time.monotonic()
        if driver.get_cookie(LOGIN_COOKIE) is None:
            if not interactive:
                raise AuthError(f"the browser profile is not logged in to Spotify{where}: run "
                                "`tunecrate likes --browser` without --headless once, where Chromium can open "
                                "a window, and log in there")
            if now > login_deadline:
                raise AuthError(f"nobody logged in to Spotify within {login_timeout_s:g} s; run "
                                "`tunecrate likes --browser` again and log in in its window")
        else:
            list_deadline = list_deadline or now + page_timeout_s
            if now > list_deadline:
                raise ServiceError(f"Liked Songs did not appear at {list_url} within {page_timeout_s:g} s: the "
                                   "login may have expired (run `tunecrate likes --browser` without --headless) "
                                   "or the web player's page has changed")
            if urlsplit(driver.current_url).path.rstrip("/") != LIKED_SONGS_PATH and now - last_visit > 2:
                driver.get(list_url)  # logged in, but the login ended elsewhere (the home page)
                last_visit = time.monotonic()
        time.sleep(0.25)


def read_liked_songs(driver: WebDriver, web_url: str, *, interactive: bool, login_timeout_s: float = 300.0,
                     page_timeout_s: float = 30.0, profile: Path | None = None) -> LikedSongsRead:
    """Open ``{web_url}/collection/tracks`` in ``driver`` and read every row of Liked Songs, in order.

    When ``interactive`` the user may log in in the window first (for up to
    ``login_timeout_s`` seconds); otherwise a missing login is an
    :class:`AuthError` at once. Then the list is scrolled pass after pass
    (see the module docstring). Rows are ordered by ``aria-rowindex`` when
    every row has one, else as first seen. Raises the errors of the module
    docstring.
    """
    from selenium.common.exceptions import TimeoutException, WebDriverException

    list_url = web_url.rstrip("/") + LIKED_SONGS_PATH
    try:
        _wait_for_list(driver, list_url, interactive=interactive, login_timeout_s=login_timeout_s,
                       page_timeout_s=page_timeout_s, profile=profile)
        return _scroll_and_read(driver)
    except TimeoutException:
        raise ServiceUnavailable(f"{list_url} did not load within {page_timeout_s:g} s") from None
    except WebDriverException as exc:
        message = _first_line(exc)
        if "no such window" in message.lower() or "target window already closed" in message.lower():
            raise ServiceError("the Chromium window was closed before Liked Songs were read") from None
        if "ERR_" in message:
            raise ServiceUnavailable(f"cannot reach {list_url}: {message}") from None
        raise ServiceError(f"reading {list_url} failed: {message}") from None


def _scroll_and_read(driver: WebDriver) -> LikedSongsRead:
    seen: dict[Any, dict[str, Any]] = {}
    result = LikedSongsRead()
    idle, idle_since = 0, time.monotonic()
    while idle < IDLE_PASSES or time.monotonic() - idle_since < IDLE_S:
        found = driver.execute_async_script(_PASS_JS, QUIET_MS, LOADING_QUIET_MS, PASS_LIMIT_MS)
        result.passes += 1
        rows = found.get("rows") or []
        result.most_rows = max(result.most_rows, len(rows))
        if found.get("rowcount"):
            result.expected = max(int(found["rowcount"]) - 1, 0)
        added = 0
        for row in rows:
            if row.get("loading"):
                continue
            key = row["index"] if row.get("index") is not None else ("href", row.get("href"))
            if key not in seen:
                seen[key] = row
                added += 1
        if result.expected is not None and len(seen) >= result.expected:
            break
        if added:
            idle, idle_since = 0, time.monotonic()
        else:
            idle += 1
    keys = list(seen)
    if all(isinstance(k, int) for k in keys):
        keys.sort()
    for position, key in enumerate(keys):
        row = seen[key]
        match = _TRACK_HREF.search(row.get("href") or "")
        if match is None:
            reason = "episode" if "/episode/" in (row.get("href") or "") else "unavailable"
            result.skipped.append(SkippedEntry(position, reason, row.get("title") or None))
        else:
            result.entries.append(_track(row, match.group(1)))
    return result


# -- the source -------------------------------------------------------------------------------


class SpotifyBrowserSource:
    """The ``spotify-browser`` :class:`~tunecrate.sources.base.Source`: Liked Songs from the web player.

    ``web_url`` is the web player (``TUNECRATE_SPOTIFY_WEB_URL``);
    ``profile`` the browser profile folder (see :func:`profile_path`);
    ``chromium``/``chromedriver`` the programs (``None``: found on PATH, see
    :func:`find_binaries`); ``download_root`` where webdriver-manager may put
    a driver it downloads (``None``: never download); ``headless`` runs
    without a window, as does a machine without a display
    (:func:`display_available`); ``login_timeout_s`` and ``page_timeout_s``
    bound the wait for a login and for the list (seconds); ``proxy`` is
    handed to Chromium. Building it is offline and starts nothing: each
    :meth:`fetch` starts Chromium, reads the list and quits it.
    """

    name = "spotify-browser"
    settings_model = SpotifyBrowserSettings
    #: Used only when named: by ``likes --browser``, or for a list this source filled before.
    explicit = True

    def __init__(self, *, web_url: str = DEFAULT_WEB_URL, profile: Path, chromium: str | None = None,
                 chromedriver: str | None = None, download_root: Path | None = None, headless: bool = False,
                 login_timeout_s: float = 300.0, page_timeout_s: float = 30.0, proxy: str | None = None) -> None:
        self.web_url = checked_url(web_url, "TUNECRATE_SPOTIFY_WEB_URL").rstrip("/")
        self.profile = Path(profile)
        self._chromium, self._chromedriver, self._download_root = chromium, chromedriver, download_root
        self.headless = headless
        self._login_timeout_s, self._page_timeout_s = login_timeout_s, page_timeout_s
        self._proxy = proxy

    @classmethod
    def from_settings(cls, settings: Settings) -> SpotifyBrowserSource:
        s = settings.section(SpotifyBrowserSettings)
        return cls(web_url=settings.section(SpotifyWebSettings).spotify_web_url,
                   profile=profile_path(settings.data_root), chromium=s.chromium,
                   chromedriver=s.chromedriver, download_root=settings.data_root / "webdriver",
                   headless=s.browser_headless, login_timeout_s=s.browser_login_timeout,
                   page_timeout_s=s.browser_page_timeout, proxy=settings.proxy)

    @property
    def opens_window(self) -> bool:
        """Whether :meth:`fetch` shows a Chromium window (in which the user may log in)."""
        return not self.headless and display_available()

    def suitable(self, ref: Reference) -> bool:
        """Liked Songs only."""
        return ref.is_spotify and ref.kind == "likes"

    def fetch(self, ref: Reference) -> TrackList:
        """Liked Songs as ``kind="likes"``, read in Chromium (see the module docstring)."""
        binaries = find_binaries(self._chromium, self._chromedriver, proxy=self._proxy,
                                 download_root=self._download_root)
        window = self.opens_window
        driver = start_browser(binaries, self.profile, headless=not window, proxy=self._proxy,
                               page_timeout_s=self._page_timeout_s)
        try:
            read = read_liked_songs(driver, self.web_url, interactive=window,
                                    login_timeout_s=self._login_timeout_s, page_timeout_s=self._page_timeout_s,
                                    profile=self.profile)
        finally:
            _quit(driver)
        warnings: tuple[str, ...] = ()
        if not read.complete:
            warnings = (f"the web player listed {read.expected} Liked Songs but only "
                        f"{len(read.entries) + len(read.skipped)} could be read; the others are kept",)
        return TrackList(kind="likes", id=LIKES, title="Liked Songs", entries=tuple(read.entries),
                         skipped=tuple(read.skipped), snapshot=None, source=self.name,
                         complete=read.complete, warnings=warnings)

    def snapshot(self, ref: Reference) -> str | None:
        """Always ``None``: the web player cannot say whether the list changed without reading it."""
        return None

    def close(self) -> None:
        """Nothing to release: every fetch quits its browser."""


def _quit(driver: Any) -> None:
    try:
        driver.quit()
    except Exception:  # the window may already be gone; the session ends either way
        pass
