"""Recording providers, registered in one place.

:data:`PROVIDERS` maps each provider's name to its class (``module:Class``,
imported on first use). A new provider is one module implementing
:class:`~tunecrate.providers.base.Provider` plus one line here.

Built-in providers:

- ``"local"``: :class:`tunecrate.providers.local.LocalProvider`, the user's
  own music folders (always searched first when folders are configured);
- ``"ytmusic"``: :class:`tunecrate.providers.ytmusic.YTMusicProvider`
  (YouTube Music search through ytmusicapi);
- ``"youtube"``: :class:`tunecrate.providers.youtube.YouTubeProvider`
  (YouTube search through yt-dlp's ``ytsearch``).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tunecrate.core.errors import ConfigurationError

if TYPE_CHECKING:
    from tunecrate.core.settings import Settings, SettingsModel
    from tunecrate.providers.base import Provider, ProviderContext

__all__ = ["ONLINE", "PROVIDERS", "build_providers", "provider_class", "settings_models"]

#: Provider name → ``"module:Class"``.
PROVIDERS: dict[str, str] = {
    "local": "tunecrate.providers.local:LocalProvider",
    "ytmusic": "tunecrate.providers.ytmusic:YTMusicProvider",
    "youtube": "tunecrate.providers.youtube:YouTubeProvider",
}
#: The providers a user lists in ``TUNECRATE_PROVIDERS`` (``local`` is implied by music folders).
ONLINE = ("ytmusic", "youtube")


def provider_class(name: str) -> type[Provider]:
    """The class of the provider ``name``. Raises :class:`ConfigurationError` for an unknown name."""
    try:
        module, _, attr = PROVIDERS[name].partition(":")
    except KeyError:
        raise ConfigurationError(f"unknown provider {name!r}; known providers are {', '.join(PROVIDERS)}") from None
    return getattr(importlib.import_module(module), attr)


def settings_models() -> list[type[SettingsModel]]:
    """The settings model of every registered provider (for start-up validation)."""
    models = (provider_class(name).settings_model for name in PROVIDERS)
    return list(dict.fromkeys(m for m in models if m is not None))


def build_providers(names: Sequence[str], settings: Settings, context: ProviderContext) -> list[Provider]:
    """The providers to search, in order: ``local`` first when it has folders, then ``names``.

    A name given twice yields one provider. Building is cheap and offline.
    Raises :class:`ConfigurationError` for an unknown name (the message lists
    the known ones).
    """
    unknown = [n for n in names if n not in PROVIDERS or n == "local"]
    if unknown:
        raise ConfigurationError(f"unknown provider(s): {', '.join(map(repr, unknown))}; "
                                 f"known providers are {', '.join(ONLINE)}")
    local = provider_class("local")
    found = [local.from_settings(settings, context)] if local.wanted(settings) else []
    return found + [provider_class(n).from_settings(settings, context) for n in dict.fromkeys(names)]
