"""SpotifyWebSource against the loopback stand-in of Spotify's embed pages and partner API, over HTTP."""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys

import pytest

from standins.spotify import FaultySpotify
from standins.spotify_web import FaultySpotifyWeb
from tunecrate.core.errors import ConfigurationError, InvalidReference, NotFound, ServiceError, ServiceUnavailable
from tunecrate.core.ids import Reference, parse_reference
from tunecrate.core.settings import Settings
from tunecrate.core.types import SkippedEntry
from tunecrate.demo.spotify_server import fake_id, make_album, make_episode, make_local_track, make_track
from tunecrate.sources import SourceRegistry
from tunecrate.sources.spotify_api import SpotifyApiSource
from tunecrate.sources.spotify_web import (
    DEFAULT_PARTNER_HASH, SpotifyWebSettings, SpotifyWebSource, digest_snapshot, split_artists,
)

PLAYLIST = fake_id("web:playlist")
COVERS = [{"url": "https://img/64", "width": 64, "height": 64}, {"url": "https://img/640", "width": 640, "height": 640}]


def album(n: int) -> dict:
    return make_album(fake_id(f"web:album:{n}"), f"Album {n}", [f"Band {n}"], release_date="2019-05-03",
                      total_tracks=3, images=[dict(c, url=f"{c['url']}/{n}") for c in COVERS])


def song(n: int, **kwargs) -> dict:
    artists = kwargs.pop("artists", [f"Band {n // 3}", "Guest, With Comma"] if n % 5 == 0 else [f"Band {n // 3}"])
    return make_track(fake_id(f"web:track:{n}"), f"Song {n}", artists, album(n // 3), track_number=n % 3 + 1,
                      duration_ms=180_000 + n, explicit=n % 7 == 0, isrc=f"QZWB2600{n:04d}", **kwargs)


@pytest.fixture
def spotify():
    with FaultySpotify() as server:
        yield server


@pytest.fixture
def web(spotify):
    with FaultySpotifyWeb(spotify) as server:
        yield server


def source_for(web: FaultySpotifyWeb, **kwargs) -> SpotifyWebSource:
    kwargs.setdefault("backoff_s", 0.01)
    return SpotifyWebSource(web_url=web.web_url, partner_url=web.partner_url, **kwargs)


def public(spotify: FaultySpotify, entries: list, playlist_id: str = PLAYLIST) -> str:
    spotify.add_playlist(playlist_id, "Public Mix", entries, owner="someone-else", description="Best of",
                         images=COVERS, private_to_other=True)
    return playlist_id


def ref(kind: str, item_id: str) -> Reference:
    return parse_reference(f"spotify:{kind}:{item_id}")


# -- playlists --------------------------------------------------------------------------------


def test_playlist_of_150_entries_costs_the_embed_and_two_partner_pages(spotify, web):
    songs = [song(n) for n in range(150)]
    public(spotify, songs)
    source = source_for(web)

    tracks = source.playlist(f"https://open.spotify.com/playlist/{PLAYLIST}?si=x")

    assert (tracks.kind, tracks.id, tracks.title, tracks.owner, tracks.description) == (
        "playlist", PLAYLIST, "Public Mix", "someone-else", "Best of")
    assert tracks.source == "spotify-web" and tracks.complete and tracks.warnings == ()
    assert [t.track_id for t in tracks.entries] == [s["id"] for s in songs]
    assert tracks.cover_url == "https://img/640"
    first, guest = tracks.entries[1], tracks.entries[5]
    assert (first.title, first.artists, first.album, first.album_artists, first.duration_ms) == (
        "Song 1", ("Band 0",), "Album 0", ("Band 0",), 180_001)
    assert (first.track_number, first.disc_number, first.cover_url, first.isrc) == (2, 1, "https://img/640/0", None)
    assert guest.artists == ("Band 1", "Guest, With Comma")
    assert tracks.entries[7].explicit and not first.explicit
    assert all(t.missing == {"isrc", "release_date", "track_total"} for t in tracks.entries)
    assert tracks.snapshot == digest_snapshot(s["id"] for s in songs)

    embeds = web.requests_to(r"^/embed/")
    pages = web.requests_to(r"^/pathfinder/")
    assert [r.path for r in embeds] == [f"/embed/playlist/{PLAYLIST}"]
    assert len(pages) == 1 + math.ceil(150 / 100) - 1 == 2
    variables = [json.loads(r.query["variables"]) for r in pages]
    assert [(v["uri"], v["offset"], v["limit"]) for v in variables] == [
        (f"spotify:playlist:{PLAYLIST}", 0, 100), (f"spotify:playlist:{PLAYLIST}", 100, 100)]
    assert all(r.query["operationName"] == "fetchPlaylist" for r in pages)
    assert {json.loads(r.query["extensions"])["persistedQuery"]["sha256Hash"] for r in pages} == {DEFAULT_PARTNER_HASH}
    assert len({r.headers["authorization"] for r in pages}) == 1  # the embed page's token, on every page
    assert not spotify.requests  # the Web API was never asked


def test_entries_that_are_not_tracks_are_skipped_with_their_positions(spotify, web):
    entries = [song(1), None, make_local_track("Own", ["Me"]), make_episode(fake_id("ep"), "Pod"),
               make_track(None, "Gone", ["Nobody"], album(9)), song(2)]
    public(spotify, entries)
    tracks = source_for(web).playlist(PLAYLIST)
    assert [t.title for t in tracks.entries] == ["Song 1", "Song 2"]
    assert tracks.skipped == (SkippedEntry(1, "null"), SkippedEntry(2, "local", "Own"),
                              SkippedEntry(3, "episode", "Pod"), SkippedEntry(4, "unavailable", "Gone"))


def test_snapshot_is_a_digest_of_the_order_and_the_fetch_after_it_costs_nothing(spotify, web):
    songs = [song(n) for n in range(250)]
    public(spotify, songs)
    source = source_for(web)
    snapshot = source.snapshot(ref("playlist", PLAYLIST))
    assert len(web.requests) == 1 + 3
    assert source.fetch(ref("playlist", PLAYLIST)).snapshot == snapshot
    assert len(web.requests) == 4  # the list the snapshot read was used
    web.clear_requests()
    assert source.snapshot(ref("playlist", PLAYLIST)) == snapshot  # stable
    spotify.set_playlist_items(PLAYLIST, [songs[1], songs[0], *songs[2:]])
    assert source.snapshot(ref("playlist", PLAYLIST)) != snapshot  # a move changes it
    assert source.fetch(ref("playlist", PLAYLIST)).entries[0].title == "Song 1"
    assert source.fetch(ref("playlist", PLAYLIST)).entries[0].title == "Song 1"  # read again: used once only
    assert len(web.requests) == 3 * 4
    assert source.snapshot(ref("album", "x" * 22)) is None and source.snapshot(ref("track", "x" * 22)) is None


def test_wrong_hash_is_one_line_naming_the_setting(spotify, web):
    public(spotify, [song(1)])
    web.rotate_hash()
    with pytest.raises(ConfigurationError) as caught:
        source_for(web).playlist(PLAYLIST)
    message = str(caught.value)
    assert "TUNECRATE_SPOTIFY_PARTNER_HASH" in message and "\n" not in message
    assert len(web.requests_to(r"^/pathfinder/")) == 1  # not retried


def test_partner_outage_gives_the_embed_rows_with_a_warning(spotify, web):
    public(spotify, [song(n) for n in range(150)])
    web.fail_next(r"^/pathfinder/", 503, times=10)
    tracks = source_for(web, max_retries=2).playlist(PLAYLIST)

    assert not tracks.complete and tracks.snapshot is None
    assert [t.title for t in tracks.entries] == [f"Song {n}" for n in range(100)]
    first = tracks.entries[1]
    assert (first.title, first.artists, first.duration_ms, first.album, first.cover_url) == (
        "Song 1", ("Band 0",), 180_001, "", None)
    assert {"album", "album_artists", "cover_url", "track_number", "isrc"} <= first.missing
    (warning,) = tracks.warnings
    assert "503" in warning and "entries after the first 100 were left out" in warning
    assert "downloaded from this read will lack the album, album artist, track number, disc number and cover tags" \
        in warning and "files already in the library keep theirs" in warning
    assert "none will be removed" in warning
    assert len(web.requests_to(r"^/pathfinder/")) == 3  # the retries, then the embed's rows
    assert not web.requests_to(r"^/embed/track/")  # a fetch reads no track page


def test_a_later_partner_page_failing_says_how_many_entries_were_left_out(spotify, web):
    public(spotify, [song(n) for n in range(150)])
    web.fail_next(r"^/pathfinder/", 502, skip=1, body="bad gateway")
    tracks = source_for(web, max_retries=0).playlist(PLAYLIST)
    assert not tracks.complete and len(tracks.entries) == 100
    assert tracks.entries[0].album == "Album 0"  # the page that arrived has the albums
    assert "50 of its 150 entries were left out" in tracks.warnings[0]
    assert "lack the" not in tracks.warnings[0]


def test_a_page_that_stops_short_of_the_total_gives_the_partial_view(spotify, web):
    public(spotify, [song(n) for n in range(150)])
    short = {"data": {"playlistV2": {"__typename": "Playlist", "content": {"totalCount": 150, "items": []}}}}
    web.fail_next(r"^/pathfinder/", 200, skip=1, body=short)
    tracks = source_for(web).playlist(PLAYLIST)
    assert not tracks.complete and tracks.snapshot is None and len(tracks.entries) == 100
    assert "50 of its 150 entries were left out" in tracks.warnings[0] and "none will be removed" in tracks.warnings[0]


def test_an_answer_carrying_graphql_errors_gives_the_partial_view(spotify, web):
    public(spotify, [song(1)])
    web.fail_next(r"^/pathfinder/", 200, body={"errors": [{"message": "Internal"}]})
    tracks = source_for(web).playlist(PLAYLIST)
    assert not tracks.complete and "answered with an error (Internal)" in tracks.warnings[0]


def test_refused_token_and_missing_playlist_also_give_the_partial_view(spotify, web):
    public(spotify, [song(1), song(2)])
    web.fail_next(r"^/pathfinder/", 401, body={"error": {"status": 401, "message": "Invalid access token"}})
    tracks = source_for(web).playlist(PLAYLIST)
    assert not tracks.complete and "refused the embed page's anonymous token (401)" in tracks.warnings[0]
    assert "the embed page listed 2 entries" in tracks.warnings[0]


def test_rows_lacking_what_the_matcher_needs_cost_no_request_until_completed(spotify, web):
    bare = make_track(fake_id("web:bare"), "Bare", ["Band"], album(1), duration_ms=0)  # no duration anywhere
    songs = [song(1), song(2), song(3), bare]
    public(spotify, songs)
    web.bare_rows(songs[1]["id"])  # the row lacks its duration, the track's page has it
    web.bare_rows(songs[2]["id"], fields=("duration", "subtitle"))  # and its artists
    web.fail_next(r"^/pathfinder/", 500, times=10)
    source = source_for(web, max_retries=0)
    tracks = source.playlist(PLAYLIST)

    assert not web.requests_to(r"^/embed/track/")  # the pipeline asks complete() for the tracks it searches
    full, short, shorter, none = tracks.entries
    assert full.duration_ms == 180_001 and full.knows("duration_ms") and full.knows("artists")
    assert short.duration_ms == 0 and "duration_ms" in short.missing and short.knows("artists")
    assert shorter.artists == () and {"artists", "duration_ms"} <= shorter.missing
    assert {"album", "cover_url", "release_date"} <= short.missing

    filled = source.complete(short)
    assert (filled.duration_ms, filled.artists, filled.cover_url, filled.release_date) == (
        180_002, ("Band 0",), "https://img/640/0", "2019-05-03")
    assert not {"duration_ms", "cover_url", "release_date"} & filled.missing and "album" in filled.missing
    assert source.complete(shorter).artists == ("Band 1",) and source.complete(full) is full
    assert "duration_ms" in source.complete(none).missing  # the page had none either: recorded as missing
    assert [r.path for r in web.requests_to(r"^/embed/track/")] == [
        f"/embed/track/{t['id']}" for t in (songs[1], songs[2], bare)]


# -- albums and tracks ---------------------------------------------------------------------------


def test_album_from_its_embed_page(spotify, web):
    songs = [song(n) for n in range(3)]
    spotify.add_album(album(0), songs)
    tracks = source_for(web).album(f"https://open.spotify.com/album/{album(0)['id']}")
    assert (tracks.kind, tracks.title, tracks.owner, tracks.cover_url) == ("album", "Album 0", "Band 0", "https://img/640/0")
    assert [(t.title, t.album, t.album_artists, t.track_number, t.track_total, t.release_date) for t in tracks.entries] == [
        (f"Song {n}", "Album 0", ("Band 0",), n + 1, 3, "2019-05-03") for n in range(3)]
    assert tracks.entries[0].missing == {"isrc", "disc_number"}
    assert len(web.requests) == 1


def test_album_rows_lacking_a_duration_cost_no_request(spotify, web):
    songs = [song(n) for n in range(3)]
    spotify.add_album(album(0), songs)
    web.bare_rows(songs[1]["id"])
    tracks = source_for(web).album(album(0)["id"])
    assert [r.path for r in web.requests] == [f"/embed/album/{album(0)['id']}"]
    assert tracks.entries[1].missing == {"isrc", "disc_number", "duration_ms"}
    assert tracks.entries[1].album == "Album 0"


def test_track_reads_its_album_from_the_album_page(spotify, web):
    songs = [song(n) for n in range(3)]
    spotify.add_album(album(0), songs)
    tracks = source_for(web).fetch(ref("track", songs[2]["id"]))
    (track,) = tracks.entries
    assert (track.title, track.artists, track.album, track.album_artists, track.duration_ms) == (
        "Song 2", ("Band 0",), "Album 0", ("Band 0",), 180_002)
    assert (track.track_number, track.track_total, track.cover_url, track.release_date) == (3, 3, "https://img/640/0",
                                                                                           "2019-05-03")
    assert track.missing == {"isrc", "disc_number"} and tracks.warnings == ()
    assert [r.path for r in web.requests] == [f"/embed/track/{songs[2]['id']}", f"/embed/album/{album(0)['id']}"]
    assert source_for(web).track(songs[2]["id"]).missing >= {"album", "isrc"}  # one page: for filling only


def test_entities_that_are_not_public_are_not_found(spotify, web):
    public(spotify, [song(1)])
    source = source_for(web)
    with pytest.raises(NotFound, match=r"no public playlist .*--source api"):
        source.playlist(fake_id("nobody's"))
    web.make_unavailable("playlist", PLAYLIST, forbidden_reason="NOT_AVAILABLE_IN_REGION")
    with pytest.raises(NotFound, match=r"its embed page says NOT_AVAILABLE_IN_REGION"):
        source.playlist(PLAYLIST)
    web.make_unavailable("track", song(1)["id"], status=404)
    with pytest.raises(NotFound, match=r"embed page says 404"):
        source.fetch(ref("track", song(1)["id"]))
    with pytest.raises(InvalidReference):
        source.playlist("not-an-id")
    assert all(r.path.startswith("/embed/") for r in web.requests)


def test_page_without_next_data_is_a_service_error(spotify, web):
    public(spotify, [song(1)])
    web.fail_next(r"^/embed/", 200, body="<html><body>Please update your browser</body></html>")
    with pytest.raises(ServiceError, match=r"carries no __NEXT_DATA__"):
        source_for(web).playlist(PLAYLIST)


def test_embed_5xx_is_retried_then_service_unavailable(spotify, web):
    public(spotify, [song(1)])
    web.fail_next(r"^/embed/", 503)
    assert source_for(web).playlist(PLAYLIST).complete
    web.fail_next(r"^/embed/", 503, times=10)
    with pytest.raises(ServiceUnavailable, match=r"answered 503 .* after 1 retries"):
        source_for(web, max_retries=1).playlist(PLAYLIST)


def test_unreachable_host_is_service_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(ServiceUnavailable, match=r"cannot reach Spotify at 127\.0\.0\.1"):
        SpotifyWebSource(web_url=url, partner_url=url, max_retries=0).playlist(PLAYLIST)


# -- settings and choosing the source ------------------------------------------------------------


def test_settings_are_validated_and_name_the_variable(tmp_path):
    settings = Settings.load(environ={"TUNECRATE_SPOTIFY_PARTNER_HASH": "abc"}, data_root=tmp_path)
    with pytest.raises(ConfigurationError, match=r"spotify_partner_hash \(TUNECRATE_SPOTIFY_PARTNER_HASH\)"):
        settings.section(SpotifyWebSettings)
    settings = Settings.load(environ={"TUNECRATE_SPOTIFY_SOURCE": "browser"}, data_root=tmp_path)
    with pytest.raises(ConfigurationError, match=r"TUNECRATE_SPOTIFY_SOURCE.*auto, api, web"):
        SpotifyWebSource.from_settings(settings)
    with pytest.raises(ConfigurationError, match="TUNECRATE_SPOTIFY_WEB_URL"):
        SpotifyWebSource(web_url="open.spotify.com")


@pytest.mark.parametrize(("choice", "credentials", "expected"), [
    ("auto", True, ["spotify-api", "spotify-web"]),
    ("auto", False, ["spotify-web"]),
    ("api", False, ["spotify-api"]),
    ("web", True, ["spotify-web"]),
])
def test_the_choice_is_made_by_the_sources_suitability(tmp_path, choice, credentials, expected):
    env = {"TUNECRATE_SPOTIFY_SOURCE": choice}
    if credentials:
        env.update(SPOTIPY_CLIENT_ID="id", SPOTIPY_CLIENT_SECRET="secret")
    registry = SourceRegistry(Settings.load(environ=env, data_root=tmp_path))
    for kind in ("track", "album", "playlist"):
        assert [s.name for s in registry.for_reference(ref(kind, PLAYLIST))] == expected
    assert [s.name for s in registry.for_reference(parse_reference("likes"))] == ["spotify-api"]
    assert [s.name for s in registry.for_reference(ref("playlist", PLAYLIST), "spotify-web")][0] == expected[-1]


def test_api_source_refuses_spotify_owned_playlists_so_the_next_source_reads_them(spotify):
    owned = "37i9dQZF1DXcBWIGoYBM5M"
    source = SpotifyApiSource(client_id=spotify.client_id, client_secret=spotify.client_secret,
                              api_url=spotify.api_url, accounts_url=spotify.accounts_url)
    with pytest.raises(NotFound):
        source.playlist(fake_id("unknown"))
    for read in (source.playlist, source.playlist_snapshot):
        with pytest.raises(ServiceError) as caught:
            read(owned)
        assert caught.value.fallback and "Spotify-owned playlists such as 37i9dQZF1DXcBWIGoYBM5M" in str(caught.value)


def test_helpers():
    assert split_artists("A,\u00a0B, C,\u00a0D") == ("A", "B, C", "D")
    assert split_artists(None) == ()
    assert digest_snapshot(["a", "b"]) != digest_snapshot(["b", "a"])


def test_module_imports_without_httpx():
    code = ("import sys, tunecrate.sources.spotify_web; "
            "print(sorted(m for m in ('httpx', 'spotipy', 'requests') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
