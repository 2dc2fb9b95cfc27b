"""Shared fixtures: the loopback stand-ins (the demo's, with faults and logs) and libraries pointed at them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from standins.media import FaultyMediaServer
from standins.plex import FaultyPlex
from standins.proxy import RecordingProxy
from standins.spotify import FaultySpotify
from standins.spotify_web import FaultySpotifyWeb
from standins.subsonic import FakeSubsonic
from standins.youtube import CheckingYouTube, RecordingYouTubeMusic
from tunecrate.core.settings import Settings
from tunecrate.core.types import Candidate
from tunecrate.demo.world import StandIns, build_demo_catalogue
from tunecrate.library.library import Library


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch):
    """No test sees the developer's tunecrate or Spotify settings."""
    for name in list(os.environ):
        if name.startswith(("TUNECRATE_", "SPOTIPY_", "PLEX_")) or name.upper() in (
                "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def media_cache(tmp_path_factory) -> Path:
    """Generated audio and covers, shared by every test of the session."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture
def world(media_cache):
    """Running Spotify (Web API and public web pages, one catalogue), media, YouTube Music and YouTube
    stand-ins, and the proxy in front of the last two."""
    spotify = FaultySpotify()
    with StandIns(media_cache, spotify=spotify, web=FaultySpotifyWeb(spotify), media=FaultyMediaServer(),
                  proxy=RecordingProxy(), ytmusic=RecordingYouTubeMusic(), youtube=CheckingYouTube()) as w:
        yield w


@pytest.fixture
def demo(world):
    """The demo catalogue on the stand-ins."""
    return build_demo_catalogue(world)


@pytest.fixture
def roots(tmp_path) -> dict[str, Path]:
    return {"storage_root": tmp_path / "storage_data", "data_root": tmp_path / "data"}


@pytest.fixture
def settings(world, roots) -> Settings:
    return Settings.load(environ={}, **roots, **world.settings_overrides(), workers=2)


@pytest.fixture
def library(settings):
    with Library(settings) as lib:
        yield lib


@pytest.fixture
def plex():
    """A running Plex stand-in (no sections yet)."""
    with FaultyPlex(scan_delay_s=0.1) as server:
        yield server


@pytest.fixture
def subsonic():
    """A running Subsonic stand-in (user ``demo``, password ``sesame``; no songs yet)."""
    with FakeSubsonic() as server:
        yield server


class Cli:
    """Runs the real typer app in-process with an environment pointing at the stand-ins."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.runner = CliRunner()

    def __call__(self, *args: str, **extra_env: str):
        from tunecrate.cli.main import app

        return self.runner.invoke(app, list(args), env={**self.env, **extra_env}, catch_exceptions=False)


@pytest.fixture
def cli(world, roots) -> Cli:
    env = {**world.environment(), "TUNECRATE_STORAGE_ROOT": str(roots["storage_root"]),
           "TUNECRATE_DATA_ROOT": str(roots["data_root"]), "TUNECRATE_WORKERS": "2", "COLUMNS": "200"}
    return Cli(env)


class ReviewProvider:
    """Offers each demo track its real audio under a duration 8 s off (a score between the review and
    accept thresholds), another track's audio as an "acoustic" version, and a live version (rejected).
    Finds nothing for the tracks in ``missing``."""

    name = "youtube"

    def __init__(self, demo, missing=()):
        self.demo, self.missing = demo, set(missing)

    def search(self, track):
        if track.track_id in self.missing:
            return []
        others = [url for tid, url in self.demo.sources.items() if tid != track.track_id]
        return [
            Candidate(self.demo.sources[track.track_id], track.title, track.artist, track.duration_ms + 8000,
                      "youtube"),
            Candidate(others[0], f"{track.title} (Acoustic)", track.artist, track.duration_ms + 28000, "youtube"),
            Candidate(others[1], f"{track.title} (Live)", track.artist, track.duration_ms, "youtube"),
        ]


@pytest.fixture
def review_library(settings, demo):
    """Opens a Library whose provider holds 5 demo tracks for review and leaves the 6th unresolved."""
    return lambda: Library(settings, providers=[ReviewProvider(demo, missing={demo.track_ids[5]})])
