"""Formatting for people: durations and sizes, one way everywhere."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["format_duration", "track_label"]


def format_duration(duration_ms: int | None, unknown: str = "") -> str:
    """``"m:ss"`` (``"h:mm:ss"`` from an hour) of a duration in milliseconds, rounded to the second;
    ``unknown`` when it is 0 or ``None``."""
    if not duration_ms:
        return unknown
    seconds = round(duration_ms / 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def track_label(artists: Sequence[str], title: str) -> str:
    """``"Artist A, Artist B - Title"`` for display and file names; ``"Title"`` without artists."""
    artist = ", ".join(a for a in artists if a)
    return f"{artist} - {title}" if artist else title
