"""SIGKILL a real `tunecrate sync` at several moments; the library must stay consistent and recover."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tunecrate.demo.spotify_server import fake_id
from tunecrate.library.maintenance import check_mp3
from tunecrate.media.tagging import read_tags

KILL_DELAYS_S = (0.6, 1.0, 1.4, 1.8, 2.2, 2.8)


def check_invariants(roots) -> dict[str, str]:
    """Assert the library's invariants; return ``{track_id: status}``."""
    storage, db_path = roots["storage_root"], roots["data_root"] / "tunecrate.sqlite3"
    with sqlite3.connect(db_path) as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)
        assert db.execute("pragma foreign_key_check").fetchall() == []
        rows = db.execute("select track_id, status, path, size_bytes from track").fetchall()
    for track_id, status, path, size in rows:
        if status == "downloaded":
            problem = check_mp3(storage / path, size)
            assert problem is None, f"row {track_id} points at a bad file: {problem}"
        else:
            assert path is None
    for file in (storage / "tracks").glob("*/*"):
        assert file.suffix == ".mp3", f"stray file under tracks/: {file}"
        assert check_mp3(file, None) is None, f"partial file under tracks/: {file}"
        assert read_tags(file).track.track_id == file.stem
    return {track_id: status for track_id, status, _, _ in rows}


def run_sync(env, target, kill_after_s=None):
    proc = subprocess.Popen([sys.executable, "-m", "tunecrate", "sync", target], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if kill_after_s is None:
        out, err = proc.communicate(timeout=120)
        return proc.returncode, out, err
    time.sleep(kill_after_s)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    return proc.returncode, "", ""


@pytest.mark.timeout(600)
def test_sigkill_at_any_moment_leaves_a_consistent_library(cli, world, demo, roots):
    for track_id, url in demo.sources.items():
        assert cli("match", "set", track_id, url).exit_code == 0
    env = {**os.environ, **cli.env, "TUNECRATE_WORKERS": "1"}
    tracks = [world.spotify._tracks[t] for t in demo.track_ids]
    pid = fake_id("crash-playlist")
    world.spotify.add_playlist(pid, "Crash", tracks[:4])

    # Phase 1: the first load, killed at increasing moments.
    states = []
    for delay in KILL_DELAYS_S:
        code, _, _ = run_sync(env, pid, kill_after_s=delay)
        states.append(check_invariants(roots) if (roots["data_root"] / "tunecrate.sqlite3").exists() else {})
        if code == 0:
            break
    assert any(s and list(s.values()).count("downloaded") < 4 for s in states), \
        "no kill landed in the middle of the work; the test proves nothing"
    code, out, err = run_sync(env, pid)
    assert code == 0, err
    assert list(check_invariants(roots).values()).count("downloaded") == 4
    assert list((roots["storage_root"] / "tmp").iterdir()) == []

    # Phase 2: a sync that adds, removes and prunes, killed at increasing moments.
    world.spotify.set_playlist_items(pid, [tracks[5], tracks[0], tracks[4], tracks[2]])
    for delay in KILL_DELAYS_S[:4]:
        run_sync(env, pid, kill_after_s=delay)
        check_invariants(roots)
        order = [t["track_id"] for t in json.loads(cli("playlist-local", pid, "--json").stdout)["tracks"]]
        assert order in ([t["id"] for t in tracks[:4]], [tracks[i]["id"] for i in (5, 0, 4, 2)]), \
            "a reader saw a half-written playlist"
    code, out, err = run_sync(env, pid)
    assert code == 0, err
    statuses = check_invariants(roots)
    assert sorted(statuses) == sorted(tracks[i]["id"] for i in (0, 2, 4, 5))
    assert set(statuses.values()) == {"downloaded"}
    gc = cli("gc", "--dry-run")
    assert "orphan track" not in gc.stdout
