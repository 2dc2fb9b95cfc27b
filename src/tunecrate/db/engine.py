"""The SQLite engine: WAL mode, foreign keys, a busy timeout, and the schema.

WAL lets listing commands read while a load or sync writes. The schema
version lives in ``PRAGMA user_version``; :func:`open_engine` creates or
upgrades it.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, create_engine

from tunecrate.core.errors import StorageError

from . import local_index, models  # noqa: F401  (registers the tables)

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000


def _on_connect(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def open_engine(path: Path) -> Engine:
    """Open (creating if needed) the catalogue at ``path`` and return its engine.

    Raises :class:`sqlalchemy.exc.OperationalError` when the file cannot be
    opened; the library turns that into a StorageError.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
    )
    event.listen(engine, "connect", _on_connect)
    with engine.begin() as conn:
        version = conn.exec_driver_sql("PRAGMA user_version").scalar() or 0
        if version > SCHEMA_VERSION:
            raise StorageError(f"{path} was written by a newer tunecrate (schema {version}); upgrade tunecrate")
        SQLModel.metadata.create_all(conn)  # creates missing tables only
        if version < SCHEMA_VERSION:
            conn.exec_driver_sql(f"PRAGMA user_version={SCHEMA_VERSION}")
    return engine
