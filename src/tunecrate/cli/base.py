"""The scriptable CLI's application object and what its commands share.

Conventions: listing commands take ``--json`` and print JSON on stdout;
progress and messages go to stderr; a :class:`TunecrateError` prints one line
``error: …`` on stderr and exits 1 (usage errors exit 2, Ctrl-C 130).
Heavy modules are imported inside commands so ``tunecrate --help`` is fast.
The command modules register themselves on :data:`app`;
:mod:`tunecrate.cli.main` imports them all.
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


def fail(message: str, code: int = 1) -> typer.Exit:
    sys.stderr.write(f"error: {message}\n")
    return typer.Exit(code)


class _Commands(TyperGroup):
    """The top-level group: turns tunecrate errors into one stderr line and exit code 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except TunecrateError as exc:
            raise fail(str(exc)) from None
        except OSError as exc:
            raise fail(exc.strerror or str(exc)) from None
        except Exception as exc:
            if not type(exc).__module__.startswith("sqlalchemy"):
                raise
            from tunecrate.db.engine import damage_reason

            reason = damage_reason(exc)
            if reason is not None:
                raise fail(f"the catalogue is damaged ({reason}); run `tunecrate load-local` to set it aside "
                           "and rebuild it from the storage folder") from None
            raise fail(f"the library database failed: {str(exc).splitlines()[0]}") from None


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


def open_library(*, create: bool = True, set_aside_damaged: bool = False, **overrides):
    """Open the library with the global options applied. Listing and export commands pass ``create=False``:
    they create nothing where there is no library (see :meth:`Library.open`)."""
    from tunecrate.library.library import Library

    return Library.open(storage_root=state.storage, data_root=state.data, create=create,
                        set_aside_damaged=set_aside_damaged, **overrides)


def print_json(obj) -> None:
    """Print ``obj`` as JSON on stdout; results (anything with ``to_json()``) may be nested in it."""
    def plain(value):
        if hasattr(value, "to_json"):
            return value.to_json()
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=plain) + "\n")


def note_not_loaded(decision) -> None:
    """Say on stderr that a decision (a :class:`DecisionRecord`) is about a track not loaded yet."""
    if decision.status == "not in library":
        sys.stderr.write(f"note: {decision.track_id} is not in the library yet: the decision applies when it "
                         "is loaded\n")


def err_console():
    from rich.console import Console

    return Console(stderr=True)


def confirm_or_refuse(question: str, yes: bool) -> None:
    """Ask before deleting, unless ``yes``; without a terminal to ask on, refuse (exit 1)."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise fail("this deletes files; run it in a terminal to confirm, or pass --yes")
    typer.confirm(question, abort=True)
