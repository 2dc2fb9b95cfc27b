"""``tunecrate import``: playlists and Liked Songs from export files, with no credentials and no Spotify request.

Registered on the app of :mod:`tunecrate.cli.base` when :mod:`tunecrate.cli.main`
imports this module.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from tunecrate.cli.base import app, err_console, open_library, print_json


@app.command("import", no_args_is_help=True)
def import_(
    path: Path = typer.Argument(..., metavar="PATH", help="A Spotify account-data export (its ZIP, folder or JSON file), or "
                                          "Exportify CSVs (a .csv file, or a folder or ZIP of them)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print each list's plan and change nothing."),
    keep_orphans: bool = typer.Option(False, "--keep-orphans", help="Keep tracks no playlist needs any more."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import playlists and Liked Songs from an export file, then download their tracks.

    Every Playlist*.json of an account-data export becomes a playlist and
    YourLibrary.json's liked songs the playlist `likes`; an Exportify CSV is one
    playlist (liked.csv is `likes`). Importing a newer export of the same lists
    syncs them: added, removed and moved entries, no duplicates. Rows that are
    not Spotify tracks (local files, episodes) are skipped and listed.

    Example: tunecrate import ~/Downloads/my_spotify_data.zip --dry-run
    """
    from tunecrate.cli.progress import LoadProgress
    from tunecrate.cli.render import print_import

    # A dry run creates nothing: where there is no library yet, it plans against an empty one.
    with open_library(create=not dry_run, preview=dry_run) as lib, LoadProgress(err_console()) as progress:
        if lib.is_preview:
            sys.stderr.write(f"note: no tunecrate library at {lib.settings.data_root} and "
                             f"{lib.settings.storage_root} yet: every list would be new\n")
        report = lib.import_file(path, dry_run=dry_run, keep_orphans=keep_orphans, progress=progress.on_event)
    if as_json:
        print_json(report)
    else:
        print_import(report)
    if not report.ok:
        raise typer.Exit(1)
