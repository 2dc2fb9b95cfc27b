"""Extended M3U8 playlists (tunecrate.targets.m3u8)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from targets.helpers import parse_m3u8
from tunecrate.core.errors import StorageError
from tunecrate.targets.base import ExportEntry
from tunecrate.targets.m3u8 import m3u8_lines, write_m3u8


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


def test_write_m3u8_relative_absolute_and_missing(tmp_path: Path, tracks: list[ExportEntry]) -> None:
    missing = ExportEntry("m", "Missing", ("M",), 1000, None)
    entries = [tracks[0], missing, tracks[1], tracks[0]]
    dest = tmp_path / "lists" / "p.m3u8"
    dest.parent.mkdir()
    result = write_m3u8(dest, entries, title="P")
    assert (result.tracks, result.entries, result.missing) == (2, 3, [missing])
    assert result.total_bytes == dest.stat().st_size
    parsed = parse_m3u8(dest.read_text(encoding="utf-8"))
    assert [loc for _, _, loc in parsed] == [os.path.join("..", "lib", "id0.mp3"), os.path.join("..", "lib", "id1.mp3"), os.path.join("..", "lib", "id0.mp3")]
    assert [(dest.parent / loc).resolve() for _, _, loc in parsed] == [e.path.resolve() for e in (tracks[0], tracks[1], tracks[0])]
    assert parsed[0][:2] == (180, "Artist 0 - Song 0")

    write_m3u8(dest, entries, absolute=True)
    assert [loc for _, _, loc in parse_m3u8(dest.read_text("utf-8"))][:2] == [str(tracks[0].path), str(tracks[1].path)]

    write_m3u8(dest, entries[:1], base_dir=tracks[0].path.parent)
    assert parse_m3u8(dest.read_text("utf-8"))[0][2] == "id0.mp3"
    assert sorted(os.listdir(dest.parent)) == ["p.m3u8"]


# --------------------------------------------------------------------------- mirror
