"""The basic commands: load, list, sync, match, maintenance, delete, login, demo.

Registered on the app of :mod:`tunecrate.cli.base` when :mod:`tunecrate.cli.main`
imports this module.
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import Optional

import typer

from tunecrate.cli.base import (
    app, confirm_or_refuse, err_console, match_app, note_not_loaded, open_library, print_json, state,
)
from tunecrate.core.errors import NotFound, TunecrateError


# -- loading ----------------------------------------------------------------------


class SpotifySource(str, Enum):
    """Values of ``--source``: which Spotify source reads a link (``TUNECRATE_SPOTIFY_SOURCE``)."""

    auto = "auto"
    api = "api"
    web = "web"


def _source_option():
    return typer.Option(
        None, "--source", case_sensitive=False,
        help="Spotify source: auto (the Web API when app credentials are set; the public web pages without them, "
             "or when the API refuses the link or the app: 403, 404 for a Spotify-owned 37i9… playlist, refused "
             "credentials), api, or web "
             "[env TUNECRATE_SPOTIFY_SOURCE; default auto; sync: the one it was loaded from].")


def _with_source(source: Optional[SpotifySource]) -> dict:
    return {"spotify_source": source.value} if source is not None else {}


def _run_load(method: str, ref: str, as_json: bool, source: Optional[SpotifySource]) -> None:
    from tunecrate.cli.progress import LoadProgress
    from tunecrate.cli.render import echo_failures, print_report

    with open_library(**_with_source(source)) as lib:
        with LoadProgress(err_console()) as progress:
            report = getattr(lib, method)(ref, progress=progress.on_event)
    if as_json:
        print_json(report.to_json())
    else:
        print_report(report)
    echo_failures(report)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def track(
    url: str = typer.Argument(..., help="Spotify track URL, URI or id."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    source: Optional[SpotifySource] = _source_option(),
) -> None:
    """Download one track into the library (kept until you remove it).

    \b
    Example:
      tunecrate track https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC
    """
    _run_load("load_track", url, as_json, source)


@app.command()
def album(
    url: str = typer.Argument(..., help="Spotify album URL, URI or id."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    source: Optional[SpotifySource] = _source_option(),
) -> None:
    """Download every track of an album into the library.

    \b
    Example:
      tunecrate album spotify:album:4aawyAB9vmqN3uQ7FjRGTy
    """
    _run_load("load_album", url, as_json, source)


@app.command()
def playlist(
    url: str = typer.Argument(..., help="Spotify playlist URL, URI or id."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    source: Optional[SpotifySource] = _source_option(),
) -> None:
    """Mirror a playlist: download its tracks and record its order.

    A public playlist needs no Spotify app: without credentials (or when the
    Web API refuses it) its public web pages are read. Prints the playlist
    id, title and a summary: downloaded, already present, unresolved, skipped
    and failed, with a reason for each failure.

    \b
    Example:
      tunecrate playlist 'https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M?si=abc'
    """
    _run_load("load_playlist", url, as_json, source)


# -- listing ----------------------------------------------------------------------


@app.command()
def tracks(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the tracks of the library.

    \b
    Example:
      tunecrate tracks --json
    """
    from tunecrate.cli.render import print_tracks

    with open_library(create=False) as lib:
        rows = lib.tracks()
    print_json(rows) if as_json else print_tracks(rows)


@app.command()
def playlists(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the playlists of the library.

    \b
    Example:
      tunecrate playlists
    """
    from tunecrate.cli.render import print_playlists

    with open_library(create=False) as lib:
        rows = lib.playlists()
    print_json(rows) if as_json else print_playlists(rows)


@app.command("playlist-local")
def playlist_local(
    playlist_id: str = typer.Argument(..., help="Playlist id (see `tunecrate playlists`), or `likes`."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a playlist of the library with its tracks in order (no network).

    \b
    Example:
      tunecrate playlist-local 37i9dQZF1DXcBWIGoYBM5M
    """
    from tunecrate.cli.render import print_tracks

    with open_library(create=False) as lib:
        doc = lib.playlist(playlist_id)
    if as_json:
        print_json(doc.to_json())
    else:
        print_tracks(doc.tracks, title=f"{doc.title} ({doc.playlist_id})", numbered=True)


# -- match decisions --------------------------------------------------------------------


@match_app.command("set")
def match_set(
    track_ref: str = typer.Argument(..., metavar="TRACK", help="Spotify track URL, URI or id."),
    source: str = typer.Argument(..., help="A URL yt-dlp can download (a direct media URL too) or a local audio file."),
) -> None:
    """Pin the source of a track; it wins over search on every later load.

    \b
    Example:
      tunecrate match set 4uLU6hMCjMI75M1A2tKUQC https://www.youtube.com/watch?v=dQw4w9WgXcQ
    """
    with open_library() as lib:
        result = lib.match_set(track_ref, source)
    title = f" ({result.title})" if result.title else ""
    typer.echo(f"pinned {result.track_id}{title} to {result.source}")
    note_not_loaded(result)


@match_app.command("clear")
def match_clear(
    track_ref: str = typer.Argument(..., metavar="TRACK", help="Spotify track URL, URI or id."),
) -> None:
    """Forget the pinned or skipped decision of a track.

    \b
    Example:
      tunecrate match clear 4uLU6hMCjMI75M1A2tKUQC
    """
    with open_library(create=False) as lib:
        cleared = lib.match_clear(track_ref)
    typer.echo("cleared" if cleared else "no decision recorded for that track")


@match_app.command("list")
def match_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the recorded match decisions (pinned, skipped, automatic).

    \b
    Example:
      tunecrate match list --json
    """
    from tunecrate.cli.render import print_decisions

    with open_library(create=False) as lib:
        rows = lib.match_list()
    print_json(rows) if as_json else print_decisions(rows)


# -- sync and maintenance -------------------------------------------------------------


@app.command()
def sync(
    target: Optional[str] = typer.Argument(None, help="Playlist URL, URI or id, or `likes`."),
    all_playlists: bool = typer.Option(False, "--all", help="Sync every playlist of the library."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan and change nothing."),
    keep_orphans: bool = typer.Option(False, "--keep-orphans", help="Keep tracks no playlist needs any more."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    source: Optional[SpotifySource] = _source_option(),
) -> None:
    """Bring playlists in step with Spotify: download added tracks, record the new order, prune.

    Each playlist is read from the source it was loaded from. An unchanged
    playlist (same snapshot, every file present) costs one light request
    through the Web API, or its embed page and one request per 100 entries
    through the public web pages.

    \b
    Example:
      tunecrate sync --all --dry-run
    """
    from tunecrate.cli.progress import LoadProgress
    from tunecrate.cli.render import echo_failures, print_sync

    if bool(target) == all_playlists:
        raise typer.BadParameter("give a playlist (or `likes`), or --all")
    # --all syncs what the library holds, and a dry run changes nothing: where there is no library,
    # they create nothing and say where they looked.
    with open_library(create=not (all_playlists or dry_run), **_with_source(source)) as lib, \
            LoadProgress(err_console()) as progress:
        if all_playlists:
            results = lib.sync_all(dry_run=dry_run, keep_orphans=keep_orphans, progress=progress.on_event)
        else:
            results = [(target, lib.sync(target, dry_run=dry_run, keep_orphans=keep_orphans,
                                         progress=progress.on_event))]
    failed = False
    if not results and not as_json:
        typer.echo("no playlists in the library to sync; load one with `tunecrate playlist URL`")
    if as_json:
        print_json([{"playlist_id": pid, "error": str(r)} if isinstance(r, TunecrateError) else r.to_json()
                    for pid, r in results] if all_playlists else results[0][1].to_json())
    for pid, result in results:
        if isinstance(result, TunecrateError):
            sys.stderr.write(f"error: {pid}: {result}\n")
            failed = True
        else:
            failed |= not result.ok
            if not as_json:
                print_sync(result)
            echo_failures(result)
    if failed:
        raise typer.Exit(1)


@app.command()
def likes(
    keep_orphans: bool = typer.Option(False, "--keep-orphans", help="Keep tracks no playlist needs any more."),
    browser: bool = typer.Option(False, "--browser", help="Read them in Chromium from the web player (no app "
                                 "needed; log in once in its window)."),
    headless: bool = typer.Option(False, "--headless", help="With --browser: no window (the browser profile must "
                                  "be logged in already)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Load, then keep in sync, your Liked Songs as the playlist `likes`.

    Through the Web API (needs `tunecrate login`) or, with --browser, from the web player in Chromium
    (`tunecrate likes --browser`, then `tunecrate likes --browser --headless` or `tunecrate sync likes`
    later). `sync likes` keeps using the source that filled it last.

    \b
    Example:
      tunecrate likes
    """
    from tunecrate.cli.progress import LoadProgress
    from tunecrate.cli.render import echo_failures, print_sync

    if headless and not browser:
        raise typer.BadParameter("--headless goes with --browser")
    overrides = {"browser_headless": True} if headless else {}
    with open_library(**overrides) as lib:
        if browser and lib.sources.get("spotify-browser").opens_window:
            err_console().print("A Chromium window opens on Spotify: log in there if it asks; "
                                "tunecrate then reads your Liked Songs.", highlight=False)
        with LoadProgress(err_console()) as progress:
            report = lib.load_likes(progress=progress.on_event, keep_orphans=keep_orphans,
                                    source="spotify-browser" if browser else "spotify-api")
    print_json(report.to_json()) if as_json else print_sync(report)
    echo_failures(report)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def gc(
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be removed and change nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = typer.Option(False, "--json", help="Print what was (or would be) removed as JSON."),
) -> None:
    """Remove orphan tracks, stray files under tmp/, and files under tracks/ that have no row.

    \b
    Example:
      tunecrate gc --dry-run
    """
    with open_library(create=False) as lib:
        plan = lib.gc_plan()
        if not as_json:
            for track_id, title, path in plan.orphans:
                typer.echo(f"orphan track: {title} ({track_id}) {path or ''}".rstrip())
            for path in plan.stray_tmp:
                typer.echo(f"stray tmp: {path}")
            for path in plan.unknown_files:
                typer.echo(f"file without a row: {path}")
        if plan.empty or dry_run:
            if as_json:
                print_json({**plan.to_json(), "removed": False})
            else:
                typer.echo("nothing to remove" if plan.empty else "dry run: nothing removed")
            return
        confirm_or_refuse(f"remove {len(plan.orphans)} track(s), {len(plan.stray_tmp)} tmp entr(ies) and "
                           f"{len(plan.unknown_files)} unclaimed file(s)?", yes)
        done = lib.gc()
    if as_json:
        print_json({**done.to_json(), "removed": True})
    else:
        typer.echo(f"removed {len(done.orphans)} track(s), {len(done.stray_tmp)} tmp entr(ies), "
                   f"{len(done.unknown_files)} unclaimed file(s)")


@app.command()
def verify(
    repair: bool = typer.Option(False, "--repair", help="Queue missing or corrupt tracks for the next load or sync."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Check that every track's file exists, has its recorded size and parses as MP3.

    Also checks that every library file is readable as the umask allows
    (older releases made them 0600); `--repair` widens those modes.

    \b
    Example:
      tunecrate verify --repair
    """
    with open_library(create=False) as lib:
        report = lib.verify(repair=repair)
    if as_json:
        print_json(report.to_json())
    else:
        for track_id, title, reason in report.problems:
            typer.echo(f"{title} ({track_id}): {reason}")
        fixed = set(report.modes_fixed)
        for path, mode in report.modes:
            typer.echo(f"{path}: mode {mode:04o}, want {report.want_mode:04o}{' (fixed)' if path in fixed else ''}")
        typer.echo(f"checked={report.checked} problems={len(report.problems)} repaired={len(report.repaired)} "
                   f"modes={len(report.modes)}")
    if (report.problems or report.modes) and not repair:
        raise typer.Exit(1)


@app.command("load-local")
def load_local(as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Rebuild or repair the database from storage_data/ alone (MP3 tags + playlists/*.json); no network.

    A damaged or empty catalogue is first moved aside as
    `tunecrate.sqlite3.corrupt-<time>` next to it.

    \b
    Example:
      tunecrate load-local
    """
    with open_library(set_aside_damaged=True) as lib:
        report = lib.rebuild()
    if as_json:
        print_json(report.to_json())
    else:
        if report.set_aside:
            typer.echo(f"the damaged catalogue was moved to {report.set_aside}")
        for path, reason in report.unreadable:
            typer.echo(f"skipped {path}: {reason}")
        typer.echo(f"tracks={report.tracks} playlists={report.playlists} pins={report.pins} skips={report.skips}")


# -- deleting ---------------------------------------------------------------------------


@app.command("delete-track")
def delete_track(
    track_ref: str = typer.Argument(..., metavar="TRACK", help="Spotify track URL, URI or id."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would happen and change nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = typer.Option(False, "--json", help="Print what was (or would be) done as JSON."),
) -> None:
    """Remove a track you added directly; it stays while a playlist still lists it.

    \b
    Example:
      tunecrate delete-track 4uLU6hMCjMI75M1A2tKUQC --dry-run
    """
    say = (lambda text: None) if as_json else typer.echo
    with open_library(create=False) as lib:
        plan = lib.delete_track(track_ref, dry_run=True)
        if plan.kept_by:
            result = plan if dry_run else lib.delete_track(track_ref)  # no longer kept for its own sake
            say(f"{plan.title} stays: listed in {', '.join(plan.kept_by)}")
        else:
            say(f"{plan.title}: file {plan.file or '(none)'} will be removed")
            if dry_run:
                result = plan
                say("dry run: nothing removed")
            else:
                confirm_or_refuse(f"remove {plan.title}?", yes)
                result = lib.delete_track(track_ref)
                say("removed")
    if as_json:
        print_json(result)


@app.command("delete-playlist")
def delete_playlist(
    playlist_ref: str = typer.Argument(..., metavar="PLAYLIST", help="Playlist id, URL or URI, or `likes`."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would happen and change nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = typer.Option(False, "--json", help="Print what was (or would be) done as JSON."),
) -> None:
    """Remove a playlist and the tracks nothing else wants (tracks other playlists use stay).

    \b
    Example:
      tunecrate delete-playlist 37i9dQZF1DXcBWIGoYBM5M --dry-run
    """
    with open_library(create=False) as lib:
        plan = lib.delete_playlist(playlist_ref, dry_run=True)
        if not as_json:
            for track in plan.removed:
                typer.echo(f"remove: {track.title} ({track.track_id})")
            for track in plan.kept:
                typer.echo(f"keep:   {track.title} ({track.track_id}): {track.reason}")
        if dry_run:
            print_json(plan) if as_json else typer.echo("dry run: nothing removed")
            return
        confirm_or_refuse(f"delete playlist {plan.title!r} and {len(plan.removed)} track file(s)?", yes)
        result = lib.delete_playlist(playlist_ref)
    print_json(result) if as_json else typer.echo(f"deleted playlist {plan.title}")


# -- Spotify login --------------------------------------------------------------------


@app.command()
def login(
    no_browser: bool = typer.Option(False, "--no-browser", help="Only print the address to open."),
) -> None:
    """Log in to Spotify so tunecrate can read your Liked Songs and your own and collaborative playlists (PKCE).

    \b
    Example:
      tunecrate login --no-browser
    """
    with open_library() as lib:
        result = lib.login(open_browser=not no_browser)
    typer.echo(f"logged in (scope {result.scope}); token saved to {lib.token_path}")


@app.command()
def logout() -> None:
    """Forget the cached Spotify login.

    \b
    Example:
      tunecrate logout
    """
    try:
        with open_library(create=False) as lib:
            logged_out = lib.logout()
    except NotFound:
        # No catalogue: nothing is created, and a login kept beside where it would be still goes.
        from tunecrate.core.settings import Settings
        from tunecrate.sources.spotify_login import logout as forget, token_path

        data_root = Settings.load(storage_root=state.storage, data_root=state.data).data_root
        logged_out = token_path(data_root).is_file() and forget(token_path(data_root))
        if not logged_out:
            typer.echo(f"was not logged in (there is no tunecrate library at {data_root})")
            return
    typer.echo("logged out" if logged_out else "was not logged in")


# -- demo ----------------------------------------------------------------------------


@app.command()
def demo(
    keep_serving: bool = typer.Option(False, "--serve", help="Keep the stand-in servers running until Ctrl-C."),
    plex: bool = typer.Option(False, "--plex", help="Then push the playlist into a Plex stand-in (mirror, scan, match)."),
) -> None:
    """Run the main job offline: mirror a public playlist of more than 100 entries, with no Spotify app.

    Loopback stand-ins play Spotify's public web pages, the media host, YouTube
    Music and YouTube; the real httpx → ytmusicapi → yt-dlp (with its
    JavaScript runtime) → ffmpeg → mutagen path runs, only the hosts are local.
    Most tracks are pinned to their audio; a few are found by searching YouTube
    Music through the stand-in proxy (TUNECRATE_PROXY, TUNECRATE_CA_BUNDLE).

    With --plex the playlist is then pushed into a Plex stand-in: mirrored into
    the folder it watches, scanned, matched by path, made a Plex playlist.

    \b
    Example:
      tunecrate demo --serve
    """
    import time

    from tunecrate.cli.progress import LoadProgress
    from tunecrate.cli.render import print_report, print_tracks
    from tunecrate.demo.run import demo_world
    from tunecrate.library.library import Library

    console = err_console()
    shown = 10
    with demo_world(storage_root=state.storage, data_root=state.data, plex=plex) as world:
        console.print(f"Spotify's public web pages at {world.world.web.web_url} (no app credentials set), "
                      f"media at {world.world.media.base_url}; music.youtube.com and www.youtube.com through "
                      f"the proxy at {world.world.proxy.url}", markup=False, highlight=False)
        with Library(world.settings) as lib:
            pinned = world.pin_sources(lib)
            console.print(f"Pinned {pinned} demo tracks to their audio; the other {len(world.playlist.searched)} "
                          f"are searched on YouTube Music. Mirroring {world.playlist.url}",
                          markup=False, highlight=False)
            with LoadProgress(console) as progress:
                report = lib.load_playlist(world.playlist.url, progress=progress.on_event)
            print_report(report)
            doc = lib.playlist(world.playlist.playlist_id)
            print_tracks(doc.tracks[:shown], title=f"{doc.title}: the first {shown} of {doc.track_count}",
                         numbered=True)
            console.print(f"All of it: tunecrate playlist-local {doc.playlist_id}. Files are under "
                          f"{world.settings.storage_root / 'tracks'}; catalogue at {world.settings.database_path}",
                          markup=False, highlight=False)
            if world.playlist.searched:
                console.print("Found by search; to see why each match won:", markup=False, highlight=False)
                for track_id in world.playlist.searched:
                    console.print(f"  tunecrate match show {track_id}", markup=False, highlight=False)
            if plex:
                from tunecrate.cli.push_commands import demo_push

                demo_push(world, lib, console)
        if keep_serving:
            console.print("Stand-ins keep running; press Ctrl-C to stop. To use them from another shell, "
                          "paste this there:")
            sys.stdout.write(world.export_block())
            sys.stdout.flush()
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
