"""The scriptable CLI (typer): a thin layer over :class:`tunecrate.Library`.

Conventions: listing commands take ``--json`` and print JSON on stdout;
progress and messages go to stderr; a :class:`TunecrateError` prints one line
``error: …`` on stderr and exits 1 (usage errors exit 2, Ctrl-C 130).
Heavy modules are imported inside commands so ``tunecrate --help`` is fast.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperGroup

from tunecrate.core.errors import TunecrateError


def _fail(message: str, code: int = 1) -> typer.Exit:
    sys.stderr.write(f"error: {message}\n")
    return typer.Exit(code)


class _Commands(TyperGroup):
    """The top-level group: turns tunecrate errors into one stderr line and exit code 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except TunecrateError as exc:
            raise _fail(str(exc)) from None
        except OSError as exc:
            raise _fail(exc.strerror or str(exc)) from None
        except Exception as exc:
            if not type(exc).__module__.startswith("sqlalchemy"):
                raise
            raise _fail(f"the library database failed: {str(exc).splitlines()[0]}") from None


app = typer.Typer(
    cls=_Commands,
    name="tunecrate",
    help="Mirror Spotify playlists, albums, tracks and Liked Songs into a local library of tagged MP3s.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
match_app = typer.Typer(help="Pin, list and clear the source chosen for a track.", no_args_is_help=True)
app.add_typer(match_app, name="match")


class _State:
    storage: Optional[Path] = None
    data: Optional[Path] = None


state = _State()


@app.callback()
def _global(
    storage: Optional[Path] = typer.Option(
        None, "--storage", help="Storage root for audio and playlist files [env TUNECRATE_STORAGE_ROOT; default ./storage_data]."),
    data: Optional[Path] = typer.Option(
        None, "--data", help="Data root for the database and tokens [env TUNECRATE_DATA_ROOT; default ./data]."),
) -> None:
    state.storage, state.data = storage, data
    # Errors reach the user as one line each; libraries must not log them again.
    for noisy in ("spotipy", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)


def open_library(**overrides):
    """Open the library with the global options applied."""
    from tunecrate.library.library import Library

    return Library.open(storage_root=state.storage, data_root=state.data, **overrides)


def print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def _err_console():
    from rich.console import Console

    return Console(stderr=True)


# -- loading ----------------------------------------------------------------------


def _run_load(method: str, ref: str, as_json: bool) -> None:
    from tunecrate.cli.progress import LoadProgress
    from tunecrate.cli.render import print_report

    with open_library() as lib:
        with LoadProgress(_err_console()) as progress:
            report = getattr(lib, method)(ref, progress=progress.on_event)
    if as_json:
        print_json(report.to_json())
    else:
        print_report(report)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def track(
    url: str = typer.Argument(..., help="Spotify track URL, URI or id."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Download one track into the library (kept until you remove it)."""
    _run_load("load_track", url, as_json)


@app.command()
def album(
    url: str = typer.Argument(..., help="Spotify album URL, URI or id."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Download every track of an album into the library."""
    _run_load("load_album", url, as_json)


@app.command()
def playlist(
    url: str = typer.Argument(..., help="Spotify playlist URL, URI or id."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Mirror a playlist: download its tracks and record its order.

    Prints the playlist id, title and a summary: downloaded, already present,
    unresolved, skipped and failed, with a reason for each failure.
    """
    _run_load("load_playlist", url, as_json)


# -- listing ----------------------------------------------------------------------


@app.command()
def tracks(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the tracks of the library."""
    from tunecrate.cli.render import print_tracks

    with open_library() as lib:
        rows = lib.tracks()
    print_json(rows) if as_json else print_tracks(rows)


@app.command()
def playlists(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the playlists of the library."""
    from tunecrate.cli.render import print_playlists

    with open_library() as lib:
        rows = lib.playlists()
    print_json(rows) if as_json else print_playlists(rows)


@app.command("playlist-local")
def playlist_local(
    playlist_id: str = typer.Argument(..., help="Playlist id (see `tunecrate playlists`), or `likes`."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a playlist of the library with its tracks in order (no network)."""
    from tunecrate.cli.render import print_tracks

    with open_library() as lib:
        doc = lib.playlist_local(_local_playlist_id(playlist_id))
    if as_json:
        print_json(doc)
    else:
        print_tracks(doc["tracks"], title=f"{doc['title']} ({doc['playlist_id']})", numbered=True)


def _local_playlist_id(text: str) -> str:
    from tunecrate.core.ids import parse_spotify_ref

    if text == "likes" or "/" not in text and ":" not in text:
        return text
    return parse_spotify_ref(text, "playlist").id


# -- match decisions --------------------------------------------------------------------


@match_app.command("set")
def match_set(
    track_ref: str = typer.Argument(..., metavar="TRACK", help="Spotify track URL, URI or id."),
    source: str = typer.Argument(..., help="A URL yt-dlp can download (a direct media URL too) or a local audio file."),
) -> None:
    """Pin the source of a track; it wins over search on every later load."""
    with open_library() as lib:
        result = lib.match_set(track_ref, source)
    typer.echo(f"pinned {result['track_id']} ({result['title']}) to {result['source']}")


@match_app.command("clear")
def match_clear(
    track_ref: str = typer.Argument(..., metavar="TRACK", help="Spotify track URL, URI or id."),
) -> None:
    """Forget the pinned or skipped decision of a track."""
    with open_library() as lib:
        cleared = lib.match_clear(track_ref)
    typer.echo("cleared" if cleared else "no decision recorded for that track")


@match_app.command("list")
def match_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the recorded match decisions (pinned, skipped, automatic)."""
    from tunecrate.cli.render import print_decisions

    with open_library() as lib:
        rows = lib.match_list()
    print_json(rows) if as_json else print_decisions(rows)


# -- demo ----------------------------------------------------------------------------


@app.command()
def demo(
    keep_serving: bool = typer.Option(False, "--serve", help="Keep the stand-in servers running until Ctrl-C."),
) -> None:
    """Run the main job offline: loopback Spotify and media stand-ins, then mirror the demo playlist.

    Uses the real spotipy → yt-dlp → ffmpeg → mutagen path; only the hosts are local.
    """
    from tunecrate.demo.run import run_demo

    run_demo(storage_root=state.storage, data_root=state.data, console=_err_console(),
             keep_serving=keep_serving)


def main() -> None:
    """Console entry point."""
    app()
