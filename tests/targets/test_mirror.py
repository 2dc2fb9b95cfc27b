"""Folder mirrors: a phone or a USB stick kept equal to playlists (tunecrate.targets.mirror)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from targets.helpers import HOSTILE_TITLES, parse_m3u8
from tunecrate.core.errors import StorageError
from tunecrate.targets.base import ExportEntry
from tunecrate.targets.mirror import MANIFEST_NAME, mirror
from tunecrate.storage.names import safe_component


def _snapshot(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}


def _m3u_locations(path: Path) -> list[str]:
    return [loc for _, _, loc in parse_m3u8(path.read_text(encoding="utf-8"))]


def _names(items) -> list[str]:
    return [item.name for item in items]


def test_mirror_copies_then_moves_only_the_difference(tmp_path: Path, tracks: list[ExportEntry]) -> None:
    dest = tmp_path / "phone"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    (dest / "Artist 4 - Song 4.mp3").write_bytes(b"a foreign file with our name")
    a, b, c, d, e = tracks
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


def test_mirror_dry_run_changes_nothing(tmp_path: Path, tracks: list[ExportEntry]) -> None:
    dest = tmp_path / "stick"
    plan = mirror(dest, [("P", tracks[:3])], dry_run=True)
    assert plan.dry_run and len(plan.copy) == 4 and not dest.exists()
    mirror(dest, [("P", tracks[:3])])
    before = _snapshot(dest)
    plan = mirror(dest, [("P", tracks[1:4])], dry_run=True)
    assert _snapshot(dest) == before
    done = mirror(dest, [("P", tracks[1:4])])
    assert (plan.copy, plan.update, plan.delete, plan.keep) == (done.copy, done.update, done.delete, done.keep)
    assert _names(done.copy) == ["Artist 3 - Song 3.mp3"] and _names(done.delete) == ["Artist 0 - Song 0.mp3"]


def test_mirror_user_changes_in_dest(tmp_path: Path, tracks: list[ExportEntry]) -> None:
    dest = tmp_path / "phone"
    a, b, c = tracks[:3]
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


def test_mirror_missing_sources(tmp_path: Path, tracks: list[ExportEntry]) -> None:
    dest = tmp_path / "phone"
    todo = ExportEntry("todo", "Later", ("Y",), 1000, None)
    a, b = tracks[:2]
    first = mirror(dest, [("P", [todo, a, b])])
    assert first.missing == (todo,)
    assert _m3u_locations(dest / "P.m3u8") == ["Artist 0 - Song 0.mp3", "Artist 1 - Song 1.mp3"]
    b.path.unlink()  # the library lost it: the copy in DEST stays
    second = mirror(dest, [("P", [todo, a, b])])
    assert second.missing == (todo,) and not second.delete
    assert ("Artist 1 - Song 1.mp3", "library file missing, copy kept") in [(i.name, i.reason) for i in second.keep]


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_mirror_hostile_names(title: str, tmp_path: Path, tracks: list[ExportEntry]) -> None:
    dest = tmp_path / "phone"
    entries = [ExportEntry(f"h{i}", t, ("..",), 1000, tracks[i].path) for i, t in enumerate([title, title.upper(), "CON"])]
    result = mirror(dest, [(title, entries), (title, entries[:1])])
    names = sorted(os.listdir(dest))
    assert len(names) == 6  # manifest, 3 tracks, 2 playlists (same title numbered)
    for name in names:
        assert safe_component(name) == name or name == MANIFEST_NAME
    assert len({n.lower() for n in names}) == len(names)  # distinct on case-insensitive volumes
    assert {i.key for i in result.copy if i.kind == "playlist"} == {title, f"{title} (2)"}


def test_mirror_refuses_unsafe_or_damaged_manifest(tmp_path: Path, tracks: list[ExportEntry]) -> None:
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
        mirror(dest, [("P", tracks[:1])])
    not_a_dir = tmp_path / "file"
    not_a_dir.write_bytes(b"")
    with pytest.raises(StorageError, match="not a directory"):
        mirror(not_a_dir, [])


def test_mirror_cleans_its_stale_temporary_files(tmp_path: Path, tracks: list[ExportEntry]) -> None:
    dest = tmp_path / "phone"
    dest.mkdir()
    (dest / ".tunecrate-tmp-0123456789abcdef.part").write_bytes(b"half a copy")
    mirror(dest, [("P", tracks[:1])])
    assert sorted(os.listdir(dest)) == [MANIFEST_NAME, "Artist 0 - Song 0.mp3", "P.m3u8"]
