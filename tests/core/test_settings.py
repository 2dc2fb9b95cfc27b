import os
from pathlib import Path

import pytest

from tunecrate.core.errors import ConfigurationError
from tunecrate.core.settings import Settings
from tunecrate.providers.local import LocalSettings
from tunecrate.sources.spotify_login import SpotifySettings


def test_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = Settings.load(environ={})
    assert s.storage_root == tmp_path / "storage_data"
    assert s.database_path == tmp_path / "data" / "tunecrate.sqlite3"
    spotify = s.section(SpotifySettings)
    assert spotify.spotify_api_url == "https://api.spotify.com/v1/"
    assert spotify.spotify_accounts_url == "https://accounts.spotify.com"
    assert spotify.spotify_redirect_uri == "http://127.0.0.1:8888/callback"
    assert spotify.spotify_max_retry_after == 60
    assert s.providers == ("ytmusic", "youtube")
    assert s.audio_quality == "v0"
    assert s.proxy is None


def test_precedence_file_then_environment_then_overrides(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "config.toml").write_text('workers = 3\naudio_quality = "320"\nproviders = ["youtube"]\n'
                                      'spotify_client_id = "from-file"\nspotify_client_secret = "s"\n')
    env = {"TUNECRATE_DATA_ROOT": str(data), "TUNECRATE_WORKERS": "5", "TUNECRATE_PROVIDERS": "none",
           "SPOTIPY_CLIENT_ID": "from-env"}
    s = Settings.load(environ=env)
    assert (s.workers, s.audio_quality, s.providers) == (5, "320", ())
    assert s.section(SpotifySettings).spotify_client_id == "from-env"
    assert s.section(SpotifySettings).spotify_client_secret == "s"
    s = Settings.load(environ=env, workers=7, storage_root=tmp_path / "elsewhere", spotify_client_id="given")
    assert s.workers == 7 and s.storage_root == tmp_path / "elsewhere"
    assert s.section(SpotifySettings).spotify_client_id == "given"


@pytest.mark.parametrize("env,message", [
    ({"TUNECRATE_WORKERS": "many"}, "bad value for workers (TUNECRATE_WORKERS): 'many'"),
    ({"TUNECRATE_WORKERS": "0"}, "at least 1"),
    ({"TUNECRATE_AUDIO_QUALITY": "v9"}, "audio_quality"),
    ({"TUNECRATE_ACCEPT_THRESHOLD": "0.5"}, "review <= accept"),
])
def test_bad_values_are_configuration_errors(env, message, tmp_path):
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        Settings.load(environ={**env, "TUNECRATE_DATA_ROOT": str(tmp_path)})
    assert "\n" not in str(caught.value)


def test_a_module_setting_is_validated_with_its_variable(tmp_path):
    s = Settings.load(environ={"TUNECRATE_SPOTIFY_MAX_RETRY_AFTER": "soon"})
    with pytest.raises(ConfigurationError, match=r"spotify_max_retry_after \(TUNECRATE_SPOTIFY_MAX_RETRY_AFTER\)"):
        s.section(SpotifySettings)


def test_unknown_config_key_is_reported(tmp_path):
    (tmp_path / "config.toml").write_text("music_dirs = []\n")
    s = Settings.load(environ={"TUNECRATE_DATA_ROOT": str(tmp_path)})
    s.check_keys([LocalSettings])  # a module's key is known once its model is
    (tmp_path / "config.toml").write_text("wrokers = 2\n")
    s = Settings.load(environ={"TUNECRATE_DATA_ROOT": str(tmp_path)})
    with pytest.raises(ConfigurationError, match="unknown setting.*wrokers"):
        s.check_keys([LocalSettings])


def test_music_dirs_use_pathsep():
    s = Settings.load(environ={"TUNECRATE_MUSIC_DIRS": os.pathsep.join(["/a", "/b c"])})
    assert s.section(LocalSettings).music_dirs == (Path("/a"), Path("/b c"))


def test_proxy_comes_from_the_standard_variable_unless_ours_is_set():
    assert Settings.load(environ={"HTTPS_PROXY": "http://proxy:3128"}).proxy == "http://proxy:3128"
    assert Settings.load(environ={"HTTPS_PROXY": "http://a:1", "TUNECRATE_PROXY": "http://b:2"}).proxy == "http://b:2"
