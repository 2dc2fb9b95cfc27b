"""Cover art as bytes: the :class:`Cover` type and the one image sniffer.

Only JPEG and PNG are accepted anywhere (a downloaded cover, a picture
embedded in an MP3, a playlist cover kept in the library or written into an
export). They are recognised by their magic bytes (:func:`sniff_image_mime`),
never by a header or a file name.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Cover", "sniff_image_mime"]


@dataclass(frozen=True)
class Cover:
    """Cover art bytes and their MIME type (``image/jpeg`` or ``image/png``)."""

    data: bytes
    mime: str = "image/jpeg"

    @property
    def extension(self) -> str:
        """``".jpg"`` or ``".png"``."""
        return ".png" if self.mime == "image/png" else ".jpg"


def sniff_image_mime(data: bytes) -> str | None:
    """``image/jpeg``/``image/png`` from the magic bytes at the start of ``data``, ``None`` for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None
