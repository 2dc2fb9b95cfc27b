"""The sync engine refuses a read of Liked Songs that lost them (empty, or far shorter than the last one)."""

from __future__ import annotations

import sqlite3

import pytest

from tunecrate.core.errors import ServiceError
from tunecrate.core.settings import Settings
from tunecrate.core.types import TrackInfo, TrackList
from tunecrate.demo.spotify_server import fake_id
from tunecrate.library.library import Library
from tunecrate.library.sync import LIKES_DROP_SLACK, check_likes_read


class ListedLikes:
    """A source of Liked Songs whose list the test sets; it counts its reads."""

    name = "listed-likes"
    settings_model = None
    explicit = True

    def __init__(self, count: int) -> None:
        self.tracks = [TrackInfo(fake_id(f"liked-{i}"), f"Liked {i}", (f"Artist {i}",)) for i in range(count)]
        self.reads = 0

    def suitable(self, ref):
        return ref.kind == "likes"

    def fetch(self, ref):
        self.reads += 1
        return TrackList(kind="likes", id="likes", title="Liked Songs", entries=tuple(self.tracks), source=self.name)

    def snapshot(self, ref):
        return None

    def close(self):
        pass


def _likes(count: int) -> TrackList:
    return TrackList(kind="likes", id="likes", title="Liked Songs", source="spotify-browser",
                     entries=tuple(TrackInfo(fake_id(f"t{i}"), f"T{i}", ("A",)) for i in range(count)))


@pytest.mark.parametrize("held, read, refused", [
    (0, 0, False),          # nothing held: nothing to lose
    (500, 0, True),         # an empty read is refused at any size
    (3, 0, True),
    (500, 249, True),       # under half, and over 10 fewer
    (500, 250, False),      # exactly half is kept
    (20, 9, True),          # under half, 11 fewer
    (20, 10, False),        # exactly half
    (8, 1, False),          # a short list may lose 7 songs
    (500, 480, False),
    (500, 600, False),
])
def test_threshold(held, read, refused):
    if refused:
        with pytest.raises(ServiceError) as info:
            check_likes_read(_likes(read), held, 0.5)
        message = str(info.value)
        assert "\n" not in message and f"read {read} of the {held}" in message
        assert "spotify-browser" in message and "TUNECRATE_LIKES_MIN_KEPT=0" in message
    else:
        check_likes_read(_likes(read), held, 0.5)


def test_slack_is_ten_and_zero_turns_the_check_off():
    assert LIKES_DROP_SLACK == 10
    check_likes_read(_likes(0), 500, 0.0)
    check_likes_read(_likes(100), 500, 0.2)
    with pytest.raises(ServiceError):
        check_likes_read(_likes(99), 500, 0.2)


@pytest.fixture
def lib_with(tmp_path):
    opened = []

    def open_library(source, **overrides):
        settings = Settings.load(environ={}, storage_root=tmp_path / "storage", data_root=tmp_path / "data",
                                 providers=(), workers=2, **overrides)
        lib = Library(settings, sources={source.name: source})
        opened.append(lib)
        return lib

    yield open_library
    for lib in opened:
        lib.close()


def _entries(tmp_path):
    with sqlite3.connect(tmp_path / "data" / "tunecrate.sqlite3") as db:
        return [r[0] for r in db.execute(
            "select track_id from playlistentry where playlist_id = 'likes' order by position")]


def test_an_empty_or_truncated_read_changes_nothing(lib_with, tmp_path):
    source = ListedLikes(60)
    lib = lib_with(source)
    first = lib.load_likes(source=source.name)
    assert first.track_count == 60 and first.source == "listed-likes"
    before = _entries(tmp_path)
    assert len(before) == 60
    document = (tmp_path / "storage" / "playlists" / "likes.json").read_bytes()

    full = list(source.tracks)
    for broken in ([], full[:20]):
        source.tracks = broken
        for dry_run in (True, False):
            with pytest.raises(ServiceError, match="refused to sync likes"):
                lib.sync("likes", dry_run=dry_run)
        assert _entries(tmp_path) == before
        assert (tmp_path / "storage" / "playlists" / "likes.json").read_bytes() == document
    # sync --all reports the refusal for likes and goes on
    results = dict(lib.sync_all())
    assert isinstance(results["likes"], ServiceError)
    # A real, modest change goes through, through the remembered source.
    source.tracks = full[:45]
    report = lib.sync("likes")
    assert report.source == "listed-likes" and _entries(tmp_path) == before[:45]


def test_the_guard_can_be_turned_off(lib_with, tmp_path):
    source = ListedLikes(30)
    lib_with(source).load_likes(source=source.name)
    source.tracks = []
    lib = lib_with(source, likes_min_kept=0)
    assert lib.sync("likes").track_count == 0
    assert _entries(tmp_path) == []


def test_other_playlists_are_not_guarded(lib_with, tmp_path):
    """The rule is about Liked Songs; an emptied playlist is followed as before."""

    class Listed(ListedLikes):
        name = "listed"
        explicit = False

        def suitable(self, ref):
            return ref.kind == "playlist"

        def fetch(self, ref):
            return TrackList(kind="playlist", id=ref.id, title="P", entries=tuple(self.tracks), source=self.name)

    source = Listed(30)
    lib = lib_with(source)
    pid = fake_id("some-playlist")
    lib.load_playlist(pid, source="listed")
    source.tracks = []
    assert lib.sync(pid).track_count == 0
