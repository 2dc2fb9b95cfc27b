"""Commands to review matches, rewrite tags and manage music folders.

``tunecrate review``, ``match show|skip|accept``, ``retag`` and
``sources add|remove|list|scan``; registered on the app of
:mod:`tunecrate.cli.base` when :mod:`tunecrate.cli.main` imports this module. Heavy modules are
imported inside the commands so that ``tunecrate --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from tunecrate.cli.base import app, match_app, note_not_loaded, open_library, print_json
from tunecrate.core.errors import ConfigurationError

sources_app = typer.Typer(help="Add, remove, list and scan the folders of music you already own.",
                          no_args_is_help=True)
app.add_typer(sources_app, name="sources")


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


# -- match show / skip / accept --------------------------------------------------------


@match_app.command("show")
def match_show(
    track_ref: str = typer.Argument(..., metavar="TRACK", help="Spotify track URL, URI or id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a track's current choice and its candidates, with the score's components.

    \b
    Example:
      tunecrate match show 4uLU6hMCjMI75M1A2tKUQC
    """
    with open_library(create=False) as lib:
        item = lib.match_show(track_ref)
    if as_json:
        print_json(item)
    else:
        print_match(item)


def print_match(item: dict) -> None:
    """The track, its current choice and a table of candidates with their score components."""
    from rich.markup import escape
    from rich.table import Table

    from tunecrate.cli.review import _choice_line, _delta, _time, _title_cell

    out = _console()
    out.print(escape(f"{item.title or '?'} — {', '.join(item.artists) or '?'} ({item.track_id})"))
    out.print(escape(f"album: {item.album or '?'}  duration: {_time(item.duration_ms)}  "
                     f"isrc: {item.isrc or '—'}  status: {item.status}"))
    if item.missing:
        known = [m for m in _MISSING_LABELS if m in item.missing] + sorted(set(item.missing) - set(_MISSING_LABELS))
        out.print(escape("not in its source: " + ", ".join(_MISSING_LABELS.get(m, m) for m in known)))
    if item.reason:
        out.print(escape(f"reason: {item.reason}"))
    out.print(escape(f"current: {_choice_line(item)}"))
    if not item.candidates:
        out.print("no candidates recorded")
        return
    table = Table()
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("Title / source", overflow="fold", min_width=30)
    table.add_column("Artist / channel", overflow="fold")
    table.add_column("Provider", no_wrap=True)
    table.add_column("Time (Δ s)", justify="right", no_wrap=True)
    table.add_column("Score", justify="right", no_wrap=True)
    shown = ["title", "artist", "duration", "version", "verified"]
    if any("unchecked" in (c.components or {}) for c in item.candidates):
        shown.insert(4, "unchecked")
    for component in shown:
        table.add_column(component, justify="right", no_wrap=True)
    table.add_column("ISRC", no_wrap=True)
    for c in item.candidates:
        comp = c.components or {}
        isrc = "match" if comp.get("isrc") else (c.isrc or "—")
        title = _title_cell(c)
        if c.rejected:
            title.append(f"\nrejected: {c.rejected}", style="red")
        table.add_row(
            f"{'*' if c.chosen else ''}{c.index + 1}", title, escape(c.artist or ""),
            escape(c.provider or ""), f"{_time(c.duration_ms)} ({_delta(c.duration_delta_s)})",
            f"{c.score or 0:.2f}",
            *(_component(comp.get(k, 0.0 if k == "unchecked" and "title" in comp else None)) for k in shown),
            escape(isrc),
        )
    out.print(table)
    out.print("accept one with `tunecrate match accept TRACK N`, or pin your own with `tunecrate match set`")


#: How ``match show`` names the fields a source left out.
_MISSING_LABELS = {"duration_ms": "duration", "artists": "artists after the first", "isrc": "ISRC",
                   "album": "album", "album_artists": "album artists", "release_date": "release date",
                   "track_number": "track number", "track_total": "track total", "disc_number": "disc number",
                   "explicit": "explicit flag", "cover_url": "cover"}


def _component(value: float | None) -> str:
    """A score component for display: ``+0.35``, ``-0.25``, ``0`` (``"—"`` when absent: the track
    could not be compared on it)."""
    if value is None:
        return "—"
    return "0" if abs(value) < 0.005 else f"{value:+.2f}"


@match_app.command("skip")
def match_skip(
    track_ref: str = typer.Argument(..., metavar="TRACK", help="Spotify track URL, URI or id."),
) -> None:
    """Mark a track "don't download": never fetched or asked about again (`match clear` undoes it).

    \b
    Example:
      tunecrate match skip 4uLU6hMCjMI75M1A2tKUQC
    """
    with open_library() as lib:
        result = lib.match_skip(track_ref)
    title = f" ({result.title})" if result.title else ""
    typer.echo(f"skipped {result.track_id}{title}: it will not be downloaded")
    note_not_loaded(result)


@match_app.command("accept")
def match_accept(
    track_ref: str = typer.Argument(..., metavar="TRACK", help="Spotify track URL, URI or id."),
    number: int = typer.Argument(1, min=1, help="Candidate number as `match show` lists it (1 = best)."),
) -> None:
    """Pin a track to one of its candidates; the next load or sync downloads it.

    \b
    Example:
      tunecrate match accept 4uLU6hMCjMI75M1A2tKUQC 2
    """
    with open_library(create=False) as lib:
        result = lib.match_accept(track_ref, number - 1)
    title = f" ({result.title})" if result.title else ""
    typer.echo(f"pinned {result.track_id}{title} to {result.source}")


# -- review --------------------------------------------------------------------------------


@app.command()
def review(
    as_json: bool = typer.Option(False, "--json", help="Print the queue as JSON and ask nothing."),
    target: Optional[str] = typer.Option(None, "--target", help="Review the matches of a push or transfer to this "
                                                                "service instead (plex, subsonic, spotify, m3u)."),
) -> None:
    """Decide, track by track, the recordings the matcher was unsure about.

    Shows each track held for review or unresolved with its best candidates;
    keys: a accept, 1-9 pick, p paste a URL or file, s don't download,
    n next, b back, q quit. Decisions are saved at once; run it again to resume.

    With --target, the songs a push or transfer could not settle on that service
    (s there means "don't sync this one").

    \b
    Example:
      tunecrate review
    """
    if target is not None:
        _review_target(target, as_json)
        return
    if as_json:
        with open_library(create=False) as lib:
            print_json(lib.review_queue())
        return
    if not sys.stdin.isatty():
        raise ConfigurationError(
            "review is interactive and stdin is not a terminal; use `tunecrate review --json` to list the "
            "queue and `tunecrate match set|skip|accept TRACK` to decide")
    from tunecrate.cli.review import run_review

    with open_library(create=False) as lib:
        run_review(lib, _console())


def _review_target(target: str, as_json: bool) -> None:
    from tunecrate.library.transfers import review_targets

    targets = review_targets()
    if target not in targets:
        raise typer.BadParameter(f"--target is one of {', '.join(targets)}")
    if as_json:
        with open_library(create=False) as lib:
            print_json(lib.target_review_queue(target))
        return
    if not sys.stdin.isatty():
        raise ConfigurationError(f"review is interactive and stdin is not a terminal; use `tunecrate review "
                                 f"--target {target} --json` to list the queue")
    from tunecrate.cli.target_review import run_target_review

    with open_library(create=False) as lib:
        run_target_review(lib, target, _console())


# -- retag ----------------------------------------------------------------------------------


@app.command()
def retag(
    track_ref: Optional[str] = typer.Argument(None, metavar="[TRACK]", help="Spotify track URL, URI or id."),
    all_tracks: bool = typer.Option(False, "--all", help="Retag every downloaded track."),
    offline: bool = typer.Option(False, "--offline", help="Do not download covers; keep the embedded ones."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Rewrite the tags of downloaded files from the library database, without fetching audio.

    A cover that cannot be downloaded keeps the embedded one, with a warning on stderr.

    \b
    Example:
      tunecrate retag --all --offline
    """
    if bool(track_ref) == all_tracks:
        raise typer.BadParameter("give a track, or --all")
    with open_library(create=False) as lib:
        report = lib.retag(None if all_tracks else track_ref, fetch_covers=not offline)
    for warning in report.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    print_json(report) if as_json else typer.echo(f"retagged {report.retagged} file(s)")


# -- sources -------------------------------------------------------------------------------


@sources_app.command("add")
def sources_add(path: Path = typer.Argument(..., help="A folder of audio files (never modified).")) -> None:
    """Add a folder of your own music; matching tracks are taken from it instead of downloaded.

    \b
    Example:
      tunecrate sources add ~/Music
    """
    with open_library() as lib:
        folder = lib.add_music_folder(path)
    typer.echo(f"added {folder}; run `tunecrate sources scan` to index it")


@sources_app.command("remove")
def sources_remove(path: Path = typer.Argument(..., help="A folder added with `tunecrate sources add`.")) -> None:
    """Forget a music folder (its files leave the index at the next scan; nothing is deleted).

    \b
    Example:
      tunecrate sources remove ~/Music
    """
    with open_library(create=False) as lib:
        folder = lib.remove_music_folder(path)
    typer.echo(f"removed {folder}")


@sources_app.command("list")
def sources_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the music folders (from settings and added ones) with their indexed file counts.

    \b
    Example:
      tunecrate sources list --json
    """
    from rich.table import Table

    with open_library(create=False) as lib:
        rows = lib.music_folders()
    if as_json:
        print_json(rows)
        return
    table = Table()
    for column in ("Folder", "From", "Files", "Exists"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row.path, row.origin, str(row.files), "yes" if row.exists else "no")
    out = _console()
    out.print(table)
    out.print(f"{len(rows)} folder(s)")


@sources_app.command("scan")
def sources_scan(as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Index the audio files of the music folders (only new or changed files are read).

    \b
    Example:
      tunecrate sources scan
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    err = _console(stderr=True)
    with open_library() as lib, Progress(TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), console=err,
                                         transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("scan", total=None)
        folders, report = lib.scan_music(
            progress=lambda done, total: progress.update(task, completed=done, total=total))
    if as_json:
        print_json({"folders": [str(f) for f in folders], "added": report.added, "updated": report.updated,
                    "removed": report.removed, "unchanged": report.unchanged,
                    "errors": [{"path": str(p), "reason": r} for p, r in report.errors]})
        return
    for path, reason in report.errors:
        typer.echo(f"unreadable: {path}: {reason}", err=True)
    if not folders:
        typer.echo("no music folders; add one with `tunecrate sources add PATH`")
    typer.echo(f"folders={len(folders)} added={report.added} updated={report.updated} "
               f"removed={report.removed} unchanged={report.unchanged} errors={len(report.errors)}")
