"""`tunecrate sync` and the library maintenance commands, against the stand-ins."""

from __future__ import annotations

import json
import sqlite3

from tunecrate.library.results import KeptTrack, TrackRef
from tunecrate.demo.spotify_server import fake_id, make_album, make_track


def _pin_all(cli, demo):
    for track_id, url in demo.sources.items():
        assert cli("match", "set", track_id, url).exit_code == 0


def _tracks(world, demo):
    """The demo album's full track objects, in album order."""
    return [world.spotify._tracks[t] for t in demo.track_ids]


def _db(roots):
    return sqlite3.connect(roots["data_root"] / "tunecrate.sqlite3")


def _files(roots):
    return sorted(p.stem for p in (roots["storage_root"] / "tracks").glob("*/*.mp3"))


def _order(cli, playlist_id):
    return [t["track_id"] for t in json.loads(cli("playlist-local", playlist_id, "--json").stdout)["tracks"]]


def _setup(cli, world, demo, entries_idx=(0, 1, 2)):
    _pin_all(cli, demo)
    tracks = _tracks(world, demo)
    pid = fake_id("sync-playlist")
    world.spotify.add_playlist(pid, "Sync Me", [tracks[i] for i in entries_idx])
    result = cli("sync", pid)
    assert result.exit_code == 0, result.output
    return pid, tracks


def test_first_sync_then_noop_makes_one_light_request(cli, world, demo, roots):
    pid, _ = _setup(cli, world, demo)
    world.spotify.clear_requests()
    result = cli("sync", f"https://open.spotify.com/playlist/{pid}")
    assert result.exit_code == 0
    assert "up to date" in result.stdout and "added=0 removed=0 kept=3" in result.stdout
    api = [r for r in world.spotify.requests if r.path.startswith("/v1/")]
    assert len(api) == 1 and api[0].query.get("fields") == "snapshot_id"
    assert len(world.spotify.requests) <= 2  # plus at most the token request


def test_adds_removes_moves_and_prunes(cli, world, demo, roots):
    pid, tracks = _setup(cli, world, demo, (0, 1, 2))
    media_before = len(world.media.requests)
    world.spotify.set_playlist_items(pid, [tracks[2], tracks[0], tracks[3], tracks[4]])
    dry = cli("sync", pid, "--dry-run")
    assert dry.exit_code == 0
    assert "dry run" in dry.stdout and "added=2 removed=1 kept=2" in dry.stdout
    assert f"- Localhost Blues ({tracks[1]['id']})" in dry.stdout
    assert len(world.media.requests) == media_before and tracks[1]["id"] in _files(roots)

    result = cli("sync", pid, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["added"], summary["removed"], summary["kept"], summary["moved"]) == (2, 1, 2, 1)
    assert summary["pruned"] == [tracks[1]["id"]]
    assert _order(cli, pid) == [tracks[i]["id"] for i in (2, 0, 3, 4)]
    assert tracks[1]["id"] not in _files(roots)
    with _db(roots) as db:
        assert db.execute("select count(*) from track where track_id = ?", (tracks[1]["id"],)).fetchone() == (0,)
    # A pin outlives the pruned row.
    assert tracks[1]["id"] in [r["track_id"] for r in json.loads(cli("match", "list", "--json").stdout)]


def test_tracks_used_elsewhere_or_added_directly_are_not_pruned(cli, world, demo, roots):
    pid, tracks = _setup(cli, world, demo, (0, 1, 2))
    other = fake_id("other-playlist")
    world.spotify.add_playlist(other, "Other", [tracks[1]])
    assert cli("sync", other).exit_code == 0
    assert cli("track", tracks[2]["id"]).exit_code == 0
    world.spotify.set_playlist_items(pid, [tracks[0]])
    result = cli("sync", pid)
    assert result.exit_code == 0 and "added=0 removed=2 kept=1" in result.stdout
    assert {tracks[1]["id"], tracks[2]["id"]} <= set(_files(roots))


def test_keep_orphans_then_gc(cli, world, demo, roots):
    pid, tracks = _setup(cli, world, demo, (0, 1))
    world.spotify.set_playlist_items(pid, [tracks[0]])
    assert cli("sync", pid, "--keep-orphans").exit_code == 0
    assert tracks[1]["id"] in _files(roots)
    stray = roots["storage_root"] / "tmp" / "leftover.part"
    stray.write_bytes(b"x")
    unknown = roots["storage_root"] / "tracks" / "zz" / ("z" * 22 + ".mp3")
    unknown.parent.mkdir()
    unknown.write_bytes(b"not ours")
    dry = cli("gc", "--dry-run")
    assert dry.exit_code == 0 and "orphan track: Localhost Blues" in dry.stdout
    assert stray.exists() and unknown.exists() and tracks[1]["id"] in _files(roots)
    refused = cli("gc")  # no terminal to confirm on
    assert refused.exit_code == 1 and "--yes" in refused.stderr
    done = cli("gc", "--yes", "--json")
    assert done.exit_code == 0 and json.loads(done.stdout)["removed"] is True
    assert not stray.exists() and not unknown.exists()
    assert _files(roots) == [tracks[0]["id"]]
    assert cli("gc").stdout.strip() == "nothing to remove"


def test_duplicates_keep_both_positions(cli, world, demo):
    pid, tracks = _setup(cli, world, demo, (0, 1, 0))
    assert _order(cli, pid) == [tracks[0]["id"], tracks[1]["id"], tracks[0]["id"]]
    world.spotify.set_playlist_items(pid, [tracks[0], tracks[1]])
    result = cli("sync", pid)
    assert "added=0 removed=1 kept=2" in result.stdout
    assert _order(cli, pid) == [tracks[0]["id"], tracks[1]["id"]]


def test_failed_track_keeps_its_entry_and_is_retried(cli, world, demo, roots):
    pid, tracks = _setup(cli, world, demo, (0,))
    name = demo.sources[tracks[1]["id"]].rsplit("/", 1)[1]
    world.media.fail_next(name, 404, times=5)
    world.spotify.set_playlist_items(pid, [tracks[1], tracks[0]])
    result = cli("sync", pid)
    assert result.exit_code == 1
    assert "added=1 removed=0 kept=1 failed=1" in result.stdout
    assert "404" in result.stdout
    local = json.loads(cli("playlist-local", pid, "--json").stdout)
    assert [(t["track_id"], t["status"]) for t in local["tracks"]] == [
        (tracks[1]["id"], "failed"), (tracks[0]["id"], "downloaded")]
    world.media._faults.clear()
    result = cli("sync", pid)  # same snapshot, but a file is missing: not short-circuited
    assert result.exit_code == 0 and "up to date" not in result.stdout
    assert tracks[1]["id"] in _files(roots)


def test_failed_redownload_keeps_the_good_file(cli, world, demo, roots, tmp_path):
    pid, tracks = _setup(cli, world, demo, (0,))
    track_id = tracks[0]["id"]
    path = roots["storage_root"] / "tracks" / track_id[:2] / f"{track_id}.mp3"
    before = path.read_bytes()
    assert cli("match", "set", track_id, world.media.url("missing.webm")).exit_code == 0
    world.spotify.set_playlist_items(pid, [tracks[0], tracks[1]])
    result = cli("sync", pid)
    assert result.exit_code == 1
    assert path.read_bytes() == before
    status = json.loads(cli("playlist-local", pid, "--json").stdout)["tracks"][0]["status"]
    assert status == "downloaded"


def test_likes_without_login_says_what_to_run(cli):
    result = cli("sync", "likes")
    assert result.exit_code == 1 and "tunecrate login" in result.stderr


def test_sync_all_and_bad_arguments(cli, world, demo):
    pid, tracks = _setup(cli, world, demo, (0,))
    other = fake_id("all-2")
    world.spotify.add_playlist(other, "Second", [tracks[1]])
    assert cli("sync", other).exit_code == 0
    result = cli("sync", "--all", "--json")
    assert result.exit_code == 0
    assert sorted(r["id"] for r in json.loads(result.stdout)) == sorted([pid, other])
    assert cli("sync").exit_code == 2
    assert cli("sync", pid, "--all").exit_code == 2


def test_verify_and_repair(cli, world, demo, roots):
    pid, tracks = _setup(cli, world, demo, (0, 1))
    assert cli("verify").exit_code == 0
    broken = roots["storage_root"] / "tracks" / tracks[0]["id"][:2] / f"{tracks[0]['id']}.mp3"
    broken.write_bytes(broken.read_bytes()[:1000])
    result = cli("verify")
    assert result.exit_code == 1 and "size" in result.stdout
    result = cli("verify", "--repair", "--json")
    assert json.loads(result.stdout)["repaired"] == [tracks[0]["id"]]
    assert not broken.exists()
    assert cli("sync", pid).exit_code == 0
    assert cli("verify").exit_code == 0


def test_load_local_rebuilds_a_deleted_database(cli, world, demo, roots):
    _pin_all(cli, demo)
    assert cli("playlist", demo.playlist_url).exit_code == 0
    extra = _tracks(world, demo)[0]
    world.spotify.add_playlist(fake_id("second"), "Second", [extra, extra])
    assert cli("sync", fake_id("second")).exit_code == 0
    listings = [cli(*args).stdout for args in (("tracks", "--json"), ("playlists", "--json"),
                                               ("playlist-local", demo.playlist_id, "--json"))]
    for name in ("tunecrate.sqlite3", "tunecrate.sqlite3-wal", "tunecrate.sqlite3-shm"):
        (roots["data_root"] / name).unlink(missing_ok=True)
    result = cli("load-local", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tracks"] == 6 and json.loads(result.stdout)["playlists"] == 2
    rebuilt = [cli(*args).stdout for args in (("tracks", "--json"), ("playlists", "--json"),
                                              ("playlist-local", demo.playlist_id, "--json"))]
    assert rebuilt == listings
    # Pins came back from the tags, so nothing is searched again.
    assert len(json.loads(cli("match", "list", "--json").stdout)) == 6
    assert "up to date" in cli("sync", demo.playlist_id).stdout


def test_a_second_writer_gets_a_clear_message(cli, roots, demo):
    from filelock import FileLock

    roots["data_root"].mkdir(parents=True, exist_ok=True)
    with FileLock(str(roots["data_root"] / "tunecrate.lock")):
        result = cli("playlist", demo.playlist_url)
    assert result.exit_code == 1
    assert "another tunecrate process is changing the library" in result.stderr


def test_paging_albums_and_growth(cli, world, demo):
    """A 130-entry playlist grows by 5: the sync downloads only the new tracks."""
    album = make_album(fake_id("grow"), "Grow", ["G"], total_tracks=135)
    source = demo.sources[demo.track_ids[2]]
    tracks = [make_track(fake_id(f"grow:{i}"), f"G{i}", ["G"], album, track_number=i + 1, duration_ms=10_000)
              for i in range(135)]
    world.spotify.add_album(album, tracks)
    pid = fake_id("grow-pl")
    world.spotify.add_playlist(pid, "Grow", tracks[:130])
    for t in tracks[125:135]:
        assert cli("match", "set", t["id"], source).exit_code == 0
    first = json.loads(cli("sync", pid, "--json").stdout)
    assert first["added"] == 130 and first["counts"]["downloaded"] == 5 and first["counts"]["unresolved"] == 125
    world.spotify.set_playlist_items(pid, tracks[:135])
    media_before = len(world.media.requests)
    second = json.loads(cli("sync", pid, "--json").stdout)
    assert (second["added"], second["kept"]) == (5, 130)
    assert second["counts"]["downloaded"] == 5
    assert len(world.media.requests) - media_before == 10  # probe + download per new track


def _seed_login(world, roots):
    from tunecrate.sources.spotify_login import PrivateTokenCache

    roots["data_root"].mkdir(parents=True, exist_ok=True)
    path = roots["data_root"] / "spotify-token.json"
    PrivateTokenCache(path).save_token_to_cache(world.spotify.issue_user_token())
    return path


def test_likes_are_a_playlist_everywhere(cli, world, demo, roots):
    _pin_all(cli, demo)
    tracks = _tracks(world, demo)
    world.spotify.set_saved_tracks([tracks[4], tracks[1], None])
    token = _seed_login(world, roots)
    assert token.stat().st_mode & 0o777 == 0o600
    result = cli("likes", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["id"], summary["title"], summary["added"]) == ("likes", "Liked Songs", 2)
    assert summary["skipped_entries"] == [{"position": 2, "reason": "null", "name": None}]
    assert _order(cli, "likes") == [tracks[4]["id"], tracks[1]["id"]]
    assert "likes" in [p["playlist_id"] for p in json.loads(cli("playlists", "--json").stdout)]
    world.spotify.clear_requests()
    assert "up to date" in cli("sync", "likes").stdout
    assert len([r for r in world.spotify.requests if r.path.startswith("/v1/")]) == 1
    world.spotify.set_saved_tracks([tracks[0], tracks[4]])
    result = cli("sync", "likes")
    assert "added=1 removed=1 kept=1" in result.stdout
    assert tracks[1]["id"] not in _files(roots)
    assert cli("logout").stdout.strip() == "logged out" and not token.exists()
    result = cli("sync", "likes")
    assert result.exit_code == 1 and "tunecrate login" in result.stderr


def test_delete_playlist_and_track_keep_what_others_use(library, cli, world, demo, roots):
    pid, tracks = _setup(cli, world, demo, (0, 1, 2))
    other = fake_id("keeper")
    world.spotify.add_playlist(other, "Keeper", [tracks[1]])
    assert cli("sync", other).exit_code == 0
    assert cli("track", tracks[2]["id"]).exit_code == 0
    plan = library.delete_playlist(pid, dry_run=True)
    assert plan.removed == (TrackRef(tracks[0]["id"], "Morning Static"),)
    assert sorted(plan.kept, key=lambda k: k.track_id) == sorted(
        [KeptTrack(tracks[1]["id"], "Localhost Blues", "also in Keeper"),
         KeptTrack(tracks[2]["id"], "127 Bpm", "added directly")], key=lambda k: k.track_id)
    assert len(_files(roots)) == 3
    library.delete_playlist(pid)
    assert sorted(_files(roots)) == sorted([tracks[1]["id"], tracks[2]["id"]])
    assert not (roots["storage_root"] / "playlists" / f"{pid}.json").exists()
    assert library.stats().playlists == 1
    assert library.delete_track(tracks[1]["id"]).kept_by == ("Keeper",)
    assert library.delete_track(tracks[2]["id"]).removed is True
    assert sorted(_files(roots)) == [tracks[1]["id"]]
    stats = library.stats()
    assert (stats.tracks, stats.downloaded) == (1, 1) and stats.disk_bytes > 0


def test_delete_commands(cli, world, demo, roots):
    pid, tracks = _setup(cli, world, demo, (0, 1))
    assert cli("track", tracks[2]["id"]).exit_code == 0
    dry = cli("delete-playlist", pid, "--dry-run")
    assert dry.exit_code == 0 and "remove: Morning Static" in dry.stdout and len(_files(roots)) == 3
    assert cli("delete-playlist", pid).exit_code == 1  # no terminal to confirm on
    assert cli("delete-playlist", pid, "--yes").exit_code == 0
    assert _files(roots) == [tracks[2]["id"]]
    assert "will be removed" in cli("delete-track", tracks[2]["id"], "--dry-run").stdout
    assert cli("delete-track", tracks[2]["id"], "--yes").stdout.strip().endswith("removed")
    assert _files(roots) == []
    assert cli("delete-track", tracks[2]["id"]).exit_code == 1
