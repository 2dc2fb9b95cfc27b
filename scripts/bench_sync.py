"""Sync cost on a large playlist: Spotify requests and wall time, measured in one run.

A playlist of N entries (default 2,000) is loaded into a library from the
loopback stand-ins, with every track pinned to a short generated tone (so the
library is complete quickly). Then:

- no-op sync, in a fresh Library (cold: a new Spotify client, so the token
  request counts) and again in the same one (warm);
- sync after 5% of the entries change (half removed, half replaced by new tracks).

Each line gives the wall time of the call (interpreter start-up excluded) and
the number of HTTP requests the Spotify stand-in received.

Targets: a no-op sync makes at most 2 requests and takes under 0.5 s; loading
makes at most 1 + ceil(N/50) requests to the Web API.

    python scripts/bench_sync.py [--entries 2000] [--workers N]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

from tunecrate.core.settings import Settings
from tunecrate.demo.spotify_server import fake_id, make_album, make_track
from tunecrate.demo.world import StandIns, generate_tone
from tunecrate.library.library import Library

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from standins.spotify import FaultySpotify  # noqa: E402  (the request log lives with the tests' stand-ins)


def measure(world: StandIns, call):
    """``(result, seconds, total requests, Web API requests)`` of ``call()``."""
    world.spotify.clear_requests()
    started = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - started
    api = [r for r in world.spotify.requests if r.path.startswith("/v1/")]
    return result, seconds, len(world.spotify.requests), len(api)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    n = args.entries

    with tempfile.TemporaryDirectory(prefix="tunecrate-bench-sync-") as work, StandIns(Path(work), spotify=FaultySpotify()) as world:
        work = Path(work)
        tone = generate_tone(world.ffmpeg, work / "tone.wav", 0.3, 440, codec="pcm_s16le")
        album = make_album(fake_id("bs:album"), "Sync Bench", ["Bench"], total_tracks=n + n // 10)
        tracks = [make_track(fake_id(f"bs:{i}"), f"Track {i}", ["Bench"], album, track_number=i + 1,
                             duration_ms=300, isrc=f"QZBS{i:08d}") for i in range(n + n // 10)]
        world.spotify.add_album(album, tracks)
        pid = fake_id("bs:playlist")
        world.spotify.add_playlist(pid, "Sync Bench", tracks[:n])
        settings = Settings.load(environ={}, storage_root=work / "storage", data_root=work / "data",
                                 workers=args.workers, **world.settings_overrides())

        with Library(settings) as lib:
            report, load_s, load_all, load_api = measure(world, lambda: lib.load_playlist(pid))
            for track in tracks:
                lib.match_set(track["id"], str(tone))
            report, fill_s, _, _ = measure(world, lambda: lib.sync(pid))
            if report.counts["downloaded"] != n:
                print(f"could not fill the library: {report.counts}", file=sys.stderr)
                return 1

        with Library(settings) as lib:
            cold, cold_s, cold_all, cold_api = measure(world, lambda: lib.sync(pid))
            warm, warm_s, warm_all, warm_api = measure(world, lambda: lib.sync(pid))
            changed = n // 20
            entries = tracks[: n - changed] + tracks[n: n + changed // 2]
            world.spotify.set_playlist_items(pid, entries)
            change, change_s, change_all, change_api = measure(world, lambda: lib.sync(pid))

    bound = 1 + math.ceil(n / 50)
    print(f"playlist of {n} entries, workers {args.workers}")
    print(f"first load (nothing resolvable): {load_s:7.3f} s, {load_all} requests ({load_api} Web API; "
          f"bound 1 + ceil(N/50) = {bound}: {'PASS' if load_api <= bound else 'FAIL'})")
    print(f"filling the library ({n} encodes):  {fill_s:7.3f} s")
    ok = cold.up_to_date and warm.up_to_date and cold_all <= 2 and cold_s < 0.5 and warm_s < 0.5
    print(f"no-op sync, cold:  {cold_s:7.3f} s, {cold_all} requests ({cold_api} Web API)")
    print(f"no-op sync, warm:  {warm_s:7.3f} s, {warm_all} requests ({warm_api} Web API)")
    print(f"  target <= 2 requests and < 0.5 s: {'PASS' if ok else 'FAIL'}")
    print(f"sync after {changed} entries changed ({len(change.plan.added)} added, "
          f"{len(change.plan.removed)} removed, {len(change.pruned)} pruned): "
          f"{change_s:7.3f} s, {change_all} requests ({change_api} Web API)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
