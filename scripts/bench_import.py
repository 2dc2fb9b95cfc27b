"""Cost of ``tunecrate import`` on a large account-data export: time, peak memory, per-entry cost.

Synthesises a Spotify account-data export ZIP (the shape of DESIGN.md,
"Export formats") with ``--likes`` liked songs (default 5,000) in
``YourLibrary.json`` and ``--playlists`` playlists (default 20) of
``--entries`` entries each (default 100; half of them liked songs, half
tracks found nowhere else) in ``Playlist1.json``, then measures, each in a
child process of its own so that its peak RSS (VmHWM) is its own:

- idle:     the interpreter with tunecrate's library imported and a library
            opened (the floor under every other figure);
- read:     the source alone reading every list from the ZIP (``lists()``),
            in a process that opened a library too;
- import:   ``Library.import_file`` into an empty library, the providers off
            (``TUNECRATE_PROVIDERS=none``): every track is recorded, searched
            for (nothing is found, nothing is downloaded) and every list
            written, as a first import is, minus the downloads;
- again:    the same export imported again (nothing can short-circuit: no
            track has a file, so every one is tried again);
- changed:  a newer export in which 5 % of each list's entries changed
            (half removed, half new tracks);
- dry run:  that newer export with ``--dry-run`` on the library as it was;
- adopt:    the first export into a library whose ``tracks/`` already holds a
            tagged MP3 for every track, as an interrupted run leaves them
            (the pipeline adopts each file after reading its tags);
- no-op:    the same export once more into that library, now complete:
            every list is up to date (the case of a monthly re-import).

Each line gives the wall time, the time per entry, the peak RSS and that
peak above idle per entry, and the ratio of the import to reading the file
in the same run. There is no target in DESIGN.md beyond "memory does not grow
with the size of a playlist" for exports; these figures say what a large
import costs here.

    python scripts/bench_import.py [--likes 5000] [--playlists 20] [--entries 100] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

MODES = ("idle", "read", "import", "again", "changed", "dry-run", "adopt", "no-op")


def _peak_rss_kb() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB elsewhere


def _track_id(n: int) -> str:
    """A distinct 22-character base62 id for track ``n``."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    digits = []
    for _ in range(22):
        n, d = divmod(n, 62)
        digits.append(alphabet[d])
    return "".join(reversed(digits))


def _row(n: int) -> dict:
    return {"trackName": f"Synthetic Song {n}", "artistName": f"Artist {n % 997}",
            "albumName": f"Album {n % 1999}", "trackUri": f"spotify:track:{_track_id(n)}"}


def write_export(dest: Path, likes: int, playlists: int, entries: int, changed: bool) -> int:
    """Write the export ZIP; return its number of entries (playlist entries plus liked songs).

    Track numbers: liked songs are 0…likes-1; playlist ``p`` lists ``entries // 2`` liked songs and
    ``entries - entries // 2`` tracks of its own (from ``likes + p * entries``). ``changed`` drops the
    first 2.5 % of each list and appends as many new tracks (from 10,000,000 up).
    """
    fresh = iter(range(10_000_000, 20_000_000))

    def edit(numbers: list[int]) -> list[int]:
        if not changed:
            return numbers
        cut = max(1, len(numbers) // 40)
        return numbers[cut:] + [next(fresh) for _ in range(cut)]

    liked = edit(list(range(likes)))
    lists = []
    for p in range(playlists):
        half = entries // 2
        numbers = [(p * 7919 + i * 31) % likes for i in range(half)]
        numbers += [likes + p * entries + i for i in range(entries - half)]
        lists.append({"name": f"Playlist {p % (playlists // 2 or 1)}", "lastModifiedDate": "2026-01-02",
                      "description": "", "numberOfFollowers": 0,
                      "items": [{"track": _row(n), "episode": None, "audiobook": None, "localTrack": None,
                                 "addedDate": "2026-01-02"} for n in edit(numbers)]})
    library = {"tracks": [{"artist": r["artistName"], "album": r["albumName"], "track": r["trackName"],
                           "uri": r["trackUri"]} for r in map(_row, liked)]}
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Spotify Account Data/Playlist1.json", json.dumps({"playlists": lists}, indent=2))
        archive.writestr("Spotify Account Data/YourLibrary.json", json.dumps(library, indent=2))
    return len(liked) + sum(len(p["items"]) for p in lists)


def place_files(export: Path, work: Path) -> None:
    """Put a tagged MP3 (one short tone, copied) where the library keeps each track of ``export``."""
    import shutil

    from tunecrate.core.ids import file_reference
    from tunecrate.demo.world import generate_tone
    from tunecrate.media.ffmpeg import find_ffmpeg
    from tunecrate.media.tagging import write_tags
    from tunecrate.sources.spotify_export import SpotifyExportSource
    from tunecrate.storage.layout import Layout

    tone = generate_tone(find_ffmpeg(), work / "tone.mp3", 0.2, 440, codec="libmp3lame")
    layout = Layout(work / "storage")
    layout.ensure()
    tracks = {t.track_id: t for tl in SpotifyExportSource().lists(file_reference(str(export))) for t in tl.entries}
    for track in tracks.values():
        path = layout.track_path(track.track_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tone, path)
        write_tags(path, track, source_url=str(tone), source_provider="pinned")


def child(mode: str, export: Path, work: Path) -> dict:
    """Run one measurement in this process; the figures as a dict."""
    from tunecrate.core.ids import file_reference
    from tunecrate.core.settings import Settings
    from tunecrate.library.library import Library
    from tunecrate.sources.spotify_export import SpotifyExportSource

    settings = Settings.load(environ={}, storage_root=work / "storage", data_root=work / "data", providers=())
    started = time.perf_counter()
    result: dict = {}
    with Library(settings) as lib:
        if mode == "read":
            lists = list(SpotifyExportSource().lists(file_reference(str(export))))
            result["entries"] = sum(len(t.entries) for t in lists)
        elif mode != "idle":
            report = lib.import_file(export, dry_run=mode == "dry-run")
            result["tracks"] = report.tracks
            result["added"] = sum(len(r.plan.added) for r in report.lists)
            result["removed"] = sum(len(r.plan.removed) for r in report.lists)
            result["pruned"] = sum(len(r.pruned) for r in report.lists)
            result["up_to_date"] = sum(r.up_to_date for r in report.lists)
            result["downloaded"] = report.counts["downloaded"] + report.counts["present"]
    result.update(seconds=time.perf_counter() - started, peak_kb=_peak_rss_kb())
    return result


def _run_child(mode: str, export: Path, work: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(export), str(work)],
                         check=True, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    return json.loads(out.stdout.splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--likes", type=int, default=5000)
    parser.add_argument("--playlists", type=int, default=20)
    parser.add_argument("--entries", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "EXPORT", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, export, work = args.child
        print(json.dumps(child(mode, Path(export), Path(work))))
        return 0

    with tempfile.TemporaryDirectory(prefix="tunecrate-bench-import-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        old, new = work / "export.zip", work / "export-newer.zip"
        entries = write_export(old, args.likes, args.playlists, args.entries, changed=False)
        new_entries = write_export(new, args.likes, args.playlists, args.entries, changed=True)
        results = {}
        for mode in MODES:
            export = new if mode in ("changed", "dry-run") else old
            library = work / {"dry-run": "dry", "adopt": "full", "no-op": "full"}.get(mode, "library")
            if mode == "dry-run":  # the library as it was before the newer export
                _run_child("import", old, library)
            if mode == "adopt":
                place_files(old, library)
            results[mode] = _run_child("import" if mode in ("adopt", "no-op") else mode, export, library)
        if results["no-op"]["downloaded"] != results["import"]["tracks"]:
            print(f"the adopted library is not complete: {results['no-op']}", file=sys.stderr)
            return 1

    idle = results["idle"]["peak_kb"]
    print(f"export: {args.likes} liked songs, {args.playlists} playlists of {args.entries} entries: "
          f"{entries} entries, {results['import']['tracks']} distinct tracks "
          f"(newer export: {new_entries} entries)")
    print(f"{'':10} {'time':>9} {'per entry':>11} {'peak RSS':>10} {'above idle':>11} {'per entry':>10}")
    for mode in MODES:
        r = results[mode]
        n = new_entries if mode in ("changed", "dry-run") else entries
        above = max(0, r["peak_kb"] - idle) * 1024
        extra = ""
        if mode in ("changed", "dry-run"):
            extra = f"  (added {r['added']}, removed {r['removed']}, pruned {r['pruned']})"
        elif mode in ("adopt", "no-op"):
            extra = f"  ({r['downloaded']} tracks with their file, {r['up_to_date']} lists up to date)"
        print(f"{mode:10} {r['seconds']:8.2f}s {r['seconds'] / n * 1e6:9.0f}µs {r['peak_kb'] / 1024:8.1f}MB "
              f"{above / 2**20:9.1f}MB {above / n / 1024:8.2f}KB{extra}" if mode != "idle" else
              f"{mode:10} {r['seconds']:8.2f}s {'':>11} {r['peak_kb'] / 1024:8.1f}MB")
    ratio = results["import"]["seconds"] / results["read"]["seconds"]
    print(f"import / read of the same file: {ratio:.1f}x (the library's work per entry over parsing it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
