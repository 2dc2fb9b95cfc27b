"""``tunecrate demo``: the main job, end to end, with only the hosts made local.

:func:`demo_world` starts the stand-ins, puts the demo catalogue on them and
yields a :class:`Demo` whose settings point a library at them; the CLI's
``demo`` command then loads and shows the result through the library, as a
user's own program would.

The stand-ins listen on the ports of the previous run when they are free
(kept in ``<data_root>/demo-ports.json``), and the demo audio is generated
the same way every time, so that running the demo again finds every track
present and downloads nothing.
"""

from __future__ import annotations

import json
import shlex
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from tunecrate.core.settings import Settings
from tunecrate.demo.media_server import MediaServer
from tunecrate.demo.spotify_server import FakeSpotify
from tunecrate.demo.world import DemoCatalogue, StandIns, build_demo_catalogue
from tunecrate.storage.atomic import write_json

if TYPE_CHECKING:
    from tunecrate.library.library import Library

__all__ = ["PORTS_FILE", "Demo", "demo_world"]

#: Where the stand-ins' ports are kept between runs, under the data root.
PORTS_FILE = "demo-ports.json"

S = TypeVar("S")


@dataclass
class Demo:
    """The running stand-ins (``world``), what is on them (``catalogue``), and ``settings`` that
    point a library at them."""

    world: StandIns
    catalogue: DemoCatalogue
    settings: Settings

    def pin_sources(self, library: Library) -> int:
        """Pin every demo track to its audio on the media stand-in (as pins of the demo, not the
        user's); return how many."""
        for track_id, url in self.catalogue.sources.items():
            library.decisions.pin(track_id, url, by="demo")
        return len(self.catalogue.sources)

    def environment(self) -> dict[str, str]:
        """Every environment variable that points another process at the stand-ins and at the demo's
        library (client id and secret, API URLs, providers, storage and data roots)."""
        return {**self.world.environment(), "TUNECRATE_STORAGE_ROOT": str(self.settings.storage_root),
                "TUNECRATE_DATA_ROOT": str(self.settings.data_root)}

    def export_block(self) -> str:
        """:meth:`environment` as one ``export`` command a POSIX shell accepts when pasted."""
        pairs = [f"{name}={shlex.quote(value)}" for name, value in self.environment().items()]
        return "export " + " \\\n       ".join(pairs) + "\n"


def _saved_ports(path: Path) -> dict[str, int]:
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict):
        return {}
    return {k: v for k, v in doc.items() if isinstance(v, int) and 0 < v < 65536}


def _listen(factory: Callable[..., S], port: int | None) -> S:
    """A server on ``port`` when it is free, else on a port the system picks."""
    if port:
        try:
            return factory(port=port)
        except OSError:
            pass
    return factory(port=0)


@contextmanager
def demo_world(*, storage_root: Path | None, data_root: Path | None) -> Iterator[Demo]:
    """Run the stand-ins (audio generated in a temporary folder) for as long as the block lasts.

    The library the settings name is the one of ``storage_root``/``data_root``
    (``./storage_data`` and ``./data`` by default), so that ``tunecrate
    tracks`` shows the result afterwards. Raises
    :class:`~tunecrate.core.errors.StorageError` when the ports file cannot be written.
    """
    base = Settings.load(storage_root=storage_root, data_root=data_root)
    ports_file = base.data_root / PORTS_FILE
    saved = _saved_ports(ports_file)
    with ExitStack() as stack:
        spotify = _listen(FakeSpotify, saved.get("spotify"))
        stack.callback(spotify.stop)
        media = _listen(MediaServer, saved.get("media"))
        stack.callback(media.stop)
        work = stack.enter_context(tempfile.TemporaryDirectory(prefix="tunecrate-demo-"))
        world = StandIns(Path(work), spotify=spotify, media=media)
        spotify.start()
        media.start()
        base.data_root.mkdir(parents=True, exist_ok=True)
        write_json(ports_file, {"spotify": spotify.port, "media": media.port})
        catalogue = build_demo_catalogue(world)
        yield Demo(world, catalogue, base.with_overrides(**world.settings_overrides()))
