"""The catalogue's schema migrations, from a real version-1 catalogue (``fixtures/schema-1.sql``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tunecrate.db.engine import SCHEMA_VERSION, open_engine

FIXTURE = Path(__file__).with_name("fixtures") / "schema-1.sql"


def test_a_version_1_catalogue_gains_the_service_tables(tmp_path):
    path = tmp_path / "tunecrate.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(FIXTURE.read_text("utf-8"))
    open_engine(path).dispose()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        indexes = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        columns = {row[1] for row in db.execute("PRAGMA table_info(servicematch)")}
        jobs = db.execute("SELECT count(*) FROM job").fetchone()[0]
    assert {"servicetrack", "serviceindexstate", "servicematch"} <= tables
    assert {"ix_servicetrack_path", "ix_servicematch_kind"} <= indexes
    assert {"target", "song_id", "kind", "song", "item", "score", "candidates", "decided_at"} <= columns
    assert jobs == 1   # nothing else was touched
