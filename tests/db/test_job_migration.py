"""The Job table is migrated in place (schema 3): old rows keep their history under the new names."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tunecrate.db.engine import SCHEMA_VERSION, open_engine
from tunecrate.library.jobs import Jobs

FIXTURE = Path(__file__).parent / "fixtures" / "schema-1.sql"


def _columns(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def test_version_1_jobs_become_completed_jobs_with_their_counts(tmp_path):
    old = tmp_path / "old.sqlite3"
    with sqlite3.connect(old) as conn:
        conn.executescript(FIXTURE.read_text("utf-8"))
        conn.execute("INSERT INTO job VALUES (2, 'load', 'album:4aawyAB9vmqN3uQ7FjRGTy', 'running', 1, '{}', NULL,"
                     " '2026-12-02 10:00:00.000000', NULL)")
        conn.execute("INSERT INTO job VALUES (3, 'sync', 'likes', 'failed', 1, '{}', 'no login',"
                     " '2026-12-02 11:00:00.000000', '2026-12-02 11:00:01.000000')")
    engine = open_engine(old)
    try:
        jobs = Jobs(engine)
        first = jobs.get(1)
        assert (first.job_type, first.target, first.status, first.progress) == (
            "playlist_sync", "mzHahbfh1uKtjNrWzA0C2v", "completed", 1.0)
        assert first.result == {"counts": {"downloaded": 4, "present": 0, "unresolved": 1, "review": 0,
                                           "skipped": 1, "failed": 0}}
        assert first.created_at.startswith("2026-12-01T20:52:18") and first.updated_at.startswith("2026-12-01T20:52:19")
        album = jobs.get(2)
        assert (album.job_type, album.target, album.status) == ("album_load", "4aawyAB9vmqN3uQ7FjRGTy", "running")
        likes = jobs.get(3)
        assert (likes.job_type, likes.status, likes.message) == ("likes_sync", "failed", "no login")
        assert jobs.mark_interrupted() == 1
        assert (jobs.get(2).status, jobs.get(2).message) == ("failed", "interrupted")
        new = jobs.create("playlist_load", "x")
        assert (new.status, new.progress, new.result) == ("pending", 0.0, None)
    finally:
        engine.dispose()
    with sqlite3.connect(old) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    fresh = tmp_path / "fresh.sqlite3"
    open_engine(fresh).dispose()
    assert _columns(old, "job") == _columns(fresh, "job")
