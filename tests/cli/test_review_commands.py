"""`tunecrate review`, `match show|skip|accept`, `retag` and `sources`, against the stand-ins.

Tracks reach "review" through the real pipeline: a Library with a provider whose candidates point
at the demo audio but claim a duration 8 s off, so they score between the review and accept
thresholds. The interactive review runs in a real pseudo-terminal (pexpect).
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from mutagen.id3 import ID3
from rich.console import Console

from tunecrate.cli.review import run_review
from tunecrate.media.ffmpeg import find_ffmpeg
from tunecrate.media.tagging import read_tags

TUNECRATE = str(Path(sys.executable).with_name("tunecrate"))
PROMPT = "[a/1-9/p/s/n/b/q] > "


@pytest.fixture
def held(review_library, demo, cli):
    """The demo playlist loaded with 5 tracks held for review and 1 unresolved; returns the queue order."""
    with review_library() as lib:
        report = lib.load_playlist(demo.playlist_url)
    assert (report.counts["review"], report.counts["unresolved"]) == (5, 1)
    return [item["track_id"] for item in _queue(cli)]


def _queue(cli):
    result = cli("review", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _decisions(cli):
    return {d["track_id"]: (d["decision"], d["source"]) for d in json.loads(cli("match", "list", "--json").stdout)}


def _titles(cli):
    return {t["track_id"]: t["title"] for t in json.loads(cli("tracks", "--json").stdout)}


def _local_copy(demo, media_cache, track_id):
    """The generated file behind a demo track's audio URL (a local path to paste)."""
    return str(media_cache / "media" / demo.sources[track_id].rsplit("/", 1)[1])


# -- review --json, match show/skip/accept -------------------------------------------------------


def test_review_json_and_match_commands(cli, demo, held):
    queue = _queue(cli)
    assert [q["status"] for q in queue] == ["review"] * 5 + ["unresolved"]
    first = queue[0]
    assert first["choice"]["source"] == demo.sources[first["track_id"]]
    assert [c["index"] for c in first["candidates"]] == [0, 1, 2] and first["candidates"][0]["chosen"]
    assert first["candidates"][2]["rejected"]  # the live version
    assert {"score", "components", "why", "duration_delta_s", "provider"} <= set(first["candidates"][0])

    shown = cli("match", "show", first["track_id"])
    assert shown.exit_code == 0, shown.output
    assert first["title"] in shown.stdout and "(Acoustic)" in shown.stdout
    for header in ("Δ s", "Score", "title", "artist", "duration", "version", "ISRC"):
        assert header in shown.stdout
    assert "+8" in shown.stdout and "+28" in shown.stdout and "suggested:" in shown.stdout
    as_json = json.loads(cli("match", "show", f"spotify:track:{first['track_id']}", "--json").stdout)
    assert as_json["candidates"] == first["candidates"]

    skipped, accepted = held[1], held[2]
    result = cli("match", "skip", skipped)
    assert result.exit_code == 0 and "will not be downloaded" in result.stdout
    result = cli("match", "accept", accepted, "2")
    assert result.exit_code == 0, result.output
    assert [q["track_id"] for q in _queue(cli)] == [t for t in held if t not in (skipped, accepted)]
    decisions = _decisions(cli)
    assert decisions[skipped] == ("skipped", None)
    assert decisions[accepted] == ("pinned", first_other(demo, accepted))

    result = cli("match", "accept", held[5])
    assert result.exit_code == 1 and "no candidates recorded" in result.stderr
    result = cli("match", "show", "0" * 22)
    assert result.exit_code == 1 and result.stderr.count("\n") == 1

    # Non-interactive stdin: one line pointing at --json and match set|skip.
    result = cli("review")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "--json" in result.stderr and "match set|skip" in result.stderr

    # `match clear` reopens the skipped track: pending, then back in the queue after the next sync.
    assert cli("match", "clear", skipped).stdout.strip() == "cleared"
    assert cli("sync", demo.playlist_id).exit_code == 0
    assert skipped in [q["track_id"] for q in _queue(cli)]


def first_other(demo, track_id):
    return next(url for tid, url in demo.sources.items() if tid != track_id)


# -- the interactive review in a terminal ---------------------------------------------------------


def _spawn(cli):
    env = {**os.environ, **cli.env, "TERM": "xterm", "NO_COLOR": "1"}
    return pexpect.spawn(TUNECRATE, ["review"], env=env, encoding="utf-8", timeout=20, dimensions=(60, 200))


def _answer(child, title, key):
    child.expect_exact(title)
    child.expect_exact(PROMPT)
    child.sendline(key)


def test_interactive_review_in_a_terminal(cli, demo, held, roots, media_cache):
    titles = _titles(cli)
    t0, t1, t2, t3, t4, t5 = held
    pasted = _local_copy(demo, media_cache, t2)

    child = _spawn(cli)
    child.expect_exact("6 track(s) to review")
    _answer(child, titles[t0], "a")
    child.expect_exact("pinned to")
    _answer(child, titles[t1], "s")
    child.expect_exact("don't download")
    _answer(child, titles[t2], "p")
    child.expect_exact("URL or file path")
    child.sendline(pasted)
    _answer(child, titles[t3], "b")                     # back: t2 shows its new decision
    child.expect_exact(titles[t2])
    child.expect_exact(f"current: pinned to {pasted}")
    child.expect_exact(PROMPT)
    child.sendline("n")                                 # keep it
    _answer(child, titles[t3], "q")
    child.expect_exact("stopped: accepted=1 pasted=1 skipped=1; 3 track(s) left")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    decisions = _decisions(cli)
    assert decisions[t0] == ("pinned", demo.sources[t0])
    assert decisions[t1] == ("skipped", None)
    assert decisions[t2] == ("pinned", pasted)
    assert [q["track_id"] for q in _queue(cli)] == [t3, t4, t5]

    # Resume: it continues with what is left.
    child = _spawn(cli)
    child.expect_exact("3 track(s) to review")
    _answer(child, titles[t3], "2")                     # the alternative
    _answer(child, titles[t4], "x")
    child.expect_exact("unknown key")
    _answer(child, titles[t4], "")                      # decide later
    _answer(child, titles[t5], "a")
    child.expect_exact("no candidate to accept")
    child.expect_exact(PROMPT)
    child.sendline("p")
    child.expect_exact("URL or file path")
    child.sendline("no-such-file.flac")
    child.expect_exact("error: no such audio file")
    child.expect_exact(PROMPT)
    child.sendeof()                                     # Ctrl-D quits like q
    child.expect_exact("stopped: accepted=1 pasted=0 skipped=0; 2 track(s) left")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert _decisions(cli)[t3] == ("pinned", first_other(demo, t3))

    # The next sync downloads the accepted, picked and pasted tracks, not the skipped one.
    result = cli("sync", demo.playlist_id)
    assert result.exit_code == 0, result.output
    storage = roots["storage_root"]

    def source(track_id):
        path = storage / "tracks" / track_id[:2] / f"{track_id}.mp3"
        return read_tags(path).source_url if path.exists() else None

    assert source(t0) == demo.sources[t0]
    assert source(t2) == pasted
    assert source(t3) == first_other(demo, t3)
    assert source(t1) is None and source(t4) is None
    queue = [q["track_id"] for q in _queue(cli)]
    assert sorted(queue) == sorted([t4, t5])            # the skipped track is never asked again
    assert cli("match", "clear", t1).exit_code == 0
    assert cli("sync", demo.playlist_id).exit_code == 0
    assert t1 in [q["track_id"] for q in _queue(cli)]   # until `match clear` reopens it


def test_run_review_in_process(review_library, demo, media_cache):
    with review_library() as lib:
        lib.load_playlist(demo.playlist_url)
        order = [item.track_id for item in lib.review_queue()]
        t0, t1, t2, t3, t4, t5 = order
        out = io.StringIO()
        console = Console(file=out, width=200, color_system=None)

        def script(*answers):
            pending = iter(answers)
            prompts = []

            def input_fn(prompt):
                prompts.append(prompt)
                try:
                    return next(pending)
                except StopIteration:
                    raise EOFError from None
            return input_fn, prompts

        input_fn, _ = script("b", "9", "1", "s", "p", "", "b", "2", "n", "q")
        summary = run_review(lib, console, input_fn=input_fn)
        text = out.getvalue()
        assert "already at the first track" in text and "there is no candidate 9" in text
        assert summary.quit and summary.decisions == {t0: "accepted", t1: "accepted"}
        assert (summary.accepted, summary.skipped, summary.remaining) == (2, 0, 4)
        # t1 was first skipped, then (after going back) given the alternative instead.
        decisions = {d.track_id: (d.decision, d.source) for d in lib.match_list()}
        assert decisions[t1] == ("pinned", first_other(demo, t1))
        assert decisions[t0] == ("pinned", demo.sources[t0])

        # Resuming shows what is left; a pasted path and a skip; running off the end finishes.
        out.truncate(0)
        input_fn, prompts = script("p", _local_copy(demo, media_cache, t2), "s", "n", "s")
        summary = run_review(lib, console, input_fn=input_fn)
        assert not summary.quit and summary.decisions == {t2: "pasted", t3: "skipped", t5: "skipped"}
        assert summary.remaining == 1 and "review done" in out.getvalue()
        assert [item.track_id for item in lib.review_queue()] == [t4]

        out.truncate(0)
        lib.match_skip(t4)
        assert run_review(lib, console, input_fn=script()[0]).decisions == {}
        assert "nothing to review" in out.getvalue()


# -- retag ---------------------------------------------------------------------------------------


def test_retag_command(cli, demo, roots):
    track_id = demo.track_ids[1]
    assert cli("match", "set", track_id, demo.sources[track_id]).exit_code == 0
    assert cli("track", track_id).exit_code == 0
    path = roots["storage_root"] / "tracks" / track_id[:2] / f"{track_id}.mp3"
    audio = path.read_bytes()[ID3(path).size:]
    cover = ID3(path).getall("APIC")[0].data
    with sqlite3.connect(roots["data_root"] / "tunecrate.sqlite3") as db:
        db.execute("update track set title = 'Localhost Blues (2026 Mix)', album = 'Elsewhere' where track_id = ?",
                   (track_id,))
    result = cli("retag", f"https://open.spotify.com/track/{track_id}")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "retagged 1 file(s)"
    tags = ID3(path)
    assert tags["TIT2"].text == ["Localhost Blues (2026 Mix)"] and tags["TALB"].text == ["Elsewhere"]
    assert path.read_bytes()[ID3(path).size:] == audio and tags.getall("APIC")[0].data == cover
    assert cli("verify").exit_code == 0  # the recorded size follows the new tags

    assert cli("retag", "--all", "--offline").stdout.strip() == "retagged 1 file(s)"
    with sqlite3.connect(roots["data_root"] / "tunecrate.sqlite3") as db:
        db.execute("update track set cover_url = 'http://127.0.0.1:9/gone.jpg' where track_id = ?", (track_id,))
    result = cli("retag", track_id)
    assert result.exit_code == 0 and result.stdout.strip() == "retagged 1 file(s)"
    assert result.stderr.startswith("warning: ") and "http://127.0.0.1:9/gone.jpg" in result.stderr
    assert "kept the embedded cover" in result.stderr and ID3(path).getall("APIC")[0].data == cover
    assert cli("retag").exit_code == 2
    assert cli("retag", track_id, "--all").exit_code == 2
    result = cli("retag", demo.track_ids[0])
    assert result.exit_code == 1 and "no track" in result.stderr


# -- sources -------------------------------------------------------------------------------------


def test_sources_commands(cli, tmp_path):
    music, other = tmp_path / "My Music", tmp_path / "Other"
    (music / "sub").mkdir(parents=True)
    other.mkdir()
    subprocess.run([find_ffmpeg(), "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1",
                    "-c:a", "libmp3lame", str(music / "sub" / "01 - Someone - Song.mp3")], check=True)
    (music / "notes.txt").write_text("not audio")

    result = cli("sources", "add", str(tmp_path / "missing"))
    assert result.exit_code == 1 and result.stderr.count("\n") == 1 and "does not exist" in result.stderr
    result = cli("sources", "add", str(music))
    assert result.exit_code == 0 and str(music) in result.stdout
    env = {"TUNECRATE_MUSIC_DIRS": str(other)}
    listing = json.loads(cli("sources", "list", "--json", **env).stdout)
    assert listing == [
        {"path": str(other), "origin": "settings", "exists": True, "files": 0},
        {"path": str(music), "origin": "added", "exists": True, "files": 0},
    ]
    result = cli("sources", "scan")
    assert result.exit_code == 0, result.output
    assert "folders=1 added=1 updated=0 removed=0 unchanged=0 errors=0" in result.stdout
    assert json.loads(cli("sources", "scan", "--json").stdout)["unchanged"] == 1
    table = cli("sources", "list")
    assert str(music) in table.stdout and "1 folder(s)" in table.stdout
    assert json.loads(cli("sources", "list", "--json").stdout)[0]["files"] == 1

    result = cli("sources", "remove", str(other))
    assert result.exit_code == 1 and "is not a music folder added" in result.stderr
    assert cli("sources", "remove", str(music)).exit_code == 0
    assert json.loads(cli("sources", "list", "--json").stdout) == []
    result = cli("sources", "scan")
    assert "folders=0 added=0 updated=0 removed=1" in result.stdout and "no music folders" in result.stdout


def test_decisions_survive_a_rebuild_of_the_catalogue(held, cli, demo, roots):
    from tunecrate.demo.spotify_server import fake_id

    accepted, skipped = held[0], held[1]
    assert cli("match", "accept", accepted, "1").exit_code == 0
    assert cli("match", "skip", skipped).exit_code == 0
    future = fake_id("not-loaded-yet")
    assert cli("match", "skip", future).exit_code == 0
    before = {t: d for t, d in _decisions(cli).items() if d[0] != "auto"}
    assert before == {accepted: ("pinned", before[accepted][1]), skipped: ("skipped", None),
                      future: ("skipped", None)} and before[accepted][1].startswith("http")

    for name in ("tunecrate.sqlite3", "tunecrate.sqlite3-wal", "tunecrate.sqlite3-shm"):
        (roots["data_root"] / name).unlink(missing_ok=True)
    result = cli("load-local", "--json")
    assert result.exit_code == 0, result.output
    assert (json.loads(result.stdout)["pins"], json.loads(result.stdout)["skips"]) == (1, 2)

    assert _decisions(cli) == before
    statuses = {t["track_id"]: t["status"] for t in json.loads(cli("tracks", "--json").stdout)}
    assert statuses[skipped] == "skipped" and statuses[accepted] == "pending"
    # The skipped track is not asked about again; the accepted one is fetched from its pin.
    assert skipped not in [item["track_id"] for item in _queue(cli)]
    assert accepted not in [item["track_id"] for item in _queue(cli)]
