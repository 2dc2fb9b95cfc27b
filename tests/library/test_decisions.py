"""Reviewing matches (queue, show, accept, skip) and retagging, through the real pipeline."""

from __future__ import annotations

import json

import pytest
from mutagen.id3 import ID3
from sqlmodel import Session

from tunecrate.core.errors import InvalidReference, NotFound
from tunecrate.core.matching import Thresholds
from tunecrate.db.models import Track
from tunecrate.library import decisions as decisions_module
from tunecrate.library.library import Library
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


# -- durability: decisions.json and its journal ------------------------------------------------

IDS = [f"{c}" * 22 for c in "ABCDEF"]


def _saved(lib):
    return {d["track_id"]: (d["kind"], d["source"]) for d in lib.decisions.saved()}


def test_each_decision_appends_one_journal_line(library):
    journal = library.decisions.journal
    library.match_set(IDS[0], "https://media.example/a.webm")
    library.match_skip(IDS[1])
    library.match_skip(IDS[0])
    assert library.match_clear(IDS[1])
    lines = journal.read_text("utf-8").splitlines()
    assert [json.loads(line)["kind"] for line in lines] == ["pinned", "skipped", "skipped", "cleared"]
    assert not library.decisions.file.exists()  # nothing is rewritten while the journal is small
    assert _saved(library) == {IDS[0]: ("skipped", None)}


def test_a_rebuild_brings_back_the_journaled_decisions(settings, library):
    library.match_set(IDS[0], "https://media.example/a.webm")
    library.match_skip(IDS[1])
    library.match_skip(IDS[2])
    library.match_clear(IDS[2])
    library.close()
    for name in ("tunecrate.sqlite3", "tunecrate.sqlite3-wal", "tunecrate.sqlite3-shm"):
        (settings.data_root / name).unlink(missing_ok=True)
    with Library(settings) as rebuilt:
        report = rebuilt.rebuild()
        assert (report.pins, report.skips) == (1, 1)
        assert {(d.track_id, d.decision, d.source) for d in rebuilt.match_list()} == {
            (IDS[0], "pinned", "https://media.example/a.webm"), (IDS[1], "skipped", None)}


@pytest.mark.parametrize("compacted", [False, True], ids=["journal", "compacted"])
def test_a_cleared_pin_stays_cleared_after_a_rebuild(settings, demo, monkeypatch, compacted):
    """The file made from a pin says so in its tags; a rebuild must not pin it again once the user cleared it."""
    cleared, kept = demo.track_ids[0], demo.track_ids[1]
    with Library(settings) as lib:
        for track_id in (cleared, kept):
            lib.match_set(track_id, demo.sources[track_id])
            assert lib.load_track(track_id).counts["downloaded"] == 1
        assert read_tags(lib.layout.track_path(cleared)).source_provider == "pinned"
        assert lib.match_clear(cleared)
        if compacted:
            lib.decisions.compact()
            assert not lib.decisions.journal.exists()
    for name in ("tunecrate.sqlite3", "tunecrate.sqlite3-wal", "tunecrate.sqlite3-shm"):
        (settings.data_root / name).unlink(missing_ok=True)
    with Library(settings) as rebuilt:
        report = rebuilt.rebuild()
        assert (report.tracks, report.pins) == (2, 1)
        assert {d.track_id: d.decision for d in rebuilt.match_list()} == {kept: "pinned"}
        # Pinned again, it is restored again.
        rebuilt.match_set(cleared, demo.sources[cleared])
        rebuilt.rebuild()
        assert {d.track_id for d in rebuilt.match_list()} == {cleared, kept}


def test_a_torn_last_record_is_ignored_and_never_merged_with_the_next(library):
    library.match_skip(IDS[0])
    with open(library.decisions.journal, "ab") as fh:
        fh.write(b'{"track_id": "' + IDS[1].encode() + b'", "kind": "skip')  # a crash in mid-append
    assert _saved(library) == {IDS[0]: ("skipped", None)}
    library.match_skip(IDS[2])
    assert _saved(library) == {IDS[0]: ("skipped", None), IDS[2]: ("skipped", None)}


def test_a_grown_journal_is_folded_into_decisions_json(library, monkeypatch):
    monkeypatch.setattr(decisions_module, "COMPACT_BYTES", 400)
    for track_id in IDS:
        library.match_skip(track_id)
    library.match_set(IDS[0], "https://media.example/a.webm")
    expected = {IDS[0]: ("pinned", "https://media.example/a.webm"), **{t: ("skipped", None) for t in IDS[1:]}}
    assert _saved(library) == expected
    doc = json.loads(library.decisions.file.read_text("utf-8"))
    assert {d["track_id"] for d in doc["decisions"]} <= set(IDS) and doc["decisions"]  # compacted at least once
    journal = library.decisions.journal
    assert not journal.exists() or journal.stat().st_size <= max(400, library.decisions.file.stat().st_size)
    assert [p for p in library.layout.root.iterdir() if p.name.startswith(".tunecrate-tmp")] == []


def test_a_crash_between_the_steps_of_a_compaction_changes_nothing(library, monkeypatch):
    library.match_skip(IDS[0])
    library.match_set(IDS[1], "https://media.example/b.webm")
    library.match_clear(IDS[0])
    before = _saved(library)
    journal = library.decisions.journal.read_bytes()
    library.decisions.compact()
    library.decisions.journal.write_bytes(journal)  # the journal was not emptied yet
    assert _saved(library) == before == {IDS[1]: ("pinned", "https://media.example/b.webm")}
