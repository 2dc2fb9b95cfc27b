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
4. the list's cover is stored in the library (when it is not stored yet, or
   changed), so that exports work offline; a cover that cannot be fetched
   is a warning;
5. only then are tracks that nothing lists (and that the user did not add
   directly) removed, rows first, files after. A list the source saw only in
   part (``TrackList.complete`` False) keeps every entry it could not see,
   and nothing is pruned.

Liked Songs are guarded against a read that lost them (a scraper that saw
nothing deletes every file, as synciflow's does): a read of ``likes``, from
any source, is refused with one line, before anything changes (a dry run
too), when the library's ``likes`` holds entries and the read holds

- no entry at all, or
- fewer than ``likes_min_kept`` (``TUNECRATE_LIKES_MIN_KEPT``, default 0.5)
  of them *and* more than :data:`LIKES_DROP_SLACK` fewer, so that a short
  list may still lose a few songs.

``likes_min_kept = 0`` turns the guard off, for the run after the user really
removed that many songs.

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
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from tunecrate.core.errors import InvalidFile, InvalidReference, NotFound, ServiceError, TunecrateError
from tunecrate.core.ids import LIKES, Reference, stored_reference
from tunecrate.core.settings import SettingsModel, setting
from tunecrate.core.types import TrackInfo, TrackList
from tunecrate.db.models import TrackStatus
from tunecrate.library.results import Failure, ImportReport, LoadReport

if TYPE_CHECKING:
    from tunecrate.library.catalogue import Catalogue, LocalPlaylist
    from tunecrate.library.jobs import Jobs
    from tunecrate.library.pipeline import Outcome, ProgressCallback
    from tunecrate.sources import SourceRegistry
    from tunecrate.sources.base import CollectionSource

#: A read of Liked Songs may always lose this many entries, whatever ``likes_min_kept`` says.
LIKES_DROP_SLACK = 10


class SyncSettings(SettingsModel):
    """How the sync engine guards the user's files."""

    likes_min_kept: float = setting(0.5, env="TUNECRATE_LIKES_MIN_KEPT", ge=0.0, le=1.0,
                                    help="a read of Liked Songs holding less than this fraction of the last one "
                                         "(and over 10 fewer), or none, is refused; 0 turns the check off")


def check_likes_read(tracks: TrackList, held: int, min_kept: float) -> None:
    """Refuse a read of Liked Songs that looks broken (see the module docstring).

    ``held`` is the number of entries the library's ``likes`` holds. Raises
    :class:`ServiceError` with one line that says what to do.
    """
    read = len(tracks.entries)
    if held == 0 or min_kept <= 0 or read >= held:
        return
    if read == 0 or (read < min_kept * held and held - read > LIKES_DROP_SLACK):
        source = tracks.source or "the source"
        raise ServiceError(
            f"refused to sync likes: {source} read {read} of the {held} Liked Songs the library holds, "
            "which looks like a failed read; nothing was changed (if you really removed them, run again "
            "with TUNECRATE_LIKES_MIN_KEPT=0)")


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


def _distinct(tracks: Sequence[TrackInfo]) -> list[TrackInfo]:
    return list({t.track_id: t for t in tracks}.values())


def _keep_listed(pairs: Sequence[tuple[TrackList, LocalPlaylist | None]], plans: Sequence[SyncPlan]) -> None:
    """Drop from each plan's ``prune`` the tracks another list of the same run will list."""
    listed = {t.track_id for tracks, _ in pairs for t in tracks.entries}
    for plan in plans:
        plan.prune = [t for t in plan.prune if t not in listed]


def _union(pairs: Sequence[tuple[TrackList, LocalPlaylist | None]]) -> TrackList:
    """Every entry of the lists of ``pairs`` as one list (for counts over distinct tracks)."""
    return TrackList(kind="import", id="import", title="import",
                     entries=tuple(t for tracks, _ in pairs for t in tracks.entries))


class SyncEngine:
    """Loads and syncs lists (see the module docstring). A component of :class:`~tunecrate.library.Library`.

    ``run`` is the pipeline; ``writing`` the library's write-lock context;
    ``jobs`` records each load and sync in the Job table; ``likes_min_kept``
    guards Liked Songs (:func:`check_likes_read`); ``keep_cover(playlist_id)``
    stores a list's cover in the library when it is missing, and returns a
    warning when it cannot; ``prepare``, when given, is called as a load or
    sync starts reading a list it may fetch tracks for, so that the pipeline
    gets ready while the source answers.
    """

    def __init__(self, catalogue: Catalogue, sources: SourceRegistry, run: RunPipeline,
                 writing: Callable[[], AbstractContextManager], jobs: Jobs, *, likes_min_kept: float = 0.5,
                 keep_cover: Callable[[str], str | None] | None = None,
                 prepare: Callable[[], None] | None = None) -> None:
        self.catalogue = catalogue
        self.sources = sources
        self._run = run
        self._writing = writing
        self.jobs = jobs
        self.likes_min_kept = likes_min_kept
        self._keep_cover = keep_cover or (lambda playlist_id: None)
        self._prepare = prepare or (lambda: None)

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
        """The list's current snapshot from the source it was loaded from (the first suitable one).

        ``None`` when that source is refused in a way another may get past:
        the :meth:`read` that follows then falls back, and says so.
        """
        sources = self.sources.for_reference(ref, source_name)
        try:
            return sources[0].snapshot(ref)
        except TunecrateError as exc:
            if getattr(exc, "fallback", False) and len(sources) > 1:
                return None
            raise

    # -- loading -------------------------------------------------------------------------

    def load(self, ref: Reference, *, progress=None, cancel=None, keep_orphans: bool = False,
             source: str | None = None) -> LoadReport:
        """Load a track or an album (kept as added directly), or mirror a playlist or Liked Songs."""
        if ref.kind in ("playlist", "likes"):
            return self._sync(ref, progress, cancel, dry_run=False, keep_orphans=keep_orphans,
                              short_circuit=False, source=source)
        self._prepare()
        tracks = self.read(ref, source)
        with self._writing():
            job = self.jobs.start(f"{tracks.kind}_load", tracks.id)
            stored = self.catalogue.upsert_tracks(tracks.entries, added_directly=True)
            outcomes = self._run(self.catalogue.needing_fetch([stored[t.track_id] for t in tracks.entries]),
                                 progress, cancel)
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

        A list that its source cannot read again (one imported from an
        export file) is left as it is, with a report whose warning says how
        to update it. Returns ``(playlist_id, report or error)`` pairs.
        """
        results: list[tuple[str, LoadReport | TunecrateError]] = []
        for playlist_id in self.catalogue.playlist_ids():
            if cancel is not None and cancel.is_set():
                break
            local = self.catalogue.local_playlist(playlist_id)
            hint = self._cannot_reread(stored_reference(playlist_id), local) if local is not None else None
            if hint is not None:
                report = LoadReport(kind=local.kind, id=playlist_id, title=local.title,
                                    track_count=len(local.entries), dry_run=dry_run, source=local.source,
                                    warnings=[hint], plan=SyncPlan(playlist_id, local.title, local.snapshot_id,
                                                                   local.snapshot_id, kept=len(local.entries)))
                results.append((playlist_id, report))
                continue
            try:
                results.append((playlist_id, self.sync(playlist_id, dry_run=dry_run, keep_orphans=keep_orphans,
                                                       progress=progress, cancel=cancel)))
            except TunecrateError as exc:
                results.append((playlist_id, exc))
        return results

    def import_lists(self, ref: Reference, *, dry_run: bool = False, keep_orphans: bool = False, progress=None,
                     cancel=None) -> ImportReport:
        """Read every list of the file ``ref`` names (:func:`~tunecrate.core.ids.file_reference`) and
        bring each into the library as a sync would, in one job.

        The file is read in full before anything changes, so a malformed one
        (:class:`~tunecrate.core.errors.InvalidFile`) changes nothing. A list
        whose snapshot and source are those the library holds, with every
        file present, is up to date and costs nothing. The others: their
        tracks are recorded, every track that any of them needs is fetched
        in one pipeline run, then each list's entries are written (one
        transaction each), then what none of them wants any more is pruned
        (unless ``keep_orphans``). ``dry_run`` returns the plans and changes
        nothing. Raises :class:`~tunecrate.core.errors.InvalidFile` when no
        source reads the file, :class:`~tunecrate.core.errors.NotFound` when
        it does not exist.
        """
        source = self._collection_source(ref)
        lists = list(source.lists(ref))
        if not lists:
            raise InvalidFile(f"{ref.text} holds no playlist and no liked songs")
        ids = Counter(t.id for t in lists)
        if max(ids.values()) > 1:
            raise InvalidFile(f"{ref.text} holds two lists with the id {ids.most_common(1)[0][0]}")
        pairs = []
        reports: dict[str, LoadReport] = {}
        for tracks in lists:
            local = self.catalogue.local_playlist(tracks.id)
            if (local is not None and local.all_present and local.snapshot_id == tracks.snapshot
                    and local.source == tracks.source):
                reports[tracks.id] = self._up_to_date(tracks.id, local, dry_run)
                continue
            if local is not None and local.source and local.source != tracks.source:
                tracks = replace(tracks, warnings=(*tracks.warnings, (
                    f"{local.title} was read through {local.source} until now; it now follows {ref.text}")))
            pairs.append((tracks, local))
        outcomes: dict[str, Outcome] = {}
        if pairs:
            applied, outcomes = self._apply(pairs, progress, cancel, dry_run=dry_run, keep_orphans=keep_orphans,
                                            job=("import", ref.text))
            reports.update((r.id, r) for r in applied)
        every = [(tracks, None) for tracks in lists]
        result = ImportReport(path=ref.text, source=source.name, lists=[reports[t.id] for t in lists],
                              dry_run=dry_run, tracks=len(_distinct(_union(every).entries)),
                              counts=self._report(_union(every), outcomes).counts)
        if dry_run:
            result.counts = dict.fromkeys(result.counts, 0)
            result.fetch = len({t for r in result.lists for t in r.plan.fetch})
        if len(lists) > 1:
            gone = [p for p in self.catalogue.playlists() if p.source == source.name and p.playlist_id not in ids]
            if gone:
                result.warnings.append(
                    f"{len(gone)} list(s) read from an earlier {source.name} import are not in this one (renamed "
                    f"or deleted on Spotify?): " + ", ".join(f"{p.title} ({p.playlist_id})" for p in gone)
                    + "; `tunecrate delete-playlist ID` removes one")
        return result

    # -- internals -----------------------------------------------------------------------

    def _collection_source(self, ref: Reference) -> CollectionSource:
        if not Path(ref.id).expanduser().exists():
            raise NotFound(f"no file or folder {ref.text!r}")
        try:
            found = [s for s in self.sources.for_reference(ref) if callable(getattr(s, "lists", None))]
        except InvalidReference:
            found = []
        if not found:
            raise InvalidFile(f"{ref.text} is neither a Spotify account-data export (a folder or ZIP holding "
                              "Playlist1.json or YourLibrary.json) nor an Exportify CSV (a .csv file, or a "
                              "folder or ZIP of them)")
        return found[0]

    def _cannot_reread(self, ref: Reference, local: LocalPlaylist) -> str | None:
        """What to do instead, when the source ``local`` was read from cannot read it again (a file)."""
        if not local.source or local.source not in self.sources.names():
            return None
        source = self.sources.get(local.source)
        hint = getattr(source, "refresh_hint", None)
        if hint is None or source.suitable(ref):
            return None
        what = getattr(source, "description", source.name)
        return f"{local.title} ({ref.id}) came from {what}, which tunecrate cannot read again by itself; {hint}"

    def _up_to_date(self, playlist_id: str, local: LocalPlaylist, dry_run: bool) -> LoadReport:
        plan = SyncPlan(playlist_id, local.title, local.snapshot_id, local.snapshot_id, kept=len(local.entries))
        report = LoadReport(kind=local.kind, id=playlist_id, title=local.title, track_count=len(local.entries),
                            plan=plan, up_to_date=True, dry_run=dry_run, source=local.source)
        report.counts["present"] = len({t for t, _ in local.entries})
        warning = None if dry_run else self._keep_cover(playlist_id)
        if warning:
            report.warnings.append(warning)
        return report

    def _sync(self, ref: Reference, progress, cancel, *, dry_run: bool, keep_orphans: bool,
              short_circuit: bool, source: str | None) -> LoadReport:
        local = self.catalogue.local_playlist(ref.id)
        if short_circuit and source is None and local is not None:
            hint = self._cannot_reread(ref, local)
            if hint is not None:
                raise InvalidReference(hint)
        prefer = source or (local.source if local is not None else None)
        if short_circuit and local is not None and local.snapshot_id and local.all_present:
            if self.snapshot(ref, prefer) == local.snapshot_id:
                return self._up_to_date(ref.id, local, dry_run)
        if not dry_run:
            self._prepare()
        tracks = self.read(ref, prefer)
        if tracks.id == LIKES and local is not None:
            check_likes_read(tracks, len(local.entries), self.likes_min_kept)
        if not tracks.complete and local is not None:
            tracks = self._with_unseen(tracks, local)
        job = (f"{tracks.kind}_{'sync' if short_circuit else 'load'}", tracks.id)
        reports, _ = self._apply([(tracks, local)], progress, cancel, dry_run=dry_run, keep_orphans=keep_orphans,
                                 job=job)
        return reports[0]

    def _apply(self, pairs: Sequence[tuple[TrackList, LocalPlaylist | None]], progress, cancel, *,
               dry_run: bool, keep_orphans: bool, job: tuple[str, str],
               ) -> tuple[list[LoadReport], dict[str, Outcome]]:
        """Bring each list of ``pairs`` (with what the library holds of it) into the library: one
        job, one pipeline run for the tracks any of them needs. Returns a report per list and the
        pipeline's outcomes by track id."""
        if dry_run:
            reports = []
            for tracks, local in pairs:
                reports.append(LoadReport(
                    kind=tracks.kind, id=tracks.id, title=tracks.title, track_count=len(tracks.entries),
                    skipped_entries=list(tracks.skipped), dry_run=True, source=tracks.source,
                    warnings=list(tracks.warnings),
                    plan=self._plan(tracks, local, self.catalogue.needing_fetch(tracks.entries))))
            _keep_listed(pairs, [r.plan for r in reports])
            return reports, {}
        with self._writing():
            job_id = self.jobs.start(*job)
            stored = self.catalogue.upsert_tracks([t for tracks, _ in pairs for t in tracks.entries])
            pairs = [(replace(tracks, entries=tuple(stored[t.track_id] for t in tracks.entries)), local)
                     for tracks, local in pairs]
            # Under the lock: what really needs fetching now.
            todo = self.catalogue.needing_fetch([t for tracks, _ in pairs for t in tracks.entries])
            wanted = {t.track_id for t in todo}
            plans = [self._plan(tracks, local, [t for t in _distinct(tracks.entries) if t.track_id in wanted])
                     for tracks, local in pairs]
            _keep_listed(pairs, plans)
            outcomes = self._run(todo, progress, cancel) if todo else {}
            for tracks, _ in pairs:
                self.catalogue.write_playlist(tracks)
            cover_warnings = {tracks.id: self._keep_cover(tracks.id) for tracks, _ in pairs}
            prunable = sorted({t for (tracks, _), plan in zip(pairs, plans) if tracks.complete for t in plan.prune})
            pruned = set() if keep_orphans else set(self.catalogue.prune(prunable))
            reports = []
            for (tracks, _), plan in zip(pairs, plans):
                ids = {t.track_id for t in tracks.entries}
                report = self._report(tracks, {k: v for k, v in outcomes.items() if k in ids})
                if cover_warnings[tracks.id]:
                    report.warnings.append(cover_warnings[tracks.id])
                report.plan, report.pruned = plan, [t for t in plan.prune if t in pruned]
                reports.append(report)
            self.jobs.finish(job_id, reports[0] if len(reports) == 1 else self._report(_union(pairs), outcomes))
            return reports, outcomes

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
