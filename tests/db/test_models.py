"""The one row ↔ TrackInfo mapping: what a poorer source leaves out does not erase what a row knows."""

from __future__ import annotations

from tunecrate.core.types import TrackInfo
from tunecrate.db.models import Track

FULL = TrackInfo(track_id="4uLU6hMCjMI75M1A2tKUQC", title="Feel Good Inc.", artists=("Gorillaz", "De La Soul"),
                 album="Demon Days", album_artists=("Gorillaz",), duration_ms=222_000, track_number=6,
                 track_total=15, disc_number=1, release_date="2005-05-23", explicit=True, isrc="GBAYE0500091",
                 cover_url="https://i.example/cover.jpg")
EXPORT_ROW = TrackInfo(track_id=FULL.track_id, title="Feel Good Inc.", artists=("Gorillaz",), album="Demon Days",
                       missing=frozenset({"artists", "album_artists", "duration_ms", "track_number", "track_total",
                                          "disc_number", "release_date", "explicit", "isrc", "cover_url"}))


def test_an_export_row_keeps_what_the_web_api_filled():
    row = Track(track_id=FULL.track_id, title=FULL.title)
    row.set_info(FULL)
    row.set_info(EXPORT_ROW)
    assert row.info() == FULL


def test_a_new_row_from_an_export_says_what_it_lacks_and_a_full_source_fills_it():
    row = Track(track_id=FULL.track_id, title=FULL.title)
    row.set_info(EXPORT_ROW)
    assert row.info() == EXPORT_ROW and row.missing == sorted(EXPORT_ROW.missing)
    row.set_info(FULL)
    assert row.info() == FULL and row.missing == []


def test_a_known_field_the_source_changes_is_replaced():
    row = Track(track_id=FULL.track_id, title=FULL.title)
    row.set_info(FULL)
    renamed = TrackInfo(**{**EXPORT_ROW.__dict__, "title": "Feel Good Inc", "album": "Demon Days (Deluxe)"})
    row.set_info(renamed)
    info = row.info()
    assert (info.title, info.album, info.duration_ms, info.artists) == ("Feel Good Inc", "Demon Days (Deluxe)",
                                                                        222_000, ("Gorillaz", "De La Soul"))
