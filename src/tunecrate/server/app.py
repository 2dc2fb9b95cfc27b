"""The FastAPI application: synciflow's routes over the :class:`~tunecrate.library.library.Library` façade.

===========================================  ==================================================
``POST /track/load``, ``/playlist/load``,    ``{"url": …, "source": …}`` (any reference the CLI
``/playlist/sync``                           takes; ``/track/load`` takes albums too): **202**
                                             ``{"job_id": …}``, ``Location: /jobs/{id}``
``POST /likes/load``, ``/likes/sync``        the same for Liked Songs (no body)
``GET /jobs``, ``GET /jobs/{id}``            jobs, newest first (:class:`~tunecrate.library.results.JobRecord`)
``DELETE /jobs/{id}``                        cancel: 200 (it was pending), 202 (stopping), 409 (ended)
``GET /tracks``, ``/playlists``              listings: ``?q=`` searches, ``?offset=&limit=`` pages,
                                             ``X-Total-Count`` gives the count before paging
``GET /track/{id}``, ``/playlist/{id}``      one track (with playlists and candidates), one playlist
``GET /playlist/{id}/tracks``                ``[{"position", "track"}]`` in playlist order (paged too)
``GET /track/{id}/stream``                   ``audio/mpeg`` with byte ranges (206, 416)
``GET /track/{id}/download``                 the same as an attachment ``Artist - Title.mp3``
``GET /playlist/{id}/download.zip``          the playlist ZIP, streamed as it is built
``GET /playlist/{id}.m3u8``                  an M3U8 of this server's stream URLs
``GET /track/{id}/cover``, ``/playlist/{id}/cover``  cover images kept in the library
``GET /review``, ``POST /review/{track_id}``  the review queue; ``{"action": "accept" | "choose" |
                                             "pin" | "skip", "candidate": n, "url": …}``
``GET /stats``, ``GET /server``              library totals; whether a token is needed
``WS /ws/notifications``                     live events (:mod:`tunecrate.server.events`)
``GET /``, ``/static/{name}``                the web page
``GET /docs``, ``/redoc``                    the API's documentation (its assets under ``/docs-assets``)
===========================================  ==================================================

Listings are kept until the catalogue changes (:mod:`tunecrate.server.cache`).
Errors are ``{"detail": "<one line>"}``: 400 for a malformed id or reference,
404 for something the library does not hold, 409 when another process
writes the library, 401/403 from :mod:`tunecrate.server.security`, 422 for a
body that is not what the route takes. Every id in a path is validated
(:func:`~tunecrate.core.ids.validate_stored_id`) before the library sees it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Optional

import pydantic_core
from fastapi import Body, FastAPI, Query, Request, WebSocket
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.websockets import WebSocketDisconnect

from tunecrate import __version__
from tunecrate.core.errors import InvalidReference, LibraryBusy, NotFound, StorageError, TunecrateError
from tunecrate.core.ids import LIKES, parse_reference, validate_stored_id
from tunecrate.db.models import JobStatus
from tunecrate.library.results import (
    DecisionRecord, JobRecord, PlaylistSummary, ReviewItem, Stats, TrackDetail, TrackRecord,
)
from tunecrate.server import files
from tunecrate.server.cache import ListingCache
from tunecrate.server.events import EventBus
from tunecrate.server.runner import JobRunner, NotCancellable
from tunecrate.server.security import COOKIE, Gate, login_form, login_response
from tunecrate.server.settings import ServerSettings, allowed_hosts

__all__ = ["ServerConfig", "create_app"]

_ASSETS = resources.files("tunecrate.server") / "assets"
_STATUS = {InvalidReference: 400, NotFound: 404, LibraryBusy: 409, StorageError: 500}


@dataclass(frozen=True)
class ServerConfig:
    """How the server listens and whom it lets in.

    ``host``/``port`` are the bound address; ``token`` (``TUNECRATE_SERVER_TOKEN``)
    is required from every request when set; ``hosts`` are more names the
    ``Host`` header may carry; ``cors_origins`` the origins that may call the
    API from their pages; ``sync_every`` the seconds between scheduled syncs
    of every playlist (``None``: never).
    """

    host: str = "127.0.0.1"
    port: int = 8080
    token: str | None = None
    hosts: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    sync_every: int | None = None

    @classmethod
    def from_settings(cls, settings, **options: Any) -> ServerConfig:
        """The settings' token, hosts and origins (:class:`ServerSettings`), with ``options``."""
        section = settings.section(ServerSettings)
        return cls(token=section.server_token, hosts=section.server_hosts,
                   cors_origins=section.server_cors_origins, **options)


# -- bodies and shapes (for validation and the OpenAPI document) ---------------------------


class LoadBody(BaseModel):
    """What to load or sync: ``url`` is any reference the CLI takes; ``source`` a metadata source to try first."""

    url: str = Field(min_length=1, max_length=2000, examples=["https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M"])
    source: Optional[str] = Field(None, examples=["spotify-api"])


class SourceBody(BaseModel):
    """Options of a Liked Songs job: ``source``, a metadata source to try first."""

    source: Optional[str] = None


class ReviewBody(BaseModel):
    """A review decision: ``accept`` the best candidate, ``choose`` candidate ``candidate`` (0-based),
    ``pin`` a ``url`` (or a local audio file), or ``skip`` (don't download)."""

    action: Literal["accept", "choose", "pin", "skip"]
    candidate: Optional[int] = Field(None, ge=0)
    url: Optional[str] = Field(None, min_length=1, max_length=4000)


class JobCreated(BaseModel):
    job_id: int


class PlaylistEntryOut(BaseModel):
    position: int
    track: TrackRecord


class ServerInfo(BaseModel):
    name: str
    version: str
    auth: bool
    sync_every_s: Optional[int]


# -- helpers ------------------------------------------------------------------------------


class _JSONResponse(JSONResponse):
    """JSON encoded by pydantic-core: what Starlette's ``json.dumps`` writes (compact UTF-8; the
    same values), four times faster on a listing of thousands of entries; NaN and infinities
    become ``null``."""

    def render(self, content: Any) -> bytes:
        return pydantic_core.to_json(content, inf_nan_mode="null")


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return _JSONResponse(data, status_code=status, headers=headers)


def _page(items: Sequence[Any], offset: int, limit: int | None) -> JSONResponse:
    window = items[offset:] if limit is None else items[offset:offset + limit]
    return _json([item.to_json() if hasattr(item, "to_json") else item for item in window],
                 headers={"X-Total-Count": str(len(items))})


def _matches(q: str | None, *texts: Any) -> bool:
    if not q:
        return True
    needle = q.casefold()
    return any(needle in str(t).casefold() for t in texts if t)


def _track_text(t: TrackRecord) -> tuple:
    return (t.title, t.artist, t.album, t.track_id, t.isrc)


def _assets() -> dict[str, Path]:
    """The page's files, by name: regular files directly inside the package's asset folder, resolved."""
    folder = Path(str(_ASSETS)).resolve()
    return {p.name: p.resolve() for p in folder.iterdir()
            if p.is_file() and not p.is_symlink() and p.resolve().parent == folder}


_MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}

TrackId = PathParam(..., description="A track id (22 base62 characters, or `<kind>-<token>`).", max_length=81)
PlaylistId = PathParam(..., description="A playlist id, or `likes`.", max_length=81)
Offset = Query(0, ge=0, description="Items to skip.")
Limit = Query(None, ge=1, le=100_000, description="Items to return (default: all).")
Search = Query(None, max_length=200, description="Text to look for, ignoring case (title, artists, album, id).")


def create_app(library, config: ServerConfig | None = None) -> FastAPI:
    """The application serving ``library`` (an open :class:`~tunecrate.library.library.Library`).

    The caller keeps the library open while the application runs and makes
    sure no other server serves the same library (``tunecrate serve`` holds a
    lock for that). Jobs run on the application's own worker from its start-up.
    """
    config = config or ServerConfig()
    bus = EventBus()
    runner = JobRunner(library, bus, sync_every=config.sync_every)
    listings = ListingCache(library.settings.database_path)
    assets = _assets()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        await run_in_threadpool(runner.recover)
        runner.start(asyncio.get_running_loop())
        try:
            yield
        finally:
            await run_in_threadpool(runner.stop)
            listings.close()

    # The docs at /docs and /redoc load Swagger UI and ReDoc from the package (fastapi-offline),
    # not from a CDN: a home server may have no internet.
    app = FastAPIOffline(title="tunecrate", version=__version__, lifespan=lifespan,
                         static_url="/docs-assets", favicon_url="/static/icon.svg",
                         description="The HTTP API of a tunecrate library: load and sync with live progress, "
                                     "browse, stream, download, review matches.")
    app.add_middleware(Gate, token=config.token, cors_origins=config.cors_origins)
    if config.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins), allow_credentials=False,
                           allow_methods=["GET", "POST", "DELETE"], allow_headers=["Authorization", "Content-Type"],
                           expose_headers=["Location", "X-Total-Count", "Content-Range"])
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(config.host, config.hosts))

    @app.exception_handler(TunecrateError)
    async def _tunecrate_error(_request: Request, exc: TunecrateError) -> JSONResponse:
        status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 400)
        return _json({"detail": str(exc)}, status)

    def listing(request: Request, build) -> Response:
        """``build()``'s response, kept until the catalogue changes (see :mod:`tunecrate.server.cache`)."""
        return listings.get(f"{request.url.path}?{request.url.query}", build)

    def accepted(record: JobRecord) -> JSONResponse:
        return _json({"job_id": record.job_id}, 202, {"Location": f"/jobs/{record.job_id}"})

    def check_source(source: str | None) -> str | None:
        if source is not None and source not in library.sources.names():
            raise InvalidReference(f"unknown source {source!r}; known sources are {', '.join(library.sources.names())}")
        return source

    # -- jobs ---------------------------------------------------------------------------

    @app.post("/track/load", status_code=202, response_model=JobCreated, tags=["jobs"])
    def load_track(body: LoadBody) -> Response:
        """Load a track, or every track of an album, into the library (kept as added directly)."""
        ref = parse_reference(body.url, None if ":" in body.url or "/" in body.url else "track")
        if ref.kind not in ("track", "album"):
            raise InvalidReference(f"expected a track or album link, got a {ref.kind} link "
                                   "(use /playlist/load for playlists)")
        return accepted(runner.submit(f"{ref.kind}_load", body.url.strip(), source=check_source(body.source)))

    @app.post("/playlist/load", status_code=202, response_model=JobCreated, tags=["jobs"])
    def load_playlist(body: LoadBody) -> Response:
        """Mirror a playlist: fetch its tracks, record their order."""
        ref = parse_reference(body.url, "playlist")
        if ref.kind == "likes":
            return accepted(runner.submit("likes_load", LIKES, source=check_source(body.source)))
        return accepted(runner.submit("playlist_load", body.url.strip(), source=check_source(body.source)))

    @app.post("/playlist/sync", status_code=202, response_model=JobCreated, tags=["jobs"])
    def sync_playlist(body: LoadBody) -> Response:
        """Bring a playlist in step with its source (one light request when it is unchanged)."""
        playlist_id = library.playlist_id(body.url)
        kind = "likes_sync" if playlist_id == LIKES else "playlist_sync"
        return accepted(runner.submit(kind, playlist_id, source=check_source(body.source)))

    @app.post("/likes/load", status_code=202, response_model=JobCreated, tags=["jobs"])
    def load_likes(body: Optional[SourceBody] = Body(None)) -> Response:
        """Mirror the user's Liked Songs as the playlist ``likes`` (needs ``tunecrate login``)."""
        return accepted(runner.submit("likes_load", LIKES, source=check_source(body.source if body else None)))

    @app.post("/likes/sync", status_code=202, response_model=JobCreated, tags=["jobs"])
    def sync_likes(body: Optional[SourceBody] = Body(None)) -> Response:
        """Sync Liked Songs. A read that fails (no login, an error) changes nothing."""
        return accepted(runner.submit("likes_sync", LIKES, source=check_source(body.source if body else None)))

    @app.get("/jobs", response_model=list[JobRecord], tags=["jobs"])
    def list_jobs(offset: int = Offset, limit: int = Query(50, ge=1, le=1000),
                  status: Optional[Literal["pending", "running", "completed", "failed", "cancelled"]] = None,
                  ) -> Response:
        """Recent jobs, newest first."""
        return _json([j.to_json() for j in library.jobs.list(offset=offset, limit=limit, status=status)])

    @app.get("/jobs/{job_id}", response_model=JobRecord, tags=["jobs"])
    def get_job(job_id: int) -> Response:
        """One job: status, progress (0–1), message and, once it ended, its result."""
        record = library.jobs.get(job_id)
        if record is None:
            raise NotFound(f"no job {job_id}")
        return _json(record.to_json())

    @app.delete("/jobs/{job_id}", response_model=JobRecord, tags=["jobs"],
                responses={202: {"description": "Cancelling: tracks in flight finish, no new one starts."},
                           409: {"description": "The job has ended, or another process runs it."}})
    def cancel_job(job_id: int) -> Response:
        """Cancel a job: at once when it is pending (200), soon when it is running (202)."""
        try:
            record = runner.cancel(job_id)
        except KeyError:
            raise NotFound(f"no job {job_id}") from None
        except NotCancellable as exc:
            return _json({"detail": str(exc)}, 409)
        return _json(record.to_json(), 200 if record.status == JobStatus.CANCELLED else 202)

    # -- listings --------------------------------------------------------------------------

    @app.get("/tracks", response_model=list[TrackRecord], tags=["library"])
    def list_tracks(request: Request, q: Optional[str] = Search, offset: int = Offset,
                    limit: Optional[int] = Limit, status: Optional[str] = Query(None, max_length=20)) -> Response:
        """The library's tracks by artist then title."""
        def build() -> Response:
            rows = [t for t in library.tracks()
                    if _matches(q, *_track_text(t)) and (status is None or t.status == status)]
            return _page(rows, offset, limit)

        return listing(request, build)

    @app.get("/track/{track_id}", response_model=TrackDetail, tags=["library"])
    def get_track(request: Request, track_id: str = TrackId) -> Response:
        """One track with its playlists, decision and candidates."""
        return listing(request, lambda: _json(library.track_detail(validate_stored_id(track_id)).to_json()))

    @app.get("/playlists", response_model=list[PlaylistSummary], tags=["library"])
    def list_playlists(request: Request, q: Optional[str] = Search, offset: int = Offset,
                       limit: Optional[int] = Limit) -> Response:
        """The library's playlists by title, with entry counts."""
        def build() -> Response:
            rows = [p for p in library.playlists() if _matches(q, p.title, p.owner, p.playlist_id)]
            return _page(rows, offset, limit)

        return listing(request, build)

    @app.get("/playlist/{playlist_id}.m3u8", tags=["files"], response_class=Response,
             responses={200: {"content": {"audio/x-mpegurl": {}}}})
    def playlist_m3u8(request: Request, playlist_id: str = PlaylistId) -> Response:
        """The playlist as an extended M3U8 of this server's stream URLs (downloaded tracks only)."""
        return files.m3u8_response(library, validate_stored_id(playlist_id), str(request.base_url))

    @app.get("/playlist/{playlist_id}", response_model=PlaylistSummary, tags=["library"])
    def get_playlist(request: Request, playlist_id: str = PlaylistId) -> Response:
        """One playlist's summary (its entries are at ``/playlist/{id}/tracks``)."""
        pid = validate_stored_id(playlist_id)

        def build() -> Response:
            found = next((p for p in library.playlists() if p.playlist_id == pid), None)
            if found is None:
                raise NotFound(f"no playlist {pid!r} in the library")
            return _json(found.to_json())

        return listing(request, build)

    @app.get("/playlist/{playlist_id}/tracks", response_model=list[PlaylistEntryOut], tags=["library"])
    def playlist_tracks(request: Request, playlist_id: str = PlaylistId, q: Optional[str] = Search,
                        offset: int = Offset, limit: Optional[int] = Limit) -> Response:
        """The playlist's entries in order: ``position`` (0-based, as the source numbers them) and ``track``."""
        pid = validate_stored_id(playlist_id)

        def build() -> Response:
            entries = [{"position": t.position, "track": t.to_json()} for t in library.playlist(pid).tracks
                       if _matches(q, *_track_text(t))]
            return _page(entries, offset, limit)

        return listing(request, build)

    # -- files -------------------------------------------------------------------------------

    @app.head("/track/{track_id}/stream", include_in_schema=False)
    @app.get("/track/{track_id}/stream", tags=["files"], response_class=Response,
                   responses={200: {"content": {"audio/mpeg": {}}}, 206: {"description": "A byte range."},
                              416: {"description": "The range lies outside the file."}})
    def stream_track(track_id: str = TrackId) -> Response:
        """The track's MP3 for a player: byte ranges, so that seeking works."""
        return files.track_file_response(library, validate_stored_id(track_id), download=False)

    @app.head("/track/{track_id}/download", include_in_schema=False)
    @app.get("/track/{track_id}/download", tags=["files"], response_class=Response,
                   responses={200: {"content": {"audio/mpeg": {}}}})
    def download_track(track_id: str = TrackId) -> Response:
        """The track's MP3 as ``Artist - Title.mp3``."""
        return files.track_file_response(library, validate_stored_id(track_id), download=True)

    @app.get("/playlist/{playlist_id}/download.zip", tags=["files"], response_class=Response,
             responses={200: {"content": {"application/zip": {}}}})
    def download_zip(playlist_id: str = PlaylistId) -> Response:
        """The playlist ZIP (numbered MP3s, an M3U8, the cover), streamed as it is built."""
        return files.zip_response(library, validate_stored_id(playlist_id))

    @app.get("/track/{track_id}/cover", tags=["files"], response_class=Response,
             responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}})
    def track_cover(track_id: str = TrackId) -> Response:
        """The cover embedded in the track's MP3."""
        from tunecrate.media.covers import embedded_cover

        cover = embedded_cover(library.track_file(validate_stored_id(track_id)))
        return files.cover_response(None, cover.data if cover else None, cover.mime if cover else "image/jpeg")

    @app.get("/playlist/{playlist_id}/cover", tags=["files"], response_class=Response,
             responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}})
    def playlist_cover(playlist_id: str = PlaylistId) -> Response:
        """The playlist's cover kept in the library, else the cover of its first downloaded track (no network)."""
        from tunecrate.media.covers import embedded_cover, sniff_image_mime

        detail = library.playlist(validate_stored_id(playlist_id))
        path = library.exporter.cover_of(detail.playlist_id)
        if path is not None:
            with open(path, "rb") as head:
                return files.cover_response(path, mime=sniff_image_mime(head.read(8)) or "image/jpeg")
        first = next((t for t in detail.tracks if t.path and t.status == "downloaded"), None)
        cover = embedded_cover(Path(first.path)) if first else None
        return files.cover_response(None, cover.data if cover else None, cover.mime if cover else "image/jpeg")

    # -- review -------------------------------------------------------------------------------

    @app.get("/review", response_model=list[ReviewItem], tags=["review"])
    def review_queue(request: Request) -> Response:
        """Tracks awaiting a decision (held for review first, then unresolved), with their candidates
        and the components of each score."""
        return listing(request, lambda: _json([item.to_json() for item in library.review_queue()]))

    @app.post("/review/{track_id}", response_model=DecisionRecord, tags=["review"])
    def review_decide(body: ReviewBody, track_id: str = TrackId) -> Response:
        """Decide about a track, as ``tunecrate review`` does; the next load or sync downloads the choice."""
        tid = validate_stored_id(track_id)
        if body.action == "accept":
            record = library.match_accept(tid, 0)
        elif body.action == "choose":
            if body.candidate is None:
                raise InvalidReference("choose needs \"candidate\": the 0-based index of a candidate")
            record = library.match_accept(tid, body.candidate)
        elif body.action == "pin":
            if not body.url:
                raise InvalidReference("pin needs \"url\": a URL yt-dlp can download, or a local audio file")
            record = library.match_set(tid, body.url)
        else:
            record = library.match_skip(tid)
        return _json(record.to_json())

    # -- about ----------------------------------------------------------------------------

    @app.get("/stats", response_model=Stats, tags=["library"])
    def stats(request: Request) -> Response:
        """Library totals."""
        return listing(request, lambda: _json(library.stats().to_json()))

    @app.get("/server", response_model=ServerInfo, tags=["library"])
    def server_info() -> Response:
        """What the page needs to know about this server."""
        return _json({"name": "tunecrate", "version": __version__, "auth": config.token is not None,
                      "sync_every_s": config.sync_every})

    # -- events ---------------------------------------------------------------------------

    @app.websocket("/ws/notifications")
    async def notifications(websocket: WebSocket, job_id: Optional[int] = None) -> None:
        await websocket.accept()
        subscription = bus.subscribe(job_id)
        try:
            current = await run_in_threadpool(runner.snapshot, job_id)
            if job_id is not None and not current:
                await websocket.send_json({"event_type": "ERROR", "job_id": job_id, "progress": None,
                                           "message": f"no job {job_id}", "payload": {}})
                await websocket.close(code=4404)
                return
            for event in current:
                await websocket.send_text(json.dumps(event.to_json(), ensure_ascii=False))
            await _relay(websocket, subscription)
        except WebSocketDisconnect:
            pass
        finally:
            bus.unsubscribe(subscription)

    # -- the page --------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    def index(request: Request) -> Response:
        host = request.headers.get("host", "")
        policy = (f"default-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self' ws://{host} "
                  f"wss://{host}; script-src 'self'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                  "form-action 'self'")
        return FileResponse(assets["index.html"], media_type=_MEDIA_TYPES[".html"],
                            headers={"Content-Security-Policy": policy, "Cache-Control": "no-cache",
                                     "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        path = assets.get(name)
        if path is None or name == "index.html":
            raise NotFound(f"no such file: {name!r}")
        return FileResponse(path, media_type=_MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
                            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})

    @app.get("/login", include_in_schema=False)
    def login_page() -> Response:
        return login_form() if config.token else RedirectResponse("/", status_code=303)

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        return await login_response(request, config.token)

    @app.post("/logout", include_in_schema=False)
    def logout() -> Response:
        response = Response(status_code=204)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    return app


async def _relay(websocket: WebSocket, subscription) -> None:
    """Send the subscription's messages until the client leaves (or falls too far behind)."""

    async def send() -> None:
        while True:
            text = await subscription.queue.get()
            await websocket.send_text(text)
            if subscription.lagging:
                await websocket.close(code=1013, reason="too slow: reconnect to get the current state")
                return

    async def receive() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    tasks = [asyncio.create_task(send()), asyncio.create_task(receive())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
