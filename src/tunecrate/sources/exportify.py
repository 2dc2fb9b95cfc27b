"""The ``exportify`` source: playlists saved as CSV by Exportify (exportify.app), one per file.

Takes a ``.csv`` file, a folder of them, or the ZIP of Exportify's "Export
All", through :func:`~tunecrate.core.ids.file_reference`; nothing is
extracted (:mod:`.files`). Exportify writes UTF-8, every field quoted, one
header line, then one row per playlist entry. The English header (as Exportify
writes it):

    "Track URI","Track Name","Artist URI(s)","Artist Name(s)","Album URI",
    "Album Name","Album Artist URI(s)","Album Artist Name(s)",
    "Album Release Date","Album Image URL","Disc Number","Track Number",
    "Track Duration (ms)","Track Preview URL","Explicit","Popularity","ISRC",
    "Added By","Added At"

then optional genre, audio-feature, label and copyright columns, which are
ignored. Files from before 2018 say ``"Spotify URI"`` and ``"Artist Name"``
and have fewer columns; whatever a file lacks is named in each track's
``missing``. Artists are joined with ``", "``, a comma inside a name being
escaped ``\\,`` (``"Tyler\\, The Creator, Kali Uchis"`` is two artists).

Other locales. Exportify translates the header into a dozen languages but
keeps the column order. A header without the English names is recognised
by its data: the column whose values are ``spotify:track:`` URIs is
"Track URI", and the columns two and four to its right must hold
``spotify:artist:`` and ``spotify:album:`` URIs; the other columns are then
taken by their place in the order above. A file that fits neither is
refused with an :class:`~tunecrate.core.errors.InvalidFile` naming the
columns it lacks.

Rows whose URI is not a ``spotify:track:`` URI (``spotify:local:…`` local
files, ``spotify:episode:…`` episodes, empty) are reported in ``skipped``.

Lists and ids. A file is one playlist; its name is all the file says about
it (Exportify names it after the playlist: lower case, runs of spaces and
``/\\<>:;"|=,.?*[]`` turned into ``_``, and ``" (1)"``, ``" (2)"`` added to
repeated names in one "Export All"). The list is titled by the file name
with ``_`` shown as spaces, and its id is ``exportify-<token>``, the token
being 16 hex digits of the SHA-256 of the case-folded file name without
``.csv`` (and, should one import hold two files of that name in different
folders, their ordinal). A newer export of the same playlist has the same
file name, so importing it syncs the library's copy instead of adding one;
a renamed playlist is a new list. ``liked.csv``, Exportify's file for Liked
Songs, becomes the pseudo-playlist ``likes``. An Exportify file and an
account-data export of the same playlist are two lists.

Snapshots are a digest of the title and the ordered track ids. This source
cannot read a list again without a newer file
(:attr:`ExportifySource.refresh_hint`).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from tunecrate.core.errors import InvalidFile, InvalidReference
from tunecrate.core.ids import LIKES, Reference, is_spotify_id
from tunecrate.core.types import SkippedEntry, TrackInfo, TrackList
from tunecrate.sources.files import (
    ExportFile, Member, clean_name, find_members, list_snapshot, skip_reason, stable_token,
)

if TYPE_CHECKING:
    from tunecrate.core.settings import Settings

__all__ = ["ExportifySource", "playlist_id"]

#: Our field → the English headers that name it (lower case), current first.
HEADERS: dict[str, tuple[str, ...]] = {
    "uri": ("track uri", "spotify uri"),
    "title": ("track name",),
    "artists": ("artist name(s)", "artist name"),
    "album": ("album name",),
    "album_artists": ("album artist name(s)",),
    "release_date": ("album release date",),
    "cover_url": ("album image url",),
    "disc_number": ("disc number",),
    "track_number": ("track number",),
    "duration_ms": ("track duration (ms)",),
    "explicit": ("explicit",),
    "isrc": ("isrc",),
}
#: The fields without which a file cannot be read, and the column names a refusal gives for them.
REQUIRED = {"uri": "Track URI", "title": "Track Name", "artists": "Artist Name(s)"}
#: Where each field sits in the current layout, counted from "Track URI" (every locale).
LAYOUT = {"uri": 0, "title": 1, "artists": 3, "album": 5, "album_artists": 7, "release_date": 8,
          "cover_url": 9, "disc_number": 10, "track_number": 11, "duration_ms": 12, "explicit": 14,
          "isrc": 16}
_LAYOUT_URIS = {2: "spotify:artist:", 4: "spotify:album:"}
#: Fields an Exportify row never fills.
_NEVER = frozenset({"track_total"})
_ENTRY_URI = re.compile(r"^spotify:(?:track|local|episode):")
_TRACK_URI = re.compile(r"^spotify:track:([0-9A-Za-z]{22})$")
_DATE = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$")
_ARTIST_SEPARATOR = re.compile(r"(?<!\\), ")
_LIKED_STEM = "liked"
#: How many rows are looked at to find the URI column of a translated header.
_SNIFF_ROWS = 50


def _wanted(name: str) -> bool:
    return name.casefold().endswith(".csv")


def _stem(name: str) -> str:
    return name[: -len(".csv")] if name.casefold().endswith(".csv") else name


def playlist_id(file_name: str, ordinal: int = 1) -> str:
    """The stored id of the playlist in the Exportify file ``file_name`` (module docstring)."""
    key = unicodedata.normalize("NFKC", clean_name(_stem(file_name))).casefold()
    return f"exportify-{stable_token(key, *([str(ordinal)] if ordinal > 1 else []))}"


class ExportifySource:
    """The ``exportify`` :class:`~tunecrate.sources.base.CollectionSource` (module docstring).

    It needs no settings, no credentials and no network.
    """

    name = "exportify"
    settings_model = None
    refresh_hint = "to update it, export it again with Exportify and import the new CSV: `tunecrate import PATH`"
    description = "an Exportify CSV"

    @classmethod
    def from_settings(cls, settings: Settings) -> ExportifySource:
        return cls()

    def suitable(self, ref: Reference) -> bool:
        """A file reference to a ``.csv`` file, or a folder or ZIP holding some (names only)."""
        return ref.service == "file" and ref.kind == "export" and find_members(ref.id, _wanted)

    def lists(self, ref: Reference) -> Iterator[TrackList]:
        """One list per CSV file, by path. Raises :class:`InvalidFile`, :class:`NotFound`."""
        with ExportFile(ref.id) as export:
            members = export.members(_wanted)
            if not members:
                raise InvalidFile(f"{ref.id} holds no .csv file: not an Exportify export")
            seen: Counter[str] = Counter()
            for member in members:
                stem = unicodedata.normalize("NFKC", _stem(member.name)).casefold()
                seen[stem] += 1
                yield self._read(member, seen[stem])

    def fetch(self, ref: Reference) -> TrackList:
        """The list of a single CSV file. Raises :class:`InvalidReference` for a folder or ZIP of
        several (read them with :meth:`lists`), and the errors of :meth:`lists`."""
        found = list(self.lists(ref))
        if len(found) != 1:
            raise InvalidReference(f"{ref.id} holds {len(found)} playlists; read them all with `tunecrate import`")
        return found[0]

    def snapshot(self, ref: Reference) -> str | None:
        """``None``: a collection has no version of its own (each list has its snapshot)."""
        return None

    def close(self) -> None:
        """Nothing to release."""

    # -- parsing -----------------------------------------------------------------------

    def _read(self, member: Member, ordinal: int) -> TrackList:
        rows = _rows(member)
        if not rows:
            raise InvalidFile(f"{member.where} is empty: not an Exportify CSV")
        header, body = rows[0], [r for r in rows[1:] if any(cell.strip() for cell in r)]
        columns = _columns(header, body, member)
        entries: list[TrackInfo] = []
        skipped: list[SkippedEntry] = []
        for position, row in enumerate(body):
            cells = {field: (row[i].strip() if i < len(row) else "") for field, i in columns.items()}
            track = _track(cells)
            if track is None:
                skipped.append(SkippedEntry(position, skip_reason(cells["uri"]), clean_name(cells["title"]) or None))
            else:
                entries.append(track)
        stem = clean_name(_stem(member.name))
        if stem.casefold() == _LIKED_STEM:
            kind, list_id, title = "likes", LIKES, "Liked Songs"
        else:
            kind, list_id, title = "playlist", playlist_id(member.name, ordinal), stem.replace("_", " ").strip()
        return TrackList(kind=kind, id=list_id, title=title or stem, entries=tuple(entries), skipped=tuple(skipped),
                         source=self.name, snapshot=list_snapshot(title, None, [t.track_id for t in entries]))


def _rows(member: Member) -> list[list[str]]:
    try:
        with member.open() as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
            return list(csv.reader(text))
    except UnicodeDecodeError:
        raise InvalidFile(f"{member.where} is not UTF-8 text: not an Exportify CSV") from None
    except csv.Error as exc:
        raise InvalidFile(f"{member.where} is not a readable CSV ({exc})") from None


def _columns(header: Sequence[str], body: Sequence[Sequence[str]], member: Member) -> dict[str, int]:
    """Field → column index, from the English header names or, failing that, the data's layout."""
    names = [clean_name(h).casefold() for h in header]
    found: dict[str, int] = {}
    for field, spellings in HEADERS.items():
        for spelling in spellings:
            if spelling in names:
                found[field] = names.index(spelling)
                break
    if all(field in found for field in REQUIRED):
        return found
    start = _uri_column(body)
    if start is not None and _has_layout(body, start):
        return {field: start + offset for field, offset in LAYOUT.items()}
    missing = ", ".join(label for field, label in REQUIRED.items() if field not in found)
    raise InvalidFile(f"{member.where} is not an Exportify CSV: missing the columns {missing} "
                      "(and no column holds spotify:track: URIs in Exportify's column order)")


def _uri_column(body: Sequence[Sequence[str]]) -> int | None:
    """The first column whose values (of the first rows) are all entry URIs, if any."""
    sample = body[:_SNIFF_ROWS]
    if not sample:
        return None
    width = min(len(r) for r in sample)
    for index in range(width):
        if all(_ENTRY_URI.match(r[index].strip()) for r in sample):
            return index
    return None


def _has_layout(body: Sequence[Sequence[str]], start: int) -> bool:
    """Whether the sample rows hold artist and album URIs where Exportify's layout puts them."""
    for row in body[:_SNIFF_ROWS]:
        if len(row) <= start + LAYOUT["explicit"]:
            return False
        for offset, prefix in _LAYOUT_URIS.items():
            values = [v.strip() for v in row[start + offset].split(",") if v.strip()]
            if any(not v.startswith(prefix) for v in values):
                return False
    return True


def _artists(value: str) -> tuple[str, ...]:
    return tuple(clean_name(a.replace("\\,", ",")) for a in _ARTIST_SEPARATOR.split(value) if a.strip())


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _track(cells: dict[str, str]) -> TrackInfo | None:
    """The track of a row, or None when it has no Spotify track id or no title."""
    m = _TRACK_URI.match(cells["uri"])
    title = clean_name(cells["title"])
    if not m or not title or not is_spotify_id(m.group(1)):
        return None
    explicit = {"true": True, "false": False}.get(cells.get("explicit", "").lower())
    release = cells.get("release_date", "")
    cover = cells.get("cover_url", "")
    isrc = cells.get("isrc", "").upper()
    values = {
        "artists": _artists(cells["artists"]),
        "album": clean_name(cells.get("album", "")),
        "album_artists": _artists(cells.get("album_artists", "")),
        "duration_ms": _int(cells.get("duration_ms", "")) or 0,
        "track_number": _int(cells.get("track_number", "")),
        "disc_number": _int(cells.get("disc_number", "")),
        "release_date": release if _DATE.match(release) else None,
        "explicit": bool(explicit),
        "isrc": isrc if re.fullmatch(r"[A-Z0-9]{12}", isrc) else None,
        "cover_url": cover if cover.startswith(("https://", "http://")) else None,
    }
    missing = set(_NEVER)
    for field, value in values.items():
        if field == "explicit":
            if explicit is None:
                missing.add(field)
        elif value in (None, "", (), 0):
            missing.add(field)
    return TrackInfo(track_id=m.group(1), title=title, missing=frozenset(missing), **values)
