"""A damaged or empty catalogue: every command says what to do, and `load-local` sets it aside and rebuilds."""

from __future__ import annotations

import json

import pytest

#: Commands that open the catalogue, each with the arguments it needs (the demo playlist's id is filled in).
COMMANDS = [("tracks",), ("playlists",), ("playlist-local", "{pid}"), ("match", "list"), ("sync", "{pid}"),
            ("gc", "--dry-run"), ("verify",), ("review", "--json"), ("playlist", "{url}")]


def _load_demo(cli, demo):
    for track_id, url in demo.sources.items():
        assert cli("match", "set", track_id, url).exit_code == 0
    assert cli("playlist", demo.playlist_url).exit_code == 0


def _damage(database, how):
    for suffix in ("-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)
    if how == "none":
        pass
    elif how == "garbage":
        with open(database, "r+b") as fh:
            fh.write(b"this is no database header, just garbage" * 4)
    else:
        database.write_bytes(b"")
    return database.read_bytes()


@pytest.mark.parametrize("how", ["garbage", "empty"])
def test_every_command_says_what_to_do_and_load_local_rebuilds(cli, demo, world, roots, tmp_path, how):
    _load_demo(cli, demo)
    cover = roots["storage_root"] / "playlists" / f"{demo.playlist_id}.cover.jpg"
    cover_bytes = cover.read_bytes()
    before = {args: cli(*args).stdout for args in (("tracks", "--json"), ("playlists", "--json"))}
    database = roots["data_root"] / "tunecrate.sqlite3"
    damaged = _damage(database, how)

    for args in COMMANDS:
        args = [a.format(pid=demo.playlist_id, url=demo.playlist_url) for a in args]
        result = cli(*args)
        assert result.exit_code == 1, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (args, result.stderr)
        assert str(database) in lines[0] and "damaged" in lines[0] and "tunecrate load-local" in lines[0], lines
    assert database.read_bytes() == damaged, "no command but load-local touches the damaged file"

    rebuilt = cli("load-local")
    assert rebuilt.exit_code == 0, rebuilt.output
    aside = list(roots["data_root"].glob("tunecrate.sqlite3.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == damaged
    assert str(aside[0]) in rebuilt.stdout
    assert "tracks=6 playlists=1 pins=6" in rebuilt.stdout
    for args, text in before.items():
        assert json.loads(cli(*args).stdout) == json.loads(text)
    # The playlist's stored cover survives the rebuild: an export still holds it, offline.
    assert cover.read_bytes() == cover_bytes
    world.media.fail_next("demo-playlist-cover.jpg", 503, times=100)
    zipped = cli("download-playlist-zip", demo.playlist_id, str(tmp_path / "mix.zip"))
    assert zipped.exit_code == 0 and "cover=yes" in zipped.stdout and zipped.stderr == "", zipped.output
    assert "up to date" in cli("sync", demo.playlist_id).stdout


def test_a_library_that_does_not_exist_yet_is_not_damaged(cli, roots):
    result = cli("load-local", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["set_aside"] is None
    assert list(roots["data_root"].glob("*corrupt*")) == []


def test_load_local_finds_a_damaged_page_behind_a_sound_header(cli, demo, roots):
    _load_demo(cli, demo)
    database = roots["data_root"] / "tunecrate.sqlite3"
    _damage(database, "none")
    size = database.stat().st_size
    with open(database, "r+b") as fh:  # every page but the first (header and schema) gets garbage
        fh.seek(4096)
        fh.write(b"\x13garbage\x37" * ((size - 4096) // 9))
    result = cli("tracks")
    assert result.exit_code == 1 and "tunecrate load-local" in result.stderr and "Traceback" not in result.output

    rebuilt = cli("load-local", "--json")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert json.loads(rebuilt.stdout)["set_aside"] and json.loads(rebuilt.stdout)["tracks"] == 6
    assert len(json.loads(cli("tracks", "--json").stdout)) == 6
