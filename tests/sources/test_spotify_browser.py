"""The browser source: finding Chromium, and Liked Songs read in headless Chromium from the web player stand-in."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from standins.web_player import MAX_ROWS, FakeWebPlayer, browser_binaries, log_in, make_liked_songs
from tunecrate.core.errors import AuthError, ConfigurationError, ServiceError
from tunecrate.core.ids import parse_reference
from tunecrate.core.settings import Settings
from tunecrate.library.library import Library
from tunecrate.sources import SourceRegistry
from tunecrate.sources import spotify_browser
from tunecrate.sources.spotify_browser import (
    SpotifyBrowserSource,
    chromium_arguments,
    find_binaries,
    profile_path,
    read_liked_songs,
    start_browser,
)

LIKES = parse_reference("likes")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _fake_program(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\necho 'Chromium 156.0.8078.114'\n")
    path.chmod(0o755)
    return path


# -- finding the programs (no browser started) ----------------------------------------------


def test_programs_come_from_the_settings_then_from_path(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    browser, driver = _fake_program(bin_dir, "chromium"), _fake_program(bin_dir, "chromedriver")
    monkeypatch.setenv("PATH", str(bin_dir))
    found = find_binaries()
    assert (found.chromium, found.chromedriver, found.driver_origin) == (browser, driver, "PATH")
    other = _fake_program(tmp_path / "elsewhere", "my-driver")
    found = find_binaries(str(_fake_program(tmp_path / "elsewhere", "my-chrome")), str(other))
    assert found.chromedriver == other and found.driver_origin == "setting"
    assert found.chromium == tmp_path / "elsewhere" / "my-chrome"


def test_missing_programs_say_what_to_install_or_set(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ConfigurationError, match="Chromium not found.*apt install chromium.*TUNECRATE_CHROMIUM"):
        find_binaries()
    with pytest.raises(ConfigurationError, match=r"TUNECRATE_CHROMEDRIVER='/nope/chromedriver' is not an executable"):
        find_binaries(str(_fake_program(tmp_path / "bin", "chromium")), "/nope/chromedriver")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(ConfigurationError, match="chromedriver not found.*chromium-driver.*TUNECRATE_CHROMEDRIVER"):
        find_binaries(download_root=None)


def test_webdriver_manager_is_tried_only_without_a_driver_and_with_a_network(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    _fake_program(bin_dir, "chromium")
    monkeypatch.setenv("PATH", str(bin_dir))
    asked = []
    monkeypatch.setattr(spotify_browser, "_network_up", lambda proxy: asked.append(proxy) or False)
    with pytest.raises(ConfigurationError, match="no network to download one"):
        find_binaries(download_root=tmp_path / "wdm", proxy="http://127.0.0.1:9")
    assert asked == ["http://127.0.0.1:9"]
    downloaded = _fake_program(tmp_path / "wdm", "chromedriver")
    monkeypatch.setattr(spotify_browser, "_network_up", lambda proxy: True)
    monkeypatch.setattr(spotify_browser, "_download_driver", lambda chromium, root, proxy: downloaded)
    found = find_binaries(download_root=tmp_path / "wdm")
    assert found.chromedriver == downloaded and found.driver_origin == "webdriver-manager"
    # A driver on PATH is used as it is: nothing is asked of the network.
    _fake_program(bin_dir, "chromedriver")
    monkeypatch.setattr(spotify_browser, "_network_up", lambda proxy: pytest.fail("network probed"))
    assert find_binaries(download_root=tmp_path / "wdm").driver_origin == "PATH"


def test_chromium_switches(tmp_path):
    args = chromium_arguments(tmp_path / "p", headless=True, proxy="http://proxy.example:3128")
    assert f"--user-data-dir={tmp_path / 'p'}" in args and "--headless=new" in args
    assert "--proxy-server=http://proxy.example:3128" in args and "--password-store=basic" in args
    headed = chromium_arguments(tmp_path / "p", headless=False, proxy=None)
    assert not any(a.startswith(("--headless", "--proxy-server")) for a in headed)


def test_hosts_no_proxy_lists_bypass_chromiums_proxy_as_they_do_every_other_client(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_PROXY", " nas.home, .corp.example,,10.0.0.0/8 ")
    args = chromium_arguments(tmp_path / "p", headless=True, proxy="http://proxy.example:3128")
    assert "--proxy-bypass-list=nas.home;*.nas.home;*.corp.example;10.0.0.0/8" in args
    assert not any(a.startswith("--proxy-bypass-list") for a in chromium_arguments(tmp_path, headless=True, proxy=None))
    monkeypatch.delenv("NO_PROXY")
    monkeypatch.setenv("no_proxy", "*")
    assert "--proxy-bypass-list=*" in chromium_arguments(tmp_path, headless=True, proxy="http://proxy.example:3128")


def test_the_registry_uses_the_browser_only_when_asked(tmp_path):
    settings = Settings.load(environ={}, data_root=tmp_path / "data", storage_root=tmp_path / "s")
    registry = SourceRegistry(settings)
    assert [s.name for s in registry.for_reference(LIKES)] == ["spotify-api"]
    assert [s.name for s in registry.for_reference(LIKES, "spotify-browser")] == ["spotify-browser", "spotify-api"]
    playlist = parse_reference("https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M")
    assert "spotify-browser" not in [s.name for s in registry.for_reference(playlist, "spotify-browser")]
    browser = registry.get("spotify-browser")
    assert browser.profile == profile_path(tmp_path / "data") == tmp_path / "data" / "browser-profile"
    with pytest.raises(ConfigurationError, match="TUNECRATE_SPOTIFY_WEB_URL"):
        SpotifyBrowserSource(web_url="open.spotify.com", profile=tmp_path)


# -- in headless Chromium ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def binaries():
    return browser_binaries()


@pytest.fixture(scope="module")
def songs():
    return make_liked_songs(500)


@pytest.fixture
def web(songs):
    with FakeWebPlayer(songs) as server:
        yield server


def _source(web, profile, **kwargs) -> SpotifyBrowserSource:
    return SpotifyBrowserSource(web_url=web.base_url, profile=profile, headless=True, page_timeout_s=10, **kwargs)


def _expected(songs):
    return [(s.id, s.title, tuple(name for _, name in s.artists), s.album[1], s.explicit) for s in songs]


def _read_back(entries):
    return [(t.track_id, t.title, t.artists, t.album, t.explicit) for t in entries]


def test_a_fresh_profile_is_refused_headless_in_one_line(binaries, web, tmp_path, monkeypatch):
    monkeypatch.delenv("SE_OFFLINE", raising=False)
    profile = tmp_path / "data" / "browser-profile"
    with pytest.raises(AuthError) as info:
        _source(web, profile).fetch(LIKES)
    message = str(info.value)
    assert "\n" not in message and "not logged in" in message and "tunecrate likes --browser" in message
    assert _mode(profile) == 0o700
    assert "/login" in web.paths() and "/api/collection/tracks" not in web.paths()
    assert os.environ["SE_OFFLINE"] == "true"  # Selenium Manager may not download anything


def test_chromium_reaches_the_web_player_through_the_proxy(binaries, web, tmp_path):
    from standins.proxy import RecordingProxy

    with RecordingProxy() as proxy:  # the web player's host is known only to the proxy
        proxy.add_site("player.tunecrate.test", web.base_url)
        source = SpotifyBrowserSource(web_url="http://player.tunecrate.test", profile=tmp_path / "profile",
                                      headless=True, page_timeout_s=10, proxy=proxy.url)
        with pytest.raises(AuthError, match="not logged in"):  # a fresh profile, refused once the page answered
            source.fetch(LIKES)
    paths = [e.path.split("?")[0] for e in proxy.seen("player.tunecrate.test", "http")]
    assert paths[:2] == ["/collection/tracks", "/login"] and "/login" in web.paths()


def test_log_in_once_then_all_500_in_order_and_no_login_the_next_time(binaries, web, songs, tmp_path):
    profile = tmp_path / "data" / "browser-profile"
    web.auto_login_ms, web.land_on_home = 300, True  # the user types, and the login ends on the home page
    driver = start_browser(binaries, profile, headless=True)
    try:
        read = read_liked_songs(driver, web.base_url, interactive=True, login_timeout_s=30, page_timeout_s=10)
    finally:
        driver.quit()
    assert web.logins == 1 and "/" in web.paths()
    assert read.expected == 500 and read.complete and not read.skipped
    assert _read_back(read.entries) == _expected(songs)
    assert [t.duration_ms // 1000 for t in read.entries] == [round(s.duration_ms / 1000) for s in songs]
    assert all(t.missing == {"album_artists", "track_number", "track_total", "disc_number", "release_date",
                             "isrc", "cover_url"} for t in read.entries)
    # It scrolled: the page never held more than 50 rows, so reading 500 took many passes.
    assert 0 < read.most_rows <= MAX_ROWS and read.passes >= len(songs) // MAX_ROWS
    assert _mode(profile) == 0o700

    web.requests.clear()
    tracks = _source(web, profile).fetch(LIKES)
    assert web.logins == 1 and "/login" not in web.paths()
    assert (tracks.kind, tracks.id, tracks.source, tracks.complete) == ("likes", "likes", "spotify-browser", True)
    assert _read_back(tracks.entries) == _expected(songs)
    assert _mode(profile) == 0o700


def test_a_list_that_stops_loading_is_read_as_incomplete(binaries, web, songs, tmp_path):
    profile = tmp_path / "browser-profile"
    log_in(binaries, profile, web)
    web.serve_limit = 40  # the page announces 500 rows but only 40 ever load
    tracks = _source(web, profile).fetch(LIKES)
    assert not tracks.complete and len(tracks.entries) == 40
    assert _read_back(tracks.entries) == _expected(songs[:40])
    assert tracks.warnings == ("the web player listed 500 Liked Songs but only 40 could be read; the others are kept",)


def test_a_page_without_the_list_is_an_error_not_an_empty_list(binaries, web, tmp_path):
    profile = tmp_path / "browser-profile"
    log_in(binaries, profile, web)
    source = SpotifyBrowserSource(web_url=web.base_url + "/nowhere", profile=profile, headless=True,
                                  page_timeout_s=10)
    with pytest.raises(ServiceError, match="did not appear"):
        source.fetch(LIKES)


def test_a_broken_read_of_likes_prunes_nothing_and_the_source_is_remembered(binaries, web, songs, tmp_path):
    """Through the library: 500 songs read in the browser, then an empty and a truncated read are refused."""
    data = tmp_path / "data"
    log_in(binaries, profile_path(data), web)
    settings = Settings.load(environ={}, data_root=data, storage_root=tmp_path / "storage", providers=(),
                             workers=2, spotify_web_url=web.base_url, browser_headless=True,
                             browser_page_timeout=10)
    with Library(settings) as lib:
        report = lib.load_likes(source="spotify-browser")
        assert report.source == "spotify-browser" and report.track_count == 500
        stored = lib.playlist("likes")
        assert stored.source == "spotify-browser"
        order = [t.track_id for t in stored.tracks]
        assert order == [s.id for s in songs]

        for broken in ([], songs[:30]):  # an empty list, and one cut short
            web.requests.clear()
            web.songs = list(broken)
            with pytest.raises(ServiceError, match=f"refused to sync likes: spotify-browser read {len(broken)} of"):
                lib.sync("likes")  # the remembered source: the browser
            assert "/collection/tracks" in web.paths()
            assert [t.track_id for t in lib.playlist("likes").tracks] == order
