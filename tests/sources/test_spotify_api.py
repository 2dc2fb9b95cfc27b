"""SpotifyApiSource against the loopback Spotify stand-in, through real spotipy over HTTP."""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tunecrate.core.errors import (
    AuthError,
    ConfigurationError,
    InvalidReference,
    NotFound,
    RateLimited,
    ServiceUnavailable,
)
from tunecrate.core.types import SkippedEntry, TrackInfo
from standins.spotify import FaultySpotify
from tunecrate.demo.spotify_server import (

    fake_id,
    make_album,
    make_episode,
    make_local_track,
    make_track,
)
from tunecrate.sources.spotify_api import SpotifyApiSource
from tunecrate.sources.spotify_login import make_user_auth_manager

PLAYLIST = fake_id("playlist")
ALBUM = make_album(
    fake_id("album"), "Discovery", ["Daft Punk"], release_date="2001-03-12", total_tracks=14,
    images=[{"url": "https://img/64", "width": 64, "height": 64},
            {"url": "https://img/640", "width": 640, "height": 640},
            {"url": "https://img/300", "width": 300, "height": 300}],
)


def song(n: int, **kwargs) -> dict:
    kwargs.setdefault("isrc", f"GBDUW0000{n:03d}")
    return make_track(fake_id(f"track{n}"), f"Song {n}", ["Daft Punk"], ALBUM, track_number=n % 14 + 1, **kwargs)


@pytest.fixture
def fake():
    with FaultySpotify() as server:
        yield server
        # Development-mode apps lost batch lookups: the client must never try them.
        assert not [r for r in server.requests if "ids" in r.query or r.path in
                    ("/v1/tracks", "/v1/albums", "/v1/artists")]


def source_for(fake: FaultySpotify, **kwargs) -> SpotifyApiSource:
    kwargs.setdefault("backoff_s", 0.01)
    return SpotifyApiSource(client_id=fake.client_id, client_secret=fake.client_secret,
                         api_url=fake.api_url, accounts_url=fake.accounts_url, **kwargs)


def api_requests(fake: FaultySpotify) -> list:
    return fake.requests_to(r"^/v1/")


# -- parsing ----------------------------------------------------------------------------------


def test_playlist_parses_every_field(fake):
    first = make_track(fake_id("one-more-time"), "One More Time", ["Daft Punk", "Romanthony"], ALBUM,
                       duration_ms=320_357, isrc="gbduw0000059", explicit=True, track_number=1, disc_number=2)
    snapshot = fake.add_playlist(PLAYLIST, "Road trip", [first, song(2)], owner="alice",
                                 description="Songs for the car",
                                 images=[{"url": "https://mosaic/60", "width": 60, "height": 60},
                                         {"url": "https://mosaic/640", "width": 640, "height": 640}])

    info = source_for(fake).playlist(f"https://open.spotify.com/playlist/{PLAYLIST}?si=x")

    assert info.entries[0] == TrackInfo(
        track_id=fake_id("one-more-time"), title="One More Time", artists=("Daft Punk", "Romanthony"),
        album="Discovery", album_artists=("Daft Punk",), duration_ms=320_357, track_number=1, track_total=14,
        disc_number=2, release_date="2001-03-12", explicit=True, isrc="GBDUW0000059",
        cover_url="https://img/640",
    )
    assert info.entries[1].title == "Song 2" and info.entries[1].isrc == "GBDUW0000002"
    assert (info.kind, info.id, info.title, info.owner, info.description) == (
        "playlist", PLAYLIST, "Road trip", "alice", "Songs for the car")
    assert info.snapshot == snapshot
    assert info.cover_url == "https://mosaic/640"
    assert info.skipped == ()
    assert len(api_requests(fake)) == 1  # the embedded page held everything
    assert len(fake.requests_to(r"^/api/token$", "POST")) == 1


@pytest.mark.parametrize(
    ("count", "embedded", "expected"),
    [(120, 0, 4), (120, 50, 3), (120, 100, 2), (100, 0, 3), (50, 50, 1), (0, 100, 1)],
)
def test_playlist_paging_stays_within_request_bound(count, embedded, expected):
    with FaultySpotify(embedded_page_size=embedded) as fake:
        fake.add_playlist(PLAYLIST, "Big", [song(n) for n in range(count)])

        info = source_for(fake).playlist(PLAYLIST)

        assert [t.title for t in info.entries] == [f"Song {n}" for n in range(count)]
        calls = api_requests(fake)
        assert len(calls) == expected <= 1 + math.ceil(count / 50)
        assert all(r.query["limit"] == "50" for r in calls if r.path.endswith("/items"))


def test_unusable_entries_are_skipped_and_reported(fake):
    gone = make_track(None, "Taken down", ["Someone"], ALBUM)
    nameless = make_track(fake_id("nameless"), None, ["Someone"], ALBUM)
    entries = [song(1), None, make_local_track("Demo tape", ["Me"]), make_episode(fake_id("ep"), "Episode 12"),
               gone, nameless, song(2)]
    fake.add_playlist(PLAYLIST, "Mixed", entries)

    info = source_for(fake).playlist(PLAYLIST)

    assert [t.title for t in info.entries] == ["Song 1", "Song 2"]
    assert info.skipped == (
        SkippedEntry(1, "null"), SkippedEntry(2, "local", "Demo tape"), SkippedEntry(3, "episode", "Episode 12"),
        SkippedEntry(4, "unavailable", "Taken down"), SkippedEntry(5, "unavailable"),
    )


def test_item_and_items_keys_are_accepted():
    with FaultySpotify(item_key="item", page_key="items", embedded_page_size=50) as fake:
        fake.add_playlist(PLAYLIST, "New shape", [song(n) for n in range(70)] + [None])
        info = source_for(fake).playlist(PLAYLIST)
        assert len(info.entries) == 70 and info.skipped == (SkippedEntry(70, "null"),)
        assert len(api_requests(fake)) == 2


def test_album_fills_isrc_from_full_tracks(fake):
    tracks = [song(n) for n in range(1, 56)]
    fake.add_album(ALBUM, tracks)

    info = source_for(fake).album(f"spotify:album:{ALBUM['id']}")

    assert (info.kind, info.id, info.title, info.owner, info.cover_url, info.snapshot) == (
        "album", ALBUM["id"], "Discovery", "Daft Punk", "https://img/640", None)
    assert [t.isrc for t in info.entries] == [f"GBDUW0000{n:03d}" for n in range(1, 56)]
    assert info.entries[0].album == "Discovery" and info.entries[0].release_date == "2001-03-12"
    assert len(fake.requests_to(rf"^/v1/albums/{ALBUM['id']}$")) == 1
    assert len(fake.requests_to(rf"^/v1/albums/{ALBUM['id']}/tracks$")) == 1  # tracks 51-55
    assert len(fake.requests_to(r"^/v1/tracks/")) == 55  # one per track, for the ISRC


def test_single_track(fake):
    fake.add_track(song(7))
    info = source_for(fake).track(fake_id("track7"))
    assert (info.title, info.isrc, info.album, info.track_total) == ("Song 7", "GBDUW0000007", "Discovery", 14)
    assert len(api_requests(fake)) == 1


def test_snapshot_is_one_light_request(fake):
    first = fake.add_playlist(PLAYLIST, "P", [song(1)])
    source = source_for(fake)
    assert source.playlist_snapshot(PLAYLIST) == first
    second = fake.set_playlist_items(PLAYLIST, [song(1), song(2)])
    assert source.playlist_snapshot(PLAYLIST) == second != first
    calls = api_requests(fake)
    assert len(calls) == 2 and all(r.query["fields"] == "snapshot_id" for r in calls)


# -- errors -----------------------------------------------------------------------------------


def test_unknown_ids_are_not_found(fake):
    source = source_for(fake)
    with pytest.raises(NotFound, match=f"^Spotify has no playlist {PLAYLIST}$"):
        source.playlist(PLAYLIST)
    with pytest.raises(NotFound, match="Spotify has no track"):
        source.track(fake_id("nothing"))
    with pytest.raises(NotFound, match="Spotify has no album"):
        source.album(fake_id("nothing"))


def test_malformed_ids_are_refused_before_any_request(fake):
    with pytest.raises(InvalidReference):
        source_for(fake).playlist("../../etc")
    assert fake.requests == []


def test_missing_credentials_name_the_settings():
    source = SpotifyApiSource(client_id=None, client_secret="")  # building is offline and never fails for this
    with pytest.raises(ConfigurationError, match="SPOTIPY_CLIENT_ID and SPOTIPY_CLIENT_SECRET"):
        source.track(fake_id("track1"))
    with pytest.raises(ConfigurationError, match="TUNECRATE_SPOTIFY_API_URL"):
        SpotifyApiSource(client_id="a", client_secret="b", api_url="api.spotify.com/v1")


def test_bad_client_credentials_are_an_auth_error(fake):
    source = SpotifyApiSource(client_id=fake.client_id, client_secret="wrong", api_url=fake.api_url,
                           accounts_url=fake.accounts_url)
    with pytest.raises(AuthError, match="refused the client credentials; check SPOTIPY_CLIENT_ID/SECRET"):
        source.track(fake_id("track1"))


def test_refused_access_token_is_an_auth_error():
    with FaultySpotify(token_lifetime_s=0) as fake:  # every token is already expired
        fake.add_track(song(1))
        with pytest.raises(AuthError, match=r"401: The access token expired"):
            source_for(fake).track(fake_id("track1"))


def test_playlist_of_another_user_explains_the_403(fake):
    fake.add_playlist(PLAYLIST, "Not mine", [song(1)], owner="bob", private_to_other=True)
    with pytest.raises(AuthError, match="owns or collaborates on") as caught:
        source_for(fake).playlist(PLAYLIST)
    assert caught.value.status == 403 and "\n" not in str(caught.value)


def test_short_retry_after_is_slept_and_retried(fake):
    fake.add_playlist(PLAYLIST, "P", [song(1)])
    fake.fail_next(rf"^/v1/playlists/{PLAYLIST}$", 429, retry_after=1)
    started = time.monotonic()
    assert source_for(fake).playlist(PLAYLIST).track_count == 1
    assert time.monotonic() - started >= 0.9
    assert len(fake.requests_to(rf"^/v1/playlists/{PLAYLIST}$")) == 2


def test_long_retry_after_is_rate_limited_at_once(fake):
    fake.add_playlist(PLAYLIST, "P", [song(1)])
    fake.fail_next(rf"^/v1/playlists/{PLAYLIST}$", 429, retry_after=3600)
    started = time.monotonic()
    with pytest.raises(RateLimited) as caught:
        source_for(fake).playlist(PLAYLIST)
    assert time.monotonic() - started < 5
    assert caught.value.retry_after == 3600
    assert str(caught.value) == ("Spotify rate limit: asked to wait 3600 s, more than the 60 s bound "
                                 "(TUNECRATE_SPOTIFY_MAX_RETRY_AFTER); try again later")
    assert len(fake.requests_to(rf"^/v1/playlists/{PLAYLIST}$")) == 1


def test_server_errors_are_retried(fake):
    fake.add_playlist(PLAYLIST, "P", [song(1)])
    fake.fail_next(rf"^/v1/playlists/{PLAYLIST}$", 500, times=2)
    assert source_for(fake).playlist(PLAYLIST).track_count == 1
    assert len(fake.requests_to(rf"^/v1/playlists/{PLAYLIST}$")) == 3


def test_persistent_server_errors_are_service_unavailable(fake):
    fake.add_playlist(PLAYLIST, "P", [song(1)])
    fake.fail_next(rf"^/v1/playlists/{PLAYLIST}$", 503, times=10)
    with pytest.raises(ServiceUnavailable, match="answered 503"):
        source_for(fake).playlist(PLAYLIST)
    assert len(fake.requests_to(rf"^/v1/playlists/{PLAYLIST}$")) == 4  # 1 + 3 retries


def test_connection_refused_is_service_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    source = SpotifyApiSource(client_id="a", client_secret="b", api_url=url + "/v1/", accounts_url=url, backoff_s=0.01)
    with pytest.raises(ServiceUnavailable, match=rf"^cannot reach Spotify at 127.0.0.1:{port}: .*refused"):
        source.track(fake_id("track1"))


def test_timeout_is_service_unavailable(fake):
    fake.add_track(song(1))
    source = source_for(fake, requests_timeout_s=0.3)
    fake.fail_next(r"^/v1/tracks/", None, delay_s=1.0, times=10)
    with pytest.raises(ServiceUnavailable, match=r"no answer within 0.3 s"):
        source.track(fake_id("track1"))


# -- Liked Songs ------------------------------------------------------------------------------


def login(fake: FaultySpotify, tmp_path, token: dict | None = None):
    manager = make_user_auth_manager(fake.client_id, token_path=tmp_path / "auth" / "spotify-token.json",
                                     accounts_url=fake.accounts_url, open_browser=False)
    if token is not None:
        (tmp_path / "auth" / "spotify-token.json").write_text(json.dumps(token))
    return manager


def test_saved_tracks_with_a_seeded_login(fake, tmp_path):
    fake.set_saved_tracks([song(n) for n in range(110)] + [None])
    source = source_for(fake, user_auth_manager=login(fake, tmp_path, fake.issue_user_token()))

    likes = source.saved_tracks()

    assert (likes.kind, likes.id, likes.title) == ("likes", "likes", "Liked Songs")
    assert likes.snapshot == source.saved_tracks_snapshot()
    assert likes.track_count == 110 and likes.skipped == (SkippedEntry(110, "null"),)
    assert len(fake.requests_to(r"^/v1/me/tracks$")) == 3 + 1  # the pages, then the snapshot above
    assert len(fake.requests_to(r"^/api/token$")) == 0  # the user token needs no client token


def test_expired_login_is_refreshed(fake, tmp_path):
    fake.set_saved_tracks([song(1)])
    token = dict(fake.issue_user_token(), expires_at=int(time.time()) - 10)
    source = source_for(fake, user_auth_manager=login(fake, tmp_path, token))
    assert source.saved_tracks().track_count == 1
    (refresh,) = fake.requests_to(r"^/api/token$")
    cached = json.loads((tmp_path / "auth" / "spotify-token.json").read_text())
    assert cached["refresh_token"] == token["refresh_token"] and cached["access_token"] != token["access_token"]
    assert refresh.method == "POST"


def test_pkce_login_flow_then_saved_tracks(fake, tmp_path):
    fake.set_saved_tracks([song(1), song(2)])
    manager = login(fake, tmp_path)
    authorize = requests.get(manager.get_authorize_url(), allow_redirects=False, timeout=5)
    assert authorize.status_code == 302
    redirect = urlsplit(authorize.headers["Location"])
    assert f"{redirect.scheme}://{redirect.netloc}{redirect.path}" == "http://127.0.0.1:8888/callback"
    manager.get_access_token(parse_qs(redirect.query)["code"][0])

    assert source_for(fake, user_auth_manager=manager).saved_tracks().track_count == 2


def test_saved_tracks_without_login_says_to_log_in(fake, tmp_path):
    with pytest.raises(AuthError, match="run `tunecrate login`"):
        source_for(fake).saved_tracks()
    with pytest.raises(AuthError, match="run `tunecrate login`"):
        source_for(fake, user_auth_manager=login(fake, tmp_path)).saved_tracks()
    assert fake.requests == []


def test_revoked_login_says_to_log_in(fake, tmp_path):
    token = dict(fake.issue_user_token(), expires_at=0, refresh_token="revoked")
    with pytest.raises(AuthError, match="refused the login .*run `tunecrate login`"):
        source_for(fake, user_auth_manager=login(fake, tmp_path, token)).saved_tracks()


def test_login_lacking_a_scope_asks_in_one_line_to_log_in_again(fake, tmp_path):
    fake.add_playlist(PLAYLIST, "Mine", [song(1)])
    token = fake.issue_user_token(scope="user-library-read")  # a login made before the playlist scopes
    source = source_for(fake, user_auth_manager=login(fake, tmp_path, token))
    for read, fallback in ((source.saved_tracks, False), (lambda: source.playlist(PLAYLIST), True)):
        with pytest.raises(AuthError) as caught:
            read()
        assert str(caught.value) == ("the Spotify login does not grant playlist-read-private, "
                                     "playlist-read-collaborative, which tunecrate now asks for: "
                                     "run `tunecrate login` again")
        assert getattr(caught.value, "fallback", False) is fallback  # a public playlist can still be read
    assert not api_requests(fake)


def test_playlists_are_read_with_the_users_login_when_there_is_one(fake, tmp_path):
    fake.add_playlist(PLAYLIST, "Mine", [song(n) for n in range(60)])
    token = fake.issue_user_token()
    source = source_for(fake, user_auth_manager=login(fake, tmp_path, token))
    assert source.playlist(PLAYLIST).track_count == 60
    assert source.playlist_snapshot(PLAYLIST)
    reads = fake.requests_to(r"^/v1/playlists/")
    assert len(reads) == 2 and {r.headers["authorization"] for r in reads} == {f"Bearer {token['access_token']}"}
    assert not fake.requests_to(r"^/api/token$")  # no app token was needed


def test_localhost_redirect_uri_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="http://127.0.0.1:8888/callback"):
        make_user_auth_manager("id", token_path=tmp_path / "t.json", redirect_uri="http://localhost:8888/callback")


# -- start-up cost ------------------------------------------------------------------------------


def test_modules_import_without_spotipy_or_requests():
    code = ("import sys, tunecrate.sources.spotify_api, tunecrate.demo.spotify_server; "
            "print(sorted(m for m in ('spotipy', 'requests', 'urllib3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
