"""The server's jobs: one worker runs the loads and syncs one at a time, reporting as they go.

:class:`JobRunner` records a job ``pending`` when it is asked for
(:meth:`JobRunner.submit`) and hands it to a single worker thread. The worker
holds the library's write lock for the whole job (other processes get
:class:`~tunecrate.core.errors.LibraryBusy` meanwhile, and a job that finds
the lock taken fails with that message), marks the job ``running`` and calls
the :class:`~tunecrate.library.library.Library` method the CLI calls, with the
pipeline's progress callback and a cancel event. Reads never wait for it:
they take no lock.

Progress: every :class:`~tunecrate.library.pipeline.TrackEvent` becomes an
:class:`~tunecrate.server.events.Event` (see :mod:`tunecrate.server.events`);
each finished track moves the job's ``progress`` (tracks done / tracks to
fetch), which is written to the Job row too. A sync of every playlist
divides the range evenly between playlists.

A job ends ``completed``, ``failed`` (an error, or a track that failed: the
CLI exits 1 then) or ``cancelled``, with the report the CLI prints with
``--json`` as its result. ``DELETE /jobs/{id}`` cancels: a pending job at
once, a running one through the pipeline's cancel event (tracks in flight
finish, no new one starts). When the server stops, the running job is
cancelled and it and the pending ones end ``failed`` with the message
``interrupted``; when it starts, jobs left by a server that died are marked
the same way. Their work resumes only when asked again.

``sync_every`` (seconds) schedules a job syncing every playlist on the event
loop's own timer; a tick is skipped while such a job is still waiting or running.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from tunecrate.core.errors import LibraryBusy, TunecrateError, one_line
from tunecrate.core.text import track_label
from tunecrate.db.models import JobStatus
from tunecrate.library.jobs import INTERRUPTED, report_message, report_status
from tunecrate.library.results import JobRecord
from tunecrate.server import events as ev

if TYPE_CHECKING:
    from tunecrate.library.library import Library
    from tunecrate.library.pipeline import TrackEvent

__all__ = ["JobRunner", "NotCancellable"]

log = logging.getLogger(__name__)

#: Finished jobs whose per-track state is kept for late clients.
KEPT_FINISHED = 16


class NotCancellable(Exception):
    """The job cannot be cancelled here: it has ended, or another process runs it."""


def _progress_type(job_type: str) -> str:
    return ev.SYNC_PROGRESS if job_type.endswith(("_sync", "sync_all")) else ev.PLAYLIST_PROGRESS


def _completed_type(job_type: str) -> str:
    return ev.SYNC_COMPLETED if job_type.endswith(("_sync", "sync_all")) else ev.PLAYLIST_COMPLETED


def final_event(record: JobRecord, tracks: list[dict] | None = None) -> ev.Event:
    """The event that announces how ``record`` ended (or stands): ``ERROR`` for a job that failed
    without a report, the completion type for one that ended, the progress type otherwise.

    Its payload holds the ``result``; with ``tracks``, it is a late client's snapshot instead
    (``snapshot``, ``job``: the whole record, ``tracks``: each track's latest stage).
    """
    if record.status == JobStatus.FAILED and record.result is None:
        kind = ev.ERROR
    elif record.status in JobStatus.FINISHED:
        kind = _completed_type(record.job_type)
    else:
        kind = _progress_type(record.job_type)
    payload = ({"result": record.result} if tracks is None
               else {"snapshot": True, "job": record.to_json(), "tracks": tracks})
    return ev.Event(kind, record.job_id, record.job_type, record.status, record.progress, record.message, payload)


class _LiveJob:
    """The state of one job of this server as its events arrive (thread-safe)."""

    def __init__(self, runner: JobRunner, record: JobRecord) -> None:
        self.runner = runner
        self.job_id, self.job_type = record.job_id, record.job_type
        self.status, self.progress, self.message = record.status, 0.0, record.message
        self.tracks: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._total = self._done = 0
        self._base, self._span = 0.0, 1.0

    def _event(self, kind: str, payload: dict[str, Any]) -> ev.Event:
        return ev.Event(kind, self.job_id, self.job_type, self.status, self.progress, self.message, payload)

    def running(self) -> None:
        with self._lock:
            self.status = JobStatus.RUNNING
            self.runner.bus.publish(self._event(_progress_type(self.job_type), {}))

    def section(self, index: int, count: int, label: str) -> None:
        """Start part ``index`` of ``count`` (one playlist of a sync of all of them)."""
        with self._lock:
            self._total = self._done = 0
            self._base, self._span = index / count, 1 / count
            self.progress, self.message = self._base, f"{index + 1}/{count} {label}"
            self.runner.bus.publish(self._event(_progress_type(self.job_type), {"playlist": label}))
        self.runner.library.jobs.progress(self.job_id, self.progress, self.message)

    def on_event(self, event: TrackEvent) -> None:
        """The pipeline's progress callback (called from its threads)."""
        track = event.track
        write = None
        with self._lock:
            state = self.tracks.setdefault(track.track_id, {
                "track_id": track.track_id, "title": track.title, "artist": track.artist,
                "stage": "queued", "outcome": None, "reason": None})
            state["stage"] = event.stage
            if event.stage == "queued":
                self._total += 1
            kinds = [_progress_type(self.job_type)]
            if event.stage == "fetching":
                kinds = [ev.TRACK_DOWNLOAD_STARTED]
            elif event.stage == "done":
                outcome = event.outcome
                state["outcome"], state["reason"] = outcome.status, outcome.reason
                self._done += 1
                fraction = self._done / self._total if self._total else 1.0
                self.progress = self._base + self._span * min(1.0, fraction)
                self.message = (f"{self._done}/{self._total} {track_label(track.artists, track.title)}: "
                                f"{outcome.status}")
                write = (self.progress, self.message)
                kinds = [ev.TRACK_DOWNLOAD_COMPLETED, _progress_type(self.job_type)]
            payload = {**state, "current": self._done, "total": self._total}
            for kind in kinds:
                self.runner.bus.publish(self._event(kind, payload))
        if write is not None:
            self.runner.library.jobs.progress(self.job_id, *write)

    def ended(self, record: JobRecord) -> None:
        with self._lock:
            self.status, self.progress, self.message = record.status, record.progress, record.message
            self.runner.bus.publish(final_event(record))

    def snapshot(self, record: JobRecord) -> ev.Event:
        with self._lock:
            tracks = [dict(t) for t in self.tracks.values()]
            return final_event(record, tracks)


class JobRunner:
    """Runs the server's jobs on one worker thread (see the module docstring)."""

    def __init__(self, library: Library, bus: ev.EventBus, *, sync_every: int | None = None) -> None:
        self.library = library
        self.bus = bus
        self.sync_every = sync_every
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tunecrate-job")
        self._cancels: dict[int, threading.Event] = {}
        self._live: OrderedDict[int, _LiveJob] = OrderedDict()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._stopping = False

    # -- life ------------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver events on ``loop`` and start the schedule (call on that loop, after :meth:`recover`)."""
        self._loop = loop
        self.bus.bind(loop)
        if self.sync_every:
            self._timer = loop.call_later(self.sync_every, self._tick)

    def recover(self) -> None:
        """Mark jobs left running (when the write lock is free) or pending by a dead server ``interrupted``."""
        try:
            with self.library.write_lock():  # taking it marks jobs of dead processes interrupted
                pass
        except LibraryBusy:
            pass  # another process is writing: its running jobs are alive
        self.library.jobs.mark_abandoned()

    def stop(self) -> None:
        """Stop taking jobs, cancel the running one and wait for it; unfinished jobs end ``interrupted``."""
        self._stopping = True
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            cancels = list(self._cancels.values())
        for cancel in cancels:
            cancel.set()
        for record in self.library.jobs.list(status=JobStatus.PENDING, limit=10_000):
            self._end(record.job_id, JobStatus.FAILED, INTERRUPTED)
        self._worker.shutdown(wait=True, cancel_futures=True)
        self.bus.bind(None)

    # -- jobs ------------------------------------------------------------------------------

    def submit(self, job_type: str, target: str, *, source: str | None = None) -> JobRecord:
        """Record a pending job and queue it for the worker; return its record."""
        if self._stopping:
            raise LibraryBusy("the server is stopping; try again once it has restarted")
        record = self.library.jobs.create(job_type, target)
        live = _LiveJob(self, record)
        with self._lock:
            self._cancels[record.job_id] = threading.Event()
            self._live[record.job_id] = live
            self._trim()
        self.bus.publish(live.snapshot(record))
        self._worker.submit(self._run, record.job_id, source)
        return record

    def cancel(self, job_id: int) -> JobRecord:
        """Cancel a job: at once when pending, as soon as the pipeline allows when running.

        Returns the job's record afterwards. Raises :class:`KeyError` for an
        unknown job and :class:`NotCancellable` for one that ended or that
        another process runs.
        """
        record = self.library.jobs.get(job_id)
        if record is None:
            raise KeyError(job_id)
        if record.status in JobStatus.FINISHED:
            raise NotCancellable(f"job {job_id} has already ended ({record.status})")
        with self._lock:
            cancel = self._cancels.get(job_id)
        if cancel is None:
            raise NotCancellable(f"job {job_id} is run by another process, not this server; stop it there")
        cancel.set()
        if self.library.jobs.cancel_pending(job_id):
            record = self.library.jobs.get(job_id)
            self._announce(record)
        return self.library.jobs.get(job_id)

    def active(self, job_type: str) -> bool:
        """Whether a job of ``job_type`` is waiting or running in this server."""
        with self._lock:
            return any(j.job_type == job_type and j.status not in JobStatus.FINISHED for j in self._live.values())

    def snapshot(self, job_id: int | None) -> list[ev.Event]:
        """The current state of one job, or of every unfinished job of this server (for late clients)."""
        if job_id is None:
            with self._lock:
                ids = [j.job_id for j in self._live.values() if j.status not in JobStatus.FINISHED]
        else:
            ids = [job_id]
        found = []
        for one in ids:
            record = self.library.jobs.get(one)
            if record is None:
                continue
            with self._lock:
                live = self._live.get(one)
            found.append(live.snapshot(record) if live is not None else final_event(record, []))
        return found

    # -- the worker ---------------------------------------------------------------------------

    def _run(self, job_id: int, source: str | None) -> None:
        with self._lock:
            live, cancel = self._live[job_id], self._cancels[job_id]
        try:
            record = self.library.jobs.get(job_id)
            if record is None or record.status != JobStatus.PENDING:
                return  # cancelled, or interrupted by a stop, before it started
            try:
                with self.library.write_lock():
                    with self.library.jobs.attached(job_id):
                        live.running()
                        status, message, result = self._outcome(record, live, cancel, source)
                    self._end(job_id, status, message, result)
            except TunecrateError as exc:  # the write lock was taken, or its repair failed
                self._end(job_id, JobStatus.FAILED, one_line(exc))
        finally:
            with self._lock:
                self._cancels.pop(job_id, None)

    def _outcome(self, record: JobRecord, live: _LiveJob, cancel: threading.Event,
                 source: str | None) -> tuple[str, str, Any]:
        """Run the job; ``(status, message, result)``. Errors become a failed status and their line."""
        try:
            if record.job_type == "sync_all":
                status, message, result = self._sync_all(live, cancel)
            else:
                report = self._call(record.job_type, record.target, live.on_event, cancel, source)
                status, message, result = report_status(report), report_message(report), report.to_json()
        except TunecrateError as exc:
            status, message, result = JobStatus.FAILED, one_line(exc), None
        except Exception as exc:  # a defect: the job fails, the server keeps serving
            log.exception("job %s (%s %s) failed", record.job_id, record.job_type, record.target)
            status, message, result = JobStatus.FAILED, f"internal error: {one_line(exc)}", None
        if self._stopping and status == JobStatus.CANCELLED:
            status, message = JobStatus.FAILED, INTERRUPTED
        return status, message, result

    def _call(self, job_type: str, target: str, progress, cancel: threading.Event, source: str | None):
        lib = self.library
        if job_type == "track_load":
            return lib.load_track(target, progress, cancel, source=source)
        if job_type == "album_load":
            return lib.load_album(target, progress, cancel, source=source)
        if job_type == "playlist_load":
            return lib.load_playlist(target, progress, cancel, source=source)
        if job_type == "likes_load":
            return lib.load_likes(progress, cancel, source=source)
        if job_type in ("playlist_sync", "likes_sync"):
            return lib.sync(target, progress=progress, cancel=cancel, source=source)
        raise ValueError(f"unknown job type {job_type!r}")

    def _sync_all(self, live: _LiveJob, cancel: threading.Event) -> tuple[str, str, list]:
        """Sync every playlist in turn (as ``sync --all``): one failing does not stop the others."""
        playlists = self.library.playlists()
        results: list[dict] = []
        failed = 0
        for index, playlist in enumerate(playlists):
            if cancel.is_set():
                break
            live.section(index, len(playlists), playlist.title)
            try:
                report = self.library.sync(playlist.playlist_id, progress=live.on_event, cancel=cancel)
                results.append(report.to_json())
                failed += not report.ok
            except TunecrateError as exc:
                results.append({"playlist_id": playlist.playlist_id, "error": one_line(exc)})
                failed += 1
        if cancel.is_set():
            return JobStatus.CANCELLED, f"cancelled after {len(results)} of {len(playlists)} playlists", results
        message = f"synced {len(results)} playlists" + (f", {failed} with failures" if failed else "")
        return (JobStatus.FAILED if failed else JobStatus.COMPLETED), message, results

    def _end(self, job_id: int, status: str, message: str | None, result: Any = None) -> None:
        record = self.library.jobs.end(job_id, status, message, result)
        if record is not None:
            self._announce(record)

    def _announce(self, record: JobRecord) -> None:
        with self._lock:
            live = self._live.get(record.job_id)
        if live is not None:
            live.ended(record)
        else:
            self.bus.publish(final_event(record))

    def _trim(self) -> None:
        """Forget the per-track state of the oldest finished jobs (called with the lock held)."""
        finished = [j for j, live in self._live.items() if live.status in JobStatus.FINISHED]
        for job_id in finished[:-KEPT_FINISHED] if len(finished) > KEPT_FINISHED else []:
            del self._live[job_id]

    # -- the schedule ----------------------------------------------------------------------------

    def _tick(self) -> None:
        """Every ``sync_every`` seconds, on the event loop: queue a sync of every playlist."""
        if self._stopping or self._loop is None:
            return
        self._timer = self._loop.call_later(self.sync_every, self._tick)
        if not self.active("sync_all"):
            self._loop.run_in_executor(None, self._scheduled_sync)

    def _scheduled_sync(self) -> None:
        try:
            self.submit("sync_all", "all")
        except TunecrateError as exc:
            log.warning("scheduled sync not started: %s", one_line(exc))
