"""Match decisions: pins, skips, the review queue; :class:`Decisions`, a component of :class:`Library`.

A track the matcher could not settle on its own ends with status ``review``
(its best candidate scored between the review and accept thresholds) or
``unresolved`` (nothing scored high enough, or nothing was found). The
pipeline keeps its best candidates in :class:`MatchDecision.candidates` (the
shape of :func:`tunecrate.library.pipeline.candidate_record`). The user then
decides, one track at a time:

- :meth:`Decisions.accept`: take one of the candidates (it becomes a
  *pin*, so the next load or sync downloads it, and replaces the file if the
  track was downloaded from another source);
- :meth:`Decisions.pin`: take a URL or local file of their own (a pin too);
- :meth:`Decisions.skip`: "don't download"; the track is never asked
  about again until :meth:`Decisions.clear` forgets the decision.

Every decision is saved when it is made, so a review can stop at any moment
and resume with what is left (:meth:`Decisions.review_queue`).

Shapes
------

A *review item* (:meth:`~Decisions.review_queue`, :meth:`~Decisions.show`)
is a :class:`~tunecrate.library.results.ReviewItem`: the track's listing
record plus the playlists that list it, the decision's kind (``"pinned"``,
``"skipped"``, ``"auto"`` or ``None``), the current
:class:`~tunecrate.library.results.Choice` (for an ``auto`` decision its
``source`` is the matcher's suggestion) and the candidates, best first, as
:class:`~tunecrate.library.results.CandidateRecord` (``index`` is what
:meth:`~Decisions.accept` takes).

Durability: the user's own decisions (pins and skips) are also kept under the
storage root, so that ``load-local`` restores them after the catalogue is
lost. Each change appends one line to the journal ``decisions.log`` (its cost
does not grow with the library); when the journal has grown past
:data:`COMPACT_BYTES` and past ``decisions.json``, every pin and skip is
written to ``decisions.json`` (atomically) and the journal starts over. A
reader takes ``decisions.json`` and replays the journal over it; a crash
between the two steps of a compaction replays records that the new
``decisions.json`` already holds, which changes nothing. A pin the user
cleared is remembered as cleared (``decisions.json`` lists under ``cleared``
the tracks whose file came from a pin no longer held), so that a rebuild does
not pin it again from the file's tags.
"""


from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from tunecrate.core.errors import InvalidReference, NotFound, StorageError
from tunecrate.db.models import DecisionKind, MatchDecision, Track, TrackStatus, utcnow
from tunecrate.library.results import CandidateRecord, Choice, DecisionRecord, ReviewItem
from tunecrate.media.fetch import audio_container, file_source_path
from tunecrate.storage.atomic import append_line, read_lines

if TYPE_CHECKING:
    from tunecrate.library.catalogue import Catalogue

__all__ = ["QUEUE_STATUSES", "USER", "Decisions", "normalise_source"]

#: The ``provider`` of a decision the user made (``match set``, ``review``): their own pins.
USER = "pinned"

#: Track statuses that wait for the user's decision.
QUEUE_STATUSES = (TrackStatus.REVIEW, TrackStatus.UNRESOLVED)
#: Journal size (bytes) below which it is never folded into ``decisions.json``.
COMPACT_BYTES = 256 * 1024
#: The journal record of a decision forgotten with :meth:`Decisions.clear`.
CLEARED = "cleared"


def normalise_source(source: str) -> str:
    """A pinnable source: an absolute path to an existing local audio file, or an http(s) URL.

    A local file must start like an audio container (magic bytes, see
    :func:`~tunecrate.media.fetch.audio_container`; its name does not count).
    Raises :class:`InvalidReference` otherwise.
    """
    local = file_source_path(source)
    if local is not None:
        local = local.expanduser().absolute()
        if not local.is_file():
            raise InvalidReference(f"no such audio file: {local}")
        try:
            container = audio_container(local)
        except OSError as exc:
            raise InvalidReference(f"cannot read {local}: {exc.strerror or exc}") from exc
        if container is None:
            raise InvalidReference(f"not an audio file: {local} (it does not start like MP3, AAC, FLAC, Ogg, "
                                   "WAV, AIFF, WebM/Matroska, MP4/M4A or WMA)")
        return str(local)
    if not source.startswith(("http://", "https://")):
        raise InvalidReference(f"a source must be an http(s) URL or a local file path, not {source!r}")
    return source


class Decisions:
    """The user's and the matcher's decisions about each track's recording.

    ``writing`` is the library's write-lock context (every change takes it).
    """

    def __init__(self, catalogue: Catalogue, writing: Callable[[], AbstractContextManager]) -> None:
        self.catalogue = catalogue
        self.engine = catalogue.engine
        self._writing = writing

    @property
    def file(self) -> Path:
        """``storage_data/decisions.json``: the pins and skips as of the last compaction, for a rebuild."""
        return self.catalogue.layout.decisions_path

    @property
    def journal(self) -> Path:
        """``storage_data/decisions.log``: one JSON line per change since :attr:`file` was written."""
        return self.catalogue.layout.decisions_journal_path

    # -- reading ---------------------------------------------------------------------

    def list(self) -> list[DecisionRecord]:
        """Every recorded decision, pinned and skipped first (also those whose track left the library)."""
        with Session(self.engine) as session:
            pairs = session.exec(
                select(MatchDecision, Track).join(Track, Track.track_id == MatchDecision.track_id, isouter=True)
            ).all()
        order = {DecisionKind.PINNED: 0, DecisionKind.SKIPPED: 1, DecisionKind.AUTO: 2}
        pairs.sort(key=lambda p: (order.get(p[0].kind, 3), (p[1].title if p[1] else "").casefold()))
        return [_decision_record(d, t) for d, t in pairs]

    def review_queue(self) -> list[ReviewItem]:
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
            playlists = self.catalogue.playlists_of(session, [t.track_id for t, _ in pairs])
        pairs.sort(key=lambda p: (p[0].status != TrackStatus.REVIEW, [a.casefold() for a in p[0].artists],
                                  p[0].title.casefold(), p[0].track_id))
        return [self._review_item(t.track_id, t, d, playlists.get(t.track_id, [])) for t, d in pairs]

    def show(self, track_id: str) -> ReviewItem:
        """One track as a review item: its fields, playlists, current choice and candidates.

        Works for a track that left the library but whose decision is
        remembered (its ``status`` is then ``"not in library"``). Raises
        :class:`NotFound` when neither a track nor a decision is known.
        """
        with Session(self.engine) as session:
            row = session.get(Track, track_id)
            decision = session.get(MatchDecision, track_id)
            if row is None and decision is None:
                raise NotFound(f"no track {track_id} in the library and no decision about it "
                               "(see `tunecrate tracks` and `tunecrate match list`)")
            playlists = self.catalogue.playlists_of(session, [track_id])
        return self._review_item(track_id, row, decision, playlists.get(track_id, []))

    # -- deciding ----------------------------------------------------------------------

    def pin(self, track_id: str, source: str, *, by: str = USER) -> DecisionRecord:
        """Pin ``source`` (a URL yt-dlp can download, or a local audio file) for a track.

        The pin wins over search; the track need not be in the library yet. A
        track already downloaded from another source is fetched again on its
        next load or sync, and its file replaced atomically (unless the new
        source's bytes are those the file was made from). ``by`` says who
        pinned it: :data:`USER`, or a program's name (the demo pins as
        ``"demo"``); it is kept as the decision's ``provider``. Raises
        :class:`InvalidReference` for a source that is neither an http(s) URL
        nor an existing file.
        """
        source = normalise_source(source)
        with self._writing(), Session(self.engine) as session:
            decision = session.get(MatchDecision, track_id) or MatchDecision(track_id=track_id)
            decision.kind, decision.source, decision.provider = DecisionKind.PINNED, source, by
            decision.score, decision.decided_at = None, utcnow()
            session.add(decision)
            row = session.get(Track, track_id)
            if row is not None and row.status != TrackStatus.DOWNLOADED:
                row.status, row.reason = TrackStatus.PENDING, None
                session.add(row)
            session.commit()
            self._journal(decision)
            return _decision_record(decision, row)

    def skip(self, track_id: str) -> DecisionRecord:
        """Mark a track "don't download": it is never fetched nor asked about again.

        The decision (kind ``skipped``) outlives the track's removal and
        applies if it comes back; its candidates are kept so that a later
        :meth:`accept` still works. :meth:`clear` forgets it. A track already
        downloaded keeps its file. Raises :class:`LibraryBusy` while another
        process writes.
        """
        with self._writing(), Session(self.engine) as session:
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
            self._journal(decision)
            return _decision_record(decision, row)

    def accept(self, track_id: str, candidate_index: int = 0) -> DecisionRecord:
        """Pin the track to its candidate number ``candidate_index`` (0-based, best first).

        Raises :class:`NotFound` when the track has no candidates and
        :class:`InvalidReference` for an index out of range (or a local
        candidate file that no longer exists).
        """
        item = self.show(track_id)
        if not item.candidates:
            raise NotFound(f"no candidates recorded for {track_id}; pin a source with "
                           "`tunecrate match set TRACK SOURCE`")
        if not 0 <= candidate_index < len(item.candidates):
            raise InvalidReference(f"no candidate #{candidate_index + 1} for {track_id}: "
                                   f"it has {len(item.candidates)} (see `tunecrate match show`)")
        return self.pin(track_id, item.candidates[candidate_index].url)

    def clear(self, track_id: str) -> bool:
        """Forget the decision about a track (pinned or skipped); return whether there was one."""
        with self._writing(), Session(self.engine) as session:
            decision = session.get(MatchDecision, track_id)
            if decision is None:
                return False
            session.delete(decision)
            row = session.get(Track, track_id)
            if row is not None and row.status in (TrackStatus.SKIPPED, TrackStatus.REVIEW, TrackStatus.UNRESOLVED):
                row.status, row.reason = TrackStatus.PENDING, None
                session.add(row)
            session.commit()
            self._journal(MatchDecision(track_id=track_id, kind=CLEARED))
            return True

    # -- durability ----------------------------------------------------------------------

    def _journal(self, decision: MatchDecision) -> None:
        """Append one change (a decision as now made, or one of kind :data:`CLEARED`) to :attr:`journal`;
        compact when it has grown (see the module docstring)."""
        size = append_line(self.journal, json.dumps(_saved_record(decision), ensure_ascii=False).encode("utf-8"))
        try:
            snapshot = self.file.stat().st_size
        except OSError:
            snapshot = 0
        if size > max(COMPACT_BYTES, snapshot):
            self.compact()

    def compact(self) -> None:
        """Write every pin and skip to :attr:`file` (atomically, through ``tmp/``), then empty the journal.

        The file also lists as ``cleared`` the tracks whose file was made from a pin (its tags say
        ``pinned``) that the user has since cleared.
        """
        with Session(self.engine) as session:
            rows = session.exec(select(MatchDecision).where(MatchDecision.kind != DecisionKind.AUTO)
                                .order_by(MatchDecision.track_id)).all()
            decided = select(MatchDecision.track_id).where(MatchDecision.kind != DecisionKind.AUTO)
            cleared = session.exec(select(Track.track_id).where(
                Track.source_provider == USER, Track.track_id.not_in(decided)).order_by(Track.track_id)).all()
        doc = {"format": 1, "decisions": [_saved_record(d) for d in rows], "cleared": list(cleared)}
        layout = self.catalogue.layout
        layout.write_json(self.file, doc)
        layout.remove(self.journal)

    def saved(self) -> list[dict]:
        """The pins and skips kept under the storage root: :attr:`file` with :attr:`journal` replayed over it.

        Dicts of ``track_id``, ``kind`` (``pinned`` or ``skipped``), ``source``,
        ``provider`` (who pinned it) and ``decided_at``, by track id. An
        unreadable file or record counts as absent.
        """
        decisions, _ = self._replay()
        return [decisions[t] for t in sorted(decisions)]

    def cleared(self) -> set[str]:
        """The track ids whose decision was cleared and not made again, as kept under the storage root
        (those of :attr:`journal`, and those :meth:`compact` found with a file made from a cleared pin)."""
        return self._replay()[1]

    def _replay(self) -> tuple[dict[str, dict], set[str]]:
        try:
            doc = json.loads(self.file.read_text("utf-8"))
            decisions = {d["track_id"]: d for d in doc.get("decisions", []) if isinstance(d, dict) and "track_id" in d}
            cleared = {t for t in doc.get("cleared", []) if isinstance(t, str)} - set(decisions)
        except (OSError, ValueError, AttributeError, TypeError):
            decisions, cleared = {}, set()
        try:
            lines = read_lines(self.journal)
        except StorageError:
            lines = []
        for line in lines:
            try:
                record = json.loads(line)
                track_id, kind = record["track_id"], record["kind"]
            except (ValueError, TypeError, KeyError):
                continue
            if kind == CLEARED:
                decisions.pop(track_id, None)
                cleared.add(track_id)
            else:
                decisions[track_id] = record
                cleared.discard(track_id)
        return decisions, cleared

    # -- shapes --------------------------------------------------------------------------

    def _review_item(self, track_id: str, row: Track | None, decision: MatchDecision | None,
                     playlists: list) -> ReviewItem:
        if row is not None:
            base = self.catalogue.record(row)
            fields = {k: getattr(base, k) for k in base.__dataclass_fields__}
        else:
            fields = dict(track_id=track_id, title=None, artists=(), album="", album_artists=(), isrc=None,
                          duration_ms=0, path=None, size_bytes=None, status="not in library", reason=None,
                          source_url=None, source_provider=None, match_score=None)
        choice = None if decision is None else Choice(
            kind=decision.kind, source=decision.source, provider=decision.provider, score=decision.score,
            decided_at=decision.decided_at.isoformat() if decision.decided_at else None)
        chosen = decision.source if decision else None
        records = sorted(decision.candidates if decision else [],
                         key=lambda c: (bool(c.get("rejected")), -(c.get("score") or 0.0)))
        track_ms = fields["duration_ms"] or 0
        candidates = []
        for index, record in enumerate(records):
            delta = (record.get("components") or {}).get("duration_delta_s")
            if delta is None and record.get("duration_ms") is not None and track_ms:
                delta = round((record["duration_ms"] - track_ms) / 1000, 1)
            candidates.append(CandidateRecord(
                url=record.get("url", ""), title=record.get("title", ""), artist=record.get("artist", ""),
                duration_ms=record.get("duration_ms"), provider=record.get("provider", ""),
                isrc=record.get("isrc"), verified=bool(record.get("verified")), album=record.get("album"),
                score=float(record.get("score") or 0.0), components=dict(record.get("components") or {}),
                rejected=record.get("rejected"), why=record.get("why", ""), index=index,
                duration_delta_s=delta, chosen=chosen is not None and record.get("url") == chosen))
        return ReviewItem(**fields, playlists=tuple(playlists), decision=decision.kind if decision else None,
                          choice=choice, candidates=tuple(candidates),
                          missing=tuple(sorted(row.missing or ())) if row is not None else ())


def _saved_record(d: MatchDecision) -> dict:
    """A decision as ``decisions.json`` and its journal keep it."""
    return {"track_id": d.track_id, "kind": d.kind, "source": d.source, "provider": d.provider,
            "decided_at": d.decided_at.isoformat() if d.decided_at else None}


def _decision_record(decision: MatchDecision, row: Track | None) -> DecisionRecord:
    return DecisionRecord(
        track_id=decision.track_id, title=row.title if row else None, artists=tuple(row.artists) if row else (),
        decision=decision.kind, source=decision.source, provider=decision.provider, score=decision.score,
        status=row.status if row else "not in library")
