"""Every outgoing client goes through TUNECRATE_PROXY and trusts TUNECRATE_CA_BUNDLE; this machine goes direct.

The stand-in proxy terminates TLS for the real host names with its own CA and
forwards to the loopback stand-ins, so each client below talks to its
default ``https://`` URL, and the proxy's log shows what it sent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tunecrate.core.errors import ConfigurationError, DownloadError, ServiceUnavailable
from tunecrate.core.net import bypasses_proxy, httpx_client, requests_session, ssl_context
from tunecrate.core.settings import Settings
from tunecrate.core.types import TrackInfo
from tunecrate.demo.spotify_server import fake_id, make_album, make_track
from tunecrate.library.library import Library
from tunecrate.media.covers import CoverFetcher
from tunecrate.media.fetch import Fetcher
from tunecrate.media.ytdlp import YtDlpFactory, YtDlpSettings
from tunecrate.providers.youtube import YouTubeProvider
from tunecrate.providers.ytmusic import YTMusicProvider


def _song(world, name="net-song", seconds=6):
    audio = world.tone(name, seconds, 700)
    return world.publish("NetSong0001", "Proxied Song", ("The Loopbacks",), seconds, audio,
                         album="Songs From 127.0.0.1", isrc="QZDA26099999")


# -- what goes direct ----------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/media/a.webm", "http://localhost/x", "http://[::1]:9/x",
                                 "http://127.1.2.3/x"])
def test_this_machine_always_goes_direct(url):
    assert bypasses_proxy(url, environ={})


def test_no_proxy_hosts_go_direct_and_others_do_not():
    env = {"NO_PROXY": "nas.home,.corp.example"}
    assert bypasses_proxy("http://nas.home/music/a.flac", environ=env)
    assert bypasses_proxy("https://cdn.corp.example/x", environ=env)
    assert not bypasses_proxy("https://music.youtube.com/", environ=env)
    assert not bypasses_proxy("https://music.youtube.com/", environ={})


def test_a_bad_ca_bundle_is_one_line_naming_the_setting(tmp_path):
    with pytest.raises(ConfigurationError, match=r"TUNECRATE_CA_BUNDLE: no file at .*missing\.pem"):
        ssl_context(tmp_path / "missing.pem")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(ConfigurationError, match="TUNECRATE_CA_BUNDLE: .*junk.pem is not a PEM file"):
        ssl_context(junk)
    with pytest.raises(ConfigurationError, match="TUNECRATE_CA_BUNDLE"):
        Library(Settings.load(environ={}, storage_root=tmp_path / "s", data_root=tmp_path / "d", ca_bundle=junk))


def test_the_bundle_is_trusted_besides_the_usual_authorities(world):
    context = ssl_context(world.ca_bundle)
    subjects = {dict(item[0] for item in cert["subject"]).get("organizationName")
                for cert in context.get_ca_certs()}
    assert "tunecrate stand-ins" in subjects
    assert len(subjects) > 10  # certifi's and the system's are still there


# -- one test per client ---------------------------------------------------------------------


def test_spotipy_goes_through_the_proxy_to_the_default_api_url(world, roots):
    world.proxy.add_site(("api.spotify.com", "accounts.spotify.com"), world.spotify.base_url)
    album = make_album(fake_id("net:album"), "Net Album", ["The Loopbacks"], images=[])
    track = make_track(fake_id("net:track"), "Net Track", ["The Loopbacks"], album, isrc="QZDA26088888")
    world.spotify.add_album(album, [track])
    settings = Settings.load(environ={}, **roots, spotify_client_id=world.spotify.client_id,
                             spotify_client_secret=world.spotify.client_secret, proxy=world.proxy.url,
                             ca_bundle=world.ca_bundle, providers=())
    with Library(settings) as lib:
        report = lib.load_track(track["id"])
    assert report.title == "The Loopbacks - Net Track" and report.counts["unresolved"] == 1  # the metadata came; no pin to fetch
    assert [r.method for r in world.proxy.seen("accounts.spotify.com", "https")] == ["POST"]
    assert [(r.method, r.path) for r in world.proxy.seen("api.spotify.com", "https")] == [
        ("GET", f"/v1/tracks/{track['id']}")]
    assert world.proxy.seen("api.spotify.com", "connect")


def test_the_web_source_goes_through_the_proxy_to_spotifys_default_hosts(world, roots):
    world.proxy.add_site(("open.spotify.com", "api-partner.spotify.com"), world.web.base_url)
    album = make_album(fake_id("net:web-album"), "Web Album", ["The Loopbacks"], images=[])
    songs = [make_track(fake_id(f"net:web:{n}"), f"Web Track {n}", ["The Loopbacks"], album) for n in range(3)]
    world.spotify.add_album(album, songs)
    world.spotify.add_playlist(fake_id("net:web-list"), "Proxied Mix", songs, owner="someone-else", images=[])
    settings = Settings.load(environ={}, **roots, proxy=world.proxy.url, ca_bundle=world.ca_bundle, providers=())
    with Library(settings) as lib:  # no app credentials, no Spotify URL set: the defaults, through the proxy
        report = lib.load_playlist(fake_id("net:web-list"))
    assert report.source == "spotify-web" and report.track_count == 3 and not report.warnings
    assert [(r.method, r.path) for r in world.proxy.seen("open.spotify.com", "https")] == [
        ("GET", f"/embed/playlist/{fake_id('net:web-list')}")]
    assert [(r.method, r.path.split("?")[0]) for r in world.proxy.seen("api-partner.spotify.com", "https")] == [
        ("GET", "/pathfinder/v1/query")]
    assert not world.spotify.requests


def test_ytmusicapi_searches_through_the_proxy_with_real_parsers(world):
    url = _song(world)
    provider = YTMusicProvider(proxy=world.proxy.url, ca_bundle=world.ca_bundle)
    track = TrackInfo(track_id="t", title="Proxied Song", artists=("The Loopbacks",), album="Songs From 127.0.0.1",
                      duration_ms=6000, isrc="QZDA26099999")
    candidates = provider.search(track)
    assert candidates[0].url == url and candidates[0].isrc == "QZDA26099999"
    assert candidates[0].album == "Songs From 127.0.0.1" and candidates[0].duration_ms == 6000
    assert [(r.method, r.path.split("?")[0]) for r in world.proxy.seen("music.youtube.com", "https")] == [
        ("GET", "/"), ("POST", "/youtubei/v1/search"), ("POST", "/youtubei/v1/search")]
    first, second = world.ytmusic.searches()
    assert first["query"] == "QZDA26099999" and second["query"] == "The Loopbacks Proxied Song"
    visitor = {h.get("X-Goog-Visitor-Id") for m, p, h, _ in world.ytmusic.requests if m == "POST"}
    assert visitor == {world.ytmusic.visitor_data}  # read from the home page's ytcfg


def test_ytmusicapi_without_the_ca_bundle_fails_in_one_line(world):
    _song(world)
    track = TrackInfo(track_id="t", title="Proxied Song", artists=("The Loopbacks",))
    with pytest.raises(ServiceUnavailable, match="CERTIFICATE_VERIFY_FAILED.*set TUNECRATE_CA_BUNDLE to its CA"):
        YTMusicProvider(proxy=world.proxy.url).search(track)


def test_yt_dlp_downloads_youtube_through_the_proxy_solving_the_challenges(world, tmp_path):
    url = _song(world)
    factory = YtDlpFactory(YtDlpSettings(), proxy=world.proxy.url, ca_bundle=world.ca_bundle)
    fetcher = Fetcher(tmp_path / "dl", ytdlp=factory)
    try:
        path, owned = fetcher.fetch(url)
    finally:
        fetcher.close()
    assert owned and path.stat().st_size == world.tone("net-song", 6, 700).stat().st_size
    assert world.proxy.seen("www.youtube.com", "connect")
    assert any(r.path.startswith("/s/player/") for r in world.proxy.seen("www.youtube.com", "https"))
    [media] = world.youtube.media_requests()
    assert "sig=" in media  # the TV client's signature, solved by the JS runtime, as was n


def test_yt_dlp_without_the_ca_bundle_fails_in_one_line(world, tmp_path):
    url = _song(world)
    fetcher = Fetcher(tmp_path / "dl", ytdlp=YtDlpFactory(YtDlpSettings(), proxy=world.proxy.url))
    with pytest.raises(DownloadError, match="CERTIFICATE_VERIFY_FAILED.*set TUNECRATE_CA_BUNDLE") as caught:
        fetcher.fetch(url)
    assert not caught.value.transient
    assert not world.youtube.media_requests()


def test_yt_dlp_search_goes_through_the_proxy(world):
    factory = YtDlpFactory(YtDlpSettings(), proxy=world.proxy.url, ca_bundle=world.ca_bundle)
    provider = YouTubeProvider(timeout=5, ytdlp=factory)
    track = TrackInfo(track_id="t", title="Proxied Song", artists=("The Loopbacks",))
    _song(world)
    candidates = provider.search(track)
    first = candidates[0]
    assert (first.url, first.title, first.artist, first.duration_ms, first.verified) == (
        "https://www.youtube.com/watch?v=NetSong0001", "Proxied Song", "The Loopbacks - Topic", 6000, True)
    assert [(r.method, r.path.split("?")[0]) for r in world.proxy.seen("www.youtube.com", "https")] == [
        ("GET", "/"), ("POST", "/youtubei/v1/search")]


def test_spotipy_without_the_ca_bundle_fails_in_one_line(world, roots, cli):
    world.proxy.add_site(("api.spotify.com", "accounts.spotify.com"), world.spotify.base_url)
    result = cli("track", fake_id("net:none"), TUNECRATE_SPOTIFY_API_URL="https://api.spotify.com/v1/",
                 TUNECRATE_SPOTIFY_ACCOUNTS_URL="https://accounts.spotify.com", TUNECRATE_CA_BUNDLE="")
    assert result.exit_code == 1
    assert result.stderr.strip() == ("error: cannot reach Spotify at accounts.spotify.com: its TLS certificate is not "
                                     "trusted (if your network inspects HTTPS, set TUNECRATE_CA_BUNDLE to its CA "
                                     "certificate)")


def test_httpx_covers_go_through_the_proxy(world):
    world.proxy.add_site("i.scdn.co", world.media.base_url)
    name = world.cover("net-cover", "0x336699").rsplit("/", 1)[1]
    covers = CoverFetcher(proxy=world.proxy.url, ca_bundle=world.ca_bundle)
    try:
        cover = covers.get(f"https://i.scdn.co/media/{name}")
    finally:
        covers.close()
    assert cover.mime == "image/jpeg"
    assert [(r.method, r.path) for r in world.proxy.seen("i.scdn.co", "https")] == [("GET", f"/media/{name}")]


def test_requests_and_httpx_send_this_machine_direct(world):
    url = world.audio("direct", 1, 300)
    session = requests_session(world.proxy.url, world.ca_bundle, timeout_s=5)
    assert session.get(url).status_code == 200
    with httpx_client(world.proxy.url, world.ca_bundle, timeout=5) as client:
        assert client.get(url).status_code == 200
    assert world.proxy.log == []


def test_a_pinned_loopback_link_is_downloaded_direct_while_youtube_is_proxied(world, demo, settings):
    with Library(settings.with_overrides(providers=("ytmusic",))) as lib:
        for track_id in demo.pinned:
            lib.match_set(track_id, demo.sources[track_id])
        report = lib.load_album(demo.album_id)
    assert report.counts["downloaded"] == 6
    assert world.proxy.seen("music.youtube.com") and world.proxy.seen("www.youtube.com")
    assert not [e for e in world.proxy.log if e.host in ("127.0.0.1", "localhost")]
    pinned_names = {demo.sources[t].rsplit("/", 1)[1] for t in demo.pinned}
    assert {Path(path).name for _, path, _ in world.media.requests} >= pinned_names


def test_an_unrouted_host_is_refused_by_the_proxy(world):
    session = requests_session(world.proxy.url, world.ca_bundle, timeout_s=5)
    with pytest.raises(Exception, match="403|Tunnel connection failed"):
        session.get("https://example.com/")
    assert world.proxy.seen("example.com", "connect")
    assert not world.proxy.seen("example.com", "https")
