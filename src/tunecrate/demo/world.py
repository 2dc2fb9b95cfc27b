"""The offline world: loopback Spotify (Web API and public pages), media, YouTube Music and YouTube stand-ins,
generated audio, the demo catalogues.

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
from tunecrate.demo.spotify_web_server import FakeSpotifyWeb
from tunecrate.demo.youtube_server import FakeYouTube, Video
from tunecrate.demo.ytmusic_server import FakeYouTubeMusic, Recording
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
    """Starts a :class:`FakeSpotify`, a :class:`FakeSpotifyWeb` showing its catalogue, a
    :class:`MediaServer`, a :class:`FakeYouTubeMusic` and a :class:`FakeYouTube` behind a
    :class:`StandInProxy` (or the given servers, not started yet);
    generates media under ``work_dir`` and writes the proxy's CA to :attr:`ca_bundle` there.

    Recording providers are off in :meth:`settings_overrides` unless ``search`` is asked for, so
    that only pinned sources are downloaded.
    """

    def __init__(self, work_dir: Path, ffmpeg: str | None = None, *, spotify: FakeSpotify | None = None,
                 web: FakeSpotifyWeb | None = None, media: MediaServer | None = None,
                 proxy: StandInProxy | None = None, ytmusic: FakeYouTubeMusic | None = None,
                 youtube: FakeYouTube | None = None) -> None:
        self.work_dir = Path(work_dir)
        self.ffmpeg = ffmpeg or find_ffmpeg()
        self.spotify = spotify or FakeSpotify()
        self.web = web or FakeSpotifyWeb(self.spotify)
        self.media = media or MediaServer()
        self.proxy = proxy or StandInProxy()
        self.ytmusic = ytmusic or FakeYouTubeMusic()
        self.youtube = youtube or FakeYouTube()
        port = self.proxy.url.rsplit(":", 1)[1]
        self.ca_bundle = self.work_dir / f"stand-in-ca-{port}.pem"

    def _servers(self) -> tuple:
        return (self.spotify, self.web, self.media, self.ytmusic, self.youtube, self.proxy)

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

    def settings_overrides(self, *, credentials: bool = True, search: bool = False) -> dict:
        """Settings that point tunecrate at the stand-ins, as :meth:`Settings.load` overrides. Without
        ``credentials`` no Spotify app is configured, not even one the environment names (the public web
        pages are read); with ``search``, tracks without a pin are searched on YouTube Music (through the
        proxy)."""
        overrides = {
            "spotify_api_url": self.spotify.api_url,
            "spotify_accounts_url": self.spotify.accounts_url,
            "spotify_web_url": self.web.web_url,
            "spotify_partner_url": self.web.partner_url,
            "proxy": self.proxy.url,
            "ca_bundle": self.ca_bundle,
            "providers": ("ytmusic",) if search else (),
        }
        # Without: blank, so that an app the user set up for the real Spotify is not offered to the stand-in.
        overrides.update(spotify_client_id=self.spotify.client_id if credentials else "",
                         spotify_client_secret=self.spotify.client_secret if credentials else "")
        return overrides

    def environment(self, *, credentials: bool = True, search: bool = False) -> dict[str, str]:
        """The same settings as environment variables (for subprocesses); without ``credentials`` the
        Spotify app's are set empty, which blanks those of the shell they are pasted into."""
        env = {
            "TUNECRATE_SPOTIFY_API_URL": self.spotify.api_url,
            "TUNECRATE_SPOTIFY_ACCOUNTS_URL": self.spotify.accounts_url,
            "TUNECRATE_SPOTIFY_WEB_URL": self.web.web_url,
            "TUNECRATE_SPOTIFY_PARTNER_URL": self.web.partner_url,
            "TUNECRATE_PROXY": self.proxy.url,
            "TUNECRATE_CA_BUNDLE": str(self.ca_bundle),
            "TUNECRATE_PROVIDERS": "ytmusic" if search else "none",
        }
        env.update(SPOTIPY_CLIENT_ID=self.spotify.client_id if credentials else "",
                   SPOTIPY_CLIENT_SECRET=self.spotify.client_secret if credentials else "")
        return env

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
    songs = [Song(track_id, title, artists, seconds, tone, f"{prefix}-{number}", album["name"],
                  f"QZDA{26:02d}{number:05d}")
             for number, (track_id, (title, artists, seconds, tone)) in enumerate(zip(track_ids, DEMO_SONGS), 1)]
    searched = publish_demo_recordings(world, prefix, songs[DEMO_PINNED:])
    return DemoCatalogue(playlist_id, album_id, track_ids, sources, track_ids[:DEMO_PINNED], searched)


@dataclass(frozen=True)
class Song:
    """A track as search should find it: its id, ``title``, ``artists``, length in ``seconds``, the
    ``tone`` (Hz) of its audio and that audio's file ``name``, and the ``album`` and ``isrc`` its
    YouTube Music Art Track carries."""

    track_id: str
    title: str
    artists: tuple[str, ...]
    seconds: int
    tone: int
    name: str
    album: str | None = None
    isrc: str | None = None


def publish_demo_recordings(world: StandIns, prefix: str, songs: list[Song]) -> dict[str, str]:
    """Put ``songs`` on YouTube Music as search finds real music, and return track id → the watch URL
    of the right recording.

    Each song gets its Art Track ("song", with album; the first also with its
    ISRC) unless it is the last one, which YouTube Music only has as an
    official video (so the provider's videos fallback is exercised); around
    them, the kind of results a real search returns that must lose: a live
    version, an acoustic take, an upload of a different length.
    """
    found: dict[str, str] = {}
    decoy = world.tone(f"{prefix}-decoy", 4, 262)
    for offset, song in enumerate(songs):
        audio = world.tone(song.name, song.seconds, song.tone)
        plain = song.title.split(" (feat.")[0]
        vid = video_id(f"{prefix}:video:{song.track_id}")
        if offset < len(songs) - 1:
            found[song.track_id] = world.publish(vid, plain, song.artists, song.seconds, audio, album=song.album,
                                                 isrc=song.isrc if offset == 0 else None)
            world.publish(video_id(f"{prefix}:live:{song.track_id}"), f"{plain} (Live at the Loopback Café)",
                          song.artists, song.seconds + 95, decoy, album="Live at Localhost")
        else:
            found[song.track_id] = world.publish(vid, f"{song.artists[0]} - {plain} (Official Video)",
                                                 song.artists, song.seconds, audio, kind="video")
        world.publish(video_id(f"{prefix}:acoustic:{song.track_id}"), f"{plain} (Acoustic)", song.artists,
                      song.seconds + 41, decoy, kind="video")
    return found


#: What the public playlist's invented names are made of.
_ADJECTIVES = ("Silent", "Electric", "Paper", "Velvet", "Neon", "Hollow", "Golden", "Distant", "Quiet", "Static",
               "Loose", "Midnight")
_NOUNS = ("Harbour", "Signal", "Garden", "Engine", "Mirror", "Weather", "Circuit", "Lantern", "River", "Orbit")
_ARTISTS = ("The Null Routes", "Ada Byte", "Port 8080", "Sine Wave Club", "Kernel Panic", "Lo-Fi Loopback",
            "The Checksums", "Mira Packet", "DJ Timeout", "Ümlaut")
#: Distinct tones (Hz) the public playlist's tracks share, each ``_PUBLIC_SECONDS`` long.
_PUBLIC_TONES = (262, 294, 330, 349, 392, 440, 494, 523, 587, 659, 698, 784)
_PUBLIC_SECONDS = 4


@dataclass
class PublicPlaylist:
    """Ids of what :func:`build_public_playlist` put on the stand-ins: ``track_ids`` in playlist order,
    ``album_ids``, each track's audio URL on the media host in ``sources``, and for the tracks put on
    YouTube Music for search to find, the watch URL of the right recording (``searched``)."""

    playlist_id: str
    title: str
    track_ids: list[str]
    album_ids: list[str]
    sources: dict[str, str] = field(default_factory=dict)
    searched: dict[str, str] = field(default_factory=dict)

    @property
    def pinned(self) -> list[str]:
        """The tracks meant to be pinned to their audio: those search is not meant to find."""
        return [t for t in self.track_ids if t not in self.searched]

    @property
    def url(self) -> str:
        return f"https://open.spotify.com/playlist/{self.playlist_id}?si=demo"


def build_public_playlist(world: StandIns, prefix: str = "public", size: int = 120, *,
                          private_to_other: bool = True, searched: int = 0) -> PublicPlaylist:
    """Put a public playlist of ``size`` tracks, by another user, on the stand-ins; serve audio and covers.

    The tracks come from albums of six (each with its own cover) and are
    listed out of album order; between them sit one of each entry that is not
    a track (null, a local file, a podcast episode, an unavailable track).
    With ``private_to_other`` the Web API stand-in refuses its items (403),
    as Spotify does for a development-mode app; its public web pages show it.
    Audio: :data:`_PUBLIC_TONES` tones of :data:`_PUBLIC_SECONDS` seconds,
    shared round-robin, generated once. The first ``searched`` tracks made
    take the names and lengths of the last :data:`DEMO_SONGS` (titles a
    search can tell apart) and are also put on YouTube Music and YouTube
    (:func:`publish_demo_recordings`) for search to find.
    """
    per_album = 6
    albums, tracks, sources, findable = [], [], {}, {}
    for a in range(-(-size // per_album)):
        album_id = fake_id(f"{prefix}:album:{a}")
        name = f"{_ADJECTIVES[a % len(_ADJECTIVES)]} {_NOUNS[(a * 7) % len(_NOUNS)]}"
        artist = _ARTISTS[a % len(_ARTISTS)]
        count = min(per_album, size - a * per_album)
        album = make_album(album_id, name, [artist], release_date=f"{2000 + a % 27}-{1 + a % 12:02d}-15",
                           total_tracks=count,
                           images=world.images(f"{prefix}-album-{a}", f"0x{(a * 2654435761) % 0xFFFFFF:06x}"))
        songs = []
        for n in range(count):
            index = a * per_album + n
            guest = [_ARTISTS[(a + n + 3) % len(_ARTISTS)]] if n % 4 == 3 else []
            track_id = fake_id(f"{prefix}:track:{index}")
            title, credits = f"{_NOUNS[(index * 3) % len(_NOUNS)]} No. {index + 1}", [artist, *guest]
            seconds, tone = _PUBLIC_SECONDS, _PUBLIC_TONES[index % len(_PUBLIC_TONES)]
            if index < searched:  # a song search can tell apart from the rest
                title, named, seconds, tone = DEMO_SONGS[len(DEMO_SONGS) - searched + index]
                credits = list(named)
            isrc = f"QZDB{26:02d}{index:05d}"
            songs.append(make_track(track_id, title, credits, album, duration_ms=seconds * 1000,
                                    isrc=isrc, track_number=n + 1, explicit=index % 9 == 0))
            audio_name = f"{prefix}-tone-{tone}-{seconds}"
            sources[track_id] = world.audio(audio_name, seconds, tone)
            findable[track_id] = Song(track_id, title, tuple(credits), seconds, tone, audio_name, album["name"],
                                      isrc)
        world.spotify.add_album(album, songs)
        albums.append(album_id)
        tracks.extend(songs)
    order = sorted(tracks, key=lambda t: hashlib.sha1(t["id"].encode()).digest())
    entries: list[dict | None] = list(order)
    gone = make_album(fake_id(f"{prefix}:gone"), "Gone", ["Nobody"])
    for position, extra in ((3, None), (40, make_local_track("My Own Recording", ["Me"])),
                            (105, make_episode(fake_id(f"{prefix}:episode"), "A Podcast Episode")),
                            (110, make_track(None, "Gone From Spotify", ["Nobody"], gone))):
        entries.insert(min(position, len(entries)), extra)
    playlist_id = fake_id(f"{prefix}:playlist")
    title = f"Public Loopback {size}"
    world.spotify.add_playlist(playlist_id, title, entries, owner="someone-else", private_to_other=private_to_other,
                               description=f"{size} synthesised tracks, public on the web pages.",
                               images=world.images(f"{prefix}-playlist-cover", "0xff8800"))
    ids = [t["id"] for t in order]
    chosen = [t["id"] for t in tracks[:searched]]
    found = publish_demo_recordings(world, prefix, [findable[t] for t in chosen]) if searched else {}
    return PublicPlaylist(playlist_id, title, ids, albums, sources, found)
