"""yt-dlp as tunecrate runs it: the JS runtime, cookies, extra options, and the one-line failures."""

from __future__ import annotations

import json

import pytest

from tunecrate.core.errors import ConfigurationError, DownloadError
from tunecrate.core.settings import Settings
from tunecrate.media.fetch import Fetcher
from tunecrate.media.ytdlp import (
    JsRuntime, YtDlpFactory, YtDlpSettings, check_challenge_solver, find_js_runtime, run_js_runtime,
)


def _factory(world, **settings) -> YtDlpFactory:
    return YtDlpFactory(YtDlpSettings(**settings), proxy=world.proxy.url, ca_bundle=world.ca_bundle)


def _video(world, video_id="BotCheck001"):
    return world.publish(video_id, "Checked Song", ("The Loopbacks",), 5, world.tone("bot-song", 5, 523))


# -- the runtime -----------------------------------------------------------------------------


def test_default_runtime_is_the_deno_wheel_and_it_runs():
    runtime = find_js_runtime(None)
    assert (runtime.name, runtime.origin) == ("deno", "the deno wheel")
    version, seconds = run_js_runtime(runtime)
    assert version.startswith("deno ") and seconds < 20


@pytest.mark.parametrize("value, expected", [
    ("node", JsRuntime("node", None, "TUNECRATE_JS_RUNTIME")),
    ("/opt/node-22/bin/node", JsRuntime("node", "/opt/node-22/bin/node", "TUNECRATE_JS_RUNTIME")),
    ("bun:/usr/local/bin/bun", JsRuntime("bun", "/usr/local/bin/bun", "TUNECRATE_JS_RUNTIME")),
    ("/usr/bin/qjs", JsRuntime("quickjs", "/usr/bin/qjs", "TUNECRATE_JS_RUNTIME")),
    ("/home/me/.deno/bin/deno", JsRuntime("deno", "/home/me/.deno/bin/deno", "TUNECRATE_JS_RUNTIME")),
])
def test_js_runtime_setting_forms(value, expected):
    assert find_js_runtime(value) == expected
    assert YtDlpFactory(YtDlpSettings(js_runtime=value)).options({})["js_runtimes"] == expected.ytdlp_option()


def test_an_unknown_runtime_name_is_one_line():
    with pytest.raises(ConfigurationError, match="TUNECRATE_JS_RUNTIME: cannot tell which runtime"):
        find_js_runtime("/usr/bin/rhino")


def test_a_broken_runtime_does_not_run(tmp_path):
    fake = tmp_path / "deno"
    fake.write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(RuntimeError, match=r"exited 3: broken"):
        run_js_runtime(find_js_runtime(str(fake)))
    check = check_challenge_solver(YtDlpFactory(YtDlpSettings(js_runtime=str(fake))))
    assert not check.solved and check.detail


def test_the_challenge_solver_runs_with_the_installed_runtime_and_scripts():
    check = check_challenge_solver(YtDlpFactory())
    assert check.solved, check.detail
    assert check.ejs_version and check.script_source.startswith("python package")


# -- options ---------------------------------------------------------------------------------


def test_cookies_and_extra_options_reach_yt_dlp(tmp_path):
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n")
    settings = Settings.load(environ={
        "TUNECRATE_YTDLP_COOKIES": str(cookies),
        "TUNECRATE_YTDLP_COOKIES_FROM_BROWSER": "firefox:default-release",
        "TUNECRATE_YTDLP_OPTIONS": json.dumps({"extractor_args": {"youtube": {"player_client": ["tv"]}},
                                               "sleep_interval": 2}),
        "TUNECRATE_PROXY": "http://proxy.corp:3128",
    }, storage_root=tmp_path / "s", data_root=tmp_path / "d")
    options = YtDlpFactory.from_settings(settings).options({"extractor_args": {"generic": {"x": ["1"]}},
                                                            "quiet": True})
    assert options["cookiefile"] == str(cookies)
    assert options["cookiesfrombrowser"] == ("firefox", "default-release", None, None)
    assert options["extractor_args"] == {"generic": {"x": ["1"]}, "youtube": {"player_client": ["tv"]}}
    assert options["sleep_interval"] == 2 and options["quiet"] is True
    assert options["proxy"] == "http://proxy.corp:3128"


@pytest.mark.parametrize("environ, message", [
    ({"TUNECRATE_YTDLP_OPTIONS": "{nope"}, r"ytdlp_options \(TUNECRATE_YTDLP_OPTIONS\).*not valid JSON"),
    ({"TUNECRATE_YTDLP_OPTIONS": "[1, 2]"}, r"TUNECRATE_YTDLP_OPTIONS.*must be a JSON object"),
])
def test_bad_extra_options_are_one_line(tmp_path, environ, message):
    settings = Settings.load(environ=environ, storage_root=tmp_path / "s", data_root=tmp_path / "d")
    with pytest.raises(ConfigurationError, match=message):
        settings.section(YtDlpSettings)


def test_bad_cookie_settings_are_one_line(tmp_path):
    with pytest.raises(ConfigurationError, match="TUNECRATE_YTDLP_COOKIES_FROM_BROWSER: unsupported browser"):
        YtDlpFactory(YtDlpSettings(ytdlp_cookies_from_browser="netscape")).options({})
    with pytest.raises(ConfigurationError, match="TUNECRATE_YTDLP_COOKIES: no file at"):
        YtDlpFactory(YtDlpSettings(ytdlp_cookies=tmp_path / "none.txt")).options({})


# -- failures ----------------------------------------------------------------------------------


def test_a_bot_check_says_which_setting_to_use(world, tmp_path):
    url = _video(world)
    world.youtube.bot_check("BotCheck001")
    fetcher = Fetcher(tmp_path / "dl", ytdlp=_factory(world))
    with pytest.raises(DownloadError) as caught:
        fetcher.fetch(url)
    message = str(caught.value)
    assert message.startswith("YouTube asks to sign in to confirm you're not a bot: set "
                              "TUNECRATE_YTDLP_COOKIES_FROM_BROWSER")
    assert "TUNECRATE_YTDLP_COOKIES to a cookies.txt" in message and "\n" not in message
    assert not caught.value.transient
    assert not world.youtube.media_requests()


def test_a_bot_check_with_cookies_says_they_were_not_enough(world, tmp_path):
    url = _video(world)
    world.youtube.bot_check("BotCheck001")
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n")
    fetcher = Fetcher(tmp_path / "dl", ytdlp=_factory(world, ytdlp_cookies=cookies))
    with pytest.raises(DownloadError, match="cookies from TUNECRATE_YTDLP_COOKIES were not enough"):
        fetcher.fetch(url)


def test_the_cli_prints_the_bot_check_line(cli, world, demo):
    url = _video(world)
    world.youtube.bot_check("BotCheck001")
    track_id = demo.track_ids[0]
    assert cli("match", "set", track_id, url).exit_code == 0
    result = cli("track", track_id)
    assert result.exit_code == 1
    assert "YouTube asks to sign in to confirm you're not a bot: set TUNECRATE_YTDLP_COOKIES_FROM_BROWSER" in \
        result.output
    assert "Traceback" not in result.output


def test_a_broken_runtime_makes_youtube_downloads_fail_naming_the_setting(world, tmp_path):
    url = _video(world, "NoRuntime01")
    fetcher = Fetcher(tmp_path / "dl", ytdlp=_factory(world, js_runtime=str(tmp_path / "missing" / "deno")))
    with pytest.raises(DownloadError) as caught:
        fetcher.fetch(url)
    assert str(caught.value).startswith("YouTube's JavaScript challenges were not solved with "
                                        f"{tmp_path / 'missing' / 'deno'} (from TUNECRATE_JS_RUNTIME)")
    assert "tunecrate doctor" in str(caught.value)
    assert not world.youtube.media_requests()


def test_a_ca_bundle_rewritten_in_place_is_read_again(world, tmp_path):
    """TLS contexts are shared between yt-dlp instances, but not past a change of the CA file: a
    long-running process (`tunecrate serve`) trusts the rotated authority of an inspecting proxy."""
    from tunecrate.demo.proxy import StandInCA

    url = _video(world, "RotatedCA01")
    bundle = StandInCA().write_pem(tmp_path / "corporate-ca.pem")  # not the proxy's authority
    factory = YtDlpFactory(YtDlpSettings(), proxy=world.proxy.url, ca_bundle=bundle)
    with pytest.raises(DownloadError, match="CERTIFICATE_VERIFY_FAILED"):
        Fetcher(tmp_path / "dl1", ytdlp=factory).fetch(url)
    world.proxy.ca.write_pem(bundle)  # the proxy's authority, at the same path
    path, owned = Fetcher(tmp_path / "dl2", ytdlp=factory).fetch(url)
    assert owned and path.is_file() and path.stat().st_size > 0
