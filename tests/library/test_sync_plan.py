from tunecrate.library.sync import diff_entries


def ids(entries):
    return [e.track_id for e in entries]


def plan(old, new):
    return diff_entries([(t, t.upper()) for t in old], [(t, t.upper()) for t in new])


def test_no_change():
    added, removed, moved, kept = plan("abc", "abc")
    assert (added, removed, moved, kept) == ([], [], [], 3)


def test_insertion_at_top_moves_nothing():
    added, removed, moved, kept = plan("abc", "xabc")
    assert ids(added) == ["x"] and added[0].index == 0 and added[0].title == "X"
    assert removed == [] and moved == [] and kept == 3


def test_removal_and_move():
    added, removed, moved, kept = plan("abcd", "dab")
    assert ids(removed) == ["c"] and removed[0].index == 2
    assert ids(moved) == ["d"] and moved[0].index == 0
    assert kept == 3 and added == []


def test_duplicates_are_counted_per_entry():
    added, removed, moved, kept = plan("aba", "abab")
    assert ids(added) == ["b"] and added[0].index == 3 and kept == 3
    added, removed, moved, kept = plan("aab", "ab")
    assert ids(removed) == ["a"] and kept == 2


def test_swap_is_one_move():
    added, removed, moved, kept = plan("ab", "ba")
    assert len(moved) == 1 and kept == 2


def test_from_empty():
    added, removed, moved, kept = plan("", "aab")
    assert ids(added) == ["a", "a", "b"] and kept == 0 and moved == []
