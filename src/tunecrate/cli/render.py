"""Human-readable output of the basic CLI (tables and summaries, via rich)."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from tunecrate.core.text import format_duration
from tunecrate.library.results import (
    SUMMARY_KEYS, DecisionRecord, ImportReport, LoadReport, PlaylistSummary, TrackRecord,
)

def _out() -> Console:
    """A console on stdout, sized from the terminal or ``COLUMNS`` now (80 columns when piped)."""
    return Console(highlight=False)


def summary_line(counts: dict[str, int]) -> str:
    """``downloaded=3 present=1 unresolved=0 skipped=0 failed=0``."""
    return " ".join(f"{key}={counts.get(key, 0)}" for key in SUMMARY_KEYS if key != "review" or counts.get(key))


def print_report(report: LoadReport) -> None:
    """The result of a load: id and title, the summary line, then each failure with its reason."""
    out = _out()
    out.print(f"{report.kind} {report.id} {report.title}", markup=False)
    out.print(summary_line(report.counts), markup=False)
    _print_details(report)


def _print_details(report: LoadReport) -> None:
    """Each failure with its reason, each skipped source entry, each warning: one line each, however long."""
    out = _out()
    for f in report.failures:
        out.print(f"  {f.status}: {f.title} ({f.track_id}): {f.reason}", markup=False, soft_wrap=True)
    for entry in report.skipped_entries:
        out.print(f"  skipped entry {entry.describe()}", markup=False, soft_wrap=True)
    for warning in report.warnings:
        out.print(f"  warning: {warning}", markup=False, soft_wrap=True)


def _same_destination() -> bool:
    """Whether stdout and stderr are the same file (a terminal showing both): then nothing is said twice."""
    try:
        out, err = os.fstat(sys.stdout.fileno()), os.fstat(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False
    return (out.st_dev, out.st_ino, out.st_rdev) == (err.st_dev, err.st_ino, err.st_rdev)


def echo_failures(report: LoadReport) -> None:
    """Each failed track of a load or sync also as an ``error: …`` line on stderr, so that ``2>``
    in a script captures it (unless stderr is where stdout goes, which already shows them)."""
    if not report.failures or _same_destination():
        return
    for f in report.failures:
        sys.stderr.write(f"error: {f.title} ({f.track_id}) {f.status}: {' '.join(f.reason.split())}\n")


def _id_column(table: Table, header: str, ids: Sequence[str]) -> None:
    """A column of ids that never wraps nor shrinks (a wrapped id cannot be pasted); the other
    columns fold instead."""
    table.add_column(header, no_wrap=True, min_width=max([len(header), *map(len, ids)]), overflow="ignore")


def print_tracks(rows: Sequence[TrackRecord], title: str | None = None, numbered: bool = False) -> None:
    table = Table(title=title, show_lines=False)
    if numbered:
        table.add_column("#", justify="right")
    for column in ("Artist", "Title", "Album"):
        table.add_column(column, overflow="fold")
    table.add_column("Time", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    _id_column(table, "Track id", [r.track_id for r in rows])
    for i, row in enumerate(rows, 1):
        cells = [row.artist, row.title, row.album, format_duration(row.duration_ms), row.status, row.track_id]
        table.add_row(*([str(i)] if numbered else []), *cells)
    _out().print(table)
    _out().print(f"{len(rows)} track(s)")


def print_playlists(rows: Sequence[PlaylistSummary]) -> None:
    table = Table()
    _id_column(table, "Playlist id", [r.playlist_id for r in rows])
    for column in ("Title", "Tracks", "Downloaded", "Snapshot"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row.playlist_id, row.title, str(row.track_count), str(row.downloaded),
                      (row.snapshot_id or "")[:16])
    _out().print(table)
    _out().print(f"{len(rows)} playlist(s)")


def print_decisions(rows: Sequence[DecisionRecord]) -> None:
    table = Table()
    _id_column(table, "Track id", [r.track_id for r in rows])
    for column in ("Title", "Source"):
        table.add_column(column, overflow="fold")
    for column in ("Decision", "Score", "Status"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        score = f"{row.score:.2f}" if row.score is not None else ""
        table.add_row(row.track_id, row.title or "", row.source or "", row.decision, score, row.status)
    _out().print(table)


def sync_line(report: LoadReport) -> str:
    """``added=N removed=N kept=N``, plus ``failed=``/``unresolved=`` when non-zero."""
    plan = report.plan
    parts = [f"added={len(plan.added)}", f"removed={len(plan.removed)}", f"kept={plan.kept}"]
    for key in ("failed", "unresolved", "review"):
        if report.counts.get(key):
            parts.append(f"{key}={report.counts[key]}")
    return " ".join(parts)


def print_sync(report: LoadReport) -> None:
    """A sync's result: the plan when dry-running, the summary line, and each failure."""
    out = _out()
    plan = report.plan
    out.print(f"{report.kind} {report.id} {report.title}", markup=False)
    if report.up_to_date:
        out.print(f"up to date (snapshot {plan.new_snapshot}); nothing to download", markup=False)
        out.print(sync_line(report), markup=False)
        return
    if report.dry_run:
        out.print("dry run: nothing will be changed", markup=False)
        for entry in plan.added:
            out.print(f"  + {entry.title} ({entry.track_id}) at #{entry.index + 1}", markup=False)
        for entry in plan.removed:
            out.print(f"  - {entry.title} ({entry.track_id}) from #{entry.index + 1}", markup=False)
        for entry in plan.moved:
            out.print(f"  ~ {entry.title} ({entry.track_id}) moves to #{entry.index + 1}", markup=False)
        out.print(f"would download {len(plan.fetch)} track(s), would remove {len(plan.prune)} "
                  f"track(s) no playlist needs", markup=False)
        out.print(sync_line(report), markup=False)
        for warning in report.warnings:
            out.print(f"  warning: {warning}", markup=False)
        return
    out.print(sync_line(report), markup=False)
    if plan.moved:
        out.print(f"  moved={len(plan.moved)}", markup=False)
    _print_details(report)
    if report.pruned:
        out.print(f"  removed {len(report.pruned)} track(s) no playlist needs", markup=False)


def print_import(report: ImportReport) -> None:
    """An import: each list as a sync prints it, then the totals over distinct tracks and the notes."""
    out = _out()
    out.print(f"import {report.path} ({report.source}): {len(report.lists)} list(s), {report.tracks} track(s), "
              f"{report.skipped_entries} skipped entr{'y' if report.skipped_entries == 1 else 'ies'}", markup=False)
    for item in report.lists:
        print_sync(item)
    if report.dry_run:
        out.print(f"dry run: would download {report.fetch} track(s)", markup=False)
    else:
        out.print(f"total: {summary_line(report.counts)}", markup=False)
    for warning in report.warnings:
        out.print(f"warning: {warning}", markup=False)
