"""Asking the user about songs on a playlist service: a transfer's step 2, and ``review --target``.

Both show one song at a time with its candidates on the service (title, artist, album, time, score and
why) and read one key:

=========  =================================================================================
Enter, a   accept the suggestion (the best candidate)
1-9        pick that candidate
s          don't sync this one: remembered for this service, never asked again
n          decide later (the song waits in ``tunecrate review --target``)
b          back to the previous song (review only)
q          stop asking (a transfer then goes on as with ``--yes``)
=========  =================================================================================

Every choice is remembered per (service, song) when it is made (review) or when the transfer writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tunecrate.core.errors import TunecrateError
from tunecrate.core.text import format_duration, track_label
from tunecrate.core.types import TrackInfo
from tunecrate.core.service import RemoteTrack

#: The keys, printed under each song (a transfer has no "back").
TRANSFER_KEYS = "keys: Enter/a accept · 1-9 pick · s don't sync this one · n later · q stop asking (the rest as --yes)"
REVIEW_KEYS = "keys: a accept · 1-9 pick · s don't sync this one · n next (Enter) · b back · q quit"
TRANSFER_PROMPT = "[a/1-9/s/n/q] > "
REVIEW_PROMPT = "[a/1-9/s/n/b/q] > "
#: Candidates shown (and pickable with 1-9).
SHOWN = 9


def render_song(console: Console, song: TrackInfo, candidates: Sequence[tuple[RemoteTrack, float, str]], *,
                header: str, status: str, keys: str, suggested: str | None = None) -> None:
    """Print one song: a rule with ``header``, the song, its candidates (``*`` marks ``suggested``, an
    item id), ``status`` and the ``keys``."""
    console.print()
    console.rule(escape(header))
    console.print(f"[bold]{escape(song.title)}[/bold] — {escape(song.artist or '?')}")
    details = [f"album: {song.album}" if song.album else None,
               f"time: {format_duration(song.duration_ms, '?')}", f"isrc: {song.isrc}" if song.isrc else None,
               f"id: {song.track_id}"]
    console.print(escape("  ".join(d for d in details if d)))
    if candidates:
        table = Table(pad_edge=False)
        for column, justify in (("#", "right"), ("Title", "left"), ("Artist", "left"), ("Album", "left"),
                                ("Time (Δ s)", "right"), ("Score", "right"), ("Why", "left")):
            table.add_column(column, justify=justify, overflow="fold")
        for n, (track, score, why) in enumerate(candidates[:SHOWN], 1):
            delta = ""
            if track.duration_ms and song.duration_ms:
                delta = f" ({(track.duration_ms - song.duration_ms) / 1000:+.0f})"
            mark = "*" if suggested is not None and track.item_id == suggested else ""
            table.add_row(f"{mark}{n}", escape(track.title), escape(track.artist), escape(track.album),
                          format_duration(track.duration_ms, "?") + delta, f"{score:.2f}", escape(why))
        console.print(table)
    else:
        console.print("no candidates found")
    console.print(escape(status))
    console.print(keys, style="dim")


# -- a transfer's step 2 ---------------------------------------------------------------------------


@dataclass
class SettleSummary:
    """What the user decided in a transfer's step 2: ``chosen`` (accepted or picked), ``skipped``
    ("don't sync"), ``later`` and, when the user stopped (``stopped``), ``left`` (taken as with ``--yes``)."""

    chosen: int = 0
    skipped: int = 0
    later: int = 0
    left: int = 0
    stopped: bool = False
    decisions: dict[int, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"chosen": self.chosen, "skipped": self.skipped, "later": self.later, "left": self.left,
                "stopped": self.stopped}


def settle_transfer(transfer, console: Console, *, input_fn: Callable[[str], str] | None = None) -> SettleSummary:
    """Ask about each unsettled song of a :class:`~tunecrate.library.transfers.TransferPlan` (only on
    FROM, not settled before); change its plan accordingly. EOF or Ctrl-C stops asking like ``q``."""
    ask = input_fn or (lambda prompt: console.input(escape(prompt)))
    plan = transfer.plan
    summary = SettleSummary()
    queue = transfer.unsettled()
    target = plan.target
    for n, entry in enumerate(queue, 1):
        suggested = entry.item.item_id if entry.item is not None and entry.status in ("matched", "review") else None
        if entry.status == "matched":
            status = f"suggested: {track_label(entry.item.artists, entry.item.title)} ({entry.score:.2f}, taken by --yes)"
        elif entry.status == "review":
            status = f"suggested: {track_label(entry.item.artists, entry.item.title)} ({entry.score:.2f}, not sure)"
        else:
            status = "nothing scored high enough; pick a candidate, or s / n"
        while True:
            render_song(console, entry.track, entry.candidates, header=f"{n}/{len(queue)}  only on FROM → {target}",
                        status=status, keys=TRANSFER_KEYS, suggested=suggested)
            try:
                answer = ask(TRANSFER_PROMPT).strip().lower()
            except (EOFError, KeyboardInterrupt):
                console.print()
                answer = "q"
            if answer in ("", "a"):
                if suggested is None:
                    console.print("no suggestion to accept: pick a number, s or n")
                    continue
                plan.choose(entry.position, entry.item)
                summary.chosen += 1
            elif answer.isdigit() and answer != "0" and len(answer) == 1:
                index = int(answer) - 1
                if index >= min(len(entry.candidates), SHOWN):
                    console.print(f"there is no candidate {answer}")
                    continue
                plan.choose(entry.position, entry.candidates[index][0])
                summary.chosen += 1
            elif answer == "s":
                plan.skip(entry.position)
                summary.skipped += 1
                console.print(f"don't sync: remembered, not asked again for {target}")
            elif answer == "n":
                plan.defer(entry.position)
                summary.later += 1
            elif answer == "q":
                summary.stopped = True
                summary.left = len(queue) - n + 1
                return summary
            else:
                console.print(escape(f"unknown key {answer!r}; {TRANSFER_KEYS}"))
                continue
            summary.decisions[entry.position] = answer or "a"
            break
    return summary


# -- review --target ---------------------------------------------------------------------------------


@dataclass
class TargetReviewSummary:
    """What a ``review --target`` session decided: counts, songs ``remaining`` afterwards, ``quit``."""

    target: str
    accepted: int = 0
    skipped: int = 0
    remaining: int = 0
    quit: bool = False

    def to_json(self) -> dict:
        return {"target": self.target, "accepted": self.accepted, "skipped": self.skipped,
                "remaining": self.remaining, "quit": self.quit}


def run_target_review(lib, target: str, console: Console, *,
                      input_fn: Callable[[str], str] | None = None) -> TargetReviewSummary:
    """Walk through ``lib.target_review_queue(target)``; each decision is saved at once."""
    ask = input_fn or (lambda prompt: console.input(escape(prompt)))
    summary = TargetReviewSummary(target)
    queue = [item.song.track_id for item in lib.target_review_queue(target)]
    if not queue:
        console.print(f"nothing to review for {target}")
        return summary
    console.print(f"{len(queue)} song(s) to review for {target}; decisions are saved as you make them")
    position = 0
    while position < len(queue):
        try:
            item = lib.target_show(target, queue[position])
        except TunecrateError:
            position += 1
            continue
        best = item.candidates[0][0].item_id if item.candidates and item.kind == "review" else None
        status = {"review": "held for review: the best candidate is not sure",
                  "missing": "nothing scored high enough",
                  "confirmed": "decided: confirmed", "skipped": "decided: don't sync"}.get(item.kind, item.kind)
        render_song(console, item.song, item.candidates, header=f"{position + 1}/{len(queue)}  {target}",
                    status=status, keys=REVIEW_KEYS, suggested=best)
        try:
            answer = ask(REVIEW_PROMPT).strip().lower()
        except (EOFError, KeyboardInterrupt):
            console.print()
            summary.quit = True
            break
        try:
            if answer in ("", "n"):
                position += 1
            elif answer == "q":
                summary.quit = True
                break
            elif answer == "b":
                position = max(0, position - 1)
            elif answer == "a" or (answer.isdigit() and len(answer) == 1 and answer != "0"):
                index = 0 if answer == "a" else int(answer) - 1
                if not item.candidates or index >= min(len(item.candidates), SHOWN):
                    console.print("no such candidate" if item.candidates else "no candidate to accept: s or n")
                    continue
                chosen = lib.target_confirm(target, item.song.track_id, index)
                console.print(escape(f"confirmed: {track_label(chosen.artists, chosen.title)}"))
                summary.accepted += 1
                position += 1
            elif answer == "s":
                lib.target_skip(target, item.song.track_id)
                console.print("don't sync: remembered")
                summary.skipped += 1
                position += 1
            else:
                console.print(escape(f"unknown key {answer!r}; {REVIEW_KEYS}"))
        except TunecrateError as exc:
            console.print(escape(f"error: {exc}"), style="red")
    summary.remaining = len(lib.target_review_queue(target))
    done = f"accepted={summary.accepted} skipped={summary.skipped}; {summary.remaining} song(s) left"
    console.print(("stopped: " if summary.quit else "review done: ") + done)
    if summary.accepted:
        console.print(f"the next push or transfer to {target} uses them")
    return summary
