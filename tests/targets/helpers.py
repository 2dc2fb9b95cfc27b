"""What the export tests share: fake library MP3s, an M3U8 reader, hostile titles."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from mutagen.id3 import APIC, ID3, TIT2

from tunecrate.targets.base import ExportEntry

HOSTILE_TITLES = ["../../x", "CON", "é" * 300, "😀 party 🎉", "שלום עולם", "a/b\\c", "trailing dots...", "/etc/passwd"]
JPEG = b"\xff\xd8\xff\xe0" + b"jpeg" * 10
PNG = b"\x89PNG\r\n\x1a\n" + b"png" * 10


def fake_mp3(path: Path, seed: int, size: int = 5000) -> Path:
    """A fake MP3: an ID3 tag with a title and an embedded cover, then seeded bytes."""
    path.write_bytes(bytes((seed * 7 + i) % 251 for i in range(size)))
    tags = ID3()
    tags.add(TIT2(encoding=3, text=f"title {seed}"))
    tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="cover", data=JPEG))
    tags.save(path)
    return path


def library_tracks(folder: Path) -> list[ExportEntry]:
    """Five downloaded tracks with distinct sizes, their MP3s in ``folder``."""
    folder.mkdir()
    return [
        ExportEntry(f"id{i}", f"Song {i}", (f"Artist {i}",), 180_400 + i * 1000,
                    fake_mp3(folder / f"id{i}.mp3", i, 4000 + i * 1500))
        for i in range(5)
    ]


def parse_m3u8(text: str) -> list[tuple[int, str, str]]:
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



def assert_safe_member(name: str) -> None:
    assert "\\" not in name and not name.startswith("/") and ":" not in name
    assert ".." not in PurePosixPath(name).parts and "." not in PurePosixPath(name).parts
