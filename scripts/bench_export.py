"""Benchmark the playlist exports against a plain file copy, in one run.

Builds a library of generated MP3s (a few encoded with the imageio-ffmpeg
binary, copied under many paths), then, for a 100-track and a full-size
playlist, times in separate child processes:

- plain copy:   ``shutil.copyfile`` of every track into a fresh folder, then an
                fsync of each copy (the same bytes made as durable as the exports);
- zip (file):   ``write_playlist_zip`` (temporary file, fsync, rename);
- zip (stream): ``iter_playlist_zip`` drained into /dev/null (the HTTP path);
- mirror:       ``mirror`` into an empty folder, then again with nothing to do.

Each child reports its own time and peak RSS (VmHWM), so memory is that of
the export alone (plus the interpreter: see the "idle" line). Dirty pages
are flushed (``os.sync``) before each measurement and every operation runs
``--rounds`` times, best time kept. Figures are throughput ratios to the
plain copy of the same run (target >= 0.8) and peak RSS (target < 150 MB,
flat from 100 to the full size).

Usage: python scripts/bench_export.py [--tracks 500] [--seconds 60] [--rounds 2] [--workdir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tunecrate.targets.base import ExportEntry
from tunecrate.targets.playlist_zip import iter_playlist_zip, write_playlist_zip
from tunecrate.targets.mirror import mirror

DISTINCT_ENCODES = 5
MODES = ("copy", "zip", "stream", "mirror", "mirror-again")
MB = 1_000_000


def _peak_rss_kb() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB elsewhere


def build_library(root: Path, tracks: int, seconds: int) -> None:
    """``tracks`` MP3s named ``0000.mp3``…: a few 192 kbit/s encodes of ``seconds`` ± 20 %, copied."""
    import imageio_ffmpeg

    ffmpeg = os.environ.get("TUNECRATE_FFMPEG") or imageio_ffmpeg.get_ffmpeg_exe()
    root.mkdir(parents=True, exist_ok=True)
    encodes = []
    for i in range(DISTINCT_ENCODES):
        out = root / f"encode-{i}.mp3"
        duration = seconds * (0.8 + 0.1 * i)
        if not out.exists():
            subprocess.run(
                [ffmpeg, "-loglevel", "error", "-y", "-f", "lavfi",
                 "-i", f"sine=frequency={220 + 110 * i}:duration={duration:.1f}",
                 "-c:a", "libmp3lame", "-b:a", "192k", "-metadata", f"title=Bench {i}", str(out)],
                check=True,
            )
        encodes.append(out)
    for n in range(tracks):
        path = root / f"{n:04d}.mp3"
        if not path.exists():
            shutil.copyfile(encodes[n % DISTINCT_ENCODES], path)


def _entries(library: Path, tracks: int) -> list[ExportEntry]:
    return [
        ExportEntry(f"track{n:04d}", f"Track {n}", ("Bench Artist",), 60_000, library / f"{n:04d}.mp3")
        for n in range(tracks)
    ]


def child(mode: str, library: Path, tracks: int, out: Path) -> None:
    """Run one measured operation and print ``{"seconds", "bytes", "rss_kb"}`` as JSON."""
    entries = _entries(library, tracks)
    size = sum(e.path.stat().st_size for e in entries) if mode != "idle" else 0
    start = time.perf_counter()
    if mode == "copy":
        out.mkdir()
        for e in entries:
            shutil.copyfile(e.path, out / e.path.name)
        for e in entries:
            fd = os.open(out / e.path.name, os.O_RDWR)
            os.fsync(fd)
            os.close(fd)
    elif mode == "zip":
        write_playlist_zip(out, "Bench", entries)
    elif mode == "stream":
        with open(os.devnull, "wb") as sink:
            for chunk in iter_playlist_zip("Bench", entries):
                sink.write(chunk)
    elif mode in ("mirror", "mirror-again"):
        result = mirror(out, [("Bench", entries)])
        assert (len(result.copy) == tracks + 1) if mode == "mirror" else not result.copy
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "bytes": size, "rss_kb": _peak_rss_kb()}))


def _run(mode: str, library: Path, tracks: int, out: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--library", str(library), "--tracks", str(tracks), "--out", str(out)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(proc.stdout.splitlines()[-1])


def _clear(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=500)
    parser.add_argument("--seconds", type=int, default=60, help="average track length (192 kbit/s: 24 kB per second)")
    parser.add_argument("--rounds", type=int, default=2, help="runs per operation; the best time is kept")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--library", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.library, args.tracks, args.out)
        return

    work = args.workdir or Path(tempfile.mkdtemp(prefix="tunecrate-bench-"))
    library = work / "library"
    t0 = time.perf_counter()
    build_library(library, args.tracks, args.seconds)
    total = sum((library / f"{n:04d}.mp3").stat().st_size for n in range(args.tracks))
    print(f"library: {args.tracks} tracks, {total / MB:.0f} MB ({total / args.tracks / MB:.2f} MB each), "
          f"built in {time.perf_counter() - t0:.1f} s in {work}")
    idle = _run("idle", library, 0, work / "unused")
    print(f"idle interpreter with tunecrate.storage imported: peak RSS {idle['rss_kb'] / 1024:.1f} MiB\n")

    sizes = sorted({min(100, args.tracks), args.tracks})
    rows: dict[tuple[int, str], dict] = {}
    for _ in range(args.rounds):
        for n in sizes:
            out = work / f"out-{n}"
            for mode in MODES:
                target = out.with_suffix(".zip") if mode == "zip" else out
                if mode != "mirror-again":
                    _clear(target)
                os.sync()
                r = _run(mode, library, n, target)
                best = rows.setdefault((n, mode), r)
                rows[n, mode] = {"seconds": min(r["seconds"], best["seconds"]), "bytes": r["bytes"],
                                 "rss_kb": max(r["rss_kb"], best["rss_kb"])}
                if mode in ("copy", "zip"):
                    _clear(target)
            _clear(out)

    print(f"{'tracks':>6}  {'operation':<14} {'seconds':>8} {'MB/s':>8} {'vs copy':>8} {'peak RSS MiB':>13}")
    for n in sizes:
        for mode in MODES:
            r = rows[n, mode]
            rate = "-" if mode == "mirror-again" else f"{r['bytes'] / r['seconds'] / MB:.0f}"
            ratio = "" if mode in ("copy", "mirror-again") else f"{rows[n, 'copy']['seconds'] / r['seconds']:.2f}"
            print(f"{n:>6}  {mode:<14} {r['seconds']:>8.3f} {rate:>8} {ratio:>8} {r['rss_kb'] / 1024:>13.1f}")

    big = args.tracks
    print("\nsummary")
    for mode, label in (("zip", "ZIP to file"), ("stream", "ZIP stream"), ("mirror", "mirror")):
        ratio = rows[big, "copy"]["seconds"] / rows[big, mode]["seconds"]
        print(f"  {label:<12} throughput / plain copy = {ratio:.2f}  (target >= 0.8: {'ok' if ratio >= 0.8 else 'MISSED'})")
    for mode in ("zip", "stream", "mirror"):
        small, large = rows[sizes[0], mode]["rss_kb"] / 1024, rows[big, mode]["rss_kb"] / 1024
        verdict = "ok" if large < 150 else "MISSED"
        print(f"  {mode:<12} peak RSS {small:.1f} MiB at {sizes[0]} tracks, {large:.1f} MiB at {big} "
              f"(+{large - small:.1f}); target < 150 MiB: {verdict}")
    print(f"  mirror no-op re-run of {big} tracks: {rows[big, 'mirror-again']['seconds'] * 1000:.0f} ms")
    if not args.keep and args.workdir is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
