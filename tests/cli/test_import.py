"""`tunecrate import`: account-data exports and Exportify CSVs into playlists and `likes`, offline."""

from __future__ import annotations

import json
import sqlite3

import pytest
from mutagen.id3 import ID3

from standins.exports import (
    EXPORTIFY_HEADER_DE, Row, account_export_files, episode_item, exportify_csv, local_item, playlist, track_item,
    write_folder, write_zip,
)
from tunecrate.core.settings import Settings
from tunecrate.core.types import Candidate
from tunecrate.demo.world import DEMO_SONGS
from tunecrate.library.library import Library
from tunecrate.sources.spotify_export import playlist_id


def _rows(demo) -> list[Row]:
    return [Row(track_id, title, artists) for track_id, (title, artists, _, _) in zip(demo.track_ids, DEMO_SONGS)]


def _pin_all(cli, demo):
    for track_id, url in demo.sources.items():
        assert cli("match", "set", track_id, url).exit_code == 0


def _db(roots):
    return sqlite3.connect(roots["data_root"] / "tunecrate.sqlite3")


def _order(cli, list_id):
    return [t["track_id"] for t in json.loads(cli("playlist-local", list_id, "--json").stdout)["tracks"]]


def _playlists(cli):
    return {p["playlist_id"]: p for p in json.loads(cli("playlists", "--json").stdout)}


def _track_file(roots, track_id):
    return roots["storage_root"] / "tracks" / track_id[:2] / f"{track_id}.mp3"


def _settings(world, roots, **changes):
    return Settings.load(environ={}, **roots, **world.settings_overrides(), **{"workers": 2, **changes})


def _export(demo, order=(3, 0, 1), likes=(0, 1, 2, 4), twin=(5,)):
    rows = _rows(demo)
    items = [track_item(rows[i]) for i in order]
    items[1:1] = [episode_item("A Podcast Episode"), local_item("My Own Recording")]
    playlists = [playlist("Road Trip", items, "for the car"), playlist("Road Trip", [track_item(rows[i]) for i in twin])]
    return account_export_files(playlists, [rows[i] for i in likes])


def test_account_export_zip_imports_playlists_and_likes(cli, demo, roots, tmp_path):
    _pin_all(cli, demo)
    path = write_zip(tmp_path / "my_spotify_data.zip", _export(demo))
    result = cli("import", str(path))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.splitlines()[0] == f"import {path} (spotify-export): 3 list(s), 6 track(s), 2 skipped entries"
    assert "skipped entry #2 'A Podcast Episode': a podcast episode" in out
    assert "skipped entry #3 'My Own Recording': a local file" in out
    assert "total: downloaded=6 present=0 unresolved=0 skipped=0 failed=0" in out

    road, twin = playlist_id("Road Trip", 1), playlist_id("Road Trip", 2)
    lists = _playlists(cli)
    assert set(lists) == {road, twin, "likes"}
    assert [lists[i]["title"] for i in (road, twin, "likes")] == ["Road Trip", "Road Trip", "Liked Songs"]
    assert {p["source"] for p in lists.values()} == {"spotify-export"}
    assert _order(cli, road) == [demo.track_ids[i] for i in (3, 0, 1)]
    assert _order(cli, "likes") == [demo.track_ids[i] for i in (0, 1, 2, 4)]

    # Tags come from the export row: title, the one artist it names, the album.
    tags = ID3(_track_file(roots, demo.track_ids[1]))
    assert tags["TIT2"].text == ["Localhost Blues"] and tags["TPE1"].text == ["The Loopbacks"]
    assert tags["TALB"].text == ["Songs From 127.0.0.1"] and "TLEN" not in tags
    assert tags["WOAS"].url == f"https://open.spotify.com/track/{demo.track_ids[1]}"
    with _db(roots) as db:
        missing = json.loads(db.execute("select missing from track where track_id = ?",
                                        (demo.track_ids[1],)).fetchone()[0])
    assert {"duration_ms", "artists", "isrc"} <= set(missing)
    doc = json.loads((roots["storage_root"] / "playlists" / f"{road}.json").read_text())
    assert doc["source"] == "spotify-export" and doc["description"] == "for the car"
    assert [s["reason"] for s in doc["skipped"]] == ["episode", "local"]


def test_second_import_of_a_changed_export_syncs_it(cli, demo, roots, world, tmp_path):
    _pin_all(cli, demo)
    first = write_folder(tmp_path / "old" / "Spotify Account Data", _export(demo))
    assert cli("import", str(first.parent)).exit_code == 0
    media = len(world.media.requests)

    # Unchanged: nothing to do, nothing downloaded.
    again = cli("import", str(first), "--json")
    assert again.exit_code == 0
    report = json.loads(again.stdout)
    assert [item["up_to_date"] for item in report["lists"]] == [True, True, True]
    assert len(world.media.requests) == media

    # Road Trip: track 3 leaves (for likes), 0 and 1 swap, 2 comes in; likes lose track 4 and gain 3 and 5
    # (5 is also the twin's, which is unchanged).
    newer = write_folder(tmp_path / "new", _export(demo, order=(1, 0, 2), likes=(0, 1, 2, 3, 5)))
    dry = cli("import", str(newer), "--dry-run")
    assert dry.exit_code == 0 and "dry run: would download 0 track(s)" in dry.stdout
    assert f"- Offline Forever ({demo.track_ids[3]}) from #1" in dry.stdout
    plans = [item["plan"] for item in json.loads(cli("import", str(newer), "--dry-run", "--json").stdout)["lists"]]
    assert [p["prune"] for p in plans] == [[], [], [demo.track_ids[4]]]  # track 3 stays: likes will list it
    assert _order(cli, playlist_id("Road Trip")) == [demo.track_ids[i] for i in (3, 0, 1)]  # dry run changed nothing

    result = cli("import", str(newer), "--json")
    assert result.exit_code == 0, result.output
    road, twin, likes = json.loads(result.stdout)["lists"]
    assert (road["added"], road["removed"], road["moved"], road["kept"]) == (1, 1, 1, 2)
    assert twin["up_to_date"] and (likes["added"], likes["removed"]) == (2, 1)
    assert road["pruned"] == [] and likes["pruned"] == [demo.track_ids[4]]
    assert set(_playlists(cli)) == {playlist_id("Road Trip", 1), playlist_id("Road Trip", 2), "likes"}
    assert _order(cli, playlist_id("Road Trip")) == [demo.track_ids[i] for i in (1, 0, 2)]
    assert _order(cli, "likes") == [demo.track_ids[i] for i in (0, 1, 2, 3, 5)]
    assert not _track_file(roots, demo.track_ids[4]).exists()
    assert _track_file(roots, demo.track_ids[3]).exists()  # moved from Road Trip to likes in the same import
    assert len(world.media.requests) == media  # every track it keeps was already there


def test_exportify_csvs_in_english_and_german_import_into_a_playlist_and_likes(cli, demo, roots, world, tmp_path):
    _pin_all(cli, demo)
    rows = [Row(r.track_id, r.title, r.artists, duration_ms=seconds * 1000, isrc=f"QZDAA26{n:05d}",
                cover_url=world.cover("csv-cover", "0x202020"))
            for n, (r, (_, _, seconds, _)) in enumerate(zip(_rows(demo), DEMO_SONGS), 1)]
    folder = tmp_path / "exportify"
    folder.mkdir()
    (folder / "road_trip.csv").write_text(exportify_csv([rows[4], rows[1]]), encoding="utf-8")
    (folder / "liked.csv").write_text(exportify_csv(rows[2:4], EXPORTIFY_HEADER_DE), encoding="utf-8")
    result = cli("import", str(folder))
    assert result.exit_code == 0, result.output
    lists = _playlists(cli)
    assert len(lists) == 2 and lists["likes"]["source"] == "exportify"
    (road,) = [p for p in lists.values() if p["kind"] == "playlist"]
    assert road["title"] == "road trip" and road["playlist_id"].startswith("exportify-")
    assert _order(cli, "likes") == [demo.track_ids[2], demo.track_ids[3]]
    # An Exportify row names every artist, the duration, the ISRC and the cover.
    tags = ID3(_track_file(roots, demo.track_ids[4]))
    assert tags["TPE1"].text == ["Ada Byte", "Ümlaut"] and tags["TSRC"].text == ["QZDAA2600005"]
    assert tags["TLEN"].text == ["11000"] and tags.getall("APIC")


def test_syncing_an_imported_list_says_to_import_a_newer_export(cli, demo, tmp_path):
    path = write_zip(tmp_path / "e.zip", _export(demo))
    assert cli("import", str(path)).exit_code == 0
    for target in ("likes", playlist_id("Road Trip")):
        result = cli("sync", target)
        assert result.exit_code == 1
        assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
        assert "account-data export" in result.stderr and "tunecrate import PATH" in result.stderr
    every = cli("sync", "--all", "--json")
    assert every.exit_code == 0
    reports = json.loads(every.stdout)
    assert len(reports) == 3 and all("tunecrate import PATH" in r["warnings"][0] for r in reports)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("broken.zip", None, "no file or folder"),
    ("notes.txt", b"hello", "is neither a Spotify account-data export"),
    ("e.zip", {"Playlist1.json": b'{"playlists": [{"name": "A", "items": ['}, "is not valid JSON"),
    ("damaged.zip", b"PK\x03\x04 not really a zip", "is neither"),
    ("mine.csv", b'"Title","Artist"\n"Song","Band"\n', "missing the columns Track URI, Track Name, Artist Name(s)"),
])
def test_a_malformed_or_unknown_file_gives_one_line_and_changes_nothing(cli, tmp_path, name, content, message):
    path = tmp_path / name
    if isinstance(content, dict):
        write_zip(path, content)
    elif content is not None:
        path.write_bytes(content)
    result = cli("import", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.output
    assert json.loads(cli("playlists", "--json").stdout) == []


class _Provider:
    """Searches as YouTube Music would for an export row: the official video (longer: an intro), the album
    song, and another artist's song of that name. The song carries the demo's audio."""

    name = "ytmusic"

    def __init__(self, demo):
        self.demo, self.queries = demo, []

    def search(self, track):
        self.queries.append(track)
        url = self.demo.sources[track.track_id]
        return [Candidate("https://www.youtube.com/watch?v=video", f"{track.artist} - {track.title} (Official Video)",
                          track.artist, 95_000, "youtube", verified=True),
                Candidate(url, track.title, f"{track.artist}, Guest Star", 12_000, "ytmusic", verified=True),
                Candidate("https://music.youtube.com/watch?v=other", track.title, "Somebody Else", 12_000,
                          "ytmusic", verified=True)]


def test_the_matcher_takes_the_right_recording_for_a_row_without_duration(roots, demo, world, tmp_path):
    """Offline (the web pages fail): the row is matched as the export gives it."""
    rows = _rows(demo)
    path = write_folder(tmp_path / "e", account_export_files([], [rows[0]]))
    provider = _Provider(demo)
    world.web.fail_next(r"^/embed/track/", 503, times=10)
    with Library(_settings(world, roots, spotify_web_retries=0), providers=[provider]) as lib:
        report = lib.import_file(path)
        (likes,) = report.lists
        assert likes.counts["downloaded"] == 1 and report.ok
        (row,) = lib.tracks()
        assert row.source_url == demo.sources[rows[0].track_id] and row.source_provider == "ytmusic"
        shown = lib.match_show(rows[0].track_id)
    (query,) = provider.queries
    assert not query.knows("duration_ms") and query.artists == ("The Loopbacks",)
    best = shown.candidates[0]
    assert best.chosen and "duration" not in best.components and "duration unknown" in best.why
    assert best.duration_delta_s is None and shown.missing and "duration_ms" in shown.missing


def test_an_export_whose_liked_songs_are_gone_is_refused_and_changes_nothing(cli, demo, roots, tmp_path):
    """The likes guard holds for an import too: an export whose YourLibrary.json lists no tracks (or far
    fewer than the library's likes) is refused before anything changes, unless the user turns it off."""
    _pin_all(cli, demo)
    assert cli("import", str(write_zip(tmp_path / "old.zip", _export(demo)))).exit_code == 0
    likes = _order(cli, "likes")
    assert len(likes) == 4
    emptied = write_zip(tmp_path / "new.zip", _export(demo, order=(1, 0), likes=[]))
    result = cli("import", str(emptied))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: refused to sync likes: spotify-export read 0 of the 4 Liked Songs the library holds, which looks "
        "like a failed read; nothing was changed (if you really removed them, run again with "
        "TUNECRATE_LIKES_MIN_KEPT=0)"]
    assert _order(cli, "likes") == likes and _order(cli, playlist_id("Road Trip")) == [
        demo.track_ids[i] for i in (3, 0, 1)]
    assert all(_track_file(roots, t).exists() for t in demo.track_ids[:5])
    assert cli("import", str(emptied), "--dry-run").exit_code == 1
    # Turned off, the import goes through: likes empties and Road Trip follows the export.
    result = cli("import", str(emptied), TUNECRATE_LIKES_MIN_KEPT="0")
    assert result.exit_code == 0, result.output
    assert _order(cli, "likes") == [] and _order(cli, playlist_id("Road Trip")) == [demo.track_ids[1], demo.track_ids[0]]


class _SongProvider:
    """Searches as YouTube Music would: the album song (every artist, the real length), its official
    video (longer) and another artist's song of that name."""

    name = "ytmusic"

    def __init__(self, demo):
        self.demo, self.queries = demo, []
        self.songs = {t: (", ".join(artists), seconds * 1000)
                      for t, (_, artists, seconds, _) in zip(demo.track_ids, DEMO_SONGS)}

    def search(self, track):
        self.queries.append(track)
        artist, length = self.songs[track.track_id]
        return [Candidate(self.demo.sources[track.track_id], track.title, artist, length, "ytmusic", verified=True),
                Candidate("https://www.youtube.com/watch?v=video", f"{artist} - {track.title} (Official Video)",
                          artist, length + 83_000, "youtube", verified=True),
                Candidate("https://music.youtube.com/watch?v=other", track.title, "Somebody Else", length,
                          "ytmusic", verified=True)]


def test_where_the_web_pages_answer_a_row_gets_every_artist_and_its_duration_before_matching(
        settings, demo, world, roots, tmp_path):
    rows = _rows(demo)
    blues = rows[1]  # "The Loopbacks", "Ada Byte": the export names only The Loopbacks
    path = write_folder(tmp_path / "e", account_export_files([], [blues, rows[0]]))
    provider = _SongProvider(demo)
    world.web.clear_requests()
    with Library(settings, providers=[provider]) as lib:
        assert lib.import_file(path).ok
        queries = {q.track_id: q for q in provider.queries}
        assert queries[blues.track_id].artists == ("The Loopbacks", "Ada Byte")
        assert queries[blues.track_id].duration_ms == 14_000 and queries[blues.track_id].knows("duration_ms")
        # One track-embed page per searched track, nothing else from the web pages.
        assert sorted(r.path for r in world.web.requests) == sorted(
            f"/embed/track/{t}" for t in (blues.track_id, rows[0].track_id))
        shown = lib.match_show(blues.track_id)
        assert "duration_ms" not in shown.missing and "artists" not in shown.missing
        assert shown.candidates[0].chosen and shown.candidates[0].duration_delta_s == 0
        # A newer export (one more liked song) keeps what the row learnt.
        newer = write_folder(tmp_path / "f", account_export_files([], [blues, rows[0], rows[2]]))
        assert lib.import_file(newer).ok
    tags = ID3(_track_file(roots, blues.track_id))
    assert tags["TPE1"].text == ["The Loopbacks", "Ada Byte"] and tags["TLEN"].text == ["14000"]
    with _db(roots) as db:
        artists, duration, missing = db.execute("select artists, duration_ms, missing from track where track_id = ?",
                                                (blues.track_id,)).fetchone()
    assert json.loads(artists) == ["The Loopbacks", "Ada Byte"] and duration == 14_000
    assert not {"artists", "duration_ms"} & set(json.loads(missing))


def test_an_unreachable_web_is_asked_once_not_for_every_row(roots, demo, world, tmp_path):
    path = write_folder(tmp_path / "e", account_export_files([], _rows(demo)))
    world.web.fail_next(r"^/embed/track/", 503, times=100)
    world.web.clear_requests()
    with Library(_settings(world, roots, spotify_web_retries=0, workers=1), providers=[_SongProvider(demo)]) as lib:
        report = lib.import_file(path)
    assert report.ok and report.counts["downloaded"] == 6
    assert 1 <= len(world.web.requests_to(r"^/embed/track/")) <= 2  # two threads may ask at once


def test_with_the_api_source_chosen_the_web_pages_are_not_asked(roots, demo, world, tmp_path):
    path = write_folder(tmp_path / "e", account_export_files([], _rows(demo)[:2]))
    provider = _SongProvider(demo)
    world.web.clear_requests()
    with Library(_settings(world, roots, spotify_source="api"), providers=[provider]) as lib:
        assert lib.import_file(path).ok
    assert world.web.requests == [] and not any(q.knows("duration_ms") for q in provider.queries)


def test_match_show_marks_what_an_export_row_lacks(cli, demo, world, tmp_path):
    """Searched on the YouTube Music stand-in, offline from Spotify's web pages: the row keeps the export's
    shape, and `match show` says so, with no duration component in the candidates' scores."""
    searched = next(t for t in demo.track_ids if t in demo.searched)
    row = next(r for r in _rows(demo) if r.track_id == searched)
    path = write_folder(tmp_path / "e", account_export_files([], [row]))
    world.web.fail_next(r"^/embed/track/", 503, times=10)
    env = {**world.environment(search=True), "TUNECRATE_SPOTIFY_WEB_RETRIES": "0"}
    result = cli("import", str(path), **env)
    assert result.exit_code == 0, result.output
    shown = cli("match", "show", searched, **env)
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert "  duration: ?  isrc: —  " in lines[1]
    assert lines[2].startswith("not in its source: duration, artists after the first, ISRC")
    assert any(line.startswith("current: matched: ") and line.endswith("(downloaded)") for line in lines)
    as_json = json.loads(cli("match", "show", searched, "--json", **env).stdout)
    chosen = [c for c in as_json["candidates"] if c["chosen"]]
    assert chosen and "duration" not in chosen[0]["components"] and chosen[0]["duration_delta_s"] is None


def test_a_renamed_playlist_is_a_new_one_and_the_old_is_named_not_deleted(cli, demo, tmp_path):
    _pin_all(cli, demo)
    assert cli("import", str(write_zip(tmp_path / "old.zip", _export(demo)))).exit_code == 0
    rows = _rows(demo)
    # Road Trip renamed on Spotify; this export has no YourLibrary.json (likes are not in it, not deleted).
    renamed = account_export_files([playlist("Road Trip 2026", [track_item(rows[i]) for i in (3, 0, 1)]),
                                    playlist("Road Trip", [track_item(rows[5])])], None)
    result = cli("import", str(write_zip(tmp_path / "new.zip", renamed)), "--json")
    assert result.exit_code == 0, result.output
    (warning,) = json.loads(result.stdout)["warnings"]
    old = playlist_id("Road Trip", 2)
    assert warning.startswith("1 list(s) read from an earlier spotify-export import are not in this one")
    assert f"Road Trip ({old})" in warning and "likes" not in warning and "tunecrate delete-playlist" in warning
    assert set(_playlists(cli)) == {playlist_id("Road Trip 2026"), playlist_id("Road Trip"), old, "likes"}
    assert _order(cli, playlist_id("Road Trip")) == [demo.track_ids[5]]  # the twin is now the first of its name


def test_a_changed_exportify_csv_syncs_its_playlist(cli, demo, roots, tmp_path):
    _pin_all(cli, demo)
    rows = [Row(r.track_id, r.title, r.artists, duration_ms=s * 1000)
            for r, (_, _, s, _) in zip(_rows(demo), DEMO_SONGS)]
    first, second = tmp_path / "june", tmp_path / "july"
    for folder, order in ((first, (0, 1, 2)), (second, (2, 0, 3))):
        folder.mkdir()
        (folder / "road_trip.csv").write_text(exportify_csv([rows[i] for i in order]), encoding="utf-8")
    assert cli("import", str(first / "road_trip.csv")).exit_code == 0
    (before,) = _playlists(cli)
    result = cli("import", str(second / "road_trip.csv"), "--json")
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)["lists"]
    assert (report["added"], report["removed"], report["moved"]) == (1, 1, 1) and report["pruned"] == [demo.track_ids[1]]
    assert list(_playlists(cli)) == [before] and _order(cli, before) == [demo.track_ids[i] for i in (2, 0, 3)]
    assert not _track_file(roots, demo.track_ids[1]).exists()
