"""Reviewing matches and rewriting tags: :class:`ReviewMixin`, methods of :class:`Library`.

A track the matcher could not settle on its own ends with status ``review``
(its best candidate scored between the review and accept thresholds) or
``unresolved`` (nothing scored high enough, or nothing was found). The
pipeline keeps its best candidates in :class:`MatchDecision.candidates` (the
shape of :func:`tunecrate.library.pipeline.candidate_record`). The user then
decides, one track at a time:

- :meth:`ReviewMixin.match_accept`: take one of the candidates (it becomes a
  *pin*, so the next load or sync downloads it, and replaces the file if the
  track was downloaded from another source);
- :meth:`Library.match_set`: take a URL or local file of their own (a pin too);
- :meth:`ReviewMixin.match_skip`: "don't download"; the track is never asked
  about again until :meth:`Library.match_clear` forgets the decision.

Every decision is saved when it is made, so a review can stop at any moment
and resume with what is left (:meth:`ReviewMixin.review_queue`).

:meth:`ReviewMixin.retag` rewrites the tags of downloaded files from the
catalogue without fetching audio.

Shapes
------

A *review item* (:meth:`~ReviewMixin.review_queue`, :meth:`~ReviewMixin.match_show`)
is the track's listing dict (``tunecrate tracks --json``: ``track_id``,
``title``, ``artists``, ``album``, ``duration_ms`` (ms), ``isrc``, ``status``,
``reason``, ``path``, ``source_url``, …) plus:

``playlists``
    ``[{"playlist_id", "title"}]``, the playlists that list the track;
``decision``
    the decision's kind, ``"pinned"``, ``"skipped"``, ``"auto"``, or ``None``;
``choice``
    the current choice, or ``None``: ``{"kind", "source", "provider",
    "score", "decided_at"}``; for an ``auto`` decision ``source`` is the
    matcher's best candidate (the suggestion), for ``pinned`` the pinned URL
    or path, for ``skipped`` ``None``;
``candidates``
    best first, each a :func:`~tunecrate.library.pipeline.candidate_record`
    dict (``url``, ``title``, ``artist``, ``duration_ms``, ``provider``,
    ``isrc``, ``verified``, ``album``, ``score``, ``components``,
    ``rejected``, ``why``) plus ``index`` (0-based, what
    :meth:`~ReviewMixin.match_accept` takes), ``duration_delta_s``
    (candidate minus track in seconds, ``None`` when unknown) and ``chosen``
    (whether it is the current choice's source).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlmodel import Session, select

from tunecrate.core.errors import DownloadError, InvalidReference, NotFound
from tunecrate.db.models import DecisionKind, MatchDecision, Playlist, PlaylistEntry, Track, TrackStatus, utcnow

#: Track statuses that wait for the user's decision.
QUEUE_STATUSES = (TrackStatus.REVIEW, TrackStatus.UNRESOLVED)

#: Seconds to wait for a cover image during :meth:`ReviewMixin.retag` before keeping the embedded one.
COVER_TIMEOUT_S = 5.0


class ReviewMixin:
    """``review_queue``, ``match_show``, ``match_accept``, ``match_skip`` and ``retag`` for :class:`Library`.

    Needs the Library's ``engine``, ``layout``, ``writing()``, ``match_set``,
    ``resolve_track_id`` and ``_decision_json``.
    """

    # -- reading ---------------------------------------------------------------------

    def review_queue(self) -> list[dict]:
        """The tracks awaiting the user's decision, as review items (see the module docstring).

        These are the tracks with status ``review`` or ``unresolved`` and no
        pinned or skipped decision: never skipped ones, never downloaded ones.
        Tracks held for review come first (they have a likely candidate),
        then unresolved ones; each group by artist, then title.
        """
        with Session(self.engine) as session:
            pairs = session.exec(
                select(Track, MatchDecision)
                .join(MatchDecision, MatchDecision.track_id == Track.track_id, isouter=True)
                .where(Track.status.in_(QUEUE_STATUSES))
            ).all()
            pairs = [(t, d) for t, d in pairs if d is None or d.kind == DecisionKind.AUTO]
            playlists = self._playlists_of(session, [t.track_id for t, _ in pairs])
        pairs.sort(key=lambda p: (p[0].status != TrackStatus.REVIEW, [a.casefold() for a in p[0].artists],
                                  p[0].title.casefold(), p[0].track_id))
        return [self._review_item(t, d, playlists.get(t.track_id, [])) for t, d in pairs]

    def match_show(self, track_ref: str) -> dict:
        """One track as a review item: its fields, playlists, current choice and candidates.

        Works for a track that left the library but whose decision is
        remembered (its ``status`` is then ``"not in library"``). Raises
        :class:`InvalidReference` for a malformed reference and
        :class:`NotFound` when neither a track nor a decision is known.
        """
        track_id = self.resolve_track_id(track_ref)
        with Session(self.engine) as session:
            row = session.get(Track, track_id)
            decision = session.get(MatchDecision, track_id)
            if row is None and decision is None:
                raise NotFound(f"no track {track_id} in the library and no decision about it "
                               "(see `tunecrate tracks` and `tunecrate match list`)")
            playlists = self._playlists_of(session, [track_id])
        return self._review_item(row, decision, playlists.get(track_id, []), track_id=track_id)

    # -- deciding ----------------------------------------------------------------------

    def match_accept(self, track_ref: str, candidate_index: int = 0) -> dict:
        """Pin the track to its candidate number ``candidate_index`` (0-based, best first).

        The candidate's URL (or local path) becomes a pin, exactly as
        :meth:`Library.match_set` makes one: the next load or sync downloads
        it, and replaces the file of a track downloaded from another source.
        Returns the decision as ``match list`` shows it. Raises
        :class:`NotFound` when the track has no candidates and
        :class:`InvalidReference` for an index out of range (or a local
        candidate file that no longer exists).
        """
        item = self.match_show(track_ref)
        candidates = item["candidates"]
        if not candidates:
            raise NotFound(f"no candidates recorded for {item['track_id']}; pin a source with "
                           "`tunecrate match set TRACK SOURCE`")
        if not 0 <= candidate_index < len(candidates):
            raise InvalidReference(f"no candidate #{candidate_index + 1} for {item['track_id']}: "
                                   f"it has {len(candidates)} (see `tunecrate match show`)")
        return self.match_set(item["track_id"], candidates[candidate_index]["url"])

    def match_skip(self, track_ref: str) -> dict:
        """Mark a track "don't download": it is never fetched nor asked about again.

        The decision (kind ``skipped``) outlives the track's removal and
        applies if it comes back; its candidates are kept so that a later
        :meth:`match_accept` still works. :meth:`Library.match_clear` forgets
        it and the track is searched again on the next load or sync. A track
        already downloaded keeps its file. Returns the decision as ``match
        list`` shows it. Raises :class:`InvalidReference` for a malformed
        reference and :class:`LibraryBusy` while another process writes.
        """
        track_id = self.resolve_track_id(track_ref)
        with self.writing(), Session(self.engine) as session:
            decision = session.get(MatchDecision, track_id) or MatchDecision(track_id=track_id)
            decision.kind, decision.source, decision.provider = DecisionKind.SKIPPED, None, None
            decision.score, decision.decided_at = None, utcnow()
            session.add(decision)
            row = session.get(Track, track_id)
            if row is not None and row.status != TrackStatus.DOWNLOADED:
                row.status, row.reason = TrackStatus.SKIPPED, "marked \"don't download\""
                row.path, row.size_bytes, row.updated_at = None, None, utcnow()
                session.add(row)
            session.commit()
            return self._decision_json(decision, row)

    # -- retagging ---------------------------------------------------------------------

    def retag(self, track_ref: str | None = None, *, fetch_covers: bool = True) -> int:
        """Rewrite the ID3 tags of one downloaded track (``track_ref``) or of all (``None``)
        from the catalogue, without fetching audio; return how many files were rewritten.

        The audio frames are copied unchanged. Each file is rewritten as a copy
        under ``tmp/`` and then atomically renamed over the original, so a crash
        leaves the old file or the new one; ``Track.size_bytes`` is updated.
        The cover is downloaded from the track's ``cover_url`` (once per URL,
        :data:`COVER_TIMEOUT_S` s) unless ``fetch_covers`` is False; when it
        cannot be, the cover already embedded in the file is kept. Takes the
        write lock. Raises :class:`NotFound` when ``track_ref`` names a track
        that is not in the library or has no file, :class:`TaggingError` or
        :class:`StorageError` when a file cannot be rewritten.
        """
        from tunecrate.library.library import file_present, track_info
        from tunecrate.library.pipeline import CoverCache
        from tunecrate.services.tagging import write_tags

        track_id = self.resolve_track_id(track_ref) if track_ref is not None else None
        covers = CoverCache(timeout_s=COVER_TIMEOUT_S)
        count = 0
        try:
            with self.writing():
                with Session(self.engine) as session:
                    if track_id is None:
                        rows = session.exec(select(Track).where(Track.status == TrackStatus.DOWNLOADED)
                                            .order_by(Track.track_id)).all()
                    else:
                        row = session.get(Track, track_id)
                        if row is None:
                            raise NotFound(f"no track {track_id} in the library (see `tunecrate tracks`)")
                        if not file_present(self.layout, row.status, row.path):
                            raise NotFound(f"track {track_id} ({row.title}) has no file to retag "
                                           f"(status {row.status})")
                        rows = [row]
                for row in rows:
                    final = self.layout.track_path(row.track_id)
                    if not final.is_file():
                        continue
                    cover = None
                    if fetch_covers and row.cover_url:
                        try:
                            cover = covers.get(row.cover_url)
                        except DownloadError:
                            cover = None
                    if cover is None:
                        cover = embedded_cover(final)
                    tmp = self.layout.tmp_file(suffix=".mp3")
                    try:
                        shutil.copyfile(final, tmp)
                        write_tags(tmp, track_info(row), source_url=row.source_url,
                                   source_provider=row.source_provider, match_score=row.match_score, cover=cover)
                        size = self.layout.install(tmp, final)
                    finally:
                        tmp.unlink(missing_ok=True)
                    with Session(self.engine) as session:
                        stored = session.get(Track, row.track_id)
                        stored.size_bytes, stored.updated_at = size, utcnow()
                        session.add(stored)
                        session.commit()
                    count += 1
        finally:
            covers.close()
        return count

    # -- helpers -----------------------------------------------------------------------

    @staticmethod
    def _playlists_of(session: Session, track_ids: list[str]) -> dict[str, list[dict]]:
        """``{track_id: [{"playlist_id", "title"}]}`` for the playlists listing each track."""
        found: dict[str, list[dict]] = {}
        if not track_ids:
            return found
        rows = session.exec(
            select(PlaylistEntry.track_id, Playlist.playlist_id, Playlist.title)
            .join(Playlist, Playlist.playlist_id == PlaylistEntry.playlist_id)
            .where(PlaylistEntry.track_id.in_(track_ids)).distinct()
            .order_by(Playlist.title)
        ).all()
        for track_id, playlist_id, title in rows:
            found.setdefault(track_id, []).append({"playlist_id": playlist_id, "title": title})
        return found

    def _review_item(self, row: Track | None, decision: MatchDecision | None, playlists: list[dict],
                     track_id: str | None = None) -> dict:
        from tunecrate.library.library import track_json

        if row is not None:
            item = track_json(row, self.layout)
        else:
            item = {"track_id": track_id, "title": None, "artists": [], "album": "", "album_artists": [],
                    "isrc": None, "duration_ms": 0, "path": None, "size_bytes": None,
                    "status": "not in library", "reason": None, "source_url": None,
                    "source_provider": None, "match_score": None}
        item["playlists"] = playlists
        item["decision"] = decision.kind if decision else None
        item["choice"] = None if decision is None else {
            "kind": decision.kind, "source": decision.source, "provider": decision.provider,
            "score": decision.score, "decided_at": decision.decided_at.isoformat() if decision.decided_at else None,
        }
        chosen = decision.source if decision else None
        records = sorted(decision.candidates if decision else [],
                         key=lambda c: (bool(c.get("rejected")), -(c.get("score") or 0.0)))
        track_ms = item["duration_ms"] or 0
        candidates = []
        for index, record in enumerate(records):
            delta = (record.get("components") or {}).get("duration_delta_s")
            if delta is None and record.get("duration_ms") is not None and track_ms:
                delta = round((record["duration_ms"] - track_ms) / 1000, 1)
            candidates.append({**record, "index": index, "duration_delta_s": delta,
                               "chosen": chosen is not None and record.get("url") == chosen})
        item["candidates"] = candidates
        return item


def embedded_cover(path: Path):
    """The front cover (or else the first picture) embedded in the MP3 at ``path``, or ``None``.

    Returns a :class:`tunecrate.services.tagging.Cover`. Never raises for an
    unreadable tag: a file without a readable picture has no cover.
    """
    from mutagen import MutagenError
    from mutagen.id3 import ID3, ID3NoHeaderError

    from tunecrate.services.tagging import Cover, sniff_image_mime

    try:
        pictures = ID3(path).getall("APIC")
    except (ID3NoHeaderError, MutagenError, OSError):
        return None
    if not pictures:
        return None
    picture = next((p for p in pictures if p.type == 3), pictures[0])
    mime = sniff_image_mime(picture.data) or picture.mime or "image/jpeg"
    return Cover(bytes(picture.data), mime)


__all__ = ["COVER_TIMEOUT_S", "QUEUE_STATUSES", "ReviewMixin", "embedded_cover"]
