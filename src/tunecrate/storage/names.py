"""File names that are safe on Windows, macOS and Linux, and that stay where they are put.

Every name tunecrate writes outside its own layout (ZIP members, M3U8 entries,
mirror files on a phone or USB stick) goes through :func:`safe_component`:

- Unicode NFC; lone surrogates, C0/C1 control characters and the characters
  ``< > : " / \\ | ? *`` become ``_``; invisible bidi controls (U+202A–U+202E,
  U+2066–U+2069), which could disguise an extension, are dropped;
- no leading dots or spaces (no hidden files, never ``.`` or ``..``), no
  trailing dots or spaces (Windows drops them silently);
- Windows device names (``CON``, ``PRN``, ``AUX``, ``NUL``, ``COM0``–``COM9``,
  ``LPT0``–``LPT9``, ``CONIN$``, ``CONOUT$``) get a ``_`` prefix, also when
  followed by an extension (``con.mp3`` → ``_con.mp3``);
- at most ``max_bytes`` (default 255) bytes of UTF-8, cut on a character
  boundary before the extension, which is always kept; 255 UTF-8 bytes is
  never more than the 255 UTF-16 units that NTFS, FAT and exFAT allow;
- an empty result becomes ``_``.

:class:`NameAllocator` numbers collisions (``name (2).mp3``) comparing names
case-insensitively, as FAT, exFAT, NTFS and default macOS volumes do.
:func:`ensure_within` and :func:`check_relative` are the last guard against
traversal: they raise :class:`~tunecrate.core.errors.StorageError`.

Playlist numbering: :func:`numbered_filename` pads the 1-based position with
zeros to the number of digits of the playlist length, at least 2
(``01``…``99``, ``001``…``500``).

Full path length (Windows' 260 characters without long-path support) is not
checked: it depends on where the user puts the files.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

from tunecrate.core.errors import StorageError
from tunecrate.core.text import track_label

#: Longest file name component, in bytes of UTF-8.
MAX_NAME_BYTES = 255
#: What an empty name becomes.
FALLBACK_NAME = "_"

_FORBIDDEN = frozenset('<>:"/\\|?*')
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{dev}{n}" for dev in ("COM", "LPT") for n in "0123456789\u00b9\u00b2\u00b3"]
)


def _clean_char(ch: str) -> str:
    if ch in _BIDI_CONTROLS:
        return ""
    if ch in _FORBIDDEN or unicodedata.category(ch) in ("Cc", "Cs"):
        return "_"
    return ch


def _trim(stem: str) -> str:
    return stem.lstrip(". ").rstrip(". ")


def _fit(stem: str, limit: int) -> str:
    """``stem`` cut to at most ``limit`` bytes of UTF-8 on a character boundary."""
    data = stem.encode("utf-8")
    if len(data) <= limit:
        return stem
    return data[:limit].decode("utf-8", "ignore")


def _is_reserved(name: str) -> bool:
    return name.split(".", 1)[0].rstrip(" ").upper() in _RESERVED


def _safe_stem(name: str, ext: str, max_bytes: int) -> str:
    if ext and (ext[0] != "." or safe_component(ext[1:], max_bytes=MAX_NAME_BYTES) != ext[1:]):
        raise ValueError(f"unsafe extension {ext!r}: expected a dot and a safe name, like '.mp3'")
    limit = max_bytes - len(ext.encode("utf-8"))
    if limit < 2:
        raise ValueError(f"max_bytes={max_bytes} leaves no room for a name before {ext!r}")
    stem = "".join(_clean_char(ch) for ch in unicodedata.normalize("NFC", name))
    stem = _trim(_fit(_trim(stem), limit)) or FALLBACK_NAME
    if _is_reserved(stem + ext):
        stem = _trim(_fit("_" + stem, limit))
    return stem


def safe_component(name: str, *, ext: str = "", max_bytes: int = MAX_NAME_BYTES) -> str:
    """One file name, safe on every common file system (rules in the module docstring).

    ``name`` is any text (a title, an artist); ``ext`` an extension with its
    dot (``".mp3"``), kept whole; ``max_bytes`` bounds the UTF-8 length of the
    result including ``ext``. Never returns ``""``, ``"."`` or ``".."`` and
    never a name containing a path separator.

    Raises ``ValueError`` for an extension that is not itself safe or a
    ``max_bytes`` too small to hold it.
    """
    return _safe_stem(name, ext, max_bytes) + ext


def _collision_key(name: str) -> str:
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


class NameAllocator:
    """Hands out safe file names that are unique in one directory, ignoring case.

    ``taken`` lists names already present (exact names as on disk; they are
    compared case-insensitively after NFC). :meth:`claim` makes a name safe with
    :func:`safe_component` and, if it collides, numbers it: ``"A - T.mp3"``,
    ``"A - T (2).mp3"``, ``"A - T (3).mp3"``… staying within ``max_bytes``.
    """

    def __init__(self, taken: Iterable[str] = (), *, max_bytes: int = MAX_NAME_BYTES) -> None:
        self.max_bytes = max_bytes
        self._taken: set[str] = {_collision_key(n) for n in taken}

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _collision_key(name) in self._taken

    def reserve(self, name: str) -> None:
        """Mark an existing name as taken, as is (no sanitising)."""
        self._taken.add(_collision_key(name))

    def claim(self, name: str, *, ext: str = "") -> str:
        """A safe, not yet taken name for ``name`` + ``ext``; it is taken from now on.

        Raises ``ValueError`` like :func:`safe_component`.
        """
        candidate = safe_component(name, ext=ext, max_bytes=self.max_bytes)
        number = 1
        while candidate in self:
            number += 1
            suffix = f" ({number})"
            stem = _safe_stem(name, ext, self.max_bytes - len(suffix))
            candidate = f"{stem}{suffix}{ext}"
        self.reserve(candidate)
        return candidate


def track_filename(artists: Sequence[str], title: str, *, ext: str = ".mp3") -> str:
    """The safe file name ``"Artist - Title.mp3"`` of a track (not numbered for collisions)."""
    return safe_component(track_label(artists, title), ext=ext)


def number_width(total: int) -> int:
    """Digits used to number a playlist of ``total`` entries: ``max(2, len(str(total)))``."""
    return max(2, len(str(total)))


def numbered_filename(
    position: int, total: int, artists: Sequence[str], title: str, *, ext: str = ".mp3"
) -> str:
    """``"007 - Artist - Title.mp3"``: ``position`` is 1-based, padded to :func:`number_width`.

    The number always survives truncation, which cuts the end of the title.
    """
    number = str(position).zfill(number_width(total))
    return safe_component(f"{number} - {track_label(artists, title)}", ext=ext)


def check_relative(name: str) -> str:
    """Return ``name`` if it is a safe relative ``/``-separated path, else raise StorageError.

    Refused: empty names, absolute paths, drive letters, backslashes, and
    ``.``, ``..`` or empty components (the zip-slip and traversal shapes).
    """
    parts = name.split("/")
    if (
        not name
        or "\\" in name
        or ":" in name
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise StorageError(f"refusing unsafe relative name {name!r}")
    return name


def ensure_within(root: Path, candidate: Path) -> Path:
    """The resolved ``candidate``, checked to lie strictly inside the resolved ``root``.

    A relative ``candidate`` is taken relative to ``root``. Symbolic links
    are followed, so a link pointing out of ``root`` is refused too.

    Raises StorageError when the path would escape ``root`` or is ``root`` itself.
    """
    base = Path(root).resolve()
    target = Path(candidate)
    resolved = (target if target.is_absolute() else base / target).resolve()
    if base not in resolved.parents:
        raise StorageError(f"refusing to write {str(candidate)!r}: it is not inside {str(base)!r}")
    return resolved
