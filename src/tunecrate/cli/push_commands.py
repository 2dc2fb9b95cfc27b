"""Commands that write playlists into other services: ``push`` (Plex, Subsonic) and ``transfer``.

Registered on the app of :mod:`tunecrate.cli.base` when :mod:`tunecrate.cli.main` imports this module;
heavy modules are imported inside the commands so that ``tunecrate --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from tunecrate.cli.base import app, err_console, fail, open_library, print_json


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


class _Progress:
    """A rich progress line on stderr for ``progress(stage, done, total)`` callbacks (hidden off a terminal)."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        console = err_console()
        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console,
                             transient=True, disable=not console.is_terminal)
        self._task = None

    def __enter__(self) -> _Progress:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._bar.__exit__(*exc)

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if self._task is None:
            self._task = self._bar.add_task(stage, total=total)
        self._bar.update(self._task, description=stage, completed=done, total=total)


def _label(entry) -> str:
    return f"#{entry.position + 1} {entry.track.artist} - {entry.track.title}"


def _item_label(item) -> str:
    return f"{item.artist} - {item.title}" if item.artist else item.title


def _print_entries(out, plan, *, only_new: bool) -> None:
    """The plan's interesting entries, one line each (``+`` added, ``?`` review, ``!`` missing, ``-`` skipped)."""
    for e in plan.entries:
        if e.status == "matched" and not (only_new and e.present):
            score = f" {e.score:.2f}" if e.score is not None else ""
            out.print(f"  + {_label(e)} → {_item_label(e.item)} ({e.how}{score})", markup=False)
        elif e.status == "review":
            out.print(f"  ? {_label(e)} → {_item_label(e.item)} ({e.score:.2f}, held for review)", markup=False)
        elif e.status == "missing":
            out.print(f"  ! {_label(e)}: not found", markup=False)
        elif e.status == "skipped":
            out.print(f"  - {_label(e)}: don't sync", markup=False)
        elif e.status == "duplicate":
            out.print(f"  = {_label(e)}: same item as an earlier entry", markup=False)


def _counts(plan) -> str:
    counts = {s: plan.count(s) for s in ("matched", "review", "missing", "skipped", "duplicate")}
    return " ".join(f"{k}={v}" for k, v in counts.items() if v or k in ("matched", "review", "missing"))


def _operations_line(plan) -> str:
    ops = plan.operations
    if not ops:
        return "no write needed: the playlist is as wanted"
    kinds: dict[str, int] = {}
    for op in ops:
        kinds[op.op] = kinds.get(op.op, 0) + 1
    return f"{len(ops)} write request(s): " + ", ".join(f"{k} {v}" for k, v in kinds.items())


def _left_out(review: int, missing: int) -> str:
    """``"; not in it: 1 waiting for review, 3 missing"``, or ``""`` when nothing was left out."""
    parts = [f"{review} waiting for review"] * bool(review) + [f"{missing} missing"] * bool(missing)
    return f"; not in it: {', '.join(parts)}" if parts else ""


def print_push(result) -> None:
    """A push's result for people: the mirror, the plan (dry run) or what was written, review and missing."""
    out = _console()
    plan = result.plan
    if result.mirror is not None:
        m = result.mirror
        verb = "would copy" if m.dry_run else "copied"
        out.print(f"mirror {m.dest}: {verb} {len(m.copy)} file(s), updated {len(m.update)}, kept {len(m.keep)}, "
                  f"deleted {len(m.delete)}", markup=False)
    where = (f"playlist {plan.title!r} ({len(plan.playlist.entries)} items now)" if plan.playlist is not None
             else f"new playlist {plan.title!r}")
    out.print(f"{result.target}: {where}", markup=False)
    if result.dry_run:
        out.print("dry run: nothing will be changed", markup=False)
        _print_entries(out, plan, only_new=True)
        for track in plan.only_on_target:
            out.print(f"  - {_item_label(track)}: no longer in the playlist, removed", markup=False)
        out.print(_operations_line(plan), markup=False)
    else:
        r = result.report
        verb = "created" if r.created else "updated"
        out.print(f"{verb} playlist {r.playlist_id}: added={r.added} removed={r.removed} moved={r.moved} "
                  f"writes={r.writes} items={r.items}{_left_out(len(r.review), len(r.missing))}", markup=False)
        for e in plan.review:
            out.print(f"  review: {_label(e)} → {_item_label(e.item)} ({e.score:.2f})", markup=False)
        for e in plan.missing:
            out.print(f"  missing: {e.track.spotify_url or e.track.track_id}  {e.track.artist} - {e.track.title}",
                      markup=False)
    out.print(_counts(plan), markup=False)
    if plan.review:
        out.print(f"decide the songs held for review with `tunecrate review --target {result.target}`", markup=False)
    for warning in plan.warnings:
        out.print(f"  warning: {warning}", markup=False)
    if result.report_file is not None:
        out.print(f"missing tracks written to {result.report_file} ({len(plan.missing)} missing, "
                  f"{len(plan.review)} held for review)", markup=False)


@app.command()
def push(
    playlist: str = typer.Argument(..., help="Library playlist: id, Spotify URL or URI (see `tunecrate playlists`)."),
    to: str = typer.Option(..., "--to", help="plex or subsonic (Navidrome, Airsonic, Gonic)."),
    name: Optional[str] = typer.Option(None, "--name", help="Title on the server [default: the playlist's]."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would change; change nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan and the report as JSON."),
    report: Optional[Path] = typer.Option(None, "--report", metavar="FILE",
                                          help="Write the missing tracks there: a Spotify URL, artist and title "
                                               "a line; the songs held for review follow as # comments."),
    mirror: Optional[Path] = typer.Option(None, "--mirror", metavar="DEST",
                                          help="Plex: first mirror the files into DEST (a folder Plex watches), "
                                               "scan, and match by path."),
) -> None:
    """Make a playlist on Plex or a Subsonic server equal to a library playlist.

    Entries are matched to the server's tracks by tunecrate's own files first (a mirror in a folder
    the server watches; PLEX_PATH_MAP maps paths), then by the scorer (title, artist, album, duration,
    ISRC). Unsure matches wait in `tunecrate review --target plex|subsonic`. The server's playlist ends
    in the playlist's order; a push with nothing changed writes nothing.

    Example: tunecrate push 37i9dQZF1DXcBWIGoYBM5M --to plex --report missing.txt
    """
    with open_library(create=False) as lib, _Progress() as progress:
        result = lib.push(playlist, to, name=name, dry_run=dry_run, mirror=mirror, report_file=report,
                          progress=progress)
    if as_json:
        print_json(result)
    else:
        print_push(result)


def demo_push(demo, lib, console) -> None:
    """``tunecrate demo --plex``: push the demo playlist into the Plex stand-in, mirroring its files into
    the folder Plex watches, then show the result and the Plex playlist."""
    console.print(f"Plex stand-in at {demo.plex.base_url}; its music section watches {demo.plex_folder} "
                  "(PLEX_PATH_MAP maps it to /data/music)", markup=False, highlight=False)
    with _Progress() as progress:
        result = lib.push(demo.playlist.playlist_id, "plex", mirror=demo.plex_folder / "tunecrate", progress=progress)
    print_push(result)
    for title, items in demo.plex.playlist_titles().items():
        console.print(f"Plex playlist {title!r}:", markup=False, highlight=False)
        for n, (artist, name) in enumerate(items, 1):
            console.print(f"  {n}. {artist} - {name}", markup=False, highlight=False)


# -- transfer ---------------------------------------------------------------------------------------


def print_diff(transfer, out) -> None:
    """Step 1 of a transfer: the two sides and what each has."""
    plan = transfer.plan
    where = f"{len(plan.playlist.entries)} items" if plan.playlist is not None else "new"
    out.print(f"{transfer.source} ({transfer.tracks.title!r}, {len(transfer.tracks.entries)} entries) → "
              f"{transfer.dest} ({where})", markup=False)
    out.print(f"step 1: on both {len(transfer.on_both)}, only on FROM {len(transfer.only_on_from)}, "
              f"only on TO {len(transfer.only_on_to)}", markup=False)


def print_outcome(transfer, report, out) -> None:
    """Step 3 of a transfer (or, for a dry run, what it would write)."""
    plan = transfer.plan
    if report is None:
        out.print("dry run: nothing will be written", markup=False)
        _print_entries(out, plan, only_new=True)
        out.print(_operations_line(plan), markup=False)
    else:
        out.print(f"step 3: written {report.added} (writes={report.writes}), skipped {report.skipped} "
                  f"(don't sync), not found {len(report.missing)}, waiting for review {len(report.review)}",
                  markup=False)
        for e in report.missing:
            out.print(f"  not found: {_label(e)}", markup=False)
        if report.review:
            out.print(f"decide the songs waiting for review with `tunecrate review --target {plan.target}`",
                      markup=False)
    for warning in plan.warnings:
        out.print(f"  warning: {warning}", markup=False)


@app.command()
def transfer(
    source: str = typer.Argument(..., metavar="FROM", help="spotify:<playlist>, local:<id>, plex:<title>, "
                                                          "subsonic:<name> or m3u:<path>."),
    dest: str = typer.Argument(..., metavar="TO", help="spotify:<playlist>, plex:<title>, subsonic:<name> or "
                                                       "m3u:<path>."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Compare and find candidates; write nothing, ask nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan and the outcome as JSON."),
    yes: bool = typer.Option(False, "--yes", help="Take the matches the scorer is sure of; leave the rest in "
                                                  "the review queue; ask nothing."),
) -> None:
    """Add to TO the songs of FROM that TO lacks, asking about each (muSync-style).

    Step 1 compares the playlists (by ISRC, then the scorer): on both, only on FROM, only on TO.
    Step 2 shows the candidates on TO for each song only on FROM: Enter/a accepts the suggestion,
    1-9 picks another, s "don't sync this one" (remembered, never asked again), n decides later,
    q stops asking. Step 3 adds the songs in FROM's order and reports what was written, skipped
    and not found. Adding to Spotify needs `tunecrate login`.

    Example: tunecrate transfer spotify:https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M "plex:Road Trip"
    """
    from tunecrate.cli.target_review import settle_transfer

    if not (dry_run or yes or sys.stdin.isatty()):
        raise fail("transfer asks about each song: run it in a terminal, or pass --yes (or --dry-run)")
    with open_library() as lib:
        with _Progress() as progress:
            plan = lib.plan_transfer(source, dest, progress=progress)
        out = _console(stderr=as_json)
        if dry_run:
            lib.close_transfer(plan)
            if as_json:
                print_json({"plan": plan, "outcome": None})
            else:
                print_diff(plan, out)
                print_outcome(plan, None, out)
            return
        settled = None
        try:
            if not as_json:
                print_diff(plan, out)
            if not yes:
                settled = settle_transfer(plan, out)
        except BaseException:
            lib.close_transfer(plan)
            raise
        with _Progress() as progress:
            report = lib.apply_transfer(plan, progress=progress)
    if as_json:
        print_json({"plan": plan, "outcome": report, "asked": settled})
    else:
        print_outcome(plan, report, out)
