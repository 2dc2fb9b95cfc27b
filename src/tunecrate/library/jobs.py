"""The Job table: every load and sync, how far it got, and how it ended.

Two ways a job comes to be:

- the CLI's loads and syncs record theirs as they go: :meth:`Jobs.start`
  (under the write lock, status ``running``), then :meth:`Jobs.finish`;
- the HTTP server records a job when it is asked for (:meth:`Jobs.create`,
  status ``pending``) and runs it later inside :meth:`Jobs.attached`, so that
  the loads and syncs it calls report into that job instead of recording
  their own; the server then ends it with :meth:`Jobs.end`.

A job is ``running`` only while its process holds the write lock. A job left
``running`` by a process that died (a crash, a kill) is marked ``failed`` with
the message ``interrupted`` the next time the library takes its write lock
(:meth:`Jobs.mark_interrupted`); its work resumes only when asked, by loading
or syncing again. Times are UTC.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from tunecrate.db.models import Job, JobStatus, utcnow
from tunecrate.library.results import JobRecord

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tunecrate.library.results import LoadReport

__all__ = ["INTERRUPTED", "JOB_TYPES", "Jobs"]

#: Every ``job_type``: what the job does (the CLI command it matches).
JOB_TYPES = ("track_load", "album_load", "playlist_load", "likes_load", "playlist_sync", "likes_sync", "sync_all",
             "import")
#: The message of a job whose process died, or stopped, before it ended.
INTERRUPTED = "interrupted"

_ATTACHED: ContextVar[int | None] = ContextVar("tunecrate_attached_job", default=None)


def _iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC (SQLite hands back naive datetimes: they are UTC)."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()


def _record(job: Job) -> JobRecord:
    iso = _iso

    return JobRecord(job_id=job.id, job_type=job.job_type, target=job.target, status=job.status,
                     progress=job.progress, message=job.message, created_at=iso(job.created_at),
                     updated_at=iso(job.updated_at), started_at=iso(job.started_at),
                     finished_at=iso(job.finished_at), result=job.result)


def report_status(report: LoadReport) -> str:
    """The status a job ends with for ``report``: cancelled, failed (a track failed) or completed."""
    if report.cancelled:
        return JobStatus.CANCELLED
    return JobStatus.COMPLETED if report.ok else JobStatus.FAILED


def report_message(report: LoadReport) -> str:
    """One line for a finished load or sync: ``"Title: downloaded=3 present=2 failed=1"``."""
    counts = " ".join(f"{k}={v}" for k, v in report.counts.items() if v)
    state = "up to date" if report.up_to_date else counts or "nothing to do"
    return f"{report.title}: {state}{' (cancelled)' if report.cancelled else ''}"


class Jobs:
    """Records jobs in the catalogue of ``engine`` (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- the CLI's own jobs --------------------------------------------------------------

    def start(self, job_type: str, target: str) -> int:
        """Record a running job of this process; return its id. Call with the write lock held.

        Inside :meth:`attached`, nothing is recorded and the attached job's id is returned.
        """
        attached = _ATTACHED.get()
        if attached is not None:
            return attached
        with Session(self.engine) as session:
            now = utcnow()
            job = Job(job_type=job_type, target=target, status=JobStatus.RUNNING, pid=os.getpid(),
                      created_at=now, started_at=now, updated_at=now)
            session.add(job)
            session.commit()
            return job.id

    def finish(self, job_id: int, report: LoadReport) -> None:
        """Record how a job of :meth:`start` ended, with ``report.to_json()`` as its result.

        The attached job (see :meth:`attached`) is left to its owner, which may run several
        loads or syncs under it.
        """
        if job_id == _ATTACHED.get():
            return
        self.end(job_id, report_status(report), report_message(report), report.to_json())

    # -- the server's jobs ---------------------------------------------------------------

    def create(self, job_type: str, target: str) -> JobRecord:
        """Record a ``pending`` job of this process (to be run by :meth:`attached`)."""
        if job_type not in JOB_TYPES:
            raise ValueError(f"unknown job type {job_type!r}")
        with Session(self.engine) as session:
            job = Job(job_type=job_type, target=target, pid=os.getpid())
            session.add(job)
            session.commit()
            session.refresh(job)
            return _record(job)

    @contextmanager
    def attached(self, job_id: int) -> Iterator[None]:
        """Mark the pending job ``job_id`` running and run the block as that job.

        Call with the write lock held. Loads and syncs called in the block (in
        this thread) report into it rather than recording jobs of their own;
        the caller ends it with :meth:`end`.
        """
        now = utcnow()
        with Session(self.engine) as session:
            session.exec(update(Job).where(col(Job.id) == job_id).values(
                status=JobStatus.RUNNING, pid=os.getpid(), started_at=now, updated_at=now))
            session.commit()
        token = _ATTACHED.set(job_id)
        try:
            yield
        finally:
            _ATTACHED.reset(token)

    def progress(self, job_id: int, progress: float, message: str | None = None) -> None:
        """Record how far a running job got: ``progress`` from 0 to 1, and its latest line."""
        with Session(self.engine) as session:
            session.exec(update(Job).where(col(Job.id) == job_id).values(
                progress=max(0.0, min(1.0, progress)), message=message, updated_at=utcnow()))
            session.commit()

    def end(self, job_id: int, status: str, message: str | None, result: Any = None) -> JobRecord | None:
        """Record how a job ended: a finished :class:`~tunecrate.db.models.JobStatus`, its line and its
        result (JSON-ready). A completed job's progress becomes 1. Returns the record."""
        if status not in JobStatus.FINISHED:
            raise ValueError(f"{status!r} is not a finished job status")
        with Session(self.engine) as session:
            job = session.get(Job, job_id)
            if job is None:
                return None
            now = utcnow()
            job.status, job.message, job.result = status, message, result
            job.finished_at = job.updated_at = now
            if status == JobStatus.COMPLETED:
                job.progress = 1.0
            session.add(job)
            session.commit()
            session.refresh(job)
            return _record(job)

    def cancel_pending(self, job_id: int) -> bool:
        """Cancel a job that has not started; return whether it was pending (and so is cancelled now)."""
        now = utcnow()
        with Session(self.engine) as session:
            done = session.exec(update(Job).where(col(Job.id) == job_id, col(Job.status) == JobStatus.PENDING)
                                .values(status=JobStatus.CANCELLED, message="cancelled before it started",
                                        finished_at=now, updated_at=now))
            session.commit()
            return bool(done.rowcount)

    # -- reading -------------------------------------------------------------------------

    def get(self, job_id: int) -> JobRecord | None:
        """One job, or ``None``."""
        with Session(self.engine) as session:
            job = session.get(Job, job_id)
            return _record(job) if job is not None else None

    def list(self, *, offset: int = 0, limit: int = 50, status: str | None = None) -> list[JobRecord]:
        """Jobs, newest first; ``status`` keeps one status."""
        query = select(Job).order_by(col(Job.id).desc()).offset(offset).limit(limit)
        if status is not None:
            query = query.where(Job.status == status)
        with Session(self.engine) as session:
            return [_record(job) for job in session.exec(query)]

    # -- recovery ------------------------------------------------------------------------

    def mark_interrupted(self) -> int:
        """Mark ``failed`` (message ``interrupted``) every running job; return how many.

        Call with the write lock held: then no job of another process can be
        running, so a running job is one whose process died.
        """
        return self._fail_all(JobStatus.RUNNING)

    def mark_abandoned(self) -> int:
        """Mark ``failed`` (message ``interrupted``) every pending job; return how many.

        Only a server creates pending jobs: call this when it starts and no
        other server serves the library (``tunecrate serve`` holds a lock for that).
        """
        return self._fail_all(JobStatus.PENDING)

    def _fail_all(self, status: str) -> int:
        now = utcnow()
        with Session(self.engine) as session:
            done = session.exec(update(Job).where(col(Job.status) == status).values(
                status=JobStatus.FAILED, message=INTERRUPTED, finished_at=now, updated_at=now))
            session.commit()
            return done.rowcount
