"""The server under test: its app over a library pointed at the stand-ins, reached through httpx.

``api`` drives the app through httpx's ASGI transport from synchronous tests
(the app and its lifespan run on an event loop in a thread); ``live`` runs it
under uvicorn on a loopback port, for the WebSocket, raw request lines and
the browser.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import httpx
import pytest

from tunecrate.db.models import JobStatus
from tunecrate.server.app import ServerConfig, create_app

BASE = "http://127.0.0.1:8080"


class AsgiClient:
    """httpx over ``ASGITransport``, callable from synchronous code; runs the app's lifespan."""

    def __init__(self, app, base_url: str = BASE, **client: Any) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="asgi-test-loop", daemon=True)
        self.thread.start()
        self._lifespan = app.router.lifespan_context(app)
        self._run(self._lifespan.__aenter__())
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url, **client)

    def _run(self, coroutine, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._run(self.client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def wait_job(self, job_id: int, timeout: float = 90) -> dict:
        """The job once it has ended (polled: this is the test watching, not the server)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(f"/jobs/{job_id}").json()
            if job["status"] in JobStatus.FINISHED:
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not end: {job}")

    def close(self) -> None:
        """Stop the app (its lifespan's shutdown runs); closing twice does nothing."""
        if self.loop.is_closed():
            return
        try:
            self._run(self.client.aclose())
            self._run(self._lifespan.__aexit__(None, None, None))
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


class LiveServer:
    """The app under uvicorn on a free loopback port (in a thread of the test process)."""

    def __init__(self, app) -> None:
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(20)
        self.sock.close()


@pytest.fixture
def pinned(library, demo):
    """The library with every demo track pinned to its audio on the media stand-in."""
    for track_id, url in demo.sources.items():
        library.match_set(track_id, url)
    return library


@pytest.fixture
def make_api():
    """``make_api(library, **config)``: an :class:`AsgiClient` over a new app (closed after the test)."""
    made: list[AsgiClient] = []

    def make(library, *, base_url: str = BASE, client: dict | None = None, **config: Any) -> AsgiClient:
        api = AsgiClient(create_app(library, ServerConfig(**config)), base_url=base_url, **(client or {}))
        made.append(api)
        return api

    yield make
    for api in made:
        api.close()


@pytest.fixture
def api(pinned, make_api) -> AsgiClient:
    return make_api(pinned)


@pytest.fixture
def make_live():
    made: list[LiveServer] = []

    def make(library, **config: Any) -> LiveServer:
        server = LiveServer(create_app(library, ServerConfig(**config)))
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


@pytest.fixture
def loaded(api, demo) -> dict:
    """The demo playlist loaded through the API; its finished job."""
    response = api.post("/playlist/load", json={"url": demo.playlist_url})
    assert response.status_code == 202, response.text
    job = api.wait_job(response.json()["job_id"])
    assert job["status"] == "completed", job
    return job
