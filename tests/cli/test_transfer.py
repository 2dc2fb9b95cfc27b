"""`tunecrate transfer FROM TO`: the diff, the questions (through a pty), the writes, the memory.

FROM is the demo's Spotify playlist (Offline Forever, Morning Static, 夜のサイン波, Localhost Blues,
Café Ünïcode (feat. Ümlaut), 127 Bpm). TO is the Plex playlist "Road Trip", which already holds
Offline Forever and a song of its own; Plex's library has the rest in several states of certainty.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pexpect
import pytest

from tunecrate.sources.spotify_login import LOGIN_SCOPE, USER_SCOPE
from tunecrate.storage.atomic import SECRET_MODE, write_json

TUNECRATE = str(Path(sys.executable).with_name("tunecrate"))
ALBUM = "Songs From 127.0.0.1"
PROMPT = "[a/1-9/s/n/q] > "


def _ok(result):
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


@pytest.fixture
def road_trip(cli, plex, tmp_path):
    """Plex's section and the "Road Trip" playlist; returns the ratingKeys by name."""
    section = plex.add_section("Music", "/data/music", folder=tmp_path / "plex-music")
    add = lambda *a, **k: plex.add_track(section, *a, **k)  # noqa: E731
    keys = {
        "offline": add("Offline Forever", "The Loopbacks", ALBUM, 16_000, "/data/music/1.mp3"),
        "morning": add("Morning Static - Remastered", "The Loopbacks", ALBUM, 12_000, "/data/music/2.mp3"),
        "yoru": add("夜のサイン波", "Sine Wave Club", ALBUM, 21_000, "/data/music/3.mp3"),          # review
        "cafe": add("Café Ünïcode", "Someone Else", "Elsewhere", 11_000, "/data/music/4.mp3"),       # weak
        "bpm": add("127 BPM", "Ada Byte", ALBUM, 10_000, "/data/music/5.mp3"),
        "own": add("Plex Only Song", "Nobody Else", "Mine", 200_000, "/data/music/6.mp3"),
    }
    plex.playlists[9000] = _playlist(plex, 9000, "Road Trip", [keys["offline"], keys["own"]])
    cli.env.update(PLEX_URL=plex.base_url, PLEX_TOKEN=plex.token)
    return keys


def _playlist(plex, key, title, rating_keys):
    from tunecrate.demo.plex_server import PlexPlaylist

    return PlexPlaylist(key, title, [(8000 + n, rk) for n, rk in enumerate(rating_keys)], added_at=1, updated_at=1)


def _spawn(cli, *args):
    env = {**os.environ, **cli.env, "TERM": "xterm", "NO_COLOR": "1"}
    return pexpect.spawn(TUNECRATE, ["transfer", *args], env=env, encoding="utf-8", timeout=30,
                         dimensions=(60, 200))


def _answer(child, title, key):
    child.expect_exact(title)
    child.expect_exact(PROMPT)
    child.sendline(key)


def test_transfer_asks_for_each_unsettled_song_and_remembers_dont_sync(cli, demo, plex, road_trip):
    child = _spawn(cli, f"spotify:{demo.playlist_url}", "plex:Road Trip")
    child.expect_exact("step 1: on both 1, only on FROM 5, only on TO 1")
    _answer(child, "Morning Static", "")               # the suggestion (auto-accepted): Enter confirms
    _answer(child, "夜のサイン波", "1")                 # held for review: pick the candidate
    _answer(child, "Café Ünïcode (feat. Ümlaut)", "s")  # only a weak candidate: don't sync this one
    child.expect_exact("don't sync: remembered")
    _answer(child, "127 Bpm", "n")                     # decide later
    child.expect_exact("step 3: written 2 (writes=2), skipped 1 (don't sync), not found 1, waiting for review 1")
    child.expect_exact("not found: #4 The Loopbacks, Ada Byte - Localhost Blues")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    k = road_trip
    assert plex.playlist_keys("Road Trip") == [k["offline"], k["morning"], k["yoru"], k["own"]]

    # The next run asks only about the song left for later; never about the one not to sync.
    plex.clear_requests()
    child = _spawn(cli, demo.playlist_url, "plex:Road Trip")
    child.expect_exact("1/1")
    _answer(child, "127 Bpm", "q")                     # stop asking: the rest as --yes
    child.expect_exact("step 3: written 1")
    child.expect(pexpect.EOF)
    child.close()
    assert "Café" not in child.before
    assert plex.playlist_keys("Road Trip") == [k["offline"], k["morning"], k["yoru"], k["bpm"], k["own"]]

    # Nothing left to write: no write request at all.
    plex.clear_requests()
    doc = json.loads(_ok(cli("transfer", demo.playlist_url, "plex:Road Trip", "--yes", "--json")).stdout)
    assert doc["outcome"]["writes"] == 0 and [r for r in plex.requests if r.method != "GET"] == []
    assert doc["plan"]["on_both"] == 4 and [t["title"] for t in doc["plan"]["only_on_to"]] == ["Plex Only Song"]


def test_transfer_yes_takes_sure_matches_and_queues_the_rest(cli, demo, plex, road_trip):
    doc = json.loads(_ok(cli("transfer", f"spotify:{demo.playlist_url}", "plex:Road Trip", "--yes",
                             "--json")).stdout)
    outcome = doc["outcome"]
    assert outcome["added"] == 2 and [e["track"]["title"] for e in outcome["review"]] == ["夜のサイン波"]
    k = road_trip
    assert plex.playlist_keys("Road Trip") == [k["offline"], k["morning"], k["bpm"], k["own"]]
    queue = json.loads(_ok(cli("review", "--target", "plex", "--json")).stdout)
    assert [(q["kind"], q["song"]["title"]) for q in queue][:1] == [("review", "夜のサイン波")]


def test_transfer_dry_run_and_bad_sides(cli, demo, plex, road_trip):
    doc = json.loads(_ok(cli("transfer", demo.playlist_url, "plex:New List", "--dry-run", "--json")).stdout)
    assert doc["outcome"] is None and doc["plan"]["on_both"] == 0 and len(doc["plan"]["only_on_from"]) == 6
    assert [op["op"] for op in doc["plan"]["operations"]] == ["create"]
    assert [r for r in plex.requests if r.method != "GET"] == [] and len(plex.playlists) == 1
    assert _ok(cli("transfer", demo.playlist_url, "plex:New List", "--dry-run")).stdout.count("\n") > 3

    result = cli("transfer", demo.playlist_url, "plex:Road Trip")     # not a terminal, no --yes
    assert result.exit_code == 1 and "--yes" in result.stderr and result.stderr.count("\n") == 1
    result = cli("transfer", "tidal:123", "plex:Road Trip", "--yes")
    assert result.exit_code == 1 and "not a playlist side: 'tidal:123'" in result.stderr
    result = cli("transfer", "plex:Road Trip", f"local:{demo.playlist_id}", "--yes")
    assert result.exit_code == 1 and "cannot transfer into local:" in result.stderr
    result = cli("transfer", "plex:No Such List", "plex:Road Trip", "--yes")
    assert result.exit_code == 1 and "no audio playlist called 'No Such List'" in result.stderr


# -- into Spotify, and into an M3U file ----------------------------------------------------------


def _login(world, roots, scope: str) -> None:
    token = world.spotify.issue_user_token(scope)
    write_json(roots["data_root"] / "spotify-token.json", token, mode=SECRET_MODE)


def test_transfer_into_spotify_inserts_in_from_order(cli, demo, plex, road_trip, world, roots):
    spotify = world.spotify
    target_id = "0" * 21 + "T"
    tracks = spotify._tracks
    bpm = demo.track_ids[2]
    spotify.add_playlist(target_id, "Mine", [tracks[bpm]], owner=spotify.user_id)
    roots["data_root"].mkdir(parents=True, exist_ok=True)
    _login(world, roots, USER_SCOPE)  # a login that may read, not write
    result = cli("transfer", "plex:Road Trip", f"spotify:{target_id}", "--yes")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "does not grant playlist-modify-public, playlist-modify-private" in result.stderr
    assert "tunecrate login" in result.stderr

    _login(world, roots, LOGIN_SCOPE)
    plex.playlists[9000].items.insert(0, (7999, road_trip["bpm"]))      # Road Trip: 127 BPM, Offline, own
    doc = json.loads(_ok(cli("transfer", "plex:Road Trip", f"spotify:{target_id}", "--yes", "--json")).stdout)
    assert doc["plan"]["on_both"] == 1 and doc["outcome"]["added"] == 1
    assert spotify.playlist_track_ids(target_id) == [bpm, demo.track_ids[3]]   # Offline after 127 Bpm
    (post,) = spotify.requests_to(rf"^/v1/playlists/{target_id}/items$", "POST")
    assert post.query["position"] == "1"
    searches = spotify.requests_to(r"^/v1/search$")
    assert searches and all(int(r.query["limit"]) <= 10 for r in searches)


def test_transfer_from_the_library_into_an_m3u_file(cli, demo, world, tmp_path):
    for n, track_id in enumerate(demo.track_ids):
        _ok(cli("match", "set", track_id, world.audio(f"short-{n}", 1, 300 + 50 * n)))
    _ok(cli("playlist", demo.playlist_url))
    m3u = tmp_path / "phone" / "mix.m3u8"
    m3u.parent.mkdir()
    m3u.write_text("#EXTM3U\n#EXTINF:1,Someone - Kept Song\nkept.mp3\n", encoding="utf-8")
    (m3u.parent / "kept.mp3").write_bytes(b"")
    doc = json.loads(_ok(cli("transfer", f"local:{demo.playlist_id}", f"m3u:{m3u}", "--yes", "--json")).stdout)
    assert doc["outcome"]["added"] == 6
    lines = [line for line in m3u.read_text("utf-8").splitlines() if not line.startswith("#")]
    assert lines[0] == "kept.mp3" and len(lines) == 7           # new songs go after what was there
    order = [demo.track_ids[i] for i in (3, 0, 5, 1, 4, 2)]
    assert [Path(line).stem for line in lines[1:]] == order    # the library's own files, in FROM's order
    assert all((m3u.parent / line).resolve().is_file() for line in lines)
    before = m3u.stat().st_mtime_ns
    time.sleep(0.01)
    doc = json.loads(_ok(cli("transfer", f"local:{demo.playlist_id}", f"m3u:{m3u}", "--yes", "--json")).stdout)
    assert doc["outcome"]["writes"] == 0 and m3u.stat().st_mtime_ns == before
