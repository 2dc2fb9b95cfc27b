"""A catalogue written by an older release opens in this one with everything in it intact.

``fixtures/schema-1.sql`` is a dump (``sqlite3 .dump``) of the catalogue that
the last schema-1 release left after ``tunecrate demo``: six tracks (four
downloaded, one unresolved, one skipped), the demo playlist, its entries,
four pins and a skip, and the job that synced it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tunecrate.core.errors import StorageError
from tunecrate.db.engine import SCHEMA_VERSION, open_engine
from tunecrate.db.models import Job, MatchDecision, Playlist, PlaylistEntry, Track

FIXTURE = Path(__file__).parent / "fixtures" / "schema-1.sql"
PLAYLIST = "mzHahbfh1uKtjNrWzA0C2v"
ADDED_DIRECTLY = "5LBfZMzswertwlwUmKxvPD"


def _sqlite(path: Path, script: str) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.executescript(script)
    finally:
        conn.close()


def _rows(path: Path, query: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


@pytest.fixture
def schema_1(tmp_path) -> Path:
    """The fixture loaded into a database file, one of its tracks marked ``wanted`` as `tunecrate track` did."""
    path = tmp_path / "tunecrate.sqlite3"
    _sqlite(path, FIXTURE.read_text("utf-8"))
    _sqlite(path, f"UPDATE track SET wanted = 1 WHERE track_id = '{ADDED_DIRECTLY}'")
    assert _rows(path, "PRAGMA user_version") == [(1,)]
    return path


def test_a_schema_1_catalogue_opens_with_its_contents_intact(schema_1):
    before_tracks = _rows(schema_1, "SELECT track_id, title, artists, status, path, size_bytes, source_url, "
                                    "wanted FROM track ORDER BY track_id")
    before_entries = _rows(schema_1, "SELECT playlist_id, position, track_id FROM playlistentry ORDER BY position")
    before_decisions = _rows(schema_1, "SELECT track_id, kind, source FROM matchdecision ORDER BY track_id")

    engine = open_engine(schema_1)
    try:
        with Session(engine) as session:
            tracks = {t.track_id: t for t in session.exec(select(Track))}
            playlists = session.exec(select(Playlist)).all()
            entries = session.exec(select(PlaylistEntry).order_by(PlaylistEntry.position)).all()
            decisions = {d.track_id: d for d in session.exec(select(MatchDecision))}
            jobs = session.exec(select(Job)).all()
    finally:
        engine.dispose()

    assert _rows(schema_1, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert len(tracks) == len(before_tracks) == 6
    for track_id, title, artists, status, path, size, source_url, wanted in before_tracks:
        row = tracks[track_id]
        assert (row.title, row.status, row.path, row.size_bytes, row.source_url) == (
            title, status, path, size, source_url)
        assert row.artists == json.loads(artists)
        assert row.added_directly is bool(wanted)  # the column `wanted` became `added_directly`
        assert row.missing == []  # schema 1 did not record missing fields: none are assumed
    assert tracks[ADDED_DIRECTLY].added_directly and sum(t.added_directly for t in tracks.values()) == 1
    assert tracks["w1taUHzSaFROYITPvprnXZ"].title == "Café Ünïcode (feat. Ümlaut)"
    assert tracks["w1taUHzSaFROYITPvprnXZ"].info().artists == ("Ada Byte", "Ümlaut")

    assert [(p.playlist_id, p.title, p.snapshot_id, p.source) for p in playlists] == [
        (PLAYLIST, "tunecrate demo mix", "AAAAAUI8ZYxJ0TH/PF8iFg==", "spotify-api")]
    assert [(e.playlist_id, e.position, e.track_id) for e in entries] == before_entries
    assert [(d, decisions[d].kind, decisions[d].source) for d in sorted(decisions)] == before_decisions
    assert decisions["w1taUHzSaFROYITPvprnXZ"].kind == "skipped"
    assert [(j.job_type, j.target, j.status, j.result["counts"]["downloaded"]) for j in jobs] == [
        ("playlist_sync", PLAYLIST, "completed", 4)]
    columns = {name for _, name, *_ in _rows(schema_1, "PRAGMA table_info(track)")}
    assert "wanted" not in columns and {"added_directly", "missing"} <= columns


def test_opening_again_changes_nothing(schema_1):
    open_engine(schema_1).dispose()
    dump = "\n".join(sqlite3.connect(schema_1).iterdump())
    open_engine(schema_1).dispose()
    assert "\n".join(sqlite3.connect(schema_1).iterdump()) == dump


def test_a_new_catalogue_starts_at_the_current_version(tmp_path):
    path = tmp_path / "new.sqlite3"
    open_engine(path).dispose()
    assert _rows(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert {"track", "playlist", "playlistentry", "matchdecision", "job", "localfile"} <= {
        name for (name,) in _rows(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_a_newer_catalogue_is_refused_in_one_line(schema_1):
    _sqlite(schema_1, f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StorageError) as caught:
        open_engine(schema_1)
    message = str(caught.value)
    assert "newer tunecrate" in message and f"schema {SCHEMA_VERSION + 1}" in message and "\n" not in message
    assert _rows(schema_1, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]
    assert "wanted" in {name for _, name, *_ in _rows(schema_1, "PRAGMA table_info(track)")}  # left untouched


def test_tables_without_a_version_are_refused(tmp_path):
    path = tmp_path / "other.sqlite3"
    _sqlite(path, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes VALUES (1, 'mine');")
    with pytest.raises(StorageError, match="not a tunecrate catalogue") as caught:
        open_engine(path)
    assert "\n" not in str(caught.value)
    assert _rows(path, "SELECT body FROM notes") == [("mine",)]
    assert _rows(path, "SELECT name FROM sqlite_master WHERE type = 'table'") == [("notes",)]


def test_the_cli_reports_a_newer_catalogue_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from tunecrate.cli.main import app

    data = tmp_path / "data"
    data.mkdir()
    _sqlite(data / "tunecrate.sqlite3", f"{FIXTURE.read_text('utf-8')}\nPRAGMA user_version = {SCHEMA_VERSION + 1};")
    result = CliRunner().invoke(app, ["tracks"], env={"TUNECRATE_DATA_ROOT": str(data),
                                                      "TUNECRATE_STORAGE_ROOT": str(tmp_path / "storage")})
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "newer tunecrate" in lines[0]


def test_a_version_1_catalogue_gains_the_service_tables(tmp_path):
    path = tmp_path / "tunecrate.sqlite3"
    _sqlite(path, FIXTURE.read_text("utf-8"))
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
