"""The source registry: which sources can read a reference, in which order."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tunecrate.core.errors import ConfigurationError, InvalidReference
from tunecrate.core.ids import Reference, parse_reference
from tunecrate.core.settings import Settings
from tunecrate.core.types import TrackList
from tunecrate.sources import SOURCES, SourceRegistry, source_class
from tunecrate.sources.base import Source
from tunecrate.sources.spotify_api import SpotifyApiSource


@dataclass
class ShelfSource:
    """A source of a Python program's own that reads Spotify playlists too."""

    name: str = "shelf"
    settings_model = None
    closed: bool = False

    @classmethod
    def from_settings(cls, settings):
        return cls()

    def suitable(self, ref: Reference) -> bool:
        return ref.is_spotify and ref.kind == "playlist"

    def fetch(self, ref: Reference) -> TrackList:
        return TrackList("playlist", ref.id, "From the shelf", source=self.name)

    def snapshot(self, ref: Reference) -> str | None:
        return None

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def registry(tmp_path):
    shelf = ShelfSource()
    return SourceRegistry(Settings.load(environ={}, data_root=tmp_path), {"shelf": shelf}), shelf


def test_names_map_to_their_classes():
    assert source_class("spotify-api") is SpotifyApiSource
    assert list(SOURCES)[0] == "spotify-api"
    assert isinstance(SpotifyApiSource.from_settings(Settings.load(environ={})), Source)


def test_an_unknown_name_is_one_line_listing_the_known_ones(registry):
    with pytest.raises(ConfigurationError) as caught:
        source_class("spotify-radio")
    assert str(caught.value) == f"unknown source 'spotify-radio'; known sources are {', '.join(SOURCES)}"
    with pytest.raises(ConfigurationError, match="known sources are spotify-api"):
        registry[0].get("nope")


def test_suitable_sources_in_order_and_a_preferred_one_first(registry):
    reg, shelf = registry
    ref = parse_reference("spotify:playlist:4aawyAB9vmqN3uQ7FjRGTy")
    names = [s.name for s in reg.for_reference(ref)]
    assert names[0] == "shelf" and len(names) >= 2  # a program's own source first, then the registry's
    other = names[1]
    preferred = [s.name for s in reg.for_reference(ref, prefer=other)]
    assert preferred[0] == other and "shelf" in preferred and len(preferred) == len(names)
    assert [s.name for s in reg.for_reference(ref, prefer="gone")] == names
    track = parse_reference("spotify:track:4uLU6hMCjMI75M1A2tKUQC")
    assert "shelf" not in [s.name for s in reg.for_reference(track)]


def test_a_reference_no_source_takes_is_refused_in_one_line(registry):
    reg, _ = registry
    with pytest.raises(InvalidReference) as caught:
        reg.for_reference(Reference("playlist", "deezer-12345", "deezer", "deezer:12345"))
    assert str(caught.value) == "no source can read 'deezer:12345'"


def test_close_closes_every_built_source(registry):
    reg, shelf = registry
    reg.get("spotify-api")
    reg.close()
    assert shelf.closed
