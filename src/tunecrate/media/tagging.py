"""ID3v2.4 tags with mutagen: writing a track's metadata and reading it back.

Frames written:

====================  =====================================================
TIT2, TPE1, TPE2      title, all artists (one value each), album artists
TALB                  album
TRCK, TPOS            ``n/total`` track number, disc number
TDRC                  release date at Spotify's precision (2011, 2011-05-09)
TSRC                  ISRC
TLEN                  Spotify's duration in ms
APIC                  front cover (JPEG/PNG as downloaded)
WOAS                  the Spotify URL of the track (Spotify tracks only)
TXXX:SPOTIFY_TRACK_ID the track id (used by ``load-local``)
TXXX:SOURCE_URL       where the audio came from (URL or local path)
TXXX:SOURCE_PROVIDER  ``ytmusic``, ``youtube``, ``local``, ``pinned``
TXXX:SOURCE_SIZE      size in bytes of the audio as fetched (before encoding)
TXXX:SOURCE_SHA256    its SHA-256, hex (see :class:`~tunecrate.media.fetch.SourceDigest`)
TXXX:MATCH_SCORE      the matcher's score, when there was one
TXXX:EXPLICIT         ``1`` for explicit tracks
====================  =====================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tunecrate.core.errors import TaggingError
from tunecrate.core.types import TrackInfo
from tunecrate.core.images import Cover
from tunecrate.media.fetch import SourceDigest


def write_tags(
    path: Path,
    track: TrackInfo,
    *,
    source_url: str | None = None,
    source_provider: str | None = None,
    match_score: float | None = None,
    cover: Cover | None = None,
    source_digest: SourceDigest | None = None,
) -> None:
    """Replace the ID3 tag of the MP3 at ``path`` with ``track``'s metadata (ID3v2.4).

    ``source_digest`` describes the audio the file was made from (kept so that
    a re-pin to the same bytes changes nothing).

    Raises :class:`TaggingError` when the file is not an MP3 mutagen can write.
    """
    from mutagen.id3 import (
        APIC, ID3, TALB, TDRC, TLEN, TIT2, TPE1, TPE2, TPOS, TRCK, TSRC, TXXX, WOAS,
        ID3NoHeaderError, PictureType,
    )

    try:
        try:
            tags = ID3(path)
            tags.clear()
        except ID3NoHeaderError:
            tags = ID3()
        tags.add(TIT2(encoding=3, text=[track.title]))
        if track.artists:
            tags.add(TPE1(encoding=3, text=list(track.artists)))
        if track.album_artists:
            tags.add(TPE2(encoding=3, text=list(track.album_artists)))
        if track.album:
            tags.add(TALB(encoding=3, text=[track.album]))
        if track.track_number:
            trck = f"{track.track_number}/{track.track_total}" if track.track_total else str(track.track_number)
            tags.add(TRCK(encoding=3, text=[trck]))
        if track.disc_number:
            tags.add(TPOS(encoding=3, text=[str(track.disc_number)]))
        if track.release_date:
            tags.add(TDRC(encoding=3, text=[track.release_date]))
        if track.isrc:
            tags.add(TSRC(encoding=3, text=[track.isrc]))
        if track.duration_ms:
            tags.add(TLEN(encoding=3, text=[str(track.duration_ms)]))
        if track.spotify_url:
            tags.add(WOAS(url=track.spotify_url))
        tags.add(TXXX(encoding=3, desc="SPOTIFY_TRACK_ID", text=[track.track_id]))
        if source_url:
            tags.add(TXXX(encoding=3, desc="SOURCE_URL", text=[source_url]))
        if source_provider:
            tags.add(TXXX(encoding=3, desc="SOURCE_PROVIDER", text=[source_provider]))
        if source_digest is not None:
            tags.add(TXXX(encoding=3, desc="SOURCE_SIZE", text=[str(source_digest.size)]))
            tags.add(TXXX(encoding=3, desc="SOURCE_SHA256", text=[source_digest.sha256]))
        if match_score is not None:
            tags.add(TXXX(encoding=3, desc="MATCH_SCORE", text=[f"{match_score:.3f}"]))
        if track.explicit:
            tags.add(TXXX(encoding=3, desc="EXPLICIT", text=["1"]))
        if cover is not None:
            tags.add(APIC(encoding=3, mime=cover.mime, type=PictureType.COVER_FRONT, desc="Cover", data=cover.data))
        tags.save(path, v2_version=4)
    except (OSError, ValueError) as exc:
        raise TaggingError(f"cannot tag {path.name}: {exc}") from exc


@dataclass(frozen=True)
class ReadTags:
    """What :func:`read_tags` found: the track, where its audio came from (and that audio's digest,
    when the file recorded it), its cover."""

    track: TrackInfo
    source_url: str | None
    source_provider: str | None
    match_score: float | None
    has_cover: bool
    source_digest: SourceDigest | None = None


def read_tags(path: Path) -> ReadTags | None:
    """Read back what :func:`write_tags` wrote; ``None`` when the file has no track id tag.

    Raises :class:`TaggingError` when the file is not a readable MP3.
    """
    from mutagen import MutagenError
    from mutagen.id3 import ID3, ID3NoHeaderError

    try:
        tags = ID3(path)
    except ID3NoHeaderError:
        return None
    except (MutagenError, OSError) as exc:
        raise TaggingError(f"cannot read tags of {path.name}: {exc}") from exc
    return _from_id3(tags)


def read_mp3(path: Path) -> tuple[ReadTags | None, float]:
    """:func:`read_tags` and the length of the audio in seconds (0 without audio frames), in one read.

    Raises :class:`TaggingError` when the file is not a readable MP3.
    """
    from mutagen import MutagenError
    from mutagen.mp3 import MP3

    try:
        audio = MP3(path)
    except (MutagenError, OSError) as exc:
        raise TaggingError(f"cannot read {path.name} as MP3: {exc}") from exc
    length = audio.info.length if audio.info else 0.0
    return (_from_id3(audio.tags) if audio.tags is not None else None), length


def _from_id3(tags) -> ReadTags | None:
    """The :class:`ReadTags` of a mutagen ID3 tag; ``None`` without a track id."""

    def text(frame_id: str) -> str | None:
        frame = tags.get(frame_id)
        return str(frame.text[0]) if frame and frame.text else None

    def texts(frame_id: str) -> tuple[str, ...]:
        frame = tags.get(frame_id)
        return tuple(str(t) for t in frame.text) if frame else ()

    track_id = text("TXXX:SPOTIFY_TRACK_ID")
    if not track_id:
        return None
    number, total = _split_pair(text("TRCK"))
    disc, _ = _split_pair(text("TPOS"))
    duration = text("TLEN")
    score = text("TXXX:MATCH_SCORE")
    size, sha256 = text("TXXX:SOURCE_SIZE"), text("TXXX:SOURCE_SHA256")
    info = TrackInfo(
        track_id=track_id,
        title=text("TIT2") or "",
        artists=texts("TPE1"),
        album=text("TALB") or "",
        album_artists=texts("TPE2"),
        duration_ms=int(duration) if duration and duration.isdigit() else 0,
        track_number=number,
        track_total=total,
        disc_number=disc,
        release_date=text("TDRC"),
        explicit=text("TXXX:EXPLICIT") == "1",
        isrc=text("TSRC"),
    )
    return ReadTags(
        track=info,
        source_url=text("TXXX:SOURCE_URL"),
        source_provider=text("TXXX:SOURCE_PROVIDER"),
        match_score=float(score) if score else None,
        has_cover=bool(tags.getall("APIC")),
        source_digest=SourceDigest(int(size), sha256) if size and size.isdigit() and sha256 else None,
    )


def _split_pair(value: str | None) -> tuple[int | None, int | None]:
    if not value:
        return None, None
    first, _, second = value.partition("/")
    return (
        int(first) if first.strip().isdigit() else None,
        int(second) if second.strip().isdigit() else None,
    )
