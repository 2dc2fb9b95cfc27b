"""Pushing library playlists into Plex, against the Plex stand-in (real plexapi, real XML).

The demo playlist lists, in order: Offline Forever, Morning Static, 夜のサイン波, Localhost Blues,
Café Ünïcode (feat. Ümlaut), 127 Bpm. The stand-in's music section holds some of them under the
spellings a Plex library has (remaster tags, no "The", a compilation), decoys, and none of the rest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tunecrate.core.errors import AuthError, ConfigurationError, ServiceUnavailable
from tunecrate.demo.world import DEMO_SONGS
from tunecrate.library.library import Library
from tunecrate.core.service import RemotePlaylist, RemoteTrack
from tunecrate.targets.plex import PathMap, PlexService, PlexTarget

ALBUM = "Songs From 127.0.0.1"
WRITES = ("POST", "PUT", "DELETE")


@pytest.fixture
def music(plex, tmp_path):
    return plex.add_section("Music", "/data/music", folder=tmp_path / "plex-music")


@pytest.fixture
def keys(plex, music):
    """The section's tracks: four demo songs as Plex spells them, and decoys."""
    add = lambda *a, **k: plex.add_track(music, *a, **k)  # noqa: E731
    return {
        "morning": add("Morning Static - 2026 Remaster", "The Loopbacks", ALBUM, 12_000, "/data/music/a/1.mp3"),
        "localhost": add("Localhost Blues (feat. Ada Byte)", "Loopbacks", ALBUM, 14_400, "/data/music/a/2.mp3"),
        "bpm": add("127 BPM", "Ada Byte", ALBUM, 10_000, "/data/music/a/3.mp3"),
        "offline": add("Offline Forever", "The Loopbacks", "Now That's Loopback 26", 16_000, "/data/music/c/4.mp3",
                       album_artist="Various Artists"),
        "live": add("Offline Forever (Live)", "The Loopbacks", "Live at 127.0.0.1", 17_000, "/data/music/l/5.mp3"),
        "other cafe": add("Café Ünïcode", "Someone Else", "Elsewhere", 11_000, "/data/music/e/6.mp3"),
    }


@pytest.fixture
def lib(settings, plex, demo):
    """A library holding the demo playlist (nothing downloaded) and pointed at the Plex stand-in."""
    with Library(settings.with_overrides(plex_url=plex.base_url, plex_token=plex.token)) as lib:
        lib.load_playlist(demo.playlist_url)
        yield lib


def writes(plex):
    return [(r.method, r.path) for r in plex.requests if r.method in WRITES]


def test_push_creates_the_playlist_in_order_and_reports_the_missing(lib, plex, keys, demo, tmp_path):
    result = lib.push(demo.playlist_id, "plex", report_file=tmp_path / "missing.txt")

    report = result.report
    assert report.created and report.added == 4 and report.writes == 1
    assert plex.playlist_keys("tunecrate demo mix") == [keys[k] for k in ("offline", "morning", "localhost", "bpm")]
    offline = next(e for e in result.plan.entries if e.track.title == "Offline Forever")
    assert offline.item.artists == ("The Loopbacks",) and offline.item.album_artist == "Various Artists"
    assert [e.track.title for e in report.missing] == ["夜のサイン波", "Café Ünïcode (feat. Ümlaut)"]
    lines = (tmp_path / "missing.txt").read_text("utf-8").splitlines()
    yoru, cafe = demo.track_ids[5], demo.track_ids[4]
    assert lines == [f"https://open.spotify.com/track/{yoru}\tSine Wave Club - 夜のサイン波",
                     f"https://open.spotify.com/track/{cafe}\tAda Byte, Ümlaut - Café Ünïcode (feat. Ümlaut)"]
    # The listing was read as XML: plexapi never reloaded an item (one request per track).
    assert plex.requests_to(r"^/library/metadata/") == []
    (create,) = plex.requests_to(r"^/playlists$", "POST")
    assert create.query["type"] == "audio" and create.query["smart"] == "0"
    assert create.query["uri"] == (f"server://{plex.machine}/com.plexapp.plugins.library/library/metadata/"
                                   + ",".join(str(k) for k in plex.playlist_keys("tunecrate demo mix")))
    # What nothing matched waits in the review queue, with what came closest.
    queue = {i.song.track_id: i for i in lib.target_review_queue("plex")}
    assert set(queue) == {yoru, cafe} and {i.kind for i in queue.values()} == {"missing"}
    assert [c[0].title for c in queue[cafe].candidates] == ["Café Ünïcode"]


def test_a_repush_adds_removes_and_reorders_without_duplicates(lib, plex, music, keys, demo, world):
    lib.push(demo.playlist_id, "plex")
    playlist = next(iter(plex.playlists.values()))
    playlist.items.append((9999, keys["morning"]))          # someone added a song twice
    keys["yoru"] = plex.add_track(music, "夜のサイン波", "Sine Wave Club", ALBUM, 13_000, "/data/music/a/7.mp3")
    tracks = {t.track_id: t for t in lib.playlist(demo.playlist_id).tracks}
    spotify = world.spotify
    order = [demo.track_ids[i] for i in (2, 0, 5, 3)]       # 127 Bpm, Morning, 夜, Offline; Localhost left
    spotify.set_playlist_items(demo.playlist_id, [spotify._tracks[t] for t in order])
    lib.sync(demo.playlist_id)
    assert [t.track_id for t in lib.playlist(demo.playlist_id).tracks] == order and tracks
    plex.clear_requests()

    report = lib.push(demo.playlist_id, "plex").report

    assert plex.playlist_keys("tunecrate demo mix") == [keys[k] for k in ("bpm", "morning", "yoru", "offline")]
    assert (report.added, report.removed) == (1, 2) and list(plex.playlists) == [playlist.rating_key]
    # In place this is 2 removals, an add and moves; emptying the playlist and adding the four back is 2.
    assert writes(plex) == [("DELETE", f"/playlists/{playlist.rating_key}/items"),
                            ("PUT", f"/playlists/{playlist.rating_key}/items")]
    assert report.writes == 2
    reads = [r for r in plex.requests if r.method == "GET"]
    assert len(reads) <= 8 and plex.requests_to(r"^/library/metadata/") == []

    # Nothing changed: no write at all, and a handful of reads.
    plex.clear_requests()
    again = lib.push(demo.playlist_id, "plex")
    assert writes(plex) == [] and again.report.writes == 0 and again.plan.operations == []
    assert len(plex.requests) <= 7


def test_a_small_change_is_made_in_place(lib, plex, music, keys, demo, world):
    lib.push(demo.playlist_id, "plex")
    (playlist,) = plex.playlists.values()
    keys["yoru"] = plex.add_track(music, "夜のサイン波", "Sine Wave Club", ALBUM, 13_000, "/data/music/a/7.mp3")
    plex.clear_requests()

    report = lib.push(demo.playlist_id, "plex").report     # 夜のサイン波 now found: added amid the playlist

    assert plex.playlist_keys("tunecrate demo mix") == [keys[k] for k in ("offline", "morning", "yoru", "localhost",
                                                                          "bpm")]
    rk = playlist.rating_key
    (added, moved) = writes(plex)                            # Plex appends, then the item moves into place
    assert added == ("PUT", f"/playlists/{rk}/items") and moved[0] == "PUT" and moved[1].endswith("/move")
    assert (report.added, report.moved, report.writes) == (1, 1, 2)

    spotify = world.spotify
    order = [demo.track_ids[i] for i in (3, 0, 5, 2)]       # Localhost Blues left the playlist
    spotify.set_playlist_items(demo.playlist_id, [spotify._tracks[t] for t in order])
    lib.sync(demo.playlist_id)
    (gone,) = [i for i, rk_ in playlist.items if rk_ == keys["localhost"]]
    plex.clear_requests()
    report = lib.push(demo.playlist_id, "plex").report
    assert writes(plex) == [("DELETE", f"/playlists/{rk}/items/{gone}")] and report.writes == 1
    assert plex.playlist_keys("tunecrate demo mix") == [keys[k] for k in ("offline", "morning", "yoru", "bpm")]


def _remote(n: int) -> RemoteTrack:
    return RemoteTrack(str(n), f"Song {n}")


@pytest.mark.parametrize("may_clear", [True, False])
def test_many_changes_empty_the_playlist_and_fill_it_again_on_a_push_only(may_clear):
    """500 items, 25 scattered changes (12 removed, 13 added amid the rest): in place that is 12 removals,
    one add and 13 moves; emptied and filled again it is 1 + ⌈500/URI_BATCH⌉. A transfer keeps the
    playlist's own items, so it never empties a playlist (``may_clear`` False)."""
    playlist = RemotePlaylist("77", "Mix", tuple((str(5000 + n), _remote(n)) for n in range(500)))
    kept = [str(n) for n in range(500) if n % 40 != 7 or n > 480]
    assert len(kept) == 488
    desired = list(kept)
    for k in range(13):
        desired.insert(10 + 37 * k, str(1000 + k))
    service = PlexService(None, PathMap(), may_clear=may_clear)

    ops = service.operations(playlist, "Mix", desired)

    if may_clear:
        assert [op.op for op in ops] == ["clear", "add", "add", "add"]
        assert [i for op in ops for i in op.items] == desired
    else:
        assert [op.op for op in ops].count("remove") == 12 and [op.op for op in ops].count("move") == 13
        assert len(ops) == 26
    # One change: in place whatever the playlist may be.
    assert [op.op for op in service.operations(playlist, "Mix", [str(n) for n in range(1, 500)])] == ["remove"]


def test_only_a_push_may_empty_a_plex_playlist(settings):
    settings = settings.with_overrides(plex_url="http://127.0.0.1:9", plex_token="t")
    assert PlexTarget.from_settings(settings, mode="mirror").service().may_clear
    assert not PlexTarget.from_settings(settings, mode="merge").service().may_clear


def test_the_index_is_refreshed_incrementally(lib, plex, music, keys, demo):
    lib.push(demo.playlist_id, "plex")
    plex.clear_requests()
    plex.update_track(keys["other cafe"], title="Café Ünïcode (feat. Ümlaut)", artist="Ada Byte")

    report = lib.push(demo.playlist_id, "plex").report

    listings = plex.requests_to(r"^/library/sections/1/all$")
    assert [r.headers.get("x-plex-container-size") for r in listings] == ["0", "100"]
    assert "updatedAt>>" in listings[1].query
    assert keys["other cafe"] in plex.playlist_keys("tunecrate demo mix") and report.added == 1

    # A track that left Plex: the section is listed again, and the track leaves the playlist.
    plex.remove_track(keys["bpm"])
    plex.clear_requests()
    result = lib.push(demo.playlist_id, "plex")
    assert any("index was rebuilt" in w for w in result.plan.warnings)
    assert keys["bpm"] not in plex.playlist_keys("tunecrate demo mix")
    assert "127 Bpm" in [e.track.title for e in result.report.missing]


def test_the_section_is_read_in_pages(settings, plex, music, keys, demo):
    with Library(settings.with_overrides(plex_url=plex.base_url, plex_token=plex.token, plex_page_size=2)) as lib:
        lib.load_playlist(demo.playlist_url)
        lib.push(demo.playlist_id, "plex", dry_run=True)
    pages = plex.requests_to(r"^/library/sections/1/all$")
    assert [(r.headers["x-plex-container-start"], r.headers["x-plex-container-size"]) for r in pages] == [
        ("0", "2"), ("2", "2"), ("4", "2")]
    assert writes(plex) == []


def test_review_decisions_are_remembered_per_track_and_target(lib, plex, music, keys, demo):
    unsure = plex.add_track(music, "夜のサイン波", "Sine Wave Club", ALBUM, 21_000, "/data/music/a/8.mp3")
    first = lib.push(demo.playlist_id, "plex")
    (held,) = first.report.review
    assert held.track.title == "夜のサイン波" and held.item.item_id == str(unsure)
    assert unsure not in plex.playlist_keys("tunecrate demo mix")

    queue = lib.target_review_queue("plex")
    assert [(i.kind, i.song.title) for i in queue][0] == ("review", "夜のサイン波")
    lib.target_confirm("plex", demo.track_ids[5], 0)
    lib.target_skip("plex", demo.track_ids[4])            # Café: don't sync this one
    assert lib.target_review_queue("plex") == []
    assert lib.target_review_queue("subsonic") == []

    second = lib.push(demo.playlist_id, "plex")
    assert plex.playlist_keys("tunecrate demo mix")[2] == unsure
    how = {e.track.title: (e.status, e.how) for e in second.plan.entries}
    assert how["夜のサイン波"] == ("matched", "confirmed")
    assert how["Café Ünïcode (feat. Ümlaut)"] == ("skipped", "remembered")
    assert second.report.missing == [] and lib.target_review_queue("plex") == []


def test_errors_are_one_line_each(lib, plex, music, demo, settings):
    with Library(settings.with_overrides(plex_url=plex.base_url, plex_token="stale")) as bad:
        with pytest.raises(AuthError) as exc:
            bad.push(demo.playlist_id, "plex")
    assert str(exc.value) == ("the Plex token is invalid or expired: get a new one from a media item's View XML "
                              "(PLEX_TOKEN)")
    plex.add_section("Audiobooks", "/data/books", kind="artist")
    plex.add_section("Films", "/data/films", kind="movie")
    with Library(settings.with_overrides(plex_url=plex.base_url, plex_token=plex.token,
                                         plex_music_library="Musik")) as bad:
        with pytest.raises(ConfigurationError) as exc:
            bad.push(demo.playlist_id, "plex")
    assert str(exc.value) == ("the Plex library 'Musik' does not exist; music libraries on this server: 'Music', "
                              "'Audiobooks' (set PLEX_MUSIC_LIBRARY)")
    with Library(settings.with_overrides(plex_url=plex.base_url, plex_token=plex.token,
                                         plex_music_library="Films")) as bad:
        with pytest.raises(ConfigurationError, match="'Films' is not a music library"):
            bad.push(demo.playlist_id, "plex")
    port = plex.base_url.rsplit(":", 1)[1]
    plex.stop()
    with pytest.raises(ServiceUnavailable) as exc:
        lib.push(demo.playlist_id, "plex")
    assert str(exc.value).startswith(f"cannot reach Plex at 127.0.0.1:{port}:") and "\n" not in str(exc.value)


def test_path_map():
    paths = PathMap.parse(["/srv/music=/data/music", "/home/me/Music=D:\\Music"])
    assert paths.to_plex("/srv/music/a b/é.mp3") == "/data/music/a b/é.mp3"
    assert paths.to_plex("/srv/musicals/x.mp3") == "/srv/musicals/x.mp3"
    assert paths.to_plex("/home/me/Music/x.mp3") == "D:/Music/x.mp3"
    assert paths.to_local("D:\\Music\\x.mp3") == Path("/home/me/Music/x.mp3")
    assert paths.to_local("/data/music/y.mp3") == Path("/srv/music/y.mp3")
    for bad in ("/srv/music", "relative=/data", "/srv/music="):
        with pytest.raises(ValueError):
            PathMap.parse([bad])


def test_a_bad_path_map_is_a_configuration_error(settings, tmp_path):
    with Library(settings.with_overrides(plex_path_map="music=/data/music")) as lib:
        assert lib.tracks() == []  # what does not use Plex does not read its settings
        with pytest.raises(ConfigurationError, match="plex_path_map"):
            lib.push("likes", "plex", mirror=tmp_path / "mirror")
        with pytest.raises(ConfigurationError, match="plex_path_map"):
            lib.plan_transfer("local:likes", "plex:Mix")
    assert not (tmp_path / "mirror").exists()  # refused before anything was written


# -- tunecrate's own files: path matching, --mirror and the scan -------------------------------------


@pytest.fixture
def downloaded(settings, plex, demo, world, tmp_path):
    """A library with the demo playlist downloaded (short tones), Plex watching ``plex-music`` under
    the Plex path /data/music (mapped)."""
    folder = tmp_path / "plex-music"
    section = plex.add_section("Music", "/data/music", folder=folder)
    with Library(settings.with_overrides(plex_url=plex.base_url, plex_token=plex.token,
                                         plex_path_map=f"{folder}=/data/music")) as lib:
        for n, track_id in enumerate(demo.track_ids):
            lib.match_set(track_id, world.audio(f"short-{n}", 1, 300 + 50 * n))
        assert lib.load_playlist(demo.playlist_url).counts["downloaded"] == 6
        yield lib, folder, section


def test_push_mirror_places_the_files_scans_and_matches_by_path(downloaded, plex, demo):
    lib, folder, section = downloaded
    # A decoy that the scorer would take as well: the path decides.
    decoy = plex.add_track(section, DEMO_SONGS[0][0], "The Loopbacks", ALBUM, 12_000, "/data/music/old/1.mp3")
    dest = folder / "tunecrate"

    preview = lib.push(demo.playlist_id, "plex", mirror=dest, dry_run=True)
    assert not dest.exists() and writes(plex) == []
    assert len([i for i in preview.mirror.copy if i.kind == "track"]) == 6
    assert [e.how for e in preview.plan.entries] == ["path after scan"] * 6
    assert preview.plan.operations[0].op == "create"
    assert preview.plan.operations[0].items[0] == "after-scan:/data/music/tunecrate/The Loopbacks - Offline Forever.mp3"

    result = lib.push(demo.playlist_id, "plex", mirror=dest)
    assert sorted(p.name for p in dest.glob("*.mp3")) == sorted(
        f"{', '.join(a)} - {t}.mp3" for t, a, _, _ in DEMO_SONGS)
    scans = plex.requests_to(r"^/library/sections/1/refresh$")
    assert [r.query["path"] for r in scans] == ["/data/music/tunecrate"]
    assert [e.how for e in result.plan.entries] == ["path"] * 6 and result.report.added == 6
    files = [plex.tracks[k].file for k in plex.playlist_keys("tunecrate demo mix")]
    order = [DEMO_SONGS[i] for i in (3, 0, 5, 1, 4, 2)]
    assert files == [f"/data/music/tunecrate/{', '.join(a)} - {t}.mp3" for t, a, _, _ in order]
    assert decoy not in plex.playlist_keys("tunecrate demo mix")

    # Later pushes find the mirrored files through the mirror's manifest, without --mirror.
    plex.clear_requests()
    again = lib.push(demo.playlist_id, "plex")
    assert [e.how for e in again.plan.entries] == ["path"] * 6 and writes(plex) == []


def test_plex_watching_the_library_itself_matches_by_path(settings, plex, demo, world, roots):
    """Plex's section is the library's own tracks/ folder (seen as /tunecrate/tracks): the files are
    matched exactly, however Plex titles them."""
    tracks = roots["storage_root"] / "tracks"
    section = plex.add_section("Music", "/tunecrate/tracks")
    with Library(settings.with_overrides(plex_url=plex.base_url, plex_token=plex.token,
                                         plex_path_map=f"{tracks}=/tunecrate/tracks")) as lib:
        for n, track_id in enumerate(demo.track_ids):
            lib.match_set(track_id, world.audio(f"short-{n}", 1, 300 + 50 * n))
        lib.load_playlist(demo.playlist_url)
        keys = {track_id: plex.add_track(section, f"Track {n:02d}", "Unknown Artist", "Unknown Album", 1_000,
                                         f"/tunecrate/tracks/{track_id[:2]}/{track_id}.mp3")
                for n, track_id in enumerate(demo.track_ids)}
        result = lib.push(demo.playlist_id, "plex")
    assert [e.how for e in result.plan.entries] == ["path"] * 6
    assert plex.playlist_keys("tunecrate demo mix") == [keys[demo.track_ids[i]] for i in (3, 0, 5, 1, 4, 2)]
