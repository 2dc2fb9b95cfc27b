"""What a target can do beyond exports is said by its class, in the registry, and nowhere else.

A new playlist service is one module and one line in ``targets.TARGETS``: ``push --to``, transfer
sides and ``review --target`` find it through the capabilities its class declares. The service here
lives in memory (a module of the tests, registered for the test only).
"""

from __future__ import annotations

import json

import pytest

from tunecrate.core.errors import ConfigurationError, InvalidReference
from tunecrate.core.service import (
    Operation, PlaylistPlan, RemotePlaylist, RemoteTrack, WriteOutcome, order_changes, plan_playlist,
)
from tunecrate.demo.world import DEMO_SONGS
from tunecrate.library.library import Library
from tunecrate.library.transfers import parse_side
from tunecrate.targets import CAPABILITIES, TARGETS, target_class, targets_with


class MemoryService:
    """A playlist service in memory: every demo song as an item ``m<n>``, playlists by title."""

    name = provider = "memory"
    indexed = False
    exact = "path"
    playlists: dict[str, list[str]] = {}
    tracks = {f"m{n}": RemoteTrack(f"m{n}", title, artists, "Songs From 127.0.0.1", duration_ms=seconds * 1000)
              for n, (title, artists, seconds, _) in enumerate(DEMO_SONGS)}

    def find_playlist(self, title):
        if title not in self.playlists:
            return None
        items = self.playlists[title]
        return RemotePlaylist(title, title, tuple((str(n), self.tracks[i]) for n, i in enumerate(items)))

    def exact_matches(self, tracks, library):
        return {}

    def resolve(self, item):
        return self.tracks.get(item.item_id)

    def search(self, track):
        return list(self.tracks.values())

    def operations(self, playlist, title, desired):
        if playlist is None:
            return [Operation("create", tuple(desired))] if desired else []
        changes = order_changes([(e, t.item_id) for e, t in playlist.entries], desired)
        return [] if changes.unchanged else [Operation("replace", tuple(desired))]

    def write(self, playlist, title, desired, progress=None):
        if not self.operations(playlist, title, desired):
            return WriteOutcome(title)
        self.playlists[title] = list(desired)
        return WriteOutcome(title, created=playlist is None, added=len(desired), writes=1)


class MemoryTarget:
    """Pushes and transfers into :class:`MemoryService`; no ``scan``."""

    name = "memory"
    settings_model = None
    capabilities = frozenset({"push", "transfer"})

    def __init__(self, title, mode):
        self.title, self.mode, self.service = title, mode, MemoryService()

    @classmethod
    def from_settings(cls, settings, **options):
        return cls(options.get("name"), options.get("mode", "mirror"))

    def plan(self, lists, library) -> PlaylistPlan:
        (tracks,) = lists
        return plan_playlist(self.service, tracks, library, title=self.title or tracks.title, mode=self.mode)

    def apply(self, plan):
        return plan.apply()

    def close(self):
        pass


@pytest.fixture
def memory(monkeypatch):
    """``memory`` registered as a target, with one registry line; its playlists start empty."""
    monkeypatch.setitem(TARGETS, "memory", f"{__name__}:MemoryTarget")
    monkeypatch.setattr(MemoryService, "playlists", {})
    return MemoryService.playlists


def test_the_registry_says_which_targets_push_transfer_and_scan():
    assert targets_with("push") == ["plex", "subsonic"]
    assert targets_with("transfer") == ["plex", "subsonic", "m3u", "spotify"]
    assert targets_with("scan") == ["plex"]
    assert targets_with("push", "transfer") == ["plex", "subsonic", "m3u", "spotify"]
    for name in TARGETS:
        cls = target_class(name)
        assert cls.capabilities <= set(CAPABILITIES), name
        assert ("scan" in cls.capabilities) == callable(getattr(cls, "scan", None)), name
    with pytest.raises(ValueError, match="unknown capability 'pull'"):
        targets_with("pull")


def test_a_registered_playlist_service_is_pushed_to_and_transferred_into(memory, settings, demo):
    with Library(settings) as lib:
        lib.load_playlist(demo.playlist_url)
        result = lib.push(demo.playlist_id, "memory", name="Mix")
        order = [3, 0, 5, 1, 4, 2]                  # the demo playlist's songs, in its order
        assert memory["Mix"] == [f"m{n}" for n in order] and result.report.created

        assert parse_side("memory:Road Trip").service == "memory"
        memory["Road Trip"] = ["m3"]
        plan = lib.plan_transfer(f"local:{demo.playlist_id}", "memory:Road Trip")
        assert len(plan.on_both) == 1 and len(plan.only_on_from) == 5
        assert lib.apply_transfer(plan).writes == 1
        assert memory["Road Trip"] == [f"m{n}" for n in order]

        with pytest.raises(ConfigurationError) as exc:
            lib.push(demo.playlist_id, "memory", mirror=settings.storage_root / "mirror")
        assert str(exc.value) == "--mirror needs a target that scans the mirrored folder: --to plex"
        assert not (settings.storage_root / "mirror").exists()
        with pytest.raises(ConfigurationError) as exc:
            lib.push(demo.playlist_id, "m3u")
        assert str(exc.value) == "cannot push to 'm3u'; push takes --to plex, subsonic or memory"


def test_sides_and_review_targets_follow_the_registry(memory, cli, monkeypatch):
    with pytest.raises(InvalidReference) as exc:
        parse_side("zip:out.zip")                   # a target, but not a playlist service
    sides = str(exc.value).partition("; use ")[2]
    assert sides == ("local:<id>, plex:<playlist>, subsonic:<playlist>, m3u:<playlist>, spotify:<playlist> or "
                     "memory:<playlist>")
    with pytest.raises(InvalidReference):
        parse_side("tidal:123")                     # not a target at all
    assert cli("load-local").exit_code == 0  # an empty library: a listing creates none
    assert json.loads(cli("review", "--target", "memory", "--json").stdout) == []
    result = cli("review", "--target", "zip", "--json")
    assert result.exit_code == 2 and "--target is one of plex, subsonic, m3u, spotify, memory" in result.stderr
