"""`delete-playlist` and `delete-track`: a failure leaves the playlist whole, and a later run finishes."""

from __future__ import annotations

import json
import sqlite3

from standins.readonly import read_only


def _load_demo(cli, demo):
    for track_id, url in demo.sources.items():
        assert cli("match", "set", track_id, url).exit_code == 0
    result = cli("playlist", demo.playlist_url)
    assert result.exit_code == 0, result.output


def _entries(roots, playlist_id):
    with sqlite3.connect(roots["data_root"] / "tunecrate.sqlite3") as db:
        return (db.execute("select count(*) from playlist where playlist_id = ?", (playlist_id,)).fetchone()[0],
                db.execute("select count(*) from playlistentry where playlist_id = ?", (playlist_id,)).fetchone()[0])


def test_delete_playlist_on_a_read_only_folder_leaves_it_whole(cli, demo, roots, monkeypatch):
    _load_demo(cli, demo)
    storage = roots["storage_root"]
    document = storage / "playlists" / f"{demo.playlist_id}.json"
    files = sorted(storage.glob("tracks/*/*.mp3"))
    assert len(files) == 6 and document.is_file()

    with read_only(storage, monkeypatch):
        result = cli("delete-playlist", demo.playlist_id, "--yes")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(document) in lines[0], result.stderr
    assert "Traceback" not in result.output
    # Whole: the row, its six entries, the document and every file.
    assert _entries(roots, demo.playlist_id) == (1, 6)
    assert document.is_file() and sorted(storage.glob("tracks/*/*.mp3")) == files
    assert cli("playlist-local", demo.playlist_id).exit_code == 0

    # Writable again, the same command finishes the job, and a rebuild does not bring it back.
    done = cli("delete-playlist", demo.playlist_id, "--yes", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["playlist_id"] == demo.playlist_id
    assert _entries(roots, demo.playlist_id) == (0, 0)
    assert not document.exists() and list(storage.glob("tracks/*/*.mp3")) == []
    assert cli("load-local").exit_code == 0
    assert _entries(roots, demo.playlist_id) == (0, 0)


def test_delete_track_json(cli, demo, roots, world):
    _load_demo(cli, demo)
    kept = json.loads(cli("delete-track", demo.track_ids[0], "--dry-run", "--json").stdout)
    assert kept["removed"] is False and kept["kept_by"] == ["tunecrate demo mix"] and kept["dry_run"] is True

    from tunecrate.demo.spotify_server import fake_id, make_album, make_track

    album = make_album(fake_id("del:album"), "Alone", ["Solo"], total_tracks=1)
    lone = fake_id("del:lone")
    world.spotify.add_album(album, [make_track(lone, "Lone", ["Solo"], album, duration_ms=2000)])
    assert cli("match", "set", lone, world.audio("del-lone", 1, 500)).exit_code == 0
    assert cli("track", lone).exit_code == 0
    path = roots["storage_root"] / "tracks" / lone[:2] / f"{lone}.mp3"
    plan = json.loads(cli("delete-track", lone, "--dry-run", "--json").stdout)
    assert plan == {"track_id": lone, "title": "Lone", "removed": True, "file": str(path), "kept_by": [],
                    "dry_run": True}
    done = cli("delete-track", lone, "--yes", "--json")
    assert done.exit_code == 0 and json.loads(done.stdout)["dry_run"] is False and not path.exists()


def test_delete_playlist_whose_files_cannot_be_removed_names_them_and_gc_finishes(cli, demo, roots, monkeypatch):
    _load_demo(cli, demo)
    storage = roots["storage_root"]
    files = sorted(storage.glob("tracks/*/*.mp3"))

    with read_only(storage / "tracks", monkeypatch):
        result = cli("delete-playlist", demo.playlist_id, "--yes")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot remove "), result.stderr
    assert any(str(f) in lines[0] for f in files) and "tunecrate gc" in lines[0], lines[0]
    # The playlist is gone (document and rows); only files without rows are left, which gc removes.
    assert _entries(roots, demo.playlist_id) == (0, 0)
    assert not (storage / "playlists" / f"{demo.playlist_id}.json").exists()
    assert sorted(storage.glob("tracks/*/*.mp3")) == files
    assert cli("gc", "--yes").exit_code == 0
    assert list(storage.glob("tracks/*/*.mp3")) == []
