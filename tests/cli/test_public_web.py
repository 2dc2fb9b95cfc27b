"""The main job with no Spotify app: public links through the stand-in's web pages, and choosing the source."""

from __future__ import annotations

import json
import math
import os
import sqlite3

import pytest
from mutagen.id3 import ID3

from tunecrate.core.settings import Settings
from tunecrate.core.types import Candidate
from tunecrate.demo.run import DEMO_PLAYLIST_SIZE, demo_world
from tunecrate.demo.spotify_server import fake_id, make_track
from tunecrate.demo.world import build_public_playlist
from tunecrate.library.library import Library

NO_APP = {"SPOTIPY_CLIENT_ID": "", "SPOTIPY_CLIENT_SECRET": ""}


def _pin(roots, world, sources: dict[str, str]) -> None:
    """Pin tracks to their audio (in-process, under one write lock: hundreds of CLI calls would be slow)."""
    settings = Settings.load(environ={}, **roots, **world.settings_overrides(credentials=False))
    with Library(settings) as lib, lib._writing():
        for track_id, url in sources.items():
            lib.match_set(track_id, url)


def _db(roots):
    return sqlite3.connect(roots["data_root"] / "tunecrate.sqlite3")


def _order(cli, playlist_id):
    return [t["track_id"] for t in json.loads(cli("playlist-local", playlist_id, "--json").stdout)["tracks"]]


def _path(roots, track_id):
    return roots["storage_root"] / "tracks" / track_id[:2] / f"{track_id}.mp3"


def _assert_tagged(roots, world, track_id):
    """The file's title, artists, album and cover are those the catalogue holds for the track."""
    track = world.spotify.track_object(track_id)
    tags = ID3(_path(roots, track_id))
    assert tags["TIT2"].text == [track["name"]]
    assert tags["TPE1"].text == [a["name"] for a in track["artists"]]
    assert tags["TALB"].text == [track["album"]["name"]]
    assert tags["TPE2"].text == [a["name"] for a in track["album"]["artists"]]
    cover = tags.getall("APIC")[0]
    assert cover.mime == "image/jpeg" and cover.data.startswith(b"\xff\xd8")
    return tags


def test_public_playlist_album_and_track_without_credentials(cli, world, demo, roots):
    public = build_public_playlist(world, size=146)  # and 4 entries that are not tracks: 150 entries
    _pin(roots, world, {**public.sources, **demo.sources})
    world.spotify.clear_requests()

    result = cli("playlist", public.url, **NO_APP)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:2] == [f"playlist {public.playlist_id} Public Loopback 146",
                         "downloaded=146 present=0 unresolved=0 skipped=0 failed=0"]
    assert "warning" not in result.stdout
    for track_id in public.track_ids:
        _assert_tagged(roots, world, track_id)
    assert len(world.web.requests_to(r"^/embed/")) == 1
    assert len(world.web.requests_to(r"^/pathfinder/")) == math.ceil(150 / 100)
    assert not world.spotify.requests  # no Spotify app was involved
    (summary,) = json.loads(cli("playlists", "--json").stdout)
    assert summary["source"] == "spotify-web" and summary["snapshot_id"].startswith("sha256:")
    assert _order(cli, public.playlist_id) == public.track_ids

    # A track, then its whole album, from their own embed pages.
    result = cli("track", f"https://open.spotify.com/track/{demo.track_ids[2]}", **NO_APP)
    assert result.exit_code == 0 and "downloaded=1" in result.stdout, result.output
    result = cli("album", demo.album_id, **NO_APP)
    assert result.exit_code == 0 and "downloaded=5 present=1" in result.stdout, result.output
    for number, track_id in enumerate(demo.track_ids, 1):
        tags = _assert_tagged(roots, world, track_id)
        assert tags["TRCK"].text == [f"{number}/6"] and "TSRC" not in tags  # the web pages know no ISRC
    assert not world.spotify.requests

    # The playlist changes: three tracks go, two new ones come, one moves to the top.
    tracks = [world.spotify.track_object(t) for t in public.track_ids]
    new = [make_track(fake_id(f"public:new:{n}"), f"Newcomer {n}", ["Port 8080"], tracks[0]["album"],
                      duration_ms=4000) for n in range(2)]
    _pin(roots, world, {t["id"]: public.sources[public.track_ids[0]] for t in new})
    changed = [tracks[120], *tracks[:10], new[0], *tracks[13:120], *tracks[121:], new[1]]
    world.spotify.set_playlist_items(public.playlist_id, changed)
    world.web.clear_requests()
    media = len(world.media.requests)

    result = cli("sync", public.playlist_id, **NO_APP)

    assert result.exit_code == 0, result.output
    assert "added=2 removed=3 kept=143" in result.stdout and "removed 3 track(s) no playlist needs" in result.stdout
    assert _order(cli, public.playlist_id) == [t["id"] for t in changed]
    for gone in public.track_ids[10:13]:
        assert not _path(roots, gone).exists()
    for track in new:
        _assert_tagged(roots, world, track["id"])
    assert len(world.web.requests) == 1 + 2  # the digest changed: the list read for it was used

    # Nothing changed: the embed page and one partner page per 100 entries, and no download.
    world.web.clear_requests()
    media = len(world.media.requests)
    result = cli("sync", public.playlist_id, **NO_APP)
    assert result.exit_code == 0 and "up to date" in result.stdout
    assert len(world.web.requests) == 1 + math.ceil(len(changed) / 100)
    assert len(world.media.requests) == media and not world.spotify.requests


def test_403_on_playlist_items_falls_back_to_the_web_pages_in_one_line(cli, world, roots):
    public = build_public_playlist(world, size=12)  # another user's: the Web API refuses its items

    result = cli("playlist", public.url)

    assert result.exit_code == 0, result.output
    assert "unresolved=12" in result.stdout
    (warning,) = [line for line in result.stdout.splitlines() if "warning" in line]
    assert "403" in warning and warning.endswith("reading it through spotify-web instead")
    assert world.spotify.requests_to(r"/items$")
    with _db(roots) as db:
        assert db.execute("select source from playlist").fetchall() == [("spotify-web",)]
        assert db.execute("select count(*) from track").fetchone() == (12,)

    # The playlist remembers where it came from: sync reads the web pages again, with no detour.
    world.spotify.clear_requests()
    result = cli("sync", public.playlist_id)
    assert result.exit_code == 0 and "kept=12" in result.stdout and "warning" not in result.stdout
    assert not world.spotify.requests_to(r"^/v1/")

    # Told to use the Web API only, the refusal is the answer: one line, exit 1.
    result = cli("playlist", public.url, "--source", "api")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1 and "403" in result.stderr


def test_spotify_owned_playlist_404_falls_back_and_web_choice_skips_the_api(cli, world, demo):
    owned = "37i9dQZF1DXcBWIGoYBM5M"
    world.spotify.add_playlist(owned, "Today's Loopback Hits", [world.spotify.track_object(t) for t in demo.track_ids],
                               owner="spotify")
    world.spotify.fail_next(r"^/v1/playlists/37i9", 404, times=10)  # what every Web API app gets since 2024

    result = cli("playlist", f"https://open.spotify.com/playlist/{owned}?si=abc")

    assert result.exit_code == 0, result.output
    assert "Spotify-owned playlists such as 37i9dQZF1DXcBWIGoYBM5M" in result.stdout
    assert "reading it through spotify-web instead" in result.stdout

    world.spotify.clear_requests()
    result = cli("album", demo.album_id, "--source", "web")
    assert result.exit_code == 0 and "unresolved=6" in result.stdout
    assert not world.spotify.requests_to(r"^/v1/") and world.web.requests_to(rf"^/embed/album/{demo.album_id}$")
    result = cli("album", demo.album_id, TUNECRATE_SPOTIFY_SOURCE="carrier-pigeon")
    assert result.exit_code == 1 and "TUNECRATE_SPOTIFY_SOURCE" in result.stderr


def test_wrong_partner_hash_is_one_line_naming_the_setting(cli, world, roots):
    public = build_public_playlist(world, size=3)
    result = cli("playlist", public.url, TUNECRATE_SPOTIFY_PARTNER_HASH="1" * 64, **NO_APP)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "TUNECRATE_SPOTIFY_PARTNER_HASH" in result.stderr
    with _db(roots) as db:
        assert db.execute("select count(*) from playlist").fetchone() == (0,)


def test_partner_outage_warns_and_prunes_nothing(cli, world, roots):
    public = build_public_playlist(world, size=146)
    late = public.track_ids[120]  # beyond what the embed page shows
    _pin(roots, world, {late: public.sources[late]})
    assert cli("playlist", public.url, **NO_APP).exit_code == 0
    assert _path(roots, late).exists()
    before = _order(cli, public.playlist_id)

    tracks = [world.spotify.track_object(t) for t in public.track_ids]
    world.spotify.set_playlist_items(public.playlist_id, tracks[1:])  # the first track really went
    world.web.fail_next(r"^/pathfinder/", 503)
    result = cli("sync", public.playlist_id, TUNECRATE_SPOTIFY_WEB_RETRIES="0", **NO_APP)

    assert result.exit_code == 0, result.output
    (warning,) = [line for line in result.stdout.splitlines() if "warning" in line]
    assert "503" in warning and "entries after the first 100 were left out" in warning
    assert "none will be removed" in warning and "album, album artist" in warning
    assert "no playlist needs" not in result.stdout
    assert sorted(_order(cli, public.playlist_id)) == sorted(before)  # what the view missed is kept
    assert _path(roots, late).exists()
    with _db(roots) as db:
        assert db.execute("select count(*) from track").fetchone() == (146,)
        assert db.execute("select snapshot_id from playlist").fetchone() == (None,)

    # Once the partner API answers again, the sync sees the whole list and prunes what really went.
    result = cli("sync", public.playlist_id, **NO_APP)
    assert result.exit_code == 0 and "warning" not in result.stdout
    assert _order(cli, public.playlist_id) == public.track_ids[1:]


class _SongProvider:
    """Finds each public track's own audio under its real title, artists and length (YouTube Music's song),
    and records the tracks it was asked about."""

    name = "ytmusic"

    def __init__(self, world, public):
        self.world, self.public, self.queries = world, public, []

    def search(self, track):
        self.queries.append(track)
        real = self.world.spotify.track_object(track.track_id)
        return [Candidate(self.public.sources[track.track_id], real["name"], ", ".join(a["name"] for a in real["artists"]),
                          real["duration_ms"], "ytmusic", verified=True)]


def test_a_partner_outage_sync_of_a_downloaded_playlist_reads_no_track_page(cli, world, roots):
    public = build_public_playlist(world, size=8)
    _pin(roots, world, public.sources)
    assert cli("playlist", public.url, **NO_APP).exit_code == 0
    world.web.bare_rows(*public.track_ids[:3])  # rows the embed page sends without a duration
    world.web.fail_next(r"^/pathfinder/", 503)
    world.web.clear_requests()

    result = cli("sync", public.playlist_id, TUNECRATE_SPOTIFY_WEB_RETRIES="0", **NO_APP)

    assert result.exit_code == 0, result.output
    assert "none will be removed" in result.stdout and "kept=8" in result.stdout
    assert not world.web.requests_to(r"^/embed/track/")  # every file is there: nothing to search, nothing to fill
    with _db(roots) as db:  # the rows keep the durations the whole list gave
        rows = db.execute("select duration_ms, missing from track").fetchall()
    assert len(rows) == 8 and all(duration and "duration_ms" not in json.loads(missing) for duration, missing in rows)


def test_in_a_partner_outage_only_the_tracks_searched_for_are_filled_from_their_track_page(world, roots):
    public = build_public_playlist(world, size=6)
    searched, pinned = public.track_ids[:2], public.track_ids[2:]
    world.web.bare_rows(searched[0], pinned[0])  # no duration in the embed's rows
    world.web.bare_rows(searched[1], fields=("duration", "subtitle"))  # no artists either
    _pin(roots, world, {t: public.sources[t] for t in pinned})
    provider = _SongProvider(world, public)
    settings = Settings.load(environ={}, **roots, **world.settings_overrides(credentials=False), workers=2,
                             spotify_web_retries=0)
    world.web.fail_next(r"^/pathfinder/", 503, times=100)  # down for both syncs
    world.web.clear_requests()
    with Library(settings, providers=[provider]) as lib:
        report = lib.load_playlist(public.playlist_id)
        assert report.counts["downloaded"] == 6 and "none will be removed" in report.warnings[0]
        # One track page per track searched for that lacked a duration; none for the pinned one.
        assert sorted(r.path for r in world.web.requests_to(r"^/embed/track/")) == sorted(
            f"/embed/track/{t}" for t in searched)
        real = {t: world.spotify.track_object(t) for t in public.track_ids}
        assert {q.track_id: (q.artists, q.duration_ms) for q in provider.queries} == {
            t: (tuple(a["name"] for a in real[t]["artists"]), real[t]["duration_ms"]) for t in searched}

        # The files and rows have what was filled: artists, duration and the cover of the track's page.
        for track_id in searched:
            tags = ID3(_path(roots, track_id))
            assert tags["TPE1"].text == [a["name"] for a in real[track_id]["artists"]]
            assert tags["TLEN"].text == [str(real[track_id]["duration_ms"])]
            assert tags.getall("APIC") and "TALB" not in tags  # the track page names no album
        with _db(roots) as db:
            rows = {t: (d, json.loads(a), set(json.loads(m))) for t, d, a, m in db.execute(
                "select track_id, duration_ms, artists, missing from track")}
        for track_id in searched:
            duration, artists, missing = rows[track_id]
            assert duration == real[track_id]["duration_ms"] and artists == [a["name"] for a in real[track_id]["artists"]]
            assert not {"duration_ms", "artists", "cover_url"} & missing and "album" in missing
        assert rows[pinned[0]][0] == 0 and "duration_ms" in rows[pinned[0]][2]  # recorded as lacking

        # The next sync, the partner API still down: every file is present, no track page is read.
        world.web.clear_requests()
        assert lib.sync(public.playlist_id).counts["present"] == 6
        assert not world.web.requests_to(r"^/embed/track/")


def test_demo_reads_a_public_playlist_of_more_than_100_entries_without_credentials(tmp_path, monkeypatch):
    # The user's own app (for the real Spotify) is in the environment: the demo's stand-ins would refuse it.
    monkeypatch.setenv("SPOTIPY_CLIENT_ID", "the-users-real-app")
    monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", "its-secret")
    with demo_world(storage_root=tmp_path / "s", data_root=tmp_path / "d") as demo:
        from tunecrate.sources.spotify_login import SpotifySettings

        assert not demo.settings.section(SpotifySettings).has_app_credentials
        environment = demo.environment()  # pasted into a shell that has them, it blanks them
        assert environment["SPOTIPY_CLIENT_ID"] == environment["SPOTIPY_CLIENT_SECRET"] == ""
        pasted = Settings.load(environ={**os.environ, **environment})
        assert not pasted.section(SpotifySettings).has_app_credentials
        with Library(demo.settings) as lib:
            report = lib.load_playlist(demo.playlist.url)  # no pins: every track stays unresolved, quickly
        assert report.source == "spotify-web" and report.track_count == DEMO_PLAYLIST_SIZE > 100
        assert report.track_count + len(report.skipped_entries) > 100 and not report.warnings
        assert len(demo.playlist.sources) == DEMO_PLAYLIST_SIZE


@pytest.mark.parametrize("command", ["track", "album", "playlist", "sync"])
def test_source_option_is_documented(cli, command):
    result = cli(command, "--help")
    assert result.exit_code == 0 and "--source" in result.stdout and "TUNECRATE_SPOTIFY_SOURCE" in result.stdout


def test_a_read_of_the_web_pages_keeps_what_the_web_api_gave(cli, demo, roots):
    assert cli("album", demo.album_id).exit_code == 0  # the Web API: ISRCs included
    assert cli("album", demo.album_id, "--source", "web").exit_code == 0  # the web pages know none
    with _db(roots) as db:
        rows = db.execute("select isrc, missing from track").fetchall()
    assert len(rows) == 6 and all(isrc and "isrc" not in json.loads(missing) for isrc, missing in rows)


def test_sync_reads_through_the_source_option_when_given_then_remembers_it(cli, world, demo, roots):
    assert cli("playlist", demo.playlist_url).exit_code == 0  # credentials set: the Web API
    world.spotify.clear_requests()

    result = cli("sync", demo.playlist_id, "--source", "web")

    assert result.exit_code == 0 and "warning" not in result.stdout, result.output
    assert world.web.requests_to(rf"^/embed/playlist/{demo.playlist_id}$")
    assert not world.spotify.requests_to(r"^/v1/playlists/")
    with _db(roots) as db:
        assert db.execute("select source from playlist").fetchall() == [("spotify-web",)]

    world.web.clear_requests()
    result = cli("sync", demo.playlist_id, "--source", "api")
    assert result.exit_code == 0 and world.spotify.requests_to(r"^/v1/playlists/") and not world.web.requests
    with _db(roots) as db:
        assert db.execute("select source from playlist").fetchall() == [("spotify-api",)]


def test_client_credentials_spotify_refuses_fall_back_to_the_web_pages(cli, world, demo):
    """An app whose id or secret Spotify refuses (401 invalid_client) cannot stop a public link under auto."""
    public = build_public_playlist(world, size=5)

    result = cli("playlist", public.url, SPOTIPY_CLIENT_SECRET="not-the-secret")

    assert result.exit_code == 0, result.output
    (warning,) = [line for line in result.stdout.splitlines() if "warning" in line]
    assert "refused the client credentials" in warning and warning.endswith("reading it through spotify-web instead")
    assert world.web.requests_to(r"^/embed/playlist/")

    # Told to use the Web API, the refusal is the answer.
    result = cli("playlist", public.url, "--source", "api", SPOTIPY_CLIENT_SECRET="not-the-secret")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "refused the client credentials" in result.stderr
