"""The CLI's surface: usage lines, --version and -h, the command list, examples, readable usage errors,
and tables that keep ids whole."""

from __future__ import annotations

import re

import click
import pytest
import typer.main
from typer.testing import CliRunner

from tunecrate.cli.main import app


def _commands():
    """``(path, command)`` for every visible command and group, ``tunecrate`` itself excluded."""
    found = []

    def walk(group, prefix):
        for name, cmd in group.commands.items():
            if cmd.hidden:
                continue
            found.append((f"{prefix}{name}", cmd))
            if isinstance(cmd, click.Command) and getattr(cmd, "commands", None):
                walk(cmd, f"{prefix}{name} ")

    walk(typer.main.get_command(app), "")
    return found


COMMANDS = _commands()
LEAVES = [(path, cmd) for path, cmd in COMMANDS if not getattr(cmd, "commands", None)]


def _help(*args: str, columns: int = 100) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS])
def test_usage_and_arguments_name_things_one_way(path):
    text = _help(*path.split())
    usage = text.splitlines()[0]
    assert usage.startswith(f"Usage: tunecrate {path} ")
    assert not re.search(r"[{}<>]|\[\[", usage), usage
    pieces = usage.split()[3 + path.count(" "):]
    for piece in pieces:
        bare = piece.strip("[].")
        assert bare == "OPTIONS" or bare == "COMMAND" or bare == "ARGS" or re.fullmatch(r"[A-Z][A-Z-]*", bare), usage
    # The name column of the Arguments and Options sections: no types in angle brackets.
    names = []
    for section in ("Arguments", "Options"):
        found = re.search(rf"^{section}:\n((?:  .*\n|\n(?=  ))*)", text, re.M)
        if found:
            names += [line.strip().split("  ")[0] for line in found.group(1).splitlines() if re.match(r"  \S", line)]
    assert names and not [n for n in names if re.search(r"[<>{}]", n)], names


@pytest.mark.parametrize("path", [p for p, _ in LEAVES])
def test_every_command_shows_an_example(path):
    text = _help(*path.split())
    assert re.search(rf"Example[s]?:\s*\n?\s*\$?\s*(\S+ )?.*tunecrate {re.escape(path)}\b", text), text


@pytest.mark.parametrize("group", ["", "match", "sources"])
def test_command_lists_are_never_cut(group):
    for columns in (80, 100):
        text = _help(*group.split(), columns=columns)
        listing = text.split("Commands:", 1)[1]
        assert "..." not in listing and "…" not in listing, listing


def test_version_and_short_help():
    runner = CliRunner()
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and re.fullmatch(r"tunecrate \d+\.\d+\.\d+\S*\n", version.output)
    assert runner.invoke(app, ["-h"]).output == runner.invoke(app, ["--help"]).output
    assert runner.invoke(app, ["track", "-h"]).output == runner.invoke(app, ["track", "--help"]).output


def test_an_unknown_export_format_reads_well(cli, tmp_path):
    result = cli("export", "likes", str(tmp_path / "x.pls"), "--format", "pls")
    assert result.exit_code == 2
    assert "'pls'" in result.stderr and "m3u8" in result.stderr
    assert "Value error" not in result.stderr and "pydantic" not in result.stderr.lower()


def test_track_ids_in_tables_stay_whole_at_80_columns(cli, demo):
    for track_id, url in demo.sources.items():
        assert cli("match", "set", track_id, url).exit_code == 0
    assert cli("playlist", demo.playlist_url).exit_code == 0
    for args in (("tracks",), ("playlist-local", demo.playlist_id), ("match", "list"), ("playlists",)):
        out = cli(*args, COLUMNS="80").stdout
        assert max(len(line) for line in out.splitlines()) <= 80, out
        ids = demo.track_ids if args[0] != "playlists" else [demo.playlist_id]
        for track_id in ids:
            assert track_id in out, (args, out)


def test_skipped_entries_are_explained(cli, demo):
    for track_id, url in demo.sources.items():
        assert cli("match", "set", track_id, url).exit_code == 0
    out = cli("playlist", demo.playlist_url).stdout
    assert "skipped entry #3: an empty entry" in out
    assert "skipped entry #5 'My Own Recording': a local file" in out
    assert "'A Podcast Episode': a podcast episode" in out and "'Gone From Spotify': no longer available" in out
    assert ": null" not in out
