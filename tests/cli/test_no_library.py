"""Listing and read-only commands where no library exists: they create nothing and say where they looked."""

from __future__ import annotations

import json

import pytest

from standins.exports import Row, account_export_files, playlist, track_item, write_zip
from tunecrate.demo.spotify_server import fake_id
from tunecrate.sources.spotify_export import playlist_id

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
    ("sync", PLAYLIST, "--dry-run"), ("sync", "likes", "--dry-run"), ("sources", "remove", "{out}"),
    ("match", "accept", TRACK), ("push", PLAYLIST, "--to", "plex"), ("push", PLAYLIST, "--to", "subsonic", "--dry-run"),
]
NO_ROOTS = {name: "" for name in ("TUNECRATE_STORAGE_ROOT", "TUNECRATE_DATA_ROOT")}


@pytest.mark.parametrize("args", READ_ONLY, ids=lambda a: " ".join(a))
def test_nothing_is_created_and_the_message_says_where(cli, tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    result = cli(*(a.format(out=tmp_path / "out") for a in args), **NO_ROOTS)
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


def test_logout_without_a_library_creates_nothing(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("logout", **NO_ROOTS)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"was not logged in (there is no tunecrate library at {tmp_path / 'data'})"
    assert list(tmp_path.iterdir()) == []


def test_logout_removes_a_login_kept_without_a_catalogue(cli, roots):
    roots["data_root"].mkdir()
    token = roots["data_root"] / "spotify-token.json"
    token.write_text("{}")
    result = cli("logout")
    assert result.exit_code == 0 and result.stdout.strip() == "logged out", result.output
    assert list(roots["data_root"].iterdir()) == []


def test_import_dry_run_on_a_fresh_machine_plans_everything_and_creates_nothing(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = [Row(fake_id(f"fresh:{n}"), f"Song {n}", ("Someone",)) for n in range(3)]
    export = write_zip(tmp_path / "export.zip", account_export_files(
        [playlist("Road Trip", [track_item(r) for r in rows])], rows[:2]))
    result = cli("import", str(export), "--dry-run", **NO_ROOTS)
    assert result.exit_code == 0, result.output
    assert "dry run: would download 3 track(s)" in result.stdout
    assert f"no tunecrate library at {tmp_path / 'data'} and {tmp_path / 'storage_data'} yet" in result.stderr
    plans = {item["id"]: item["plan"] for item in json.loads(
        cli("import", str(export), "--dry-run", "--json", **NO_ROOTS).stdout)["lists"]}
    road = playlist_id("Road Trip")
    assert [e["track_id"] for e in plans[road]["added"]] == [r.track_id for r in rows]
    assert [e["track_id"] for e in plans["likes"]["added"]] == [r.track_id for r in rows[:2]]
    assert sorted(plans[road]["fetch"]) == sorted(r.track_id for r in rows)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.zip"]


@pytest.mark.parametrize("storage", ["storage_data", "new/deeper/storage_data"])
def test_a_failed_open_leaves_no_new_folder_behind(cli, tmp_path, monkeypatch, storage):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("not a folder")
    result = cli("--data", str(tmp_path / "a-file"), "--storage", storage, "match", "skip", TRACK, **NO_ROOTS)
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1, result.output
    assert "cannot open the library at" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_a_failed_open_keeps_folders_that_were_there(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "storage_data" / "mine").mkdir(parents=True)
    result = cli("--data", str(tmp_path / "a-file"), "match", "skip", TRACK, **NO_ROOTS)
    assert result.exit_code == 1, result.output
    assert [p.name for p in (tmp_path / "storage_data").iterdir()] == ["mine"]
