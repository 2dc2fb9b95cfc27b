"""Pipeline throughput against the ffmpeg-only encode limit, measured in one run.

N tracks (default 12) of generated audio (default 3.5 minutes each, Opus in
WebM as YouTube serves it) go through the whole pipeline from loopback
stand-ins: Spotify metadata via spotipy, download via yt-dlp, ffmpeg encode,
mutagen tags with cover, atomic placement, SQLite records.

The limit is the same encodes (same sources, same quality, same concurrency)
with nothing else around them. It is measured before and after the pipeline
run and averaged, so drift on a shared machine shows up as a spread.

    python scripts/bench_pipeline.py [--tracks 12] [--seconds 210] [--workers N]

Target: pipeline / limit >= 0.9.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tunecrate.core.settings import Settings
from tunecrate.demo.spotify_server import fake_id, make_album, make_track
from tunecrate.demo.world import StandIns, generate_tone
from tunecrate.library.library import Library
from tunecrate.media.ffmpeg import encode_mp3, find_ffmpeg


def ffmpeg_only(ffmpeg: str, sources: list[Path], out_dir: Path, workers: int, quality: str) -> float:
    """Seconds to encode every source once at ``workers`` concurrency."""
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda p: encode_mp3(ffmpeg, p, out_dir / f"{p.stem}.mp3", quality), sources))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=210.0, help="length of each generated track")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--quality", choices=("v0", "320"), default="v0")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "tunecrate-bench-media",
                        help="where generated audio is kept between runs")
    args = parser.parse_args()

    ffmpeg = find_ffmpeg()
    print(f"ffmpeg: {ffmpeg}")
    print(f"generating {args.tracks} x {args.seconds:.0f} s of audio in {args.cache} (cached) ...", flush=True)
    sources = [generate_tone(ffmpeg, args.cache / "media" / f"bench-{i}.webm", args.seconds, 200 + 37 * i)
               for i in range(args.tracks)]

    with tempfile.TemporaryDirectory(prefix="tunecrate-bench-") as work, StandIns(args.cache, ffmpeg) as world:
        work = Path(work)
        album = make_album(fake_id("bench:album"), "Bench", ["Bench Band"], total_tracks=args.tracks,
                           images=world.images("bench-cover", "0x884400"))
        tracks = [make_track(fake_id(f"bench:{i}"), f"Bench Song {i}", ["Bench Band"], album,
                             duration_ms=int(args.seconds * 1000), isrc=f"QZBEN{i:07d}", track_number=i + 1)
                  for i in range(args.tracks)]
        world.spotify.add_album(album, tracks)
        playlist_id = fake_id("bench:playlist")
        world.spotify.add_playlist(playlist_id, "Bench", tracks)

        before = ffmpeg_only(ffmpeg, sources, work / "ffmpeg-before", args.workers, args.quality)

        settings = Settings.load(environ={}, storage_root=work / "storage", data_root=work / "data",
                                 workers=args.workers, audio_quality=args.quality, **world.settings_overrides())
        with Library(settings) as lib:
            for track, source in zip(tracks, sources):
                lib.match_set(track["id"], world.media.add_file(source.name, source))
            started = time.perf_counter()
            report = lib.load_playlist(playlist_id)
            pipeline = time.perf_counter() - started
        if report.counts["downloaded"] != args.tracks:
            print(f"pipeline failed: {report.counts} {report.failures}", file=sys.stderr)
            return 1

        after = ffmpeg_only(ffmpeg, sources, work / "ffmpeg-after", args.workers, args.quality)

    limit = (before + after) / 2
    per_min = lambda seconds: args.tracks / seconds * 60  # noqa: E731
    print(f"tracks: {args.tracks} x {args.seconds:.0f} s, quality {args.quality}, workers {args.workers}")
    print(f"ffmpeg-only limit: {per_min(limit):6.1f} tracks/min "
          f"({before:.2f} s before, {after:.2f} s after the pipeline run)")
    print(f"full pipeline:     {per_min(pipeline):6.1f} tracks/min ({pipeline:.2f} s)")
    ratio = limit / pipeline
    print(f"ratio pipeline/limit: {ratio:.3f}  (target >= 0.90: {'PASS' if ratio >= 0.9 else 'FAIL'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
