"""Pipeline throughput against the ffmpeg-only encode limit, and command start-up, measured in one run.

Two playlists of generated audio (Opus in WebM, as YouTube serves it) go
through the whole pipeline from loopback stand-ins: Spotify metadata via
spotipy, download via yt-dlp, ffmpeg encode, mutagen tags with cover,
atomic placement, SQLite records:

- *equal*: ``--tracks`` tracks (default 12) of ``--seconds`` each (210);
- *mixed*: ``--mixed`` tracks (default 6) from 2 to 7 minutes, listed in an
  order that is not longest first.

The audio is stereo pink noise under a chord, different in each channel: it
costs LAME about what a real song does (about 2 s of one core for 3.5 min at
V0 here), where a pure tone costs a third of that and would make every fixed
cost look three times larger than a user sees it.

Each is loaded twice, each time into a new library with every track pinned
to its audio: in this process (``Library.load_playlist``) and by the CLI
(``tunecrate playlist``, a new process, start-up included).

The limit is the best schedule ffmpeg alone could have: the same encodes
(same sources, quality and concurrency) with nothing around them, once in
playlist order and once longest first; the faster of the two counts. Each
order is measured before and after the pipeline runs (in reverse order the
second time) and averaged, so drift on a shared machine shows up as a spread.

Then the start-up of commands on the CLI's library: ``--help``, ``tracks``,
``match skip`` and a no-op ``sync``, wall time (best of 5 runs) and the time
Python spent importing (``-X importtime``, summed over the top-level imports).

    python scripts/bench_pipeline.py [--tracks 12] [--seconds 210] [--mixed 6] [--workers N]

Targets: pipeline / limit >= 0.95 (the mixed playlist included); ``--help`` under 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tunecrate.core.settings import Settings
from tunecrate.demo.spotify_server import fake_id, make_album, make_track
from tunecrate.demo.world import StandIns
from tunecrate.library.library import Library
from tunecrate.media.ffmpeg import encode_mp3, find_ffmpeg

TARGET = 0.95
HELP_LIMIT_S = 0.3
#: The mixed playlist's lengths in seconds, in playlist order: 2 to 7 minutes, not longest first.
MIXED_SECONDS = (180, 420, 120, 300, 240, 360)


@dataclass
class Scenario:
    name: str
    sources: list[Path]
    seconds: list[float]


def generate_music(ffmpeg: str, dest: Path, seconds: float, seed: int) -> Path:
    """Write ``seconds`` of stereo audio that encodes like music (pink noise under two sines, another
    mix in each channel) to ``dest`` as Opus in WebM, as YouTube serves it. The same arguments give the
    same bytes; an existing non-empty ``dest`` is reused, so its name must carry the arguments."""
    if dest.is_file() and dest.stat().st_size > 0:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.stem + ".part" + dest.suffix)
    rate, base = 48000, 110 + seed % 200
    graph = ";".join([
        *(f"anoisesrc=color=pink:amplitude=0.25:seed={seed * 2 + c}:sample_rate={rate}:duration={seconds}[n{c}]"
          for c in (0, 1)),
        *(f"sine=frequency={base * k}:sample_rate={rate}:duration={seconds}[s{c}]" for c, k in ((0, 2), (1, 3))),
        "[n0][s0]amix=inputs=2:normalize=0[l]", "[n1][s1]amix=inputs=2:normalize=0[r]",
        "[l][r]join=inputs=2:channel_layout=stereo[a]",
    ])
    subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-filter_complex", graph,
                    "-map", "[a]", "-c:a", "libopus", "-b:a", "128k", "-fflags", "+bitexact", "-flags:a", "+bitexact",
                    str(tmp)], check=True, capture_output=True)
    tmp.replace(dest)
    return dest


def ffmpeg_only(ffmpeg: str, sources: list[Path], out_dir: Path, workers: int, quality: str) -> float:
    """Seconds to encode every source once at ``workers`` concurrency, in the order given."""
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda p: encode_mp3(ffmpeg, p, out_dir / f"{p.stem}.mp3", quality), sources))
    return time.perf_counter() - started


def put_on_stand_in(world: StandIns, scenario: Scenario) -> tuple[str, list[dict], list[str]]:
    """The playlist id, its Spotify tracks and their audio URLs on the stand-ins."""
    key = scenario.name
    album = make_album(fake_id(f"bench:{key}:album"), f"Bench {key}", ["Bench Band"],
                       total_tracks=len(scenario.sources), images=world.images(f"bench-{key}-cover", "0x884400"))
    tracks = [make_track(fake_id(f"bench:{key}:{i}"), f"Bench {key} {i}", ["Bench Band"], album,
                         duration_ms=int(seconds * 1000), isrc=f"QZBEN{i:07d}", track_number=i + 1)
              for i, seconds in enumerate(scenario.seconds)]
    world.spotify.add_album(album, tracks)
    playlist_id = fake_id(f"bench:{key}:playlist")
    world.spotify.add_playlist(playlist_id, f"Bench {key}", tracks)
    urls = [world.media.add_file(f"{key}-{p.name}", p) for p in scenario.sources]
    return playlist_id, tracks, urls


def pinned_library(settings: Settings, tracks: list[dict], urls: list[str]) -> None:
    with Library(settings) as lib:
        for track, url in zip(tracks, urls):
            lib.match_set(track["id"], url)


def run(scenario: Scenario, world: StandIns, work: Path, ffmpeg: str, workers: int, quality: str) -> dict:
    playlist_id, tracks, urls = put_on_stand_in(world, scenario)
    playlist_order = scenario.sources
    longest_first = [p for _, p in sorted(zip(scenario.seconds, scenario.sources), key=lambda x: -x[0])]
    base = work / scenario.name
    limit = {"playlist order": [], "longest first": []}
    for order, sources in (("playlist order", playlist_order), ("longest first", longest_first)):
        limit[order].append(ffmpeg_only(ffmpeg, sources, base / f"ffmpeg-{order}-1", workers, quality))

    overrides = {**world.settings_overrides(), "workers": workers, "audio_quality": quality}
    inproc = Settings.load(environ={}, storage_root=base / "inproc" / "storage", data_root=base / "inproc" / "data",
                           **overrides)
    pinned_library(inproc, tracks, urls)
    with Library(inproc) as lib:
        started = time.perf_counter()
        report = lib.load_playlist(playlist_id)
        in_process = time.perf_counter() - started
    if report.counts["downloaded"] != len(tracks):
        raise SystemExit(f"pipeline failed: {report.counts} {report.failures}")

    cli_roots = {"storage_root": base / "cli" / "storage", "data_root": base / "cli" / "data"}
    pinned_library(Settings.load(environ={}, **cli_roots, **overrides), tracks, urls)
    env = cli_env(world, cli_roots, workers, quality)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tunecrate", "playlist", playlist_id], env=env,
                          capture_output=True, text=True)
    via_cli = time.perf_counter() - started
    if done.returncode != 0 or f"downloaded={len(tracks)}" not in done.stdout:
        raise SystemExit(f"tunecrate playlist failed: {done.stdout}{done.stderr}")

    for order, sources in (("longest first", longest_first), ("playlist order", playlist_order)):
        limit[order].append(ffmpeg_only(ffmpeg, sources, base / f"ffmpeg-{order}-2", workers, quality))
    return {"limit": limit, "in-process": in_process, "cli": via_cli, "env": env, "playlist_id": playlist_id,
            "track_id": tracks[0]["id"]}


def cli_env(world: StandIns, roots: dict[str, Path], workers: int, quality: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith(("TUNECRATE_", "SPOTIPY_"))},
            **world.environment(), "TUNECRATE_STORAGE_ROOT": str(roots["storage_root"]),
            "TUNECRATE_DATA_ROOT": str(roots["data_root"]), "TUNECRATE_WORKERS": str(workers),
            "TUNECRATE_AUDIO_QUALITY": quality}


_IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+(\d+) \| (\S.*)$")


def start_up(env: dict[str, str], args: list[str], runs: int = 5) -> tuple[float, float]:
    """Best wall time of ``tunecrate ARGS`` over ``runs``, and the seconds spent importing (top-level imports)."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "tunecrate", *args], env=env, capture_output=True, text=True)
        best = min(best, time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"tunecrate {' '.join(args)} failed: {done.stderr.strip()}")
    traced = subprocess.run([sys.executable, "-X", "importtime", "-m", "tunecrate", *args], env=env,
                            capture_output=True, text=True)
    imports_us = sum(int(m.group(1)) for m in map(_IMPORT_LINE.match, traced.stderr.splitlines()) if m)
    return best, imports_us / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=210.0, help="length of each track of the equal playlist")
    parser.add_argument("--mixed", type=int, default=len(MIXED_SECONDS),
                        help=f"tracks of the mixed playlist (at most {len(MIXED_SECONDS)})")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--quality", choices=("v0", "320"), default="v0")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "tunecrate-bench-media",
                        help="where generated audio is kept between runs")
    args = parser.parse_args()

    ffmpeg = find_ffmpeg()
    print(f"ffmpeg: {ffmpeg}; workers {args.workers}, quality {args.quality}")
    media = args.cache / "media"
    equal = Scenario("equal", [generate_music(ffmpeg, media / f"music-{args.seconds:g}s-{i}.webm", args.seconds, i)
                               for i in range(args.tracks)], [args.seconds] * args.tracks)
    mixed_seconds = list(MIXED_SECONDS[: args.mixed])
    mixed = Scenario("mixed", [generate_music(ffmpeg, media / f"music-{s}s-mixed.webm", s, 100 + s)
                               for s in mixed_seconds], [float(s) for s in mixed_seconds])
    print(f"audio in {args.cache} (generated once, then cached)", flush=True)

    results = {}
    with tempfile.TemporaryDirectory(prefix="tunecrate-bench-") as work, StandIns(args.cache, ffmpeg) as world:
        for scenario in (equal, mixed):
            print(f"running {scenario.name}: {len(scenario.sources)} tracks, "
                  f"{sum(scenario.seconds) / 60:.1f} min of audio ...", flush=True)
            results[scenario.name] = run(scenario, world, Path(work), ffmpeg, args.workers, args.quality)
        last = results["mixed"]
        startup = {name: start_up(last["env"], argv) for name, argv in (
            ("--help", ["--help"]), ("tracks", ["tracks"]), ("match skip", ["match", "skip", last["track_id"]]),
            ("sync (no-op)", ["sync", last["playlist_id"]]))}

    worst = float("inf")
    for scenario in (equal, mixed):
        r = results[scenario.name]
        n = len(scenario.sources)
        per_min = lambda seconds: n / seconds * 60  # noqa: E731
        means = {order: sum(times) / len(times) for order, times in r["limit"].items()}
        best_order = min(means, key=means.get)
        limit = means[best_order]
        print(f"\n{scenario.name}: {n} tracks of {', '.join(f'{s / 60:.1f}' for s in scenario.seconds)} min")
        for order, times in r["limit"].items():
            mark = "  <- the limit" if order == best_order else ""
            print(f"  ffmpeg alone, {order + ':':<15} {means[order]:6.2f} s ({times[0]:.2f} before, "
                  f"{times[1]:.2f} after){mark}")
        for way in ("in-process", "cli"):
            ratio = limit / r[way]
            worst = min(worst, ratio)
            print(f"  tunecrate ({way}):{'':<{14 - len(way)}} {r[way]:6.2f} s  {per_min(r[way]):5.1f} tracks/min  "
                  f"ratio {ratio:.3f}")
    print(f"\npipeline / limit, worst of the runs: {worst:.3f} (target >= {TARGET}: "
          f"{'PASS' if worst >= TARGET else 'FAIL'})")
    print("\nstart-up (best of 5 runs; imports from -X importtime):")
    for name, (wall, imports) in startup.items():
        print(f"  tunecrate {name:<14} {wall:5.2f} s   imports {imports:5.2f} s")
    help_s = startup["--help"][0]
    print(f"--help: {help_s:.2f} s (target < {HELP_LIMIT_S}: {'PASS' if help_s < HELP_LIMIT_S else 'FAIL'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
