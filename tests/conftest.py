"""Shared fixtures: the loopback stand-ins of ``tunecrate.demo`` and libraries pointed at them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tunecrate.core.settings import Settings
from tunecrate.demo.world import StandIns, build_demo_catalogue
from tunecrate.library.library import Library


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch):
    """No test sees the developer's tunecrate or Spotify settings."""
    for name in list(os.environ):
        if name.startswith(("TUNECRATE_", "SPOTIPY_")):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def media_cache(tmp_path_factory) -> Path:
    """Generated audio and covers, shared by every test of the session."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture
def world(media_cache):
    """Running Spotify and media stand-ins."""
    with StandIns(media_cache) as w:
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


class Cli:
    """Runs the real typer app in-process with an environment pointing at the stand-ins."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.runner = CliRunner()

    def __call__(self, *args: str, **extra_env: str):
        from tunecrate.cli.app import app

        return self.runner.invoke(app, list(args), env={**self.env, **extra_env}, catch_exceptions=False)


@pytest.fixture
def cli(world, roots) -> Cli:
    env = {**world.environment(), "TUNECRATE_STORAGE_ROOT": str(roots["storage_root"]),
           "TUNECRATE_DATA_ROOT": str(roots["data_root"]), "TUNECRATE_WORKERS": "2", "COLUMNS": "200"}
    return Cli(env)
