"""The README and the docstrings describe the program as it is: commands and their arguments, settings,
file names, and the documents they point at."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from tunecrate.cli.main import app
from tunecrate.storage.names import numbered_filename

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text("utf-8")


def _commands_table() -> list[str]:
    """The code spans of the first column of the README's command table."""
    section = README.split("| command | what it does |", 1)[1].split("\n\n", 1)[0]
    spans = []
    for row in section.splitlines()[2:]:
        first = row.split(" | ", 1)[0]
        spans += [s.replace("\\|", "|") for s in re.findall(r"`([^`]+)`", first)]
    return spans


SPANS = _commands_table()


CLI = typer.main.get_command(app)


def _resolve(words: list[str]):
    """The click command a span names, and the words after its name."""
    command = CLI
    while words and getattr(command, "commands", None) and words[0] in command.commands:
        command = command.commands[words.pop(0)]
    return command, words


@pytest.mark.parametrize("span", SPANS)
def test_every_command_in_the_readme_table_exists_with_those_arguments(span):
    words = span.split()
    command, rest = _resolve(list(words))
    assert not getattr(command, "commands", None), f"{span!r}: {words[0]} needs a subcommand the CLI knows"
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    options = {o for p in command.params if p.param_type_name == "option" for o in p.opts}
    takes_value = {o for p in command.params if p.param_type_name == "option" and not p.is_flag for o in p.opts}
    positional, value_next = 0, False
    for token in rest:
        if value_next:  # the value of the option before it
            value_next = False
            continue
        alternatives = token.strip("[]").split("|")
        value_next = any(a in takes_value for a in alternatives)
        flags = [a for a in alternatives if a.startswith("-")]
        for flag in flags:
            assert flag in options, f"{span!r}: {command.name} has no option {flag}"
        if len(flags) < len(alternatives):
            positional += 1
    unlimited = any(p.nargs == -1 for p in arguments)
    required = sum(1 for p in arguments if p.required)
    assert unlimited or positional <= len(arguments), f"{span!r}: {command.name} takes {len(arguments)} argument(s)"
    if not any(t.startswith("[") for t in rest) and not any(f.startswith("--") for t in rest for f in t.split("|")):
        assert positional >= required, f"{span!r}: {command.name} needs {required} argument(s)"


def test_the_table_covers_every_command():
    named = set()
    for span in SPANS:
        command, _ = _resolve(span.split())
        named.add(command)
    missing = []

    def walk(group, prefix):
        for name, cmd in group.commands.items():
            if cmd.hidden:
                continue
            if getattr(cmd, "commands", None):
                walk(cmd, f"{prefix}{name} ")
            elif cmd not in named:
                missing.append(prefix + name)

    walk(CLI, "")
    assert missing == []


def test_every_environment_variable_the_code_reads_is_documented():
    names = set()
    for path in (ROOT / "src").rglob("*.py"):
        names |= set(re.findall(r"[\"'((](?:TUNECRATE|SPOTIPY)_[A-Z0-9_]+[\"')]", path.read_text("utf-8")))
    names = {n.strip("\"'()") for n in names}
    assert "TUNECRATE_CONFIG" in names and "TUNECRATE_STORAGE_ROOT" in names
    undocumented = sorted(n for n in names if f"`{n}`" not in README and f"{n}," not in README)
    assert undocumented == []


def test_zip_member_names_are_documented_as_written():
    assert f"`{numbered_filename(1, 6, ['Artist'], 'Title')}`" in README
    assert "NNN -" not in README


def test_documents_named_in_the_sources_exist():
    named = set()
    for path in (ROOT / "src").rglob("*.py"):
        named |= set(re.findall(r"[\w./-]+\.md\b", path.read_text("utf-8")))
    assert sorted(n for n in named if not (ROOT / n).is_file()) == []
