"""The main job through the real CLI against the loopback stand-ins."""

from __future__ import annotations

import json
import sqlite3

from mutagen.id3 import ID3
from mutagen.mp3 import MP3

from tunecrate.demo.spotify_server import fake_id, make_album, make_track
from tunecrate.demo.world import DEMO_SONGS


def _pin_all(cli, demo):
    for track_id, url in demo.sources.items():
        result = cli("match", "set", f"spotify:track:{track_id}", url)
        assert result.exit_code == 0, result.output


def _db(roots):
    return sqlite3.connect(roots["data_root"] / "tunecrate.sqlite3")


def test_playlist_is_mirrored_into_tagged_mp3s(cli, demo, roots, world):
    _pin_all(cli, demo)
    result = cli("playlist", demo.playlist_url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"playlist {demo.playlist_id} tunecrate demo mix"
    assert lines[1] == "downloaded=6 present=0 unresolved=0 skipped=0 failed=0"
    assert "skipped entry #3: an empty entry" in result.stdout
    assert "'My Own Recording': a local file" in result.stdout
    assert "'A Podcast Episode': a podcast episode" in result.stdout
    assert "'Gone From Spotify': no longer available" in result.stdout

    storage = roots["storage_root"]
    for number, track_id in enumerate(demo.track_ids, 1):
        path = storage / "tracks" / track_id[:2] / f"{track_id}.mp3"
        title, artists, seconds, _ = DEMO_SONGS[number - 1]
        audio = MP3(path)
        assert abs(audio.info.length - seconds) < 0.5
        tags = ID3(path)
        assert tags["TIT2"].text == [title]
        assert tags["TPE1"].text == list(artists)
        assert tags["TPE2"].text == ["The Loopbacks"]
        assert tags["TALB"].text == ["Songs From 127.0.0.1"]
        assert tags["TRCK"].text == [f"{number}/{len(DEMO_SONGS)}"]
        assert tags["TSRC"].text == [f"QZDA26{number:05d}"]
        assert str(tags["TDRC"].text[0]) == "2026-11-21"
        assert tags["WOAS"].url == f"https://open.spotify.com/track/{track_id}"
        assert tags["TXXX:SOURCE_URL"].text == [demo.sources[track_id]]
        cover = tags.getall("APIC")[0]
        assert cover.mime == "image/jpeg" and cover.data.startswith(b"\xff\xd8")
    assert list((storage / "tmp").iterdir()) == []

    listing = json.loads(cli("tracks", "--json").stdout)
    assert {t["track_id"] for t in listing} == set(demo.track_ids)
    for item in listing:
        assert set(item) >= {"track_id", "title", "artists", "album", "isrc", "duration_ms", "path", "status"}
        assert item["status"] == "downloaded" and item["path"].endswith(f"{item['track_id']}.mp3")

    playlists = json.loads(cli("playlists", "--json").stdout)
    assert [(p["playlist_id"], p["title"], p["track_count"]) for p in playlists] == [
        (demo.playlist_id, "tunecrate demo mix", 6)]
    assert playlists[0]["snapshot_id"]

    local = json.loads(cli("playlist-local", demo.playlist_id, "--json").stdout)
    order = [demo.track_ids[i] for i in (3, 0, 5, 1, 4, 2)]
    assert [t["track_id"] for t in local["tracks"]] == order
    doc = json.loads((storage / "playlists" / f"{demo.playlist_id}.json").read_text())
    assert doc["track_ids"] == order and doc["snapshot_id"] == playlists[0]["snapshot_id"]

    # A second run fetches nothing again.
    media_requests = len(world.media.requests)
    again = cli("playlist", demo.playlist_url)
    assert again.exit_code == 0
    assert "downloaded=0 present=6" in again.stdout
    assert len(world.media.requests) == media_requests


def test_listing_commands_print_tables(cli, demo):
    _pin_all(cli, demo)
    cli("playlist", demo.playlist_url)
    tracks = cli("tracks")
    assert tracks.exit_code == 0 and "Morning Static" in tracks.stdout and "6 track(s)" in tracks.stdout
    assert "tunecrate demo mix" in cli("playlists").stdout
    assert "Offline Forever" in cli("playlist-local", demo.playlist_id).stdout


def test_album_and_track_commands(cli, demo, roots):
    _pin_all(cli, demo)
    result = cli("album", f"https://open.spotify.com/intl-de/album/{demo.album_id}?si=x")
    assert result.exit_code == 0, result.output
    assert "downloaded=6" in result.stdout
    result = cli("track", demo.track_ids[0])
    assert result.exit_code == 0 and "present=1" in result.stdout
    with _db(roots) as db:
        assert db.execute("select count(*) from track where added_directly = 1").fetchone() == (6,)
        assert db.execute("select count(*) from playlist").fetchone() == (0,)


def test_unpinned_tracks_without_providers_stay_unresolved(cli, demo, roots):
    result = cli("playlist", demo.playlist_url)
    assert result.exit_code == 0
    assert "downloaded=0 present=0 unresolved=6" in result.stdout
    assert "no provider configured" in result.stdout
    assert not list((roots["storage_root"] / "tracks").glob("*/*.mp3"))
    local = json.loads(cli("playlist-local", demo.playlist_id, "--json").stdout)
    assert [t["status"] for t in local["tracks"]] == ["unresolved"] * 6


def test_paging_over_50_entries_uses_few_requests(cli, world, roots):
    album = make_album(fake_id("big-album"), "Big", ["Band"], total_tracks=120)
    tracks = [make_track(fake_id(f"big:{i}"), f"Song {i}", ["Band"], album, track_number=i + 1)
              for i in range(120)]
    world.spotify.add_album(album, tracks)
    playlist_id = fake_id("big-playlist")
    world.spotify.add_playlist(playlist_id, "Big", tracks)
    world.spotify.clear_requests()
    result = cli("playlist", playlist_id)
    assert result.exit_code == 0, result.output
    assert "unresolved=120" in result.stdout
    api_calls = world.spotify.requests_to(r"^/v1/")
    assert len(api_calls) <= 1 + 3  # 1 + ceil(120 / 50)
    assert not any("ids" in r.query for r in api_calls)
    local = json.loads(cli("playlist-local", playlist_id, "--json").stdout)
    assert [t["title"] for t in local["tracks"]] == [f"Song {i}" for i in range(120)]


def test_unknown_playlist_is_one_line_and_nonzero(cli, roots):
    result = cli("playlist", fake_id("nope"))
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.output
    with _db(roots) as db:
        assert db.execute("select count(*) from playlist").fetchone() == (0,)


def test_bad_url_and_missing_credentials(cli, demo):
    result = cli("playlist", "https://example.com/playlist/123")
    assert result.exit_code == 1 and "not a Spotify URL" in result.stderr
    result = cli("playlist", demo.playlist_url, "--source", "api", SPOTIPY_CLIENT_ID="")
    assert result.exit_code == 1 and "SPOTIPY_CLIENT_ID" in result.stderr
    result = cli("playlist", demo.playlist_url, "--source", "api", SPOTIPY_CLIENT_SECRET="wrong")
    assert result.exit_code == 1 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.output


def test_network_outage_is_reported(cli, demo):
    result = cli("playlist", demo.playlist_url, TUNECRATE_SPOTIFY_API_URL="http://127.0.0.1:9/v1/",
                 TUNECRATE_SPOTIFY_ACCOUNTS_URL="http://127.0.0.1:9")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and "127.0.0.1:9" in result.stderr


def test_429_with_retry_after_is_waited_out(cli, demo, world):
    _pin_all(cli, demo)
    world.spotify.fail_next(r"/items$", 429, retry_after=1)
    result = cli("playlist", demo.playlist_url)
    assert result.exit_code == 0, result.output
    assert "downloaded=6" in result.stdout


def test_long_retry_after_fails_fast_with_a_message(cli, demo, world):
    import time

    world.spotify.fail_next(r"/playlists/", 429, retry_after=3600)
    started = time.monotonic()
    result = cli("playlist", demo.playlist_url)
    assert time.monotonic() - started < 10
    assert result.exit_code == 1 and "3600" in result.stderr


def test_dropped_connection_is_retried(cli, demo, world, roots):
    _pin_all(cli, demo)
    first = demo.track_ids[0]
    name = demo.sources[first].rsplit("/", 1)[1]
    world.media.drop_next(name, after_bytes=20_000, times=2)
    result = cli("playlist", demo.playlist_url)
    assert result.exit_code == 0, result.output
    assert "downloaded=6" in result.stdout
    assert MP3(roots["storage_root"] / "tracks" / first[:2] / f"{first}.mp3").info.length > 10


def test_download_that_keeps_failing_leaves_a_consistent_library(cli, demo, world, roots):
    _pin_all(cli, demo)
    first = demo.track_ids[0]
    name = demo.sources[first].rsplit("/", 1)[1]
    world.media.drop_next(name, after_bytes=20_000, times=100)
    result = cli("playlist", demo.playlist_url, TUNECRATE_DOWNLOAD_RETRIES="1")
    assert result.exit_code == 1
    assert "downloaded=5" in result.stdout and "failed=1" in result.stdout
    assert f"failed: Morning Static ({first}): download failed" in result.stdout
    storage = roots["storage_root"]
    assert not (storage / "tracks" / first[:2] / f"{first}.mp3").exists()
    assert list((storage / "tmp").iterdir()) == []
    with _db(roots) as db:
        assert db.execute("select status from track where track_id = ?", (first,)).fetchone() == ("failed",)
    # The next run completes the work.
    world.media._faults.clear()
    result = cli("playlist", demo.playlist_url)
    assert result.exit_code == 0 and "downloaded=1 present=5" in result.stdout


def test_match_commands(cli, demo, tmp_path):
    track_id = demo.track_ids[0]
    assert cli("match", "set", track_id, "not a url").exit_code == 1
    missing = cli("match", "set", track_id, str(tmp_path / "missing.flac"))
    assert missing.exit_code == 1 and "no such audio file" in missing.stderr
    assert cli("match", "set", f"https://open.spotify.com/track/{track_id}", demo.sources[track_id]).exit_code == 0
    rows = json.loads(cli("match", "list", "--json").stdout)
    assert [(r["track_id"], r["decision"], r["source"]) for r in rows] == [
        (track_id, "pinned", demo.sources[track_id])]
    assert cli("match", "clear", f"spotify:track:{track_id}").stdout.strip() == "cleared"
    assert json.loads(cli("match", "list", "--json").stdout) == []


def test_pin_to_a_local_file(cli, demo, world, roots, media_cache):
    track_id = demo.track_ids[2]
    local = media_cache / "media" / "demo-3.webm"
    assert cli("match", "set", track_id, str(local)).exit_code == 0
    result = cli("track", track_id)
    assert result.exit_code == 0 and "downloaded=1" in result.stdout
    tags = ID3(roots["storage_root"] / "tracks" / track_id[:2] / f"{track_id}.mp3")
    assert tags["TXXX:SOURCE_URL"].text == [str(local)]
    assert local.is_file()  # the user's file is untouched
