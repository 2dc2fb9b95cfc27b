"""What an operation costs as the library grows: 200 tracks against 20,000, measured in one run.

For each size N a library is synthesised on disk: N tagged MP3s under
``tracks/`` (one tiny MP3 made with ffmpeg, copied, each copy tagged with
its own track id, title, artists and album by tunecrate's own tagger; one
track in four says it came from a pinned source) and ``playlists/*.json``
(playlists of 100 entries holding four tracks in five; the rest are kept as
added directly), plus one playlist of five entries that the Spotify stand-in
(the demo's FakeSpotify) also holds, with the same snapshot. Then, with the
catalogue rebuilt from those files:

- ``load-local``, ``tracks --json`` and ``verify`` (work in proportion to the
  library), printed with their cost per track;
- one ``match skip`` (each run on another track) and one no-op ``sync`` of
  the small playlist: one-track operations, the median of ``--repeat`` runs
  that alternate between the two sizes, so that a busy moment of a shared
  machine weighs on both alike.

Each is measured in-process (an open :class:`Library`, the call alone) and
through the CLI (a new process: start-up, opening the library, the command).
Target: a one-track operation costs the same at 200 and at 20,000 tracks
(ratio under 1.5, for both ways of measuring).

    python scripts/bench_scale.py [--sizes 200 20000] [--repeat 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

from tunecrate.core.settings import Settings
from tunecrate.core.types import TrackInfo, TrackList
from tunecrate.demo.spotify_server import FakeSpotify, fake_id, make_album, make_track
from tunecrate.demo.world import StandIns
from tunecrate.library.catalogue import playlist_document
from tunecrate.library.library import Library
from tunecrate.media.ffmpeg import find_ffmpeg
from tunecrate.media.tagging import write_tags
from tunecrate.storage.layout import Layout

PLAYLIST_SIZE = 100
SYNC_ENTRIES = 5
TARGET = 1.5
#: Operations in proportion to the library (printed per track), and one-track operations (compared as they are).
PER_TRACK = ("load-local", "tracks --json", "verify")
ONE_TRACK = ("match skip", "no-op sync")


def tiny_mp3(ffmpeg: str, dest: Path) -> bytes:
    """A quarter of a second of a mono tone as a 32 kbit/s MP3 (about 1 KB)."""
    subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi",
                    "-i", "sine=frequency=440:sample_rate=22050:duration=0.25", "-ac", "1",
                    "-c:a", "libmp3lame", "-b:a", "32k", str(dest)], check=True)
    return dest.read_bytes()


def track_info(i: int) -> TrackInfo:
    return TrackInfo(track_id=fake_id(f"scale:{i}"), title=f"Scale Song {i}", artists=(f"Artist {i % 997}",),
                     album=f"Album {i // 12}", album_artists=(f"Artist {i % 997}",), duration_ms=180_000 + i % 60_000,
                     track_number=i % 12 + 1, track_total=12, disc_number=1, release_date="2024-05-01",
                     isrc=f"QZSC{i:08d}")


def build_storage(root: Path, n: int, audio: bytes, spotify: FakeSpotify) -> str:
    """Write the synthesised library of ``n`` tracks under ``root``; return the id of the playlist
    the stand-in also holds."""
    layout = Layout(root)
    layout.ensure()
    tracks = [track_info(i) for i in range(n)]
    for i, track in enumerate(tracks):
        path = layout.track_path(track.track_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(audio)
        pinned = i % 4 == 0
        write_tags(path, track, source_url=f"https://www.youtube.com/watch?v=scale{i:06d}",
                   source_provider="pinned" if pinned else "ytmusic", match_score=None if pinned else 0.93)
    listed = tracks[: n * 4 // 5]
    for start in range(0, len(listed), PLAYLIST_SIZE):
        entries = tuple(listed[start:start + PLAYLIST_SIZE])
        doc = TrackList("playlist", fake_id(f"scale:playlist:{start}"), f"Scale {start // PLAYLIST_SIZE}",
                        entries=entries, snapshot=f"snapshot-{start}", source="spotify-api")
        write_document(layout, doc)

    # The small playlist the stand-in holds too: its stored snapshot is the stand-in's.
    album = make_album(fake_id("scale:album"), "Album 0", ["Artist 0"])
    small = tracks[1:1 + SYNC_ENTRIES]
    remote = [make_track(t.track_id, t.title, list(t.artists), album, duration_ms=t.duration_ms, isrc=t.isrc)
              for t in small]
    sync_id = fake_id(f"scale:sync:{n}")
    snapshot = spotify.add_playlist(sync_id, "Scale sync", remote)
    write_document(layout, TrackList("playlist", sync_id, "Scale sync", entries=tuple(small), snapshot=snapshot,
                                     source="spotify-api"))
    return sync_id


def write_document(layout: Layout, tracks: TrackList) -> None:
    from datetime import datetime, timezone

    layout.write_json(layout.playlist_json_path(tracks.id), playlist_document(tracks, datetime.now(timezone.utc)))


def timed(call) -> tuple[object, float]:
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


class Subject:
    """One synthesised library, measured both ways: an open :class:`Library`, and the CLI."""

    def __init__(self, n: int, storage: Path, sync_id: str, world: StandIns) -> None:
        self.n, self.sync_id = n, sync_id
        self.settings = Settings.load(environ={}, storage_root=storage, data_root=storage.parent / "data-inproc",
                                      **world.settings_overrides())
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith(("TUNECRATE_", "SPOTIPY_"))},
                    **world.environment(), "TUNECRATE_STORAGE_ROOT": str(storage),
                    "TUNECRATE_DATA_ROOT": str(storage.parent / "data-cli")}
        self.library: Library | None = None
        self.skipped = 0

    def next_track(self) -> str:
        """A track not skipped yet (the last ones first)."""
        self.skipped += 1
        return fake_id(f"scale:{self.n - self.skipped}")

    def cli(self, *args: str) -> tuple[str, float]:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "tunecrate", *args], env=self.env, capture_output=True,
                              text=True)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"tunecrate {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout, seconds

    # -- in proportion to the library -------------------------------------------------------

    def whole_library(self) -> dict[tuple[str, str], float]:
        n, figures = self.n, {}
        self.library = lib = Library(self.settings)
        report, figures["in-process", "load-local"] = timed(lib.rebuild)
        assert report.tracks == n, report
        out = io.StringIO()
        with redirect_stdout(out):
            _, figures["in-process", "tracks --json"] = timed(
                lambda: json.dump([t.to_json() for t in lib.tracks()], sys.stdout))
        assert len(json.loads(out.getvalue())) == n
        verified, figures["in-process", "verify"] = timed(lib.verify)
        assert verified.checked == n and not verified.problems, verified.problems[:3]

        out, figures["cli", "load-local"] = self.cli("load-local", "--json")
        assert json.loads(out)["tracks"] == n
        out, figures["cli", "tracks --json"] = self.cli("tracks", "--json")
        assert len(json.loads(out)) == n
        _, figures["cli", "verify"] = self.cli("verify")
        return figures

    # -- one track --------------------------------------------------------------------------

    def one_track(self) -> dict[tuple[str, str], float]:
        lib = self.library
        figures = {}
        _, figures["in-process", "match skip"] = timed(lambda: lib.match_skip(self.next_track()))
        result, figures["in-process", "no-op sync"] = timed(lambda: lib.sync(self.sync_id))
        assert result.up_to_date, result
        _, figures["cli", "match skip"] = self.cli("match", "skip", self.next_track())
        out, figures["cli", "no-op sync"] = self.cli("sync", self.sync_id)
        assert "up to date" in out, out
        return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=(200, 20_000), metavar=("SMALL", "LARGE"))
    parser.add_argument("--repeat", type=int, default=5, help="runs of each one-track operation (median)")
    parser.add_argument("--keep", type=Path, help="build the libraries here and keep them")
    args = parser.parse_args()

    ffmpeg = find_ffmpeg()
    work = Path(tempfile.mkdtemp(prefix="tunecrate-bench-scale-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    results: dict[tuple[str, int], dict[str, float]] = {}
    subjects: list[Subject] = []
    try:
        audio = tiny_mp3(ffmpeg, work / "tiny.mp3")
        with StandIns(work / "media", ffmpeg) as world:
            for n in args.sizes:
                storage = work / f"n{n}" / "storage"
                started = time.perf_counter()
                shutil.rmtree(storage.parent, ignore_errors=True)
                sync_id = build_storage(storage, n, audio, world.spotify)
                print(f"{n} tracks synthesised in {time.perf_counter() - started:.1f} s", flush=True)
                subject = Subject(n, storage, sync_id, world)
                subjects.append(subject)
                for (way, op), seconds in subject.whole_library().items():
                    results.setdefault((way, n), {})[op] = seconds
            # One-track operations alternate between the sizes, so that a busy moment of a shared
            # machine falls on both alike; each figure is the median of --repeat runs.
            runs: dict[tuple[str, int, str], list[float]] = {}
            for _ in range(args.repeat):
                for subject in subjects:
                    for (way, op), seconds in subject.one_track().items():
                        runs.setdefault((way, subject.n, op), []).append(seconds)
            for (way, n, op), seconds in runs.items():
                results[way, n][op] = statistics.median(seconds)
    finally:
        for subject in subjects:
            if subject.library is not None:
                subject.library.close()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    small, large = args.sizes
    print(f"\n{'operation':<15} {'measured':<11} {small:>7} tracks (per track)   {large:>7} tracks (per track)   ratio")
    worst = 0.0
    for way in ("in-process", "cli"):
        for op in (*PER_TRACK, *ONE_TRACK):
            a, b = results[way, small][op], results[way, large][op]
            if op in PER_TRACK:
                cells = (f"{a:8.3f} s ({a / small * 1000:6.3f} ms)", f"{b:8.3f} s ({b / large * 1000:6.3f} ms)")
                ratio = f"{(b / large) / (a / small):5.2f} per track"
            else:
                cells = (f"{a * 1000:8.1f} ms{'':12}", f"{b * 1000:8.1f} ms{'':12}")
                ratio = f"{b / a:5.2f}"
                worst = max(worst, b / a)
            print(f"{op:<15} {way:<11} {cells[0]:>26} {cells[1]:>28}   {ratio}")
    verdict = "PASS" if worst < TARGET else "FAIL"
    print(f"\none-track operations, worst ratio {large}/{small}: {worst:.2f} (target < {TARGET}: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
