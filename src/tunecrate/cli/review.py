"""The interactive review of matches (``tunecrate review``, also used by the smart CLI).

:func:`run_review` walks through :meth:`Library.review_queue`: for each track
it shows the track, its best candidates and the current choice, then asks
for one key:

====  ===============================================================
a     accept the suggestion (the current choice, else the best candidate)
1-9   pick that candidate
p     paste a URL yt-dlp can download, or the path of a local audio file
s     don't download this track (never asked again; `match clear` reopens it)
n     next: decide later (also Enter)
b     back to the previous track (its decision can be changed)
q     quit; resume later with what is left
====  ===============================================================

Every decision is saved as it is made (a pin or a skip), so quitting, Ctrl-C
or Ctrl-D lose nothing. A pin makes the next load or sync fetch that source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tunecrate.core.errors import TunecrateError

#: What each key does, printed under each track.
KEYS = "keys: a accept · 1-9 pick · p paste URL/path · s don't download · n next (Enter) · b back · q quit"
#: The prompt.
PROMPT = "[a/1-9/p/s/n/b/q] > "

#: How many candidates are shown (and can be picked with 1-9).
SHOWN_CANDIDATES = 9


@dataclass
class ReviewSummary:
    """What a review session decided.

    ``decisions`` maps each track decided in this session to its last
    decision: ``"accepted"`` (a candidate was pinned, with ``a`` or a
    number), ``"pasted"`` (a URL or file was pinned) or ``"skipped"``.
    ``remaining`` is how many tracks still await a decision afterwards;
    ``quit`` is True when the user stopped before the end of the queue.
    """

    decisions: dict[str, str] = field(default_factory=dict)
    remaining: int = 0
    quit: bool = False

    def _count(self, kind: str) -> int:
        return sum(1 for d in self.decisions.values() if d == kind)

    @property
    def accepted(self) -> int:
        return self._count("accepted")

    @property
    def pasted(self) -> int:
        return self._count("pasted")

    @property
    def skipped(self) -> int:
        return self._count("skipped")

    def to_json(self) -> dict:
        return {"accepted": self.accepted, "pasted": self.pasted, "skipped": self.skipped,
                "remaining": self.remaining, "quit": self.quit, "decisions": dict(self.decisions)}


def _time(ms: int | None) -> str:
    if not ms:
        return "?"
    seconds = round(ms / 1000)
    return f"{seconds // 60}:{seconds % 60:02d}"


def _delta(seconds: float | None) -> str:
    return "?" if seconds is None else f"{seconds:+.0f}"


def _title_cell(candidate: dict):
    """A candidate's title with its URL or path on a second, dim line."""
    from rich.text import Text

    cell = Text(candidate.title or "")
    if candidate.url:
        cell.append("\n" + candidate.url, style="dim")
    return cell


def _choice_line(item: dict) -> str:
    """The current choice in words."""
    choice = item.choice
    if choice is None or (choice.kind == "auto" and not choice.source):
        return "none"
    if choice.kind == "skipped":
        return "don't download"
    if choice.kind == "pinned":
        return f"pinned to {choice.source}"
    suggested = next((c for c in item.candidates if c.chosen), None)
    label = f"{suggested.title} ({suggested.artist})" if suggested else choice.source
    score = f", score {choice.score:.2f}" if choice.score is not None else ""
    if item.status == "downloaded" and item.source_url == choice.source:
        return f"matched: {label}{score} (downloaded)"
    return f"suggested: {label}{score}"


def render_item(console: Console, item: dict, position: int, total: int) -> None:
    """Print one track of the review: header, candidates table, current choice."""
    artists = ", ".join(item.artists) or "?"
    console.print()
    console.rule(f"{position}/{total}  {item.status}")
    console.print(f"[bold]{escape(item.title or item.track_id)}[/bold] — {escape(artists)}")
    details = [f"album: {item.album}" if item.album else None, f"duration: {_time(item.duration_ms)}",
               f"isrc: {item.isrc}" if item.isrc else None, f"id: {item.track_id}"]
    console.print(escape("  ".join(d for d in details if d)))
    if item.playlists:
        console.print(escape("in: " + ", ".join(p.title for p in item.playlists)))
    if item.reason:
        console.print(escape(f"why here: {item.reason}"), style="dim")
    candidates = item.candidates[:SHOWN_CANDIDATES]
    if candidates:
        table = Table(show_lines=False, pad_edge=False)
        for column, justify in (("#", "right"), ("Title", "left"), ("Artist / channel", "left"),
                                ("Δ s", "right"), ("Provider", "left"), ("Score", "right"), ("Why", "left")):
            table.add_column(column, justify=justify, overflow="fold")
        for c in candidates:
            mark = "*" if c.chosen else ""
            table.add_row(f"{mark}{c.index + 1}", _title_cell(c), escape(c.artist or ""),
                          _delta(c.duration_delta_s), escape(c.provider or ""),
                          f"{c.score or 0:.2f}", escape(c.why or ""))
        console.print(table)
    else:
        console.print("no candidates found: paste a source (p) or skip (s)")
    console.print(escape(f"current: {_choice_line(item)}"))
    console.print(KEYS, style="dim")


def _suggested_index(item: dict) -> int | None:
    """The candidate ``a`` accepts: the current choice, else the best one that was not rejected."""
    candidates = item.candidates
    chosen = next((c.index for c in candidates if c.chosen), None)
    if chosen is not None:
        return chosen
    return next((c.index for c in candidates if not c.rejected), None)


def run_review(lib, console: Console, *, input_fn: Callable[[str], str] | None = None) -> ReviewSummary:
    """Walk through ``lib.review_queue()`` with the user; return what was decided.

    ``lib`` is a :class:`tunecrate.Library`; ``console`` a rich console that
    the tracks are printed on; ``input_fn(prompt)`` returns one line the user
    typed (default: ``console.input``). EOF (Ctrl-D) or Ctrl-C quits like
    ``q``. Each decision is written to the library at once (see the module
    docstring for the keys); errors (a bad URL, a busy library) are printed
    and the same track is asked again.
    """
    ask = input_fn or (lambda prompt: console.input(escape(prompt)))
    summary = ReviewSummary()
    queue = [item.track_id for item in lib.review_queue()]
    if not queue:
        console.print("nothing to review: every track is downloaded, pinned or skipped")
        return summary
    console.print(f"{len(queue)} track(s) to review; decisions are saved as you make them")
    position = 0
    while position < len(queue):
        track_id = queue[position]
        try:
            item = lib.match_show(track_id)  # fresh: another process, or an earlier answer, may have changed it
        except TunecrateError:
            position += 1  # it left the library meanwhile
            continue
        render_item(console, item, position + 1, len(queue))
        try:
            answer = ask(PROMPT).strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            summary.quit = True
            break
        key = answer.lower()
        try:
            if key in ("", "n"):
                position += 1
            elif key == "q":
                summary.quit = True
                break
            elif key == "b":
                if position == 0:
                    console.print("already at the first track")
                else:
                    position -= 1
            elif key == "a":
                index = _suggested_index(item)
                if index is None:
                    console.print("no candidate to accept: paste a source (p) or skip (s)")
                    continue
                if item.decision == "pinned" and item.candidates[index].url == item.choice.source:
                    position += 1  # already pinned to it
                    continue
                lib.match_accept(track_id, index)
                summary.decisions[track_id] = "accepted"
                console.print(escape(f"pinned to {item.candidates[index].url}"))
                position += 1
            elif key.isdigit() and len(key) == 1 and key != "0":
                index = int(key) - 1
                if index >= min(len(item.candidates), SHOWN_CANDIDATES):
                    console.print(f"there is no candidate {key}")
                    continue
                lib.match_accept(track_id, index)
                summary.decisions[track_id] = "accepted"
                console.print(escape(f"pinned to {item.candidates[index].url}"))
                position += 1
            elif key == "p":
                try:
                    source = ask("URL or file path (empty to cancel) > ").strip()
                except (EOFError, KeyboardInterrupt):
                    console.print()
                    continue
                if len(source) > 1 and source[0] == source[-1] and source[0] in "'\"":
                    source = source[1:-1]  # a path dropped into the terminal comes quoted
                if not source:
                    continue
                result = lib.match_set(track_id, source)
                summary.decisions[track_id] = "pasted"
                console.print(escape(f"pinned to {result.source}"))
                position += 1
            elif key == "s":
                lib.match_skip(track_id)
                summary.decisions[track_id] = "skipped"
                console.print("marked \"don't download\"")
                position += 1
            else:
                console.print(escape(f"unknown key {answer!r}; {KEYS}"))
        except TunecrateError as exc:
            console.print(escape(f"error: {exc}"), style="red")
    summary.remaining = len(lib.review_queue())
    decided = f"accepted={summary.accepted} pasted={summary.pasted} skipped={summary.skipped}"
    if summary.quit:
        console.print(f"stopped: {decided}; {summary.remaining} track(s) left, run `tunecrate review` to resume")
    else:
        console.print(f"review done: {decided}; {summary.remaining} track(s) left undecided")
    if summary.accepted or summary.pasted:
        console.print("the next `tunecrate sync` (or load) downloads the chosen recordings")
    return summary
