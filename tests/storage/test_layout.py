import os

import pytest

from tunecrate.core.errors import InvalidReference, StorageError
from tunecrate.storage.layout import Layout

TID = "4uLU6hMCjMI75M1A2tKUQC"


def test_track_paths_follow_the_prefix_layout(tmp_path):
    layout = Layout(tmp_path)
    assert layout.track_relpath(TID) == f"tracks/4u/{TID}.mp3"
    assert layout.track_path(TID) == tmp_path / "tracks" / "4u" / f"{TID}.mp3"
    assert layout.playlist_json_path("likes") == tmp_path / "playlists" / "likes.json"


@pytest.mark.parametrize("bad", ["../../etc/passwd", "a/b", "", ".."])
def test_unsafe_ids_never_become_paths(tmp_path, bad):
    layout = Layout(tmp_path)
    with pytest.raises(InvalidReference):
        layout.track_path(bad)
    with pytest.raises(InvalidReference):
        layout.playlist_json_path(bad)


def test_resolve_refuses_escapes(tmp_path):
    layout = Layout(tmp_path / "root")
    with pytest.raises(StorageError):
        layout.resolve("../outside.mp3")


def test_install_is_atomic_and_leaves_no_tmp(tmp_path):
    layout = Layout(tmp_path)
    layout.ensure()
    dest = layout.track_path(TID)
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"old")
    tmp = layout.tmp_file(".mp3")
    tmp.write_bytes(b"new contents")
    assert layout.install(tmp, dest) == len(b"new contents")
    assert dest.read_bytes() == b"new contents"
    assert layout.stray_tmp() == []


def test_failed_install_keeps_the_old_file(tmp_path):
    layout = Layout(tmp_path)
    layout.ensure()
    dest = layout.track_path(TID)
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"good")
    missing_tmp = layout.tmp_dir / "gone.mp3"
    with pytest.raises(StorageError):
        layout.install(missing_tmp, dest)
    assert dest.read_bytes() == b"good"


def test_clean_tmp_removes_leftovers(tmp_path):
    layout = Layout(tmp_path)
    layout.ensure()
    (layout.tmp_dir / "partial.mp3").write_bytes(b"x")
    d = layout.tmp_dir_for("dl-")
    (d / "half.webm").write_bytes(b"y")
    removed = layout.clean_tmp()
    assert len(removed) == 2
    assert os.listdir(layout.tmp_dir) == []


def test_write_json_roundtrip(tmp_path):
    import json

    layout = Layout(tmp_path)
    layout.ensure()
    target = layout.playlist_json_path(TID)
    layout.write_json(target, {"title": "Mïx ✓"})
    assert json.loads(target.read_text("utf-8")) == {"title": "Mïx ✓"}
