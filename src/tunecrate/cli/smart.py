"""``tunecrate smart``: the whole library, interactive, in one terminal screen.

A menu-driven session (rich prompts, tables, panels and progress) over the
same :class:`~tunecrate.library.library.Library` methods as the basic CLI. It
holds no logic of its own: every screen asks the library, renders the answer,
and calls the library again to act. What the basic CLI does is reachable
from a menu (the help screen lists the command behind each screen).

Keys: at a menu, press a number or a letter (one key is enough where the
terminal allows it; Enter after it does no harm); ``q`` goes back; at a
table, ``n``/``p`` turn pages, ``/words`` searches and ``s`` sorts. After a
result, Enter returns to the screen it came from. Ctrl-C cancels the
current operation and returns to the menu; a second Ctrl-C within
:data:`DOUBLE_INTERRUPT_S` quits. During a load or sync, Ctrl-C sets the
library's ``cancel`` event: no new track starts, the tracks in flight finish,
and the library stays consistent. Operations that cannot stop halfway (a
deletion, a mirror) finish first. Errors show in a red panel with a hint, and
the session goes on.

The screens fit an 80×24 terminal; colour follows rich, which honours
``NO_COLOR``. Without a terminal on stdin and stdout the command refuses and
points at the basic CLI.
"""

from __future__ import annotations

import math
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import typer

from tunecrate.cli.base import app, open_library
from tunecrate.core.errors import TunecrateError
from tunecrate.core.text import format_duration

if TYPE_CHECKING:  # pragma: no cover
    from rich import box
    from rich.console import Console, Group
    from rich.markup import escape
    from rich.padding import Padding
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from tunecrate.library.library import Library, LoadReport

#: Seconds within which a second Ctrl-C at the menu quits.
DOUBLE_INTERRUPT_S = 2.0
#: Where exports go unless the user types another destination (relative to the current folder).
DEFAULT_EXPORT_DIR = "exports/"
#: Where a folder mirror goes by default.
DEFAULT_MIRROR_DIR = "exports/mirror/"
#: Most rows a table shows per page (fewer on a terminal under 24 lines).
PAGE_ROWS = 15
#: Most lines a list inside a panel shows before "… and N more".
LIST_LINES = 6

_NOT_A_TERMINAL = ("error: `tunecrate smart` is interactive and needs a terminal; "
                   "in scripts use the basic commands (see `tunecrate --help`)\n")


def _import_rich() -> None:
    """Import rich on first use, as module globals: `tunecrate --help` need not load it."""
    global box, Console, Group, escape, Padding, Panel, Table, Text
    from rich import box
    from rich.console import Console, Group
    from rich.markup import escape
    from rich.padding import Padding
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text


# -- the command --------------------------------------------------------------------------


@app.command("smart")
def smart() -> None:
    """Open the interactive smart CLI: load, sync, browse, review, save and delete from menus.

    Needs a terminal. Ctrl-C cancels the current operation; twice quits.

    \b
    Example:
      tunecrate smart
    """
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        sys.stderr.write(_NOT_A_TERMINAL)
        raise typer.Exit(1)
    _import_rich()
    code = run_smart(open_library, Console(highlight=False))
    if code:
        raise typer.Exit(code)


def run_smart(lib_factory: Callable[[], "Library"], console: Console) -> int:
    """Run a smart session on ``console`` until the user quits; return the exit code.

    ``lib_factory`` opens the library (the CLI passes ``open_library``, which
    applies ``--storage``/``--data``). Returns 0 when the user quits, 130 after
    Ctrl-C twice, 1 when the library cannot be opened.
    """
    _import_rich()
    _setup_readline()
    try:
        lib = lib_factory()
    except TunecrateError as exc:
        console.print(_error_panel(exc))
        return 1
    with lib:
        code = SmartSession(lib, console).run()
    console.print("Bye." if code == 0 else "Interrupted; bye.")
    return code


# -- control flow -------------------------------------------------------------------------


class _Back(Exception):
    """The user asked to go back (``q`` or Ctrl-D)."""


class _Quit(BaseException):
    """Leave the session with ``code`` (a Ctrl-C while an operation was being cancelled)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _Home(BaseException):
    """Go straight back to the menu (after a cancelled operation), past the screens in between."""


class _Notice(Exception):
    """Nothing to do here, and the user should know why (shown in a yellow panel)."""


# -- formatting ---------------------------------------------------------------------------


def _size(n: int | None) -> str:
    """``n`` bytes as ``"4.2 MB"``."""
    if n is None:
        return "—"
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"  # pragma: no cover


def _time(ms: int | None) -> str:
    return format_duration(ms)


def _plural(n: int, word: str, words: str | None = None) -> str:
    """``"1 track"``, ``"2 tracks"`` (``words`` when the plural is not ``word + "s"``)."""
    return f"{n} {word}" if n == 1 else f"{n} {words or word + 's'}"


def _artists(row: Any) -> str:
    return ", ".join(row.artists or ())


def _label(row: Any) -> str:
    """``Artist - Title`` of a track listing row."""
    artists = _artists(row)
    return f"{artists} - {row.title}" if artists else row.title


def _where(path: Path | str) -> str:
    """``path`` relative to the current folder when it lies inside it (shorter on screen), else absolute."""
    path = Path(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _capped(lines: Sequence[Text | str], limit: int = LIST_LINES) -> list[Text | str]:
    lines = list(lines)
    if len(lines) <= limit:
        return lines
    return lines[:limit - 1] + [Text(f"  … and {len(lines) - limit + 1} more", style="dim")]


def _grid() -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    return grid


def _matches(row: Any, words: Sequence[str], fields: Sequence[str]) -> bool:
    hay = " ".join(str(v) if not isinstance(v, (list, tuple)) else " ".join(map(str, v))
                   for v in (getattr(row, f, None) for f in fields) if v).casefold()
    return all(w in hay for w in words)


_HINTS: list[tuple[str, str]] = [
    ("InvalidReference", "Paste a Spotify link (https://open.spotify.com/…) or a spotify: URI; "
                         "where a list is shown, its number works too."),
    ("AuthError", "Check SPOTIPY_CLIENT_ID and SPOTIPY_CLIENT_SECRET; Liked Songs need a login "
                  "(Settings → l, or `tunecrate login`)."),
    ("RateLimited", "Spotify asked tunecrate to wait; try again later. Nothing was changed."),
    ("ServiceUnavailable", "Check the network connection and try again. Nothing was changed."),
    ("ServiceError", "The service refused the request; check the link, then try again later."),
    ("NotFound", "Check the link or id; Browse (3) shows what the library holds."),
    ("ConfigurationError", "Settings (7) shows what tunecrate uses; the README lists every setting."),
    ("LibraryBusy", "Another tunecrate is changing this library; wait for it to finish, then try again."),
    ("StorageError", "Check the destination, the free disk space and the permissions."),
    ("DownloadError", "The track stays queued: the next load or sync tries it again."),
    ("EncodeError", "The track stays queued: the next load or sync tries it again."),
    ("TaggingError", "The track stays queued: the next load or sync tries it again."),
]


def hint_for(exc: BaseException) -> str:
    """A one-line suggestion of what to do next about ``exc``."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "AuthError" in names and "login" in str(exc).lower():
        return "Log in from Settings (7, then l), or run `tunecrate login`."
    for name, hint in _HINTS:
        if name in names:
            return hint
    if isinstance(exc, OSError):
        return "Check the path, the free disk space and the permissions."
    if isinstance(exc, TunecrateError):
        return "See the README for what each setting does; Settings (7) shows the current ones."
    return "This looks like a bug in tunecrate; please report it with the steps that led here."


def _error_panel(exc: BaseException) -> Panel:
    if isinstance(exc, TunecrateError):
        title, message = "error", str(exc)
    elif isinstance(exc, OSError):
        title = "error"
        message = exc.strerror or str(exc)
        if exc.filename:
            message += f": {exc.filename}"
    elif type(exc).__module__.startswith("sqlalchemy"):
        title, message = "error", f"the library database failed: {str(exc).splitlines()[0]}"
    else:
        title, message = "unexpected error", f"{type(exc).__name__}: {exc}"
    body = Group(Text(message), Text(""), Text(f"Hint: {hint_for(exc)}", style="italic"))
    return Panel(body, title=title, title_align="left", border_style="red", box=box.ROUNDED)


# -- readline (line editing, history, path completion) ------------------------------------------


_readline: Any = None
#: Escape sequences in a rendered prompt (readline must not count them as columns).
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def _setup_readline() -> None:
    """Load readline, if the platform has it: line editing and history for every prompt."""
    global _readline
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows
        return
    if "libedit" in (readline.__doc__ or ""):  # pragma: no cover - macOS
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")
    readline.set_completer_delims("\t\n")  # a whole answer is one path; names may hold spaces
    readline.set_completer(lambda text, state: None)
    _readline = readline


def complete_path(text: str, state: int) -> str | None:
    """readline completer: files and folders starting with ``text`` (folders end with ``/``)."""
    import glob

    expanded = os.path.expanduser(text)
    found = []
    for match in sorted(glob.glob(glob.escape(expanded) + "*")):
        if os.path.isdir(match):
            match += os.sep
        if text.startswith("~") and not expanded.startswith("~"):
            match = "~" + match[len(os.path.expanduser("~")):]
        found.append(match)
    return found[state] if state < len(found) else None


def _single_keys_possible() -> bool:
    """Whether menus can read one key press: a POSIX terminal on stdin."""
    try:
        import termios  # noqa: F401
    except ImportError:  # pragma: no cover - Windows
        return False
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


# -- the session ---------------------------------------------------------------------------------


def _in_worker(work: Callable[[], Any], on_interrupt: Callable[[], None]) -> Any:
    """Run ``work()`` in a thread and wait for it; each Ctrl-C meanwhile calls ``on_interrupt()``.

    Returns what ``work`` returned, or raises what it raised. While it runs,
    SIGINT only counts presses (no KeyboardInterrupt can land halfway through
    starting or waiting for the thread); ``on_interrupt`` runs on the main
    thread at the next poll. The main thread waits on an Event, not
    ``Thread.join``: on Python 3.11 an interrupted join can report a running
    thread as finished.
    """
    done = threading.Event()
    outcome: dict[str, Any] = {}
    presses: list[int] = []

    def target() -> None:
        try:
            outcome["result"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            outcome["error"] = exc
        finally:
            done.set()

    previous = signal.signal(signal.SIGINT, lambda signum, frame: presses.append(signum))
    try:
        threading.Thread(target=target, name="tunecrate-smart", daemon=True).start()
        while True:
            finished = done.wait(0.1)
            while presses:
                presses.pop()
                on_interrupt()
            if finished:
                break
    finally:
        signal.signal(signal.SIGINT, previous)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]



_MENU = (
    ("1", "Load", "a track, album or playlist from a Spotify link"),
    ("2", "Sync", "one playlist, Liked Songs, or all of them"),
    ("3", "Browse", "playlists and tracks: search, sort, details"),
    ("4", "Review", "matches waiting for your decision; pinned sources"),
    ("5", "Save", "a track, or a playlist as ZIP, M3U8 or folder mirror"),
    ("6", "Delete", "a track or a playlist from the library"),
    ("7", "Settings", "library, providers, ffmpeg, Spotify login, upkeep"),
    ("h", "Help", "keys, and the basic command behind each screen"),
    ("q", "Quit", ""),
)

_TRACK_FIELDS = ("title", "artists", "album", "track_id", "status")
_PLAYLIST_FIELDS = ("title", "owner", "playlist_id", "kind")


def _playlist_columns(*, synced: bool = False) -> list[tuple]:
    """Columns of a playlist table: ``(header, cell(row), column options)``."""
    columns = [
        ("Playlist", lambda r: Text(r.title), {"ratio": 1, "no_wrap": True, "overflow": "ellipsis"}),
        ("Tracks", lambda r: str(r.track_count), {"justify": "right", "width": 6}),
        ("Downloaded", lambda r: str(r.downloaded), {"justify": "right", "width": 10}),
    ]
    if synced:
        columns.append(("Synced", lambda r: (r.synced_at or "")[:16].replace("T", " "),
                        {"width": 16, "no_wrap": True}))
    else:
        columns.append(("Kind", lambda r: r.kind, {"width": 8}))
    return columns


_TRACK_SORTS: dict[str, Callable[[Any], Any]] = {
    "artist": lambda r: ([a.casefold() for a in r.artists or ()], r.title.casefold()),
    "title": lambda r: r.title.casefold(),
    "album": lambda r: ((r.album or "").casefold(), r.title.casefold()),
    "time": lambda r: r.duration_ms or 0,
    "status": lambda r: r.status or "",
}


class SmartSession:
    """One interactive session over an open library. :meth:`run` returns the exit code."""

    def __init__(self, lib: "Library", console: Console) -> None:
        self.lib = lib
        self.console = console
        self.flash: list[Text] = []
        self.last_interrupt = 0.0

    # -- main loop ---------------------------------------------------------------------------

    def run(self) -> int:
        actions: dict[str, Callable[[], None]] = {
            "1": self.load_screen, "2": self.sync_screen, "3": self.browse_screen, "4": self.review_screen,
            "5": self.save_screen, "6": self.delete_screen, "7": self.settings_screen, "h": self.help_screen,
        }
        while True:
            try:
                key = self.home()
            except KeyboardInterrupt:
                if self._interrupted("Press Ctrl-C again to quit, or choose from the menu."):
                    return 130
                continue
            except (_Back, EOFError):
                return 0
            if key == "q":
                return 0
            try:
                self._guarded(actions[key])
            except _Quit as stop:
                return stop.code

    def _guarded(self, action: Callable[[], None]) -> None:
        """Run one screen from the menu; Ctrl-C there comes back to the menu."""
        try:
            self._sub(action)
        except _Home:
            pass
        except KeyboardInterrupt:
            self._interrupted("Cancelled.")

    def _sub(self, action: Callable[[], None]) -> None:
        """Run a screen or an action; ``q``, notices and errors come back here, so the session goes on.

        Ctrl-C (KeyboardInterrupt) and :class:`_Quit` pass through to the menu.
        """
        try:
            action()
        except (_Back, EOFError):
            pass
        except _Notice as notice:
            self.console.print(Panel(Text(str(notice)), title="note", title_align="left",
                                     border_style="yellow"))
            self._pause()
        except Exception as exc:  # noqa: BLE001 - every error becomes a panel; the session goes on
            self.console.print(_error_panel(exc))
            self._pause()

    def _interrupted(self, message: str) -> bool:
        """Note a Ctrl-C; return True when it is the second within :data:`DOUBLE_INTERRUPT_S`."""
        now = time.monotonic()
        if now - self.last_interrupt < DOUBLE_INTERRUPT_S:
            return True
        self.last_interrupt = now
        if "again" not in message:
            message += " Press Ctrl-C again to quit."
        self.flash.append(Text(message, style="yellow"))
        return False

    def _pause(self) -> None:
        try:
            self.input("[dim]Press Enter to continue[/] ")
        except (EOFError, KeyboardInterrupt):
            pass

    # -- prompts -----------------------------------------------------------------------------

    def input(self, prompt: str, *, complete: Callable[[str, int], str | None] | None = None) -> str:
        """Read a line after ``prompt`` (rich markup); Tab calls ``complete`` when given.

        The styled prompt goes to :func:`input` itself, its escape codes marked
        for readline, so that line editing knows where the answer starts.
        """
        with self.console.capture() as capture:
            self.console.print(prompt, end="")
        text = capture.get()
        if _readline is None:
            return input(text)
        text = _SGR.sub(lambda m: f"\x01{m.group(0)}\x02", text)
        _readline.set_completer(complete or (lambda text, state: None))
        try:
            return input(text)
        finally:
            _readline.set_completer(lambda text, state: None)

    def ask(self, label: str, *, default: str | None = None, path: bool = False, allow_empty: bool = False) -> str:
        """A line of text; ``q`` raises :class:`_Back`; an empty answer gives ``default``, or ``""`` with
        ``allow_empty``, or asks again."""
        shown = f"{label} [{default}]" if default else label
        shown = shown if shown == "›" else shown + ":"
        while True:
            answer = self.input(f"[bold]{escape(shown)}[/] ", complete=complete_path if path else None).strip()
            if answer.lower() == "q":
                raise _Back
            if answer:
                return answer
            if default is not None:
                return default
            if allow_empty:
                return ""

    def choose(self, label: str, keys: Sequence[str], *, default: str | None = None, legend: str | None = None) -> str:
        """One of ``keys`` (case-insensitive); ``q`` raises :class:`_Back` unless it is a key.

        ``legend`` is printed (dim) above the prompt, which is then just ``›``.
        """
        keys = [k.lower() for k in keys]
        if legend:
            self.console.print(Text(legend, style="dim"))
        prompt = f"[bold]{escape(label)}[/]" + (" " + escape(f"[{default}]") if default else "")
        prompt += " " if label == "›" else ": "
        if all(len(k) == 1 for k in keys) and _single_keys_possible():
            answer = self._read_key(prompt, [*keys, *(["q"] if "q" not in keys else [])], default)
            if answer == "q" and "q" not in keys:
                raise _Back
            return answer
        while True:
            answer = self.input(prompt).strip().lower()
            if answer in ("yes", "no") and answer[0] in keys:
                answer = answer[0]
            if not answer and default is not None:
                return default
            if answer in keys:
                return answer
            if answer == "q":
                raise _Back
            if answer:
                self.console.print(f"[yellow]Choose one of: {escape(', '.join(keys))}[/]")

    def _read_key(self, prompt: str, keys: Sequence[str], default: str | None) -> str:
        """One key press from ``keys`` without waiting for Enter (the terminal in cbreak mode: Ctrl-C
        still interrupts). Enter alone gives ``default``; an Enter typed right after the key is
        swallowed, so that typing ``1`` then Enter works as well. Ctrl-D raises ``EOFError``."""
        import select
        import termios
        import tty

        fd = sys.stdin.fileno()
        self.console.print(prompt, end="")
        self.console.file.flush()
        saved = termios.tcgetattr(fd)
        try:
            tty.setcbreak(fd, termios.TCSANOW)
            while True:
                data = os.read(fd, 64).decode("utf-8", "replace")
                if not data:
                    raise EOFError
                key, rest = data[0], data[1:]
                if key == "\x04":
                    raise EOFError
                if key in "\r\n":
                    if default is not None:
                        self.console.print(default, markup=False, highlight=False)
                        return default
                    continue
                if key == "\x1b":  # an arrow or function key: its escape sequence is ignored
                    continue
                if key.lower() in keys:
                    if not rest and select.select([fd], [], [], 0.05)[0]:
                        os.read(fd, 64)  # the Enter typed right after the key
                    self.console.print(key.lower(), markup=False, highlight=False)
                    return key.lower()
                self.console.print(f"\n[yellow]Choose one of: {escape(', '.join(keys))}[/]")
                self.console.print(prompt, end="")
                self.console.file.flush()
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)

    def confirm(self, label: str, *, default: bool = False) -> bool:
        answer = self.choose(f"{label} (y/n)", ["y", "n"], default="y" if default else "n")
        return answer == "y"

    # -- screens: frame ----------------------------------------------------------------------------

    def screen(self, title: str, subtitle: str | None = None) -> None:
        self.console.clear()
        self.console.rule(f"[bold]tunecrate[/] › {escape(title)}", align="left")
        if subtitle:
            self.console.print(Text(subtitle, style="dim"))

    @property
    def page_rows(self) -> int:
        return max(5, min(PAGE_ROWS, self.console.height - 9))

    def home(self) -> str:
        self.console.clear()
        header = Table.grid(expand=True)
        header.add_column(no_wrap=True)
        header.add_column(justify="right", no_wrap=True)
        where = str(self.lib.settings.storage_root)
        room = self.console.width - 20
        if len(where) > room:
            where = "…" + where[-room + 1:]
        header.add_row(Text.assemble(("tunecrate", "bold"), " smart"), Text(where, style="dim"))
        self.console.print(header)
        try:
            self.console.print(self._stats_panel())
        except Exception as exc:  # noqa: BLE001 - a broken database still lets the user reach Settings
            self.console.print(_error_panel(exc))
        menu = Table.grid(padding=(0, 2))
        menu.add_column(style="bold cyan", justify="right")
        menu.add_column(style="bold")
        menu.add_column(style="dim")
        for key, name, what in _MENU:
            menu.add_row(key, name, what)
        self.console.print(Padding(menu, (0, 0, 0, 1)))
        for line in self.flash:
            self.console.print(line)
        self.flash = []
        return self.choose("Choose", [k for k, _, _ in _MENU])

    def _stats_panel(self) -> Panel:
        s = self.lib.stats()
        stats = Table.grid(padding=(0, 3), expand=True)
        for _ in range(3):
            stats.add_column()
        stats.add_row(f"Tracks [bold]{s.tracks}[/] ({s.downloaded} downloaded)",
                      f"Playlists [bold]{s.playlists}[/]", f"Disk used [bold]{_size(s.disk_bytes)}[/]")
        review = f"[bold yellow]{s.review}[/]" if s.review else "[bold]0[/]"
        retry = f"[bold yellow]{s.retry}[/]" if s.retry else "[bold]0[/]"
        stats.add_row(f"Waiting for review {review}", f"To retry {retry}", "")
        return Panel(stats, box=box.ROUNDED, padding=(0, 1))

    # -- long operations ---------------------------------------------------------------------------

    def run_tracks(self, work: Callable[[Callable, threading.Event], Any]) -> tuple[Any, bool]:
        """Run ``work(progress, cancel)`` (a load or sync) in a worker thread under live progress.

        Ctrl-C sets ``cancel``: workers start no new track and the tracks in
        flight finish. A second Ctrl-C quits once they have. Returns
        ``(result, cancelled)``; re-raises what ``work`` raised.
        """
        from tunecrate.cli.progress import LoadProgress

        cancel = threading.Event()
        quit_after = False

        def on_interrupt() -> None:
            nonlocal quit_after
            if cancel.is_set():
                quit_after = True
                self.console.print("[yellow]Quitting as soon as the tracks in flight are done…[/]")
            else:
                cancel.set()
                self.console.print("[yellow]Cancelling: waiting for the tracks in flight to finish…[/]")

        self.console.print(Text("Ctrl-C cancels: the tracks in flight finish, nothing new starts.", style="dim"))
        with LoadProgress(self.console) as progress:
            result = _in_worker(lambda: work(progress.on_event, cancel), on_interrupt)
        if quit_after:
            raise _Quit(130)
        return result, cancel.is_set()

    def shielded(self, label: str, work: Callable[[], Any]) -> Any:
        """Run ``work()``, which must not stop halfway (a deletion, a mirror), under a spinner.

        Ctrl-C only says so; the work finishes, then the session returns to the menu.
        """
        interrupted = False

        def on_interrupt() -> None:
            nonlocal interrupted
            interrupted = True
            self.console.print("[yellow]This cannot stop halfway; finishing it first…[/]")

        with self.console.status(label):
            result = _in_worker(work, on_interrupt)
        if interrupted:
            self.last_interrupt = time.monotonic()
            self.flash.append(Text("Finished before stopping. Press Ctrl-C again to quit.", style="yellow"))
            raise _Back
        return result

    def _after_cancel(self, title: str, reports: Sequence["LoadReport"]) -> None:
        """Back to the menu after a cancelled load or sync, saying what is left to do."""
        from tunecrate.library.results import CANCELLED

        left = sum(1 for r in reports for f in r.failures if f.reason == CANCELLED)
        done = sum(r.counts.get("downloaded", 0) for r in reports)
        self.last_interrupt = time.monotonic()
        self.flash.append(Text(
            f"Cancelled {title}: {_plural(done, 'track')} downloaded, {left} left for the next load or sync. "
            "Press Ctrl-C again to quit.", style="yellow"))
        raise _Home

    # -- reports -------------------------------------------------------------------------------

    def report_panel(self, report: "LoadReport") -> Panel:
        from tunecrate.cli.render import summary_line, sync_line

        lines: list[Text | str] = []
        if report.up_to_date:
            lines.append(Text("Up to date: nothing to download.", style="green"))
        lines.append(Text(summary_line(report.counts), style="bold"))
        if report.plan is not None and not report.up_to_date:
            lines.append(Text(sync_line(report)))
        lines += _capped([Text(f"  {f.status}: {f.title} — {f.reason}") for f in report.failures])
        if report.skipped_entries:
            lines.append(Text(f"Skipped {_plural(len(report.skipped_entries), 'source entry', 'source entries')}:",
                              style="dim"))
            lines += _capped([Text(f"  {e.describe()}", style="dim") for e in report.skipped_entries], 4)
        lines += _capped([Text(f"warning: {w}", style="yellow") for w in report.warnings], 3)
        if report.pruned:
            lines.append(Text(f"Removed {_plural(len(report.pruned), 'track')} no playlist needs any more."))
        style = "green" if report.ok else "red"
        return Panel(Group(*lines), title=f"{report.kind} · {escape(report.title)}", title_align="left",
                     border_style=style)

    # -- 1 load ------------------------------------------------------------------------------------

    def load_screen(self) -> None:
        """Ask for links and load them, one after the other, until ``q``."""
        while True:
            self.screen("Load", "Paste a Spotify link or URI to a track, album or playlist "
                                "(Liked Songs are under Sync). q goes back.")
            ref = self.ask("Spotify link")
            self._sub(lambda: self._load(ref))

    def _load(self, ref: str) -> None:
        report, cancelled = self.run_tracks(
            lambda progress, cancel: self.lib.load(ref, progress=progress, cancel=cancel))
        if cancelled:
            self._after_cancel(report.title, [report])
        self.console.print(self.report_panel(report))
        self._pause()

    # -- 2 sync ------------------------------------------------------------------------------------

    def sync_screen(self) -> None:
        extra = {"a": ("all playlists", self.sync_all),
                 "l": ("Liked Songs", lambda: self.sync_one("likes")),
                 "u": ("a playlist by link", lambda: self.sync_one(self.ask("Spotify playlist link")))}
        self.pager("Sync", self.lib.playlists, _playlist_columns(synced=True),
                   lambda row: self.sync_one(row.playlist_id), noun="playlist", fields=_PLAYLIST_FIELDS,
                   extra=extra, action="sync",
                   empty="No playlists yet: u syncs one by its link, l your Liked Songs.")

    def sync_one(self, target: str) -> None:
        with self.console.status("Asking Spotify what changed…"):
            preview = self.lib.sync(target, dry_run=True)
        plan = preview.plan
        if preview.up_to_date:
            self.console.print(self.report_panel(preview))
            self._pause()
            return
        lines: list[Text | str] = [Text(f"{len(plan.added)} added, {len(plan.removed)} removed, "
                                        f"{len(plan.moved)} moved, {plan.kept} kept", style="bold")]
        lines += _capped([Text(f"+ {e.title}  (at #{e.index + 1})", style="green") for e in plan.added])
        lines += _capped([Text(f"- {e.title}  (from #{e.index + 1})", style="red") for e in plan.removed])
        lines += _capped([Text(f"~ {e.title}  (moves to #{e.index + 1})") for e in plan.moved], 3)
        after = f"Downloads {_plural(len(plan.fetch), 'track')}."
        if plan.prune:
            after += f" No playlist needs {_plural(len(plan.prune), 'track')} any more: their files can go."
        lines.append(Text(after))
        self.console.print(Panel(Group(*lines), title=f"plan · {escape(preview.title)}", title_align="left"))
        keep_orphans = self._confirm_removals(len(plan.prune))
        report, cancelled = self.run_tracks(lambda progress, cancel: self.lib.sync(
            target, keep_orphans=keep_orphans, progress=progress, cancel=cancel))
        if cancelled:
            self._after_cancel(report.title, [report])
        self.console.print(self.report_panel(report))
        self._pause()

    def _confirm_removals(self, prune: int) -> bool:
        """Ask before a sync; return ``keep_orphans``. Raises :class:`_Back` when the user declines."""
        if not prune:
            if not self.confirm("Sync now?", default=True):
                raise _Back
            return False
        files = "its file" if prune == 1 else f"their {prune} files"
        answer = self.choose("›", ["y", "k", "n"], default="n",
                             legend=f"y: sync and delete {files} · k: sync but keep {files} · n: cancel")
        if answer == "n":
            raise _Back
        return answer == "k"

    def sync_all(self) -> None:
        with self.console.status("Asking Spotify what changed in every playlist…"):
            previews = self.lib.sync_all(dry_run=True)
        if not previews:
            raise _Notice("The library holds no playlists yet: load one first (menu 1).")
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=True)
        table.add_column("Playlist", ratio=1, no_wrap=True, overflow="ellipsis")
        table.add_column("State", width=10, no_wrap=True)
        for column in ("Added", "Removed", "Download", "Delete"):
            table.add_column(column, justify="right", width=8)
        prune = 0
        errors: list[Text] = []
        rows = []
        for playlist_id, result in previews:
            if isinstance(result, TunecrateError):
                rows.append((Text(playlist_id), Text("error", style="red"), "", "", "", ""))
                errors.append(Text(f"{playlist_id}: {result}", style="red"))
                continue
            plan = result.plan
            prune += len(plan.prune)
            if result.up_to_date:
                rows.append((Text(result.title), Text("up to date", style="green"), "", "", "", ""))
            else:
                rows.append((Text(result.title), "changed", str(len(plan.added)), str(len(plan.removed)),
                             str(len(plan.fetch)), str(len(plan.prune))))
        for row in rows[:self.page_rows - 5]:
            table.add_row(*row)
        self.console.print(table)
        if len(rows) > self.page_rows - 5:
            self.console.print(Text(f"… and {len(rows) - self.page_rows + 5} more playlists", style="dim"))
        for line in _capped(errors, 3):
            self.console.print(line)
        if all(not isinstance(r, TunecrateError) and r.up_to_date for _, r in previews):
            raise _Notice("Every playlist is up to date: nothing to download.")
        keep_orphans = self._confirm_removals(prune)
        results, cancelled = self.run_tracks(lambda progress, cancel: self.lib.sync_all(
            keep_orphans=keep_orphans, progress=progress, cancel=cancel))
        reports = [r for _, r in results if not isinstance(r, TunecrateError)]
        if cancelled:
            self._after_cancel("the sync of every playlist", reports)
        from tunecrate.cli.render import summary_line

        lines = []
        for playlist_id, result in results:
            if isinstance(result, TunecrateError):
                lines.append(Text(f"{playlist_id}: error: {result}", style="red"))
            else:
                lines.append(Text(f"{result.title}: " + ("up to date" if result.up_to_date
                                                         else summary_line(result.counts))))
        self.console.print(Panel(Group(*_capped(lines, self.page_rows)), title="synced", title_align="left"))
        self._pause()

    # -- 3 browse ------------------------------------------------------------------------------------

    def browse_screen(self) -> None:
        self.pager("Browse", self.lib.playlists, _playlist_columns(), self._open_playlist, noun="playlist",
                   fields=_PLAYLIST_FIELDS,
                   extra={"a": ("all tracks", self._browse_all_tracks)},
                   empty="The library holds no playlists yet: load one (menu 1), or press a for all tracks.")

    def _open_playlist(self, row: dict) -> None:
        playlist_id = row.playlist_id
        self.browse_tracks(row.title, lambda: self.lib.playlist(playlist_id).tracks)

    def _browse_all_tracks(self) -> None:
        self.browse_tracks("All tracks", self.lib.tracks)

    def browse_tracks(self, title: str, rows: Callable[[], Sequence[Any]]) -> None:
        columns = [
            ("Artist", lambda r: Text(_artists(r)), {"ratio": 2, "no_wrap": True, "overflow": "ellipsis"}),
            ("Title", lambda r: Text(r.title), {"ratio": 3, "no_wrap": True, "overflow": "ellipsis"}),
            ("Time", lambda r: _time(r.duration_ms), {"justify": "right", "width": 5}),
            ("Status", lambda r: Text(r.status, style="green" if r.status == "downloaded" else "yellow"),
             {"width": 10, "no_wrap": True}),
        ]
        self.pager(title, rows, columns, self.track_screen, noun="track", fields=_TRACK_FIELDS, sorts=_TRACK_SORTS,
                   empty="No tracks here yet.")

    def pager(self, title: str, rows: Callable[[], Sequence[Any]], columns: Sequence[tuple], open_row: Callable,
              *, noun: str, fields: Sequence[str], sorts: dict[str, Callable] | None = None,
              extra: dict[str, tuple[str, Callable[[], None]]] | None = None, empty: str = "Nothing here.",
              action: str = "open", once: bool = False) -> None:
        """A paged, searchable, sortable table; a row's number calls ``open_row(row)``.

        ``extra`` maps more keys to ``(what, callback)``. Returns on ``q``, or
        after the first row opened or callback run with ``once``.
        """
        query: list[str] = []
        sort: str | None = None
        reverse = False
        page = 0
        extra = extra or {}
        data = rows()
        note: Text | None = None
        while True:
            shown = [r for r in data if _matches(r, query, fields)]
            if sort is not None:
                shown.sort(key=sorts[sort], reverse=reverse)
            elif reverse:
                shown.reverse()
            size = self.page_rows
            pages = max(1, math.ceil(len(shown) / size))
            page = min(max(page, 0), pages - 1)
            count = _plural(len(data), noun)
            info = [f"{len(shown)} of {count}" if query else count, f"page {page + 1}/{pages}"]
            if query:
                info.append(f"search “{' '.join(query)}”")
            if sorts:
                info.append(f"sorted by {sort or 'order'}{' ↓' if reverse else ''}")
            self.screen(title, " · ".join(info))
            table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=True)
            table.add_column("#", justify="right", style="bold cyan", width=3)
            for header, _, options in columns:
                table.add_column(header, **options)
            for number, row in enumerate(shown[page * size:(page + 1) * size], page * size + 1):
                table.add_row(str(number), *(cell(row) for _, cell, _ in columns))
            if shown:
                self.console.print(table)
            else:
                self.console.print(Text(empty if not query else "No row matches the search.", style="yellow"))
            legend = [f"number: {action}", "n/p: page", "/words: search"]
            if sorts:
                legend.append("s: sort")
            legend += [f"{k}: {what}" for k, (what, _) in extra.items()]
            legend.append("q: back")
            self.console.print(Text(" · ".join(legend), style="dim"))
            if note is not None:
                self.console.print(note)
                note = None
            try:
                answer = self.ask("›", allow_empty=True)
            except _Back:
                return
            if answer.startswith("/"):
                query = answer[1:].casefold().split()
                page = 0
            elif answer.lower() == "n" or not answer:
                page += 1
            elif answer.lower() == "p":
                page -= 1
            elif answer.lower() == "s" and sorts:
                key = self.choose("Sort by " + "/".join(["order", *sorts]), ["order", *sorts])
                key = None if key == "order" else key
                reverse = not reverse if key == sort else False
                sort, page = key, 0
            elif answer.lower() in extra:
                self._sub(extra[answer.lower()][1])
                if once:
                    return
                data = rows()
            elif answer.isdigit():
                if 1 <= int(answer) <= len(shown):
                    self._sub(lambda: open_row(shown[int(answer) - 1]))
                    if once:
                        return
                    data = rows()
                else:
                    note = Text(f"No row {answer} here.", style="yellow")
            else:
                query = answer.casefold().split()  # plain words search too
                page = 0

    def track_screen(self, row: dict) -> None:
        """A track's detail view, with actions: save, delete, retag; pin, accept, skip or forget its source."""
        from tunecrate.core.errors import NotFound

        while True:
            try:
                d = self.lib.track_detail(row.track_id)
            except NotFound:
                return  # deleted meanwhile
            track_id = d.track_id
            self.screen(_label(d))
            self.console.print(self._detail_panel(d))
            actions: dict[str, tuple[str, Callable[[], None]]] = {
                "s": ("save a copy", lambda: self.save_track(track_id)),
                "d": ("delete", lambda: self.delete_track(track_id)),
                "m": ("pin a source", lambda: self.pin_source(track_id)),
            }
            if d.candidates:
                actions["a"] = ("accept a candidate", lambda: self.accept_candidate(track_id, len(d.candidates)))
            actions["k"] = ("don't download", lambda: self.skip_track(track_id))
            if d.decision:
                actions["c"] = ("forget the decision", lambda: self.clear_decision(track_id))
            if d.path:
                actions["t"] = ("rewrite tags", lambda: self.retag(track_id))
            legend = " · ".join(f"{k}: {what}" for k, (what, _) in actions.items()) + " · q: back"
            key = self.choose("›", list(actions), legend=legend)
            self._sub(actions[key][1])

    def _detail_panel(self, d: dict) -> Panel:
        grid = _grid()
        album = d.album or ""
        album_artists = ", ".join(d.album_artists or ())
        if album_artists and album_artists != _artists(d):
            album += f" ({album_artists})"
        release = []
        if d.track_number:
            release.append(f"track {d.track_number}" + (f"/{d.track_total}" if d.track_total else "")
                           + f", disc {d.disc_number or 1}")
        release += [v for v in (d.release_date, _time(d.duration_ms)) if v]
        isrc = " · ".join(v for v in (d.isrc, "explicit" if d.explicit else None) if v)
        playlists = ", ".join(p.title for p in d.playlists or ()) or "none"
        if d.added_directly:
            playlists += "; also added by you"
        status = d.status + (f" — {d.reason}" if d.reason else "")
        source = d.source_url or "—"
        if d.source_provider:
            source = f"{d.source_provider}: {source}"
        match = [f"score {d.match_score:.2f}"] if d.match_score is not None else []
        if d.decision == "pinned":
            by = d.decision_provider or "pinned"
            match.append("pinned by you" if by == "pinned" else f"pinned by the {by}")
        elif d.decision:
            match.append(f"decision: {d.decision}")
        rows = [
            ("Artists", _artists(d)), ("Album", album), ("Release", " · ".join(release)), ("ISRC", isrc),
            ("Status", status), ("Source", source), ("Match", ", ".join(match) or "—"),
            ("File", d.path or "— (not downloaded)"), ("Size", _size(d.size_bytes)),
            ("Playlists", playlists), ("Spotify", d.spotify_url),
        ]
        for name, value in rows:
            if value:
                grid.add_row(name, Text(str(value)))
        for c in (d.candidates or [])[:3]:
            grid.add_row("Candidate", Text(f"{c.get('score', 0):.2f} {c.get('provider', '')}: "
                                           f"{c.get('artist', '')} - {c.get('title', '')}"))
        return Panel(grid, title=escape(d.title), title_align="left", box=box.ROUNDED)

    # -- pickers ---------------------------------------------------------------------------------

    def pick_track(self, label: str) -> str:
        """A track id: from a link or id, or from a search of the library by words."""
        from tunecrate.core.errors import InvalidReference

        while True:
            text = self.ask(f"{label} (a link, an id, or words to search)")
            try:
                return self.lib.resolve_track_id(text)
            except InvalidReference:
                pass
            words = text.casefold().split()
            found = [r for r in self.lib.tracks() if _matches(r, words, _TRACK_FIELDS)]
            if not found:
                self.console.print(f"[yellow]No track of the library matches “{escape(text)}”.[/]")
                continue
            if len(found) == 1:
                self.console.print(Text(f"→ {_label(found[0])}", style="bold"))
                return found[0].track_id
            table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=True)
            table.add_column("#", justify="right", style="bold cyan", width=3)
            table.add_column("Track", ratio=1, no_wrap=True, overflow="ellipsis")
            table.add_column("Status", width=10)
            shown = found[:self.page_rows - 4]
            for i, row in enumerate(shown, 1):
                table.add_row(str(i), Text(_label(row)), row.status)
            self.console.print(table)
            if len(found) > len(shown):
                self.console.print(f"[dim]… and {len(found) - len(shown)} more: type more words to narrow it.[/]")
            key = self.choose("Which one", [str(i) for i in range(1, len(shown) + 1)])
            return shown[int(key) - 1].track_id

    def pick_playlist(self, title: str) -> str:
        """A playlist id of the library, chosen from a paged, searchable table."""
        if not self.lib.playlists():
            raise _Notice("The library holds no playlists yet: load one first (menu 1).")
        chosen: list[dict] = []
        self.pager(title, self.lib.playlists, _playlist_columns(), chosen.append, noun="playlist",
                   fields=_PLAYLIST_FIELDS, action="choose", once=True)
        if not chosen:
            raise _Back
        return chosen[0].playlist_id

    # -- 4 review ---------------------------------------------------------------------------------

    def _submenu(self, title: str, subtitle: Callable[[], str], items: Sequence[tuple[str, str]],
                 act: Callable[[str], None]) -> None:
        """A screen of numbered items, shown again after each one is done, until ``q``."""
        keys = [key for key, _ in items]
        while True:
            self.screen(title, subtitle())
            for key, what in items:
                self.console.print(f"[bold cyan]{key:>3}[/]  {what}")
            key = self.choose("Choose", keys)
            self._sub(lambda: act(key))

    def review_screen(self) -> None:
        self._submenu("Review", lambda: f"{_plural(self.lib.stats().review, 'track')} waiting for your decision.",
                      (("1", "Review the tracks waiting (choose a candidate, pin, skip)"),
                       ("2", "List the recorded decisions (pinned, skipped, automatic)"),
                       ("3", "Pin a source for a track (a URL or a local audio file)"),
                       ("4", "Forget the decision about a track")), self._review_action)

    def _review_action(self, key: str) -> None:
        if key == "1":
            try:
                from tunecrate.cli.review import run_review
            except ImportError:
                raise _Notice("The review flow is not part of this build yet; pin sources with 3.") from None
            self.screen("Review")
            run_review(self.lib, self.console, input_fn=lambda prompt: self.input(escape(prompt)))
            self._pause()
        elif key == "2":
            self._decisions()
        elif key == "3":
            self.pin_source(self.pick_track("Track"))
        else:
            self.clear_decision(self.pick_track("Track"))

    def _decisions(self) -> None:
        columns = [
            ("Track", lambda r: Text(_label(r) if r.title else r.track_id),
             {"ratio": 3, "no_wrap": True, "overflow": "ellipsis"}),
            ("Decision", lambda r: r.decision, {"width": 8}),
            ("Score", lambda r: f"{r.score:.2f}" if r.score is not None else "", {"width": 5}),
            ("Source", lambda r: Text(r.source or ""), {"ratio": 2, "no_wrap": True, "overflow": "ellipsis"}),
        ]

        def open_row(row: dict) -> None:
            if row.title is None:
                raise _Notice(f"Track {row.track_id} is not in the library any more; "
                              f"its decision ({row.decision}) is kept for when it comes back.")
            self.track_screen(row)

        self.pager("Decisions", self.lib.match_list, columns, open_row, noun="decision",
                   fields=("title", "artists", "track_id", "decision", "source", "status"),
                   empty="No decisions recorded yet.")

    def pin_source(self, track_id: str) -> None:
        source = self.ask("Source (a URL yt-dlp can download, or a local audio file)", path=True)
        result = self.shielded("Pinning…", lambda: self.lib.match_set(track_id, source))
        self.console.print(Panel(Text(f"Pinned {result.title or result.track_id} to {result.source}.\n"
                                      "The next load or sync of it fetches from there."),
                                 title="pinned", title_align="left", border_style="green"))
        self._pause()

    def accept_candidate(self, track_id: str, count: int) -> None:
        number = self.choose(f"Accept which candidate (1-{count})", [str(i) for i in range(1, count + 1)])
        result = self.shielded("Pinning…", lambda: self.lib.match_accept(track_id, int(number) - 1))
        self.console.print(Text(f"Pinned to {result.source}; the next load or sync fetches from there."))
        self._pause()

    def skip_track(self, track_id: str) -> None:
        if not self.confirm("Never download this track (until you forget the decision)?", default=False):
            raise _Back
        self.shielded("Saving…", lambda: self.lib.match_skip(track_id))
        self.console.print("Marked \"don't download\". A file already downloaded stays.")
        self._pause()

    def retag(self, track_id: str | None) -> None:
        what = "this track's file" if track_id else "every downloaded file"
        if not self.confirm(f"Rewrite the tags of {what} from the catalogue (no audio is fetched)?", default=True):
            raise _Back
        report = self.shielded("Rewriting tags…", lambda: self.lib.retag(track_id))
        self.console.print(f"Rewrote the tags of {_plural(report.retagged, 'file')}.")
        for line in _capped([Text(f"warning: {w}", style="yellow") for w in report.warnings], 3):
            self.console.print(line)
        self._pause()

    def clear_decision(self, track_id: str) -> None:
        cleared = self.shielded("Forgetting…", lambda: self.lib.match_clear(track_id))
        self.console.print("Decision forgotten: the next load or sync searches again." if cleared
                           else "No decision was recorded for that track.")
        self._pause()

    # -- 5 save ---------------------------------------------------------------------------------

    def save_screen(self) -> None:
        self._submenu("Save", lambda: f"Copies go to {DEFAULT_EXPORT_DIR} in the current folder unless you type "
                                      "another destination (Tab completes paths).",
                      (("1", "Save a track (an MP3 copy)"),
                       ("2", "Save a playlist as ZIP (MP3s in order, M3U8, cover)"),
                       ("3", "Write a playlist as M3U8 (points at the library's files)"),
                       ("4", "Mirror playlists into a folder (a phone, a USB stick)")), self._save_action)

    def _save_action(self, key: str) -> None:
        if key == "1":
            self.save_track(self.pick_track("Track"))
        elif key == "2":
            self.save_zip(self.pick_playlist("Save › which playlist as ZIP?"))
        elif key == "3":
            self.save_m3u8(self.pick_playlist("Save › which playlist as M3U8?"))
        else:
            self.save_mirror()

    def save_track(self, track_id: str) -> None:
        dest = self.ask("Save to (a folder, or a file ending in .mp3)", default=DEFAULT_EXPORT_DIR, path=True)
        path = self.lib.save_track(track_id, dest)
        body = Text(f"{_where(path)}\n{_size(path.stat().st_size)}")
        self.console.print(Panel(body, title="saved", title_align="left", border_style="green"))
        self._pause()

    def _export_panel(self, path: Path, result, *, cover: bool = True) -> Panel:
        from tunecrate.core.text import track_label

        lines: list[Text | str] = [Text(_where(path), style="bold")]
        counts = (f"{_plural(result.tracks, 'track')}, {_plural(result.entries, 'entry', 'entries')}, "
                  f"{_size(result.total_bytes)}")
        if cover:
            counts += f", cover {'included' if result.cover else 'none'}"
        lines.append(Text(counts))
        lines += _capped([Text(f"  not downloaded, left out: {track_label(e.artists, e.title)}", style="yellow")
                          for e in result.missing])
        lines += [Text(f"warning: {w}", style="yellow") for w in result.warnings]
        return Panel(Group(*lines), title="saved", title_align="left",
                     border_style="yellow" if result.missing else "green")

    def save_zip(self, playlist_id: str) -> None:
        dest = self.ask("Save the ZIP to (a folder, or a file ending in .zip)", default=DEFAULT_EXPORT_DIR,
                        path=True)
        # Written next to its destination and renamed when complete: Ctrl-C leaves nothing behind.
        with self.console.status("Writing the ZIP… (Ctrl-C cancels)"):
            result = self.lib.export_playlist_zip(playlist_id, dest)
        self.console.print(self._export_panel(result.path, result))
        self._pause()

    def save_m3u8(self, playlist_id: str) -> None:
        dest = self.ask("Write the M3U8 to (a folder, or a file ending in .m3u8)", default=DEFAULT_EXPORT_DIR,
                        path=True)
        absolute = self.confirm("Absolute paths? (no: paths relative to the M3U8's folder)", default=False)
        result = self.lib.export_m3u8(playlist_id, dest, absolute=absolute)
        self.console.print(self._export_panel(result.path, result, cover=False))
        self._pause()

    def save_mirror(self) -> None:
        playlists = self.lib.playlists()
        if not playlists:
            raise _Notice("The library holds no playlists yet: load one first (menu 1).")
        self.console.print(Text("Mirror: the folder will hold exactly the playlists you choose. Files the "
                                "mirror did not write are never touched.", style="dim"))
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=True)
        table.add_column("#", justify="right", style="bold cyan", width=3)
        table.add_column("Playlist", ratio=1, no_wrap=True, overflow="ellipsis")
        table.add_column("Tracks", justify="right", width=6)
        shown = playlists[:self.page_rows - 6]
        for i, row in enumerate(shown, 1):
            table.add_row(str(i), Text(row.title), str(row.track_count))
        self.console.print(table)
        while True:
            text = self.ask("Playlists (numbers like 1,3, or a for all)", default="a")
            if text.lower() == "a":
                refs = None
                break
            numbers = [t for t in text.replace(",", " ").split()]
            if numbers and all(t.isdigit() and 1 <= int(t) <= len(shown) for t in numbers):
                refs = [shown[int(t) - 1].playlist_id for t in numbers]
                break
            self.console.print(f"[yellow]Type numbers between 1 and {len(shown)}, or a.[/]")
        dest = self.ask("Mirror into folder", default=DEFAULT_MIRROR_DIR, path=True)
        with self.console.status("Comparing…"):
            plan = self.lib.mirror(refs, dest, dry_run=True)
        lines = [Text(_where(plan.dest), style="bold"),
                 Text(f"copy {len(plan.copy)}, update {len(plan.update)}, delete {len(plan.delete)}, "
                      f"release {len(plan.release)}, keep {len(plan.keep)}; {_size(plan.bytes_to_write)} to write")]
        lines += _capped([Text(f"  delete: {item.name} ({item.reason})", style="red") for item in plan.delete])
        if plan.missing:
            lines.append(Text(f"{_plural(len(plan.missing), 'track')} not downloaded yet, left out.",
                              style="yellow"))
        self.console.print(Panel(Group(*lines), title="mirror plan", title_align="left"))
        if not self.confirm("Mirror now?", default=not plan.delete):
            raise _Back
        done = self.shielded("Mirroring…", lambda: self.lib.mirror(refs, dest))
        self.console.print(Panel(Text(f"{_where(done.dest)}\ncopied {len(done.copy)}, updated {len(done.update)}, "
                                      f"deleted {len(done.delete)}, kept {len(done.keep)}"),
                                 title="mirrored", title_align="left", border_style="green"))
        self._pause()

    # -- 6 delete ---------------------------------------------------------------------------------

    def delete_screen(self) -> None:
        self._submenu("Delete", lambda: "Shows what leaves the disk and what stays first; nothing goes until "
                                        "you agree.",
                      (("1", "Delete a track"), ("2", "Delete a playlist")), self._delete_action)

    def _delete_action(self, key: str) -> None:
        if key == "1":
            self.delete_track(self.pick_track("Track"))
        else:
            self.delete_playlist(self.pick_playlist("Delete › which playlist?"))

    def delete_track(self, track_id: str) -> None:
        preview = self.lib.delete_track(track_id, dry_run=True)
        if preview.removed:
            file = preview.file
            size = _size(os.path.getsize(file)) if file and os.path.isfile(file) else "no file"
            body = Text.assemble(("Leaves the disk: ", "bold red"), f"{file or '(no file)'} ({size})")
            question = "Delete it?"
        else:
            users = ", ".join(preview.kept_by)
            verb = "uses" if len(preview.kept_by) == 1 else "use"
            if not self.lib.track_detail(track_id).added_directly:
                raise _Notice(f"{preview.title} stays on disk: {users} {verb} it. It goes when no playlist "
                              "lists it any more: remove it from the playlist on Spotify and sync, or delete "
                              "the playlist here.")
            body = Text.assemble(("Stays on disk: ", "bold green"),
                                 f"{users} {verb} it. tunecrate forgets that you added it directly; it goes "
                                 "when no playlist lists it any more.")
            question = "Forget that you added it?"
        self.console.print(Panel(body, title=f"delete · {escape(preview.title)}", title_align="left"))
        if not self.confirm(question, default=False):
            raise _Back
        self.shielded("Deleting…", lambda: self.lib.delete_track(track_id))
        self.console.print("Deleted." if preview.removed else "Done: it stays for its playlists.")
        self._pause()

    def delete_playlist(self, playlist_id: str) -> None:
        preview = self.lib.delete_playlist(playlist_id, dry_run=True)
        lines: list[Text | str] = [Text(f"Leaves the disk: {_plural(len(preview.removed), 'track')}",
                                        style="bold red")]
        lines += _capped([Text(f"  {t.title}") for t in preview.removed])
        lines.append(Text(f"Stays: {_plural(len(preview.kept), 'track')}", style="bold green"))
        lines += _capped([Text(f"  {t.title} — {t.reason}") for t in preview.kept])
        lines.append(Text("The playlist's entry list goes too.", style="dim"))
        self.console.print(Panel(Group(*lines), title=f"delete · {escape(preview.title)}", title_align="left"))
        if not self.confirm("Delete this playlist?", default=False):
            raise _Back
        done = self.shielded("Deleting…", lambda: self.lib.delete_playlist(playlist_id))
        self.console.print(f"Deleted {done.title}: {_plural(len(done.removed), 'track')} removed, "
                           f"{len(done.kept)} kept.", markup=False)
        self._pause()

    # -- 7 settings and status ---------------------------------------------------------------------

    def settings_screen(self) -> None:
        while True:
            self.screen("Settings and status")
            self.console.print(self._settings_panel())
            key = self.choose("›", ["l", "o", "f", "v", "t", "g", "r"],
                              legend="l: log in · o: log out · f: music folders · v: verify files · t: retag all · "
                                     "g: clean up · r: rebuild catalogue · q: back")
            self._sub(lambda: self._settings_action(key))

    def _settings_panel(self) -> Panel:
        s = self.lib.settings
        grid = _grid()
        grid.add_row("Audio files", Text(str(s.storage_root)))
        grid.add_row("Database", Text(str(s.database_path)))
        grid.add_row("Providers", ", ".join(s.providers) or "none (pinned sources and local music only)")
        music = [folder.path for folder in self.lib.music_folders()]
        grid.add_row("Music folders", Text(", ".join(music) or "none"))
        grid.add_row("Encoding", f"MP3 {s.audio_quality.upper()}, {_plural(s.workers, 'worker')}")
        grid.add_row("ffmpeg", Text(self._ffmpeg_line()))
        from tunecrate.sources.spotify_login import SpotifySettings

        app_settings = s.section(SpotifySettings)
        grid.add_row("Spotify app", Text(f"client id set; API {app_settings.spotify_api_url}"
                                         if app_settings.spotify_client_id
                                         else "not configured: set SPOTIPY_CLIENT_ID and SPOTIPY_CLIENT_SECRET"))
        state = self.lib.login_state()
        if state.logged_in:
            expires = time.strftime("%Y-%m-%d %H:%M", time.localtime(state.expires_at)) \
                if state.expires_at else "?"
            login = f"logged in (token until {expires}; refreshed as needed)"
        elif state.missing_scopes:
            login = f"log in again: the login lacks {', '.join(state.missing_scopes)}"
        else:
            login = "not logged in (needed for Liked Songs and your private playlists only)"
        grid.add_row("Spotify login", login)
        return Panel(grid, box=box.ROUNDED)

    def _ffmpeg_line(self) -> str:
        return self.lib.ffmpeg_info()

    def _settings_action(self, key: str) -> None:
        if key == "l":
            self.console.print("Opening the Spotify login in a browser; the address is printed below too. "
                               "Ctrl-C cancels.")
            result = self.lib.login(open_browser=True)
            self.console.print(f"[green]Logged in[/] (scope {escape(str(result.scope))}).")
            self._pause()
        elif key == "o":
            self.console.print("Logged out." if self.lib.logout() else "Was not logged in.")
            self._pause()
        elif key == "f":
            self.music_folders_screen()
        elif key == "t":
            self.retag(None)
        elif key == "v":
            with self.console.status("Checking every file…"):
                report = self.lib.verify()
            lines = [Text(f"checked {report.checked}, {_plural(len(report.problems), 'problem')}")]
            lines += _capped([Text(f"  {title}: {reason}", style="red") for _, title, reason in report.problems])
            if report.modes:
                lines.append(Text(f"{_plural(len(report.modes), 'file')} other users cannot read "
                                  f"(mode {report.modes[0][1]:04o}, want {report.want_mode:04o})", style="yellow"))
            self.console.print(Panel(Group(*lines), title="verify", title_align="left"))
            if (report.problems or report.modes) and self.confirm(
                    "Repair (queue bad tracks to be fetched again, fix file modes)?", default=True):
                done = self.shielded("Repairing…", lambda: self.lib.verify(repair=True))
                self.console.print(f"{_plural(len(done.repaired), 'track')} queued for the next load or sync, "
                                   f"{_plural(len(done.modes_fixed), 'file mode')} fixed.")
            self._pause()
        elif key == "g":
            plan = self.lib.gc_plan()
            if plan.empty:
                raise _Notice("Nothing to clean up.")
            lines = [Text(f"{_plural(len(plan.orphans), 'track')} no playlist needs, "
                          f"{len(plan.stray_tmp)} leftover work file(s), "
                          f"{len(plan.unknown_files)} file(s) with no track")]
            lines += _capped([Text(f"  {title}") for _, title, _ in plan.orphans])
            self.console.print(Panel(Group(*lines), title="clean up", title_align="left"))
            if self.confirm("Remove them?", default=False):
                self.shielded("Cleaning up…", self.lib.gc)
                self.console.print("Cleaned up.")
                self._pause()
        elif key == "r":
            if not self.confirm("Rebuild the catalogue from the audio files and playlist lists on disk? "
                                "Nothing is downloaded", default=False):
                raise _Back
            report = self.shielded("Reading the files…", self.lib.rebuild)
            self.console.print(f"Found {_plural(report.tracks, 'track')}, {_plural(report.playlists, 'playlist')}"
                               f", {_plural(report.pins, 'pin')}; {len(report.unreadable)} unreadable.")
            self._pause()

    def music_folders_screen(self) -> None:
        """Folders of the user's own music (``tunecrate sources``): list, add, remove, scan."""
        while True:
            folders = self.lib.music_folders()
            self.screen("Music folders", "Your own music: a matching file is used instead of a download. "
                                         "Nothing in these folders is ever changed.")
            table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=True)
            table.add_column("#", justify="right", style="bold cyan", width=3)
            table.add_column("Folder", ratio=1, overflow="fold")
            table.add_column("Files", justify="right", width=7)
            for i, folder in enumerate(folders, 1):
                missing = "" if folder.exists else " (missing)"
                table.add_row(str(i), Text(f"{folder.path}{missing}"), str(folder.files))
            self.console.print(table if folders else Text("No music folders yet.", style="yellow"))
            legend = "a: add a folder · r: remove one · s: scan for new and changed files · q: back"
            key = self.choose("›", ["a", "r", "s"], legend=legend)
            if key == "a":
                def add() -> None:
                    folder = self.lib.add_music_folder(self.ask("Folder", path=True))
                    self.console.print(f"Added {folder}; press s to index it.", markup=False)
                    self._pause()

                self._sub(add)
            elif key == "r" and folders:
                number = self.choose("Remove which", [str(i) for i in range(1, len(folders) + 1)])
                self._sub(lambda: self.lib.remove_music_folder(folders[int(number) - 1].path))
            elif key == "s":
                _, report = self.shielded("Scanning…", self.lib.scan_music)
                self.console.print(f"added {report.added}, updated {report.updated}, removed {report.removed}, "
                                   f"unchanged {report.unchanged}, {_plural(len(report.errors), 'error')}")
                self._pause()

    # -- help ----------------------------------------------------------------------------------------

    def help_screen(self) -> None:
        self.screen("Help")
        keys = Table.grid(padding=(0, 2))
        keys.add_column(style="bold", no_wrap=True)
        keys.add_column()
        for key, what in (("a key", "choose from a menu (no Enter needed)"),
                          ("number, Enter", "in a table, open a row"),
                          ("q", "go back (at the menu: quit)"),
                          ("n / p", "next / previous page of a table"),
                          ("/words", "search a table; / alone shows every row"),
                          ("s", "sort a table (again: reverse)"),
                          ("Tab", "complete a path when asked for a destination"),
                          ("Ctrl-C", "cancel what is running; twice quits")):
            keys.add_row(key, what)
        same = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=True)
        same.add_column("Screen", style="bold", width=9)
        same.add_column("Same as the basic command(s)", ratio=1)
        for name, commands in (("Load", "tunecrate track | album | playlist URL"),
                               ("Sync", "tunecrate sync ID | --all, tunecrate likes"),
                               ("Browse", "tunecrate playlists, playlist-local ID, tracks"),
                               ("Review", "tunecrate review, match set | list | clear"),
                               ("Save", "save-track, download-playlist-zip, export, mirror"),
                               ("Track", "path-of, save-track, match show | accept | skip, retag"),
                               ("Settings", "login, logout, sources, verify, retag --all, gc, load-local")):
            same.add_row(name, commands)
        self.console.print(Panel(Group(keys, Text(""), same), box=box.ROUNDED,
                                 title="smart CLI", title_align="left"))
        self.console.print(Text("Each screen calls the same library methods as the basic CLI.", style="dim"))
        self._pause()
