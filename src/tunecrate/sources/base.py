"""The metadata-source protocol: what a playlist, album, track or Liked Songs holds.

A source reads one service's idea of a list of tracks and returns it as a
:class:`~tunecrate.core.types.TrackList`. Like a yt-dlp extractor it declares
which references it takes (:meth:`Source.suitable`, the equivalent of
``_VALID_URL``) and returns one documented result (:meth:`Source.fetch`), so
that the sync engine and the pipeline never name a service.

Contract of :meth:`Source.fetch` (the result dict of this protocol):

``kind``, ``id``, ``title``
    always; ``id`` is a stored id (:func:`tunecrate.core.ids.validate_stored_id`).
``entries``
    the tracks in the source's order, a track listed twice appearing twice;
    each :class:`~tunecrate.core.types.TrackInfo` has the Spotify track id
    for Spotify tracks, and names in ``missing`` the fields the source could
    not fill (an export has no duration, the embed page no album).
``skipped``
    the entries that cannot become tracks, with their positions.
``snapshot``
    the version of the list: what :meth:`Source.snapshot` returns for it now.
``source``
    the source's :attr:`Source.name`.
``complete``
    False when the source saw only part of the list; the sync engine then
    never prunes entries this view could not see.
``warnings``
    one-line notes for the user (a fallback taken, tags that will be missing).

:meth:`Source.snapshot` must be cheap (one or two requests, no entries read):
a sync whose stored snapshot equals it, and whose files are all present,
does nothing else. A service without snapshot ids may answer a digest of
the ordered track ids instead, read as cheaply as it can (the public web
pages: one request per 100 entries), and keep that list for the
:meth:`Source.fetch` that follows when the digest changed.

Errors (:mod:`tunecrate.core.errors`): :class:`InvalidReference` for a
reference the source cannot use, :class:`NotFound`, :class:`AuthError`,
:class:`RateLimited`, :class:`ServiceUnavailable`, :class:`ServiceError`,
:class:`ConfigurationError` for missing credentials. An error whose
``fallback`` attribute is True (see :class:`SourceRefused`) tells the
registry that the next suitable source may succeed where this one was
refused (a development-mode Spotify app reading a playlist it may not read).

Collections. A file the user supplies (an account-data export, an Exportify
CSV, a folder or ZIP of them) holds several lists and is read once: its
reference is :func:`~tunecrate.core.ids.file_reference` (``service="file"``,
``kind="export"``, the path in ``id``). A source that takes such references
is a :class:`CollectionSource`: ``suitable(ref)`` says whether the file is
of its format (looking at names only: the folder's files, the ZIP's
directory), ``lists(ref)`` yields every list the file holds, in the file's
order, one at a time, each following the contract above with an ``id`` of
its own kind that stays the same in a newer export of the same list, and
``fetch(ref)`` returns the file's list when it holds exactly one (it raises
:class:`InvalidReference` otherwise). Such a source cannot read a list
again by itself once the file is gone: it is never suitable for a stored
list's reference, and its ``refresh_hint`` tells the user what to do
instead (the sync engine says it when asked to sync such a list). Malformed
files raise :class:`~tunecrate.core.errors.InvalidFile`.

A source is built by its class method ``from_settings(settings)`` from the
library's :class:`~tunecrate.core.settings.Settings`; it reads its own
settings model with :meth:`~tunecrate.core.settings.Settings.section` and
declares that model as ``settings_model``. Building is cheap and offline.

Completing a track. A source may offer ``complete(info) -> TrackInfo``
(it is optional): ``info`` with what it lacks for the matcher (artists,
duration, title) read by its Spotify track id, ``missing`` dropping what
was filled, or ``info`` unchanged when the source cannot tell; it raises
nothing and gives up for good once its service cannot be reached. The
pipeline asks (:meth:`~tunecrate.sources.SourceRegistry.complete`) only
before it searches for a track whose source left those out (an export names
one artist and no duration; an embed row may lack its duration), so
:meth:`Source.fetch` need not fill them. The public web pages do.

A source may set the class attribute ``explicit = True`` (it is optional):
the registry then uses it only when it is named (the user's choice, or the
source a list was filled by), never as a fallback or a default. The browser
source does, since it starts Chromium and may ask the user to log in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

from tunecrate.core.errors import AuthError

if TYPE_CHECKING:
    from tunecrate.core.ids import Reference
    from tunecrate.core.settings import Settings, SettingsModel
    from tunecrate.core.types import TrackList

__all__ = ["CollectionSource", "Source", "SourceRefused"]


class SourceRefused(AuthError):
    """This source may not read the reference (for example HTTP 403 to a development-mode app);
    another suitable source may. ``fallback`` is True."""

    fallback = True


@runtime_checkable
class Source(Protocol):
    """Reads track lists from one service. See the module docstring for the contract."""

    #: Registry name, stored with every playlist it filled (``"spotify-api"``).
    name: ClassVar[str]
    #: The settings model this source reads (or None).
    settings_model: ClassVar[type[SettingsModel] | None]

    @classmethod
    def from_settings(cls, settings: Settings) -> Source:
        """Build the source from the library's settings (cheap, offline).

        Raises :class:`ConfigurationError` only for settings that are
        malformed; missing credentials are reported when it is used.
        """
        ...

    def suitable(self, ref: Reference) -> bool:
        """Whether this source can read ``ref`` at all (without a request)."""
        ...

    def fetch(self, ref: Reference) -> TrackList:
        """The list ``ref`` names, with every entry. Raises the errors of the module docstring."""
        ...

    def snapshot(self, ref: Reference) -> str | None:
        """The list's current version, cheaply; ``None`` when the source cannot tell."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class CollectionSource(Source, Protocol):
    """A source whose references name files holding several lists. See "Collections" above."""

    #: What the user does to bring a list this source filled up to date
    #: (``"to update it, import a newer account-data export: `tunecrate import PATH`"``).
    refresh_hint: ClassVar[str]

    def lists(self, ref: Reference) -> Iterator[TrackList]:
        """Every list the file ``ref`` names holds, in the file's order.

        Raises :class:`~tunecrate.core.errors.InvalidFile` for a malformed
        file and :class:`~tunecrate.core.errors.NotFound` when it is gone.
        """
        ...
