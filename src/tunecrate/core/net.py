"""How every outgoing client reaches the network: the proxy, the extra CA bundle, and what goes direct.

Two library-wide settings (:class:`~tunecrate.core.settings.Settings`) shape
all of tunecrate's HTTP clients (spotipy and ytmusicapi through requests,
cover art through httpx, yt-dlp through its own handlers, the browser):

- ``proxy`` (``TUNECRATE_PROXY``, else the standard ``HTTPS_PROXY``): an
  ``http://`` (or ``socks5://``) proxy URL. HTTPS goes through it with
  ``CONNECT``.
- ``ca_bundle`` (``TUNECRATE_CA_BUNDLE``): a PEM file of certificate
  authorities trusted *besides* the usual ones: the system store and
  certifi's bundle (what requests, httpx and yt-dlp trust by default). This
  is what a network with a TLS-inspecting proxy needs.

What goes direct even when a proxy is set (:func:`bypasses_proxy`): this
machine (``localhost``, ``127.0.0.0/8``, ``::1``), so that a pinned
``http://127.0.0.1:…`` media link or a local stand-in is never sent to a
corporate proxy, and every host that ``NO_PROXY`` (or ``no_proxy``) lists,
as curl and requests read it.

This module imports ssl, urllib.request, requests, httpx and certifi only
inside the functions that need them (it is on the path of every command).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import ConfigurationError

if TYPE_CHECKING:
    import ssl

    import httpx
    import requests

__all__ = ["LOOPBACK_NAMES", "TLS_HINT", "bypasses_proxy", "check_ca_bundle", "httpx_client", "is_loopback",
           "load_ca_bundle", "requests_session", "ssl_context", "untrusted_certificate"]

#: Host names that always mean this machine.
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
#: What to say when a server's certificate is not trusted.
TLS_HINT = "if your network inspects HTTPS, set TUNECRATE_CA_BUNDLE to its CA certificate"


def untrusted_certificate(error: BaseException | str) -> bool:
    """True when ``error`` (an exception, its chain, or a message) says a TLS certificate was not trusted."""
    import ssl

    if isinstance(error, str):
        return "CERTIFICATE_VERIFY_FAILED" in error
    seen: set[int] = set()
    pending: list[object] = [error]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(current):
            return True
        pending += [current.__cause__, current.__context__, getattr(current, "reason", None),
                    *[a for a in current.args if isinstance(a, BaseException)]]
    return False


def is_loopback(host: str | None) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``)."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bypasses_proxy(url: str, environ: dict[str, str] | None = None) -> bool:
    """True when ``url`` must not go through the proxy: a loopback host, or a host ``NO_PROXY`` lists.

    ``NO_PROXY`` is read from ``environ`` (default ``os.environ``) with the
    standard library's rules (``*``, domain suffixes, ``host:port``).
    """
    split = urlsplit(url)
    host = split.hostname or ""
    if is_loopback(host):
        return True
    env = os.environ if environ is None else environ
    no_proxy = env.get("NO_PROXY") or env.get("no_proxy")
    if not no_proxy:
        return False
    import urllib.request

    hostport = f"{host}:{split.port}" if split.port else host
    return bool(urllib.request.proxy_bypass_environment(hostport, {"no": no_proxy}))


def load_ca_bundle(context: ssl.SSLContext, ca_bundle: Path | str) -> None:
    """Add the certificate authorities in the PEM file ``ca_bundle`` to ``context``.

    Raises :class:`ConfigurationError` naming ``TUNECRATE_CA_BUNDLE`` when
    the file is missing or holds no certificate.
    """
    import ssl

    path = Path(ca_bundle)
    try:
        context.load_verify_locations(cafile=str(path))
    except FileNotFoundError:
        raise ConfigurationError(f"TUNECRATE_CA_BUNDLE: no file at {path}") from None
    except (ssl.SSLError, OSError) as exc:
        raise ConfigurationError(f"TUNECRATE_CA_BUNDLE: {path} is not a PEM file of certificates "
                                 f"({exc.strerror or exc})") from None


def check_ca_bundle(ca_bundle: Path | str) -> None:
    """Refuse a bad ``ca_bundle`` as :func:`load_ca_bundle` does, reading only that file (not the system
    store and certifi's, which every client context loads). Raises :class:`ConfigurationError`."""
    import ssl

    load_ca_bundle(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), ca_bundle)


def ssl_context(ca_bundle: Path | str | None) -> ssl.SSLContext:
    """A client TLS context that trusts the system store, certifi's bundle (when installed) and ``ca_bundle``.

    Raises :class:`ConfigurationError` for a bad ``ca_bundle`` (see :func:`load_ca_bundle`).
    """
    import ssl

    context = ssl.create_default_context()
    try:
        import certifi
    except ImportError:  # pragma: no cover - requests and httpx bring certifi
        pass
    else:
        context.load_verify_locations(cafile=certifi.where())
    if ca_bundle:
        load_ca_bundle(context, ca_bundle)
    return context


def requests_session(proxy: str | None, ca_bundle: Path | str | None, *,
                     timeout_s: float | None = None) -> requests.Session:
    """A requests session that uses ``proxy`` (except for :func:`bypasses_proxy` URLs) and trusts ``ca_bundle``.

    ``timeout_s`` (seconds) becomes the default timeout of every request. With
    neither a proxy nor a bundle the session is requests' default one
    (``HTTPS_PROXY``/``NO_PROXY`` from the environment, certifi's CAs). Raises
    :class:`ConfigurationError` for a bad ``ca_bundle``.
    """
    import requests

    session = requests.Session()
    context = ssl_context(ca_bundle) if ca_bundle else None
    adapter = _adapter_class()(ssl_context=context)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    if proxy:
        session.proxies.update({"http": proxy, "https": proxy})
    if timeout_s is not None:
        original = session.request

        def request(method: str, url: str, **kwargs: Any):
            kwargs.setdefault("timeout", timeout_s)
            return original(method, url, **kwargs)

        session.request = request  # type: ignore[method-assign]
    return session


def _adapter_class():
    from requests.adapters import HTTPAdapter

    class TunecrateAdapter(HTTPAdapter):
        """Applies one TLS context to direct and proxied connections, and sends bypassed URLs direct."""

        def __init__(self, *, ssl_context: ssl.SSLContext | None = None, **kwargs: Any) -> None:
            self._ssl_context = ssl_context
            super().__init__(**kwargs)

        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            if self._ssl_context is not None:
                kwargs["ssl_context"] = self._ssl_context
            super().init_poolmanager(*args, **kwargs)

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            if self._ssl_context is not None:
                kwargs["ssl_context"] = self._ssl_context
            return super().proxy_manager_for(proxy, **kwargs)

        def send(self, request, *args: Any, proxies: dict | None = None, **kwargs: Any):
            if proxies and bypasses_proxy(request.url or ""):
                proxies = {}
            return super().send(request, *args, proxies=proxies, **kwargs)

    return TunecrateAdapter


def httpx_client(proxy: str | None, ca_bundle: Path | str | None, **kwargs: Any) -> httpx.Client:
    """An httpx client that uses ``proxy`` (except for :func:`bypasses_proxy` URLs) and trusts ``ca_bundle``.

    ``kwargs`` go to ``httpx.Client`` (``timeout``, ``follow_redirects``…).
    Raises :class:`ConfigurationError` for a bad ``ca_bundle``.
    """
    import httpx

    verify: ssl.SSLContext | bool = ssl_context(ca_bundle) if ca_bundle else True
    if not proxy:
        return httpx.Client(verify=verify, **kwargs)
    direct = httpx.HTTPTransport(verify=verify)
    proxied = httpx.HTTPTransport(verify=verify, proxy=proxy)

    class Routing(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            chosen = direct if bypasses_proxy(str(request.url)) else proxied
            return chosen.handle_request(request)

        def close(self) -> None:
            direct.close()
            proxied.close()

    return httpx.Client(transport=Routing(), trust_env=False, **kwargs)
