"""Requests and time of the ``spotify-web`` source (public pages, no credentials), measured in one run.

Against the loopback stand-ins (the tests' request-logging subclasses, from
``tests/standins``), with no Spotify app credentials set:

- loading a public playlist of N entries (default 250): the requests to the
  embed pages and to the partner API, against the bound 1 + ceil(N/100), and
  the track-embed look-ups (made only for rows that lack what the matcher
  needs: none when the partner API answers);
- the same with the partner API down: the embed's 100 rows, and the
  look-ups for the rows among them that lack a duration (``--bare`` of them);
- a no-op ``sync`` of a public playlist of M entries (default 300) whose
  files are all present: requests (bound: 1 + ceil(M/100), 4 for 300) and
  wall time of the call in-process (bound: 0.5 s), in a fresh library (cold)
  and again in the same one (warm).

    python scripts/bench_sources.py [--entries 250] [--sync-entries 300] [--bare 3]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from standins.spotify import FaultySpotify  # noqa: E402
from standins.spotify_web import FaultySpotifyWeb  # noqa: E402
from tunecrate.core.settings import Settings  # noqa: E402
from tunecrate.demo.spotify_server import fake_id, make_album, make_track  # noqa: E402
from tunecrate.demo.world import StandIns, generate_tone  # noqa: E402
from tunecrate.library.library import Library  # noqa: E402


def public_playlist(world: StandIns, name: str, n: int, bare: int = 0) -> tuple[str, list[dict]]:
    """A public playlist of ``n`` tracks (albums of 10); the first ``bare`` have no duration."""
    tracks = []
    for a in range(-(-n // 10)):
        album = make_album(fake_id(f"{name}:album:{a}"), f"Album {a}", [f"Artist {a}"], total_tracks=10)
        songs = [make_track(fake_id(f"{name}:{a * 10 + i}"), f"Track {a * 10 + i}", [f"Artist {a}"], album,
                            track_number=i + 1, duration_ms=0 if a * 10 + i < bare else 300)
                 for i in range(min(10, n - a * 10))]
        world.spotify.add_album(album, songs)
        tracks.extend(songs)
    pid = fake_id(f"{name}:playlist")
    world.spotify.add_playlist(pid, name, tracks, owner="someone-else", private_to_other=True)
    return pid, tracks


def counts(world: StandIns) -> dict[str, int]:
    web = world.web
    return {"embed": len(web.requests_to(r"^/embed/(playlist|album)/")),
            "partner": len(web.requests_to(r"^/pathfinder/")),
            "track embeds": len(web.requests_to(r"^/embed/track/")),
            "all": len(web.requests), "web api": len(world.spotify.requests)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=250)
    parser.add_argument("--sync-entries", type=int, default=300)
    parser.add_argument("--bare", type=int, default=3, help="rows without a duration, for the outage case")
    args = parser.parse_args()
    n, m = args.entries, args.sync_entries
    spotify = FaultySpotify()
    failed = False

    with tempfile.TemporaryDirectory(prefix="tunecrate-bench-sources-") as work, \
            StandIns(Path(work), spotify=spotify, web=FaultySpotifyWeb(spotify)) as world:
        work = Path(work)
        settings = Settings.load(environ={}, storage_root=work / "storage", data_root=work / "data",
                                 workers=2, **world.settings_overrides(credentials=False))

        # 1. Loading N entries.
        pid, _ = public_playlist(world, "load", n, bare=args.bare)
        with Library(settings) as lib:
            world.web.clear_requests()
            started = time.perf_counter()
            report = lib.load_playlist(pid)
            seconds = time.perf_counter() - started
            got = counts(world)
            bound = 1 + math.ceil(n / 100)
            print(f"load of {n} entries: {got['embed'] + got['partner']} requests "
                  f"(embed {got['embed']} + partner {got['partner']}; bound {bound}), "
                  f"{got['track embeds']} track-embed look-ups, {got['web api']} Web API requests, "
                  f"{seconds:.2f} s, {report.track_count} tracks")
            failed |= got["embed"] + got["partner"] > bound or got["web api"] > 0

            # 2. The same with the partner API down: the embed's rows, and look-ups for the bare ones.
            world.web.clear_requests()
            world.web.fail_next(r"^/pathfinder/", 503, times=1 + 3)
            partial = lib.sources.get("spotify-web").playlist(pid)
            got = counts(world)
            bare = min(args.bare, 100)
            print(f"load with the partner API down: {len(partial.entries)} of {n} entries seen "
                  f"(complete: {partial.complete}), {got['partner']} partner attempts, {got['track embeds']} "
                  f"track-embed look-ups for the {bare} rows without a duration")
            failed |= got["track embeds"] != bare or partial.complete

        # 3. A no-op sync of M entries, every file present.
        settings = settings.with_overrides(storage_root=work / "storage-sync", data_root=work / "data-sync")
        pid, tracks = public_playlist(world, "sync", m)
        tone = generate_tone(world.ffmpeg, work / "tone.wav", 0.3, 440, codec="pcm_s16le")
        with Library(settings) as lib:
            with lib._writing():
                for track in tracks:
                    lib.match_set(track["id"], str(tone))
            filled = lib.load_playlist(pid)
            if filled.counts["downloaded"] != m:
                print(f"could not fill the library: {filled.counts}", file=sys.stderr)
                return 1
        bound = 1 + math.ceil(m / 100)
        with Library(settings) as lib:  # a fresh library: new connections (cold), then the same again (warm)
            for label in ("cold", "warm"):
                world.web.clear_requests()
                started = time.perf_counter()
                report = lib.sync(pid)
                seconds = time.perf_counter() - started
                got = counts(world)
                print(f"no-op sync of {m} entries ({label}): {got['all']} requests (bound {bound}), "
                      f"{seconds * 1000:.0f} ms (bound 500 ms: {seconds / 0.5:.2f} of it), "
                      f"up to date: {report.up_to_date}")
                failed |= got["all"] > bound or seconds > 0.5 or not report.up_to_date
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
