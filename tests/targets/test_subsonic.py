"""Pushing library playlists into a Subsonic server (as Navidrome answers), against the stand-in."""

from __future__ import annotations

import hashlib

import pytest

from tunecrate.core.errors import AuthError, ConfigurationError, ServiceUnavailable
from tunecrate.library.library import Library

TITLE = "tunecrate demo mix"


@pytest.fixture
def songs(subsonic):
    """Five of the six demo songs, as a Subsonic library spells them (seconds, no "The", ISRC on one)."""
    add = subsonic.add_song
    return {
        "morning": add("Morning Static (Remastered 2026)", "The Loopbacks", "Songs", 12),
        "localhost": add("Localhost Blues", "Loopbacks", "Songs", 14),
        "bpm": add("127 Bpm", "Ada Byte", "Songs", 10, isrc="QZDA2600003"),
        "offline": add("Offline Forever", "The Loopbacks", "Songs", 16),
        "cafe": add("Cafe Unicode (feat. Umlaut)", "Ada Byte", "Songs", 11),
        "live": add("Offline Forever - Live", "The Loopbacks", "Live", 17),
    }


@pytest.fixture
def lib(settings, subsonic, demo):
    with Library(settings.with_overrides(subsonic_url=subsonic.base_url, subsonic_user="demo",
                                         subsonic_password="sesame")) as lib:
        lib.load_playlist(demo.playlist_url)
        yield lib


def test_push_creates_the_playlist_in_one_write_with_token_auth(lib, subsonic, songs, demo):
    report = lib.push(demo.playlist_id, "subsonic").report

    assert report.created and report.writes == 1
    assert subsonic.playlist_songs(TITLE) == [("The Loopbacks", "Offline Forever"),
                                              ("The Loopbacks", "Morning Static (Remastered 2026)"),
                                              ("Loopbacks", "Localhost Blues"),
                                              ("Ada Byte", "Cafe Unicode (feat. Umlaut)"), ("Ada Byte", "127 Bpm")]
    assert [e.track.title for e in report.missing] == ["夜のサイン波"]
    bpm = next(e for e in lib.push(demo.playlist_id, "subsonic", dry_run=True).plan.entries
               if e.track.title == "127 Bpm")
    assert bpm.present
    requests = subsonic.requests
    (create,) = subsonic.requests_to("createPlaylist")
    assert create.method == "POST" and create.get("name") == TITLE and len(create.all("songId")) == 5
    salts = {r.get("s") for r in requests}
    assert len(salts) == len(requests)                       # a fresh salt every request
    for r in requests:
        assert r.get("t") == hashlib.md5(("sesame" + r.get("s")).encode()).hexdigest()
        assert (r.get("u"), r.get("v"), r.get("c"), r.get("f")) == ("demo", "1.16.1", "tunecrate", "json")
        assert r.get("p") is None                            # the password itself never travels


def test_repush_appends_and_removes_in_one_update_and_reorders_by_replacing(lib, subsonic, songs, demo, world):
    lib.push(demo.playlist_id, "subsonic")
    subsonic.clear_requests()
    again = lib.push(demo.playlist_id, "subsonic")
    assert again.report.writes == 0
    assert [r.name for r in subsonic.requests if r.method == "POST"] == []
    # The entries already in the playlist need no search; only the missing one is looked for.
    assert {r.get("query") for r in subsonic.requests_to("search3")} <= {"夜のサイン波", "Sine Wave Club 夜のサイン波"}

    spotify = world.spotify
    keep = [demo.track_ids[i] for i in (3, 0, 5, 1, 2)]     # Café leaves
    spotify.set_playlist_items(demo.playlist_id, [spotify._tracks[t] for t in keep])
    yoru = subsonic.add_song("夜のサイン波", "Sine Wave Club", "Songs", 13)
    lib.sync(demo.playlist_id)
    subsonic.clear_requests()
    report = lib.push(demo.playlist_id, "subsonic").report
    titles = [t for _, t in subsonic.playlist_songs(TITLE)]
    assert titles == ["Offline Forever", "Morning Static (Remastered 2026)", "夜のサイン波", "Localhost Blues", "127 Bpm"]
    (write,) = [r for r in subsonic.requests if r.method == "POST"]
    assert write.name == "createPlaylist" and write.get("playlistId") and report.writes == 1  # 夜 moved in

    order = [demo.track_ids[i] for i in (3, 0, 5, 1, 2, 4)]  # Café back, at the end: an append
    spotify.set_playlist_items(demo.playlist_id, [spotify._tracks[t] for t in order])
    lib.sync(demo.playlist_id)
    subsonic.clear_requests()
    lib.push(demo.playlist_id, "subsonic")
    (write,) = [r for r in subsonic.requests if r.method == "POST"]
    assert write.name == "updatePlaylist" and write.all("songIdToAdd") == [songs["cafe"]]
    assert write.all("songIndexToRemove") == [] and yoru in [s for s in subsonic.playlists[write.get("playlistId")].songs]


def test_wrong_credentials_and_missing_settings_are_one_line(settings, subsonic, demo):
    with Library(settings.with_overrides(subsonic_url=subsonic.base_url, subsonic_user="demo",
                                         subsonic_password="wrong")) as lib:
        lib.load_playlist(demo.playlist_url)
        with pytest.raises(AuthError) as exc:
            lib.push(demo.playlist_id, "subsonic")
        assert str(exc.value) == ("the Subsonic server refused user 'demo': wrong username or password (check "
                                  "TUNECRATE_SUBSONIC_USER and TUNECRATE_SUBSONIC_PASSWORD)")
    with Library(settings) as lib:
        with pytest.raises(ConfigurationError, match="set TUNECRATE_SUBSONIC_URL and TUNECRATE_SUBSONIC_USER and"):
            lib.push(demo.playlist_id, "subsonic")
    port = subsonic.base_url.rsplit(":", 1)[1]
    subsonic.stop()
    with Library(settings.with_overrides(subsonic_url=subsonic.base_url, subsonic_user="demo",
                                         subsonic_password="sesame")) as lib:
        with pytest.raises(ServiceUnavailable) as exc:
            lib.push(demo.playlist_id, "subsonic")
    assert str(exc.value) == (f"cannot reach the Subsonic server at 127.0.0.1:{port}: ConnectError; check "
                              "TUNECRATE_SUBSONIC_URL")


def test_review_band_on_subsonic_is_remembered(lib, subsonic, songs, demo, tmp_path):
    unsure = subsonic.add_song("夜のサイン波", "Sine Wave Club", "Songs", 21)   # 8 s off
    report = lib.push(demo.playlist_id, "subsonic", report_file=tmp_path / "missing.txt").report
    assert [e.track.title for e in report.review] == ["夜のサイン波"]
    held = (tmp_path / "missing.txt").read_text("utf-8").split("# held for review")[1].splitlines()
    assert held[0] == ", not in the playlist until decided with `tunecrate review --target subsonic`:"
    assert [line.split("\t")[1] for line in held[1:]] == ["Sine Wave Club - 夜のサイン波"]
    (item,) = [i for i in lib.target_review_queue("subsonic") if i.kind == "review"]
    assert item.candidates[0][0].item_id == unsure
    lib.target_confirm("subsonic", item.song.track_id, 0)
    lib.push(demo.playlist_id, "subsonic", report_file=tmp_path / "missing.txt")
    assert ("Sine Wave Club", "夜のサイン波") in subsonic.playlist_songs(TITLE)
    assert "# held for review" not in (tmp_path / "missing.txt").read_text("utf-8")
    assert lib.target_review_queue("subsonic") == [] and lib.target_review_queue("plex") == []


def test_a_subsonic_playlist_is_a_transfer_source(lib, subsonic, songs, demo, plex, tmp_path):
    lib.push(demo.playlist_id, "subsonic")
    section = plex.add_section("Music", "/data/music")
    offline = plex.add_track(section, "Offline Forever", "The Loopbacks", "Songs", 16_000, "/data/music/1.mp3")
    bpm = plex.add_track(section, "127 Bpm", "Ada Byte", "Songs", 10_000, "/data/music/2.mp3")
    with Library(lib.settings.with_overrides(plex_url=plex.base_url, plex_token=plex.token)) as other:
        transfer = other.plan_transfer(f"subsonic:{TITLE}", "plex:From Navidrome")
        assert transfer.tracks.source == "subsonic" and len(transfer.tracks.entries) == 5
        assert all(t.track_id.startswith("subsonic-song") for t in transfer.tracks.entries)
        report = other.apply_transfer(transfer)
    assert report.created and plex.playlist_keys("From Navidrome") == [offline, bpm]
