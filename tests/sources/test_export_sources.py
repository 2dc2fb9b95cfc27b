"""The export sources (``spotify-export``, ``exportify``) and the file reader under them, without a library."""

from __future__ import annotations

import json
import re
import zipfile

import pytest

from standins.exports import (
    EXPORTIFY_HEADER, EXPORTIFY_HEADER_DE, Row, account_export_files, episode_item, exportify_csv, local_item,
    playlist, track_item, write_folder, write_zip,
)
from tunecrate.core.errors import InvalidFile, InvalidReference, NotFound
from tunecrate.core.ids import file_reference, validate_stored_id
from tunecrate.demo.spotify_server import fake_id
from tunecrate.sources import files
from tunecrate.sources.exportify import ExportifySource
from tunecrate.sources.spotify_export import SpotifyExportSource

ROWS = [Row(fake_id(f"x:{i}"), f"Song {i}", ("Band", "Guest")) for i in range(4)]


def _lists(source, path):
    return list(source.lists(file_reference(str(path))))


# -- the account-data export ------------------------------------------------------------------


def test_account_export_lists_playlists_then_likes(tmp_path):
    items = [track_item(ROWS[0]), episode_item("A Podcast"), None, local_item("My Demo"), track_item(ROWS[1])]
    path = write_zip(tmp_path / "export.zip", account_export_files(
        [playlist("Road Trip", items, "for the car"), playlist("Empty", [])], ROWS[:3]))
    source = SpotifyExportSource()
    assert source.suitable(file_reference(str(path)))
    road, empty, likes = _lists(source, path)

    assert (road.kind, road.title, road.description, road.source) == ("playlist", "Road Trip", "for the car",
                                                                         "spotify-export")
    assert validate_stored_id(road.id).startswith("export-") and road.id != empty.id
    assert [t.track_id for t in road.entries] == [ROWS[0].track_id, ROWS[1].track_id]
    assert [(s.position, s.reason, s.name) for s in road.skipped] == [
        (1, "episode", "A Podcast"), (2, "null", None), (3, "local", "My Demo")]
    first = road.entries[0]
    assert (first.title, first.artists, first.album) == ("Song 0", ("Band",), "Songs From 127.0.0.1")
    assert not first.knows("duration_ms") and not first.knows("artists") and not first.knows("isrc")
    assert first.knows("album") and first.duration_ms == 0

    assert (likes.kind, likes.id, likes.title) == ("likes", "likes", "Liked Songs")
    assert [t.track_id for t in likes.entries] == [r.track_id for r in ROWS[:3]]
    assert road.snapshot and road.snapshot != empty.snapshot


def test_playlist_ids_are_stable_across_exports_and_same_names_stay_apart(tmp_path):
    first = write_folder(tmp_path / "one", account_export_files(
        [playlist("Chill", [track_item(ROWS[0])]), playlist("Chill", [track_item(ROWS[1])]),
         playlist("Gym", [])], None))
    newer = write_folder(tmp_path / "two", account_export_files(
        [playlist("New One", []), playlist("  chill ", [track_item(ROWS[2])]), playlist("Gym", [track_item(ROWS[3])]),
         playlist("CHILL", [])], None))
    source = SpotifyExportSource()
    a = {(t.title, t.id) for t in _lists(source, first)}
    b = _lists(source, newer)
    chill_ids = [t.id for t in _lists(source, first) if t.title == "Chill"]
    assert len(set(chill_ids)) == 2  # two playlists of one name stay two
    assert [t.id for t in b if t.title.casefold().strip() == "chill"] == chill_ids  # by name and ordinal
    assert ("Gym", next(t.id for t in b if t.title == "Gym")) in a
    assert len({t.id for t in b}) == 4


def test_playlists_files_are_read_in_number_order_and_plural_names_count(tmp_path):
    folder = tmp_path / "Spotify Account Data"
    folder.mkdir()
    for number, name in ((10, "Ten"), (2, "Two"), (1, "One")):
        stem = "Playlists" if number == 2 else "Playlist"
        (folder / f"{stem}{number}.json").write_text(json.dumps({"playlists": [playlist(name, [])]}))
    # The folder above the unpacked one works too.
    assert [t.title for t in _lists(SpotifyExportSource(), tmp_path)] == ["One", "Two", "Ten"]


def test_your_library_without_tracks_leaves_likes_alone(tmp_path):
    files_ = account_export_files([playlist("A", [])], None)
    files_["YourLibrary.json"] = json.dumps({"albums": []}).encode()
    assert [t.kind for t in _lists(SpotifyExportSource(), write_folder(tmp_path / "e", files_))] == ["playlist"]


def test_zip_member_names_are_only_names(tmp_path):
    data = json.dumps({"playlists": [playlist("Sneaky\u202e\x07", [track_item(ROWS[0])])]}).encode()
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("../../outside/Playlist1.json", data)
        archive.writestr("/abs/dir/", b"")
    before = set(tmp_path.rglob("*")) | set(tmp_path.parent.rglob("outside"))
    (found,) = _lists(SpotifyExportSource(), path)
    assert found.title == "Sneaky" and [t.track_id for t in found.entries] == [ROWS[0].track_id]
    assert set(tmp_path.rglob("*")) | set(tmp_path.parent.rglob("outside")) == before  # nothing extracted


def test_two_exports_in_one_folder_are_refused(tmp_path):
    write_folder(tmp_path / "a", account_export_files([playlist("A", [])], []))
    write_folder(tmp_path / "b", account_export_files([playlist("B", [])], []))
    with pytest.raises(InvalidFile, match="more than one export"):
        _lists(SpotifyExportSource(), tmp_path)


@pytest.mark.parametrize(("content", "message"), [
    (b'{"playlists": [', "is not valid JSON (line 1"),
    (b'{"something": []}', 'no "playlists" list'),
    (b'{"playlists": [{"items": []}]}', "a playlist without a name"),
    (b'{"playlists": [{"name": "x", "items": 3}]}', 'has no "items" list'),
    ("ü".encode("latin-1"), "not UTF-8"),
])
def test_malformed_account_export_files_name_the_file(tmp_path, content, message):
    path = write_zip(tmp_path / "e.zip", {"Playlist1.json": content})
    with pytest.raises(InvalidFile, match=re.escape(message)) as raised:
        _lists(SpotifyExportSource(), path)
    assert "Playlist1.json" in str(raised.value) and "\n" not in str(raised.value)


def test_oversized_and_damaged_members_are_refused(tmp_path, monkeypatch):
    path = write_zip(tmp_path / "e.zip", account_export_files([playlist("A", [track_item(r) for r in ROWS])], None))
    monkeypatch.setattr(files, "MAX_MEMBER_BYTES", 100)
    with pytest.raises(InvalidFile, match="larger than"):
        _lists(SpotifyExportSource(), path)
    monkeypatch.undo()
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(InvalidFile):
        _lists(SpotifyExportSource(), damaged)


def test_a_missing_path_is_not_found_and_unsuitable(tmp_path):
    ref = file_reference(str(tmp_path / "nope.zip"))
    assert not SpotifyExportSource().suitable(ref) and not ExportifySource().suitable(ref)
    with pytest.raises(NotFound):
        list(SpotifyExportSource().lists(ref))


def test_fetch_returns_the_only_list_or_refuses(tmp_path):
    one = write_folder(tmp_path / "one", {"Playlist1.json": json.dumps({"playlists": [playlist("A", [])]}).encode()})
    assert SpotifyExportSource().fetch(file_reference(str(one))).title == "A"
    two = write_folder(tmp_path / "two", account_export_files([playlist("A", [])], []))
    with pytest.raises(InvalidReference, match="holds 2 lists"):
        SpotifyExportSource().fetch(file_reference(str(two)))


# -- Exportify ---------------------------------------------------------------------------------


def test_exportify_csv_keeps_every_artist_and_what_the_row_says(tmp_path):
    rows = [Row(fake_id("e:1"), "Song, With Comma", ("Tyler, The Creator", "Kali Uchis"), duration_ms=180_500,
                isrc="usum71700001"),
            Row(fake_id("e:2"), "Plain", ("Band",), duration_ms=200_000)]
    text = exportify_csv(rows)
    text += '"spotify:local:Me:Home:My+Demo:200","My Demo","","Me","","Home","","","","","0","0","200000","",' \
            '"false","0","","",""\n'
    text += '"spotify:episode:5Xt5DXGzch68nYYamXrNxZ","A Podcast"' + ',""' * 17 + "\n"
    path = tmp_path / "road_trip.csv"
    path.write_text(text, encoding="utf-8")
    (found,) = _lists(ExportifySource(), path)
    assert (found.kind, found.title, found.source) == ("playlist", "road trip", "exportify")
    assert validate_stored_id(found.id).startswith("exportify-")
    first, second = found.entries
    assert first.title == "Song, With Comma" and first.artists == ("Tyler, The Creator", "Kali Uchis")
    assert (first.duration_ms, first.isrc, first.album_artists, first.release_date) == (
        180_500, "USUM71700001", ("Tyler, The Creator",), "2026-11-21")
    assert first.knows("artists") and first.knows("duration_ms") and not first.knows("cover_url")
    assert first.track_number == 3 and first.disc_number == 1 and first.knows("explicit")
    assert second.artists == ("Band",) and not second.knows("isrc")
    assert [(s.position, s.reason, s.name) for s in found.skipped] == [(2, "local", "My Demo"),
                                                                         (3, "episode", "A Podcast")]


def test_exportify_other_locale_is_read_by_its_layout(tmp_path):
    rows = [Row(fake_id("de:1"), "Lied", ("Künstler", "Gast"), duration_ms=123_000)]
    (tmp_path / "liked.csv").write_text(exportify_csv(rows, EXPORTIFY_HEADER_DE), encoding="utf-8")
    (likes,) = _lists(ExportifySource(), tmp_path / "liked.csv")
    assert (likes.kind, likes.id, likes.title) == ("likes", "likes", "Liked Songs")
    (track,) = likes.entries
    assert (track.title, track.artists, track.duration_ms) == ("Lied", ("Künstler", "Gast"), 123_000)


def test_exportify_pre_2018_header(tmp_path):
    header = ["Spotify URI", "Track Name", "Artist Name", "Album Name", "Disc Number", "Track Number",
              "Track Duration (ms)", "Added By", "Added At"]
    line = f'"spotify:track:{fake_id("old")}","Old Song","Old\\, Band","Old Album","1","2","201000","",""\n'
    path = tmp_path / "old.csv"
    path.write_text(",".join(f'"{h}"' for h in header) + "\n" + line, encoding="utf-8")
    (found,) = _lists(ExportifySource(), path)
    (track,) = found.entries
    assert (track.artists, track.album, track.duration_ms, track.track_number) == (("Old, Band",), "Old Album",
                                                                                  201_000, 2)
    assert not track.knows("isrc") and not track.knows("album_artists") and not track.knows("explicit")


def test_exportify_refuses_a_csv_it_cannot_place_naming_the_missing_columns(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text('"Titel","Interpret"\n"Lied","Band"\n', encoding="utf-8")
    with pytest.raises(InvalidFile, match="missing the columns Track URI, Track Name, Artist Name") as raised:
        _lists(ExportifySource(), path)
    assert "other.csv" in str(raised.value)
    # Translated headers whose URIs are not where Exportify puts them are refused too.
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text('"Nom","URI"\n' + f'"Chanson","spotify:track:{fake_id("s")}"\n', encoding="utf-8")
    with pytest.raises(InvalidFile, match="Track Name, Artist Name"):
        _lists(ExportifySource(), shuffled)


def test_exportify_zip_of_csvs_and_their_ids(tmp_path):
    path = tmp_path / "exportify.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("chill.csv", exportify_csv(ROWS[:1]))
        archive.writestr("chill (1).csv", exportify_csv(ROWS[1:2]))
        archive.writestr("liked.csv", exportify_csv(ROWS[2:]))
        archive.writestr("notes.txt", "not a playlist")
    found = _lists(ExportifySource(), path)
    assert [t.title for t in found] == ["chill (1)", "chill", "Liked Songs"]
    assert len({t.id for t in found}) == 3
    again = tmp_path / "again"
    again.mkdir()
    (again / "chill.csv").write_text(exportify_csv(ROWS), encoding="utf-8")
    assert _lists(ExportifySource(), again / "chill.csv")[0].id == found[1].id
    assert not SpotifyExportSource().suitable(file_reference(str(path)))
    assert EXPORTIFY_HEADER[0] == "Track URI"
