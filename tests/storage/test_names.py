"""Safe file names: tunecrate.storage.names."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest

from tunecrate.core.errors import StorageError
from tunecrate.storage.names import (
    NameAllocator,
    check_relative,
    ensure_within,
    number_width,
    numbered_filename,
    safe_component,
    track_filename,
    track_label,
)

HOSTILE = [
    "../../x",
    "..",
    ".",
    "",
    "   ",
    "CON",
    "con.mp3",
    "Aux.tar.gz",
    "com1",
    "LPT9 ",
    "CONIN$",
    "a/b\\c",
    'what?<>:"|*',
    "trailing dots...",
    "trailing space ",
    ".hidden",
    "tab\there\nnewline\x00nul\x7fdel\x85nel",
    "é" * 200,
    "😀" * 100,
    "👩‍👩‍👧‍👦 family",
    "שלום עולם",
    "مرحبا بالعالم",
    "evil\u202egpj.mp3",
    "lone \udcff surrogate",
    "x" * 300,
]


def _utf8_len(s: str) -> int:
    return len(s.encode("utf-8"))


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("ext", ["", ".mp3"])
def test_safe_component_invariants(name: str, ext: str) -> None:
    out = safe_component(name, ext=ext)
    assert out.endswith(ext)
    stem = out[: len(out) - len(ext)]
    assert stem and out not in (".", "..")
    assert _utf8_len(out) <= 255
    assert not set('<>:"/\\|?*') & set(out)
    assert all(unicodedata.category(c) not in ("Cc", "Cs") for c in out)
    assert not out.startswith((".", " ")) and not out.endswith((".", " "))
    assert out.split(".")[0].rstrip(" ").upper() not in {"CON", "PRN", "AUX", "NUL", "COM1", "LPT9", "CONIN$"}
    assert unicodedata.is_normalized("NFC", out)
    assert safe_component(out) == out  # idempotent: a safe name stays as is


def test_safe_component_examples() -> None:
    assert safe_component("AC/DC: Back in Black?") == "AC_DC_ Back in Black_"
    assert safe_component("CON") == "_CON"
    assert safe_component("con", ext=".mp3") == "_con.mp3"
    assert safe_component("con.live", ext=".mp3") == "_con.live.mp3"
    assert safe_component("Console") == "Console"
    assert safe_component("../../x") == "_.._x"
    assert safe_component("...") == "_"
    assert safe_component("", ext=".m3u8") == "_.m3u8"
    assert safe_component("Help! ... ") == "Help!"
    assert safe_component("evil\u202egpj.exe") == "evilgpj.exe"
    assert safe_component("e\u0301te\u0301") == "été"  # NFD input becomes NFC
    assert safe_component("שלום") == "שלום"
    assert safe_component("a\tb") == "a_b"


def test_truncation_keeps_extension_and_character_boundary() -> None:
    out = safe_component("😀" * 100, ext=".mp3")  # 400 bytes of 4-byte characters
    assert out.endswith(".mp3")
    assert _utf8_len(out) <= 255
    assert out[:-4] == "😀" * 62  # 62 * 4 = 248 <= 251 < 63 * 4
    assert safe_component("ab" * 10, max_bytes=9) == "ababababa"
    short = safe_component("abcdefghij", ext=".mp3", max_bytes=8)
    assert short == "abcd.mp3"
    with pytest.raises(ValueError):
        safe_component("x", ext=".mp3", max_bytes=5)
    with pytest.raises(ValueError):
        safe_component("x", ext="mp3")
    with pytest.raises(ValueError):
        safe_component("x", ext="./mp3")


def test_allocator_numbers_collisions_ignoring_case() -> None:
    alloc = NameAllocator(["Song.mp3"])
    assert "SONG.MP3" in alloc
    assert alloc.claim("song", ext=".mp3") == "song (2).mp3"
    assert alloc.claim("SONG", ext=".mp3") == "SONG (3).mp3"
    assert alloc.claim("Other", ext=".mp3") == "Other.mp3"
    assert alloc.claim("other", ext=".m3u8") == "other.m3u8"
    alloc.reserve("Taken (2).mp3")
    assert alloc.claim("taken", ext=".mp3") == "taken.mp3"
    assert alloc.claim("taken", ext=".mp3") == "taken (3).mp3"


def test_allocator_collision_of_nfc_and_nfd() -> None:
    alloc = NameAllocator([unicodedata.normalize("NFD", "Café.mp3")])
    assert alloc.claim("CAFÉ", ext=".mp3") == "CAFÉ (2).mp3"


def test_allocator_numbered_long_names_stay_within_limit() -> None:
    alloc = NameAllocator()
    first = alloc.claim("x" * 300, ext=".mp3")
    second = alloc.claim("x" * 300, ext=".mp3")
    assert _utf8_len(first) == 255 and _utf8_len(second) == 255
    assert second.endswith(" (2).mp3")
    assert first.lower() != second.lower()


def test_track_names() -> None:
    assert track_label(("A", "B"), "T") == "A, B - T"
    assert track_label((), "T") == "T"
    assert track_filename(("AC/DC",), "T.N.T.") == "AC_DC - T.N.T.mp3"
    assert track_filename((), "") == "_.mp3"
    assert [number_width(n) for n in (1, 9, 99, 100, 999, 1000)] == [2, 2, 2, 3, 3, 4]
    assert numbered_filename(7, 12, ("A",), "T") == "07 - A - T.mp3"
    assert numbered_filename(7, 500, ("A",), "T") == "007 - A - T.mp3"
    long = numbered_filename(42, 500, ("A",), "é" * 300)
    assert long.startswith("042 - A - é") and long.endswith(".mp3") and _utf8_len(long) <= 255


@pytest.mark.parametrize("bad", ["", "../x", "a/../b", "/abs", "a\\b", "C:x", "a//b", "./a", "a/"])
def test_check_relative_refuses(bad: str) -> None:
    with pytest.raises(StorageError):
        check_relative(bad)


def test_check_relative_accepts() -> None:
    assert check_relative("a/b c.mp3") == "a/b c.mp3"
    assert check_relative("_.._x") == "_.._x"


def test_ensure_within(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    assert ensure_within(root, root / "a.mp3") == (root / "a.mp3").resolve()
    assert ensure_within(root, Path("sub/a.mp3")) == (root / "sub" / "a.mp3").resolve()
    for bad in (root / ".." / "x", Path("../x"), tmp_path / "x", root, Path("/etc/passwd")):
        with pytest.raises(StorageError):
            ensure_within(root, bad)
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(StorageError):
        ensure_within(root, root / "link" / "x")


@pytest.mark.parametrize("name", HOSTILE)
def test_safe_names_never_escape(tmp_path: Path, name: str) -> None:
    out = safe_component(name, ext=".mp3")
    check_relative(out)
    assert ensure_within(tmp_path, tmp_path / out).parent == tmp_path.resolve()
    (tmp_path / out).write_bytes(b"x")  # the OS accepts it
    assert os.listdir(tmp_path) == [out]
