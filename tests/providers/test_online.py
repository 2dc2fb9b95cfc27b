"""Online providers: query building, result parsing, request rule, error mapping.

The result dicts copy the shapes that ytmusicapi 1.12 ``YTMusic.search`` and
yt-dlp's flat ``ytsearchN:`` return (keys as produced by
``ytmusicapi/parsers/search.py`` and ``yt_dlp/extractor/youtube/_tab.py``).
"""

from __future__ import annotations

import io
import socket
import time

import pytest

from tunecrate.core.errors import (
    RateLimited,
    ServiceError,
    ServiceUnavailable,
)
from tunecrate.core.types import Candidate, TrackInfo
from tunecrate.providers.base import search_query
from tunecrate.providers.youtube import YouTubeProvider, parse_ytsearch_entries, youtube_error
from tunecrate.providers.ytmusic import (
    YTMusicProvider,
    parse_ytmusic_results,
    pick_isrc_match,
    ytmusic_error,
)

WONDERWALL = TrackInfo(
    track_id="7ygpwy2qP3NbrxVkHvUhXY",
    title="Wonderwall - Remastered",
    artists=("Oasis",),
    album="(What's The Story) Morning Glory? (Remastered)",
    duration_ms=258_773,
    isrc="GBQCP1400094",
)


def song(video_id="ZrOKjDZOtkA", title="Wonderwall", **changes):
    """A ``filter="songs"`` result as ytmusicapi 1.12 builds it."""
    result = {
        "category": "Songs",
        "resultType": "song",
        "title": title,
        "album": {"name": "(What's The Story) Morning Glory? (Remastered)", "id": "MPREb_9nqEki4ZDpp"},
        "inLibrary": False,
        "feedbackTokens": {"add": None, "remove": None},
        "pinnedToListenAgain": False,
        "listenAgainFeedbackTokens": {"pin": None, "unpin": None},
        "videoId": video_id,
        "videoType": "MUSIC_VIDEO_TYPE_ATV",
        "isAvailable": True,
        "duration": "4:19",
        "year": None,
        "artists": [{"name": "Oasis", "id": "UCmMUZbaYdNH0bEd1PAlAqsA"}],
        "duration_seconds": 259,
        "isExplicit": False,
        "thumbnails": [{"url": "https://lh3.googleusercontent.com/x=w60-h60", "width": 60, "height": 60}],
    }
    result.update(changes)
    return result


def video(video_id="bx1Bh8ZvH84", video_type="MUSIC_VIDEO_TYPE_OMV", **changes):
    """A ``filter="videos"`` result as ytmusicapi 1.12 builds it."""
    result = {
        "category": "Videos",
        "resultType": "video",
        "title": "Oasis - Wonderwall (Official Video)",
        "videoId": video_id,
        "videoType": video_type,
        "isAvailable": True,
        "duration": "4:38",
        "year": None,
        "artists": [{"name": "Oasis", "id": "UCmMUZbaYdNH0bEd1PAlAqsA"}],
        "views": "1.4B",
        "duration_seconds": 278,
        "thumbnails": [],
    }
    result.update(changes)
    return result


def flat_entry(video_id="6hzrDeceEKc", **changes):
    """One entry of yt-dlp's flat ``ytsearchN:`` result."""
    entry = {
        "_type": "url",
        "ie_key": "Youtube",
        "id": video_id,
        "url": f"https://www.youtube.com/watch?v={video_id}",
        "title": "Wonderwall (Remastered)",
        "description": None,
        "duration": 259,
        "channel_id": "UCx_OasisTopic00000000",
        "channel": "Oasis - Topic",
        "channel_url": "https://www.youtube.com/channel/UCx_OasisTopic00000000",
        "uploader": "Oasis - Topic",
        "uploader_id": None,
        "uploader_url": None,
        "thumbnails": [{"url": f"https://i.ytimg.com/vi/{video_id}/hq720.jpg", "height": 202, "width": 360}],
        "timestamp": None,
        "release_timestamp": None,
        "availability": None,
        "view_count": 12_345_678,
        "live_status": None,
        "channel_is_verified": None,
    }
    entry.update(changes)
    return entry


# --- search_query -------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "artists", "separator", "expected"),
    [
        ("Wonderwall - Remastered", ("Oasis",), " ", "Oasis Wonderwall - Remastered"),
        ("Get Lucky (feat. Pharrell Williams & Nile Rodgers)", ("Daft Punk", "Pharrell Williams", "Nile Rodgers"), " - ",
         "Daft Punk, Pharrell Williams - Get Lucky"),
        ("Stay [ft. Justin Bieber]", ("The Kid LAROI",), " ", "The Kid LAROI Stay"),
        ("Clarity feat. Foxes", ("Zedd",), " ", "Zedd Clarity"),
        ("Middle (with Bipolar Sunshine)", ("DJ Snake",), " ", "DJ Snake Middle"),
        ("Dancing (With Myself)", ("Billy Idol",), " ", "Billy Idol Dancing (With Myself)"),
        ("Song 2 - Live", (), " ", "Song 2 - Live"),
    ],
)
def test_search_query_keeps_primary_artists_and_drops_featuring(title, artists, separator, expected):
    track = TrackInfo(track_id="x" * 22, title=title, artists=artists)
    assert search_query(track, separator) == expected


# --- YouTube Music parsing ----------------------------------------------------


def test_parse_song_result_maps_every_field():
    assert parse_ytmusic_results([song()]) == [
        Candidate(
            url="https://music.youtube.com/watch?v=ZrOKjDZOtkA",
            title="Wonderwall",
            artist="Oasis",
            duration_ms=259_000,
            provider="ytmusic",
            isrc=None,
            verified=True,
            album="(What's The Story) Morning Glory? (Remastered)",
        )
    ]


def test_parse_videos_verifies_only_official_music_videos():
    omv, ugc = parse_ytmusic_results(
        [video("bx1Bh8ZvH84"), video("abcdefghijk", "MUSIC_VIDEO_TYPE_UGC", artists=[{"name": "fan", "id": None}])]
    )
    assert (omv.verified, omv.album, omv.duration_ms) == (True, None, 278_000)
    assert (ugc.verified, ugc.artist, ugc.url) == (False, "fan", "https://music.youtube.com/watch?v=abcdefghijk")


def test_parse_joins_artists_and_reads_clock_durations():
    results = [
        song("aaaaaaaaaaa", artists=[{"name": "Daft Punk", "id": "UC1"}, {"name": "Pharrell Williams", "id": None}],
             duration="3:45", duration_seconds=None),
        song("bbbbbbbbbbb", duration="1:02:03", duration_seconds=None),
        song("ccccccccccc", duration=None, duration_seconds=None, album=None),
    ]
    first, second, third = parse_ytmusic_results(results)
    assert (first.artist, first.duration_ms) == ("Daft Punk, Pharrell Williams", 225_000)
    assert second.duration_ms == 3_723_000
    assert (third.duration_ms, third.album) == (None, None)


def test_parse_skips_unplayable_and_other_result_types_and_deduplicates():
    results = [
        song(videoId=None),
        song("greyedout00", isAvailable=False),
        {"category": "Albums", "resultType": "album", "title": "Morning Glory", "browseId": "MPREb_x",
         "playlistId": "OLAK5uy_x", "type": "Album", "artist": "Oasis", "year": "1995", "isExplicit": False},
        {"category": "Artists", "resultType": "artist", "artist": "Oasis", "browseId": "UCmMUZbaYdNH0bEd1PAlAqsA"},
        song("ZrOKjDZOtkA"),
        song("ZrOKjDZOtkA", title="Wonderwall (duplicate)"),
    ]
    assert [(c.url, c.title) for c in parse_ytmusic_results(results)] == [
        ("https://music.youtube.com/watch?v=ZrOKjDZOtkA", "Wonderwall")
    ]


# --- ISRC rule ----------------------------------------------------------------


def test_isrc_hit_with_same_title_and_duration_carries_the_isrc():
    hit = pick_isrc_match(WONDERWALL, [song(title="Wonderwall (Remastered)"), song("otherother1")])
    assert hit is not None
    assert (hit.isrc, hit.url, hit.verified) == (
        "GBQCP1400094", "https://music.youtube.com/watch?v=ZrOKjDZOtkA", True,
    )


@pytest.mark.parametrize(
    "results",
    [
        [song(title="Wonderwall Cover (Acoustic Guitar Lesson)")],  # free-text noise
        [song(title="Champagne Supernova"), song(title="Wonderwall")],  # only the first song counts
        [song(title="Wonderwall", duration_seconds=300)],  # 41 s longer: another recording
        [video(title="Wonderwall")],  # not a song
        [],
    ],
)
def test_isrc_search_results_that_are_not_the_track_are_dropped(results):
    assert pick_isrc_match(WONDERWALL, results) is None


def test_isrc_rule_needs_an_isrc():
    no_isrc = TrackInfo(track_id="x" * 22, title="Wonderwall", artists=("Oasis",))
    assert pick_isrc_match(no_isrc, [song()]) is None


# --- YouTube Music request rule -----------------------------------------------


class ScriptedYTMusic(YTMusicProvider):
    """The real provider with ytmusicapi replaced by canned ``search`` answers."""

    def __init__(self, answers):
        super().__init__(limit=3)
        self.answers = answers
        self.calls = []

    def _search(self, query, kind):
        self.calls.append((query, kind))
        return self.answers.get((query, kind), [])


def test_isrc_then_songs_with_isrc_hit_first_and_deduplicated():
    provider = ScriptedYTMusic({
        ("GBQCP1400094", "songs"): [song(title="Wonderwall")],
        ("Oasis Wonderwall - Remastered", "songs"): [
            song("live0000000", title="Wonderwall (Live)"),
            song(),
            song("x1000000000"),
            song("x2000000000"),
        ],
    })
    found = provider.search(WONDERWALL)
    assert provider.calls == [("GBQCP1400094", "songs"), ("Oasis Wonderwall - Remastered", "songs")]
    # The ISRC hit leads; its duplicate from the text search goes; the text search keeps limit=3.
    assert [(c.url.rsplit("=", 1)[1], c.isrc) for c in found] == [
        ("ZrOKjDZOtkA", "GBQCP1400094"),
        ("live0000000", None),
        ("x1000000000", None),
    ]
    assert all(c.provider == "ytmusic" for c in found)


def test_videos_are_searched_only_when_songs_find_nothing():
    query = "Oasis Wonderwall - Remastered"
    provider = ScriptedYTMusic({(query, "videos"): [video()]})
    found = provider.search(WONDERWALL)
    assert provider.calls == [("GBQCP1400094", "songs"), (query, "songs"), (query, "videos")]
    assert [c.url for c in found] == ["https://music.youtube.com/watch?v=bx1Bh8ZvH84"]

    provider = ScriptedYTMusic({(query, "songs"): [song()]})
    provider.search(WONDERWALL)
    assert (query, "videos") not in provider.calls


# --- YouTube parsing ----------------------------------------------------------


def test_parse_flat_search_entry_maps_every_field():
    assert parse_ytsearch_entries([flat_entry()]) == [
        Candidate(
            url="https://www.youtube.com/watch?v=6hzrDeceEKc",
            title="Wonderwall (Remastered)",
            artist="Oasis - Topic",
            duration_ms=259_000,
            provider="youtube",
            verified=True,
        )
    ]


def test_parse_flat_entries_verification_durations_and_urls():
    entries = [
        flat_entry("vevo0000000", channel="OasisVEVO", uploader="OasisVEVO", duration=258.5),
        flat_entry("badge000000", channel="Oasis", uploader="Oasis", channel_is_verified=True),
        flat_entry("fan00000000", channel="guitar covers", uploader="guitar covers", duration=None),
        flat_entry("short000000", url="https://www.youtube.com/shorts/short000000", channel=None,
                   uploader="someone"),
        flat_entry("nourl000000", url=None, artist="Oasis"),
    ]
    vevo, badge, fan, short, nourl = parse_ytsearch_entries(entries)
    assert (vevo.verified, vevo.duration_ms) == (True, 258_500)
    assert badge.verified is True
    assert (fan.verified, fan.duration_ms, fan.artist) == (False, None, "guitar covers")
    assert (short.url, short.artist) == ("https://www.youtube.com/shorts/short000000", "someone")
    assert (nourl.url, nourl.artist) == ("https://www.youtube.com/watch?v=nourl000000", "Oasis")


def test_parse_flat_entries_skips_streams_channels_missing_ids_and_duplicates():
    entries = [
        flat_entry("live0000000", live_status="is_live"),
        flat_entry("soon0000000", live_status="is_upcoming"),
        {"_type": "url", "ie_key": "YoutubeTab", "id": "UCmMUZbaYdNH0bEd1PAlAqsA",
         "url": "https://www.youtube.com/channel/UCmMUZbaYdNH0bEd1PAlAqsA", "title": "Oasis"},
        flat_entry(None),
        flat_entry("6hzrDeceEKc", live_status="was_live"),
        flat_entry("6hzrDeceEKc"),
    ]
    assert [c.url for c in parse_ytsearch_entries(entries)] == ["https://www.youtube.com/watch?v=6hzrDeceEKc"]


# --- error mapping --------------------------------------------------------------


def test_ytmusic_network_and_server_errors_map_to_tunecrate_errors():
    import requests
    from ytmusicapi.exceptions import YTMusicServerError

    unavailable = ytmusic_error(requests.exceptions.ConnectionError("Failed to resolve 'music.youtube.com'"))
    assert type(unavailable) is ServiceUnavailable and unavailable.transient
    assert type(ytmusic_error(requests.exceptions.ReadTimeout("read timed out"))) is ServiceUnavailable

    down = ytmusic_error(YTMusicServerError("Server returned HTTP 503: Service Unavailable.\nBackend error"))
    assert (type(down), down.status) == (ServiceUnavailable, 503)
    assert "\n" not in str(down)
    assert type(ytmusic_error(YTMusicServerError("Server returned HTTP 429: Too Many Requests.\n"))) is RateLimited
    refused = ytmusic_error(YTMusicServerError("Server returned HTTP 400: Bad Request.\nInvalid argument"))
    assert (type(refused), refused.status) == (ServiceError, 400)
    parse_failure = ytmusic_error(KeyError("musicResponsiveListItemRenderer"))
    assert type(parse_failure) is ServiceError and "YouTube Music" in str(parse_failure)


def _download_error(inner: Exception):
    """A DownloadError built the way YoutubeDL builds one from an extractor failure."""
    from yt_dlp.utils import DownloadError, ExtractorError

    try:
        try:
            raise inner
        except Exception as exc:
            raise ExtractorError("Unable to download API page", cause=exc) from exc
    except ExtractorError as err:
        return DownloadError(f"ERROR: {err.msg}", err.exc_info)


def test_youtube_download_errors_map_by_their_network_cause():
    from yt_dlp.networking import Response
    from yt_dlp.networking.exceptions import HTTPError, TransportError

    def http(status):
        return HTTPError(Response(io.BytesIO(b""), "https://www.youtube.com/youtubei/v1/search", {}, status=status))

    down = youtube_error(_download_error(http(503)))
    assert (type(down), down.status) == (ServiceUnavailable, 503)
    assert type(youtube_error(_download_error(http(429)))) is RateLimited
    forbidden = youtube_error(_download_error(http(403)))
    assert (type(forbidden), forbidden.status) == (ServiceError, 403)
    offline = youtube_error(_download_error(TransportError("Failed to resolve 'www.youtube.com'")))
    assert type(offline) is ServiceUnavailable and "Failed to resolve" in str(offline)
    other = youtube_error(_download_error(ValueError("Sign in to confirm you're not a bot")))
    assert type(other) is ServiceError and not str(other).startswith("ERROR")


def _dns_works(host: str) -> bool:
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("provider", "host"),
    [(YTMusicProvider(timeout=5), "music.youtube.com"), (YouTubeProvider(timeout=5), "www.youtube.com")],
    ids=["ytmusic", "youtube"],
)
def test_search_without_network_raises_service_unavailable(provider, host):
    if _dns_works(host):
        pytest.skip(f"{host} resolves: this machine is online")
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as caught:
        provider.search(WONDERWALL)
    assert time.monotonic() - started < 5
    assert caught.value.__cause__ is not None
    assert "\n" not in str(caught.value) and "reached" in str(caught.value)
