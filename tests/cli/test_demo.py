"""`tunecrate demo`: a second run downloads nothing; `--serve` prints one export block that works when pasted."""

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

from tunecrate.demo.spotify_server import fake_id

TUNECRATE = str(Path(sys.executable).with_name("tunecrate"))


def _files(storage: Path) -> dict[str, tuple[int, int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.stat().st_size)
            for p in sorted(storage.glob("tracks/*/*.mp3"))}


def test_running_the_demo_again_downloads_nothing(cli, roots):
    first = cli("demo")
    assert first.exit_code == 0, first.output
    assert "downloaded=6 present=0" in first.stdout
    files = _files(roots["storage_root"])
    assert len(files) == 6
    ports = json.loads((roots["data_root"] / "demo-ports.json").read_text())

    again = cli("demo")
    assert again.exit_code == 0, again.output
    assert "downloaded=0 present=6" in again.stdout
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
    assert "downloaded=0 present=6" in moved.stdout
    assert set(json.loads((roots["data_root"] / "demo-ports.json").read_text()).values()).isdisjoint(ports.values())
    assert _files(roots["storage_root"]) == files


def test_demo_pins_are_not_the_users(cli, roots):
    assert cli("demo").exit_code == 0
    decisions = json.loads(cli("match", "list", "--json").stdout)
    assert len(decisions) == 6 and {d["provider"] for d in decisions} == {"demo"}


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
        for name in ("SPOTIPY_CLIENT_ID", "SPOTIPY_CLIENT_SECRET", "TUNECRATE_SPOTIFY_API_URL",
                     "TUNECRATE_SPOTIFY_ACCOUNTS_URL", "TUNECRATE_PROVIDERS", "TUNECRATE_STORAGE_ROOT",
                     "TUNECRATE_DATA_ROOT"):
            assert f"{name}=" in script

        # Pasted into a clean shell, it reaches the same stand-ins and the same library.
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("TUNECRATE_", "SPOTIPY_"))}
        pid = fake_id("demo:playlist")
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
