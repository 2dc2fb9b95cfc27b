"""Requests and time of the ``spotify-web`` source (public pages, no credentials), measured in one run.

Against the loopback stand-ins (the tests' request-logging subclasses, from
``tests/standins``), with no Spotify app credentials set:

- loading a public playlist of N entries (default 250): the requests to the
  embed pages and to the partner API, against the bound 1 + ceil(N/100), and
  the track-embed look-ups (none: the partner rows have what the matcher
  needs);
- the same load with the partner API down, into a fresh library whose
  provider searches every track: the embed's 100 rows, of which the first
  ``--bare`` come without a duration (their track pages have one), and the
  track-embed look-ups, made only for the tracks searched that lack what the
  matcher needs (bound: ``--bare``);
- a no-op ``sync`` of a public playlist of M entries (default 300) whose
  files are all present: requests (bound: 1 + ceil(M/100), 4 for 300) and
  wall time of the call in-process (bound: 0.5 s), in a fresh library (cold)
  and again in the same one (warm); then a sync of it with the partner API
  down, the same ``--bare`` rows without a duration: nothing is searched,
  so no track-embed look-up (bound: 0).

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
from tunecrate.core.types import Candidate, TrackInfo  # noqa: E402
from tunecrate.demo.spotify_server import fake_id, make_album, make_track  # noqa: E402
from tunecrate.demo.world import StandIns, generate_tone  # noqa: E402
from tunecrate.library.library import Library  # noqa: E402


def public_playlist(world: StandIns, name: str, n: int, bare: int = 0) -> tuple[str, list[dict]]:
    """A public playlist of ``n`` tracks (albums of 10); the embed page shows the first ``bare`` without
    a duration (their own track pages have it)."""
    tracks = []
    for a in range(-(-n // 10)):
        album = make_album(fake_id(f"{name}:album:{a}"), f"Album {a}", [f"Artist {a}"], total_tracks=10)
        songs = [make_track(fake_id(f"{name}:{a * 10 + i}"), f"Track {a * 10 + i}", [f"Artist {a}"], album,
                            track_number=i + 1, duration_ms=300)
                 for i in range(min(10, n - a * 10))]
        world.spotify.add_album(album, songs)
        tracks.extend(songs)
    pid = fake_id(f"{name}:playlist")
    world.spotify.add_playlist(pid, name, tracks, owner="someone-else", private_to_other=True)
    world.web.bare_rows(*(t["id"] for t in tracks[:bare]))
    return pid, tracks


class Searching:
    """A provider that finds nothing and counts the searches (and those for tracks lacking a duration)."""

    name = "ytmusic"

    def __init__(self) -> None:
        self.searches = self.without_duration = 0

    def search(self, track: TrackInfo) -> list[Candidate]:
        self.searches += 1
        self.without_duration += not track.knows("duration_ms")
        return []


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

        # 2. The same with the partner API down, into a fresh library that searches every track.
        searching = Searching()
        outage = settings.with_overrides(storage_root=work / "storage-outage", data_root=work / "data-outage")
        with Library(outage, providers=[searching]) as lib:
            world.web.clear_requests()
            world.web.fail_next(r"^/pathfinder/", 503, times=1 + 3)
            report = lib.load_playlist(pid)
            got = counts(world)
            bare = min(args.bare, 100)
            print(f"load with the partner API down: {report.track_count} of {n} entries seen "
                  f"({got['partner']} partner attempts), {searching.searches} tracks searched, "
                  f"{got['track embeds']} track-embed look-ups (bound {bare}: the rows without a duration), "
                  f"{searching.without_duration} searched without a duration")
            failed |= got["track embeds"] > bare or searching.without_duration > 0

        # 3. A no-op sync of M entries, every file present.
        settings = settings.with_overrides(storage_root=work / "storage-sync", data_root=work / "data-sync")
        pid, tracks = public_playlist(world, "sync", m, bare=args.bare)
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
            world.web.clear_requests()
            world.web.fail_next(r"^/pathfinder/", 503, times=1 + 3)
            report = lib.sync(pid)
            got = counts(world)
            print(f"sync of {m} entries, every file present, with the partner API down: {report.track_count} "
                  f"entries kept, {got['track embeds']} track-embed look-ups (bound 0; {min(args.bare, 100)} rows "
                  f"without a duration), {got['all']} requests")
            failed |= got["track embeds"] > 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
