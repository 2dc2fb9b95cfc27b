"""The catalogue's writes: upserting tracks and recording playlists, read back as rows."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlmodel import Session

from tunecrate.core.types import TrackInfo, TrackList
from tunecrate.db.engine import open_engine
from tunecrate.db.models import Track, TrackStatus
from tunecrate.library.catalogue import Catalogue
from tunecrate.storage.layout import Layout

A, B = "A" * 22, "B" * 22
TRACK = TrackInfo(track_id=A, title="Song", artists=("Ada Byte", "Ümlaut"), album="Album", duration_ms=1234,
                  cover_url="https://i.scdn.co/image/a", missing=frozenset({"isrc"}))


@pytest.fixture
def catalogue(tmp_path):
    layout = Layout(tmp_path / "storage")
    layout.ensure()
    engine = open_engine(tmp_path / "db.sqlite3")
    yield Catalogue(engine, layout)
    engine.dispose()


def _row(catalogue, track_id) -> Track:
    with Session(catalogue.engine) as session:
        return session.get(Track, track_id)


def test_a_new_track_is_pending_with_its_metadata(catalogue):
    catalogue.upsert_tracks([TRACK, TRACK], added_directly=True)
    row = _row(catalogue, A)
    assert row.status == TrackStatus.PENDING and row.added_directly
    assert row.info() == TRACK


def test_an_upsert_refreshes_metadata_and_keeps_the_rest(catalogue):
    catalogue.upsert_tracks([TRACK], added_directly=True)
    with Session(catalogue.engine) as session:
        row = session.get(Track, A)
        row.status, row.path, row.size_bytes, row.source_url = TrackStatus.DOWNLOADED, "tracks/AA/x.mp3", 99, "u"
        session.add(row)
        session.commit()
    renamed = replace(TRACK, title="Song (Remastered)", cover_url=None, missing=frozenset())
    catalogue.upsert_tracks([renamed, TrackInfo(track_id=B, title="Other", artists=())])
    row = _row(catalogue, A)
    assert (row.title, row.missing, row.cover_url) == ("Song (Remastered)", [], TRACK.cover_url)
    assert (row.status, row.path, row.size_bytes, row.source_url) == (TrackStatus.DOWNLOADED, "tracks/AA/x.mp3",
                                                                      99, "u")
    assert row.added_directly  # once added directly, a playlist listing it does not change that
    assert not _row(catalogue, B).added_directly and _row(catalogue, B).cover_url is None


def test_a_playlist_is_recorded_with_its_document_and_ordered_entries(catalogue):
    catalogue.upsert_tracks([TRACK, TrackInfo(track_id=B, title="Other", artists=())])
    other = TrackInfo(track_id=B, title="Other", artists=())
    playlist = TrackList("playlist", "P" * 22, "Mix", entries=(TRACK, other, TRACK), snapshot="s1")
    catalogue.write_playlist(playlist)
    assert [t.track_id for t in catalogue.playlist("P" * 22).tracks] == [A, B, A]
    assert catalogue.layout.playlist_json_path("P" * 22).is_file()
    catalogue.write_playlist(replace(playlist, entries=(other,), snapshot="s2"), document=False)
    assert [t.track_id for t in catalogue.playlist("P" * 22).tracks] == [B]
    assert '"s1"' in catalogue.layout.playlist_json_path("P" * 22).read_text("utf-8")  # rows only


def test_playlist_infos_are_its_tracks_in_order_duplicates_included(catalogue):
    other = TrackInfo(track_id=B, title="Other", artists=("B",))
    catalogue.upsert_tracks([TRACK, other])
    catalogue.write_playlist(TrackList("playlist", "P" * 22, "Mix", entries=(TRACK, other, TRACK)))
    assert catalogue.playlist_infos("P" * 22) == (TRACK, other, TRACK)
    assert catalogue.playlist_infos("Q" * 22) == ()
