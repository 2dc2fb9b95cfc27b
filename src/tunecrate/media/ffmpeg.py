"""ffmpeg: locating the binary and encoding MP3.

The binary is, in order: the ``ffmpeg`` setting (``TUNECRATE_FFMPEG``), an
``ffmpeg`` on ``PATH``, or the static binary shipped by the imageio-ffmpeg
wheel (built with libmp3lame).
"""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from tunecrate.core.errors import ConfigurationError, EncodeError, StorageError

#: LAME settings per ``audio_quality``: VBR V0 (~245 kbit/s) or CBR 320 kbit/s.
QUALITY_ARGS = {"v0": ["-q:a", "0"], "320": ["-b:a", "320k"]}


@lru_cache(maxsize=None)
def find_ffmpeg(configured: str | None = None) -> str:
    """Return the path of the ffmpeg binary to use.

    Raises :class:`ConfigurationError` when ``configured`` does not exist or no
    ffmpeg can be found at all.
    """
    if configured:
        found = shutil.which(configured)
        if not found:
            raise ConfigurationError(f"TUNECRATE_FFMPEG={configured!r} is not an executable")
        return found
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        raise ConfigurationError(
            "no ffmpeg found: install ffmpeg, or the imageio-ffmpeg package, or set TUNECRATE_FFMPEG"
        ) from exc


def ffmpeg_version(binary: str) -> str:
    """The first line of ``ffmpeg -version`` (for status screens)."""
    out = subprocess.run([binary, "-version"], capture_output=True, text=True, check=False)
    return (out.stdout.splitlines() or ["unknown"])[0]


def encode_command(binary: str, source: Path, dest: Path, quality: str = "v0") -> list[str]:
    """The ffmpeg argv that encodes the first audio stream of ``source`` to MP3 at ``dest``.

    Metadata and pictures of the source are dropped; tags are written later.
    """
    return [
        binary, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-i", str(source),
        "-map", "0:a:0", "-vn", "-map_metadata", "-1",
        "-c:a", "libmp3lame", *QUALITY_ARGS[quality],
        "-id3v2_version", "0", "-write_xing", "1",
        "-f", "mp3", str(dest),
    ]


def encode_mp3(binary: str, source: Path, dest: Path, quality: str = "v0") -> None:
    """Encode ``source`` (any audio ffmpeg reads) to an MP3 file at ``dest``.

    Raises :class:`EncodeError` when ffmpeg fails or writes nothing (for
    example a corrupt or truncated download), :class:`StorageError` when the
    disk is full.
    """
    # Its own session: a Ctrl-C meant for tunecrate lets the encode in flight finish.
    proc = subprocess.run(
        encode_command(binary, source, dest, quality),
        capture_output=True, text=True, errors="replace", check=False, start_new_session=True,
    )
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        if "No space left" in proc.stderr:
            raise StorageError(f"disk full while encoding {dest.name}")
        raise EncodeError(f"ffmpeg could not encode {source.name}: {detail}")
    if not dest.exists() or dest.stat().st_size == 0:
        raise EncodeError(f"ffmpeg produced no audio from {source.name}")
