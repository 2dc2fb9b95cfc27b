"""`tunecrate push` and `review --target` through the real CLI, against the Plex and Subsonic stand-ins."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pexpect
import pytest

TUNECRATE = str(Path(sys.executable).with_name("tunecrate"))
ALBUM = "Songs From 127.0.0.1"


def _ok(result):
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


@pytest.fixture
def plex_env(cli, plex, tmp_path):
    section = plex.add_section("Music", "/data/music", folder=tmp_path / "plex-music")
    plex.add_track(section, "Morning Static", "The Loopbacks", ALBUM, 12_000, "/data/music/1.mp3")
    plex.add_track(section, "Offline Forever", "The Loopbacks", ALBUM, 16_000, "/data/music/2.mp3")
    plex.add_track(section, "127 Bpm", "Ada Byte", ALBUM, 18_000, "/data/music/3.mp3")   # 8 s off: review
    cli.env.update(PLEX_URL=plex.base_url, PLEX_TOKEN=plex.token)
    return section


@pytest.fixture
def loaded(cli, demo, plex_env):
    _ok(cli("playlist", demo.playlist_url))   # no provider: nothing downloads, the entries are recorded
    return demo


def test_push_to_plex_writes_the_report_and_prints_a_summary(cli, loaded, plex, tmp_path):
    report = tmp_path / "missing.txt"
    result = _ok(cli("push", loaded.playlist_id, "--to", "plex", "--report", str(report)))
    out = result.stdout
    assert "created playlist" in out and "added=2" in out and "matched=2 review=1 missing=3" in out
    assert "items=2; not in it: 1 waiting for review, 3 missing" in out
    assert "tunecrate review --target plex" in out
    assert f"missing tracks written to {report} (3 missing, 1 held for review)" in out
    assert plex.playlist_titles() == {"tunecrate demo mix": [("The Loopbacks", "Offline Forever"),
                                                             ("The Loopbacks", "Morning Static")]}
    lines = report.read_text("utf-8").splitlines()
    # The guide's lines (one Spotify URL a line) for the missing; the songs held for review after, as comments.
    urls = [line for line in lines if not line.startswith("#")]
    assert len(urls) == 3 and all(line.startswith("https://open.spotify.com/track/") for line in urls)
    assert lines[:3] == urls and lines[0].endswith("\tSine Wave Club - 夜のサイン波")
    bpm = loaded.track_ids[2]
    assert lines[3:] == [
        "# held for review, not in the playlist until decided with `tunecrate review --target plex`:",
        f"# https://open.spotify.com/track/{bpm}\tAda Byte - 127 Bpm\tsuggested: Ada Byte - 127 Bpm (0.86)"]

    queue = json.loads(_ok(cli("review", "--target", "plex", "--json")).stdout)
    assert [(q["kind"], q["song"]["title"]) for q in queue][0] == ("review", "127 Bpm")
    assert queue[0]["candidates"][0]["title"] == "127 Bpm" and queue[0]["candidates"][0]["index"] == 0
    assert json.loads(_ok(cli("review", "--target", "subsonic", "--json")).stdout) == []

    again = json.loads(_ok(cli("push", loaded.playlist_id, "--to", "plex", "--json")).stdout)
    assert again["report"]["writes"] == 0 and again["plan"]["operations"] == []
    assert [e["track"]["track_id"] for e in again["report"]["review"]] == [bpm]
    assert len(again["report"]["missing"]) == 3
    assert again["plan"]["counts"]["present"] == 2


def test_push_dry_run_json_changes_nothing(cli, loaded, plex):
    doc = json.loads(_ok(cli("push", loaded.playlist_id, "--to", "plex", "--dry-run", "--json",
                             "--name", "Road Trip")).stdout)
    assert doc["dry_run"] and doc["report"] is None and doc["plan"]["title"] == "Road Trip"
    assert doc["plan"]["playlist"] is None and [op["op"] for op in doc["plan"]["operations"]] == ["create"]
    statuses = [e["status"] for e in doc["plan"]["entries"]]
    assert statuses == ["matched", "matched", "missing", "missing", "missing", "review"]
    assert plex.playlists == {} and [r for r in plex.requests if r.method != "GET"] == []


def test_push_errors_are_one_line(cli, loaded, plex, tmp_path):
    result = cli("push", loaded.playlist_id, "--to", "plex", PLEX_TOKEN="nope")
    assert result.exit_code == 1
    assert result.stderr == ("error: the Plex token is invalid or expired: get a new one from a media item's "
                             "View XML (PLEX_TOKEN)\n")
    result = cli("push", loaded.playlist_id, "--to", "plex", PLEX_MUSIC_LIBRARY="Musik")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "music libraries on this server: 'Music'" in result.stderr
    result = cli("push", loaded.playlist_id, "--to", "jellyfin")
    assert result.exit_code == 1 and "push takes --to plex or subsonic" in result.stderr
    result = cli("push", loaded.playlist_id, "--to", "subsonic", "--mirror", str(tmp_path / "x"))
    assert result.exit_code == 1 and "--mirror needs a target that scans the mirrored folder: --to plex" in result.stderr
    result = cli("push", "nosuchplaylist-id", "--to", "plex")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    result = cli("push", loaded.playlist_id, "--to", "subsonic")
    assert result.exit_code == 1 and "TUNECRATE_SUBSONIC_URL" in result.stderr
    plex.clear_requests()
    result = cli("push", loaded.playlist_id, "--to", "plex", "--report", str(tmp_path / "no" / "missing.txt"))
    assert result.exit_code == 1 and result.stderr == (f"error: cannot write the report into {tmp_path / 'no'}: "
                                                       "no such folder (nothing was pushed)\n")
    assert plex.requests == [] and plex.playlists == {}


def test_push_to_subsonic(cli, loaded, subsonic):
    subsonic.add_song("Offline Forever", "The Loopbacks", "Songs", 16)
    env = {"TUNECRATE_SUBSONIC_URL": subsonic.base_url, "TUNECRATE_SUBSONIC_USER": "demo",
           "TUNECRATE_SUBSONIC_PASSWORD": "sesame"}
    result = _ok(cli("push", loaded.playlist_id, "--to", "subsonic", "--name", "Mix", **env))
    assert "subsonic: new playlist 'Mix'" in result.stdout and "matched=1" in result.stdout
    assert subsonic.playlist_songs("Mix") == [("The Loopbacks", "Offline Forever")]


def test_review_target_in_a_terminal(cli, loaded, plex):
    _ok(cli("push", loaded.playlist_id, "--to", "plex"))
    env = {**os.environ, **cli.env, "TERM": "xterm", "NO_COLOR": "1"}
    child = pexpect.spawn(TUNECRATE, ["review", "--target", "plex"], env=env, encoding="utf-8", timeout=20,
                          dimensions=(60, 200))
    child.expect_exact("song(s) to review for plex")
    child.expect_exact("127 Bpm")
    child.expect_exact("[a/1-9/s/n/b/q] > ")
    child.sendline("a")
    child.expect_exact("confirmed: Ada Byte - 127 Bpm")
    child.expect_exact("[a/1-9/s/n/b/q] > ")
    child.sendline("s")
    child.expect_exact("don't sync: remembered")
    child.expect_exact("[a/1-9/s/n/b/q] > ")
    child.sendline("q")
    child.expect_exact("stopped: accepted=1 skipped=1")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    again = json.loads(_ok(cli("push", loaded.playlist_id, "--to", "plex", "--json")).stdout)
    assert again["report"]["added"] == 1 and again["plan"]["counts"]["skipped"] == 1
    assert ("Ada Byte", "127 Bpm") in plex.playlist_titles()["tunecrate demo mix"]
    result = cli("review", "--target", "plex")
    assert result.exit_code == 1 and "--target plex --json" in result.stderr


def test_demo_with_plex_pushes_the_playlist_end_to_end(cli):
    from tunecrate.demo.run import DEMO_PLAYLIST_SIZE
    from tunecrate.demo.spotify_server import fake_id

    result = _ok(cli("demo", "--plex"))
    out = result.stdout + result.stderr
    assert "created playlist" in out and f"matched={DEMO_PLAYLIST_SIZE} review=0 missing=0" in out
    assert f"Plex playlist 'Public Loopback {DEMO_PLAYLIST_SIZE}':" in out
    order = json.loads(cli("playlist-local", fake_id("public:playlist"), "--json").stdout)["tracks"]
    first, last = order[0], order[-1]
    assert out.index(f"  1. {', '.join(first['artists'][:1])}") < out.index(
        f"  {DEMO_PLAYLIST_SIZE}. {', '.join(last['artists'][:1])}")
