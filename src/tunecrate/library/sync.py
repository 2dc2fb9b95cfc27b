"""The sync engine: loads and syncs track lists from the metadata sources, with their plans.

:class:`SyncEngine` reads a list through the :mod:`tunecrate.sources`
registry (it never names a service), fetches what is missing through the
pipeline, records the new entries in one transaction, then prunes what
nothing wants. The order protects the user's files:

1. a list whose snapshot is unchanged and whose files are all present costs
   one :meth:`~tunecrate.sources.base.Source.snapshot` call and nothing else;
2. added tracks are fetched first; a track that fails keeps its place with
   its status and reason, and the next sync retries it;
3. the playlist document, then its rows, are written in one transaction;
4. only then are tracks that nothing lists (and that the user did not add
   directly) removed, rows first, files after. A list the source saw only in
   part (``TrackList.complete`` False) keeps every entry it could not see,
   and nothing is pruned.

Plans. A plan compares two ordered lists of track ids (a track may appear more than
once). Entries are matched as a multiset: ``added`` and ``removed`` count the
entries that appear more (or less) often remotely; ``kept`` counts the rest.
A kept entry has ``moved`` when it is not part of the longest run of entries
that kept their relative order (computed with :mod:`difflib`), so inserting a
track at the top moves nothing.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Sequence

from tunecrate.core.errors import TunecrateError
from tunecrate.core.ids import LIKES, Reference, is_spotify_id
from tunecrate.core.types import TrackInfo, TrackList
from tunecrate.db.models import TrackStatus
from tunecrate.library.results import Failure, LoadReport

if TYPE_CHECKING:
    from tunecrate.library.catalogue import Catalogue, LocalPlaylist
    from tunecrate.library.jobs import Jobs
    from tunecrate.library.pipeline import Outcome, ProgressCallback
    from tunecrate.sources import SourceRegistry

#: ``run(tracks, progress, cancel)`` → outcomes by track id: the pipeline, as the engine sees it.
RunPipeline = Callable[[Sequence[TrackInfo], "ProgressCallback | None", "threading.Event | None"],
                       "dict[str, Outcome]"]


@dataclass(frozen=True)
class PlanEntry:
    """One entry of a plan: ``index`` is its 0-based position among usable entries."""

    track_id: str
    title: str
    index: int


@dataclass
class SyncPlan:
    """What a sync will do to one playlist.

    ``added``/``removed``/``moved`` list entries; ``kept`` is a count.
    ``fetch`` lists the track ids that will be downloaded (added or not yet
    present); ``prune`` the track ids whose rows and files go afterwards
    because nothing else wants them.
    """

    playlist_id: str
    title: str
    old_snapshot: str | None
    new_snapshot: str | None
    added: list[PlanEntry] = field(default_factory=list)
    removed: list[PlanEntry] = field(default_factory=list)
    moved: list[PlanEntry] = field(default_factory=list)
    kept: int = 0
    fetch: list[str] = field(default_factory=list)
    prune: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        def entries(items: list[PlanEntry]) -> list[dict]:
            return [{"track_id": e.track_id, "title": e.title, "index": e.index} for e in items]

        return {
            "playlist_id": self.playlist_id, "title": self.title,
            "old_snapshot": self.old_snapshot, "new_snapshot": self.new_snapshot,
            "added": entries(self.added), "removed": entries(self.removed), "moved": entries(self.moved),
            "kept": self.kept, "fetch": list(self.fetch), "prune": list(self.prune),
        }


def diff_entries(
    old: Sequence[tuple[str, str]], new: Sequence[tuple[str, str]]
) -> tuple[list[PlanEntry], list[PlanEntry], list[PlanEntry], int]:
    """Compare ordered ``(track_id, title)`` lists; return ``(added, removed, moved, kept)``.

    Indices of ``added``/``moved`` refer to ``new``; those of ``removed`` to ``old``.
    """
    old_ids = [t for t, _ in old]
    new_ids = [t for t, _ in new]
    kept_new, added = _covered(new, Counter(old_ids))
    kept_old, removed = _covered(old, Counter(new_ids))

    kept_old_ids = [old_ids[i] for i in kept_old]
    kept_new_ids = [new_ids[i] for i in kept_new]
    in_order = [False] * len(kept_new_ids)
    matcher = SequenceMatcher(a=kept_old_ids, b=kept_new_ids, autojunk=False)
    for block in matcher.get_matching_blocks():
        for j in range(block.b, block.b + block.size):
            in_order[j] = True
    moved = [PlanEntry(new_ids[kept_new[j]], new[kept_new[j]][1], kept_new[j])
             for j, ok in enumerate(in_order) if not ok]
    return added, removed, moved, len(kept_new)


def _covered(entries: Sequence[tuple[str, str]], available: Counter) -> tuple[list[int], list[PlanEntry]]:
    """Split ``entries`` into the indices covered by ``available`` occurrences of their track
    (earliest first) and the entries beyond them."""
    budget = dict(available)
    covered: list[int] = []
    beyond: list[PlanEntry] = []
    for i, (track_id, title) in enumerate(entries):
        if budget.get(track_id, 0) > 0:
            budget[track_id] -= 1
            covered.append(i)
        else:
            beyond.append(PlanEntry(track_id, title, i))
    return covered, beyond


def stored_reference(playlist_id: str) -> Reference:
    """The reference a sync reads a stored playlist by (its remembered source decides how)."""
    if playlist_id == LIKES:
        return Reference("likes", LIKES, "spotify", LIKES)
    return Reference("playlist", playlist_id, "spotify" if is_spotify_id(playlist_id) else "library", playlist_id)


class SyncEngine:
    """Loads and syncs lists (see the module docstring). A component of :class:`~tunecrate.library.Library`.

    ``run`` is the pipeline; ``writing`` the library's write-lock context;
    ``jobs`` records each load and sync in the Job table.
    """

    def __init__(self, catalogue: Catalogue, sources: SourceRegistry, run: RunPipeline,
                 writing: Callable[[], AbstractContextManager], jobs: Jobs) -> None:
        self.catalogue = catalogue
        self.sources = sources
        self._run = run
        self._writing = writing
        self.jobs = jobs

    # -- reading a list ------------------------------------------------------------------

    def read(self, ref: Reference, prefer: str | None = None) -> TrackList:
        """The list ``ref`` names, from the first suitable source that may read it.

        A source that is refused in a way another may get past (an error with
        ``fallback``, see :class:`~tunecrate.sources.base.SourceRefused`) hands
        over to the next, and the list's ``warnings`` say so in one line.
        """
        candidates = self.sources.for_reference(ref, prefer)
        notes: list[str] = []
        for position, source in enumerate(candidates):
            try:
                tracks = source.fetch(ref)
            except TunecrateError as exc:
                if getattr(exc, "fallback", False) and position + 1 < len(candidates):
                    notes.append(f"{exc}; reading it through {candidates[position + 1].name} instead")
                    continue
                raise
            return replace(tracks, source=tracks.source or source.name, warnings=(*notes, *tracks.warnings))
        raise AssertionError("unreachable")

    def snapshot(self, ref: Reference, source_name: str | None) -> str | None:
        """The list's current snapshot from the source it was loaded from."""
        sources = self.sources.for_reference(ref, source_name)
        return sources[0].snapshot(ref)

    # -- loading -------------------------------------------------------------------------

    def load(self, ref: Reference, *, progress=None, cancel=None, keep_orphans: bool = False,
             source: str | None = None) -> LoadReport:
        """Load a track or an album (kept as added directly), or mirror a playlist or Liked Songs."""
        if ref.kind in ("playlist", "likes"):
            return self._sync(ref, progress, cancel, dry_run=False, keep_orphans=keep_orphans,
                              short_circuit=False, source=source)
        tracks = self.read(ref, source)
        with self._writing():
            job = self.jobs.start(f"{tracks.kind}_load", tracks.id)
            self.catalogue.upsert_tracks(tracks.entries, added_directly=True)
            outcomes = self._run(self.catalogue.needing_fetch(tracks.entries), progress, cancel)
            report = self._report(tracks, outcomes)
            self.jobs.finish(job, report)
            return report

    def sync(self, playlist_id: str, *, dry_run: bool = False, keep_orphans: bool = False, progress=None,
             cancel=None, source: str | None = None) -> LoadReport:
        """Bring one stored playlist (or ``likes``) in step with its source (see the module docstring)."""
        return self._sync(stored_reference(playlist_id), progress, cancel, dry_run=dry_run,
                          keep_orphans=keep_orphans, short_circuit=True, source=source)

    def sync_all(self, *, dry_run: bool = False, keep_orphans: bool = False, progress=None, cancel=None,
                 ) -> list[tuple[str, LoadReport | TunecrateError]]:
        """Sync every playlist of the library; a failing playlist does not stop the others.

        Returns ``(playlist_id, report or error)`` pairs.
        """
        results: list[tuple[str, LoadReport | TunecrateError]] = []
        for playlist_id in self.catalogue.playlist_ids():
            if cancel is not None and cancel.is_set():
                break
            try:
                results.append((playlist_id, self.sync(playlist_id, dry_run=dry_run, keep_orphans=keep_orphans,
                                                       progress=progress, cancel=cancel)))
            except TunecrateError as exc:
                results.append((playlist_id, exc))
        return results

    # -- internals -----------------------------------------------------------------------

    def _sync(self, ref: Reference, progress, cancel, *, dry_run: bool, keep_orphans: bool,
              short_circuit: bool, source: str | None) -> LoadReport:
        local = self.catalogue.local_playlist(ref.id)
        prefer = source or (local.source if local is not None else None)
        if short_circuit and local is not None and local.snapshot_id and local.all_present:
            if self.snapshot(ref, prefer) == local.snapshot_id:
                plan = SyncPlan(ref.id, local.title, local.snapshot_id, local.snapshot_id, kept=len(local.entries))
                report = LoadReport(kind=local.kind, id=ref.id, title=local.title, track_count=len(local.entries),
                                    plan=plan, up_to_date=True, dry_run=dry_run, source=local.source)
                report.counts["present"] = len({t for t, _ in local.entries})
                return report
        tracks = self.read(ref, prefer)
        if not tracks.complete and local is not None:
            tracks = self._with_unseen(tracks, local)
        if dry_run:
            report = LoadReport(kind=tracks.kind, id=tracks.id, title=tracks.title, track_count=len(tracks.entries),
                                skipped_entries=list(tracks.skipped), dry_run=True, source=tracks.source,
                                warnings=list(tracks.warnings),
                                plan=self._plan(tracks, local, self.catalogue.needing_fetch(tracks.entries)))
            return report
        with self._writing():
            job = self.jobs.start(f"{tracks.kind}_{'sync' if short_circuit else 'load'}", tracks.id)
            self.catalogue.upsert_tracks(tracks.entries)
            todo = self.catalogue.needing_fetch(tracks.entries)  # under the lock: what really needs fetching now
            plan = self._plan(tracks, local, todo)
            outcomes = self._run(todo, progress, cancel) if todo else {}
            self.catalogue.write_playlist(tracks)
            pruned = [] if keep_orphans or not tracks.complete else self.catalogue.prune(plan.prune)
            report = self._report(tracks, outcomes)
            report.plan, report.pruned = plan, pruned
            self.jobs.finish(job, report)
            return report

    def _with_unseen(self, tracks: TrackList, local: LocalPlaylist) -> TrackList:
        """``tracks`` (a partial view) followed by the stored entries it could not see."""
        seen = {t.track_id for t in tracks.entries}
        unseen = [track_id for track_id, _ in local.entries if track_id not in seen]
        rows = {track_id: self.catalogue.track_row(track_id) for track_id in dict.fromkeys(unseen)}
        kept = tuple(rows[t].info() for t in unseen if rows.get(t) is not None)
        return replace(tracks, entries=(*tracks.entries, *kept))

    def _plan(self, tracks: TrackList, local: LocalPlaylist | None, fetch: Sequence[TrackInfo]) -> SyncPlan:
        old = local.entries if local is not None else []
        new = [(t.track_id, t.title) for t in tracks.entries]
        added, removed, moved, kept = diff_entries(old, new)
        plan = SyncPlan(tracks.id, tracks.title, local.snapshot_id if local else None, tracks.snapshot,
                        added=added, removed=removed, moved=moved, kept=kept)
        plan.fetch = [t.track_id for t in fetch]
        if tracks.complete:
            plan.prune = self.catalogue.orphans_after({e.track_id for e in removed} - {t for t, _ in new}, tracks.id)
        return plan

    @staticmethod
    def _report(tracks: TrackList, outcomes: dict[str, Outcome]) -> LoadReport:
        report = LoadReport(kind=tracks.kind, id=tracks.id, title=tracks.title, track_count=len(tracks.entries),
                            skipped_entries=list(tracks.skipped), warnings=list(tracks.warnings),
                            source=tracks.source)
        report.counts["present"] = len({t.track_id for t in tracks.entries} - set(outcomes))
        for outcome in outcomes.values():
            key = outcome.status if outcome.status in report.counts else "failed"
            if outcome.status == TrackStatus.PENDING:
                key = "failed"
            report.counts[key] += 1
            report.cancelled |= outcome.cancelled
            report.warnings.extend(f"{outcome.title}: {w}" for w in outcome.warnings)
            if outcome.status not in ("downloaded", "present"):
                report.failures.append(Failure(outcome.track_id, outcome.title, outcome.status, outcome.reason or ""))
        return report
