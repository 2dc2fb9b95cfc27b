"""`tunecrate demo`: a public playlist of over 100 entries offline, part of it found by searching YouTube Music;
a second run downloads nothing; `--serve` prints one export block that works when pasted."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from mutagen.id3 import ID3

from conftest import Cli
from tunecrate.demo.run import DEMO_PLAYLIST_SIZE, DEMO_SEARCHED
from tunecrate.demo.spotify_server import fake_id

TUNECRATE = str(Path(sys.executable).with_name("tunecrate"))


def _files(storage: Path) -> dict[str, tuple[int, int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.stat().st_size)
            for p in sorted(storage.glob("tracks/*/*.mp3"))}


def test_running_the_demo_again_downloads_nothing(cli, roots):
    first = cli("demo")
    assert first.exit_code == 0, first.output
    assert f"downloaded={DEMO_PLAYLIST_SIZE} present=0" in first.stdout
    files = _files(roots["storage_root"])
    assert len(files) == DEMO_PLAYLIST_SIZE
    ports = json.loads((roots["data_root"] / "demo-ports.json").read_text())

    again = cli("demo")
    assert again.exit_code == 0, again.output
    assert f"downloaded=0 present={DEMO_PLAYLIST_SIZE}" in again.stdout
    assert json.loads((roots["data_root"] / "demo-ports.json").read_text()) == ports
    assert _files(roots["storage_root"]) == files

    # Its ports taken by something else, the demo moves; the audio it serves there is the same, so the
    # re-pinned tracks keep their files.
    squatters = []
    for port in ports.values():
        s = socket.socket()
        s.bind(("127.0.0.1", port))
        s.listen()
        squatters.append(s)
    try:
        moved = cli("demo")
    finally:
        for s in squatters:
            s.close()
    assert moved.exit_code == 0, moved.output
    assert f"downloaded=0 present={DEMO_PLAYLIST_SIZE}" in moved.stdout
    assert set(json.loads((roots["data_root"] / "demo-ports.json").read_text()).values()).isdisjoint(ports.values())
    assert _files(roots["storage_root"]) == files


def test_demo_pins_are_not_the_users(cli, roots):
    assert cli("demo").exit_code == 0
    pins = [d for d in json.loads(cli("match", "list", "--json").stdout) if d["decision"] == "pinned"]
    assert len(pins) == DEMO_PLAYLIST_SIZE - DEMO_SEARCHED and {d["provider"] for d in pins} == {"demo"}


def test_serve_prints_one_export_block_that_works_when_pasted(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TUNECRATE_", "SPOTIPY_"))}
    env.update(TUNECRATE_STORAGE_ROOT=str(tmp_path / "storage"), TUNECRATE_DATA_ROOT=str(tmp_path / "data"),
               TUNECRATE_WORKERS="2")
    demo = subprocess.Popen([TUNECRATE, "demo", "--serve"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in demo.stdout] and None, daemon=True).start()
    try:
        block, deadline = [], time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if block or line.startswith("export "):
                block.append(line)
                if not line.rstrip("\n").endswith("\\"):
                    break
        assert block and not block[-1].rstrip("\n").endswith("\\"), "no export block on stdout"
        script = "".join(block)
        assert script.count("export ") == 1
        for name in ("TUNECRATE_SPOTIFY_WEB_URL", "TUNECRATE_SPOTIFY_PARTNER_URL", "TUNECRATE_SPOTIFY_API_URL",
                     "TUNECRATE_PROXY", "TUNECRATE_CA_BUNDLE", "TUNECRATE_PROVIDERS", "TUNECRATE_STORAGE_ROOT",
                     "TUNECRATE_DATA_ROOT"):
            assert f"{name}=" in script
        # The demo needs no Spotify app, and blanks one the shell has (the stand-in would refuse it).
        assert "SPOTIPY_CLIENT_ID='' " in script and "SPOTIPY_CLIENT_SECRET='' " in script

        # Pasted into a clean shell, it reaches the same stand-ins and the same library.
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("TUNECRATE_", "SPOTIPY_"))}
        pid = fake_id("public:playlist")
        shell = subprocess.run(["bash", "-c", f"{script}\n{TUNECRATE} sync {pid} --json"], env=clean,
                               cwd=tmp_path / "data", capture_output=True, text=True, timeout=120)
        assert shell.returncode == 0, shell.stderr
        assert json.loads(shell.stdout)["up_to_date"] is True
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=30)
        finally:
            if demo.poll() is None:
                demo.kill()
    assert demo.returncode == 0, demo.stderr.read()


def test_demo_finds_part_of_its_playlist_by_search(roots):
    cli = Cli({"TUNECRATE_STORAGE_ROOT": str(roots["storage_root"]), "TUNECRATE_DATA_ROOT": str(roots["data_root"]),
               "TUNECRATE_WORKERS": "2", "COLUMNS": "200"})
    result = cli("demo")
    assert result.exit_code == 0, result.output
    assert f"downloaded={DEMO_PLAYLIST_SIZE} present=0 unresolved=0 skipped=0 failed=0" in result.output
    pinned = DEMO_PLAYLIST_SIZE - DEMO_SEARCHED
    assert f"Pinned {pinned} demo tracks" in result.output

    tracks = {t["track_id"]: t for t in json.loads(cli("tracks", "--json").stdout)}
    by_provider = {}
    for track_id, track in tracks.items():
        by_provider.setdefault(track["source_provider"], []).append(track_id)
    assert len(by_provider.pop("pinned")) == pinned
    searched = by_provider.pop("ytmusic")
    assert len(searched) == DEMO_SEARCHED and not by_provider
    for track_id in searched:
        assert f"tunecrate match show {track_id}" in result.output

    reasons = set()
    for track_id in searched:
        shown = json.loads(cli("match", "show", track_id, "--json").stdout)
        assert shown["decision"] == "auto"
        best, *others = shown["candidates"]
        assert best["chosen"] and best["provider"] == "ytmusic"
        assert best["url"].startswith("https://music.youtube.com/watch?v=") and best["score"] >= 0.87
        assert best["why"].startswith(f"{best['score']:.2f}: ")  # the components it won on
        assert others and all(o["score"] < best["score"] for o in others)
        reasons.update(o["rejected"] or o["why"] for o in others)
        assert shown["choice"]["source"] == best["url"] == tracks[track_id]["source_url"]
        assert ID3(tracks[track_id]["path"])["TXXX:SOURCE_URL"].text == [best["url"]]
    assert "version mismatch: live" in reasons  # why the live takes lost
    videos_fallback = [json.loads(cli("match", "show", t, "--json").stdout)["candidates"][0]["title"]
                       for t in searched]
    assert any(title.endswith("(Official Video)") for title in videos_fallback)
