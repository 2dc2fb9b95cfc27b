"""The basic commands: load, list, sync, match, maintenance, delete, login, demo.

Registered on the app of :mod:`tunecrate.cli.base` when :mod:`tunecrate.cli.main`
imports this module.
"""

from __future__ import annotations

import sys
from typing import Optional

import typer

from tunecrate.cli.base import app, confirm_or_refuse, err_console, match_app, open_library, print_json, state
from tunecrate.core.errors import TunecrateError


# -- loading ----------------------------------------------------------------------


def _run_load(method: str, ref: str, as_json: bool) -> None:
    from tunecrate.cli.progress import LoadProgress
    from tunecrate.cli.render import print_report

    with open_library() as lib:
        with LoadProgress(err_console()) as progress:
            report = getattr(lib, method)(ref, progress=progress.on_event)
    if as_json:
        print_json(report.to_json())
    else:
        print_report(report)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def track(
    url: str = typer.Argument(..., help="Spotify track URL, URI or id."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Download one track into the library (kept until you remove it)."""
    _run_load("load_track", url, as_json)


@app.command()
def album(
    url: str = typer.Argument(..., help="Spotify album URL, URI or id."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Download every track of an album into the library."""
    _run_load("load_album", url, as_json)


@app.command()
def playlist(
    url: str = typer.Argument(..., help="Spotify playlist URL, URI or id."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Mirror a playlist: download its tracks and record its order.

    Prints the playlist id, title and a summary: downloaded, already present,
    unresolved, skipped and failed, with a reason for each failure.
    """
    _run_load("load_playlist", url, as_json)


# -- listing ----------------------------------------------------------------------


@app.command()
def tracks(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the tracks of the library."""
    from tunecrate.cli.render import print_tracks

    with open_library() as lib:
        rows = lib.tracks()
    print_json(rows) if as_json else print_tracks(rows)


@app.command()
def playlists(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the playlists of the library."""
    from tunecrate.cli.render import print_playlists

    with open_library() as lib:
        rows = lib.playlists()
    print_json(rows) if as_json else print_playlists(rows)


@app.command("playlist-local")
def playlist_local(
    playlist_id: str = typer.Argument(..., help="Playlist id (see `tunecrate playlists`), or `likes`."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a playlist of the library with its tracks in order (no network)."""
    from tunecrate.cli.render import print_tracks

    with open_library() as lib:
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
    """Pin the source of a track; it wins over search on every later load."""
    with open_library() as lib:
        result = lib.match_set(track_ref, source)
    title = f" ({result.title})" if result.title else ""
    typer.echo(f"pinned {result.track_id}{title} to {result.source}")


@match_app.command("clear")
def match_clear(
    track_ref: str = typer.Argument(..., metavar="TRACK", help="Spotify track URL, URI or id."),
) -> None:
    """Forget the pinned or skipped decision of a track."""
    with open_library() as lib:
        cleared = lib.match_clear(track_ref)
    typer.echo("cleared" if cleared else "no decision recorded for that track")


@match_app.command("list")
def match_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the recorded match decisions (pinned, skipped, automatic)."""
    from tunecrate.cli.render import print_decisions

    with open_library() as lib:
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
) -> None:
    """Bring playlists in step with Spotify: download added tracks, record the new order, prune.

    An unchanged playlist (same snapshot, every file present) costs one light request.
    """
    from tunecrate.cli.progress import LoadProgress
    from tunecrate.cli.render import print_sync

    if bool(target) == all_playlists:
        raise typer.BadParameter("give a playlist (or `likes`), or --all")
    with open_library() as lib, LoadProgress(err_console()) as progress:
        if all_playlists:
            results = lib.sync_all(dry_run=dry_run, keep_orphans=keep_orphans, progress=progress.on_event)
        else:
            results = [(target, lib.sync(target, dry_run=dry_run, keep_orphans=keep_orphans,
                                         progress=progress.on_event))]
    failed = False
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
    if failed:
        raise typer.Exit(1)


@app.command()
def likes(
    keep_orphans: bool = typer.Option(False, "--keep-orphans", help="Keep tracks no playlist needs any more."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Load, then keep in sync, your Liked Songs as the playlist `likes` (needs `tunecrate login`)."""
    from tunecrate.cli.progress import LoadProgress
    from tunecrate.cli.render import print_sync

    with open_library() as lib, LoadProgress(err_console()) as progress:
        report = lib.load_likes(progress=progress.on_event, keep_orphans=keep_orphans)
    print_json(report.to_json()) if as_json else print_sync(report)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def gc(
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be removed and change nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = typer.Option(False, "--json", help="Print what was (or would be) removed as JSON."),
) -> None:
    """Remove orphan tracks, stray files under tmp/, and files under tracks/ that have no row."""
    with open_library() as lib:
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
    """Check that every track's file exists, has its recorded size and parses as MP3."""
    with open_library() as lib:
        report = lib.verify(repair=repair)
    if as_json:
        print_json(report.to_json())
    else:
        for track_id, title, reason in report.problems:
            typer.echo(f"{title} ({track_id}): {reason}")
        typer.echo(f"checked={report.checked} problems={len(report.problems)} repaired={len(report.repaired)}")
    if report.problems and not repair:
        raise typer.Exit(1)


@app.command("load-local")
def load_local(as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Rebuild or repair the database from storage_data/ alone (MP3 tags + playlists/*.json); no network."""
    with open_library() as lib:
        report = lib.rebuild()
    if as_json:
        print_json(report.to_json())
    else:
        for path, reason in report.unreadable:
            typer.echo(f"skipped {path}: {reason}")
        typer.echo(f"tracks={report.tracks} playlists={report.playlists} pins={report.pins}")


# -- deleting ---------------------------------------------------------------------------


@app.command("delete-track")
def delete_track(
    track_ref: str = typer.Argument(..., metavar="TRACK", help="Spotify track URL, URI or id."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would happen and change nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Remove a track you added directly; it stays while a playlist still lists it."""
    with open_library() as lib:
        plan = lib.delete_track(track_ref, dry_run=True)
        if plan.kept_by:
            if not dry_run:
                lib.delete_track(track_ref)  # no longer kept for its own sake
            typer.echo(f"{plan.title} stays: listed in {', '.join(plan.kept_by)}")
            return
        typer.echo(f"{plan.title}: file {plan.file or '(none)'} will be removed")
        if dry_run:
            typer.echo("dry run: nothing removed")
            return
        confirm_or_refuse(f"remove {plan.title}?", yes)
        lib.delete_track(track_ref)
    typer.echo("removed")


@app.command("delete-playlist")
def delete_playlist(
    playlist_ref: str = typer.Argument(..., metavar="PLAYLIST", help="Playlist id, URL or URI, or `likes`."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would happen and change nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Remove a playlist and the tracks nothing else wants (tracks other playlists use stay)."""
    with open_library() as lib:
        plan = lib.delete_playlist(playlist_ref, dry_run=True)
        for track in plan.removed:
            typer.echo(f"remove: {track.title} ({track.track_id})")
        for track in plan.kept:
            typer.echo(f"keep:   {track.title} ({track.track_id}): {track.reason}")
        if dry_run:
            typer.echo("dry run: nothing removed")
            return
        confirm_or_refuse(f"delete playlist {plan.title!r} and {len(plan.removed)} track file(s)?", yes)
        lib.delete_playlist(playlist_ref)
    typer.echo(f"deleted playlist {plan.title}")


# -- Spotify login --------------------------------------------------------------------


@app.command()
def login(
    no_browser: bool = typer.Option(False, "--no-browser", help="Only print the address to open."),
) -> None:
    """Log in to Spotify so tunecrate can read your Liked Songs (PKCE, scope user-library-read)."""
    with open_library() as lib:
        result = lib.login(open_browser=not no_browser)
    typer.echo(f"logged in (scope {result.scope}); token saved to {lib.token_path}")


@app.command()
def logout() -> None:
    """Forget the cached Spotify login."""
    with open_library() as lib:
        typer.echo("logged out" if lib.logout() else "was not logged in")


# -- demo ----------------------------------------------------------------------------


@app.command()
def demo(
    keep_serving: bool = typer.Option(False, "--serve", help="Keep the stand-in servers running until Ctrl-C."),
    plex: bool = typer.Option(False, "--plex", help="Then push the playlist into a Plex stand-in (mirror, scan, match)."),
) -> None:
    """Run the main job offline: loopback Spotify and media stand-ins, then mirror the demo playlist.

    Uses the real spotipy → yt-dlp → ffmpeg → mutagen path; only the hosts are local.
    """
    import time

    from tunecrate.cli.progress import LoadProgress
    from tunecrate.cli.render import print_report, print_tracks
    from tunecrate.demo.run import demo_world
    from tunecrate.library.library import Library

    console = err_console()
    with demo_world(storage_root=state.storage, data_root=state.data, plex=plex) as world:
        console.print(f"Spotify stand-in at {world.world.spotify.api_url}, media at {world.world.media.base_url}")
        with Library(world.settings) as lib:
            pinned = world.pin_sources(lib)
            console.print(f"Pinned {pinned} demo tracks to their audio; mirroring {world.catalogue.playlist_url}")
            with LoadProgress(console) as progress:
                report = lib.load_playlist(world.catalogue.playlist_url, progress=progress.on_event)
            print_report(report)
            doc = lib.playlist(world.catalogue.playlist_id)
            print_tracks(doc.tracks, title=doc.title, numbered=True)
            console.print(f"Files are under {world.settings.storage_root / 'tracks'}; "
                          f"catalogue at {world.settings.database_path}")
            for item in doc.tracks:
                if item.path:
                    console.print(f"  {item.path}", markup=False, highlight=False)
            if plex:
                from tunecrate.cli.push_commands import demo_push

                demo_push(world, lib, console)
        if keep_serving:
            console.print("Stand-ins keep running; press Ctrl-C to stop. To use them from another shell:")
            for name, value in world.environment().items():
                console.print(f"  export {name}={value}", markup=False, highlight=False)
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
