"""``tunecrate demo``: the main job, end to end, with only the hosts made local.

:func:`demo_world` starts the stand-ins, puts a public playlist of more than
100 entries on them and yields a :class:`Demo` whose settings point a library
at them with no Spotify app credentials, as a new user starts: the playlist
is read from its public web pages (the embed page, then the partner API's
pages of 100). Most of its tracks are pinned to their audio on the media
host; the first :data:`DEMO_SEARCHED` are left to search, which finds them on
YouTube Music through ``TUNECRATE_PROXY`` and downloads them from YouTube
with the JavaScript challenges solved. The CLI's ``demo`` command then loads
and shows the result through the library, as a user's own program would.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tunecrate.core.settings import Settings
from tunecrate.demo.world import PublicPlaylist, StandIns, build_public_playlist

if TYPE_CHECKING:
    from tunecrate.library.library import Library

__all__ = ["DEMO_PLAYLIST_SIZE", "DEMO_SEARCHED", "Demo", "demo_world"]

#: Tracks in the demo's public playlist (it also holds four entries that are not tracks).
DEMO_PLAYLIST_SIZE = 108
#: How many of them the demo leaves to search (YouTube Music, through the proxy).
DEMO_SEARCHED = 4


@dataclass
class Demo:
    """The running stand-ins (``world``), the public playlist on them (``playlist``), and ``settings``
    that point a library at them without Spotify credentials, with search on."""

    world: StandIns
    playlist: PublicPlaylist
    settings: Settings

    def pin_sources(self, library: Library) -> int:
        """Pin the tracks search is not meant to find to their audio on the media stand-in; return how
        many. The others are found by search."""
        for track_id in self.playlist.pinned:
            library.match_set(track_id, self.playlist.sources[track_id])
        return len(self.playlist.pinned)

    def environment(self) -> dict[str, str]:
        """The environment variables that point another process at the stand-ins."""
        return self.world.environment(credentials=False, search=True)


@contextmanager
def demo_world(*, storage_root: Path | None, data_root: Path | None) -> Iterator[Demo]:
    """Run the stand-ins (audio generated in a temporary folder) for as long as the block lasts.

    The library the settings name is the one of ``storage_root``/``data_root``
    (``./storage_data`` and ``./data`` by default), so that ``tunecrate
    tracks`` shows the result afterwards.
    """
    with tempfile.TemporaryDirectory(prefix="tunecrate-demo-") as work, StandIns(Path(work)) as world:
        playlist = build_public_playlist(world, size=DEMO_PLAYLIST_SIZE, searched=DEMO_SEARCHED)
        settings = Settings.load(storage_root=storage_root, data_root=data_root,
                                 **world.settings_overrides(credentials=False, search=True))
        yield Demo(world, playlist, settings)
