"""Listing and read-only commands where no library exists: they create nothing and say where they looked."""

from __future__ import annotations

import pytest

from tunecrate.demo.spotify_server import fake_id

TRACK = fake_id("nowhere:track")
PLAYLIST = fake_id("nowhere:playlist")
#: Commands that only read the library (or export from it), and those with nothing to do without one.
READ_ONLY = [
    ("tracks",), ("tracks", "--json"), ("playlists",), ("playlist-local", PLAYLIST), ("match", "list"),
    ("match", "show", TRACK), ("match", "clear", TRACK), ("review", "--json"), ("sources", "list"),
    ("path-of", TRACK), ("save-track", TRACK, "{out}"), ("download-playlist-zip", PLAYLIST, "{out}/x.zip"),
    ("save-playlist", PLAYLIST, "{out}"), ("export", PLAYLIST, "{out}/x.m3u8"), ("mirror", "--all", "{out}"),
    ("gc", "--dry-run"), ("gc", "--yes"), ("verify",), ("verify", "--repair"), ("retag", "--all"),
    ("delete-track", TRACK, "--yes"), ("delete-playlist", PLAYLIST, "--yes"),
    ("sync", "--all"), ("sync", "--all", "--dry-run"), ("review", "--target", "plex", "--json"),
]


@pytest.mark.parametrize("args", READ_ONLY, ids=lambda a: " ".join(a))
def test_nothing_is_created_and_the_message_says_where(cli, tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    env = {name: "" for name in ("TUNECRATE_STORAGE_ROOT", "TUNECRATE_DATA_ROOT")}
    result = cli(*(a.format(out=tmp_path / "out") for a in args), **env)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "no tunecrate library" in lines[0]
    assert str(tmp_path / "data") in lines[0] and str(tmp_path / "storage_data") in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"] and list((tmp_path / "out").iterdir()) == []


def test_a_storage_folder_without_its_catalogue_points_at_load_local(cli, demo, roots):
    assert cli("match", "set", demo.track_ids[0], demo.sources[demo.track_ids[0]]).exit_code == 0
    assert cli("track", demo.track_ids[0]).exit_code == 0
    for path in roots["data_root"].iterdir():
        path.unlink()
    result = cli("tracks")
    assert result.exit_code == 1
    assert "tunecrate load-local" in result.stderr and str(roots["storage_root"]) in result.stderr
    assert list(roots["data_root"].iterdir()) == []


def test_sync_all_of_a_library_without_playlists_says_so(cli, roots):
    assert cli("match", "skip", TRACK).exit_code == 0  # a library, with no playlist
    result = cli("sync", "--all")
    assert result.exit_code == 0 and "no playlists in the library to sync" in result.stdout, result.output
    assert cli("sync", "--all", "--json").stdout.strip() == "[]"
