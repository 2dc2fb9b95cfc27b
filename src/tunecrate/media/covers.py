"""Cover art: downloading it once per URL with a size cap, and reading it back from a file.

Covers come from the metadata source (Spotify's image CDN, ``i.scdn.co``):
the album image of a track, the image of a playlist. Only JPEG and PNG are
accepted, recognised by their magic bytes
(:func:`tunecrate.core.images.sniff_image_mime`), never by a header or a
file name.
"""

from __future__ import annotations

import threading
from pathlib import Path

from tunecrate.core.errors import DownloadError
from tunecrate.core.images import Cover, sniff_image_mime
from tunecrate.core.net import TLS_HINT, httpx_client, untrusted_certificate

__all__ = ["MAX_COVER_BYTES", "CoverFetcher", "embedded_cover"]

#: Largest cover image accepted, in bytes.
MAX_COVER_BYTES = 10 * 1024 * 1024


class CoverFetcher:
    """Downloads cover images with httpx, once per URL (album tracks share them); thread-safe.

    ``timeout_s`` bounds each step (connect, read) in seconds; ``max_bytes``
    the size of an image; ``proxy`` (a URL; this machine and ``NO_PROXY``
    hosts go direct) and ``ca_bundle`` (a PEM file of certificate
    authorities trusted besides the usual ones) shape the httpx client, as
    :func:`tunecrate.core.net.httpx_client` builds it. Failures are
    remembered too, so a dead URL costs one attempt per run.
    """

    def __init__(self, *, timeout_s: float = 15.0, max_bytes: int = MAX_COVER_BYTES,
                 proxy: str | None = None, ca_bundle: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._covers: dict[str, Cover | str] = {}
        self._timeout_s = timeout_s
        self._max_bytes = max_bytes
        self._proxy = proxy
        self._ca_bundle = ca_bundle
        self._client = None

    def get(self, url: str, *, fresh: bool = False) -> Cover:
        """The cover at ``url`` (downloaded again when ``fresh``). Raises :class:`DownloadError`
        with a one-line reason."""
        with self._lock:
            cached = None if fresh else self._covers.get(url)
            if cached is None:
                cached = self._covers[url] = self._download(url)
        if isinstance(cached, str):
            raise DownloadError(cached)
        return cached

    def _download(self, url: str) -> Cover | str:
        if not url.startswith(("http://", "https://")):
            return f"unsupported cover URL {url!r}"
        import httpx

        if self._client is None:
            self._client = httpx_client(self._proxy, self._ca_bundle, timeout=self._timeout_s,
                                        follow_redirects=True)
        try:
            with self._client.stream("GET", url) as response:
                response.raise_for_status()
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self._max_bytes:
                        return f"the cover at {url} is larger than {self._max_bytes} bytes"
                    chunks.append(chunk)
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            advice = f"; {TLS_HINT}" if untrusted_certificate(exc) else ""
            return f"cover art not downloaded ({url}): {exc or type(exc).__name__}{advice}"
        data = b"".join(chunks)
        mime = sniff_image_mime(data)
        if mime is None:
            return f"the cover at {url} is not a JPEG or PNG image"
        return Cover(data, mime)

    def close(self) -> None:
        """Close the HTTP connections (a later :meth:`get` opens new ones)."""
        if self._client is not None:
            self._client.close()
            self._client = None


def embedded_cover(path: Path) -> Cover | None:
    """The front cover (or else the first picture) embedded in the MP3 at ``path``, or ``None``.

    Never raises for an unreadable tag: a file without a readable picture has no cover.
    """
    from mutagen import MutagenError
    from mutagen.id3 import ID3, ID3NoHeaderError

    try:
        pictures = ID3(path).getall("APIC")
    except (ID3NoHeaderError, MutagenError, OSError):
        return None
    if not pictures:
        return None
    picture = next((p for p in pictures if p.type == 3), pictures[0])
    mime = sniff_image_mime(picture.data) or picture.mime or "image/jpeg"
    return Cover(bytes(picture.data), mime)
