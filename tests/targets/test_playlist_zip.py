"""Playlist ZIPs, streamed or written (tunecrate.targets.playlist_zip)."""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest
from mutagen.id3 import ID3

from targets.helpers import HOSTILE_TITLES, JPEG, PNG, assert_safe_member, parse_m3u8
from tunecrate.core.errors import StorageError
from tunecrate.targets import playlist_zip
from tunecrate.targets.base import ExportEntry
from tunecrate.targets.playlist_zip import iter_playlist_zip, write_playlist_zip, zip_filename
from tunecrate.storage.names import safe_component


def _zip_bytes(mode: str, tmp_path: Path, title: str, entries, cover=None, chunk_size: int = 4096):
    """The archive bytes and the result, produced by the streaming iterator or the file writer."""
    if mode == "iter":
        stream = iter_playlist_zip(title, entries, cover, chunk_size=chunk_size)
        data = b"".join(stream)
        assert stream.result.total_bytes == len(data)
        return data, stream.result
    dest = tmp_path / "out" / "playlist.zip"
    dest.parent.mkdir(exist_ok=True)
    result = write_playlist_zip(dest, title, entries, cover, chunk_size=chunk_size)
    assert os.listdir(dest.parent) == ["playlist.zip"]  # no temporary file left
    assert result.total_bytes == dest.stat().st_size
    return dest.read_bytes(), result


@pytest.mark.parametrize("mode", ["iter", "write"])
def test_zip_layout_order_bytes_and_compression(mode: str, tmp_path: Path, tracks: list[ExportEntry]) -> None:
    entries = [tracks[2], tracks[0], tracks[1], tracks[0], tracks[3]]  # id0 listed twice
    data, result = _zip_bytes(mode, tmp_path, "Road Trip", entries, cover=JPEG)
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert zf.testzip() is None
    names = zf.namelist()
    assert names == [
        "cover.jpg",
        "01 - Artist 2 - Song 2.mp3",
        "02 - Artist 0 - Song 0.mp3",
        "03 - Artist 1 - Song 1.mp3",
        "05 - Artist 3 - Song 3.mp3",
        "Road Trip.m3u8",
    ]
    for info in zf.infolist():
        expected = zipfile.ZIP_DEFLATED if info.filename.endswith(".m3u8") else zipfile.ZIP_STORED
        assert info.compress_type == expected
        # unseekable streams put sizes in data descriptors; files get them in the local headers
        assert bool(info.flag_bits & 0x08) == (mode == "iter")
    for name, entry in zip(names[1:5], [tracks[2], tracks[0], tracks[1], tracks[3]]):
        assert zf.read(name) == entry.path.read_bytes()
    assert zf.read("cover.jpg") == JPEG
    m3u = zf.read("Road Trip.m3u8").decode("utf-8")
    assert "#PLAYLIST:Road Trip" in m3u
    assert parse_m3u8(m3u) == [
        (182, "Artist 2 - Song 2", "01 - Artist 2 - Song 2.mp3"),
        (180, "Artist 0 - Song 0", "02 - Artist 0 - Song 0.mp3"),
        (181, "Artist 1 - Song 1", "03 - Artist 1 - Song 1.mp3"),
        (180, "Artist 0 - Song 0", "02 - Artist 0 - Song 0.mp3"),
        (183, "Artist 3 - Song 3", "05 - Artist 3 - Song 3.mp3"),
    ]
    assert (result.tracks, result.entries, result.cover, result.missing) == (4, 5, True, [])
    assert result.audio_bytes == sum(e.path.stat().st_size for e in tracks[:4])


def test_zip_keeps_tags_and_embedded_cover(tmp_path: Path, tracks: list[ExportEntry]) -> None:
    data, _ = _zip_bytes("iter", tmp_path, "P", tracks[:1])
    member = tmp_path / "member.mp3"
    member.write_bytes(zipfile.ZipFile(io.BytesIO(data)).read("01 - Artist 0 - Song 0.mp3"))
    tags = ID3(member)
    assert tags["TIT2"].text == ["title 0"] and tags.getall("APIC")[0].data == JPEG


@pytest.mark.parametrize("mode", ["iter", "write"])
def test_zip_reports_missing_tracks(mode: str, tmp_path: Path, tracks: list[ExportEntry]) -> None:
    gone = ExportEntry("gone", "Deleted", ("X",), 1000, tmp_path / "nope.mp3")
    undownloaded = ExportEntry("todo", "Later", ("Y",), 1000, None)
    a_dir = ExportEntry("dir", "Dir", ("Z",), 1000, tmp_path)
    entries = [undownloaded, tracks[0], gone, undownloaded, a_dir, tracks[1]]
    data, result = _zip_bytes(mode, tmp_path, "P", entries)
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert zf.namelist() == ["02 - Artist 0 - Song 0.mp3", "06 - Artist 1 - Song 1.mp3", "P.m3u8"]
    assert [loc for _, _, loc in parse_m3u8(zf.read("P.m3u8").decode())] == zf.namelist()[:2]
    assert result.missing == [undownloaded, gone, a_dir]
    assert (result.tracks, result.entries) == (2, 2)


def test_zip_file_deleted_after_planning_is_reported(tmp_path: Path, tracks: list[ExportEntry]) -> None:
    stream = iter_playlist_zip("P", tracks[:3])
    assert stream.result.missing == []
    tracks[1].path.unlink()
    zf = zipfile.ZipFile(io.BytesIO(b"".join(stream)))
    assert zf.namelist() == ["01 - Artist 0 - Song 0.mp3", "03 - Artist 2 - Song 2.mp3", "P.m3u8"]
    assert stream.result.missing == [tracks[1]]


@pytest.mark.parametrize("mode", ["iter", "write"])
def test_zip_cover_variants(mode: str, tmp_path: Path, tracks: list[ExportEntry]) -> None:
    png = tmp_path / "cover.bin"
    png.write_bytes(PNG)
    data, result = _zip_bytes(mode, tmp_path, "P", tracks[:1], cover=png)
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert zf.read("cover.png") == PNG and result.cover
    data, result = _zip_bytes(mode, tmp_path, "P", tracks[:1], cover=tmp_path / "absent.jpg")
    assert "cover.jpg" not in zipfile.ZipFile(io.BytesIO(data)).namelist() and not result.cover


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_zip_hostile_names_stay_inside(title: str, tmp_path: Path, tracks: list[ExportEntry]) -> None:
    hostile = [
        ExportEntry(f"h{i}", t, (a,), 1000, tracks[i].path)
        for i, (t, a) in enumerate(zip(HOSTILE_TITLES[:5], ["../..", "NUL", "/", "é" * 260, "x\ny"]))
    ]
    data, result = _zip_bytes("iter", tmp_path, title, hostile, cover=JPEG)
    zf = zipfile.ZipFile(io.BytesIO(data))
    names = zf.namelist()
    assert len(names) == 7 and result.tracks == 5
    for name in names:
        assert_safe_member(name)
        assert len(name.encode("utf-8")) <= 255 and safe_component(name) == name
    assert names[-1] == safe_component(title, ext=".m3u8")
    out = tmp_path / "extract"
    zf.extractall(out)
    assert sorted(os.listdir(out)) == sorted(names)  # nothing landed elsewhere
    entries = parse_m3u8(zf.read(names[-1]).decode("utf-8"))
    assert [loc for _, _, loc in entries] == names[1:6]
    assert entries[4][1] == "x y - " + HOSTILE_TITLES[4]  # a line break cannot inject M3U lines


def test_zip_stream_is_chunked(tmp_path: Path) -> None:
    big = tmp_path / "big.mp3"
    big.write_bytes(os.urandom(300_000))
    stream = iter_playlist_zip("P", [ExportEntry("b", "Big", ("A",), 1, big)], chunk_size=8192)
    sizes = [len(chunk) for chunk in stream]
    assert len(sizes) > 30 and all(sizes) and max(sizes) <= 8192 + 200  # a chunk plus a header
    assert zip_filename("a/b") == "a_b.zip"


def test_zip_stream_close_releases_files(tmp_path: Path, tracks: list[ExportEntry]) -> None:
    stream = iter_playlist_zip("P", tracks, chunk_size=1024)
    next(stream)
    stream.close()
    with pytest.raises(StopIteration):
        next(stream)


@pytest.mark.parametrize("mode", ["iter", "write"])
def test_zip64_members_and_offsets(mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Shrink zipfile's ZIP64 threshold to 4 KiB: the same code paths then run as for > 4 GiB."""
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 4096)
    entries = []
    for i in range(3):
        p = tmp_path / f"{i}.mp3"
        p.write_bytes(os.urandom(10_000 + i))
        entries.append(ExportEntry(f"z{i}", f"T{i}", ("A",), 1000, p))
    data, result = _zip_bytes(mode, tmp_path, "Big", entries)
    assert result.tracks == 3
    zf = zipfile.ZipFile(io.BytesIO(data))
    for info, entry in zip(zf.infolist(), entries):
        assert zf.read(info) == entry.path.read_bytes()
        # the local header announces ZIP64 (extra field 0x0001), since zipfile was told the size
        fixed = data[info.header_offset:info.header_offset + 30]
        name_len, extra_len = struct.unpack("<HH", fixed[26:30])
        extra = data[info.header_offset + 30 + name_len:info.header_offset + 30 + name_len + extra_len]
        assert struct.unpack("<H", extra[:2])[0] == 0x0001
        if mode == "iter":  # ZIP64 data descriptor: signature, CRC, 8-byte sizes
            end = info.header_offset + 30 + name_len + extra_len + info.compress_size
            assert struct.unpack("<LLQQ", data[end:end + 24]) == (0x08074B50, info.CRC, 10_000 + entries.index(entry), 10_000 + entries.index(entry))
    assert b"PK\x06\x06" in data[-200:]  # ZIP64 end of central directory: offsets beyond the limit
    if shutil.which("unzip"):  # an independent reader, with real limits
        archive = tmp_path / "check.zip"
        archive.write_bytes(data)
        subprocess.run(["unzip", "-tqq", str(archive)], check=True)


def test_write_zip_is_atomic_on_failure(tmp_path: Path, tracks: list[ExportEntry], monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "out" / "p.zip"
    dest.parent.mkdir()
    dest.write_bytes(b"previous")

    def broken(*args, **kwargs):
        raise StorageError("boom")
        yield

    monkeypatch.setattr(playlist_zip, "m3u8_lines", broken)
    with pytest.raises(StorageError):
        write_playlist_zip(dest, "P", tracks)
    assert os.listdir(dest.parent) == ["p.zip"] and dest.read_bytes() == b"previous"


def test_write_zip_unwritable_destination(tmp_path: Path, tracks: list[ExportEntry]) -> None:
    with pytest.raises(StorageError, match="cannot write"):
        write_playlist_zip(tmp_path / "no" / "such" / "dir.zip", "P", tracks)
