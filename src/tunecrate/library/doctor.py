"""``tunecrate doctor``: what the main job needs, and whether it works here, each found out by running it.

:func:`diagnose` runs every check (at once, in threads; each bounded by a
timeout) and returns a :class:`DoctorReport`. Nothing is judged by a path
existing:

==================  ===================================================================
``ffmpeg``          runs ``-version``, lists its encoders (libmp3lame), encodes one
                    second of a tone to MP3 and reads the result back
``js-runtime``      the runtime yt-dlp is handed (``TUNECRATE_JS_RUNTIME``, else the
                    deno wheel) evaluates ``console.log(6 * 7)``
``yt-dlp``          yt-dlp solves a signature and an ``n`` challenge of a tiny local
                    player with that runtime and the EJS scripts, as a YouTube
                    download does (no network)
``yt-dlp-settings`` cookies file, cookies-from-browser spec and ``TUNECRATE_YTDLP_OPTIONS``
                    are usable
``network``         the proxy in use, and the CA bundle loads
``spotify-api``     with app credentials: a client-credentials token is granted
``spotify-login``   the stored login, its scopes, and those it lacks
``spotify-web``     the public web pages answer (through the proxy)
``spotify``         which of the above sources are usable (at least one is needed)
``browser``         Chromium starts headless and renders a page; chromedriver starts
                    and reports ready (only ``likes --browser`` needs them)
``library``         the storage and data folders are writable, their free space, and
                    the catalogue
==================  ===================================================================

A check ``failed`` when it does not work; those marked ``required`` are
what the main job (load a link into tagged MP3s) cannot do without, and
:attr:`DoctorReport.ok` is False when one of them failed. Every failed or
warning line carries a ``fix``: what to do.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from tunecrate.core.errors import TunecrateError
from tunecrate.core.settings import Settings

__all__ = ["DoctorCheck", "DoctorReport", "diagnose"]

OK, FAILED, WARNING, SKIPPED = "ok", "failed", "warning", "skipped"
#: Below this much free space (bytes) the library check warns.
LOW_SPACE_BYTES = 1 << 30


@dataclass(frozen=True)
class DoctorCheck:
    """One line of the report: ``name`` (see the module docstring), ``status`` (``ok``,
    ``failed``, ``warning``, ``skipped``), what was found (``detail``), what to do (``fix``,
    for failed and warning lines), whether the main job needs it (``required``), and how long
    the check took (``seconds``)."""

    name: str
    status: str
    detail: str
    fix: str | None = None
    required: bool = False
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status == FAILED

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class DoctorReport:
    """Every check, in a stable order. ``ok`` is False when a required check failed."""

    checks: list[DoctorCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(c.failed and c.required for c in self.checks)

    def check(self, name: str) -> DoctorCheck:
        """The check called ``name``. Raises :class:`KeyError`."""
        return next(c for c in self.checks if c.name == name)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [c.to_json() for c in self.checks]}


def diagnose(settings: Settings, *, timeout_s: float = 5.0) -> DoctorReport:
    """Run every check for the library ``settings`` describe; network probes wait at most
    ``timeout_s`` seconds each. Never raises for what it finds: a failure is a failed line."""
    from concurrent.futures import ThreadPoolExecutor

    from tunecrate.media.ytdlp import YtDlpFactory

    factory = YtDlpFactory.from_settings(settings)
    with ThreadPoolExecutor(max_workers=6, thread_name_prefix="doctor") as pool:
        runs: dict[str, Callable[[], DoctorCheck]] = {
            "browser": lambda: check_browser(settings),  # the slowest first
            "yt-dlp": lambda: check_ytdlp(factory),
            "ffmpeg": lambda: check_ffmpeg(settings),
            "js-runtime": lambda: check_js_runtime(factory),
            "yt-dlp-settings": lambda: check_ytdlp_settings(factory),
            "network": lambda: check_network(settings),
            "spotify-api": lambda: check_spotify_api(settings, timeout_s),
            "spotify-login": lambda: check_spotify_login(settings),
            "spotify-web": lambda: check_spotify_web(settings, timeout_s),
            "library": lambda: check_library(settings),
        }
        futures = {name: pool.submit(_timed, name, run) for name, run in runs.items()}
        checks = {name: future.result() for name, future in futures.items()}
    ordered = [checks[n] for n in ("ffmpeg", "js-runtime", "yt-dlp", "yt-dlp-settings", "network",
                                   "spotify-api", "spotify-login", "spotify-web")]
    ordered.append(_spotify_summary(checks["spotify-api"], checks["spotify-login"], checks["spotify-web"]))
    ordered += [checks["browser"], checks["library"]]
    return DoctorReport(ordered)


def _timed(name: str, check: Callable[[], DoctorCheck]) -> DoctorCheck:
    started = time.monotonic()
    try:
        result = check()
    except TunecrateError as exc:  # a bad setting a check ran into
        result = DoctorCheck(name, FAILED, str(exc), fix="fix the setting it names", required=True)
    return DoctorCheck(result.name, result.status, result.detail, result.fix, result.required,
                       time.monotonic() - started)


# -- encoding ------------------------------------------------------------------------------


def check_ffmpeg(settings: Settings) -> DoctorCheck:
    """ffmpeg runs, has libmp3lame, and encodes one second of audio to an MP3 that reads back."""
    from mutagen.mp3 import MP3

    from tunecrate.media.ffmpeg import find_ffmpeg

    fix = "install ffmpeg with libmp3lame, or set TUNECRATE_FFMPEG to one (pip's imageio-ffmpeg has one)"
    try:
        binary = find_ffmpeg(settings.ffmpeg)
        version = subprocess.run([binary, "-hide_banner", "-version"], capture_output=True, text=True,
                                 timeout=30).stdout.splitlines()
        encoders = subprocess.run([binary, "-hide_banner", "-encoders"], capture_output=True, text=True,
                                  timeout=30).stdout
    except TunecrateError as exc:
        return DoctorCheck("ffmpeg", FAILED, str(exc), fix=fix, required=True)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return DoctorCheck("ffmpeg", FAILED, f"{settings.ffmpeg or 'ffmpeg'} does not run: {exc}", fix=fix,
                           required=True)
    label = (version[0] if version else "ffmpeg").split(" Copyright")[0]
    if "libmp3lame" not in encoders:
        return DoctorCheck("ffmpeg", FAILED, f"{label} ({binary}) has no libmp3lame encoder", fix=fix, required=True)
    with tempfile.TemporaryDirectory(prefix="tunecrate-doctor-") as work:
        out = Path(work) / "one-second.mp3"
        run = subprocess.run([binary, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
                              "-i", "sine=frequency=440:sample_rate=44100:duration=1", "-c:a", "libmp3lame",
                              "-q:a", "0", str(out)], capture_output=True, text=True, timeout=60)
        try:
            length = MP3(out).info.length if run.returncode == 0 else 0.0
        except Exception:  # mutagen raises several kinds for a bad file
            length = 0.0
    if not 0.9 <= length <= 1.2:
        detail = (run.stderr.strip().splitlines() or ["no MP3 came out"])[-1]
        return DoctorCheck("ffmpeg", FAILED, f"{label} ({binary}) could not encode an MP3: {detail}", fix=fix,
                           required=True)
    return DoctorCheck("ffmpeg", OK, f"{label} ({binary}); libmp3lame encoded 1 s of audio ({length:.2f} s read back)",
                       required=True)


# -- YouTube ---------------------------------------------------------------------------------


def check_js_runtime(factory) -> DoctorCheck:
    """The JavaScript runtime yt-dlp is handed runs a line of JavaScript."""
    from tunecrate.media.ytdlp import run_js_runtime

    runtime = factory.runtime
    where = f"{runtime.executable} (from {runtime.origin})"
    if runtime.origin == "TUNECRATE_JS_RUNTIME":
        fix = ("TUNECRATE_JS_RUNTIME names a runtime that does not run: fix it (a deno, node, bun or quickjs "
               "binary, or NAME:PATH), or unset it to use the deno wheel tunecrate installs")
    else:
        fix = "reinstall the deno wheel (pip install --force-reinstall deno), or set TUNECRATE_JS_RUNTIME"
    try:
        version, seconds = run_js_runtime(runtime)
    except (OSError, RuntimeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return DoctorCheck("js-runtime", FAILED, f"{where} does not run: {reason}", fix=fix, required=True)
    return DoctorCheck("js-runtime", OK, f"{version}: {where}, ran JavaScript in {seconds:.2f} s", required=True)


def check_ytdlp(factory) -> DoctorCheck:
    """yt-dlp and its EJS scripts solve YouTube-style challenges with the runtime."""
    from tunecrate.media.ytdlp import check_challenge_solver

    solver = check_challenge_solver(factory)
    versions = f"yt-dlp {solver.ytdlp_version}, yt-dlp-ejs {solver.ejs_version or 'not installed'}"
    if solver.solved:
        return DoctorCheck("yt-dlp", OK, f"{versions}: solved a signature and an n challenge with "
                           f"{factory.runtime.name} ({solver.script_source}) in {solver.seconds:.2f} s",
                           required=True)
    if solver.ejs_version is None:
        fix = "install the solver scripts: pip install 'yt-dlp[default]'"
    else:
        fix = "make the JavaScript runtime above work; if it does, update yt-dlp and yt-dlp-ejs together"
    return DoctorCheck("yt-dlp", FAILED, f"{versions}: YouTube's challenges are not solved here ({solver.detail})",
                       fix=fix, required=True)


def check_ytdlp_settings(factory) -> DoctorCheck:
    """The cookie settings and ``TUNECRATE_YTDLP_OPTIONS`` can be turned into yt-dlp options."""
    try:
        options = factory.options({})
    except TunecrateError as exc:
        return DoctorCheck("yt-dlp-settings", FAILED, str(exc), fix="fix the setting it names", required=True)
    parts = []
    if "cookiefile" in options:
        parts.append(f"cookies from {options['cookiefile']}")
    if "cookiesfrombrowser" in options:
        parts.append(f"cookies from the browser {options['cookiesfrombrowser'][0]}")
    extra = sorted(factory.settings.ytdlp_options)
    if extra:
        parts.append("extra options: " + ", ".join(extra))
    if not parts:
        return DoctorCheck("yt-dlp-settings", OK, "no cookies, no extra options (if YouTube asks to confirm you're "
                           "not a bot, set TUNECRATE_YTDLP_COOKIES_FROM_BROWSER)")
    return DoctorCheck("yt-dlp-settings", OK, "; ".join(parts))


# -- network ---------------------------------------------------------------------------------


def check_network(settings: Settings) -> DoctorCheck:
    """Which proxy every client uses, and whether the extra CA bundle loads."""
    from tunecrate.core.net import ssl_context

    proxy = (f"proxy {settings.proxy} (TUNECRATE_PROXY, else HTTPS_PROXY); this machine and NO_PROXY hosts go "
             "direct" if settings.proxy else "no proxy")
    if not settings.ca_bundle:
        return DoctorCheck("network", OK, f"{proxy}; the usual certificate authorities")
    try:
        count = len(ssl_context(settings.ca_bundle).get_ca_certs())
    except TunecrateError as exc:
        return DoctorCheck("network", FAILED, str(exc),
                           fix="point TUNECRATE_CA_BUNDLE at the PEM certificate of your network's proxy CA",
                           required=True)
    return DoctorCheck("network", OK, f"{proxy}; trusting {settings.ca_bundle} besides the usual authorities "
                       f"({count} in all)")


# -- Spotify --------------------------------------------------------------------------------


def check_spotify_api(settings: Settings, timeout_s: float) -> DoctorCheck:
    """With app credentials, the accounts service grants a client-credentials token."""
    from tunecrate.core.net import requests_session
    from tunecrate.sources.spotify_login import SpotifySettings

    s = settings.section(SpotifySettings)
    if not (s.spotify_client_id and s.spotify_client_secret):
        return DoctorCheck("spotify-api", SKIPPED, "no app credentials (SPOTIPY_CLIENT_ID, SPOTIPY_CLIENT_SECRET)",
                           fix="optional: public links load through the web pages; an app is needed for "
                               "your own private playlists")
    url = s.spotify_accounts_url.rstrip("/") + "/api/token"
    try:
        session = requests_session(settings.proxy, settings.ca_bundle, timeout_s=timeout_s)
        with session:
            answer = session.post(url, data={"grant_type": "client_credentials"},
                                  auth=(s.spotify_client_id, s.spotify_client_secret))
    except Exception as exc:  # requests' tree, ssl, socket
        return DoctorCheck("spotify-api", FAILED, f"cannot reach {url}: {_reason(exc)}",
                           fix="check the network, TUNECRATE_PROXY and TUNECRATE_CA_BUNDLE")
    if answer.status_code == 200:
        return DoctorCheck("spotify-api", OK, f"the app's credentials got a token from {s.spotify_accounts_url}")
    if answer.status_code in (400, 401):
        return DoctorCheck("spotify-api", FAILED, f"Spotify refused the app credentials (HTTP {answer.status_code})",
                           fix="check SPOTIPY_CLIENT_ID and SPOTIPY_CLIENT_SECRET at developer.spotify.com")
    return DoctorCheck("spotify-api", FAILED, f"{url} answered HTTP {answer.status_code}", fix="retry later")


def check_spotify_login(settings: Settings) -> DoctorCheck:
    """The stored login: present, refreshable, and with the scopes the login asks for."""
    from tunecrate.sources.spotify_login import USER_SCOPE, login_state, token_path

    state = login_state(token_path(settings.data_root))
    granted = (state["scope"] or "").split()
    needed = USER_SCOPE.split()
    if state["scope"] is None and state["expires_at"] is None:
        return DoctorCheck("spotify-login", SKIPPED, "not logged in",
                           fix="optional: `tunecrate login` to read your Liked Songs through the API")
    missing = [s for s in needed if s not in granted]
    if missing:
        return DoctorCheck("spotify-login", WARNING, f"logged in without {', '.join(missing)}",
                           fix="log in again: `tunecrate login`")
    if not state["logged_in"]:
        return DoctorCheck("spotify-login", WARNING, "the stored login expired and cannot be refreshed",
                           fix="log in again: `tunecrate login`")
    return DoctorCheck("spotify-login", OK, f"logged in; scopes {' '.join(granted)}")


def check_spotify_web(settings: Settings, timeout_s: float) -> DoctorCheck:
    """Spotify's public web pages answer (one light request, through the proxy)."""
    from tunecrate.core.net import requests_session

    from tunecrate.sources.spotify_web import SpotifyWebSettings

    base = settings.section(SpotifyWebSettings).spotify_web_url.rstrip("/")
    try:
        session = requests_session(settings.proxy, settings.ca_bundle, timeout_s=timeout_s)
        with session:
            answer = session.get(base + "/", allow_redirects=False, stream=True)
            answer.close()  # the status is all we need
    except Exception as exc:  # requests' tree, ssl, socket
        return DoctorCheck("spotify-web", FAILED, f"cannot reach {base}: {_reason(exc)}",
                           fix="check the network, TUNECRATE_PROXY and TUNECRATE_CA_BUNDLE")
    if answer.status_code >= 500:
        return DoctorCheck("spotify-web", FAILED, f"{base} answered HTTP {answer.status_code}", fix="retry later")
    return DoctorCheck("spotify-web", OK, f"{base} answers (HTTP {answer.status_code})")


def _spotify_summary(api: DoctorCheck, login: DoctorCheck, web: DoctorCheck) -> DoctorCheck:
    usable = []
    if web.status == OK:
        usable.append("web pages (public links, no credentials)")
    if api.status == OK:
        usable.append("Web API" + (" with your login" if login.status == OK else ""))
    if usable:
        return DoctorCheck("spotify", OK, "usable: " + "; ".join(usable), required=True)
    return DoctorCheck("spotify", FAILED, "no Spotify source is usable here",
                       fix="make Spotify reachable (network, proxy, CA bundle), or import an export file",
                       required=True)


# -- the browser -----------------------------------------------------------------------------


def check_browser(settings: Settings) -> DoctorCheck:
    """Chromium renders a page headless, and chromedriver starts and reports ready, when installed."""
    from tunecrate.sources.spotify_browser import SpotifyBrowserSettings, installed_chromium

    paths = settings.section(SpotifyBrowserSettings)
    chromium = _configured(paths.chromium) if paths.chromium else installed_chromium()
    driver = _configured(paths.chromedriver) if paths.chromedriver else shutil.which("chromedriver")
    if chromium is None and driver is None:
        return DoctorCheck("browser", SKIPPED, "Chromium and chromedriver are not installed",
                           fix="only `likes --browser` needs them: install chromium and chromium-driver")
    problems, found = [], []
    if chromium is None:
        problems.append("Chromium is not installed (or set TUNECRATE_CHROMIUM)")
    else:
        try:
            found.append(_start_chromium(chromium))
        except RuntimeError as exc:
            problems.append(str(exc))
    if driver is None:
        problems.append("chromedriver is not installed (or set TUNECRATE_CHROMEDRIVER)")
    else:
        try:
            found.append(_start_chromedriver(driver))
        except RuntimeError as exc:
            problems.append(str(exc))
    if problems:
        return DoctorCheck("browser", FAILED, "; ".join(found + problems),
                           fix="only `likes --browser` needs them: install matching chromium and chromium-driver")
    return DoctorCheck("browser", OK, "; ".join(found))


def _configured(binary: str) -> str:
    """A binary a setting names: found on PATH when it is a bare name, else as given (its start shows a bad one)."""
    return shutil.which(binary) or binary


def _start_chromium(binary: str) -> str:
    """Render a page headless; return ``"<version> (<path>) renders pages headless"``."""
    with tempfile.TemporaryDirectory(prefix="tunecrate-doctor-chromium-") as profile:
        try:
            version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
            run = subprocess.run(
                [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", f"--user-data-dir={profile}",
                 "--dump-dom", "data:text/html,<title>tunecrate-doctor</title><p>ok</p>"],
                capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RuntimeError(f"{binary} does not start: {exc}") from None
    if "tunecrate-doctor" not in run.stdout:
        detail = (run.stderr.strip().splitlines() or [f"exit {run.returncode}"])[-1][:200]
        raise RuntimeError(f"{binary} does not render pages headless: {detail}")
    return f"{version or 'Chromium'} ({binary}) renders pages headless"


def _start_chromedriver(binary: str) -> str:
    """Start chromedriver on a free loopback port until it reports ready; return what it said."""
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    try:
        process = subprocess.Popen([binary, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError as exc:
        raise RuntimeError(f"{binary} does not start: {exc.strerror or exc}") from None
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{binary} exited {process.returncode} at start")
            try:
                with direct.open(f"http://127.0.0.1:{port}/status", timeout=2) as answer:
                    status = json.load(answer).get("value") or {}
            except (OSError, ValueError):
                time.sleep(0.1)
                continue
            if status.get("ready"):
                version = ((status.get("build") or {}).get("version") or "").split(" ")[0]
                return f"chromedriver {version} ({binary}) starts and is ready".replace("  ", " ")
            time.sleep(0.1)
        raise RuntimeError(f"{binary} did not report ready within 20 s")
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


# -- the library ---------------------------------------------------------------------------


def check_library(settings: Settings) -> DoctorCheck:
    """The storage and data folders can be written (or created), their free space, and the catalogue."""
    parts, problems = [], []
    for label, folder in (("storage", settings.storage_root), ("data", settings.data_root)):
        existing = folder
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not os.access(existing, os.W_OK | os.X_OK):
            problems.append(f"{label} folder {folder} cannot be written")
            continue
        free = shutil.disk_usage(existing).free
        note = "" if folder.exists() else " (created on first use)"
        parts.append(f"{label} {folder}{note}, {free / 1e9:.1f} GB free")
        if free < LOW_SPACE_BYTES:
            problems.append(f"only {free / 1e6:.0f} MB free under {folder}")
    catalogue = _catalogue_summary(settings.database_path)
    if problems:
        writable = not any("cannot be written" in p for p in problems)
        return DoctorCheck("library", WARNING if writable else FAILED, "; ".join(parts + problems),
                           fix="free some space or point --storage/--data (TUNECRATE_STORAGE_ROOT, "
                               "TUNECRATE_DATA_ROOT) at a bigger disk" if writable else
                               "choose folders you can write with --storage/--data",
                           required=not writable)
    return DoctorCheck("library", OK, "; ".join(parts + [catalogue]), required=True)


def _catalogue_summary(path: Path) -> str:
    """``"catalogue: N tracks (schema v)"`` read without changing anything, or that there is none yet."""
    import sqlite3

    if not path.is_file():
        return "no catalogue yet"
    try:
        # as_uri() percent-encodes the path: a '?', '#' or '%' in a folder name stays part of it.
        with sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=2) as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tracks = db.execute("SELECT COUNT(*) FROM track").fetchone()[0]
    except sqlite3.Error as exc:
        return f"catalogue {path} unreadable: {exc}"
    return f"catalogue: {tracks} tracks (schema {version})"


def _reason(exc: BaseException) -> str:
    """The innermost useful line of a network error."""
    seen = exc
    while True:
        inner = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        inner = inner or getattr(seen, "reason", None)
        if not isinstance(inner, BaseException) or inner is seen:
            break
        seen = inner
    text = str(seen) or type(seen).__name__
    text = re.sub(r"^\w+Connection(?:Pool)?\([^)]*\): ", "", text.splitlines()[0])  # urllib3's prefix
    return text[:200]
