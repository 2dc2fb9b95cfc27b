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

The stand-ins whose addresses end up in the library (the media host, the
Spotify pages) listen on the ports of the previous run when they are free
(kept in ``<data_root>/demo-ports.json``), and the demo audio is generated
the same way every time, so that running the demo again finds every track
present and downloads nothing.

With ``plex=True`` a Plex stand-in runs too: its music section watches a
temporary folder, which Plex knows as ``/data/music`` (``PLEX_PATH_MAP`` maps
it), so that a push can mirror the playlist's files there, have Plex scan
them and build the Plex playlist from them.
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
from tunecrate.demo.plex_server import FakePlex
from tunecrate.demo.spotify_server import FakeSpotify
from tunecrate.demo.spotify_web_server import FakeSpotifyWeb
from tunecrate.demo.world import PublicPlaylist, StandIns, build_public_playlist
from tunecrate.storage.atomic import write_json

if TYPE_CHECKING:
    from tunecrate.library.library import Library

__all__ = ["DEMO_PLAYLIST_SIZE", "DEMO_SEARCHED", "PORTS_FILE", "Demo", "demo_world"]

#: Tracks in the demo's public playlist (it also holds four entries that are not tracks).
DEMO_PLAYLIST_SIZE = 108
#: How many of them the demo leaves to search (YouTube Music, through the proxy).
DEMO_SEARCHED = 4
#: Where the stand-ins' ports are kept between runs, under the data root.
PORTS_FILE = "demo-ports.json"

S = TypeVar("S")


@dataclass
class Demo:
    """The running stand-ins (``world``), the public playlist on them (``playlist``), and ``settings``
    that point a library at them without Spotify credentials, with search on; ``plex`` and the
    folder its music section watches (``plex_folder``) when the demo runs with Plex."""

    world: StandIns
    playlist: PublicPlaylist
    settings: Settings
    plex: FakePlex | None = None
    plex_folder: Path | None = None

    def pin_sources(self, library: Library) -> int:
        """Pin the tracks search is not meant to find to their audio on the media stand-in (as pins of
        the demo, not the user's); return how many. The others are found by search."""
        for track_id in self.playlist.pinned:
            library.decisions.pin(track_id, self.playlist.sources[track_id], by="demo")
        return len(self.playlist.pinned)

    def environment(self) -> dict[str, str]:
        """Every environment variable that points another process at the stand-ins and at the demo's
        library (URLs, proxy and CA, providers, storage and data roots)."""
        return {**self.world.environment(credentials=False, search=True),
                "TUNECRATE_STORAGE_ROOT": str(self.settings.storage_root),
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
def demo_world(*, storage_root: Path | None, data_root: Path | None, plex: bool = False) -> Iterator[Demo]:
    """Run the stand-ins (audio generated in a temporary folder) for as long as the block lasts.

    The library the settings name is the one of ``storage_root``/``data_root``
    (``./storage_data`` and ``./data`` by default), so that ``tunecrate
    tracks`` shows the result afterwards. ``plex`` adds the Plex stand-in. Raises
    :class:`~tunecrate.core.errors.StorageError` when the ports file cannot be written.
    """
    base = Settings.load(storage_root=storage_root, data_root=data_root)
    ports_file = base.data_root / PORTS_FILE
    saved = _saved_ports(ports_file)
    with ExitStack() as stack:
        spotify = _listen(FakeSpotify, saved.get("spotify"))
        web = _listen(lambda port: FakeSpotifyWeb(spotify, port=port), saved.get("web"))
        media = _listen(MediaServer, saved.get("media"))
        work = stack.enter_context(tempfile.TemporaryDirectory(prefix="tunecrate-demo-"))
        world = stack.enter_context(StandIns(Path(work), spotify=spotify, web=web, media=media))
        base.data_root.mkdir(parents=True, exist_ok=True)
        write_json(ports_file, {"spotify": spotify.port, "web": web.port, "media": media.port})
        playlist = build_public_playlist(world, size=DEMO_PLAYLIST_SIZE, searched=DEMO_SEARCHED)
        overrides = world.settings_overrides(credentials=False, search=True)
        if not plex:
            yield Demo(world, playlist, base.with_overrides(**overrides))
            return
        folder = Path(work) / "plex-music"
        folder.mkdir()
        server = stack.enter_context(FakePlex())
        server.add_section("Music", "/data/music", folder=folder)
        overrides.update(plex_url=server.base_url, plex_token=server.token, plex_path_map=(f"{folder}=/data/music",))
        yield Demo(world, playlist, base.with_overrides(**overrides), server, folder)
