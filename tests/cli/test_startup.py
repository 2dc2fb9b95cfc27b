"""What a command imports: only what it uses (yt-dlp, spotipy and ytmusicapi never for a listing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tunecrate.core.settings import Settings
from tunecrate.library.library import Library

HEAVY = ("yt_dlp", "spotipy", "ytmusicapi", "requests", "mutagen", "httpx")
WATCHED = HEAVY + ("tunecrate.sources.", "tunecrate.providers.", "tunecrate.targets.", "tunecrate.library.pipeline",
                   "tunecrate.library.exporter", "tunecrate.demo")


def imported_by(args: list[str], tmp_path) -> list[str]:
    """The watched modules loaded by ``tunecrate ARGS`` in a fresh interpreter (which must succeed)."""
    code = (
        "import atexit, json, sys\n"
        f"watched = {WATCHED!r}\n"
        "atexit.register(lambda: print('MODULES=' + json.dumps(sorted(m for m in sys.modules\n"
        "    if m in watched or m.startswith(tuple(w for w in watched if w.endswith('.')))\n"
        "    or m.split('.')[0] in watched))))\n"
        f"sys.argv = ['tunecrate', *{args!r}]\n"
        "from tunecrate.cli.main import main\n"
        "main()\n"
    )
    roots = {"data_root": tmp_path / "data", "storage_root": tmp_path / "storage"}
    Library(Settings.load(environ={}, **roots)).close()  # an empty library to list
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("TUNECRATE_", "SPOTIPY_"))},
           "TUNECRATE_DATA_ROOT": str(roots["data_root"]), "TUNECRATE_STORAGE_ROOT": str(roots["storage_root"]),
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("MODULES="))
    return json.loads(line.removeprefix("MODULES="))


@pytest.mark.parametrize("args", [["--help"], ["tracks"], ["tracks", "--json"], ["playlists", "--json"],
                                  ["match", "skip", "4uLU6hMCjMI75M1A2tKUQC"]])
def test_listings_and_decisions_import_no_service_module(args, tmp_path):
    assert imported_by(args, tmp_path) == []


def test_a_bad_provider_setting_stops_a_load_before_anything_changes(cli, demo, roots):
    result = cli("playlist", demo.playlist_url, TUNECRATE_YTMUSIC_LIMIT="0")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "ytmusic_limit (TUNECRATE_YTMUSIC_LIMIT)" in result.stderr
    assert json.loads(cli("tracks", "--json").stdout) == []
    assert json.loads(cli("playlists", "--json").stdout) == []
    # A listing does not use the providers: their settings do not stop it.
    assert cli("tracks", TUNECRATE_YTMUSIC_LIMIT="0").exit_code == 0


def test_config_keys_are_checked_at_start_up(cli, roots):
    Library(Settings.load(environ={}, **roots)).close()
    config = roots["data_root"] / "config.toml"
    config.write_text("music_dirs = []\n")
    assert cli("tracks").exit_code == 0  # a module's key
    config.write_text("wrokers = 2\n")
    result = cli("tracks")
    assert result.exit_code == 1 and "unknown setting(s) in" in result.stderr and "wrokers" in result.stderr
