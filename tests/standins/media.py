"""The demo's media host, with a request log and faults: refused requests and dropped connections."""

from __future__ import annotations

import threading
from urllib.parse import unquote, urlsplit

from tunecrate.demo.media_server import MediaServer


class FaultyMediaServer(MediaServer):
    """:class:`MediaServer` that records requests and misbehaves on demand.

    ``requests`` lists ``(method, path, range header)``; :meth:`fail_next`
    answers the next requests for a file with an HTTP error, :meth:`drop_next`
    cuts the next GETs short.
    """

    def __init__(self, *args, **kwargs) -> None:
        self._faults: dict[str, list[tuple[str, int]]] = {}
        self._fault_lock = threading.Lock()
        self.requests: list[tuple[str, str, str | None]] = []
        self._limit = threading.local()
        super().__init__(*args, **kwargs)

    def drop_next(self, name: str, after_bytes: int, times: int = 1) -> None:
        """Close the connection after ``after_bytes`` bytes of the next ``times`` GETs of ``name``."""
        with self._fault_lock:
            self._faults.setdefault(name, []).extend([("drop", after_bytes)] * times)

    def fail_next(self, name: str, status: int, times: int = 1) -> None:
        """Answer the next ``times`` requests for ``name`` with HTTP ``status``."""
        with self._fault_lock:
            self._faults.setdefault(name, []).extend([("status", status)] * times)

    def clear_faults(self) -> None:
        with self._fault_lock:
            self._faults.clear()

    def _serve(self, handler, head: bool) -> None:
        path = unquote(urlsplit(handler.path).path)
        name = path.removeprefix("/media/")
        with self._fault_lock:
            self.requests.append((handler.command, path, handler.headers.get("Range")))
            fault = self._faults[name].pop(0) if self._faults.get(name) and not head else None
        if fault and fault[0] == "status":
            self._send_error(handler, fault[1])
            return
        self._limit.value = fault[1] if fault else None
        super()._serve(handler, head)

    def _send_body(self, handler, fh, length: int) -> None:
        limit = getattr(self._limit, "value", None)
        if limit is None:
            return super()._send_body(handler, fh, length)
        handler.wfile.write(fh.read(min(limit, length)))
        handler.close_connection = True
        try:
            handler.wfile.flush()
            handler.connection.shutdown(2)
        except OSError:
            pass
