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
import re
import sys
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperCommand, TyperGroup

from tunecrate.core.errors import TunecrateError


def fail(message: str, code: int = 1) -> typer.Exit:
    sys.stderr.write(f"error: {message}\n")
    return typer.Exit(code)


#: Words shown for values whose parameter names none (``--workers N``, ``--storage PATH``).
_TYPE_WORDS = {"int": "N", "int range": "N", "float": "NUMBER", "float range": "NUMBER", "str": "TEXT",
               "path": "PATH", "file": "FILE", "directory": "DIR", "bool": "BOOLEAN"}


def _value_word(label: str) -> str:
    """``<int range>`` → ``N``, ``<m3u8|pls>`` → ``[m3u8|pls]``, ``<path>`` → ``PATH``."""
    if "|" in label:
        return f"[{label}]"
    return _TYPE_WORDS.get(label, re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-").upper() or "VALUE")


def _argument_name(param) -> str:
    """``TRACK``, ``DEST``: the metavar, or the parameter's name, in capitals without brackets."""
    return (param.metavar or param.name or "").strip("[]{}<>.").replace("_", "-").upper()


class _Command(TyperCommand):
    """A command whose usage line and help name things one way: arguments in capitals (``TRACK``,
    ``[TRACK]``, ``PLAYLIST...``), values as words (``--storage PATH``), never ``{x}``, ``<str>``,
    ``[[X]]`` or ``<int range>``."""

    def collect_usage_pieces(self, ctx):
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name != "argument":
                continue
            name = _argument_name(param)
            piece = name if param.required else f"[{name}]"
            pieces.append(piece + ("..." if param.nargs != 1 else ""))
        return pieces

    def format_options(self, ctx, formatter):
        arguments, options = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            name, text = record
            if param.param_type_name == "argument":
                arguments.append((_argument_name(param) + ("..." if param.nargs != 1 else ""), text))
            else:
                options.append((re.sub(r"<([^>]*)>", lambda m: _value_word(m.group(1)), name), text))
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


class _Commands(TyperGroup):
    """The top-level group: turns tunecrate errors into one stderr line and exit code 1, lists
    commands with their whole first sentence (never cut with "..."), and gives every command and
    group under it the same help style (:class:`_Command`), those of command modules yet to come too."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _restyle(self)

    def collect_usage_pieces(self, ctx):
        pieces = [self.options_metavar] if self.options_metavar else []
        return [*pieces, self.subcommand_metavar]

    def format_commands(self, ctx, formatter):
        rows = [(name, cmd.get_short_help_str(limit=10_000)) for name, cmd in self.commands.items()
                if not cmd.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def format_options(self, ctx, formatter):
        _Command.format_options(self, ctx, formatter)
        self.format_commands(ctx, formatter)

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


def _restyle(group: TyperGroup) -> None:
    for cmd in group.commands.values():
        if isinstance(cmd, TyperGroup):
            if not isinstance(cmd, _Commands):
                cmd.__class__ = _Commands
                _restyle(cmd)
        elif type(cmd) is TyperCommand:
            cmd.__class__ = _Command


app = typer.Typer(
    cls=_Commands,
    name="tunecrate",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
match_app = typer.Typer(help="Pin, list and clear the source chosen for a track.", no_args_is_help=True)
app.add_typer(match_app, name="match")


class _State:
    storage: Optional[Path] = None
    data: Optional[Path] = None


state = _State()


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"tunecrate {version('tunecrate')}")
        raise typer.Exit()


@app.callback()
def _global(
    storage: Optional[Path] = typer.Option(
        None, "--storage", metavar="PATH",
        help="Storage root for audio and playlist files [env TUNECRATE_STORAGE_ROOT; default ./storage_data]."),
    data: Optional[Path] = typer.Option(
        None, "--data", metavar="PATH",
        help="Data root for the database and tokens [env TUNECRATE_DATA_ROOT; default ./data]."),
    _version: bool = typer.Option(False, "--version", is_eager=True, callback=_show_version,
                                  help="Print the version and exit."),
) -> None:
    """Mirror Spotify playlists, albums, tracks and Liked Songs into a local library of tagged MP3s.

    \b
    Example:
      tunecrate playlist https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M
      tunecrate tracks
    """
    state.storage, state.data = storage, data
    # Errors reach the user as one line each; libraries must not log them again.
    for noisy in ("spotipy", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)


def open_library(*, create: bool = True, preview: bool = False, set_aside_damaged: bool = False, **overrides):
    """Open the library with the global options applied. Listing and export commands pass ``create=False``:
    they create nothing where there is no library; dry runs that may come before the first load add
    ``preview=True``: an empty library in memory stands in for the missing one (see :meth:`Library.open`)."""
    from tunecrate.library.library import Library

    return Library.open(storage_root=state.storage, data_root=state.data, create=create, preview=preview,
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
