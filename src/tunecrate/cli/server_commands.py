"""``tunecrate serve``: the HTTP API and the web page (the ``tunecrate[server]`` extra).

Registered on the app of :mod:`tunecrate.cli.base` when :mod:`tunecrate.cli.main` imports it;
FastAPI and uvicorn are imported only when the command runs.
"""

from __future__ import annotations

from typing import Optional

import typer

from tunecrate.cli.base import app, fail, state


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; anything but loopback needs "
                                                         "TUNECRATE_SERVER_TOKEN."),
    port: int = typer.Option(8080, "--port", min=0, max=65535, help="Port to listen on (0: any free port)."),
    sync_every: Optional[str] = typer.Option(None, "--sync-every", metavar="INTERVAL",
                                             help="Sync every playlist on a schedule, e.g. 6h, 30m, 1d."),
) -> None:
    """Serve the library over HTTP: the web page at /, the API (docs at /docs), live events.

    The page loads and syncs links with live progress, plays and downloads
    tracks and playlist ZIPs, and walks the review queue; the API takes the
    same routes as synciflow. Requests whose Host header is not the bound
    address (or a name in TUNECRATE_SERVER_HOSTS) are refused; no CORS unless
    TUNECRATE_SERVER_CORS_ORIGINS names origins.

    On a home server, TUNECRATE_SERVER_TOKEN is what the page asks for once.

    \b
    Example:
      TUNECRATE_SERVER_TOKEN=$(openssl rand -hex 16) tunecrate serve --host 0.0.0.0 --sync-every 6h
    """
    try:
        from tunecrate.server.app import ServerConfig
        from tunecrate.server.serve import serve as run
        from tunecrate.server.settings import ServerSettings, parse_interval
    except ImportError as exc:
        raise fail(f"the server needs its extra ({exc.name} is missing): pip install 'tunecrate[server]'") from None
    from tunecrate.core.settings import Settings
    from tunecrate.library.library import Library

    interval = parse_interval(sync_every) if sync_every else None
    settings = Settings.load(storage_root=state.storage, data_root=state.data)
    with Library(settings, settings_models=[ServerSettings]) as lib:
        run(lib, ServerConfig.from_settings(settings, host=host, port=port, sync_every=interval))
