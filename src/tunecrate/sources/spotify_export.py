"""The ``spotify-export`` source: the playlists and Liked Songs of a Spotify account-data export.

Spotify's "Download your data" (Account → Privacy) sends a ZIP, usually with
the files under ``Spotify Account Data/``. This source takes the ZIP, the
unpacked folder (or the folder above it), or one of its JSON files, through
:func:`~tunecrate.core.ids.file_reference`, and reads, without extracting
anything (:mod:`.files`):

- every ``Playlist<N>.json`` (some exports say ``Playlists<N>.json``), in the
  order of ``N``: ``{"playlists": [{"name", "lastModifiedDate",
  "description", "numberOfFollowers", "items": [{"track": {"trackName",
  "artistName", "albumName", "trackUri"} | null, "episode": {…} | null,
  "audiobook": … | null, "localTrack": … | null, "addedDate"}]}]}``; each
  playlist becomes a ``kind="playlist"`` list;
- ``YourLibrary.json``: its ``"tracks": [{"artist", "album", "track",
  "uri"}]`` (Liked Songs) become the pseudo-playlist ``likes``. A file
  without a ``tracks`` key leaves ``likes`` alone.

An export row names the track, its album and *one* artist, and nothing else:
each :class:`~tunecrate.core.types.TrackInfo` keeps the Spotify track id of
its ``spotify:track:`` URI and says in ``missing`` that the duration, the
other artists (``"artists"``), the ISRC, the album artists, numbers, date,
explicit flag and cover are unknown; the matcher scores it on what it has
(:mod:`tunecrate.core.matching`). Entries without a Spotify track (episodes,
audiobooks, local files, rows without a URI) are reported in ``skipped``.

Playlist ids. An export carries no playlist id, so each playlist gets
``export-<token>``, the token being 16 hex digits of the SHA-256 of

    the playlist's name (NFKC, case-folded, spaces collapsed), and its
    ordinal among the playlists of that name in the export (1, 2, …, in
    the order of the files and of the playlists in them).

So a newer export of the same playlist gets the same id, and importing it
syncs the library's copy (entries added, removed, moved) instead of adding a
second one; two playlists called "Chill" in one export stay two playlists
(ordinals 1 and 2). What is not stable, and what happens then:

- renaming a playlist on Spotify gives it a new id: the next import adds it
  under the new name and reports the old one as no longer in the export
  (``tunecrate delete-playlist`` removes it; the tracks both share stay);
- of several playlists with the same name, deleting one, or a change of
  their order in the export, shifts the ordinals: their library copies are
  then synced into one another (each ends equal to an export playlist, and
  no track both need is fetched again);
- a change of case or spacing alone keeps the id.

Snapshots are a digest of the title, description and ordered track ids
(:func:`~.files.list_snapshot`): an unchanged playlist in a newer export
costs nothing. ``lastModifiedDate`` is not used: it changes when the
playlist's metadata does.

This source cannot read a list again without a newer file
(:attr:`SpotifyExportSource.refresh_hint`). Malformed files raise
:class:`~tunecrate.core.errors.InvalidFile` naming the file and what is
wrong.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from tunecrate.core.errors import InvalidFile, InvalidReference
from tunecrate.core.ids import LIKES, Reference, is_spotify_id
from tunecrate.core.types import OPTIONAL_FIELDS, SkippedEntry, TrackInfo, TrackList
from tunecrate.sources.files import (
    ExportFile, Member, clean_name, find_members, list_snapshot, skip_reason, stable_token,
)

if TYPE_CHECKING:
    from tunecrate.core.settings import Settings

__all__ = ["EXPORT_MISSING", "SpotifyExportSource", "playlist_id"]

_PLAYLIST_FILE = re.compile(r"^playlists?(\d*)\.json$", re.IGNORECASE)
_LIBRARY_FILE = "yourlibrary.json"
_TRACK_URI = re.compile(r"^spotify:track:([0-9A-Za-z]{22})$")
#: What an export row does not say about a track (it names the title, the album and one artist).
EXPORT_MISSING = frozenset(OPTIONAL_FIELDS) - {"album"}


def _wanted(name: str) -> bool:
    return bool(_PLAYLIST_FILE.match(name)) or name.casefold() == _LIBRARY_FILE


def _normalised(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def playlist_id(name: str, ordinal: int = 1) -> str:
    """The stored id of the ``ordinal``-th playlist called ``name`` in an export (module docstring)."""
    return f"export-{stable_token(_normalised(name), str(ordinal))}"


class SpotifyExportSource:
    """The ``spotify-export`` :class:`~tunecrate.sources.base.CollectionSource` (module docstring).

    It needs no settings, no credentials and no network.
    """

    name = "spotify-export"
    settings_model = None
    refresh_hint = "to update it, import a newer account-data export: `tunecrate import PATH`"
    description = "a Spotify account-data export"

    @classmethod
    def from_settings(cls, settings: Settings) -> SpotifyExportSource:
        return cls()

    def suitable(self, ref: Reference) -> bool:
        """A file reference whose folder or ZIP holds ``Playlist*.json`` or ``YourLibrary.json``, or
        that names one of them (only names are looked at)."""
        return ref.service == "file" and ref.kind == "export" and find_members(ref.id, _wanted)

    def lists(self, ref: Reference) -> Iterator[TrackList]:
        """Every playlist of the export in file order, then ``likes`` when ``YourLibrary.json``
        lists tracks. Raises :class:`InvalidFile`, :class:`NotFound`."""
        with ExportFile(ref.id) as export:
            members = export.members(_wanted)
            playlists = sorted((m for m in members if _PLAYLIST_FILE.match(m.name)), key=_file_order)
            libraries = [m for m in members if m.name.casefold() == _LIBRARY_FILE]
            if not playlists and not libraries:
                raise InvalidFile(f"{ref.id} holds no Playlist1.json or YourLibrary.json: "
                                  "not a Spotify account-data export")
            names = Counter(m.name.casefold() for m in members)
            twice = sorted(m.where for m in members if names[m.name.casefold()] > 1)
            if twice:
                raise InvalidFile(f"{ref.id} holds more than one export ({', '.join(twice)}): "
                                  "give one export at a time")
            ordinals: Counter[str] = Counter()
            for member in playlists:
                for raw in _playlists_of(member):
                    name = clean_name(raw["name"])
                    ordinals[_normalised(name)] += 1
                    yield self._playlist(raw, name, ordinals[_normalised(name)], member)
            for member in libraries:
                likes = self._likes(member)
                if likes is not None:
                    yield likes

    def fetch(self, ref: Reference) -> TrackList:
        """The export's only list. Raises :class:`InvalidReference` when it holds several (read
        them with :meth:`lists`), and the errors of :meth:`lists`."""
        found = list(self.lists(ref))
        if len(found) != 1:
            raise InvalidReference(f"{ref.id} holds {len(found)} lists; read them all with `tunecrate import`")
        return found[0]

    def snapshot(self, ref: Reference) -> str | None:
        """``None``: a collection has no version of its own (each list has its snapshot)."""
        return None

    def close(self) -> None:
        """Nothing to release."""

    # -- parsing -----------------------------------------------------------------------

    def _playlist(self, raw: dict, name: str, ordinal: int, member: Member) -> TrackList:
        entries: list[TrackInfo] = []
        skipped: list[SkippedEntry] = []
        items = raw.get("items")
        if not isinstance(items, list):
            raise InvalidFile(f"{member.where}: playlist {name!r} has no \"items\" list")
        for position, item in enumerate(items):
            track, skip = _playlist_entry(item, position)
            if track is not None:
                entries.append(track)
            else:
                skipped.append(skip)
        description = _text(raw.get("description")) or None
        return TrackList(
            kind="playlist", id=playlist_id(name, ordinal), title=name, entries=tuple(entries),
            skipped=tuple(skipped), description=description, source=self.name,
            snapshot=list_snapshot(name, description, [t.track_id for t in entries]),
        )

    def _likes(self, member: Member) -> TrackList | None:
        doc = _json(member)
        if not isinstance(doc, dict):
            raise InvalidFile(f"{member.where}: not a Spotify library file (expected a JSON object)")
        rows = doc.get("tracks")
        if rows is None:
            return None
        if not isinstance(rows, list):
            raise InvalidFile(f"{member.where}: \"tracks\" is not a list")
        entries: list[TrackInfo] = []
        skipped: list[SkippedEntry] = []
        for position, row in enumerate(rows):
            if not isinstance(row, dict):
                skipped.append(SkippedEntry(position, "null"))
                continue
            title = _text(row.get("track"))
            uri = _text(row.get("uri"))
            track = _track(uri, title, _text(row.get("artist")), _text(row.get("album")))
            if track is None:
                skipped.append(SkippedEntry(position, skip_reason(uri), title or None))
            else:
                entries.append(track)
        title = "Liked Songs"
        return TrackList(kind="likes", id=LIKES, title=title, entries=tuple(entries), skipped=tuple(skipped),
                         source=self.name, snapshot=list_snapshot(title, None, [t.track_id for t in entries]))


def _file_order(member: Member) -> tuple[int, str]:
    number = _PLAYLIST_FILE.match(member.name).group(1)
    return (int(number) if number else 0, member.where)


def _json(member: Member) -> Any:
    data = member.read_bytes()
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InvalidFile(f"{member.where} is not UTF-8 text: not a Spotify export file") from None
    except json.JSONDecodeError as exc:
        raise InvalidFile(f"{member.where} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                          f"{exc.msg}); is the export complete?") from None


def _playlists_of(member: Member) -> list[dict]:
    doc = _json(member)
    playlists = doc.get("playlists") if isinstance(doc, dict) else None
    if not isinstance(playlists, list):
        raise InvalidFile(f"{member.where}: not a Spotify playlist export (no \"playlists\" list)")
    for raw in playlists:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise InvalidFile(f"{member.where}: a playlist without a name")
    return playlists


def _text(value: Any) -> str:
    return clean_name(value) if isinstance(value, str) else ""


def _track(uri: str, title: str, artist: str, album: str) -> TrackInfo | None:
    """The track of an export row, or None when the row has no Spotify track id or no title."""
    m = _TRACK_URI.match(uri)
    if not m or not title or not is_spotify_id(m.group(1)):
        return None
    missing = EXPORT_MISSING | ({"album"} if not album else set())
    return TrackInfo(track_id=m.group(1), title=title, artists=(artist,) if artist else (), album=album,
                     missing=frozenset(missing))


def _playlist_entry(item: Any, position: int) -> tuple[TrackInfo | None, SkippedEntry | None]:
    """An item of a playlist: its track, or why it was skipped."""
    if not isinstance(item, dict):
        return None, SkippedEntry(position, "null")
    track = item.get("track")
    if isinstance(track, dict):
        title, uri = _text(track.get("trackName")), _text(track.get("trackUri"))
        info = _track(uri, title, _text(track.get("artistName")), _text(track.get("albumName")))
        if info is not None:
            return info, None
        return None, SkippedEntry(position, skip_reason(uri), title or None)
    episode = item.get("episode")
    if isinstance(episode, dict):
        return None, SkippedEntry(position, "episode", _text(episode.get("episodeName")) or None)
    if isinstance(item.get("audiobook"), dict):
        book = item["audiobook"]
        return None, SkippedEntry(position, "audiobook",
                                  _text(book.get("audiobookName") or book.get("name")) or None)
    local = item.get("localTrack")
    if isinstance(local, dict):
        return None, SkippedEntry(position, "local", _local_name(local))
    return None, SkippedEntry(position, "null")


def _local_name(local: dict) -> str | None:
    """The title of a local file entry (``uri`` ``spotify:local:artist:album:title:seconds``)."""
    for key in ("trackName", "name"):
        if _text(local.get(key)):
            return _text(local.get(key))
    parts = _text(local.get("uri")).split(":")
    return clean_name(unquote_plus(parts[4])) or None if len(parts) >= 5 else None
