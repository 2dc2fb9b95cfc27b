"""Parsing references, and the ids tunecrate stores.

References (what a user types) to Spotify objects, ``kind`` being track,
album or playlist:

- ``https://open.spotify.com/<kind>/<id>``, optionally with ``/intl-xx/``
  after the host, a query string such as ``?si=…`` and a fragment;
- ``spotify:<kind>:<id>`` URIs (and ``spotify:user:<u>:playlist:<id>``);
- bare 22-character base62 ids, when the caller says which kind it expects;
- ``likes``, the user's Liked Songs.

:func:`parse_reference` turns any of them into a :class:`Reference`, which
the source registry (:mod:`tunecrate.sources`) hands to the sources that
declare it :meth:`suitable <tunecrate.sources.base.Source.suitable>`.

Stored ids (:func:`validate_stored_id`), which also name files:

- a Spotify id, ``[0-9A-Za-z]{22}``: every Spotify track, album and
  playlist keeps the id Spotify gave it, whichever source read it;
- ``likes``: the pseudo-playlist of Liked Songs;
- ``<kind>-<token>``, a lower-case kind of 2 to 16 letters, a dash, and 4 to
  64 characters of ``[0-9A-Za-z_-]``: the id of anything that has no Spotify
  id, for example ``export-<digest>`` for a playlist read from an export
  file (its module documents how the token is made).

Ids are validated before they are used anywhere else, in particular before
they become file names: none of them can hold a path separator or a dot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import InvalidReference

KINDS = ("track", "album", "playlist")
_ID_RE = re.compile(r"^[0-9A-Za-z]{22}$")
#: The pseudo-playlist id of the user's Liked Songs.
LIKES = "likes"
#: ids tunecrate stores: Spotify ids, ``likes``, and ``<kind>-<token>`` ids of other kinds.
_STORED_ID_RE = re.compile(r"^(?:[0-9A-Za-z]{22}|likes|[a-z]{2,16}-[0-9A-Za-z_-]{4,64})$")
_PATH_RE = re.compile(r"^/(?:intl-[a-zA-Z_-]+/)?(?P<kind>[a-z]+)/(?P<id>[^/]+)/?$")
_OPEN_HOSTS = {"open.spotify.com", "play.spotify.com"}


@dataclass(frozen=True)
class SpotifyRef:
    """A parsed reference: ``kind`` in :data:`KINDS` and a validated ``id``."""

    kind: str
    id: str

    @property
    def url(self) -> str:
        return f"https://open.spotify.com/{self.kind}/{self.id}"

    @property
    def uri(self) -> str:
        return f"spotify:{self.kind}:{self.id}"


@dataclass(frozen=True)
class Reference:
    """A parsed reference to something a metadata source can read.

    ``service`` is ``"spotify"`` for Spotify objects and Liked Songs; other
    services (export files, media servers) name themselves. ``kind`` is
    ``"track"``, ``"album"``, ``"playlist"`` or ``"likes"``; ``id`` the
    validated id (``"likes"`` for Liked Songs); ``text`` what the user typed.

    A file the user supplies is ``service="file"``, ``kind="export"``, with
    the path as given in ``id`` and ``text`` (:func:`file_reference`): it
    names a *collection* of lists (every playlist of an account-data export),
    which the sources that take it read with ``lists()`` (see
    :mod:`tunecrate.sources.base`). The path is never a stored id.
    """

    kind: str
    id: str
    service: str = "spotify"
    text: str = ""

    @property
    def is_spotify(self) -> bool:
        return self.service == "spotify"


def is_spotify_id(value: str) -> bool:
    """True when ``value`` is a 22-character base62 Spotify id."""
    return bool(_ID_RE.match(value))


def parse_reference(text: str, expected: str | None = None) -> Reference:
    """Parse what a user typed into a :class:`Reference`.

    ``likes`` is the user's Liked Songs; everything else is parsed as a
    Spotify reference (:func:`parse_spotify_ref`, where ``expected`` is
    explained). Raises :class:`InvalidReference`.
    """
    raw = (text or "").strip()
    if raw == LIKES and expected in (None, "playlist", "likes"):
        return Reference("likes", LIKES, "spotify", raw)
    ref = parse_spotify_ref(raw, expected)
    return Reference(ref.kind, ref.id, "spotify", raw)


def file_reference(path: str) -> Reference:
    """The :class:`Reference` of an export file or folder at ``path`` (kept as given: sources resolve
    it). Raises :class:`InvalidReference` for an empty path."""
    text = str(path or "")
    if not text.strip():
        raise InvalidReference("empty path: give the export's folder, ZIP or CSV file")
    return Reference("export", text, "file", text)


def validate_stored_id(value: str) -> str:
    """Return ``value`` if it is safe to use as a stored id and file name.

    Raises :class:`InvalidReference` otherwise (path separators, dots,
    anything that is not one of the stored id forms of the module docstring).
    """
    if not isinstance(value, str) or not _STORED_ID_RE.match(value):
        raise InvalidReference(f"not a valid id: {value!r}")
    return value


def stored_playlist_id(text: str) -> str:
    """The stored id of a playlist given as a Spotify URL, URI or bare id, ``likes``, or a stored id of
    another kind (``export-…``). Raises :class:`InvalidReference`."""
    raw = (text or "").strip()
    if raw == LIKES:
        return LIKES
    try:
        return parse_spotify_ref(raw, "playlist").id
    except InvalidReference:
        if "-" in raw:
            return validate_stored_id(raw)
        raise


def parse_spotify_ref(text: str, expected: str | None = None) -> SpotifyRef:
    """Parse a Spotify URL, URI or bare id.

    ``expected`` is the kind the caller needs (``"track"``, ``"album"``,
    ``"playlist"``); it is required for bare ids and checked for URLs and URIs.

    Raises :class:`InvalidReference` with a message saying what was expected.
    """
    if expected is not None and expected not in KINDS:
        raise ValueError(f"unknown kind {expected!r}")
    raw = (text or "").strip()
    what = expected or "Spotify"
    if not raw:
        raise InvalidReference(f"empty {what} reference")

    if raw.lower().startswith("spotify:"):
        parts = raw.split(":")
        # spotify:kind:id or spotify:user:<name>:playlist:id
        if len(parts) == 3:
            kind, ident = parts[1], parts[2]
        elif len(parts) == 5 and parts[1] == "user":
            kind, ident = parts[3], parts[4]
        else:
            raise InvalidReference(f"malformed Spotify URI: {raw!r}")
    elif "://" in raw or raw.startswith("open.spotify.com"):
        split = urlsplit(raw if "://" in raw else "https://" + raw)
        if split.scheme not in ("http", "https") or (split.hostname or "") not in _OPEN_HOSTS:
            raise InvalidReference(
                f"not a Spotify URL: {raw!r} (expected https://open.spotify.com/...)"
            )
        m = _PATH_RE.match(split.path)
        if not m:
            raise InvalidReference(f"unrecognised Spotify URL path: {split.path!r}")
        kind, ident = m.group("kind"), m.group("id")
    else:
        if expected is None:
            raise InvalidReference(
                f"{raw!r} is not a Spotify URL or URI; a bare id needs a known kind"
            )
        kind, ident = expected, raw

    if kind not in KINDS:
        raise InvalidReference(f"unsupported Spotify link type {kind!r} in {raw!r}")
    if expected is not None and kind != expected:
        raise InvalidReference(f"expected {_article(expected)} link, got {_article(kind)} link: {raw!r}")
    if not _ID_RE.match(ident):
        raise InvalidReference(f"malformed Spotify {kind} id {ident!r} (want 22 letters/digits)")
    return SpotifyRef(kind, ident)


def _article(kind: str) -> str:
    """``"a track"``, ``"an album"``."""
    return f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind}"


def stored_reference(playlist_id: str) -> Reference:
    """The reference a sync reads the stored playlist ``playlist_id`` by: a Spotify id or ``likes`` names
    Spotify's list; any other stored id (``export-…``) is the library's own (its remembered source decides
    how it is read again)."""
    if playlist_id == LIKES:
        return Reference("likes", LIKES, "spotify", LIKES)
    return Reference("playlist", playlist_id, "spotify" if is_spotify_id(playlist_id) else "library", playlist_id)
