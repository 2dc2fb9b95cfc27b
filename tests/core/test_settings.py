from pathlib import Path

import pytest

from tunecrate.core.errors import ConfigurationError
from tunecrate.core.settings import Settings


def test_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = Settings.load(environ={})
    assert s.storage_root == tmp_path / "storage_data"
    assert s.database_path == tmp_path / "data" / "tunecrate.sqlite3"
    assert s.spotify_api_url == "https://api.spotify.com/v1/"
    assert s.spotify_accounts_url == "https://accounts.spotify.com"
    assert s.spotify_redirect_uri == "http://127.0.0.1:8888/callback"
    assert s.spotify_max_retry_after == 60
    assert s.providers == ("ytmusic", "youtube")
    assert s.audio_quality == "v0"


def test_precedence_file_then_environment_then_overrides(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "config.toml").write_text('workers = 3\naudio_quality = "320"\nproviders = ["youtube"]\n')
    env = {"TUNECRATE_DATA_ROOT": str(data), "TUNECRATE_WORKERS": "5", "TUNECRATE_PROVIDERS": "none"}
    s = Settings.load(environ=env)
    assert (s.workers, s.audio_quality, s.providers) == (5, "320", ())
    s = Settings.load(environ=env, workers=7, storage_root=tmp_path / "elsewhere")
    assert s.workers == 7 and s.storage_root == tmp_path / "elsewhere"


@pytest.mark.parametrize("env,message", [
    ({"TUNECRATE_WORKERS": "many"}, "bad value for workers"),
    ({"TUNECRATE_WORKERS": "0"}, "at least 1"),
    ({"TUNECRATE_AUDIO_QUALITY": "v9"}, "audio_quality"),
])
def test_bad_values_are_configuration_errors(env, message, tmp_path):
    with pytest.raises(ConfigurationError, match=message):
        Settings.load(environ={**env, "TUNECRATE_DATA_ROOT": str(tmp_path)})


def test_unknown_config_key_is_reported(tmp_path):
    (tmp_path / "config.toml").write_text("wrokers = 2\n")
    with pytest.raises(ConfigurationError, match="unknown setting.*wrokers"):
        Settings.load(environ={"TUNECRATE_DATA_ROOT": str(tmp_path)})


def test_music_dirs_use_pathsep(tmp_path):
    import os

    s = Settings.load(environ={"TUNECRATE_MUSIC_DIRS": os.pathsep.join(["/a", "/b c"])})
    assert s.music_dirs == (Path("/a"), Path("/b c"))
