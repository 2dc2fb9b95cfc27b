"""The provider registry: names to classes, built from settings, in search order."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tunecrate.core.errors import ConfigurationError
from tunecrate.core.settings import Settings
from tunecrate.providers import PROVIDERS, build_providers, provider_class, settings_models
from tunecrate.providers.base import Provider, ProviderContext
from tunecrate.providers.local import LocalProvider, LocalSettings
from tunecrate.providers.youtube import YouTubeProvider
from tunecrate.providers.ytmusic import YTMusicProvider


def _build(names, **settings):
    return build_providers(names, Settings.load(environ={}, **settings), ProviderContext())


def test_names_map_to_their_classes():
    assert [provider_class(name) for name in PROVIDERS] == [LocalProvider, YTMusicProvider, YouTubeProvider]
    assert LocalSettings in settings_models()


def test_an_unknown_name_is_one_line_listing_the_known_ones():
    with pytest.raises(ConfigurationError) as caught:
        provider_class("spotube")
    assert str(caught.value) == "unknown provider 'spotube'; known providers are local, ytmusic, youtube"


def test_build_providers_in_order_without_duplicates(tmp_path):
    providers = _build(["youtube", "ytmusic", "youtube"], data_root=tmp_path, youtube_timeout=3, youtube_limit=2,
                       ytmusic_timeout=3, ytmusic_limit=2)
    assert [p.name for p in providers] == ["youtube", "ytmusic"]
    assert [type(p) for p in providers] == [YouTubeProvider, YTMusicProvider]
    assert all(isinstance(p, Provider) and (p.timeout, p.limit) == (3, 2) for p in providers)
    assert _build([], data_root=tmp_path) == []


def test_the_users_music_comes_first_when_it_has_folders(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    providers = _build(["youtube"], data_root=tmp_path, music_dirs=[music])
    assert [p.name for p in providers] == ["local", "youtube"]


def test_unknown_provider_names_the_known_ones(tmp_path):
    with pytest.raises(ConfigurationError, match=r"'spotube'.*ytmusic, youtube") as caught:
        _build(["ytmusic", "spotube"], data_root=tmp_path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("options", [{"ytmusic_limit": 0}, {"ytmusic_timeout": 0}])
def test_build_providers_rejects_bad_options(options, tmp_path):
    with pytest.raises(ConfigurationError, match="ytmusic_"):
        _build(["ytmusic"], data_root=tmp_path, **options)


def test_providers_import_their_libraries_only_when_searching():
    code = (
        "import sys\n"
        "from tunecrate.core.settings import Settings\n"
        "from tunecrate.providers import build_providers\n"
        "from tunecrate.providers.base import ProviderContext\n"
        "build_providers(['ytmusic', 'youtube'], Settings.load(environ={}), ProviderContext())\n"
        "print(sorted(m for m in ('ytmusicapi', 'yt_dlp', 'requests') if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
