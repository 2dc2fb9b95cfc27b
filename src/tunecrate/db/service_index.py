"""What tunecrate keeps about media servers and other playlist services: an index of their tracks, and
the match decided for each song on each service.

:class:`ServiceTrack` rows cache a media server's music library (Plex), so that a push matches its
entries locally instead of searching the server once per entry; :class:`ServiceIndexState` records
what each cached index reflects, for incremental refreshes. :class:`ServiceMatch` remembers, per
(target, song), the item a song was matched to, the user's confirmation, a "don't sync this one", or
the candidates held for review. :mod:`tunecrate.library.services` reads and writes them; the targets
themselves never see the database. The tables are registered on import, so this module must be
imported before :func:`tunecrate.db.engine.open_engine` creates the schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from .models import utcnow


class ServiceTrack(SQLModel, table=True):
    """One track of a service's music library, as its listing describes it.

    ``index_id`` names the cached index (``"plex:<machineIdentifier>:<section uuid>"``); ``item_id``
    is the service's id of the track (Plex's ``ratingKey``). ``artists`` is a JSON list (the track's
    own artist: Plex's ``originalTitle`` when set, else ``grandparentTitle``), ``album_artist`` the
    album's (``grandparentTitle``). ``duration_ms`` is ``None`` when unknown; ``path`` is the file as
    the server sees it (``<Media><Part file>``). ``updated_at`` is the server's ``updatedAt`` (epoch
    seconds). ``title_key``/``artist_key`` are the search keys the matcher's prefilter uses (see
    :mod:`tunecrate.core.service`); ``artist_key`` joins one key per credited name with ``|``.
    """

    index_id: str = Field(primary_key=True)
    item_id: str = Field(primary_key=True)
    title: str
    artists: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    album: str = ""
    album_artist: str = ""
    duration_ms: Optional[int] = None
    isrc: Optional[str] = None
    path: Optional[str] = Field(default=None, index=True)
    title_key: str = ""
    artist_key: str = ""


class ServiceIndexState(SQLModel, table=True):
    """What a cached index reflects: ``count`` tracks, the newest ``updatedAt`` seen (``updated_at``,
    epoch seconds), when it was last refreshed (``refreshed_at``, UTC) and the section's title."""

    index_id: str = Field(primary_key=True)
    section_title: str = ""
    count: int = 0
    updated_at: int = 0
    refreshed_at: datetime = Field(default_factory=utcnow)


class ServiceMatch(SQLModel, table=True):
    """The match of one song on one target, remembered across runs.

    ``target`` is the service's name (``"plex"``, ``"subsonic"``, ``"spotify"``, ``"m3u"``);
    ``song_id`` the song's track id where it came from (a Spotify track id, or an id of its own kind
    such as ``plex-<…>``). ``kind`` is one of :data:`MATCH_KINDS`: ``confirmed`` (the user chose
    ``item``), ``skipped`` ("don't sync this one": never asked again), ``auto`` (the matcher took
    ``item``), ``review`` (``candidates`` await the user), ``missing`` (nothing scored high enough).
    ``item`` and each of ``candidates`` are service tracks as JSON (with ``score`` and ``why`` for
    candidates); ``song`` is the song as JSON (:meth:`TrackInfo.to_json`), so that a review can show it
    even when it is not a library track.
    """

    target: str = Field(primary_key=True)
    song_id: str = Field(primary_key=True)
    kind: str = Field(index=True)
    song: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    item: Optional[dict] = Field(default=None, sa_column=Column(JSON, nullable=True))
    score: Optional[float] = None
    candidates: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    decided_at: datetime = Field(default_factory=utcnow)


#: Values of :attr:`ServiceMatch.kind`.
MATCH_KINDS = ("confirmed", "skipped", "auto", "review", "missing")
