"""The target registry: names to classes; an unknown name is one line listing the known ones."""

from __future__ import annotations

import pytest

from tunecrate.core.errors import ConfigurationError
from tunecrate.targets import TARGETS, target_class
from tunecrate.targets.m3u8 import M3U8Target
from tunecrate.targets.mirror import MirrorTarget
from tunecrate.targets.playlist_zip import ZipTarget


def test_names_map_to_their_classes():
    assert {name: target_class(name) for name in ("zip", "m3u8", "mirror")} == {
        "zip": ZipTarget, "m3u8": M3U8Target, "mirror": MirrorTarget}
    assert all(target_class(name).name == name for name in TARGETS)


@pytest.mark.parametrize("cls", [ZipTarget, M3U8Target, MirrorTarget])
def test_each_target_has_the_protocol(cls):
    assert all(callable(getattr(cls, name, None)) for name in ("from_settings", "plan", "apply"))
    assert hasattr(cls, "settings_model") and isinstance(cls.name, str)


def test_an_unknown_name_is_one_line_listing_the_known_ones():
    with pytest.raises(ConfigurationError) as caught:
        target_class("jellyfin")
    assert str(caught.value) == f"unknown target 'jellyfin'; known targets are {', '.join(TARGETS)}"


def test_the_library_refuses_an_unknown_target_before_reading_anything(library):
    with pytest.raises(ConfigurationError, match="unknown target 'jellyfin'; known targets are zip"):
        library.export(["likes"], "jellyfin")
