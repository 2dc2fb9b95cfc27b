"""Export files as Spotify's "Download your data" and Exportify write them, built for the tests.

The shapes follow DESIGN.md ("Export formats"): ``Playlist<N>.json`` and
``YourLibrary.json`` of an account-data export (a ZIP whose files sit under
``Spotify Account Data/``, or that folder unpacked), and Exportify's CSV (every
field quoted, UTF-8, artists joined with ``", "`` and commas in names escaped
``\\,``). All content is synthetic.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

#: Exportify's English header (the current layout).
EXPORTIFY_HEADER = ["Track URI", "Track Name", "Artist URI(s)", "Artist Name(s)", "Album URI", "Album Name",
                    "Album Artist URI(s)", "Album Artist Name(s)", "Album Release Date", "Album Image URL",
                    "Disc Number", "Track Number", "Track Duration (ms)", "Track Preview URL", "Explicit",
                    "Popularity", "ISRC", "Added By", "Added At"]
#: The same header as Exportify's German translation writes it.
EXPORTIFY_HEADER_DE = ["Track-URI", "Track-Name", "Künstler-URI(s)", "Künstlername(n)", "Album-URI", "Album-Name",
                       "Album-Künstler-URI(s)", "Album-Künstlername(n)", "Veröffentlichungsdatum des Albums",
                       "Album-Bild-URL", "Disc-Nummer", "Track-Nummer", "Track-Dauer (ms)", "Track-Vorschau-URL",
                       "Explizit", "Popularität", "ISRC", "Hinzugefügt von", "Hinzugefügt am"]


@dataclass(frozen=True)
class Row:
    """One track as an export names it."""

    track_id: str
    title: str
    artists: tuple[str, ...]
    album: str = "Songs From 127.0.0.1"
    duration_ms: int = 0
    isrc: str = ""
    cover_url: str = ""


def track_item(row: Row) -> dict:
    """A playlist item of ``Playlist1.json`` for ``row`` (one artist: exports name only the first)."""
    return {"track": {"trackName": row.title, "artistName": row.artists[0], "albumName": row.album,
                      "trackUri": f"spotify:track:{row.track_id}"},
            "episode": None, "audiobook": None, "localTrack": None, "addedDate": "2026-01-02"}


def episode_item(name: str) -> dict:
    return {"track": None, "episode": {"episodeName": name, "showName": "A Show",
                                       "episodeUri": "spotify:episode:5Xt5DXGzch68nYYamXrNxZ"},
            "audiobook": None, "localTrack": None, "addedDate": "2026-01-02"}


def local_item(title: str) -> dict:
    return {"track": None, "episode": None, "audiobook": None,
            "localTrack": {"uri": f"spotify:local:Me:Home:{title.replace(' ', '+')}:200"}, "addedDate": "2026-01-02"}


def playlist(name: str, items: list[dict], description: str = "") -> dict:
    return {"name": name, "lastModifiedDate": "2026-01-02", "description": description, "numberOfFollowers": 0,
            "items": items}


def library(likes: list[Row]) -> dict:
    """``YourLibrary.json`` with ``likes`` as its tracks."""
    return {"tracks": [{"artist": r.artists[0], "album": r.album, "track": r.title,
                        "uri": f"spotify:track:{r.track_id}"} for r in likes],
            "albums": [], "shows": [], "episodes": [], "bannedTracks": [], "artists": [], "bannedArtists": [],
            "other": []}


def account_export_files(playlists: list[dict], likes: list[Row] | None) -> dict[str, bytes]:
    """The files of an export: ``Playlist1.json`` and, unless ``likes`` is None, ``YourLibrary.json``."""
    files = {"Playlist1.json": json.dumps({"playlists": playlists}, ensure_ascii=False, indent=2).encode()}
    if likes is not None:
        files["YourLibrary.json"] = json.dumps(library(likes), ensure_ascii=False).encode()
    files["Userdata.json"] = b'{"username": "someone"}'
    return files


def write_zip(dest: Path, files: dict[str, bytes], folder: str = "Spotify Account Data/") -> Path:
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(folder + name, data)
    return dest


def write_folder(dest: Path, files: dict[str, bytes]) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (dest / name).write_bytes(data)
    return dest


def exportify_csv(rows: list[Row], header: list[str] = EXPORTIFY_HEADER) -> str:
    """An Exportify CSV of ``rows`` (with every artist), as Exportify quotes it."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(header)
    for r in rows:
        names = ", ".join(a.replace(",", "\\,") for a in r.artists)
        artist_uris = ", ".join(f"spotify:artist:{'1' * 21}{i}" for i in range(len(r.artists)))
        writer.writerow([f"spotify:track:{r.track_id}", r.title, artist_uris, names, f"spotify:album:{'2' * 22}",
                         r.album, f"spotify:artist:{'1' * 21}0", r.artists[0].replace(",", "\\,"), "2026-11-21",
                         r.cover_url, "1", "3", str(r.duration_ms), "", "false",
                         "12", r.isrc, "spotify:user:someone", "2026-01-02T10:00:00Z"][: len(header)])
    return out.getvalue()
