"""What the loopback stand-ins share: a threaded HTTP server that stays quiet when clients hang up, the
request handler class each hands its requests to, and how their searches split text into words."""

from __future__ import annotations

import sys
import threading
import unicodedata
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHTTPServer(ThreadingHTTPServer):
    """A threaded server that does not print tracebacks when a client resets its connection."""

    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def quiet_handler(**methods: Callable[[BaseHTTPRequestHandler], None]) -> type[BaseHTTPRequestHandler]:
    """An HTTP/1.1 request handler class that hands each request whose method is a keyword (``GET=serve``)
    to its callable, logs nothing, and sends headers and body without Nagle's delay (no 40 ms stall on
    the delayed ACK between the two writes)."""

    def dispatch(serve: Callable[[BaseHTTPRequestHandler], None]) -> Callable[[BaseHTTPRequestHandler], None]:
        return lambda handler: serve(handler)

    attributes: dict[str, object] = {"protocol_version": "HTTP/1.1", "disable_nagle_algorithm": True,
                                     "log_message": lambda handler, *args: None}
    attributes.update({f"do_{method}": dispatch(serve) for method, serve in methods.items()})
    return type("Handler", (BaseHTTPRequestHandler,), attributes)


def send_body(handler: BaseHTTPRequestHandler, status: int, body: bytes,
              headers: Mapping[str, str] | None = None) -> None:
    """Answer the request of ``handler`` with ``status``, ``headers``, a ``Content-Length`` and ``body``
    (left out for a HEAD request). A client that hung up meanwhile ends the connection, nothing more."""
    try:
        handler.send_response(status)
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        handler.close_connection = True


class LoopbackServer:
    """Lifecycle shared by the stand-ins: bind, serve in a daemon thread, stop.

    Subclasses call :meth:`_bind` with their request handler class (a :func:`quiet_handler`).
    """

    _thread_name = "stand-in"

    def _bind(self, host: str, port: int, handler: type) -> None:
        self._httpd = QuietHTTPServer((host, port), handler)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` of the running server."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        """Serve in a daemon thread; returns ``self``."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=self._thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (if it started) and close the listening socket."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` with accents removed, as the stand-ins' searches compare them."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))
    return "".join(c if c.isalnum() else " " for c in plain).split()
