"""What the library keeps for playlist services: cached indexes, remembered matches, the review queue.

:class:`ServiceStore`, a component of :class:`~tunecrate.library.library.Library`, is what a service
target sees of the library (:class:`~tunecrate.core.service.ServiceLibrary`): the library's files
(through the exporter), the remembered match of each song on each target, and a service's index
cached in the catalogue (:mod:`tunecrate.db.service_index`). It also records what a push or a transfer
decided and holds the per-target review queue (``tunecrate review --target plex``): songs whose best
candidate scored between the review and accept thresholds, and songs nothing was found for. A choice
made there (a candidate, or "don't sync this one") is remembered per (target, song) and used by every
later push or transfer; it is never asked again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from tunecrate.core.errors import InvalidReference, NotFound
from tunecrate.core.types import TrackInfo
from tunecrate.db.models import Track, TrackStatus, utcnow
from tunecrate.db.service_index import ServiceIndexState, ServiceMatch, ServiceTrack
from tunecrate.core.service import IndexState, Remembered, RemoteTrack

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from sqlalchemy.engine import Engine

    from tunecrate.library.exporter import Exporter

__all__ = ["ServiceReviewItem", "ServiceStore"]

#: Rows written per statement when an index is saved.
_BATCH = 500
#: Kinds of remembered match that wait in a target's review queue.
QUEUE_KINDS = ("review", "missing")


@dataclass(frozen=True)
class ServiceReviewItem:
    """A song waiting in a target's review queue.

    ``song`` is the song as its source described it; ``kind`` ``"review"`` (``candidates[0]`` is the
    suggestion) or ``"missing"`` (nothing scored high enough; ``candidates`` may still hold weaker
    ones); ``candidates`` are ``(track, score, why)``, best first; ``decided_at`` is ISO 8601 (UTC).
    """

    target: str
    song: TrackInfo
    kind: str
    candidates: tuple[tuple[RemoteTrack, float, str], ...]
    decided_at: str

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "song": self.song.to_json(), "kind": self.kind, "decided_at": self.decided_at,
                "candidates": [{**t.to_json(), "score": s, "why": why, "index": n}
                               for n, (t, s, why) in enumerate(self.candidates)]}


class _IndexStore:
    """One cached index (:class:`~tunecrate.core.service.ServiceIndex`) in the catalogue."""

    def __init__(self, engine: Engine, index_id: str) -> None:
        self.engine = engine
        self.index_id = index_id

    def state(self) -> IndexState | None:
        with Session(self.engine) as session:
            row = session.get(ServiceIndexState, self.index_id)
        return None if row is None else IndexState(row.count, row.updated_at, row.section_title)

    def tracks(self) -> list[tuple[RemoteTrack, str, str]]:
        # Plain rows: 50,000 ORM objects, or SQLAlchemy's JSON processing per row, would take seconds.
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT item_id, title, artists, album, album_artist, duration_ms, isrc, path, title_key, artist_key "
                "FROM servicetrack WHERE index_id = ?", (self.index_id,)).all()
        loads = json.loads
        return [(RemoteTrack(item, title, tuple(loads(artists)), album, album_artist, duration, isrc, path), tkey, akey)
                for item, title, artists, album, album_artist, duration, isrc, path, tkey, akey in rows]

    def save(self, tracks: Sequence[tuple[RemoteTrack, str, str]], state: IndexState, *, replace: bool) -> None:
        rows = [{"index_id": self.index_id, "item_id": t.item_id, "title": t.title, "artists": list(t.artists),
                 "album": t.album, "album_artist": t.album_artist, "duration_ms": t.duration_ms, "isrc": t.isrc,
                 "path": t.path, "title_key": title, "artist_key": artist} for t, title, artist in tracks]
        with self.engine.begin() as conn:
            if replace:
                conn.execute(delete(ServiceTrack).where(ServiceTrack.index_id == self.index_id))
            for start in range(0, len(rows), _BATCH):
                insert = sqlite_insert(ServiceTrack.__table__)
                insert = insert.on_conflict_do_update(
                    index_elements=["index_id", "item_id"],
                    set_={name: insert.excluded[name] for name in rows[0] if name not in ("index_id", "item_id")})
                conn.execute(insert, rows[start:start + _BATCH])
            insert = sqlite_insert(ServiceIndexState.__table__).values(
                index_id=self.index_id, section_title=state.section_title, count=state.count,
                updated_at=state.updated_at, refreshed_at=utcnow())
            conn.execute(insert.on_conflict_do_update(index_elements=["index_id"], set_={
                "section_title": state.section_title, "count": state.count, "updated_at": state.updated_at,
                "refreshed_at": utcnow()}))


def _item(doc: dict | None) -> RemoteTrack | None:
    try:
        return RemoteTrack.from_json(doc) if doc else None
    except (KeyError, TypeError):
        return None


def _candidates(docs: list) -> tuple[tuple[RemoteTrack, float, str], ...]:
    out = []
    for doc in docs or ():
        item = _item(doc)
        if item is not None:
            out.append((item, float(doc.get("score") or 0.0), str(doc.get("why") or "")))
    return tuple(out)


class ServiceStore:
    """The library as service targets see it (:class:`~tunecrate.core.service.ServiceLibrary`),
    and the remembered matches. ``writing`` is the library's write-lock context."""

    def __init__(self, engine: Engine, exporter: Exporter, writing: Callable[[], AbstractContextManager]) -> None:
        self.engine = engine
        self.exporter = exporter
        self._writing = writing

    # -- ServiceLibrary -----------------------------------------------------------------------------

    def path_of(self, track_id: str) -> Path | None:
        return self.exporter.path_of(track_id)

    def cover_of(self, playlist_id: str) -> Path | None:
        return self.exporter.cover_of(playlist_id)

    def remembered(self, target: str, song_ids: Sequence[str]) -> dict[str, Remembered]:
        found: dict[str, Remembered] = {}
        ids = list(song_ids)
        with Session(self.engine) as session:
            for start in range(0, len(ids), _BATCH):
                rows = session.exec(select(ServiceMatch).where(ServiceMatch.target == target,
                                                               ServiceMatch.song_id.in_(ids[start:start + _BATCH])))
                for row in rows:
                    found[row.song_id] = Remembered(row.kind, _item(row.item), row.score)
        return found

    def service_index(self, index_id: str) -> _IndexStore:
        return _IndexStore(self.engine, index_id)

    def library_tracks(self) -> list[tuple[TrackInfo, Path]]:
        with Session(self.engine) as session:
            rows = session.exec(select(Track).where(Track.status == TrackStatus.DOWNLOADED)).all()
        out = []
        for row in rows:
            path = self.exporter.path_of(row.track_id)
            if path is not None:
                out.append((row.info(), path))
        return out

    # -- remembering -----------------------------------------------------------------------------------

    def remember(self, target: str, decisions: Sequence[tuple[TrackInfo, Remembered, Sequence]]) -> None:
        """Record what a push or transfer decided per song (``(song, remembered, candidates)``, as
        :attr:`PlaylistPlan.decisions` gives them). A confirmed or skipped song is never overwritten by
        the matcher's own decision."""
        if not decisions:
            return
        with self._writing(), Session(self.engine) as session:
            for song, memory, candidates in decisions:
                row = session.get(ServiceMatch, (target, song.track_id))
                if row is not None and row.kind in ("confirmed", "skipped") and memory.kind not in ("confirmed",
                                                                                                    "skipped"):
                    continue
                row = row or ServiceMatch(target=target, song_id=song.track_id, kind=memory.kind)
                row.kind, row.song = memory.kind, song.to_json()
                row.item = memory.item.to_json() if memory.item is not None else None
                row.score = memory.score
                row.candidates = [{**t.to_json(), "score": round(s, 4), "why": why} for t, s, why in candidates]
                row.decided_at = utcnow()
                session.add(row)
            session.commit()

    # -- the review queue --------------------------------------------------------------------------

    def review_queue(self, target: str) -> list[ServiceReviewItem]:
        """The songs of ``target`` waiting for the user: held for review first, then missing ones; each
        group by artist, then title."""
        with Session(self.engine) as session:
            rows = session.exec(select(ServiceMatch).where(ServiceMatch.target == target,
                                                           ServiceMatch.kind.in_(QUEUE_KINDS))).all()
        items = [self._review_item(row) for row in rows]
        items.sort(key=lambda i: (i.kind != "review", [a.casefold() for a in i.song.artists], i.song.title.casefold(),
                                  i.song.track_id))
        return items

    def show(self, target: str, song_id: str) -> ServiceReviewItem:
        """One song's remembered match on ``target``. Raises :class:`NotFound`."""
        with Session(self.engine) as session:
            row = session.get(ServiceMatch, (target, song_id))
        if row is None:
            raise NotFound(f"nothing is remembered about {song_id} on {target}")
        return self._review_item(row)

    def _review_item(self, row: ServiceMatch) -> ServiceReviewItem:
        try:
            song = TrackInfo.from_json(row.song)
        except (KeyError, TypeError, ValueError):
            song = TrackInfo(row.song_id, row.song_id, ())
        return ServiceReviewItem(row.target, song, row.kind, _candidates(row.candidates),
                                 row.decided_at.isoformat() if row.decided_at else "")

    def confirm(self, target: str, song_id: str, candidate_index: int) -> RemoteTrack:
        """Take candidate number ``candidate_index`` (0-based, best first) for a song on ``target``;
        return it. Raises :class:`NotFound` and :class:`InvalidReference` for an index out of range."""
        item = self.show(target, song_id)
        if not 0 <= candidate_index < len(item.candidates):
            raise InvalidReference(f"no candidate #{candidate_index + 1} for {song_id} on {target}: "
                                   f"it has {len(item.candidates)}")
        chosen, score, _ = item.candidates[candidate_index]
        self.remember(target, [(item.song, Remembered("confirmed", chosen, score), item.candidates)])
        return chosen

    def skip(self, target: str, song_id: str) -> None:
        """"Don't sync this one": the song is never synced to ``target`` nor asked about again."""
        item = self.show(target, song_id)
        self.remember(target, [(item.song, Remembered("skipped"), item.candidates)])

    def forget(self, target: str, song_id: str) -> bool:
        """Forget what is remembered about a song on ``target`` (a "don't sync" too); whether there was something."""
        with self._writing(), Session(self.engine) as session:
            row = session.get(ServiceMatch, (target, song_id))
            if row is None:
                return False
            session.delete(row)
            session.commit()
            return True
