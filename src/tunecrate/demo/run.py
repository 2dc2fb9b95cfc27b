"""``tunecrate demo``: the main job, end to end, with only the hosts made local.

:func:`demo_world` starts the stand-ins, puts the demo catalogue on them and
yields a :class:`Demo` whose settings point a library at them; the CLI's
``demo`` command then loads and shows the result through the library, as a
user's own program would. With ``plex=True`` a Plex stand-in runs too: its
music section watches a temporary folder, which Plex knows as ``/data/music``
(``PLEX_PATH_MAP`` maps it), so that a push can mirror the playlist's files
there, have Plex scan them and build the Plex playlist from them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tunecrate.core.settings import Settings
from tunecrate.demo.plex_server import FakePlex
from tunecrate.demo.world import DemoCatalogue, StandIns, build_demo_catalogue

if TYPE_CHECKING:
    from tunecrate.library.library import Library

__all__ = ["Demo", "demo_world"]


@dataclass
class Demo:
    """The running stand-ins (``world``), what is on them (``catalogue``), and ``settings`` that
    point a library at them; ``plex`` and the folder its music section watches (``plex_folder``)
    when the demo runs with Plex."""

    world: StandIns
    catalogue: DemoCatalogue
    settings: Settings
    plex: FakePlex | None = None
    plex_folder: Path | None = None

    def pin_sources(self, library: Library) -> int:
        """Pin every demo track to its audio on the media stand-in; return how many."""
        for track_id, url in self.catalogue.sources.items():
            library.match_set(track_id, url)
        return len(self.catalogue.sources)

    def environment(self) -> dict[str, str]:
        """The environment variables that point another process at the stand-ins."""
        return self.world.environment()


@contextmanager
def demo_world(*, storage_root: Path | None, data_root: Path | None, plex: bool = False) -> Iterator[Demo]:
    """Run the stand-ins (audio generated in a temporary folder) for as long as the block lasts.

    The library the settings name is the one of ``storage_root``/``data_root``
    (``./storage_data`` and ``./data`` by default), so that ``tunecrate
    tracks`` shows the result afterwards. ``plex`` adds the Plex stand-in.
    """
    with tempfile.TemporaryDirectory(prefix="tunecrate-demo-") as work, StandIns(Path(work)) as world:
        catalogue = build_demo_catalogue(world)
        overrides = world.settings_overrides()
        if not plex:
            yield Demo(world, catalogue, Settings.load(storage_root=storage_root, data_root=data_root, **overrides))
            return
        folder = Path(work) / "plex-music"
        folder.mkdir()
        with FakePlex() as server:
            server.add_section("Music", "/data/music", folder=folder)
            overrides.update(plex_url=server.base_url, plex_token=server.token, plex_path_map=(f"{folder}=/data/music",))
            settings = Settings.load(storage_root=storage_root, data_root=data_root, **overrides)
            yield Demo(world, catalogue, settings, server, folder)

