"""The per-track pipeline: resolve → fetch → encode → tag → place → record.

:class:`Pipeline` takes tracks whose metadata rows already exist and brings
each to a final status, concurrently. At most ``workers`` encodes run at once
(ffmpeg subprocesses, so threads keep every core busy), longest tracks first
(:class:`EncodeSlots`: the durations are known before any download, so the
last encode to finish is a short one); twice as many threads overlap the
downloads, tagging and fsyncs of other tracks with them. Each thread has its
own yt-dlp instance.

Per track:

1. *present*: a downloaded row whose file exists is never fetched again; a
   complete file left by an interrupted run (its tags name the track) is
   adopted instead of fetched;
2. *resolve*: a pinned source wins; a skipped track is left alone; otherwise
   a track that lacks its artists or duration (an export row) is first
   completed by ``complete`` (the sources that can, by its Spotify id; the
   row keeps what was filled), then the providers are searched in order and
   the matcher decides (accepted, held for review, or unresolved) — the best
   candidates are recorded;
3. *fetch*, under the one retry policy (:mod:`tunecrate.core.retry`); when a
   re-pinned track's fetched bytes equal those its file was made from (size
   and SHA-256, kept in its tags), the file is kept untouched and only the
   new source is recorded;
4. *encode* to ``tmp/`` with ffmpeg (a suitable MP3 of the user's own is
   copied instead), *tag* with mutagen (cover art included;
   a cover that fails to download only warns), *place* with fsync +
   ``os.replace``;
5. *record* the row: status, path, size, source and score, in one short
   transaction. A failure never replaces or removes a good file.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tunecrate.core.errors import DownloadError, ServiceError, TunecrateError
from tunecrate.core.matching import Thresholds, decide, explain
from tunecrate.core.retry import retry_call
from tunecrate.core.settings import Settings
from tunecrate.core.types import Candidate, Match, TrackInfo
from tunecrate.db.models import DecisionKind, MatchDecision, Track, TrackStatus, utcnow
from tunecrate.library.results import CANCELLED
from tunecrate.media.covers import CoverFetcher
from tunecrate.media.fetch import Fetcher, SourceDigest
from tunecrate.media.ytdlp import YtDlpFactory
from tunecrate.media.ffmpeg import encode_mp3, find_ffmpeg
from tunecrate.media.tagging import read_tags, write_tags
from tunecrate.providers.base import Provider
from tunecrate.providers.local import is_suitable_mp3
from tunecrate.storage.layout import Layout

#: How many candidates per track are kept for review and ``match show``.
KEPT_CANDIDATES = 5


@dataclass
class Outcome:
    """How one track ended. ``status`` is a :class:`TrackStatus` value or ``"present"``;
    :attr:`cancelled` is True when the user stopped the work before this track started."""

    track_id: str
    title: str
    status: str
    reason: str | None = None
    source: str | None = None
    provider: str | None = None
    score: float | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def cancelled(self) -> bool:
        return self.status == TrackStatus.PENDING and self.reason == CANCELLED


@dataclass(frozen=True)
class TrackEvent:
    """Progress event: ``stage`` is ``"queued"`` (every track, before work starts), ``"resolving"``,
    ``"fetching"``, ``"encoding"`` or ``"done"``."""

    track: TrackInfo
    stage: str
    outcome: Outcome | None = None


ProgressCallback = Callable[[TrackEvent], None]


def candidate_record(match: Match) -> dict:
    """A JSON-ready dict of a scored candidate (stored in MatchDecision.candidates)."""
    c = match.candidate
    return {
        "url": c.url, "title": c.title, "artist": c.artist, "duration_ms": c.duration_ms,
        "provider": c.provider, "isrc": c.isrc, "verified": c.verified, "album": c.album,
        "score": round(match.score.total, 4), "components": match.score.components,
        "rejected": match.score.rejected, "why": explain(match),
    }


class EncodeSlots:
    """At most ``slots`` encodes at once, handed out in the order of the tracks' ranks (0 first).

    The pipeline ranks tracks longest first, as the best schedule of the
    encodes has them: the first ``slots`` encodes go to the best-ranked
    tracks, even when a shorter one finishes downloading first (it waits
    for them to start, or to drop out); after that a free slot goes to the
    best-ranked track waiting for one. A track that will not be encoded
    (present, skipped, copied, failed, cancelled) calls :meth:`drop`, so that
    nothing waits for it.
    """

    def __init__(self, slots: int, ranks: int) -> None:
        self._cond = threading.Condition()
        self._free = slots
        self._first = slots  # encodes still to start in strict rank order
        self._pending = set(range(ranks))  # ranks neither started nor dropped
        self._waiting: set[int] = set()

    @contextmanager
    def slot(self, rank: int) -> Iterator[None]:
        """Hold an encode slot for the track of ``rank`` for as long as the block lasts."""
        with self._cond:
            self._waiting.add(rank)
            self._cond.wait_for(lambda: self._turn(rank))
            self._waiting.discard(rank)
            self._pending.discard(rank)
            self._free -= 1
            self._first = max(0, self._first - 1)
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._free += 1
                self._cond.notify_all()

    def _turn(self, rank: int) -> bool:
        if self._free <= 0:
            return False
        ahead = self._pending if self._first else self._waiting
        return rank == min(ahead, default=rank)

    def drop(self, rank: int) -> None:
        """The track of ``rank`` will not wait for a slot (again); a no-op once it has had one."""
        with self._cond:
            if rank in self._pending:
                self._pending.discard(rank)
                self._cond.notify_all()


class Pipeline:
    """Brings tracks to their final status. See the module docstring for the stages."""

    def __init__(
        self,
        settings: Settings,
        layout: Layout,
        engine: Engine,
        providers: Sequence[Provider],
        covers: CoverFetcher,
        ytdlp: YtDlpFactory | None = None,
        complete: Callable[[TrackInfo], TrackInfo] | None = None,
    ) -> None:
        self.settings = settings
        self._complete = complete
        self._ytdlp = ytdlp or YtDlpFactory.from_settings(settings)
        self.layout = layout
        self.engine = engine
        self._providers = list(providers)
        self._ffmpeg = find_ffmpeg(settings.ffmpeg)
        self.thresholds = Thresholds(accept=settings.accept_threshold, review=settings.review_threshold)
        self._local = threading.local()
        self._slots = EncodeSlots(settings.workers, 0)
        self._covers = covers
        self._fetchers: list[Fetcher] = []
        self._fetchers_lock = threading.Lock()

    def run(
        self,
        tracks: Sequence[TrackInfo],
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> dict[str, Outcome]:
        """Process each distinct track once; return outcomes by track id.

        Rows for the tracks must exist. The longest tracks start first (their
        durations are known before any download), so that the last encode to
        finish is a short one. ``cancel``, when set, stops workers from
        starting new tracks (tracks in flight finish or fail cleanly).
        """
        unique = sorted({t.track_id: t for t in tracks}.values(), key=lambda t: -t.duration_ms)
        outcomes: dict[str, Outcome] = {}
        notify = progress or (lambda event: None)
        self._slots = EncodeSlots(self.settings.workers, len(unique))

        def work(ranked: tuple[int, TrackInfo]) -> Outcome:
            rank, track = ranked
            try:
                if cancel is not None and cancel.is_set():
                    outcome = Outcome(track.track_id, track.title, TrackStatus.PENDING, CANCELLED)
                else:
                    outcome = self._process(track, rank, notify)
            finally:
                self._slots.drop(rank)
            notify(TrackEvent(track, "done", outcome))
            return outcome

        for track in unique:
            notify(TrackEvent(track, "queued"))
        try:
            # Twice as many threads as encode slots: while one track encodes, the
            # next is already downloading and the last is being tagged and fsynced.
            threads = max(1, min(2 * self.settings.workers, len(unique)))
            with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tunecrate") as pool:
                for outcome in pool.map(work, enumerate(unique)):
                    outcomes[outcome.track_id] = outcome
        finally:
            self.close()
        return outcomes

    def close(self) -> None:
        with self._fetchers_lock:
            for fetcher in self._fetchers:
                fetcher.close()
                shutil.rmtree(fetcher.work_dir, ignore_errors=True)
            self._fetchers.clear()

    # -- one track ---------------------------------------------------------------

    def _process(self, track: TrackInfo, rank: int, notify: ProgressCallback) -> Outcome:
        with Session(self.engine) as session:
            row = session.get(Track, track.track_id)
            decision = session.get(MatchDecision, track.track_id)
            row_status = row.status if row else None
            row_path = row.path if row else None
            row_source = row.source_url if row else None
            decision_kind = decision.kind if decision else None
            decision_source = decision.source if decision else None
            decision_provider = decision.provider if decision else None
            decision_score = decision.score if decision else None
        final = self.layout.track_path(track.track_id)

        repin = decision_kind == DecisionKind.PINNED and decision_source != row_source
        present = row_status == TrackStatus.DOWNLOADED and bool(row_path) and final.is_file()
        if present and not repin:
            return Outcome(track.track_id, track.title, "present")
        if decision_kind == DecisionKind.SKIPPED:
            outcome = Outcome(track.track_id, track.title, TrackStatus.SKIPPED, "marked \"don't download\"")
            self._record(track, outcome)
            return outcome
        adopted = self._adopt(track, final, decision_source if repin else None)
        if adopted is not None:
            return adopted

        try:
            notify(TrackEvent(track, "resolving"))
            if decision_kind == DecisionKind.PINNED and decision_source:
                chosen = Candidate(decision_source, track.title, track.artist, None, "pinned")
                score = None
            elif (decision_kind == DecisionKind.AUTO and decision_source
                  and decision_score is not None and decision_score >= self.thresholds.accept):
                chosen = Candidate(decision_source, track.title, track.artist, None, decision_provider or "auto")
                score = decision_score
            else:
                track = self._completed(track)
                resolved = self._resolve(track)
                if isinstance(resolved, Outcome):
                    self._record(track, resolved)
                    return resolved
                chosen, score = resolved
            outcome = self._fetch_and_place(track, rank, chosen, score, final, notify,
                                            keep=self._made_from(final) if present else None)
        except TunecrateError as exc:
            outcome = Outcome(track.track_id, track.title, TrackStatus.FAILED, str(exc))
        except OSError as exc:  # disk full, permissions: this track fails, the library stays whole
            outcome = Outcome(track.track_id, track.title, TrackStatus.FAILED,
                              f"file system error: {exc.strerror or exc}")
        self._record(track, outcome)
        return outcome

    def _adopt(self, track: TrackInfo, final: Path, want_source: str | None) -> Outcome | None:
        """Take over a complete file whose row was not updated (crash after placing it).

        With ``want_source``, only a file made from that source is taken over.
        """
        if not final.is_file():
            return None
        try:
            found = read_tags(final)
        except TunecrateError:
            found = None
        if found is None or found.track.track_id != track.track_id:
            return None
        if want_source is not None and found.source_url != want_source:
            return None
        outcome = Outcome(
            track.track_id, track.title, TrackStatus.DOWNLOADED,
            source=found.source_url, provider=found.source_provider, score=found.match_score,
        )
        self._record(track, outcome)
        return outcome

    def _completed(self, track: TrackInfo) -> TrackInfo:
        """``track`` with its artists and duration filled before a search, where it lacks them and a
        source can tell; what was filled is stored on its row (kept by later reads that lack it)."""
        if self._complete is None or not self._providers or (
                track.knows("artists") and track.knows("duration_ms") and track.duration_ms and track.artists):
            return track
        filled = self._complete(track)
        if filled != track:
            with Session(self.engine) as session:
                row = session.get(Track, track.track_id)
                if row is not None:
                    row.set_info(filled)
                    row.updated_at = utcnow()
                    session.add(row)
                    session.commit()
        return filled

    def _resolve(self, track: TrackInfo) -> tuple[Candidate, float] | Outcome:
        """Search the providers in order until the matcher accepts a candidate."""
        providers = self._providers
        if not providers:
            return Outcome(track.track_id, track.title, TrackStatus.UNRESOLVED,
                           "no provider configured and no pinned source (see `tunecrate match set`)")
        candidates: list[Candidate] = []
        errors: list[str] = []
        verdict = None
        for provider in providers:
            try:
                candidates.extend(self._retrying(lambda: provider.search(track)))
            except ServiceError as exc:
                errors.append(str(exc))
                continue
            verdict = decide(track, candidates, self.thresholds)
            if verdict.status == "accepted":
                break
        if verdict is None:
            return Outcome(track.track_id, track.title, TrackStatus.FAILED, "; ".join(errors))
        kept = [candidate_record(m) for m in verdict.ranked[:KEPT_CANDIDATES]]
        best = verdict.best
        self._record_decision(track.track_id, best, kept)
        if verdict.status == "accepted" and best is not None:
            return best.candidate, best.score.total
        if best is None:
            reason = "no candidate found" if not candidates else "every candidate was rejected"
            status = TrackStatus.UNRESOLVED
        else:
            status = TrackStatus.REVIEW if verdict.status == "review" else TrackStatus.UNRESOLVED
            reason = verdict.reason or (
                f"best candidate scored {best.score.total:.2f}, below {self.thresholds.accept:.2f} "
                f"({best.candidate.title!r} by {best.candidate.artist}); see `tunecrate match show`")
        if errors:
            reason += f" (provider errors: {'; '.join(errors)})"
        return Outcome(track.track_id, track.title, status, reason,
                       score=best.score.total if best else None)

    @staticmethod
    def _made_from(final: Path) -> SourceDigest | None:
        """The digest of the audio the library file ``final`` was made from, when its tags recorded it."""
        try:
            found = read_tags(final)
        except TunecrateError:
            return None
        return found.source_digest if found is not None else None

    def _fetch_and_place(
        self, track: TrackInfo, rank: int, chosen: Candidate, score: float | None, final: Path,
        notify: ProgressCallback, *, keep: SourceDigest | None = None,
    ) -> Outcome:
        """Fetch ``chosen``, encode, tag and place it at ``final``. When the fetched bytes equal ``keep``
        (the source the present file was made from), the file is left untouched (status ``present``)."""
        notify(TrackEvent(track, "fetching"))
        fetcher = self._fetcher()
        source_path, owned = self._retrying(lambda: fetcher.fetch(chosen.url))
        try:
            digest = SourceDigest.of(source_path)
        except BaseException:
            if owned:
                source_path.unlink(missing_ok=True)
            raise
        if keep is not None and digest == keep:
            if owned:
                source_path.unlink(missing_ok=True)
            return Outcome(track.track_id, track.title, "present", source=chosen.url, provider=chosen.provider,
                           score=score)
        warnings: list[str] = []
        tmp = self.layout.tmp_file(suffix=".mp3")
        try:
            if not owned and is_suitable_mp3(source_path):
                self._slots.drop(rank)
                shutil.copyfile(source_path, tmp)  # the user's own MP3 is good enough: no re-encode
            else:
                with self._slots.slot(rank):
                    notify(TrackEvent(track, "encoding"))
                    encode_mp3(self._ffmpeg, source_path, tmp, self.settings.audio_quality)
            cover = None
            if track.cover_url:
                try:
                    cover = self._covers.get(track.cover_url)
                except DownloadError as exc:
                    warnings.append(str(exc))
            write_tags(tmp, track, source_url=chosen.url, source_provider=chosen.provider,
                       match_score=score, cover=cover, source_digest=digest)
            self.layout.install(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
            if owned:
                source_path.unlink(missing_ok=True)
        return Outcome(track.track_id, track.title, TrackStatus.DOWNLOADED, source=chosen.url,
                       provider=chosen.provider, score=score, warnings=warnings)

    def _retrying(self, call):
        """Run ``call`` under the one retry policy, ``download_retries`` attempts in all."""
        return retry_call(call, attempts=self.settings.download_retries)

    def _fetcher(self) -> Fetcher:
        fetcher = getattr(self._local, "fetcher", None)
        if fetcher is None:
            work_dir = self.layout.tmp_dir_for("dl-")
            fetcher = self._local.fetcher = Fetcher(work_dir, ytdlp=self._ytdlp)
            with self._fetchers_lock:
                self._fetchers.append(fetcher)
        return fetcher

    # -- recording -------------------------------------------------------------

    def _record(self, track: TrackInfo, outcome: Outcome) -> None:
        """Write the outcome to the track's row. A good file is never un-recorded."""
        with Session(self.engine) as session:
            row = session.get(Track, track.track_id)
            if row is None:
                return
            if outcome.status in (TrackStatus.DOWNLOADED, "present"):  # present: the same file, a new source
                final = self.layout.track_path(track.track_id)
                row.status = TrackStatus.DOWNLOADED
                row.path = self.layout.track_relpath(track.track_id)
                row.size_bytes = final.stat().st_size
                row.source_url = outcome.source
                row.source_provider = outcome.provider
                row.match_score = outcome.score
                row.reason = "; ".join(outcome.warnings) or None
            elif row.status == TrackStatus.DOWNLOADED and self.layout.track_path(track.track_id).is_file():
                row.reason = outcome.reason
            else:
                row.status = outcome.status
                row.reason = outcome.reason
                row.path = None
                row.size_bytes = None
            row.updated_at = utcnow()
            session.add(row)
            session.commit()

    def _record_decision(self, track_id: str, best: Match | None, kept: list[dict]) -> None:
        with Session(self.engine) as session:
            decision = session.get(MatchDecision, track_id) or MatchDecision(track_id=track_id)
            if decision.kind != DecisionKind.AUTO:
                return
            decision.source = best.candidate.url if best else None
            decision.provider = best.candidate.provider if best else None
            decision.score = best.score.total if best else None
            decision.components = dict(best.score.components) if best else {}
            decision.candidates = kept
            decision.decided_at = utcnow()
            session.add(decision)
            session.commit()
