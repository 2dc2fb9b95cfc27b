"""The offline world: loopback Spotify, media, YouTube Music and YouTube stand-ins, generated audio, a demo catalogue.

``tunecrate demo`` runs the main job inside it, and the tests reuse it (with
the servers of ``tests/standins``)::

    with StandIns(work_dir) as world:
        catalogue = build_demo_catalogue(world)
        settings = Settings.load(**world.settings_overrides(), storage_root=..., data_root=...)

YouTube Music and YouTube are reached as on a network with an inspecting
proxy: ``TUNECRATE_PROXY`` names the stand-in proxy, ``TUNECRATE_CA_BUNDLE``
its CA, and the proxy answers ``music.youtube.com``, ``www.youtube.com`` and
the media host ``*.googlevideo.com`` from the loopback stand-ins; nothing
else leaves this machine. Spotify and the media host are loopback URLs,
which go direct (this machine is never proxied).

Audio is generated with ffmpeg's ``lavfi`` sources (sine tones), encoded to
Opus in WebM, the format YouTube serves as best audio; covers are generated
JPEGs. Nothing here is copied from anywhere: all of it is synthesised.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tunecrate.demo.media_server import MediaServer
from tunecrate.demo.proxy import StandInProxy
from tunecrate.demo.spotify_server import (
    FakeSpotify, fake_id, make_album, make_episode, make_local_track, make_track,
)
from tunecrate.demo.youtube_server import FakeYouTube, Video
from tunecrate.demo.ytmusic_server import FakeYouTubeMusic, Recording
from tunecrate.media.ffmpeg import find_ffmpeg


def generate_tone(ffmpeg: str, dest: Path, seconds: float, frequency: int, codec: str = "libopus") -> Path:
    """Write ``seconds`` of a sine tone at ``frequency`` Hz to ``dest`` (format from its suffix).

    Cached: an existing non-empty ``dest`` is reused.
    """
    if dest.is_file() and dest.stat().st_size > 0:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.stem + ".part" + dest.suffix)
    subprocess.run(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
         "-f", "lavfi", "-i", f"sine=frequency={frequency}:sample_rate=48000:duration={seconds}",
         "-ac", "2", "-c:a", codec, *(["-b:a", "128k"] if codec == "libopus" else []), str(tmp)],
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
         "-f", "lavfi", "-i", f"color=c={color}:s={size}x{size}", "-frames:v", "1", str(dest)],
        check=True, capture_output=True,
    )
    return dest


class StandIns:
    """Starts a :class:`FakeSpotify`, a :class:`MediaServer`, a :class:`FakeYouTubeMusic` and a
    :class:`FakeYouTube` behind a :class:`StandInProxy` (or the given servers, not started yet);
    generates media under ``work_dir`` and writes the proxy's CA to :attr:`ca_bundle` there.

    Recording providers are off in :meth:`settings_overrides` unless ``search`` is asked for, so
    that only pinned sources are downloaded.
    """

    def __init__(self, work_dir: Path, ffmpeg: str | None = None, *, spotify: FakeSpotify | None = None,
                 media: MediaServer | None = None, proxy: StandInProxy | None = None,
                 ytmusic: FakeYouTubeMusic | None = None, youtube: FakeYouTube | None = None) -> None:
        self.work_dir = Path(work_dir)
        self.ffmpeg = ffmpeg or find_ffmpeg()
        self.spotify = spotify or FakeSpotify()
        self.media = media or MediaServer()
        self.proxy = proxy or StandInProxy()
        self.ytmusic = ytmusic or FakeYouTubeMusic()
        self.youtube = youtube or FakeYouTube()
        port = self.proxy.url.rsplit(":", 1)[1]
        self.ca_bundle = self.work_dir / f"stand-in-ca-{port}.pem"

    def _servers(self) -> tuple:
        return (self.spotify, self.media, self.ytmusic, self.youtube, self.proxy)

    def __enter__(self) -> "StandIns":
        for server in self._servers():
            server.start()
        self.proxy.add_site(self.ytmusic.hostnames, self.ytmusic.base_url)
        self.proxy.add_site(self.youtube.hostnames, self.youtube.base_url)
        self.proxy.ca.write_pem(self.ca_bundle)
        return self

    def __exit__(self, *exc) -> None:
        stopping = [threading.Thread(target=server.stop) for server in self._servers()]
        for thread in stopping:  # at once: each waits up to a poll interval
            thread.start()
        for thread in stopping:
            thread.join()

    def settings_overrides(self, *, search: bool = False) -> dict:
        """Settings that point tunecrate at the stand-ins, as :meth:`Settings.load` overrides;
        with ``search``, tracks without a pin are searched on YouTube Music (through the proxy)."""
        return {
            "spotify_client_id": self.spotify.client_id,
            "spotify_client_secret": self.spotify.client_secret,
            "spotify_api_url": self.spotify.api_url,
            "spotify_accounts_url": self.spotify.accounts_url,
            "proxy": self.proxy.url,
            "ca_bundle": self.ca_bundle,
            "providers": ("ytmusic",) if search else (),
        }

    def environment(self, *, search: bool = False) -> dict[str, str]:
        """The same settings as environment variables (for subprocesses)."""
        return {
            "SPOTIPY_CLIENT_ID": self.spotify.client_id,
            "SPOTIPY_CLIENT_SECRET": self.spotify.client_secret,
            "TUNECRATE_SPOTIFY_API_URL": self.spotify.api_url,
            "TUNECRATE_SPOTIFY_ACCOUNTS_URL": self.spotify.accounts_url,
            "TUNECRATE_PROXY": self.proxy.url,
            "TUNECRATE_CA_BUNDLE": str(self.ca_bundle),
            "TUNECRATE_PROVIDERS": "ytmusic" if search else "none",
        }

    def publish(self, video_id: str, title: str, artists: tuple[str, ...], seconds: int, audio: Path, *,
                kind: str = "song", album: str | None = None, isrc: str | None = None,
                channel: str | None = None) -> str:
        """Put a recording on YouTube Music (findable) and its video on YouTube (downloadable, once its
        challenges are solved); return its YouTube Music watch URL."""
        self.ytmusic.add(Recording(video_id, title, artists, seconds, kind=kind, album=album, isrc=isrc))
        channel = channel or (f"{artists[0]} - Topic" if kind == "song" else artists[0])
        self.youtube.add_video(Video(video_id, title, channel, seconds, audio))
        return f"https://music.youtube.com/watch?v={video_id}"

    def tone(self, name: str, seconds: float, frequency: int) -> Path:
        """Generate (once) a WebM/Opus tone; return its path."""
        return generate_tone(self.ffmpeg, self.work_dir / "media" / f"{name}.webm", seconds, frequency)

    def audio(self, name: str, seconds: float, frequency: int) -> str:
        """Generate (once) and serve a WebM/Opus tone; return its URL."""
        return self.media.add_file(f"{name}.webm", self.tone(name, seconds, frequency))

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


#: How many of the demo's tracks it pins to their audio; the others are found by search.
DEMO_PINNED = 3


def video_id(seed: str) -> str:
    """A deterministic 11-character YouTube video id derived from ``seed``."""
    return base64.urlsafe_b64encode(hashlib.sha256(seed.encode()).digest()[:8]).decode()[:11]


@dataclass
class DemoCatalogue:
    """Ids of what :func:`build_demo_catalogue` put on the stand-ins: each track's audio URL on the
    media host (``sources``), the tracks the demo pins to it (``pinned``), and for the others the
    YouTube Music recording that search should find (``searched``: track id → watch URL)."""

    playlist_id: str
    album_id: str
    track_ids: list[str]
    sources: dict[str, str] = field(default_factory=dict)
    pinned: list[str] = field(default_factory=list)
    searched: dict[str, str] = field(default_factory=dict)

    @property
    def playlist_url(self) -> str:
        return f"https://open.spotify.com/playlist/{self.playlist_id}?si=demo"


def build_demo_catalogue(world: StandIns, prefix: str = "demo") -> DemoCatalogue:
    """Put the demo album and playlist on the stand-ins and serve their audio and covers.

    The playlist holds the album's tracks in a new order plus one of each
    entry Spotify can send that is not a track (null, a local file, a
    podcast episode, an unavailable track), which tunecrate skips and reports.
    Every track's audio is on the media host; the first :data:`DEMO_PINNED`
    are meant to be pinned there, the others are on YouTube Music and YouTube
    (see :func:`publish_demo_recordings`) for search to find.
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
    track_ids = [t["id"] for t in tracks]
    searched = publish_demo_recordings(world, prefix, track_ids[DEMO_PINNED:], DEMO_SONGS[DEMO_PINNED:])
    return DemoCatalogue(playlist_id, album_id, track_ids, sources, track_ids[:DEMO_PINNED], searched)


def publish_demo_recordings(world: StandIns, prefix: str, track_ids: list[str], songs) -> dict[str, str]:
    """Put ``songs`` (rows of :data:`DEMO_SONGS`) on YouTube Music as search finds real music, and
    return track id → the watch URL of the right recording.

    Each song gets its Art Track ("song", with album and ISRC) unless it is
    the last one, which YouTube Music only has as an official video (so the
    provider's videos fallback is exercised); around them, the kind of
    results a real search returns that must lose: a live version, an
    acoustic take, an upload of a different length.
    """
    found: dict[str, str] = {}
    decoy = world.tone(f"{prefix}-decoy", 4, 262)
    for offset, (track_id, (title, artists, seconds, tone)) in enumerate(zip(track_ids, songs)):
        number = DEMO_PINNED + offset + 1
        audio = world.tone(f"{prefix}-{number}", seconds, tone)
        plain = title.split(" (feat.")[0]
        vid = video_id(f"{prefix}:video:{number}")
        if offset < len(songs) - 1:
            found[track_id] = world.publish(vid, plain, artists, seconds, audio, album="Songs From 127.0.0.1",
                                            isrc=f"QZDA{26:02d}{number:05d}" if offset == 0 else None)
            world.publish(video_id(f"{prefix}:live:{number}"), f"{plain} (Live at the Loopback Café)",
                          artists, seconds + 95, decoy, album="Live at Localhost")
        else:
            found[track_id] = world.publish(vid, f"{artists[0]} - {plain} (Official Video)", artists, seconds,
                                            audio, kind="video")
        world.publish(video_id(f"{prefix}:acoustic:{number}"), f"{plain} (Acoustic)", artists, seconds + 41,
                      decoy, kind="video")
    return found
