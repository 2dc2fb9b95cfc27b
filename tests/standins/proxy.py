"""The demo's stand-in proxy, with a log of what went through it."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from tunecrate.demo.proxy import StandInProxy


@dataclass(frozen=True)
class ProxiedRequest:
    """One thing the proxy saw: ``kind`` is ``"connect"`` (a CONNECT to ``host``), ``"https"`` or
    ``"http"`` (a request inside a terminated tunnel, or a plain proxied request, to ``host``)."""

    kind: str
    host: str
    method: str
    path: str
    headers: dict[str, str]


class RecordingProxy(StandInProxy):
    """:class:`StandInProxy` that records every CONNECT and every request it forwards."""

    def __init__(self, *args, **kwargs) -> None:
        self.log: list[ProxiedRequest] = []
        self._log_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def _record(self, entry: ProxiedRequest) -> None:
        with self._log_lock:
            self.log.append(entry)

    def _connect(self, handler) -> None:
        self._record(ProxiedRequest("connect", handler.path.rpartition(":")[0].strip("[]"), "CONNECT",
                                    handler.path, dict(handler.headers)))
        super()._connect(handler)

    def _forward(self, handler, scheme, host, site) -> None:
        self._record(ProxiedRequest(scheme, host.split(":")[0], handler.command, handler.path,
                                    dict(handler.headers)))
        super()._forward(handler, scheme, host, site)

    def seen(self, host: str, kind: str | None = None) -> list[ProxiedRequest]:
        """What went through for ``host`` (of ``kind``, when given)."""
        with self._log_lock:
            return [e for e in self.log if e.host == host and (kind is None or e.kind == kind)]

    def clear(self) -> None:
        with self._log_lock:
            self.log.clear()
