"""tunecrate: mirror Spotify playlists, albums, tracks and Liked Songs into a local library of tagged MP3s.

The public entry point is :class:`Library`::

    from tunecrate import Library
    lib = Library.open()            # settings from the environment
    report = lib.load("https://open.spotify.com/playlist/...")

Heavy modules (yt-dlp, spotipy, SQLModel) are imported lazily so that the CLI
starts quickly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["Library", "Settings", "__version__"]

if TYPE_CHECKING:
    from tunecrate.core.settings import Settings
    from tunecrate.library.library import Library


def __getattr__(name: str):
    if name == "Library":
        from tunecrate.library.library import Library

        return Library
    if name == "Settings":
        from tunecrate.core.settings import Settings

        return Settings
    raise AttributeError(name)
