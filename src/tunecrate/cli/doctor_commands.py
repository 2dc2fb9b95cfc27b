"""``tunecrate doctor``: one screen (or ``--json``) saying what the main job needs and whether it works here.

Registered on the app of :mod:`tunecrate.cli.base` when :mod:`tunecrate.cli.main`
imports this module. The checks are :func:`tunecrate.library.doctor.diagnose`'s;
this module only renders them.
"""

from __future__ import annotations

import typer

from tunecrate.cli.base import app, print_json, state

_MARKS = {"ok": "✓", "failed": "✗", "warning": "!", "skipped": "–"}
_STYLES = {"ok": "green", "failed": "bold red", "warning": "yellow", "skipped": "dim"}


@app.command()
def doctor(
    as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON."),
    timeout: float = typer.Option(5.0, "--timeout", min=0.5, help="Seconds each network probe may take."),
) -> None:
    """Check what the main job needs, each by running it: ffmpeg, the JavaScript runtime, yt-dlp's
    challenge solver, Spotify, the browser, the library folders.

    Exits 1 when something the main job needs fails; each failed line says what to do.
    Works even when the library cannot be opened. Example: tunecrate doctor --json
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from tunecrate.core.settings import Settings
    from tunecrate.library.doctor import diagnose

    report = diagnose(Settings.load(storage_root=state.storage, data_root=state.data), timeout_s=timeout)
    if as_json:
        print_json(report)
    else:
        console = Console(highlight=False)
        table = Table(show_header=True, show_lines=False, box=None, pad_edge=False)
        table.add_column("", no_wrap=True)
        table.add_column("check", no_wrap=True)
        table.add_column("what was found, and what to do", overflow="fold")
        for check in report.checks:
            cell = Text(check.detail)
            if check.fix and check.status != "ok":
                cell.append(f"\n→ {check.fix}", style="italic")
            mark = Text(_MARKS.get(check.status, "?"), style=_STYLES.get(check.status, ""))
            table.add_row(mark, Text(check.name + (" *" if check.required else "")), cell)
        console.print(table)
        needed = [c.name for c in report.checks if c.failed and c.required]
        console.print("* needed for the main job. "
                      + (f"Not ready: {', '.join(needed)} failed." if needed else "Ready for the main job."))
    if not report.ok:
        raise typer.Exit(1)
