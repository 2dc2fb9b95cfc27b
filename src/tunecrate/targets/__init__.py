"""Targets: where playlists of the library are written, registered in one place.

:data:`TARGETS` maps each target's name to its class (``module:Class``,
imported on first use). A new target is one module implementing
:class:`~tunecrate.targets.base.Target` plus one line here; see the
README's Architecture section.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from tunecrate.core.errors import ConfigurationError

if TYPE_CHECKING:
    from tunecrate.core.settings import SettingsModel
    from tunecrate.targets.base import Target

__all__ = ["TARGETS", "settings_models", "target_class"]

#: Target name → ``"module:Class"``.
TARGETS: dict[str, str] = {
    "zip": "tunecrate.targets.playlist_zip:ZipTarget",
    "m3u8": "tunecrate.targets.m3u8:M3U8Target",
    "mirror": "tunecrate.targets.mirror:MirrorTarget",
    "plex": "tunecrate.targets.plex:PlexTarget",
    "subsonic": "tunecrate.targets.subsonic:SubsonicTarget",
    "m3u": "tunecrate.targets.m3u8:M3UPlaylistTarget",
    "spotify": "tunecrate.sources.spotify_api:SpotifyTarget",
}


def target_class(name: str) -> type[Target]:
    """The class of the target ``name``. Raises :class:`ConfigurationError` for an unknown name."""
    try:
        module, _, attr = TARGETS[name].partition(":")
    except KeyError:
        raise ConfigurationError(f"unknown target {name!r}; known targets are {', '.join(TARGETS)}") from None
    return getattr(importlib.import_module(module), attr)


def settings_models() -> list[type[SettingsModel]]:
    """The settings model of every registered target (for start-up validation)."""
    models = (target_class(name).settings_model for name in TARGETS)
    return list(dict.fromkeys(m for m in models if m is not None))
