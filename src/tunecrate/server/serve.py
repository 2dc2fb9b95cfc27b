"""Running the application under uvicorn: the checks first, then one process serving one library.

:func:`serve` refuses, in one line each (a :class:`~tunecrate.core.errors.TunecrateError`),
a non-loopback bind without a token, a second server on the same library
(``<data_root>/tunecrate-server.lock``) and an address it cannot listen on;
then it serves until interrupted (Ctrl-C or SIGTERM stop it cleanly: the
running job is cancelled and recorded ``interrupted``).
"""

from __future__ import annotations

import gc
import socket
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, TextIO

from tunecrate.core.errors import ConfigurationError, LibraryBusy
from tunecrate.server.app import ServerConfig, create_app
from tunecrate.server.settings import check_bind

if TYPE_CHECKING:
    from tunecrate.library.library import Library

__all__ = ["listen", "serve"]

#: Seconds uvicorn waits for open connections when it stops.
GRACEFUL_SHUTDOWN_S = 5


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (``0``: any free port). Raises :class:`ConfigurationError`."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def serve(library: Library, config: ServerConfig, *, out: TextIO = sys.stderr) -> None:
    """Serve ``library`` as ``config`` says until interrupted. Raises :class:`ConfigurationError`
    (bind, token, address) and :class:`LibraryBusy` (another server serves this library)."""
    import uvicorn
    from filelock import FileLock, Timeout

    check_bind(config.host, config.token)
    lock = FileLock(str(library.settings.data_root / "tunecrate-server.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise LibraryBusy(f"another tunecrate server is serving the library at {library.settings.data_root}") from None
    try:
        sock = listen(config.host, config.port)
        port = sock.getsockname()[1]
        app = create_app(library, replace(config, port=port))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                               server_header=False, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S))
        shown = f"[{config.host}]" if ":" in config.host else config.host
        out.write(f"serving {library.settings.storage_root} at http://{shown}:{port}/ "
                  f"(API docs at /docs){'; requests need the token' if config.token else ''}; Ctrl-C stops\n")
        out.flush()
        # The long-lived heap (modules, the app) leaves the collector's view: a full collection
        # otherwise walks it in the middle of a request that allocates thousands of records (tens of ms).
        gc.collect()
        gc.freeze()
        server.run(sockets=[sock])
    finally:
        lock.release()
