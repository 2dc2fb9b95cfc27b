"""Playlist exports: ZIP streams, M3U8 files and folder mirrors (tunecrate.targets.playlist_zip, .mirror)."""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from mutagen.id3 import APIC, ID3, TIT2

from tunecrate.core.errors import StorageError
from tunecrate.targets import playlist_zip
from tunecrate.targets.base import ExportEntry
from tunecrate.targets.m3u8 import m3u8_lines, write_m3u8
from tunecrate.targets.playlist_zip import iter_playlist_zip, write_playlist_zip, zip_filename
from tunecrate.targets.mirror import MANIFEST_NAME, mirror
from tunecrate.storage.names import safe_component

HOSTILE_TITLES = ["../../x", "CON", "é" * 300, "😀 party 🎉", "שלום עולם", "a/b\\c", "trailing dots...", "/etc/passwd"]
JPEG = b"\xff\xd8\xff\xe0" + b"jpeg" * 10
PNG = b"\x89PNG\r\n\x1a\n" + b"png" * 10


def _mp3(path: Path, seed: int, size: int = 5000) -> Path:
    """A fake MP3: an ID3 tag with a title and an embedded cover, then seeded bytes."""
    path.write_bytes(bytes((seed * 7 + i) % 251 for i in range(size)))
    tags = ID3()
    tags.add(TIT2(encoding=3, text=f"title {seed}"))
    tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="cover", data=JPEG))
    tags.save(path)
    return path


@pytest.fixture
def library(tmp_path: Path) -> list[ExportEntry]:
    """Five downloaded tracks with distinct sizes."""
    lib = tmp_path / "lib"
    lib.mkdir()
    return [
        ExportEntry(f"id{i}", f"Song {i}", (f"Artist {i}",), 180_400 + i * 1000, _mp3(lib / f"id{i}.mp3", i, 4000 + i * 1500))
        for i in range(5)
    ]


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


def _parse_m3u8(text: str) -> list[tuple[int, str, str]]:
    """(seconds, label, location) per entry of an extended M3U8."""
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    body = [line for line in lines[1:] if not line.startswith("#PLAYLIST:")]
    out = []
    for info, location in zip(body[::2], body[1::2]):
        assert info.startswith("#EXTINF:")
        seconds, label = info[len("#EXTINF:"):].split(",", 1)
        out.append((int(seconds), label, location))
    return out


def _assert_safe_member(name: str) -> None:
    assert "\\" not in name and not name.startswith("/") and ":" not in name
    assert ".." not in PurePosixPath(name).parts and "." not in PurePosixPath(name).parts


# --------------------------------------------------------------------------- ZIP


@pytest.mark.parametrize("mode", ["iter", "write"])
def test_zip_layout_order_bytes_and_compression(mode: str, tmp_path: Path, library: list[ExportEntry]) -> None:
    entries = [library[2], library[0], library[1], library[0], library[3]]  # id0 listed twice
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
    for name, entry in zip(names[1:5], [library[2], library[0], library[1], library[3]]):
        assert zf.read(name) == entry.path.read_bytes()
    assert zf.read("cover.jpg") == JPEG
    m3u = zf.read("Road Trip.m3u8").decode("utf-8")
    assert "#PLAYLIST:Road Trip" in m3u
    assert _parse_m3u8(m3u) == [
        (182, "Artist 2 - Song 2", "01 - Artist 2 - Song 2.mp3"),
        (180, "Artist 0 - Song 0", "02 - Artist 0 - Song 0.mp3"),
        (181, "Artist 1 - Song 1", "03 - Artist 1 - Song 1.mp3"),
        (180, "Artist 0 - Song 0", "02 - Artist 0 - Song 0.mp3"),
        (183, "Artist 3 - Song 3", "05 - Artist 3 - Song 3.mp3"),
    ]
    assert (result.tracks, result.entries, result.cover, result.missing) == (4, 5, True, [])
    assert result.audio_bytes == sum(e.path.stat().st_size for e in library[:4])


def test_zip_keeps_tags_and_embedded_cover(tmp_path: Path, library: list[ExportEntry]) -> None:
    data, _ = _zip_bytes("iter", tmp_path, "P", library[:1])
    member = tmp_path / "member.mp3"
    member.write_bytes(zipfile.ZipFile(io.BytesIO(data)).read("01 - Artist 0 - Song 0.mp3"))
    tags = ID3(member)
    assert tags["TIT2"].text == ["title 0"] and tags.getall("APIC")[0].data == JPEG


@pytest.mark.parametrize("mode", ["iter", "write"])
def test_zip_reports_missing_tracks(mode: str, tmp_path: Path, library: list[ExportEntry]) -> None:
    gone = ExportEntry("gone", "Deleted", ("X",), 1000, tmp_path / "nope.mp3")
    undownloaded = ExportEntry("todo", "Later", ("Y",), 1000, None)
    a_dir = ExportEntry("dir", "Dir", ("Z",), 1000, tmp_path)
    entries = [undownloaded, library[0], gone, undownloaded, a_dir, library[1]]
    data, result = _zip_bytes(mode, tmp_path, "P", entries)
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert zf.namelist() == ["02 - Artist 0 - Song 0.mp3", "06 - Artist 1 - Song 1.mp3", "P.m3u8"]
    assert [loc for _, _, loc in _parse_m3u8(zf.read("P.m3u8").decode())] == zf.namelist()[:2]
    assert result.missing == [undownloaded, gone, a_dir]
    assert (result.tracks, result.entries) == (2, 2)


def test_zip_file_deleted_after_planning_is_reported(tmp_path: Path, library: list[ExportEntry]) -> None:
    stream = iter_playlist_zip("P", library[:3])
    assert stream.result.missing == []
    library[1].path.unlink()
    zf = zipfile.ZipFile(io.BytesIO(b"".join(stream)))
    assert zf.namelist() == ["01 - Artist 0 - Song 0.mp3", "03 - Artist 2 - Song 2.mp3", "P.m3u8"]
    assert stream.result.missing == [library[1]]


@pytest.mark.parametrize("mode", ["iter", "write"])
def test_zip_cover_variants(mode: str, tmp_path: Path, library: list[ExportEntry]) -> None:
    png = tmp_path / "cover.bin"
    png.write_bytes(PNG)
    data, result = _zip_bytes(mode, tmp_path, "P", library[:1], cover=png)
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert zf.read("cover.png") == PNG and result.cover
    data, result = _zip_bytes(mode, tmp_path, "P", library[:1], cover=tmp_path / "absent.jpg")
    assert "cover.jpg" not in zipfile.ZipFile(io.BytesIO(data)).namelist() and not result.cover


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_zip_hostile_names_stay_inside(title: str, tmp_path: Path, library: list[ExportEntry]) -> None:
    hostile = [
        ExportEntry(f"h{i}", t, (a,), 1000, library[i].path)
        for i, (t, a) in enumerate(zip(HOSTILE_TITLES[:5], ["../..", "NUL", "/", "é" * 260, "x\ny"]))
    ]
    data, result = _zip_bytes("iter", tmp_path, title, hostile, cover=JPEG)
    zf = zipfile.ZipFile(io.BytesIO(data))
    names = zf.namelist()
    assert len(names) == 7 and result.tracks == 5
    for name in names:
        _assert_safe_member(name)
        assert len(name.encode("utf-8")) <= 255 and safe_component(name) == name
    assert names[-1] == safe_component(title, ext=".m3u8")
    out = tmp_path / "extract"
    zf.extractall(out)
    assert sorted(os.listdir(out)) == sorted(names)  # nothing landed elsewhere
    entries = _parse_m3u8(zf.read(names[-1]).decode("utf-8"))
    assert [loc for _, _, loc in entries] == names[1:6]
    assert entries[4][1] == "x y - " + HOSTILE_TITLES[4]  # a line break cannot inject M3U lines


def test_zip_stream_is_chunked(tmp_path: Path) -> None:
    big = tmp_path / "big.mp3"
    big.write_bytes(os.urandom(300_000))
    stream = iter_playlist_zip("P", [ExportEntry("b", "Big", ("A",), 1, big)], chunk_size=8192)
    sizes = [len(chunk) for chunk in stream]
    assert len(sizes) > 30 and all(sizes) and max(sizes) <= 8192 + 200  # a chunk plus a header
    assert zip_filename("a/b") == "a_b.zip"


def test_zip_stream_close_releases_files(tmp_path: Path, library: list[ExportEntry]) -> None:
    stream = iter_playlist_zip("P", library, chunk_size=1024)
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


def test_write_zip_is_atomic_on_failure(tmp_path: Path, library: list[ExportEntry], monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "out" / "p.zip"
    dest.parent.mkdir()
    dest.write_bytes(b"previous")

    def broken(*args, **kwargs):
        raise StorageError("boom")
        yield

    monkeypatch.setattr(playlist_zip, "m3u8_lines", broken)
    with pytest.raises(StorageError):
        write_playlist_zip(dest, "P", library)
    assert os.listdir(dest.parent) == ["p.zip"] and dest.read_bytes() == b"previous"


def test_write_zip_unwritable_destination(tmp_path: Path, library: list[ExportEntry]) -> None:
    with pytest.raises(StorageError, match="cannot write"):
        write_playlist_zip(tmp_path / "no" / "such" / "dir.zip", "P", library)


# --------------------------------------------------------------------------- M3U8


def test_m3u8_lines_render() -> None:
    a = ExportEntry("a", "Ti\r\ntle", ("A", "B"), 61_500, None)
    b = ExportEntry("b", "Unknown length", (), 0, None)
    text = "".join(m3u8_lines([(a, "#1.mp3"), (b, "/abs/b.mp3")], title="My\nList"))
    assert text == (
        "#EXTM3U\n#PLAYLIST:My List\n"
        "#EXTINF:62,A, B - Ti  tle\n./#1.mp3\n"
        "#EXTINF:-1,Unknown length\n/abs/b.mp3\n"
    )
    with pytest.raises(StorageError):
        list(m3u8_lines([(a, "x\ny.mp3")]))


def test_write_m3u8_relative_absolute_and_missing(tmp_path: Path, library: list[ExportEntry]) -> None:
    missing = ExportEntry("m", "Missing", ("M",), 1000, None)
    entries = [library[0], missing, library[1], library[0]]
    dest = tmp_path / "lists" / "p.m3u8"
    dest.parent.mkdir()
    result = write_m3u8(dest, entries, title="P")
    assert (result.tracks, result.entries, result.missing) == (2, 3, [missing])
    assert result.total_bytes == dest.stat().st_size
    parsed = _parse_m3u8(dest.read_text(encoding="utf-8"))
    assert [loc for _, _, loc in parsed] == [os.path.join("..", "lib", "id0.mp3"), os.path.join("..", "lib", "id1.mp3"), os.path.join("..", "lib", "id0.mp3")]
    assert [(dest.parent / loc).resolve() for _, _, loc in parsed] == [e.path.resolve() for e in (library[0], library[1], library[0])]
    assert parsed[0][:2] == (180, "Artist 0 - Song 0")

    write_m3u8(dest, entries, absolute=True)
    assert [loc for _, _, loc in _parse_m3u8(dest.read_text("utf-8"))][:2] == [str(library[0].path), str(library[1].path)]

    write_m3u8(dest, entries[:1], base_dir=library[0].path.parent)
    assert _parse_m3u8(dest.read_text("utf-8"))[0][2] == "id0.mp3"
    assert sorted(os.listdir(dest.parent)) == ["p.m3u8"]


# --------------------------------------------------------------------------- mirror


def _snapshot(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}


def _m3u_locations(path: Path) -> list[str]:
    return [loc for _, _, loc in _parse_m3u8(path.read_text(encoding="utf-8"))]


def _names(items) -> list[str]:
    return [item.name for item in items]


def test_mirror_copies_then_moves_only_the_difference(tmp_path: Path, library: list[ExportEntry]) -> None:
    dest = tmp_path / "phone"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    (dest / "Artist 4 - Song 4.mp3").write_bytes(b"a foreign file with our name")
    a, b, c, d, e = library
    first = mirror(dest, [("Road Trip", [a, b, c, a]), ("Chill", [c, d])])
    assert _names(first.copy) == [
        "Artist 0 - Song 0.mp3", "Artist 1 - Song 1.mp3", "Artist 2 - Song 2.mp3",
        "Artist 3 - Song 3.mp3", "Road Trip.m3u8", "Chill.m3u8",
    ]
    assert not (first.update or first.delete or first.keep or first.release or first.missing)
    assert first.bytes_to_write >= sum(x.path.stat().st_size for x in (a, b, c, d))
    assert _m3u_locations(dest / "Road Trip.m3u8") == [
        "Artist 0 - Song 0.mp3", "Artist 1 - Song 1.mp3", "Artist 2 - Song 2.mp3", "Artist 0 - Song 0.mp3",
    ]
    for x in (a, b, c, d):
        copy = dest / f"{x.artists[0]} - {x.title}.mp3"
        assert copy.read_bytes() == x.path.read_bytes()
        assert copy.stat().st_mtime_ns == x.path.stat().st_mtime_ns

    again = mirror(dest, [("Road Trip", [a, b, c, a]), ("Chill", [c, d])])
    assert not (again.copy or again.update or again.delete) and len(again.keep) == 6

    before = _snapshot(dest)
    c.path.write_bytes(c.path.read_bytes() + b"retagged")  # source changed
    os.utime(c.path, ns=(10**18, 10**18))
    second = mirror(dest, [("Road Trip", [a, c, e]), ("Chill", [c, d])])  # b left, e joined
    assert _names(second.copy) == ["Artist 4 - Song 4 (2).mp3"]  # the foreign name is not taken over
    assert _names(second.update) == ["Artist 2 - Song 2.mp3", "Road Trip.m3u8"]
    assert [(i.name, i.reason) for i in second.delete] == [("Artist 1 - Song 1.mp3", "not in any playlist")]
    assert sorted(_names(second.keep)) == ["Artist 0 - Song 0.mp3", "Artist 3 - Song 3.mp3", "Chill.m3u8"]
    after = _snapshot(dest)
    for untouched in ("Artist 0 - Song 0.mp3", "Artist 3 - Song 3.mp3", "Chill.m3u8", "notes.txt", "Artist 4 - Song 4.mp3"):
        assert after[untouched] == before[untouched]  # same inode, mtime and bytes
    assert "Artist 1 - Song 1.mp3" not in after
    assert after["Artist 2 - Song 2.mp3"][2] == c.path.read_bytes()
    assert after["notes.txt"][2] == b"mine" and after["Artist 4 - Song 4.mp3"][2] == b"a foreign file with our name"
    assert _m3u_locations(dest / "Road Trip.m3u8") == ["Artist 0 - Song 0.mp3", "Artist 2 - Song 2.mp3", "Artist 4 - Song 4 (2).mp3"]
    assert not [n for n in os.listdir(dest) if n.startswith(".tunecrate-tmp-")]

    last = mirror(dest, [("Chill", [d])])  # a playlist dropped: its M3U8 and tracks go
    assert sorted(_names(last.delete)) == ["Artist 0 - Song 0.mp3", "Artist 2 - Song 2.mp3", "Artist 4 - Song 4 (2).mp3", "Road Trip.m3u8"]
    assert sorted(os.listdir(dest)) == sorted([MANIFEST_NAME, "Artist 3 - Song 3.mp3", "Artist 4 - Song 4.mp3", "Chill.m3u8", "notes.txt"])


def test_mirror_dry_run_changes_nothing(tmp_path: Path, library: list[ExportEntry]) -> None:
    dest = tmp_path / "stick"
    plan = mirror(dest, [("P", library[:3])], dry_run=True)
    assert plan.dry_run and len(plan.copy) == 4 and not dest.exists()
    mirror(dest, [("P", library[:3])])
    before = _snapshot(dest)
    plan = mirror(dest, [("P", library[1:4])], dry_run=True)
    assert _snapshot(dest) == before
    done = mirror(dest, [("P", library[1:4])])
    assert (plan.copy, plan.update, plan.delete, plan.keep) == (done.copy, done.update, done.delete, done.keep)
    assert _names(done.copy) == ["Artist 3 - Song 3.mp3"] and _names(done.delete) == ["Artist 0 - Song 0.mp3"]


def test_mirror_user_changes_in_dest(tmp_path: Path, library: list[ExportEntry]) -> None:
    dest = tmp_path / "phone"
    a, b, c = library[:3]
    mirror(dest, [("P", [a, b, c])])
    (dest / "Artist 0 - Song 0.mp3").unlink()  # deleted on the phone: restored
    (dest / "Artist 1 - Song 1.mp3").write_bytes(b"edited on the phone")  # edited: left alone
    stamp = dest / "Artist 2 - Song 2.mp3"
    os.utime(stamp, ns=(stamp.stat().st_atime_ns, stamp.stat().st_mtime_ns + 3600 * 10**9))  # same bytes, FAT clock moved
    result = mirror(dest, [("P", [a, b, c])])
    assert [(i.name, i.reason) for i in result.copy] == [
        ("Artist 0 - Song 0.mp3", "missing in DEST"), ("Artist 1 - Song 1 (2).mp3", "new"),
    ]
    assert [(i.name, i.reason) for i in result.release] == [("Artist 1 - Song 1.mp3", "changed in DEST")]
    assert ("Artist 2 - Song 2.mp3", "same bytes, new mtime") in [(i.name, i.reason) for i in result.keep]
    assert (dest / "Artist 1 - Song 1.mp3").read_bytes() == b"edited on the phone"
    assert (dest / "Artist 1 - Song 1 (2).mp3").read_bytes() == b.path.read_bytes()
    assert not mirror(dest, [("P", [a, b, c])]).copy  # settled
    manifest = json.loads((dest / MANIFEST_NAME).read_text("utf-8"))["files"]
    assert "Artist 1 - Song 1.mp3" not in manifest
    gone = mirror(dest, [])  # the released file is never deleted
    assert "Artist 1 - Song 1.mp3" not in _names(gone.delete)
    assert sorted(os.listdir(dest)) == [MANIFEST_NAME, "Artist 1 - Song 1.mp3"]


def test_mirror_missing_sources(tmp_path: Path, library: list[ExportEntry]) -> None:
    dest = tmp_path / "phone"
    todo = ExportEntry("todo", "Later", ("Y",), 1000, None)
    a, b = library[:2]
    first = mirror(dest, [("P", [todo, a, b])])
    assert first.missing == (todo,)
    assert _m3u_locations(dest / "P.m3u8") == ["Artist 0 - Song 0.mp3", "Artist 1 - Song 1.mp3"]
    b.path.unlink()  # the library lost it: the copy in DEST stays
    second = mirror(dest, [("P", [todo, a, b])])
    assert second.missing == (todo,) and not second.delete
    assert ("Artist 1 - Song 1.mp3", "library file missing, copy kept") in [(i.name, i.reason) for i in second.keep]


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_mirror_hostile_names(title: str, tmp_path: Path, library: list[ExportEntry]) -> None:
    dest = tmp_path / "phone"
    entries = [ExportEntry(f"h{i}", t, ("..",), 1000, library[i].path) for i, t in enumerate([title, title.upper(), "CON"])]
    result = mirror(dest, [(title, entries), (title, entries[:1])])
    names = sorted(os.listdir(dest))
    assert len(names) == 6  # manifest, 3 tracks, 2 playlists (same title numbered)
    for name in names:
        assert safe_component(name) == name or name == MANIFEST_NAME
    assert len({n.lower() for n in names}) == len(names)  # distinct on case-insensitive volumes
    assert {i.key for i in result.copy if i.kind == "playlist"} == {title, f"{title} (2)"}


def test_mirror_refuses_unsafe_or_damaged_manifest(tmp_path: Path, library: list[ExportEntry]) -> None:
    dest = tmp_path / "phone"
    dest.mkdir()
    victim = tmp_path / "victim.mp3"
    victim.write_bytes(b"keep me")
    (dest / MANIFEST_NAME).write_text(json.dumps(
        {"format": 1, "files": {"../victim.mp3": {"kind": "track", "key": "x", "size": 7, "mtime_ns": victim.stat().st_mtime_ns}}}
    ))
    with pytest.raises(StorageError, match="damaged"):
        mirror(dest, [])
    assert victim.read_bytes() == b"keep me"
    (dest / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(StorageError, match="delete it to start over"):
        mirror(dest, [("P", library[:1])])
    not_a_dir = tmp_path / "file"
    not_a_dir.write_bytes(b"")
    with pytest.raises(StorageError, match="not a directory"):
        mirror(not_a_dir, [])


def test_mirror_cleans_its_stale_temporary_files(tmp_path: Path, library: list[ExportEntry]) -> None:
    dest = tmp_path / "phone"
    dest.mkdir()
    (dest / ".tunecrate-tmp-0123456789abcdef.part").write_bytes(b"half a copy")
    mirror(dest, [("P", library[:1])])
    assert sorted(os.listdir(dest)) == [MANIFEST_NAME, "Artist 0 - Song 0.mp3", "P.m3u8"]
