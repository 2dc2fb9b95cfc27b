"""CLI commands that get music out of the library: track files, playlist ZIPs, M3U8, mirrors.

Registered on the app of :mod:`tunecrate.cli.base` when :mod:`tunecrate.cli.main` imports it.
All of them work offline (a playlist cover not cached yet is the one thing
fetched). Summaries go to stdout, warnings to stderr as ``warning: …`` lines;
errors are one ``error: …`` line and exit 1, as everywhere in the CLI.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from tunecrate.cli.base import app, open_library, print_json

_PLAYLIST_HELP = "Playlist URL, URI or id (see `tunecrate playlists`), or `likes`."
_TRACK_HELP = "Spotify track URL, URI or id."


#: Formats `tunecrate export` writes.
EXPORT_FORMATS = ("m3u8",)


def _export_format(value: str) -> str:
    fmt = value.strip().lower()
    if fmt not in EXPORT_FORMATS:
        raise typer.BadParameter(f"{value!r} is not a format tunecrate exports; choose {', '.join(EXPORT_FORMATS)} "
                                 "(a ZIP of the MP3s is `tunecrate download-playlist-zip`)")
    return fmt


def _warn(messages) -> None:
    for message in messages:
        sys.stderr.write(f"warning: {message}\n")


def _print_export(result, as_json: bool, *, cover: bool = True, out=None) -> None:
    """The summary of a playlist export: path, counts, then each missing track."""
    from tunecrate.core.text import track_label

    write = (out or sys.stdout).write
    if as_json:
        write(json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n")
        return
    if result.path is not None:
        write(f"{result.path}\n")
    counts = f"tracks={result.tracks} entries={result.entries} missing={len(result.missing)}"
    if cover:
        counts += f" cover={'yes' if result.cover else 'no'}"
    write(f"{counts} bytes={result.total_bytes}\n")
    for entry in result.missing:
        write(f"  missing (not downloaded): {track_label(entry.artists, entry.title)} ({entry.track_id})\n")
    _warn(result.warnings)


# -- tracks -----------------------------------------------------------------------------


@app.command("path-of")
def path_of(track_ref: str = typer.Argument(..., metavar="TRACK", help=_TRACK_HELP)) -> None:
    """Print the absolute path of a downloaded track's MP3 in the library (nothing is downloaded).

    \b
    Example: mpv "$(tunecrate path-of 4uLU6hMCjMI75M1A2tKUQC)"
    """
    with open_library(create=False) as lib:
        path = lib.track_file(track_ref)
    typer.echo(str(path))


app.command("download-track", hidden=True)(path_of)  # its old name, kept for scripts


@app.command("save-track")
def save_track(
    track_ref: str = typer.Argument(..., metavar="TRACK", help=_TRACK_HELP),
    out: str = typer.Argument(..., metavar="OUT", help="A folder (existing, or written with a trailing /) or a file path."),
) -> None:
    """Copy a track's MP3 out of the library; print the path written.

    Into a folder the file is named `Artist - Title.mp3` and never overwrites
    anything: a taken name gets a number, `Artist - Title (2).mp3`. A file
    path is replaced if it exists, as `cp` does. The copy appears complete or
    not at all.

    \b
    Example:
      tunecrate save-track 4uLU6hMCjMI75M1A2tKUQC ~/Music/
    """
    with open_library(create=False) as lib:
        path = lib.save_track(track_ref, out)
    typer.echo(str(path))


# -- playlists --------------------------------------------------------------------------


def _zip(playlist_ref: str, out: str, as_json: bool, *, directory: bool) -> None:
    if out == "-" and not directory:
        if sys.stdout.isatty():
            raise typer.BadParameter("refusing to write a ZIP to a terminal; redirect stdout or give a file",
                                     param_hint="OUT")
        with open_library(create=False) as lib:
            stream = lib.iter_playlist_zip(playlist_ref)
            sink = sys.stdout.buffer
            try:
                for chunk in stream:
                    sink.write(chunk)
                sink.flush()
            finally:
                stream.close()
        _print_export(stream.result, as_json, out=sys.stderr)
        return
    with open_library(create=False) as lib:
        result = lib.export_playlist_zip(playlist_ref, out, directory=directory)
    _print_export(result, as_json)


@app.command("download-playlist-zip")
def download_playlist_zip(
    playlist_ref: str = typer.Argument(..., metavar="PLAYLIST", help=_PLAYLIST_HELP),
    out: str = typer.Argument(..., metavar="OUT",
                              help="A .zip file path, a folder (then `<title>.zip` in it), or - for stdout."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Write a playlist as one ZIP: its MP3s numbered in order, an M3U8 and cover.jpg.

    A track listed twice is stored once and listed twice in the M3U8. Tracks
    not downloaded yet are left out and listed. Prints the path, the counts
    and the missing tracks; the archive appears complete or not at all.

    \b
    Example:
      tunecrate download-playlist-zip likes ~/Downloads/
    """
    _zip(playlist_ref, out, as_json, directory=False)


@app.command("save-playlist")
def save_playlist(
    playlist_ref: str = typer.Argument(..., metavar="PLAYLIST", help=_PLAYLIST_HELP),
    out: Path = typer.Argument(..., metavar="OUT", help="Folder to write `<playlist title>.zip` into (created)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Save a playlist's ZIP into a folder, named after the playlist (replacing an older export).

    \b
    Example:
      tunecrate save-playlist 37i9dQZF1DXcBWIGoYBM5M exports/
    """
    _zip(playlist_ref, str(out), as_json, directory=True)


@app.command("export")
def export(
    playlist_ref: str = typer.Argument(..., metavar="PLAYLIST", help=_PLAYLIST_HELP),
    dest: str = typer.Argument(..., metavar="DEST", help="A file path, or a folder (then `<title>.m3u8` in it)."),
    fmt: str = typer.Option("m3u8", "--format", metavar="FORMAT", callback=_export_format,
                            help=f"Playlist format: {', '.join(EXPORT_FORMATS)}."),
    absolute: bool = typer.Option(False, "--absolute", help="Write absolute paths instead of paths relative to DEST's folder."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Write a playlist file (extended M3U8) that points at the library's MP3s.

    Tracks not downloaded yet are left out and listed.

    \b
    Example:
      tunecrate export likes ~/Music/playlists/ --format m3u8
    """
    with open_library(create=False) as lib:
        result = lib.export_m3u8(playlist_ref, dest, absolute=absolute)
    _print_export(result, as_json, cover=False)


@app.command("mirror")
def mirror(
    refs: Optional[List[str]] = typer.Argument(None, metavar="PLAYLIST",
                                               help="Playlists to mirror (URL, URI, id or `likes`)."),
    dest: str = typer.Argument(..., metavar="DEST", help="The folder to keep in step (created)."),
    all_playlists: bool = typer.Option(False, "--all", help="Mirror every playlist of the library, `likes` included."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan and change nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Keep a folder (a phone, a USB stick) equal to playlists: MP3s plus one M3U8 per playlist.

    Each run states the whole content: tracks and M3U8s of playlists not
    named any more are removed. Only files the mirror wrote (listed in
    `.tunecrate-mirror.json`) are ever replaced or deleted; other files in
    DEST are left alone, and a file changed in DEST is left and no longer managed.

    \b
    Example:
      tunecrate mirror --all /media/phone/Music --dry-run
    """
    refs = list(refs or ())
    if all_playlists == bool(refs):
        raise typer.BadParameter("give one or more playlists, or --all, before DEST", param_hint="PLAYLIST")
    with open_library(create=False) as lib:
        result = lib.mirror(None if all_playlists else refs, dest, dry_run=dry_run)
    if as_json:
        print_json(result.to_json())
    else:
        _print_mirror(result)


_ACTIONS = ("copy", "update", "delete", "release")


def _print_mirror(result) -> None:
    from tunecrate.core.text import track_label

    out = sys.stdout.write
    verbs = {"copy": "would copy", "update": "would update", "delete": "would delete",
             "release": "would release"} if result.dry_run else {}
    out(f"{'plan for' if result.dry_run else 'mirrored into'} {result.dest}\n")
    for action in _ACTIONS:
        for item in getattr(result, action):
            out(f"  {verbs.get(action, action)}: {item.name} ({item.reason})\n")
    for entry in result.missing:
        out(f"  missing (not downloaded): {track_label(entry.artists, entry.title)} ({entry.track_id})\n")
    counts = " ".join(f"{a}={len(getattr(result, a))}" for a in (*_ACTIONS, "keep"))
    out(f"{counts} missing={len(result.missing)} bytes={result.bytes_to_write}\n")
