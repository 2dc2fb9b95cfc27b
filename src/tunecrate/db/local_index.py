"""The index of music the user already owns, in folders tunecrate never modifies.

One :class:`LocalFile` row per audio file found under a configured music
folder; :class:`tunecrate.providers.local.LocalIndex` fills and searches it.
The table is registered on import, so this module must be imported before
:func:`tunecrate.db.engine.open_engine` creates the schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from .models import utcnow


class LocalFile(SQLModel, table=True):
    """One audio file of the user's music folders, as its tags describe it.

    ``path`` is the absolute path as reached from ``root`` (symlinks are kept,
    not resolved); ``root`` is the configured folder it was found under.
    ``mtime_ns`` (nanoseconds since the epoch) and ``size_bytes`` are the
    file's at the time it was read: a rescan reads the file again only when
    either differs. ``format`` is the container (``"mp3"``, ``"flac"``,
    ``"mp4"``, ``"ogg"``, ``"wav"``, ``"aac"``), ``codec`` the audio codec
    (``"mp3"``, ``"flac"``, ``"aac"``, ``"alac"``, ``"vorbis"``, ``"opus"``,
    ``"pcm"``). ``artists`` is a JSON list of names. ``isrc`` is upper case
    without dashes, or ``None`` when absent or malformed. ``duration_ms`` and
    ``bitrate_kbps`` are ``None`` when the file does not say.
    ``title_key``/``artist_key`` are normalised search keys derived from the
    tags (see :mod:`tunecrate.providers.local`). ``indexed_at`` is when the
    file was last read (UTC).
    """

    path: str = Field(primary_key=True)
    root: str = Field(index=True)
    mtime_ns: int
    size_bytes: int
    format: str
    codec: Optional[str] = None
    title: str
    artists: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    album: str = ""
    isrc: Optional[str] = Field(default=None, index=True)
    duration_ms: Optional[int] = None
    bitrate_kbps: Optional[int] = None
    title_key: str = ""
    artist_key: str = ""
    indexed_at: datetime = Field(default_factory=utcnow, index=True)
