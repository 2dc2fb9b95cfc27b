"""The one atomic write: complete files or none, with the modes of the module docstring."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tunecrate.core.errors import StorageError
from tunecrate.storage.atomic import (
    SECRET_MODE, TMP_PREFIX, append_line, atomic_write, create_temp, install, read_lines, write_bytes, write_json,
)


@pytest.fixture
def umask():
    """Run with umask 027 (so that 0666 & ~umask = 0640 differs from every other mode), then restore it."""
    old = os.umask(0o027)
    try:
        yield 0o027
    finally:
        os.umask(old)


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def leftovers(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.startswith(TMP_PREFIX))


def test_library_files_get_0666_less_the_umask(tmp_path, umask):
    dest = tmp_path / "a.json"
    write_json(dest, {"title": "Mïx ✓"})
    assert mode_of(dest) == 0o666 & ~umask == 0o640
    assert json.loads(dest.read_text("utf-8")) == {"title": "Mïx ✓"}


def test_a_secret_is_0600_from_the_start(tmp_path, umask):
    dest = tmp_path / "token.json"
    with atomic_write(dest, mode=SECRET_MODE) as tmp:
        assert mode_of(tmp) == 0o600  # never wider, not even while it is being written
        tmp.write_text("{}")
    assert mode_of(dest) == 0o600


def test_a_secret_replacing_a_wider_file_is_0600(tmp_path, umask):
    dest = tmp_path / "token.json"
    dest.write_text("old")
    os.chmod(dest, 0o644)
    write_bytes(dest, b"new", mode=SECRET_MODE)
    assert mode_of(dest) == 0o600 and dest.read_bytes() == b"new"


def test_a_failure_inside_the_block_leaves_the_old_file_and_no_temporary_file(tmp_path):
    dest = tmp_path / "playlist.json"
    dest.write_bytes(b"old contents")
    with pytest.raises(RuntimeError, match="interrupted"):
        with atomic_write(dest) as tmp:
            tmp.write_bytes(b"half of the new")
            raise RuntimeError("interrupted")
    assert dest.read_bytes() == b"old contents"
    assert leftovers(tmp_path) == []
    assert sorted(os.listdir(tmp_path)) == ["playlist.json"]


def test_a_failure_through_a_tmp_dir_leaves_nothing_there(tmp_path):
    dest, work = tmp_path / "out.bin", tmp_path / "tmp"
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(dest, tmp_dir=work) as tmp:
            assert tmp.parent == work
            raise KeyboardInterrupt
    assert not dest.exists() and os.listdir(work) == []


def test_the_destination_appears_only_when_the_block_ends(tmp_path):
    dest = tmp_path / "new.bin"
    with atomic_write(dest) as tmp:
        tmp.write_bytes(b"data")
        assert not dest.exists()
    assert dest.read_bytes() == b"data" and leftovers(tmp_path) == []


def test_install_without_replace_never_replaces(tmp_path):
    dest = tmp_path / "song.mp3"
    dest.write_bytes(b"the user's file")
    tmp = create_temp(tmp_path)
    tmp.write_bytes(b"ours")
    with pytest.raises(FileExistsError):
        install(tmp, dest, replace=False)
    assert dest.read_bytes() == b"the user's file"
    assert tmp.read_bytes() == b"ours"  # left for the caller to try another name
    other = tmp_path / "song (2).mp3"
    assert install(tmp, other, replace=False) == 4
    assert other.read_bytes() == b"ours" and not tmp.exists()
    assert dest.read_bytes() == b"the user's file"


def test_install_with_replace_replaces_and_returns_the_size(tmp_path):
    dest = tmp_path / "song.mp3"
    dest.write_bytes(b"old")
    tmp = create_temp(tmp_path)
    tmp.write_bytes(b"new contents")
    assert install(tmp, dest) == len(b"new contents")
    assert dest.read_bytes() == b"new contents" and not tmp.exists()


def test_os_errors_become_one_line_storage_errors_naming_the_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    dest = blocker / "inside.json"  # its folder is a file: ENOTDIR
    with pytest.raises(StorageError) as caught:
        write_json(dest, {})
    assert str(dest) in str(caught.value) and "\n" not in str(caught.value)
    assert blocker.read_bytes() == b""


def test_temporary_names_are_fresh(tmp_path):
    names = {create_temp(tmp_path).name for _ in range(50)}
    assert len(names) == 50 and all(n.startswith(TMP_PREFIX) for n in names)


def test_a_journal_grows_by_whole_records(tmp_path, umask):
    journal = tmp_path / "changes.log"
    assert read_lines(journal) == []
    assert append_line(journal, b'{"n": 1}') == 9
    assert append_line(journal, "{\"n\": \"ü\"}".encode()) == journal.stat().st_size
    assert read_lines(journal) == [b'{"n": 1}', "{\"n\": \"ü\"}".encode()]
    assert mode_of(journal) == 0o640


def test_a_torn_journal_record_is_skipped_and_closed_by_the_next_append(tmp_path):
    journal = tmp_path / "changes.log"
    append_line(journal, b"first")
    with open(journal, "ab") as fh:
        fh.write(b"half a rec")  # a crash in mid-append
    assert read_lines(journal) == [b"first"]
    append_line(journal, b"second")
    assert read_lines(journal) == [b"first", b"half a rec", b"second"]


def test_a_journal_record_is_one_line(tmp_path):
    with pytest.raises(ValueError):
        append_line(tmp_path / "changes.log", b"two\nlines")
    assert not (tmp_path / "changes.log").exists()
