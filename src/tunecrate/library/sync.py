"""Sync plans: what changes between a playlist in the library and its remote state.

A plan compares two ordered lists of track ids (a track may appear more than
once). Entries are matched as a multiset: ``added`` and ``removed`` count the
entries that appear more (or less) often remotely; ``kept`` counts the rest.
A kept entry has ``moved`` when it is not part of the longest run of entries
that kept their relative order (computed with :mod:`difflib`), so inserting a
track at the top moves nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Sequence


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
