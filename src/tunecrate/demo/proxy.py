"""A loopback HTTPS proxy with its own certificate authority: the internet, as the demo sees it.

Clients reach it the way users behind an inspecting corporate proxy reach
the internet: ``TUNECRATE_PROXY`` names the proxy and ``TUNECRATE_CA_BUNDLE``
the proxy's CA certificate. Every client then talks to the real host names
(``music.youtube.com``, ``www.youtube.com``, ``api.spotify.com``…) with
its default URLs, and the proxy decides what answers:

- ``CONNECT host:443`` for a host added with :meth:`StandInProxy.add_site`:
  the proxy answers ``200 Connection established``, terminates TLS with a
  certificate for ``host`` issued by its CA, and forwards each request
  inside (HTTP/1.1, keep-alive) to that site's loopback server over plain
  HTTP, with the original ``Host`` header;
- ``CONNECT`` to a loopback address (``127.0.0.1``, ``::1``, ``localhost``):
  tunnelled byte for byte;
- absolute-form requests (``GET http://host/...``) for a site or a loopback
  origin: forwarded;
- anything else: ``403 Forbidden`` with a one-line reason, so nothing
  behind the proxy ever reaches the real internet.

The certificate authority is made with trustme (keys and certificates from
``cryptography``), kept in memory, and written out as a PEM file with
:meth:`StandInCA.write_pem` for ``TUNECRATE_CA_BUNDLE``.

``tunecrate demo`` ships this happy path; the tests' subclass adds a request
log and fault injection (``tests/standins``).
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

from tunecrate.core.net import is_loopback
from tunecrate.demo._http import LoopbackServer, quiet_handler

__all__ = ["StandInCA", "StandInProxy"]

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                         "proxy-connection", "te", "trailers", "transfer-encoding", "upgrade"})
_CHUNK = 64 * 1024
#: The request methods the proxy forwards (plain HTTP, or inside a CONNECT tunnel).
_METHODS = ("GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH")


class StandInCA:
    """A certificate authority for the stand-ins (trustme), and the TLS server contexts it signs.

    :meth:`server_context` returns an ``ssl.SSLContext`` that presents a
    certificate for the given host names, issued once and cached.
    """

    def __init__(self) -> None:
        import trustme

        self._ca = trustme.CA(organization_name="tunecrate stand-ins", organization_unit_name="demo")
        self._contexts: dict[tuple[str, ...], ssl.SSLContext] = {}
        self._lock = threading.Lock()

    @property
    def cert_pem(self) -> bytes:
        """The CA certificate, PEM encoded."""
        return self._ca.cert_pem.bytes()

    def write_pem(self, path: Path) -> Path:
        """Write the CA certificate to ``path`` (for ``TUNECRATE_CA_BUNDLE``); return ``path``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.cert_pem)
        return path

    def server_context(self, *hostnames: str) -> ssl.SSLContext:
        """A server-side TLS context presenting a certificate for ``hostnames``."""
        key = tuple(sorted(hostnames))
        with self._lock:
            context = self._contexts.get(key)
            if context is None:
                context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                context.set_alpn_protocols(["http/1.1"])
                self._ca.issue_cert(*key).configure_cert(context)
                self._contexts[key] = context
        return context


@dataclass(frozen=True)
class _Site:
    hostnames: tuple[str, ...]
    upstream_host: str
    upstream_port: int


class StandInProxy(LoopbackServer):
    """Threaded HTTP proxy on 127.0.0.1 (see the module docstring); :attr:`url` is its address.

    Sites are added with :meth:`add_site`; they may be added while it runs.
    """

    _thread_name = "stand-in-proxy"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, ca: StandInCA | None = None) -> None:
        self.ca = ca or StandInCA()
        self._sites: dict[str, _Site] = {}
        self._sites_lock = threading.Lock()
        self._bind(host, port, quiet_handler(CONNECT=self._connect, **dict.fromkeys(_METHODS, self._plain)))

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: the value for ``TUNECRATE_PROXY``."""
        return self.base_url

    def add_site(self, hostnames: str | tuple[str, ...] | list[str], upstream: str) -> None:
        """Answer ``hostnames`` (HTTPS and HTTP) from the loopback server at ``upstream`` (``http://127.0.0.1:PORT``)."""
        names = (hostnames,) if isinstance(hostnames, str) else tuple(hostnames)
        split = urlsplit(upstream)
        if not is_loopback(split.hostname) or split.port is None:
            raise ValueError(f"a site's upstream must be a loopback http://HOST:PORT, not {upstream!r}")
        site = _Site(names, split.hostname, split.port)
        with self._sites_lock:
            for name in names:
                self._sites[name.lower()] = site

    def site_for(self, host: str) -> _Site | None:
        with self._sites_lock:
            return self._sites.get(host.lower())

    # -- CONNECT ---------------------------------------------------------------------------

    def _connect(self, handler: BaseHTTPRequestHandler) -> None:
        host, _, port = handler.path.rpartition(":")
        host = host.strip("[]")
        if not host or not port.isdigit():
            self._refuse(handler, 400, f"bad CONNECT target {handler.path!r}")
            return
        site = self.site_for(host)
        if site is not None:
            self._terminate(handler, host, site)
        elif is_loopback(host):
            self._tunnel(handler, host, int(port))
        else:
            self._refuse(handler, 403, f"the stand-in proxy does not reach {host}")

    def _terminate(self, handler: BaseHTTPRequestHandler, host: str, site: _Site) -> None:
        """Answer the CONNECT, then speak TLS as ``host`` and serve the requests inside."""
        handler.send_response(200, "Connection established")
        handler.end_headers()
        handler.wfile.flush()
        try:
            tls = self.ca.server_context(*site.hostnames).wrap_socket(handler.connection, server_side=True)
        except (ssl.SSLError, OSError):
            handler.close_connection = True  # the client did not trust us, or hung up
            return
        inner = quiet_handler(**dict.fromkeys(_METHODS, lambda tunneled: self._forward(tunneled, "https", host, site)))
        try:
            inner(tls, handler.client_address, self._httpd)
        except (ssl.SSLError, OSError):
            pass
        finally:
            handler.close_connection = True
            try:
                tls.close()
            except OSError:
                pass

    def _tunnel(self, handler: BaseHTTPRequestHandler, host: str, port: int) -> None:
        try:
            upstream = socket.create_connection((host, port), timeout=30)
        except OSError as exc:
            self._refuse(handler, 502, f"cannot reach {host}:{port}: {exc}")
            return
        handler.send_response(200, "Connection established")
        handler.end_headers()
        handler.wfile.flush()
        client = handler.connection
        try:
            sockets = [client, upstream]
            while True:
                readable, _, broken = select.select(sockets, [], sockets, 60)
                if broken or not readable:
                    break
                for sock in readable:
                    data = sock.recv(_CHUNK)
                    if not data:
                        return
                    (upstream if sock is client else client).sendall(data)
        except OSError:
            pass
        finally:
            upstream.close()
            handler.close_connection = True

    # -- plain HTTP ------------------------------------------------------------------------

    def _plain(self, handler: BaseHTTPRequestHandler) -> None:
        """An absolute-form request (``GET http://host:port/path``)."""
        split = urlsplit(handler.path)
        host = split.hostname or ""
        if split.scheme != "http" or not host:
            self._refuse(handler, 400, "the stand-in proxy takes absolute http:// URLs and CONNECT")
            return
        site = self.site_for(host)
        if site is None and is_loopback(host):
            site = _Site((host,), host, split.port or 80)
        if site is None:
            self._refuse(handler, 403, f"the stand-in proxy does not reach {host}")
            return
        handler.path = split.path + (f"?{split.query}" if split.query else "") or "/"
        self._forward(handler, "http", split.netloc, site)

    # -- forwarding ------------------------------------------------------------------------

    def _forward(self, handler: BaseHTTPRequestHandler, scheme: str, host: str, site: _Site) -> None:
        """Send the request to ``site``'s loopback server and copy its answer back."""
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers["X-Forwarded-Proto"] = scheme
        upstream = http.client.HTTPConnection(site.upstream_host, site.upstream_port, timeout=60)
        try:
            upstream.request(handler.command, handler.path, body=body, headers=headers)
            response = upstream.getresponse()
        except OSError as exc:
            upstream.close()
            self._refuse(handler, 502, f"{host} did not answer: {exc}")
            return
        try:
            self._relay(handler, response)
        except OSError:  # one side hung up in the middle: this connection is done
            handler.close_connection = True
        finally:
            upstream.close()

    @staticmethod
    def _relay(handler: BaseHTTPRequestHandler, response: http.client.HTTPResponse) -> None:
        """Copy ``response`` (status, end-to-end headers, body) to the client."""
        handler.send_response(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                handler.send_header(key, value)
        declared = response.getheader("Content-Length")
        if handler.command == "HEAD" or declared is not None:
            if declared is not None:
                handler.send_header("Content-Length", declared)
            handler.end_headers()
            remaining = int(declared or 0) if handler.command != "HEAD" else 0
            while remaining > 0:
                chunk = response.read(min(_CHUNK, remaining))
                if not chunk:
                    handler.close_connection = True
                    break
                handler.wfile.write(chunk)
                remaining -= len(chunk)
            return
        data = response.read()
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    @staticmethod
    def _refuse(handler: BaseHTTPRequestHandler, status: int, reason: str) -> None:
        body = (reason + "\n").encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "text/plain; charset=utf-8")
            handler.send_header("Content-Length", str(len(body)))
            handler.send_header("Connection", "close")
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(body)
        except OSError:
            pass
        handler.close_connection = True
