"""Metadata sources: what a playlist, album, track or Liked Songs holds, registered in one place.

:data:`SOURCES` maps each source's name to its class (``module:Class``,
imported on first use so that none of them costs anything at start-up). A
new source is one module implementing :class:`~tunecrate.sources.base.Source`
plus one line here; see the README's Architecture section.

:class:`SourceRegistry` builds the sources of a library from its settings and
picks, for a :class:`~tunecrate.core.ids.Reference`, the suitable ones in
order: a preferred source first (the one a playlist was loaded from, or the
user's choice), then the others in registry order. A source whose
``explicit`` attribute is True (one that starts a browser) is picked only
when it is the preferred one.
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING

from tunecrate.core.errors import ConfigurationError, InvalidReference

if TYPE_CHECKING:
    from tunecrate.core.ids import Reference
    from tunecrate.core.settings import Settings, SettingsModel
    from tunecrate.core.types import TrackInfo
    from tunecrate.sources.base import Source

__all__ = ["SOURCES", "SourceRegistry", "settings_models", "source_class"]

#: Source name → ``"module:Class"``, in the order they are tried.
SOURCES: dict[str, str] = {
    "spotify-api": "tunecrate.sources.spotify_api:SpotifyApiSource",
    "spotify-web": "tunecrate.sources.spotify_web:SpotifyWebSource",
    "spotify-export": "tunecrate.sources.spotify_export:SpotifyExportSource",
    "exportify": "tunecrate.sources.exportify:ExportifySource",
    "spotify-browser": "tunecrate.sources.spotify_browser:SpotifyBrowserSource",
    "plex": "tunecrate.targets.plex:PlexSource",
    "subsonic": "tunecrate.targets.subsonic:SubsonicSource",
    "m3u": "tunecrate.targets.m3u8:M3USource",
}


def source_class(name: str) -> type[Source]:
    """The class of the source called ``name``. Raises :class:`ConfigurationError` for an unknown name."""
    try:
        module, _, attr = SOURCES[name].partition(":")
    except KeyError:
        raise ConfigurationError(f"unknown source {name!r}; known sources are {', '.join(SOURCES)}") from None
    return getattr(importlib.import_module(module), attr)


def settings_models() -> list[type[SettingsModel]]:
    """The settings model of every registered source (for start-up validation)."""
    models = (source_class(name).settings_model for name in SOURCES)
    return list(dict.fromkeys(m for m in models if m is not None))


class SourceRegistry:
    """The sources of one library, built from its settings on first use and kept until :meth:`close`.

    ``overrides`` maps source names to ready instances (a Python program's own
    source, or one in a test).
    """

    def __init__(self, settings: Settings, overrides: dict[str, Source] | None = None) -> None:
        self._settings = settings
        self._built: dict[str, Source] = dict(overrides or {})
        self._building = threading.Lock()  # the pipeline's threads ask for sources too (:meth:`complete`)

    def get(self, name: str) -> Source:
        """The source called ``name``. Raises :class:`ConfigurationError` for an unknown name."""
        with self._building:
            if name not in self._built:
                self._built[name] = source_class(name).from_settings(self._settings)
            return self._built[name]

    def names(self) -> list[str]:
        return list(dict.fromkeys([*self._built, *SOURCES]))

    def for_reference(self, ref: Reference, prefer: str | None = None) -> list[Source]:
        """The sources that can read ``ref``, best first; ``prefer`` (a name) leads when it is suitable.

        An ``explicit`` source is among them only when it is ``prefer``. Raises :class:`InvalidReference` when no source takes ``ref``.
        """
        order = self.names()
        if prefer in order:
            order.remove(prefer)
            order.insert(0, prefer)
        found = [source for source in map(self.get, order)
                 if source.suitable(ref) and (source.name == prefer or not getattr(source, "explicit", False))]
        if not found:
            raise InvalidReference(f"no source can read {ref.text or ref.id!r}")
        return found

    def complete(self, info: TrackInfo) -> TrackInfo:
        """``info`` with what it lacks filled by each source that offers ``complete`` (see "Completing a
        track" in :mod:`tunecrate.sources.base`), in registry order; unchanged when none can. Raises nothing."""
        for name in self.names():
            if name not in self._built and not callable(getattr(source_class(name), "complete", None)):
                continue
            try:
                source = self.get(name)
            except ConfigurationError:
                continue
            complete = getattr(source, "complete", None)
            if callable(complete):
                info = complete(info)
        return info

    def close(self) -> None:
        for source in self._built.values():
            source.close()
