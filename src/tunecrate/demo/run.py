"""``tunecrate demo``: the main job, end to end, with only the hosts made local.

:func:`demo_world` starts the stand-ins, puts the demo catalogue on them and
yields a :class:`Demo` whose settings point a library at them; the CLI's
``demo`` command then loads and shows the result through the library, as a
user's own program would.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tunecrate.core.settings import Settings
from tunecrate.demo.world import DemoCatalogue, StandIns, build_demo_catalogue

if TYPE_CHECKING:
    from tunecrate.library.library import Library

__all__ = ["Demo", "demo_world"]


@dataclass
class Demo:
    """The running stand-ins (``world``), what is on them (``catalogue``), and ``settings`` that
    point a library at them."""

    world: StandIns
    catalogue: DemoCatalogue
    settings: Settings

    def pin_sources(self, library: Library) -> int:
        """Pin the demo's first tracks (``catalogue.pinned``) to their audio on the media stand-in; return
        how many. The others are left to search (YouTube Music, through the proxy)."""
        for track_id in self.catalogue.pinned:
            library.match_set(track_id, self.catalogue.sources[track_id])
        return len(self.catalogue.pinned)

    def environment(self) -> dict[str, str]:
        """The environment variables that point another process at the stand-ins."""
        return self.world.environment(search=True)


@contextmanager
def demo_world(*, storage_root: Path | None, data_root: Path | None) -> Iterator[Demo]:
    """Run the stand-ins (audio generated in a temporary folder) for as long as the block lasts.

    The library the settings name is the one of ``storage_root``/``data_root``
    (``./storage_data`` and ``./data`` by default), so that ``tunecrate
    tracks`` shows the result afterwards.
    """
    with tempfile.TemporaryDirectory(prefix="tunecrate-demo-") as work, StandIns(Path(work)) as world:
        catalogue = build_demo_catalogue(world)
        settings = Settings.load(storage_root=storage_root, data_root=data_root,
                                 **world.settings_overrides(search=True))
        yield Demo(world, catalogue, settings)
