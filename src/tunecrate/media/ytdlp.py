"""yt-dlp as tunecrate runs it: the JavaScript runtime, cookies, extra options, proxy and CA bundle.

One place builds every ``YoutubeDL`` (downloads in :mod:`tunecrate.media.fetch`,
searches in :mod:`tunecrate.providers.youtube`, which receives the factory
through its :class:`~tunecrate.providers.base.ProviderContext`):
:class:`YtDlpFactory`, from the settings :class:`YtDlpSettings`.

YouTube in 2026: yt-dlp (≥ 2025.11) needs a JavaScript runtime and the EJS
challenge solver scripts to turn YouTube's signature and ``n`` challenges
into working format URLs; without them a download fails with "Requested
format is not available" (or "No video formats found"). tunecrate depends
on ``yt-dlp[default]`` (which brings the ``yt-dlp-ejs`` scripts) and on the
``deno`` wheel, and hands yt-dlp that binary's path (``js_runtimes``), so a
fresh ``pip install tunecrate`` solves the challenges with nothing else
installed. ``TUNECRATE_JS_RUNTIME`` overrides it.

Bot checks ("Sign in to confirm you're not a bot") need cookies from a
browser that is signed in to YouTube (``TUNECRATE_YTDLP_COOKIES_FROM_BROWSER``
or a ``cookies.txt`` in ``TUNECRATE_YTDLP_COOKIES``), or a PO token provider
plugin configured through ``TUNECRATE_YTDLP_OPTIONS``; :func:`explain_failure`
turns such answers into one line that names the setting.

Network: ``proxy`` goes to yt-dlp's ``proxy`` with this machine and
``NO_PROXY`` hosts going direct (see :mod:`tunecrate.core.net`); a
``ca_bundle`` is added to the TLS context of every yt-dlp request handler,
on top of certifi's bundle and the system store. yt-dlp has no option for
an extra CA file (``--compat-options no-certifi`` swaps certifi for the
system store, which then needs ``SSL_CERT_FILE`` set for the whole
process), so :class:`YtDlpFactory` builds its ``YoutubeDL`` from a subclass
that extends the contexts its request handlers make.

yt-dlp is imported when the first ``YoutubeDL`` is built, not with this module.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import field_validator

from tunecrate.core.errors import ConfigurationError
from tunecrate.core.net import LOOPBACK_NAMES, load_ca_bundle
from tunecrate.core.settings import SettingsModel, setting

if TYPE_CHECKING:
    import ssl

    from yt_dlp import YoutubeDL

    from tunecrate.core.settings import Settings

__all__ = ["JsRuntime", "SolverCheck", "YtDlpFactory", "YtDlpLogger", "YtDlpSettings", "check_challenge_solver",
           "explain_failure", "find_js_runtime", "run_js_runtime"]

_log = logging.getLogger(__name__)

#: yt-dlp's runtime keys, and the executable names that tell them apart.
RUNTIMES = {"deno": ("deno",), "node": ("node", "nodejs"), "bun": ("bun",), "quickjs": ("qjs", "quickjs")}
_BOT_CHECK = re.compile(r"confirm you.{1,3}re not a bot", re.IGNORECASE)
_NO_FORMATS = re.compile(r"Requested format is not available|No video formats found", re.IGNORECASE)
_JS_TROUBLE = re.compile(r"challenge solving failed|No supported JavaScript runtime|Signature solving failed",
                         re.IGNORECASE)
_COOKIE_TROUBLE = re.compile(r"could not (?:find|copy|decrypt|read)\b.*cookie|cookies? (?:database|file)",
                             re.IGNORECASE)
_COOKIES_HINT = ("set TUNECRATE_YTDLP_COOKIES_FROM_BROWSER to a browser signed in to YouTube (e.g. firefox) "
                 "or TUNECRATE_YTDLP_COOKIES to a cookies.txt")


class YtDlpSettings(SettingsModel):
    """How tunecrate runs yt-dlp: JavaScript runtime, cookies and extra options."""

    js_runtime: str | None = setting(
        None, env="TUNECRATE_JS_RUNTIME",
        help="JavaScript runtime for YouTube's challenges: a path, a name (deno, node, bun, quickjs) "
             "or NAME:PATH (default: the deno wheel's binary)")
    ytdlp_cookies: Path | None = setting(
        None, env="TUNECRATE_YTDLP_COOKIES", help="a cookies.txt (Netscape format) yt-dlp sends to YouTube")
    ytdlp_cookies_from_browser: str | None = setting(
        None, env="TUNECRATE_YTDLP_COOKIES_FROM_BROWSER",
        help="browser to read YouTube cookies from: BROWSER[+KEYRING][:PROFILE][::CONTAINER], e.g. firefox")
    ytdlp_options: dict[str, Any] = setting(
        {}, env="TUNECRATE_YTDLP_OPTIONS",
        help="a JSON object merged into yt-dlp's options (e.g. extractor_args for a PO token provider)")

    @field_validator("ytdlp_options", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise ValueError(f"not valid JSON ({exc})") from None
        if not isinstance(value, dict):
            raise ValueError("must be a JSON object, e.g. {\"extractor_args\": {\"youtube\": {...}}}")
        return value

    @field_validator("ytdlp_cookies", mode="after")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None


# -- the JavaScript runtime -------------------------------------------------------------


@dataclass(frozen=True)
class JsRuntime:
    """The JavaScript runtime handed to yt-dlp: its yt-dlp key ``name`` (``deno``, ``node``, ``bun``,
    ``quickjs``), the executable ``path`` (``None``: found on ``PATH`` by yt-dlp), and ``origin``, where
    the choice came from (``"TUNECRATE_JS_RUNTIME"``, ``"the deno wheel"``, ``"PATH"``)."""

    name: str
    path: str | None
    origin: str

    @property
    def executable(self) -> str:
        """What to run: ``path``, else the runtime's usual command name."""
        return self.path or RUNTIMES[self.name][0]

    def ytdlp_option(self) -> dict[str, dict[str, str]]:
        """yt-dlp's ``js_runtimes`` option for this runtime alone."""
        return {self.name: {"path": self.path} if self.path else {}}


def find_js_runtime(value: str | None) -> JsRuntime:
    """The runtime ``TUNECRATE_JS_RUNTIME`` (``value``) names, or the deno wheel's binary when unset.

    ``value`` is a runtime name (``node``: on ``PATH``), a path whose file
    name tells the runtime (``/opt/node/bin/node``), or ``NAME:PATH``.
    Nothing is run here. Raises :class:`ConfigurationError` when the runtime
    cannot be told from ``value``.
    """
    if value:
        value = value.strip()
        name, sep, rest = value.partition(":")
        if sep and name.lower() in RUNTIMES and rest:
            return JsRuntime(name.lower(), str(Path(rest).expanduser()), "TUNECRATE_JS_RUNTIME")
        if value.lower() in RUNTIMES:
            return JsRuntime(value.lower(), None, "TUNECRATE_JS_RUNTIME")
        stem = Path(value).name.lower().removesuffix(".exe")
        for runtime, names in RUNTIMES.items():
            if stem in names or any(stem.startswith(f"{n}-") for n in names):
                return JsRuntime(runtime, str(Path(value).expanduser()), "TUNECRATE_JS_RUNTIME")
        raise ConfigurationError(
            f"TUNECRATE_JS_RUNTIME: cannot tell which runtime {value!r} is; write NAME:PATH "
            f"with NAME one of {', '.join(RUNTIMES)}")
    try:
        from deno import find_deno_bin

        path = find_deno_bin()
    except (ImportError, FileNotFoundError, OSError):
        return JsRuntime("deno", None, "PATH")
    return JsRuntime("deno", os.fspath(path), "the deno wheel")


_EVAL_ARGS = {"deno": ["eval"], "node": ["-e"], "bun": ["-e"], "quickjs": ["-e"]}


def run_js_runtime(runtime: JsRuntime, *, timeout_s: float = 20.0) -> tuple[str, float]:
    """Run ``runtime`` on ``console.log(6 * 7)``; return ``(its version line, seconds)``.

    Raises :class:`OSError` when it cannot be started, and
    :class:`RuntimeError` (one-line message) when it exits non-zero, times
    out or prints something else.
    """
    started = time.monotonic()
    script = "console.log(6 * 7)" if runtime.name != "quickjs" else "print(6 * 7)"
    try:
        run = subprocess.run([runtime.executable, *_EVAL_ARGS[runtime.name], script], capture_output=True,
                             text=True, timeout=timeout_s, stdin=subprocess.DEVNULL,
                             env={**os.environ, "NO_COLOR": "1"})
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{runtime.executable} did not finish within {timeout_s:g} s") from None
    if run.returncode != 0 or run.stdout.strip() != "42":
        detail = (run.stderr or run.stdout).strip().splitlines()
        raise RuntimeError(f"{runtime.executable} exited {run.returncode}"
                           + (f": {detail[-1][:200]}" if detail else ""))
    seconds = time.monotonic() - started
    version_flag = "--help" if runtime.name == "quickjs" else "--version"
    try:
        version = subprocess.run([runtime.executable, version_flag], capture_output=True, text=True,
                                 timeout=timeout_s, stdin=subprocess.DEVNULL).stdout.strip().splitlines()
    except (OSError, subprocess.TimeoutExpired):
        version = []
    return (version[0] if version else runtime.name), seconds


# -- messages ------------------------------------------------------------------------------


class YtDlpLogger:
    """yt-dlp's logger: messages go to our debug log; the last warnings are kept for :func:`explain_failure`.

    One per ``YoutubeDL`` (so per thread). :meth:`start` forgets the warnings
    of the previous extraction.
    """

    def __init__(self, keep: int = 20) -> None:
        self.warnings: deque[str] = deque(maxlen=keep)

    def start(self) -> None:
        self.warnings.clear()

    def debug(self, message: str) -> None:
        _log.debug("yt-dlp: %s", message)

    info = debug

    def warning(self, message: str) -> None:
        _log.debug("yt-dlp warning: %s", message)
        self.warnings.append(message)

    def error(self, message: str) -> None:
        _log.debug("yt-dlp error: %s", message)


def explain_failure(message: str, settings: YtDlpSettings, runtime: JsRuntime | None = None,
                    warnings: tuple[str, ...] | list[str] = ()) -> str | None:
    """One line that says what to do about a yt-dlp failure ``message``, or ``None`` if there is nothing to add.

    - "Sign in to confirm you're not a bot": which cookie setting to use (or,
      when cookies are set already, that they were not enough);
    - no usable format after challenge warnings (``warnings``, from
      :class:`YtDlpLogger`): the challenges were not solved; names the runtime and
      ``TUNECRATE_JS_RUNTIME`` and ``tunecrate doctor``;
    - cookies that could not be loaded: names the cookie setting.
    """
    if _BOT_CHECK.search(message):
        if settings.ytdlp_cookies or settings.ytdlp_cookies_from_browser:
            used = ("TUNECRATE_YTDLP_COOKIES_FROM_BROWSER" if settings.ytdlp_cookies_from_browser
                    else "TUNECRATE_YTDLP_COOKIES")
            return ("YouTube asks to sign in to confirm you're not a bot, and the cookies from "
                    f"{used} were not enough: sign in to YouTube in that browser and export them again, "
                    "or configure a PO token provider in TUNECRATE_YTDLP_OPTIONS")
        return (f"YouTube asks to sign in to confirm you're not a bot: {_COOKIES_HINT} "
                "(or configure a PO token provider in TUNECRATE_YTDLP_OPTIONS)")
    if _NO_FORMATS.search(message) and any(_JS_TROUBLE.search(w) for w in warnings):
        named = f"{runtime.executable} (from {runtime.origin})" if runtime else "the JavaScript runtime"
        return (f"YouTube's JavaScript challenges were not solved with {named}; set TUNECRATE_JS_RUNTIME "
                "to a working deno, node, bun or quickjs and check with `tunecrate doctor`")
    if _COOKIE_TROUBLE.search(message) and (settings.ytdlp_cookies or settings.ytdlp_cookies_from_browser):
        used = ("TUNECRATE_YTDLP_COOKIES_FROM_BROWSER" if settings.ytdlp_cookies_from_browser
                else "TUNECRATE_YTDLP_COOKIES")
        return f"yt-dlp could not load the cookies {used} names: {message.removeprefix('ERROR: ')}"
    return None


# -- building YoutubeDL ------------------------------------------------------------------


@dataclass
class YtDlpFactory:
    """Builds ``YoutubeDL`` objects with tunecrate's runtime, cookies, options, proxy and CA bundle.

    ``settings`` are this module's settings; ``proxy`` (a URL) and
    ``ca_bundle`` (a PEM file) the library-wide ones. Thread-safe; each
    ``YoutubeDL`` it builds belongs to one thread.
    """

    settings: YtDlpSettings = field(default_factory=YtDlpSettings)
    proxy: str | None = None
    ca_bundle: Path | None = None
    _runtime: JsRuntime | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> YtDlpFactory:
        """The factory for a library's settings. Cheap: nothing is imported or run."""
        return cls(settings.section(YtDlpSettings), proxy=settings.proxy, ca_bundle=settings.ca_bundle)

    @property
    def runtime(self) -> JsRuntime:
        """The JavaScript runtime handed to yt-dlp (see :func:`find_js_runtime`)."""
        with self._lock:
            if self._runtime is None:
                self._runtime = find_js_runtime(self.settings.js_runtime)
            return self._runtime

    def options(self, base: dict[str, Any]) -> dict[str, Any]:
        """``base`` (the caller's yt-dlp options) with the runtime, cookies, proxy and ``TUNECRATE_YTDLP_OPTIONS``.

        ``TUNECRATE_YTDLP_OPTIONS`` is merged last, one level deep for dict
        values (so ``{"extractor_args": {...}}`` adds to, not replaces, ours).
        Raises :class:`ConfigurationError` for a bad cookie setting.
        """
        options = dict(base)
        options["js_runtimes"] = self.runtime.ytdlp_option()
        if self.settings.ytdlp_cookies:
            if not self.settings.ytdlp_cookies.is_file():
                raise ConfigurationError(f"TUNECRATE_YTDLP_COOKIES: no file at {self.settings.ytdlp_cookies}")
            options["cookiefile"] = str(self.settings.ytdlp_cookies)
        if self.settings.ytdlp_cookies_from_browser:
            options["cookiesfrombrowser"] = _browser_spec(self.settings.ytdlp_cookies_from_browser)
        if self.proxy:
            options["proxy"] = self.proxy
        for key, value in self.settings.ytdlp_options.items():
            if isinstance(value, dict) and isinstance(options.get(key), dict):
                options[key] = {**options[key], **value}
            else:
                options[key] = value
        return options

    def create(self, base: dict[str, Any], *, extractor: str | None = None) -> YoutubeDL:
        """A ``YoutubeDL`` with :meth:`options` applied to ``base``; its ``logger`` is a
        :class:`YtDlpLogger` unless ``base`` brings one.

        With ``extractor`` (a yt-dlp extractor key: ``"Youtube"``, ``"Generic"``)
        it holds that extractor alone: setting one up with all of yt-dlp's
        1,800 extractors costs about 0.2 s of CPU, which a caller that knows
        which extractor its URLs need does not pay.
        """
        options = self.options({"logger": YtDlpLogger(), **base})
        if extractor is None:
            return _youtube_dl_class()(options, ca_bundle=self.ca_bundle)
        from yt_dlp.extractor import get_info_extractor

        ydl = _youtube_dl_class()(options, ca_bundle=self.ca_bundle, auto_init=False)
        ydl.add_info_extractor(get_info_extractor(extractor)())
        return ydl

    def explain(self, message: str, logger: Any = None) -> str | None:
        """:func:`explain_failure` for these settings and the warnings ``logger`` kept."""
        warnings = tuple(getattr(logger, "warnings", ()) or ())
        return explain_failure(message, self.settings, self.runtime, warnings)


def _browser_spec(spec: str) -> tuple:
    """``BROWSER[+KEYRING][:PROFILE][::CONTAINER]`` → yt-dlp's ``cookiesfrombrowser`` tuple, parsed by
    yt-dlp's own option parser. Raises :class:`ConfigurationError` naming the setting."""
    import yt_dlp

    try:
        parsed = yt_dlp.parse_options(["--ignore-config", "--cookies-from-browser", spec])
    except (Exception, SystemExit) as exc:  # optparse reports through SystemExit or OptParseError
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        detail = re.sub(r"^\S+: error: ", "", detail)
        raise ConfigurationError(f"TUNECRATE_YTDLP_COOKIES_FROM_BROWSER: {detail}") from None
    return parsed.ydl_opts["cookiesfrombrowser"]


_CLASS: type | None = None
_CLASS_LOCK = threading.Lock()


def _youtube_dl_class() -> type:
    """``YoutubeDL`` extended with an extra CA bundle and direct loopback/``NO_PROXY`` hosts."""
    global _CLASS
    with _CLASS_LOCK:
        if _CLASS is not None:
            return _CLASS
        import functools

        from yt_dlp import YoutubeDL

        class TunecrateYoutubeDL(YoutubeDL):
            def __init__(self, params: dict[str, Any], *, ca_bundle: Path | None = None,
                         auto_init: bool = True) -> None:
                self._tunecrate_ca_bundle = ca_bundle
                super().__init__(params, auto_init=auto_init)

            @functools.cached_property
            def proxies(self) -> dict[str, str]:
                proxies = dict(super().proxies)
                if self.params.get("proxy"):
                    direct = [*sorted(LOOPBACK_NAMES), "127.0.0.1", "::1"]
                    extra = os.environ.get("NO_PROXY") or os.environ.get("no_proxy")
                    proxies["no"] = ",".join(direct + ([extra] if extra else []))
                return proxies

            def build_request_director(self, handlers, preferences=None):
                director = super().build_request_director(handlers, preferences)
                bundle = getattr(self, "_tunecrate_ca_bundle", None)
                for handler in director.handlers.values():
                    make = _trusting(handler._make_sslcontext, bundle) if bundle else handler._make_sslcontext
                    handler._make_sslcontext = _shared(make, handler, bundle)
                return director

        _CLASS = TunecrateYoutubeDL
        return _CLASS


_CONTEXTS: dict[tuple, Any] = {}
_CONTEXTS_LOCK = threading.Lock()


def _shared(make_context, handler: Any, bundle: Path | None):
    """Wrap a request handler's context factory so that handlers with the same TLS settings share one
    context: loading the certificate stores costs about 0.1 s of CPU, and every ``YoutubeDL`` (one per
    download thread) has its own handlers. An ``SSLContext`` may serve several threads at once.
    The bundle's file is part of the key as it is now (its inode, size and change time), so a CA
    file rewritten in place is read again."""

    def make(*args: Any, **kwargs: Any):
        key = (type(handler).__name__, getattr(handler, "verify", None), getattr(handler, "legacy_ssl_support", None),
               getattr(handler, "prefer_system_certs", None),
               tuple(sorted((getattr(handler, "_client_cert", None) or {}).items())), bundle, _file_state(bundle),
               args, tuple(sorted(kwargs.items())))
        with _CONTEXTS_LOCK:
            context = _CONTEXTS.get(key)
            if context is None:
                context = _CONTEXTS[key] = make_context(*args, **kwargs)
            return context

    return make


def _file_state(path: Path | None) -> tuple[int, int, int] | None:
    """``(inode, size, mtime in ns)`` of ``path``, or None (no file, or none given)."""
    try:
        found = os.stat(path) if path is not None else None
    except OSError:
        return None
    return (found.st_ino, found.st_size, found.st_mtime_ns) if found is not None else None


def _trusting(make_context, bundle: Path):
    """Wrap a request handler's context factory so its contexts also trust the system store and ``bundle``."""

    import ssl

    def make(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        context = make_context(*args, **kwargs)
        if context.verify_mode != ssl.CERT_NONE:
            context.load_default_certs()
            load_ca_bundle(context, bundle)
        return context

    return make


# -- the challenge solver, as doctor checks it -------------------------------------------

#: A tiny player script in the structure the EJS solver looks for; its signature
#: and ``n`` functions both reverse their input.
_PROBE_PLAYER = r"""var _yt_player={};(function(g){var window=this;
function W(){this.q={};}
W.prototype.set=function(k,v){this.q[k]=v;};
W.prototype.get=function(k){return this.q[k];};
W.prototype.clone=function(){return this;};
W.prototype.run=function(){var n=this.q.n;if(n)this.q.n=n.split("").reverse().join("");
var s=this.q.s;if(s)this.q.s=encodeURIComponent(decodeURIComponent(s).split("").reverse().join(""));};
function Z(a,b,c){var o=new W();o.set("alr","yes");if(c)o.set(b,c);return o;}
g.Z=Z;})(_yt_player);
"""
_PROBE_PLAYER_URL = "https://www.youtube.com/s/player/00c0ffee/player_ias.vflset/en_US/base.js"
_SCRIPT_SOURCE = re.compile(r"Using challenge solver (lib|core) script v(\S+) \(source: ([^,]+)")


@dataclass(frozen=True)
class SolverCheck:
    """What :func:`check_challenge_solver` saw: yt-dlp's and yt-dlp-ejs's versions, the solver
    scripts' source (``"python package"``…), whether a challenge was solved, in ``seconds``, and
    a one-line ``detail`` when it was not."""

    ytdlp_version: str
    ejs_version: str | None
    script_source: str | None
    solved: bool
    seconds: float
    detail: str | None = None


def check_challenge_solver(factory: YtDlpFactory) -> SolverCheck:
    """Have yt-dlp solve one ``n`` and one signature challenge of a tiny local player with the
    configured runtime and the EJS scripts, exactly as a YouTube download would (no network).

    Uses yt-dlp's YouTube extractor and its challenge director (internal
    interfaces of yt-dlp, so an incompatible yt-dlp shows as a failed check
    with the reason). Never raises.
    """
    import importlib.metadata

    started = time.monotonic()
    try:
        ytdlp_version = importlib.metadata.version("yt-dlp")
    except importlib.metadata.PackageNotFoundError:
        ytdlp_version = "unknown"
    try:
        ejs_version: str | None = importlib.metadata.version("yt-dlp-ejs")
    except importlib.metadata.PackageNotFoundError:
        ejs_version = None
    logger = _CollectingLogger()
    try:
        from yt_dlp.extractor.youtube.jsc.provider import (
            JsChallengeRequest, JsChallengeType, NChallengeInput, SigChallengeInput,
        )

        ydl = factory.create({"quiet": True, "verbose": True, "cachedir": False, "logger": logger})
        try:
            extractor = ydl.get_info_extractor("Youtube")
            extractor.initialize()
            extractor._code_cache[extractor._player_js_cache_key(_PROBE_PLAYER_URL)] = _PROBE_PLAYER
            requests = [
                JsChallengeRequest(JsChallengeType.N, NChallengeInput(_PROBE_PLAYER_URL, ["tunecrate"])),
                JsChallengeRequest(JsChallengeType.SIG, SigChallengeInput(_PROBE_PLAYER_URL, ["0123456789"])),
            ]
            answers = {r.type: dict(a.output.results) for r, a in extractor._jsc_director.bulk_solve(requests)}
        finally:
            ydl.close()
    except Exception as exc:  # an incompatible yt-dlp, a bad setting: report, don't crash doctor
        return SolverCheck(ytdlp_version, ejs_version, None, False, time.monotonic() - started,
                           f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    sources = {m.group(1): f"{m.group(3)} v{m.group(2)}" for m in map(_SCRIPT_SOURCE.search, logger.lines) if m}
    solved = answers.get(JsChallengeType.N) == {"tunecrate": "etarcenut"} and \
        answers.get(JsChallengeType.SIG) == {"0123456789": "9876543210"}
    detail = None
    if not solved:
        runtime = factory.runtime
        providers = next((line for line in logger.lines if "JS Challenge Providers:" in line), "")
        errors = [line for line in logger.lines if "[jsc" in line and "rror" in line]
        if f"{runtime.name} (unavailable)" in providers:
            detail = f"yt-dlp cannot use {runtime.name} at {runtime.executable}"
        elif errors:
            detail = re.sub(r"\x1b\[[0-9;]*m", "", errors[-1]).replace("[debug] ", "").strip()[:300]
        else:
            detail = "no JavaScript challenge provider solved the test challenge"
    return SolverCheck(ytdlp_version, ejs_version, sources.get("core"), solved, time.monotonic() - started, detail)


class _CollectingLogger:
    """Keeps every yt-dlp message (the challenge director reports what it used in debug lines)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def debug(self, message: str) -> None:
        self.lines.append(message)

    info = warning = error = debug
