"""`tunecrate likes --browser`: Liked Songs read in headless Chromium from the web player stand-in, then synced."""

from __future__ import annotations

import json

import pytest

from standins.web_player import FakeWebPlayer, LikedSong, browser_binaries, log_in


@pytest.fixture
def web(world, demo):
    songs = [LikedSong.from_track(world.spotify._tracks[t]) for t in demo.track_ids]
    with FakeWebPlayer(songs) as server:
        yield server


def _files(roots):
    return sorted(p.stem for p in (roots["storage_root"] / "tracks").glob("*/*.mp3"))


def test_likes_from_the_browser_then_sync_uses_it_and_a_broken_read_is_refused(cli, demo, web, roots):
    binaries = browser_binaries()
    for track_id, url in demo.sources.items():
        assert cli("match", "set", track_id, url).exit_code == 0
    env = {"TUNECRATE_SPOTIFY_WEB_URL": web.base_url, "TUNECRATE_BROWSER_PAGE_TIMEOUT": "10"}

    refused = cli("likes", "--browser", "--headless", **env)
    assert refused.exit_code == 1
    assert refused.stderr.strip().splitlines()[-1].startswith("error: the browser profile is not logged in")

    log_in(binaries, roots["data_root"] / "browser-profile", web)
    result = cli("likes", "--browser", "--headless", "--json", **env)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["id"], summary["source"], summary["counts"]["downloaded"]) == ("likes", "spotify-browser", 6)
    assert _files(roots) == sorted(demo.track_ids)
    listed = {p["playlist_id"]: p for p in json.loads(cli("playlists", "--json").stdout)}
    assert listed["likes"]["source"] == "spotify-browser" and listed["likes"]["track_count"] == 6

    # `likes` alone means the Web API (which needs a login here), not the browser.
    web.requests.clear()
    api = cli("likes", **env)
    assert api.exit_code == 1 and "tunecrate login" in api.stderr and web.requests == []

    # `sync likes` reads through the browser again (headless: there is no display here), and prunes.
    web.songs = web.songs[1:]
    result = cli("sync", "likes", DISPLAY=None, WAYLAND_DISPLAY=None, **env)
    assert result.exit_code == 0, result.output
    assert "/api/collection/tracks" in web.paths()
    assert _files(roots) == sorted(demo.track_ids[1:])

    # An empty read prunes nothing: one line, exit 1, every file kept.
    web.songs = []
    result = cli("sync", "likes", "--json", DISPLAY=None, WAYLAND_DISPLAY=None, **env)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: refused to sync likes: spotify-browser read 0 of the 5 Liked Songs the library holds, which looks "
        "like a failed read; nothing was changed (if you really removed them, run again with "
        "TUNECRATE_LIKES_MIN_KEPT=0)"]
    assert _files(roots) == sorted(demo.track_ids[1:])
    assert json.loads(cli("playlist-local", "likes", "--json").stdout)["track_count"] == 5


def test_headless_needs_browser(cli):
    result = cli("likes", "--headless")
    assert result.exit_code == 2 and "--headless goes with --browser" in result.output
