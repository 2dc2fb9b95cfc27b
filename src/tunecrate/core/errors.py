"""The one exception tree of tunecrate.

Every error that reaches a user interface is a :class:`TunecrateError`; its
message is one line that says what went wrong and, where there is one, what to
do next. Interfaces print ``str(error)`` and exit non-zero; they never show a
traceback for these.

::

    TunecrateError
    ├── InvalidReference        a URL, URI or id that cannot be parsed
    ├── InvalidFile             an input file (an export) that is malformed or of an unknown kind
    ├── NotFound                an id the service does not know (HTTP 404)
    ├── ConfigurationError      missing credentials, bad settings
    ├── ServiceError            a service answered with an error
    │   ├── AuthError           401/403, expired or missing login
    │   ├── RateLimited         429 whose Retry-After exceeds our bound
    │   └── ServiceUnavailable  network outage, timeouts, 5xx
    ├── DownloadError           the audio could not be fetched
    ├── EncodeError             ffmpeg failed or the result is not audio
    ├── TaggingError            mutagen could not write tags
    ├── StorageError            disk full, permissions, unsafe names
    │   └── CatalogueDamaged    the catalogue file is not a readable database
    └── LibraryBusy             another process holds the library lock
"""

from __future__ import annotations


class TunecrateError(Exception):
    """Base class: a failure with a one-line, user-facing message."""

    #: Whether retrying the same operation later may succeed.
    transient: bool = False


class InvalidReference(TunecrateError):
    """A URL, URI or id that tunecrate cannot parse."""


class InvalidFile(TunecrateError):
    """A file the user gave (an account-data export, an Exportify CSV) that tunecrate cannot read:
    malformed, truncated, of an unknown kind, or missing what the format requires. The message
    names the file (and the member of a ZIP) and what is wrong."""


class NotFound(TunecrateError):
    """The service does not know the requested id (HTTP 404)."""


class ConfigurationError(TunecrateError):
    """Settings are missing or inconsistent (for example no client id)."""


class ServiceError(TunecrateError):
    """A remote service answered with an error status.

    ``status`` is the HTTP status code when there was one.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthError(ServiceError):
    """Credentials were refused (401/403) or a login is missing or expired."""


class RateLimited(ServiceError):
    """The service answered 429: too many requests.

    ``retry_after`` is the wait it asked for, in seconds (``None`` when it did
    not say). ``transient`` is False when that wait exceeds the configured
    bound: such an error is reported at once instead of waited out.
    """

    def __init__(self, message: str, retry_after: float | None = None, *, transient: bool = True) -> None:
        super().__init__(message, status=429)
        self.retry_after = retry_after
        self.transient = transient


class ServiceUnavailable(ServiceError):
    """The service could not be reached, timed out, or answered 5xx."""

    transient = True


class DownloadError(TunecrateError):
    """Audio could not be downloaded from the chosen source."""

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class EncodeError(TunecrateError):
    """ffmpeg failed, or its output is not decodable audio."""


class TaggingError(TunecrateError):
    """Tags could not be written to or read from a file."""


class StorageError(TunecrateError):
    """A filesystem operation failed: disk full, permissions, unsafe name."""


class CatalogueDamaged(StorageError):
    """The catalogue file exists but is empty or not a readable SQLite database.

    ``path`` is the file; ``reason`` what SQLite (or its size) said.
    ``tunecrate load-local`` sets such a file aside and rebuilds the
    catalogue from the storage folder.
    """

    def __init__(self, message: str, path=None, reason: str = "") -> None:
        super().__init__(message)
        self.path = path
        self.reason = reason


class LibraryBusy(TunecrateError):
    """Another tunecrate process is changing this library right now."""


def one_line(error: BaseException, limit: int = 160) -> str:
    """``str(error)`` on one line, cut to ``limit`` characters, for error messages."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
