"""Targets: where playlists of the library are written, registered in one place.

:data:`TARGETS` maps each target's name to its class (``module:Class``,
imported on first use). A new target is one module implementing
:class:`~tunecrate.targets.base.Target` plus one line here; see the
README's Architecture section. What a target can do beyond exports (``push``,
a transfer's side, the scan of a mirrored folder) is said by its class's
``capabilities`` (:data:`CAPABILITIES`), which :func:`targets_with` reads: the
commands list no target names of their own.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from tunecrate.core.errors import ConfigurationError

if TYPE_CHECKING:
    from tunecrate.core.settings import SettingsModel
    from tunecrate.targets.base import Target

__all__ = ["CAPABILITIES", "TARGETS", "has_capability", "settings_models", "target_class", "targets_with"]

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

#: What a target's ``capabilities`` may name: ``"push"`` (``tunecrate push --to NAME`` makes a playlist
#: there equal to a library playlist), ``"transfer"`` (a transfer reads and writes the side
#: ``NAME:<playlist>``), ``"scan"`` (``push --mirror``: the target's ``scan(folder, library)`` asks the
#: service to scan the folder a mirror just filled, and waits for it).
CAPABILITIES = ("push", "transfer", "scan")


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


def _known(capabilities: tuple[str, ...]) -> None:
    unknown = [c for c in capabilities if c not in CAPABILITIES]
    if unknown:
        raise ValueError(f"unknown capability {unknown[0]!r}; capabilities are {', '.join(CAPABILITIES)}")


def has_capability(name: str, capability: str) -> bool:
    """Whether the registered target ``name`` declares ``capability`` (False for a name not in
    :data:`TARGETS`). Imports that target's module only. Raises ``ValueError`` for an unknown capability."""
    _known((capability,))
    return name in TARGETS and capability in target_class(name).capabilities


def targets_with(*capabilities: str) -> list[str]:
    """The names of the registered targets declaring any of ``capabilities``, in registry order
    (imports every target's module). Raises ``ValueError`` for an unknown capability."""
    _known(capabilities)
    return [name for name in TARGETS if target_class(name).capabilities & set(capabilities)]
