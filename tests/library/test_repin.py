"""Re-pinning a track: a new source with the same bytes as the one its file was made from keeps the file."""

from __future__ import annotations

from tunecrate.media.tagging import read_tags


def _stat(path):
    st = path.stat()
    return st.st_ino, st.st_mtime_ns, st.st_size


def test_a_repin_to_the_same_bytes_keeps_the_file(library, demo, world, media_cache):
    track_id = demo.track_ids[2]
    first = world.audio("repin-a", 2, 400)
    library.match_set(track_id, first)
    assert library.load_track(track_id).counts["downloaded"] == 1
    path = library.layout.track_path(track_id)
    before, data = _stat(path), path.read_bytes()
    assert read_tags(path).source_digest.size == (media_cache / "media" / "repin-a.webm").stat().st_size

    # The same file under another URL (a stand-in restarted on another port, a mirror of the host).
    same = world.media.add_file("elsewhere/repin-a.webm", media_cache / "media" / "repin-a.webm")
    assert same != first
    library.match_set(track_id, same)
    report = library.load_track(track_id)
    assert (report.counts["downloaded"], report.counts["present"]) == (0, 1), report.to_json()
    assert _stat(path) == before and path.read_bytes() == data
    assert library.track_detail(track_id).source_url == same
    assert report.ok and not report.failures

    # Retagging keeps the digest, so the rule still holds afterwards.
    assert library.retag(track_id, fetch_covers=False).retagged == 1
    retagged = _stat(path)
    library.match_set(track_id, first)
    assert library.load_track(track_id).counts["present"] == 1
    assert _stat(path) == retagged

    # Other bytes are another recording: the file is replaced.
    library.match_set(track_id, world.audio("repin-b", 2, 800))
    assert library.load_track(track_id).counts["downloaded"] == 1
    assert path.read_bytes() != data
