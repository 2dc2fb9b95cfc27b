"""Reviewing matches (queue, show, accept, skip) and retagging, through the real pipeline."""

from __future__ import annotations

import pytest
from mutagen.id3 import ID3
from sqlmodel import Session

from tunecrate.core.errors import InvalidReference, NotFound
from tunecrate.core.matching import Thresholds
from tunecrate.db.models import Track
from tunecrate.library.results import PlaylistRef
from tunecrate.media.tagging import read_tags


@pytest.fixture
def lib(review_library, demo):
    with review_library() as lib:
        report = lib.load_playlist(demo.playlist_url)
        assert (report.counts["review"], report.counts["unresolved"], report.counts["downloaded"]) == (5, 1, 0)
        yield lib


def _file(lib, track_id):
    return lib.layout.track_path(track_id)


def test_queue_lists_tracks_awaiting_a_decision_with_ranked_candidates(lib, demo):
    queue = lib.review_queue()
    assert sorted(item.track_id for item in queue) == sorted(demo.track_ids)
    assert [item.status for item in queue] == ["review"] * 5 + ["unresolved"]
    thresholds = Thresholds()
    for item in queue[:5]:
        track_id = item.track_id
        assert item.playlists == (PlaylistRef(demo.playlist_id, "tunecrate demo mix"),)
        assert item.decision == "auto"
        assert item.choice.source == demo.sources[track_id]
        best, acoustic, live = item.candidates
        assert thresholds.review <= best.score < thresholds.accept
        assert best.chosen and best.index == 0 and best.duration_delta_s == 8.0
        assert best.why.startswith(f"{best.score:.2f}: title 1.00, artist 1.00, duration +8.0 s")
        assert set(best.components) >= {"title", "artist", "duration", "version", "isrc"}
        assert acoustic.score < best.score and acoustic.components["version"] < 0
        assert not acoustic.chosen and acoustic.duration_delta_s == 28.0
        assert live.rejected == "version mismatch: live" and live.index == 2
    missing = queue[5]
    assert missing.track_id == demo.track_ids[5]
    assert missing.candidates == () and "no candidate found" in missing.reason
    assert missing.choice.source is None


def test_accept_pick_skip_then_sync_downloads_only_the_chosen(lib, demo):
    first, second, third = demo.track_ids[:3]
    assert lib.match_accept(first).source == demo.sources[first]
    alternative = lib.match_show(second).candidates[1].url
    assert lib.match_accept(f"spotify:track:{second}", 1).source == alternative
    skipped = lib.match_skip(third)
    assert (skipped.decision, skipped.status) == ("skipped", "skipped")

    queue = {item.track_id for item in lib.review_queue()}
    assert queue == set(demo.track_ids[3:])
    decisions = {d.track_id: (d.decision, d.source) for d in lib.match_list()}
    assert decisions[first] == ("pinned", demo.sources[first])
    assert decisions[second] == ("pinned", alternative)
    assert decisions[third] == ("skipped", None)
    shown = lib.match_show(third)
    assert shown.decision == "skipped" and len(shown.candidates) == 3  # candidates kept

    report = lib.sync(demo.playlist_id)
    assert report.counts["downloaded"] == 2 and report.counts["skipped"] == 1
    assert read_tags(_file(lib, first)).source_url == demo.sources[first]
    assert read_tags(_file(lib, second)).source_url == alternative
    assert not _file(lib, third).exists()
    assert third not in {item.track_id for item in lib.review_queue()}  # never asked again

    # A changed decision re-fetches the track on the next sync and replaces its file.
    lib.match_accept(second, 0)
    report = lib.sync(demo.playlist_id)
    assert report.counts["downloaded"] == 1
    assert read_tags(_file(lib, second)).source_url == demo.sources[second]

    # `match clear` reopens a skipped track: it is searched again and comes back for review.
    assert lib.match_clear(third)
    lib.sync(demo.playlist_id)
    item = next(i for i in lib.review_queue() if i.track_id == third)
    assert item.status == "review" and len(item.candidates) == 3


def test_show_and_accept_errors(lib, demo):
    with pytest.raises(InvalidReference):
        lib.match_show("https://example.com/nope")
    with pytest.raises(NotFound):
        lib.match_show("0" * 22)
    with pytest.raises(InvalidReference, match="no candidate #4"):
        lib.match_accept(demo.track_ids[0], 3)
    with pytest.raises(NotFound, match="no candidates recorded"):
        lib.match_accept(demo.track_ids[5])
    # A decision about a track that left the library is still shown.
    lib.match_skip("1" * 22)
    shown = lib.match_show("1" * 22)
    assert (shown.status, shown.decision, shown.candidates) == ("not in library", "skipped", ())


def _audio_part(path):
    """The file's bytes after its ID3v2 tag: the MPEG frames."""
    data = path.read_bytes()
    return data[ID3(path).size:]


def test_retag_rewrites_tags_keeps_audio_and_cover(review_library, demo, world):
    track_id = demo.track_ids[0]
    with review_library() as lib:
        lib.match_set(track_id, demo.sources[track_id])
        assert lib.load_track(track_id).counts["downloaded"] == 1
        path = _file(lib, track_id)
        audio, cover = _audio_part(path), ID3(path).getall("APIC")[0].data
        assert cover.startswith(b"\xff\xd8")
        assert lib.load_track(demo.track_ids[1]).counts["review"] == 1  # in the library, without a file

        # Metadata changed in the catalogue; the cover URL is unreachable: the embedded cover stays.
        with Session(lib.catalogue.engine) as session:
            row = session.get(Track, track_id)
            row.title, row.artists, row.album = "Morning Static (Retagged)", ["New Artist", "Guest"], "New Album"
            row.cover_url = "http://127.0.0.1:9/cover.jpg"
            session.add(row)
            session.commit()
        report = lib.retag(track_id)
        assert report.retagged == 1
        assert len(report.warnings) == 1 and "http://127.0.0.1:9/cover.jpg" in report.warnings[0]
        assert "kept the embedded cover" in report.warnings[0]
        tags = ID3(path)
        assert tags["TIT2"].text == ["Morning Static (Retagged)"]
        assert tags["TPE1"].text == ["New Artist", "Guest"] and tags["TALB"].text == ["New Album"]
        assert tags["TXXX:SOURCE_URL"].text == [demo.sources[track_id]]
        assert tags["TSRC"].text == ["QZDA2600001"]
        assert tags.getall("APIC")[0].data == cover
        assert _audio_part(path) == audio
        with Session(lib.catalogue.engine) as session:
            assert session.get(Track, track_id).size_bytes == path.stat().st_size
        assert lib.verify().problems == []
        assert list(lib.layout.tmp_dir.iterdir()) == []

        # A reachable new cover replaces the old one; `None` retags every downloaded track.
        new_cover = world.cover("retag-cover", "red")
        with Session(lib.catalogue.engine) as session:
            row = session.get(Track, track_id)
            row.cover_url = new_cover
            session.add(row)
            session.commit()
        assert lib.retag().to_json() == {"retagged": 1, "warnings": []}
        assert ID3(path).getall("APIC")[0].data == (world.work_dir / "media" / "retag-cover.jpg").read_bytes()
        assert _audio_part(path) == audio

        with pytest.raises(NotFound, match="no file to retag"):
            lib.retag(demo.track_ids[1])
        with pytest.raises(NotFound):
            lib.retag("0" * 22)
