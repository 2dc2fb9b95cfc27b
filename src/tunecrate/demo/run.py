"""``tunecrate demo``: the main job, end to end, with only the hosts made local."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from rich.console import Console

from tunecrate.core.settings import Settings
from tunecrate.demo.world import StandIns, build_demo_catalogue


def run_demo(*, storage_root: Path | None, data_root: Path | None, console: Console,
             keep_serving: bool = False) -> None:
    """Start the stand-ins, pin the demo tracks to their audio, mirror the demo playlist.

    The library is the one the settings name (``./storage_data`` and ``./data``
    by default), so ``tunecrate tracks`` and ``tunecrate playlists`` show the
    result afterwards.
    """
    from tunecrate.cli.progress import LoadProgress
    from tunecrate.cli.render import print_report, print_tracks
    from tunecrate.library.library import Library

    with tempfile.TemporaryDirectory(prefix="tunecrate-demo-") as work, StandIns(Path(work)) as world:
        console.print(f"Spotify stand-in at {world.spotify.api_url}, media at {world.media.base_url}")
        catalogue = build_demo_catalogue(world)
        settings = Settings.load(storage_root=storage_root, data_root=data_root, **world.settings_overrides())
        with Library(settings) as lib:
            for track_id, url in catalogue.sources.items():
                lib.match_set(track_id, url)
            console.print(f"Pinned {len(catalogue.sources)} demo tracks to their audio; "
                          f"mirroring {catalogue.playlist_url}")
            with LoadProgress(console) as progress:
                report = lib.load_playlist(catalogue.playlist_url, progress=progress.on_event)
            print_report(report)
            doc = lib.playlist_local(catalogue.playlist_id)
            print_tracks(doc["tracks"], title=doc["title"], numbered=True)
            console.print(f"Files are under {settings.storage_root / 'tracks'}; "
                          f"catalogue at {settings.database_path}")
            for item in doc["tracks"]:
                if item["path"]:
                    console.print(f"  {item['path']}", markup=False, highlight=False)
        if keep_serving:
            console.print("Stand-ins keep running; press Ctrl-C to stop.")
            console.print(f"  export TUNECRATE_SPOTIFY_API_URL={world.spotify.api_url}")
            console.print(f"  export TUNECRATE_SPOTIFY_ACCOUNTS_URL={world.spotify.accounts_url}")
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
