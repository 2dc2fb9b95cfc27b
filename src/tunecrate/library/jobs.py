"""The Job table: every load and sync, and how it ended.

A job is started when the write lock is held and finished with its report's
counts. A job left ``running`` by a process that died (a crash, a kill) is
marked ``failed`` with the reason ``interrupted`` the next time the library
takes its write lock (:meth:`Jobs.mark_interrupted`); its work resumes only
when asked, by loading or syncing again.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from tunecrate.db.models import Job, utcnow

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tunecrate.library.results import LoadReport

__all__ = ["Jobs"]


class Jobs:
    """Records jobs in the catalogue of ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(self, kind: str, target: str) -> int:
        """Record a running job of this process; return its id."""
        with Session(self.engine) as session:
            job = Job(kind=kind, target=target, pid=os.getpid())
            session.add(job)
            session.commit()
            return job.id

    def finish(self, job_id: int, report: LoadReport) -> None:
        """Record how a job ended: ``done`` or ``failed``, with the report's counts."""
        with Session(self.engine) as session:
            job = session.get(Job, job_id)
            job.status = "done" if report.ok else "failed"
            job.summary = report.counts
            job.finished_at = utcnow()
            session.add(job)
            session.commit()

    def mark_interrupted(self) -> int:
        """Mark ``failed`` (reason ``interrupted``) every running job; return how many.

        Call with the write lock held: then no job of another process can be
        running, so a running job is one whose process died.
        """
        with Session(self.engine) as session:
            running = session.exec(select(Job).where(Job.status == "running")).all()
            for job in running:
                job.status, job.error, job.finished_at = "failed", "interrupted", utcnow()
                session.add(job)
            session.commit()
        return len(running)
