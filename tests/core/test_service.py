"""The service-independent parts of pushes and transfers: order changes, plans, the prefilter."""

from __future__ import annotations

import random

import pytest

from tunecrate.core.types import TrackInfo, TrackList
from tunecrate.core.service import (
    CandidateIndex, EntryPlan, Operation, RemotePlaylist, RemoteTrack, Remembered, WriteOutcome, artist_keys,
    missing_report, order_changes, plan_playlist,
)


def apply_changes(entries, desired):
    """Carry out order_changes as Plex does: delete, append, then move each after its predecessor."""
    changes = order_changes(entries, desired)
    playlist = [e for e in entries if e[0] not in changes.remove]
    added = [(f"new{n}", item) for n, item in enumerate(changes.add)]
    playlist += added
    fresh = iter(added)
    slots = [entry if entry is not None else next(fresh)[0] for entry, _ in changes.slots]
    for i in changes.moves:
        moving = next(e for e in playlist if e[0] == slots[i])
        playlist.remove(moving)
        at = 0 if i == 0 else next(n for n, e in enumerate(playlist) if e[0] == slots[i - 1]) + 1
        playlist.insert(at, moving)
    return changes, [item for _, item in playlist]


def test_order_changes_reach_the_wanted_order_with_few_moves():
    rng = random.Random(7)
    for _ in range(500):
        entries = [(f"e{n}", str(rng.randrange(6))) for n in range(rng.randrange(9))]
        desired = [str(rng.randrange(6)) for _ in range(rng.randrange(9))]
        assert apply_changes(entries, desired)[1] == desired
    same = [(f"e{n}", str(n)) for n in range(50)]
    assert order_changes(same, [str(n) for n in range(50)]).unchanged
    swapped = [str(n) for n in range(50)]
    swapped[10], swapped[11] = swapped[11], swapped[10]
    assert len(order_changes(same, swapped).moves) == 1
    changes, result = apply_changes([("a", "1"), ("b", "1"), ("c", "2")], ["2", "1"])
    assert changes.remove == ("b",) and result == ["2", "1"]          # a duplicate goes, one copy stays


class FakeService:
    """A service whose catalogue is a list, recording what it was asked to write."""

    name, provider, indexed, exact = "fake", "fake", False, "path"

    def __init__(self, catalogue, playlist=None):
        self.catalogue, self.playlist, self.searched, self.written = catalogue, playlist, [], []

    def find_playlist(self, title):
        return self.playlist

    def exact_matches(self, tracks, library):
        return {}

    def resolve(self, item):
        return item

    def search(self, track):
        self.searched.append(track.title)
        return CandidateIndex.of(self.catalogue).candidates(track)

    def operations(self, playlist, title, desired):
        return [] if playlist and playlist.item_ids == list(desired) else [Operation("replace", tuple(desired))]

    def write(self, playlist, title, desired, progress=None):
        self.written.append(list(desired))
        return WriteOutcome("p1", created=playlist is None, writes=1)


class Memory:
    def __init__(self, remembered=None):
        self.memory = remembered or {}

    def remembered(self, target, song_ids):
        return {s: self.memory[s] for s in song_ids if s in self.memory}

    def path_of(self, track_id):
        return None

    def cover_of(self, playlist_id):
        return None


def song(n, title, artist, ms=200_000, isrc=None):
    return TrackInfo(f"s{n}", title, (artist,), "Album", duration_ms=ms, isrc=isrc)


def item(n, title, artist, ms=200_000, isrc=None):
    return RemoteTrack(f"i{n}", title, (artist,), "Album", duration_ms=ms, isrc=isrc)


def test_plan_matches_in_order_and_merges_after_the_previous_source_entry():
    songs = [song(1, "One", "A"), song(2, "Two", "A"), song(3, "Three", "B"), song(4, "Gone", "Z")]
    catalogue = [item(1, "One", "A"), item(2, "Two", "A"), item(3, "Three", "B"), item(9, "Other", "Q")]
    current = RemotePlaylist("p1", "L", (("0", catalogue[3]), ("1", catalogue[1])))   # Other, Two
    service = FakeService(catalogue, current)
    plan = plan_playlist(service, TrackList("playlist", "x", "L", tuple(songs)), Memory(), title="L", mode="merge")
    assert [e.status for e in plan.entries] == ["matched", "matched", "matched", "missing"]
    assert [e.present for e in plan.entries] == [False, True, False, False]
    assert service.searched == ["One", "Three", "Gone"]       # Two was found among the playlist's items
    # One goes before Two (the first source entry the playlist has), Three after Two; Other stays.
    assert plan.desired() == ["i9", "i1", "i2", "i3"]
    assert [t.item_id for t in plan.only_on_target] == ["i9"]
    mirror = plan_playlist(service, TrackList("playlist", "x", "L", tuple(songs)), Memory(), title="L")
    assert mirror.desired() == ["i1", "i2", "i3"]
    assert missing_report(mirror.missing) == "s4\tZ - Gone\n"


def test_the_report_lists_the_missing_then_the_songs_held_for_review_as_comments():
    missing = [EntryPlan(3, song(4, "Gone", "Z"), "missing")]
    held = [EntryPlan(0, song(1, "One", "A"), "review", item=item(1, "One (Live)", "A"), score=0.7812),
            EntryPlan(1, song(2, "Two", "B"), "review")]
    assert missing_report(missing, held, "plex").splitlines() == [
        "s4\tZ - Gone",
        "# held for review, not in the playlist until decided with `tunecrate review --target plex`:",
        "# s1\tA - One\tsuggested: A - One (Live) (0.78)",
        "# s2\tB - Two",
    ]
    assert missing_report(missing, []) == "s4\tZ - Gone\n"   # the guide's file when nothing waits
    assert missing_report([], held[1:]).startswith("# held for review")


def test_plan_choices_and_what_is_remembered():
    songs = [song(1, "One", "A"), song(2, "Two", "A", isrc="QZ0000000002"), song(3, "One", "A")]
    catalogue = [item(1, "One", "A"), item(2, "Two (Live)", "A"), item(3, "Something", "A", isrc="QZ0000000002")]
    service = FakeService(catalogue)
    plan = plan_playlist(service, TrackList("playlist", "x", "L", tuple(songs)), Memory(), title="L")
    assert [(e.status, e.how) for e in plan.entries] == [("matched", "score"), ("matched", "isrc"),
                                                         ("duplicate", "score")]
    plan.skip(1)
    plan.choose(0, catalogue[0])
    remembered = {song.track_id: memory.kind for song, memory, _ in plan.decisions}
    assert remembered == {"s1": "confirmed", "s2": "skipped", "s3": "auto"}

    again = plan_playlist(service, TrackList("playlist", "x", "L", tuple(songs)),
                          Memory({"s2": Remembered("skipped"), "s1": Remembered("confirmed", catalogue[0], 0.9)}),
                          title="L")
    assert [(e.status, e.how) for e in again.entries][:2] == [("matched", "confirmed"), ("skipped", "remembered")]
    assert {s.track_id for s, _, _ in again.decisions} == {"s3"}


def test_artist_keys_and_the_prefilter():
    assert artist_keys(["The Beatles & Billy Preston"]) == ("beatles and billy preston", "beatles", "billy preston")
    index = CandidateIndex.of([item(1, "Hey Jude - Remastered 2015", "The Beatles"), item(2, "Hey You", "Pink Floyd"),
                               item(3, "Jude", "Beatles"), item(4, "Hey Jude", "Someone Else")])
    found = [t.item_id for t in index.candidates(song(1, "Hey Jude", "Beatles"))]
    assert found[0] == "i1" and "i4" in found and "i2" not in found
    assert index.candidates(song(2, "Unknown", "Nobody")) == []
    typo = [t.item_id for t in index.candidates(song(3, "Hey Jude", "The Beatels"))]
    assert typo[0] == "i1"


@pytest.mark.parametrize("mode", ["mirror", "merge"])
def test_apply_writes_the_desired_order(mode):
    catalogue = [item(1, "One", "A"), item(2, "Two", "A")]
    service = FakeService(catalogue)
    plan = plan_playlist(service, TrackList("playlist", "x", "L", (song(2, "Two", "A"), song(1, "One", "A"))),
                         Memory(), title="L", mode=mode)
    report = plan.apply()
    assert service.written == [["i2", "i1"]] and report.created and report.items == 2
    assert report.to_json()["mode"] == mode
