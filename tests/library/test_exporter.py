"""The export methods of the Library (tunecrate.library.exporter.ExportsMixin)."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest
from sqlmodel import Session

from tunecrate.core.errors import InvalidReference, NotFound, StorageError
from tunecrate.db.models import Playlist, Track
from tunecrate.demo.spotify_server import fake_id
from tunecrate.library.library import Library


@pytest.fixture
def lib(settings):
    with Library(settings) as lib:
        yield lib


@pytest.fixture
def loaded(lib, demo, world):
    """``lib`` holding the demo playlist, every track pinned to a short tone and downloaded."""
    for n, track_id in enumerate(demo.track_ids):
        lib.match_set(track_id, world.audio(f"short-{n}", 1, 300 + 50 * n))
    report = lib.load_playlist(demo.playlist_url)
    assert report.counts["downloaded"] == 6
    return lib


def _set(lib, model, key, **fields):
    with Session(lib.catalogue.engine) as session:
        row = session.get(model, key)
        for name, value in fields.items():
            setattr(row, name, value)
        session.add(row)
        session.commit()


def test_track_file_and_its_errors(loaded, demo, tmp_path):
    first = demo.track_ids[0]
    path = loaded.track_file(f"spotify:track:{first}")
    assert path.is_absolute() and path == loaded.layout.track_path(first).resolve()
    with pytest.raises(NotFound, match="no track"):
        loaded.track_file(fake_id("unknown"))
    with pytest.raises(InvalidReference):
        loaded.track_file("../../etc/passwd")
    path.unlink()
    with pytest.raises(NotFound, match="missing from the library"):
        loaded.track_file(first)
    # A stored path that points out of the storage root is never followed.
    outside = tmp_path / "outside.mp3"
    outside.write_bytes(b"not yours")
    _set(loaded, Track, demo.track_ids[1], path="../outside.mp3")
    with pytest.raises(NotFound):
        loaded.track_file(demo.track_ids[1])
    plan = loaded.export([demo.playlist_id], "m3u8", dry_run=True, dest=tmp_path / "p.m3u8")
    assert {e.track_id: e.path for e in plan.entries}[demo.track_ids[1]] is None


def test_save_track_destinations(loaded, demo, tmp_path):
    source = loaded.track_file(demo.track_ids[2])
    out = loaded.save_track(demo.track_ids[2], tmp_path / "new-folder", directory=True)
    assert out == tmp_path / "new-folder" / "Ada Byte - 127 Bpm.mp3"
    assert out.read_bytes() == source.read_bytes()
    assert out.stat().st_mtime_ns == source.stat().st_mtime_ns
    # Case-insensitive collisions are numbered too (FAT, exFAT, NTFS, macOS).
    (tmp_path / "new-folder" / "ADA BYTE - 127 BPM (2).mp3").write_bytes(b"x")
    assert loaded.save_track(demo.track_ids[2], tmp_path / "new-folder").name == "Ada Byte - 127 Bpm (3).mp3"
    blocker = tmp_path / "file"
    blocker.write_bytes(b"x")
    with pytest.raises(StorageError, match="a file has that name"):
        loaded.save_track(demo.track_ids[2], str(blocker) + "/")
    storage = loaded.layout.root
    for attempt in (lambda: loaded.save_track(demo.track_ids[2], storage / "tracks" / "x.mp3"),
                    lambda: loaded.save_track(demo.track_ids[2], storage),
                    lambda: loaded.export_m3u8(demo.playlist_id, storage / "playlists"),
                    lambda: loaded.export_playlist_zip(demo.playlist_id, str(storage / "new") + "/"),
                    lambda: loaded.mirror(None, storage / "tracks")):
        with pytest.raises(StorageError, match="inside the library's storage folder"):
            attempt()
    assert not (storage / "new").exists() and not list(storage.glob("tracks/*.mp3"))
    assert sorted(p.name for p in (tmp_path / "new-folder").iterdir()) == [
        "ADA BYTE - 127 BPM (2).mp3", "Ada Byte - 127 Bpm (3).mp3", "Ada Byte - 127 Bpm.mp3"]


def test_iter_playlist_zip_streams_what_the_file_export_writes(loaded, demo, tmp_path):
    _set(loaded, Track, demo.track_ids[5], status="unresolved", path=None)
    stream = loaded.iter_playlist_zip(demo.playlist_url, chunk_size=4096)
    assert stream.filename == "tunecrate demo mix.zip"
    assert [e.track_id for e in stream.result.missing] == [demo.track_ids[5]]  # known before iterating
    chunks = list(stream)
    assert len(chunks) > 5 and all(chunks)
    data = b"".join(chunks)
    assert stream.result.total_bytes == len(data)
    assert (stream.result.tracks, stream.result.entries, stream.result.cover) == (5, 5, True)

    result = loaded.export_playlist_zip(demo.playlist_id, tmp_path)
    path = result.path
    assert path == tmp_path / "tunecrate demo mix.zip" and result.total_bytes == path.stat().st_size
    with zipfile.ZipFile(io.BytesIO(data)) as streamed, zipfile.ZipFile(path) as written:
        assert streamed.namelist() == written.namelist()
        assert streamed.namelist()[0] == "cover.jpg" and len(streamed.namelist()) == 7
        for name in streamed.namelist():
            assert streamed.read(name) == written.read(name)
    # Closing a stream early is allowed (an HTTP client that went away).
    early = loaded.iter_playlist_zip(demo.playlist_id, chunk_size=1024)
    next(early)
    early.close()


def test_playlist_cover_is_cached_offline_first(loaded, demo, world, media_cache):
    cache = loaded.layout.playlist_cover_path(demo.playlist_id)
    assert cache == loaded.layout.playlists_dir / f"{demo.playlist_id}.cover.jpg" and cache.is_file()
    cache.unlink()
    cover, warning = loaded.playlist_cover(demo.playlist_url)
    assert (cover, warning) == (cache, None)
    assert cache.read_bytes() == (media_cache / "media" / "demo-playlist-cover.jpg").read_bytes()

    # Offline: the cache answers, and a failed refresh keeps it.
    world.media.fail_next("demo-playlist-cover.jpg", 503, times=100)
    assert loaded.playlist_cover(demo.playlist_id) == (cache, None)
    cover, warning = loaded.playlist_cover(demo.playlist_id, refresh=True)
    assert cover == cache and "using the cached one" in warning

    # A new cover URL (after a sync) is fetched on refresh.
    _set(loaded, Playlist, demo.playlist_id, cover_url=world.cover("other-cover", "red"))
    assert loaded.playlist_cover(demo.playlist_id, refresh=True) == (cache, None)
    assert cache.read_bytes() == (media_cache / "media" / "other-cover.jpg").read_bytes()

    cache.unlink()
    for url, problem in [("file:///etc/passwd", "unsupported cover URL"),
                         (world.media.url("nothing-here.jpg"), "404"),
                         (world.media.url("short-0.webm"), "not a JPEG or PNG")]:
        _set(loaded, Playlist, demo.playlist_id, cover_url=url)
        cover, warning = loaded.playlist_cover(demo.playlist_id)
        assert cover is None and problem in warning
    _set(loaded, Playlist, demo.playlist_id, cover_url=None)
    assert loaded.playlist_cover(demo.playlist_id) == (None, None)
    assert not cache.exists()
    assert [p.name for p in loaded.layout.playlists_dir.iterdir()] == [f"{demo.playlist_id}.json"]


def test_m3u8_and_mirror(loaded, demo, tmp_path):
    result = loaded.export_m3u8(demo.playlist_id, tmp_path / "x.m3u8", absolute=True)
    path = result.path
    assert path == tmp_path / "x.m3u8" and (result.tracks, result.entries, result.missing) == (6, 6, [])
    lines = path.read_text("utf-8").splitlines()
    assert lines[:2] == ["#EXTM3U", "#PLAYLIST:tunecrate demo mix"]
    assert all(Path(line).is_file() for line in lines[3::2])
    with pytest.raises(StorageError, match="does not exist"):
        loaded.export_m3u8(demo.playlist_id, tmp_path / "no" / "x.m3u8")
    # Relative locations work from a folder reached through a symbolic link.
    (tmp_path / "real" / "deep").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "real" / "deep", target_is_directory=True)
    path = loaded.export_m3u8(demo.playlist_id, tmp_path / "link").path
    locations = path.read_text("utf-8").splitlines()[3::2]
    assert len(locations) == 6 and all(os.path.isfile(os.path.join(tmp_path / "link", loc)) for loc in locations)

    dest = tmp_path / "mirror"
    plan = loaded.mirror([demo.playlist_url, demo.playlist_id], dest, dry_run=True)
    assert plan.dry_run and len(plan.copy) == 7 and not dest.exists()
    done = loaded.mirror(None, dest)
    assert [i.name for i in done.copy] == [i.name for i in plan.copy]
    assert loaded.mirror([demo.playlist_id], dest).keep and not loaded.mirror([demo.playlist_id], dest).copy
    with pytest.raises(NotFound):
        loaded.mirror([fake_id("unknown")], dest)


def test_empty_library(lib, tmp_path):
    with pytest.raises(NotFound, match="no playlists"):
        lib.mirror(None, tmp_path / "m")
    with pytest.raises(NotFound):
        lib.export_playlist_zip("likes", tmp_path)
    with pytest.raises(InvalidReference):
        lib.export_m3u8("../../etc", tmp_path)
    assert not (tmp_path / "m").exists()
