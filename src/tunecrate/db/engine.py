"""The SQLite engine: WAL mode, foreign keys, a busy timeout, and the schema with its migrations.

WAL lets listing commands read while a load or sync writes. The schema
version lives in ``PRAGMA user_version``. :func:`open_engine` creates a new
catalogue at :data:`SCHEMA_VERSION`, or upgrades an older one in place by
running the steps of :data:`MIGRATIONS` in order, each in its own
transaction together with the version bump, so that a crash leaves the
catalogue at one version or the next, never between.

History:

1. tracks, playlists, entries, match decisions, jobs, the local music index;
2. ``track.missing`` (fields the source could not fill), ``track.wanted``
   renamed ``added_directly``, ``playlist.source`` (the metadata source a
   playlist was loaded from; ``spotify-api`` for playlists of version 1);
3. jobs as the HTTP server runs them: ``kind`` becomes ``job_type``
   (``load``/``sync`` become ``track_load``, ``album_load``, ``playlist_sync``,
   ``likes_sync``), ``done`` becomes ``completed``, ``error`` becomes
   ``message``, ``summary`` becomes ``result`` (``{"counts": …}``),
   ``started_at`` becomes ``created_at``; new ``progress``, ``updated_at`` and
   ``started_at``; states ``pending`` and ``cancelled``.
4. the media-server tables of :mod:`tunecrate.db.service_index`: the cached index of a server's
   tracks, its state, and the match of each song on each target (created empty).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import URL, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel, create_engine

from tunecrate.core.errors import CatalogueDamaged, StorageError

from . import local_index, models, service_index  # noqa: F401  (registers the tables)

BUSY_TIMEOUT_MS = 30_000


def _v2(conn: Connection) -> None:
    conn.exec_driver_sql("ALTER TABLE track ADD COLUMN missing JSON NOT NULL DEFAULT '[]'")
    conn.exec_driver_sql("ALTER TABLE track RENAME COLUMN wanted TO added_directly")
    conn.exec_driver_sql("ALTER TABLE playlist ADD COLUMN source VARCHAR")
    conn.exec_driver_sql("UPDATE playlist SET source = 'spotify-api'")


def _v3(conn: Connection) -> None:
    sql = conn.exec_driver_sql
    sql("ALTER TABLE job RENAME COLUMN kind TO job_type")
    sql("ALTER TABLE job RENAME COLUMN error TO message")
    sql("ALTER TABLE job RENAME COLUMN summary TO result")
    sql("ALTER TABLE job RENAME COLUMN started_at TO created_at")
    sql("ALTER TABLE job ADD COLUMN progress FLOAT NOT NULL DEFAULT 0")
    sql("ALTER TABLE job ADD COLUMN updated_at DATETIME NOT NULL DEFAULT '1970-01-01 00:00:00.000000'")
    sql("ALTER TABLE job ADD COLUMN started_at DATETIME")
    # Version 2 wrote loads as ("load", "track:<id>") and syncs as ("sync", "<playlist id>").
    sql("UPDATE job SET job_type = substr(target, 1, instr(target, ':') - 1) || '_load', "
        "target = substr(target, instr(target, ':') + 1) WHERE job_type = 'load' AND instr(target, ':') > 0")
    sql("UPDATE job SET job_type = CASE target WHEN 'likes' THEN 'likes_sync' ELSE 'playlist_sync' END "
        "WHERE job_type = 'sync'")
    sql("UPDATE job SET status = 'completed' WHERE status = 'done'")
    sql("UPDATE job SET result = json_object('counts', json(result))")
    sql("UPDATE job SET progress = 1 WHERE status = 'completed'")
    sql("UPDATE job SET started_at = created_at, updated_at = coalesce(finished_at, created_at)")
    sql("CREATE INDEX ix_job_status ON job (status)")



def _v4(conn: Connection) -> None:
    for table in (service_index.ServiceTrack, service_index.ServiceIndexState, service_index.ServiceMatch):
        table.__table__.create(conn)


#: ``MIGRATIONS[n - 1]`` upgrades a catalogue from version ``n`` to ``n + 1``.
MIGRATIONS: list[Callable[[Connection], None]] = [_v2, _v3, _v4]
#: The version this release writes.
SCHEMA_VERSION = len(MIGRATIONS) + 1


def _on_connect(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def database_url(path: Path) -> URL:
    """The SQLAlchemy URL of the SQLite file at ``path``, built so that no character of the path
    (``?``, ``#``, ``%``, spaces, non-ASCII) is read as URL syntax."""
    return URL.create("sqlite", database=str(Path(path)))


#: SQLite result codes of a file that is not (or no longer) a database: SQLITE_CORRUPT, SQLITE_NOTADB.
_DAMAGE_CODES = (11, 26)
_DAMAGE_WORDS = ("file is not a database", "database disk image is malformed")


def damage_reason(exc: BaseException) -> str | None:
    """What SQLite said when ``exc`` (a SQLAlchemy or sqlite3 error) means the file is damaged, else ``None``."""
    orig = getattr(exc, "orig", exc)
    code = getattr(orig, "sqlite_errorcode", None)
    text = str(orig).splitlines()[0] if str(orig) else ""
    if (code is not None and code & 0xFF in _DAMAGE_CODES) or any(w in text for w in _DAMAGE_WORDS):
        return text
    return None


def open_engine(path: Path, *, check: bool = False) -> Engine:
    """Open (creating if needed) the catalogue at ``path``, upgrade it, and return its engine.

    With ``check``, SQLite's ``quick_check`` also reads every page (a damaged
    page deep inside the file is found now, not halfway through a command).
    Raises :class:`CatalogueDamaged` (``path``, ``reason``) when the file is
    empty or not a readable database, :class:`StorageError` for a catalogue
    written by a newer release, and :class:`sqlalchemy.exc.DatabaseError` for
    other failures of SQLite.
    """
    if path.is_file() and path.stat().st_size == 0:
        raise CatalogueDamaged(f"the catalogue {path} is empty (0 bytes)", path, "empty (0 bytes)")
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        database_url(path),
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
    )
    event.listen(engine, "connect", _on_connect)
    try:
        migrate(engine, path)
        if check:
            with engine.connect() as conn:
                verdict = conn.exec_driver_sql("PRAGMA quick_check").scalar()
            if verdict != "ok":
                raise CatalogueDamaged(f"the catalogue {path} is damaged: {verdict}", path, str(verdict))
    except BaseException as exc:
        engine.dispose()
        reason = damage_reason(exc) if not isinstance(exc, CatalogueDamaged) else None
        if reason is not None:
            raise CatalogueDamaged(f"the catalogue {path} is damaged: {reason}", path, reason) from exc
        raise
    return engine


def empty_engine() -> Engine:
    """An empty catalogue at :data:`SCHEMA_VERSION` in memory (one connection, shared by every
    thread), for plans that read a library where none exists: nothing is written to disk."""
    engine = create_engine("sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool)
    event.listen(engine, "connect", _on_connect)
    migrate(engine, Path(":memory:"))
    return engine


def migrate(engine: Engine, path: Path) -> int:
    """Bring the catalogue to :data:`SCHEMA_VERSION`; return the version it had (0: new)."""
    with engine.begin() as conn:
        version = conn.exec_driver_sql("PRAGMA user_version").scalar() or 0
        if version > SCHEMA_VERSION:
            raise StorageError(f"{path} was written by a newer tunecrate (schema {version}); upgrade tunecrate")
        if version == 0:
            has_tables = conn.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE type='table'").scalar()
            if has_tables:
                raise StorageError(f"{path} is not a tunecrate catalogue (it has tables but no schema version)")
            SQLModel.metadata.create_all(conn)
            conn.exec_driver_sql(f"PRAGMA user_version={SCHEMA_VERSION}")
            return 0
    for step in range(version, SCHEMA_VERSION):
        with engine.begin() as conn:
            MIGRATIONS[step - 1](conn)
            conn.exec_driver_sql(f"PRAGMA user_version={step + 1}")
    with engine.begin() as conn:
        SQLModel.metadata.create_all(conn)  # tables added since (none have been so far) are created empty
    return version
