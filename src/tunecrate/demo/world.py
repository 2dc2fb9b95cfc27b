"""The offline world: loopback Spotify and media stand-ins, generated audio, a demo catalogue.

``tunecrate demo`` runs the main job inside it, and the tests reuse it (with
the servers of ``tests/standins``)::

    with StandIns(work_dir) as world:
        catalogue = build_demo_catalogue(world)
        settings = Settings.load(**world.settings_overrides(), storage_root=..., data_root=...)

Audio is generated with ffmpeg's ``lavfi`` sources (sine tones), encoded to
Opus in WebM, the format YouTube serves as best audio; covers are generated
JPEGs. Nothing here is copied from anywhere: all of it is synthesised.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tunecrate.demo.media_server import MediaServer
from tunecrate.demo.spotify_server import (
    FakeSpotify, fake_id, make_album, make_episode, make_local_track, make_track,
)
from tunecrate.media.ffmpeg import find_ffmpeg


def generate_tone(ffmpeg: str, dest: Path, seconds: float, frequency: int, codec: str = "libopus") -> Path:
    """Write ``seconds`` of a sine tone at ``frequency`` Hz to ``dest`` (format from its suffix).

    The same arguments give the same bytes on every run (ffmpeg's bitexact
    mode: no random container ids, no dates). Cached: an existing non-empty
    ``dest`` is reused.
    """
    if dest.is_file() and dest.stat().st_size > 0:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.stem + ".part" + dest.suffix)
    subprocess.run(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
         "-f", "lavfi", "-i", f"sine=frequency={frequency}:sample_rate=48000:duration={seconds}",
         "-ac", "2", "-c:a", codec, *(["-b:a", "128k"] if codec == "libopus" else []),
         "-fflags", "+bitexact", "-flags:a", "+bitexact", str(tmp)],
        check=True, capture_output=True,
    )
    tmp.replace(dest)
    return dest


def generate_cover(ffmpeg: str, dest: Path, color: str, size: int = 640) -> Path:
    """Write a ``size``×``size`` JPEG of one ``color`` (an ffmpeg colour name or ``0xRRGGBB``)."""
    if dest.is_file() and dest.stat().st_size > 0:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
         "-f", "lavfi", "-i", f"color=c={color}:s={size}x{size}", "-frames:v", "1",
         "-fflags", "+bitexact", "-flags:v", "+bitexact", str(dest)],
        check=True, capture_output=True,
    )
    return dest


class StandIns:
    """Starts a :class:`FakeSpotify` and a :class:`MediaServer` (or the given servers, not started
    yet); generates media under ``work_dir``."""

    def __init__(self, work_dir: Path, ffmpeg: str | None = None, *, spotify: FakeSpotify | None = None,
                 media: MediaServer | None = None) -> None:
        self.work_dir = Path(work_dir)
        self.ffmpeg = ffmpeg or find_ffmpeg()
        self.spotify = spotify or FakeSpotify()
        self.media = media or MediaServer()

    def __enter__(self) -> "StandIns":
        self.spotify.start()
        self.media.start()
        return self

    def __exit__(self, *exc) -> None:
        self.spotify.stop()
        self.media.stop()

    def settings_overrides(self) -> dict:
        """Settings that point tunecrate at the stand-ins, as :meth:`Settings.load` overrides."""
        return {
            "spotify_client_id": self.spotify.client_id,
            "spotify_client_secret": self.spotify.client_secret,
            "spotify_api_url": self.spotify.api_url,
            "spotify_accounts_url": self.spotify.accounts_url,
            "providers": (),
        }

    def environment(self) -> dict[str, str]:
        """The same settings as environment variables (for subprocesses)."""
        return {
            "SPOTIPY_CLIENT_ID": self.spotify.client_id,
            "SPOTIPY_CLIENT_SECRET": self.spotify.client_secret,
            "TUNECRATE_SPOTIFY_API_URL": self.spotify.api_url,
            "TUNECRATE_SPOTIFY_ACCOUNTS_URL": self.spotify.accounts_url,
            "TUNECRATE_PROVIDERS": "none",
        }

    def audio(self, name: str, seconds: float, frequency: int) -> str:
        """Generate (once) and serve a WebM/Opus tone; return its URL."""
        path = generate_tone(self.ffmpeg, self.work_dir / "media" / f"{name}.webm", seconds, frequency)
        return self.media.add_file(f"{name}.webm", path)

    def cover(self, name: str, color: str) -> str:
        """Generate (once) and serve a cover JPEG; return its URL."""
        path = generate_cover(self.ffmpeg, self.work_dir / "media" / f"{name}.jpg", color)
        return self.media.add_file(f"{name}.jpg", path)

    def images(self, name: str, color: str) -> list[dict]:
        """A Spotify image list (largest first) whose largest image is a served cover."""
        url = self.cover(name, color)
        return [{"url": url, "width": 640, "height": 640},
                {"url": url + "?s=300", "width": 300, "height": 300},
                {"url": url + "?s=64", "width": 64, "height": 64}]


#: The demo's music: (title, artists, seconds, tone in Hz). All synthesised.
DEMO_SONGS = (
    ("Morning Static", ("The Loopbacks",), 12, 330),
    ("Localhost Blues", ("The Loopbacks", "Ada Byte"), 14, 392),
    ("127 Bpm", ("Ada Byte",), 10, 440),
    ("Offline Forever", ("The Loopbacks",), 16, 494),
    ("Café Ünïcode (feat. Ümlaut)", ("Ada Byte", "Ümlaut"), 11, 523),
    ("夜のサイン波", ("Sine Wave Club",), 13, 587),
)


@dataclass
class DemoCatalogue:
    """Ids of what :func:`build_demo_catalogue` put on the stand-ins, and each track's audio URL."""

    playlist_id: str
    album_id: str
    track_ids: list[str]
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def playlist_url(self) -> str:
        return f"https://open.spotify.com/playlist/{self.playlist_id}?si=demo"


def build_demo_catalogue(world: StandIns, prefix: str = "demo") -> DemoCatalogue:
    """Put the demo album and playlist on the stand-ins and serve their audio and covers.

    The playlist holds the album's tracks in a new order plus one of each
    entry Spotify can send that is not a track (null, a local file, a
    podcast episode, an unavailable track), which tunecrate skips and reports.
    """
    album_id = fake_id(f"{prefix}:album")
    album = make_album(album_id, "Songs From 127.0.0.1", ["The Loopbacks"], release_date="2026-11-21",
                       total_tracks=len(DEMO_SONGS), images=world.images(f"{prefix}-cover", "0x1db954"))
    tracks, sources = [], {}
    for number, (title, artists, seconds, tone) in enumerate(DEMO_SONGS, 1):
        track_id = fake_id(f"{prefix}:track:{number}")
        tracks.append(make_track(track_id, title, list(artists), album, duration_ms=seconds * 1000,
                                 isrc=f"QZDA{26:02d}{number:05d}", explicit=number == 3,
                                 track_number=number))
        sources[track_id] = world.audio(f"{prefix}-{number}", seconds, tone)
    world.spotify.add_album(album, tracks)
    playlist_id = fake_id(f"{prefix}:playlist")
    entries = [tracks[3], tracks[0], None, tracks[5], make_local_track("My Own Recording", ["Me"]),
               tracks[1], make_episode(fake_id(f"{prefix}:episode"), "A Podcast Episode"),
               tracks[4], make_track(None, "Gone From Spotify", ["Nobody"], album), tracks[2]]
    world.spotify.add_playlist(playlist_id, "tunecrate demo mix", entries, owner=world.spotify.user_id,
                               description="Synthesised tones, mirrored offline.",
                               images=world.images(f"{prefix}-playlist-cover", "0x3050ff"))
    return DemoCatalogue(playlist_id, album_id, [t["id"] for t in tracks], sources)
