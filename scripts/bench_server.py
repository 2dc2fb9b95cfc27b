"""Benchmark ``tunecrate serve``: streaming against a bare Starlette server, listing latency, ZIP memory.

Builds a library of generated files (no encoding: the server only reads them),
then, with every server in its own process under the same uvicorn:

- stream throughput: ``GET /track/{id}/stream`` of ``--files`` distinct
  ``--file-mb`` MB files by 1 and by 20 concurrent keep-alive clients, against
  a bare Starlette app whose one route returns ``FileResponse`` for the same
  files. Runs alternate; the ratio is the median over ``--rounds`` back-to-back
  pairs (robust to other processes' load coming and going); target >= 0.8. The
  ratio to reading the same files from the page cache is printed for information;
- latency: ``GET /playlists`` and the whole ``GET /playlist/{id}/tracks`` of
  a 2,000-entry playlist, sequential on one connection, with the library
  unchanged (the server serves what it kept) and with a commit before every
  request (it builds every response afresh); target p99 < 50 ms;
- memory: the server's peak RSS (VmHWM) after streaming the ZIP of a 500-
  and of a 5,000-track playlist, each in a fresh server; target within 20%.

Usage: python scripts/bench_server.py [--seconds 2] [--rounds 7] [--files 10] [--file-mb 8] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MB = 1_000_000
ZIP_TRACK_BYTES = 100_000
SIZES = (500, 2000, 5000)


# -- the library ------------------------------------------------------------------------


def build_library(root: Path, files: int, file_mb: int) -> dict:
    """A library whose tracks point at generated files: ``files`` big ones to stream, 5,000 small
    ones (hard links of one file) in playlists of 500, 2,000 and 5,000 entries."""
    from sqlmodel import Session, select

    from tunecrate.core.settings import Settings
    from tunecrate.core.types import TrackInfo, TrackList
    from tunecrate.db.models import Track, TrackStatus
    from tunecrate.demo.spotify_server import fake_id
    from tunecrate.library.library import Library

    settings = Settings.load(environ={}, storage_root=root / "storage_data", data_root=root / "data", providers=())
    stream_ids = [fake_id(f"bench:stream:{i}") for i in range(files)]
    zip_ids = [fake_id(f"bench:zip:{i}") for i in range(max(SIZES))]
    with Library(settings) as lib, lib.write_lock():
        infos = [TrackInfo(t, f"Stream {i}", ("Bench",), duration_ms=210_000) for i, t in enumerate(stream_ids)]
        infos += [TrackInfo(t, f"Track {i:05d}", (f"Artist {i % 97}",), album=f"Album {i % 31}",
                            duration_ms=180_000 + i) for i, t in enumerate(zip_ids)]
        lib.catalogue.upsert_tracks(infos, added_directly=True)
        small = root / "small.mp3"
        small.write_bytes(b"ID3" + os.urandom(ZIP_TRACK_BYTES - 3))
        for i, track_id in enumerate(stream_ids):
            path = lib.layout.track_path(track_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as out:
                for _ in range(file_mb):
                    out.write(os.urandom(MB))
        for track_id in zip_ids:
            path = lib.layout.track_path(track_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            os.link(small, path)
        with Session(lib._engine) as session:
            for row in session.exec(select(Track)):
                row.status = TrackStatus.DOWNLOADED
                row.path = lib.layout.track_relpath(row.track_id)
                row.size_bytes = lib.layout.track_path(row.track_id).stat().st_size
                session.add(row)
            session.commit()
        by_id = {i.track_id: i for i in infos}
        playlists = {}
        for size in SIZES:
            playlist_id = fake_id(f"bench:playlist:{size}")
            lib.catalogue.write_playlist(TrackList("playlist", playlist_id, f"Bench {size}",
                                                   tuple(by_id[t] for t in zip_ids[:size]), snapshot=f"s{size}"))
            playlists[size] = playlist_id
    return {"settings": settings, "stream_ids": stream_ids, "playlists": playlists,
            "paths": [settings.storage_root / "tracks" / t[:2] / f"{t}.mp3" for t in stream_ids]}


# -- servers ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server in its own process; ``base_path`` is what precedes the file index in a stream URL."""

    def __init__(self, args: list[str], env: dict | None = None) -> None:
        self.port = free_port()
        self.process = subprocess.Popen([*args, "--port", str(self.port)], env={**os.environ, **(env or {})},
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(self.process.stderr.read().decode())
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def cpu_s(self) -> float:
        """Seconds of CPU the server process has used (user + system)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_kb(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return 0

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)


def tunecrate_server(lib: dict) -> Server:
    settings = lib["settings"]
    return Server([sys.executable, "-m", "tunecrate", "--storage", str(settings.storage_root),
                   "--data", str(settings.data_root), "serve"], env={"TUNECRATE_PROVIDERS": "none"})


def bare_server(lib: dict) -> Server:
    return Server([sys.executable, __file__, "--bare", *map(str, lib["paths"])])


def run_bare(paths: list[str], port: int) -> None:
    """The reference: Starlette's own ``FileResponse`` for the same files, nothing else."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import FileResponse
    from starlette.routing import Route

    def stream(request):
        return FileResponse(paths[int(request.path_params["index"])], media_type="audio/mpeg")

    app = Starlette(routes=[Route("/f/{index:int}", stream)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


# -- clients ------------------------------------------------------------------------------


async def _client(port: int, urls: list[str], stop_at: float, counter: list[int], offset: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
    n = offset
    try:
        while time.monotonic() < stop_at:
            url = urls[n % len(urls)]
            n += 1
            writer.write(f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.decode(errors="replace"))
            left = length
            while left:
                chunk = await reader.read(min(left, 1 << 20))
                if not chunk:
                    raise RuntimeError("connection closed early")
                left -= len(chunk)
            counter[0] += length
    finally:
        writer.close()


def throughput(port: int, urls: list[str], clients: int, seconds: float) -> float:
    """MB/s fetched by ``clients`` concurrent keep-alive connections for ``seconds``."""
    async def run() -> float:
        counter = [0]
        start = time.monotonic()
        await asyncio.gather(*(_client(port, urls, start + seconds, counter, i) for i in range(clients)))
        return counter[0] / MB / (time.monotonic() - start)

    return asyncio.run(run())


def page_cache(paths: list[Path], seconds: float) -> float:
    """MB/s reading the files from the page cache into one buffer."""
    buffer = bytearray(1 << 20)
    total, start, i = 0, time.monotonic(), 0
    while time.monotonic() - start < seconds:
        with open(paths[i % len(paths)], "rb", buffering=0) as f:
            while n := f.readinto(buffer):
                total += n
        i += 1
    return total / MB / (time.monotonic() - start)


def latencies(port: int, path: str, count: int, touch=None) -> list[float]:
    """Milliseconds per whole response, sequential on one keep-alive connection; ``touch()`` runs
    before each request (to change the catalogue, so that nothing kept can be served)."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    found = []
    for i in range(count + 20):
        if touch is not None:
            touch()
        start = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - start) * 1000
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status} {body[:200]!r}")
        if i >= 20:
            found.append(elapsed)
    conn.close()
    return found


class Toucher:
    """Commits a one-row change to the catalogue, as a sync would (the server then builds afresh)."""

    def __init__(self, database: Path) -> None:
        import sqlite3

        self.conn = sqlite3.connect(database)
        self.n = 0

    def __call__(self) -> None:
        self.n += 1
        self.conn.execute("UPDATE track SET reason = ? WHERE rowid = 1", (f"touched {self.n}",))
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()


def zip_peak(lib: dict, size: int) -> tuple[int, int, int]:
    """``(peak RSS kB before, peak RSS kB after streaming the ZIP, ZIP bytes)`` in a fresh server."""
    server = tunecrate_server(lib)
    try:
        latencies(server.port, "/playlists", 5)
        before = server.peak_rss_kb()
        conn = http.client.HTTPConnection("127.0.0.1", server.port)
        conn.request("GET", f"/playlist/{lib['playlists'][size]}/download.zip")
        response = conn.getresponse()
        total = 0
        while chunk := response.read(1 << 20):
            total += len(chunk)
        conn.close()
        return before, server.peak_rss_kb(), total
    finally:
        server.stop()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per throughput run")
    parser.add_argument("--rounds", type=int, default=7, help="throughput runs per server and client count")
    parser.add_argument("--files", type=int, default=10, help="distinct files to stream")
    parser.add_argument("--file-mb", type=int, default=8, help="size of each streamed file, MB")
    parser.add_argument("--latency-requests", type=int, default=300)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--bare", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare is not None:
        run_bare(args.bare, args.port)
        return
    with tempfile.TemporaryDirectory(prefix="tunecrate-bench-", dir=args.workdir) as work:
        started = time.monotonic()
        lib = build_library(Path(work), args.files, args.file_mb)
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (other processes share them)")
        print(f"library: {args.files} x {args.file_mb} MB to stream, playlists of {', '.join(map(str, SIZES))} "
              f"entries ({time.monotonic() - started:.1f} s to build)")
        for path in lib["paths"]:
            path.read_bytes()  # into the page cache
        ours, bare = tunecrate_server(lib), bare_server(lib)
        try:
            ours_urls = [f"/track/{t}/stream" for t in lib["stream_ids"]]
            bare_urls = [f"/f/{i}" for i in range(len(lib["paths"]))]
            cache = page_cache(lib["paths"], args.seconds)
            print(f"page cache read: {cache:,.0f} MB/s")
            ok = True
            for clients in (1, 20):
                pairs = []
                for _ in range(args.rounds):
                    pairs.append((throughput(ours.port, ours_urls, clients, args.seconds),
                                  throughput(bare.port, bare_urls, clients, args.seconds)))
                ratio = statistics.median(a / b for a, b in pairs)
                best = max(a for a, _ in pairs), max(b for _, b in pairs)
                ok &= ratio >= 0.8
                print(f"stream, {clients:2d} client(s): tunecrate {best[0]:,.0f} MB/s, bare FileResponse "
                      f"{best[1]:,.0f} MB/s (best runs); ratio {ratio:.2f}, median of {len(pairs)} back-to-back "
                      f"pairs (target >= 0.8); vs page cache {best[0] / cache:.2f} (information)")
            touch = Toucher(lib["settings"].database_path)
            for label, path in (("GET /playlists", "/playlists"),
                                ("GET /playlist/{id}/tracks (2,000 entries)", f"/playlist/{lib['playlists'][2000]}/tracks")):
                for case, hook in (("unchanged library", None), ("changed before each request", touch)):
                    cpu = ours.cpu_s()
                    times = latencies(ours.port, path, args.latency_requests, hook)
                    cpu = (ours.cpu_s() - cpu) / (args.latency_requests + 20) * 1000
                    p99 = pct(times, 99)
                    ok &= p99 < 50
                    print(f"{label}, {case}: p50 {statistics.median(times):.1f} ms, p99 {p99:.1f} ms "
                          f"(target p99 < 50 ms); server CPU {cpu:.1f} ms a request; load average "
                          f"{os.getloadavg()[0]:.1f}")
            touch.close()
        finally:
            ours.stop()
            bare.stop()
        peaks = {}
        for size in (500, 5000):
            before, peak, total = zip_peak(lib, size)
            peaks[size] = peak
            print(f"ZIP of {size:,} tracks: {total / MB:,.0f} MB streamed, server peak RSS {peak / 1024:.1f} MB "
                  f"(idle {before / 1024:.1f} MB)")
        growth = peaks[5000] / peaks[500]
        ok &= growth <= 1.2
        print(f"peak RSS at 5,000 / at 500: {growth:.2f} (target <= 1.20)")
        print("all targets met" if ok else "SOME TARGETS MISSED")


if __name__ == "__main__":
    main()
