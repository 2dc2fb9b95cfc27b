"""`tunecrate doctor`: each line found out by running the thing, failed lines say what to do."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import pytest

from tunecrate.db.engine import SCHEMA_VERSION
from tunecrate.core.settings import Settings
from tunecrate.library.doctor import check_browser, diagnose
from tunecrate.sources.spotify_login import token_path

#: Keeps the browser check cheap where it is not the point of the test.
NO_BROWSER = {"TUNECRATE_CHROMIUM": "/nonexistent/chromium", "TUNECRATE_CHROMEDRIVER": "/nonexistent/chromedriver"}


def _broken_runtime(tmp_path: Path) -> Path:
    fake = tmp_path / "deno"
    fake.write_text("#!/bin/sh\necho 'deno: cannot execute' >&2\nexit 126\n")
    fake.chmod(0o755)
    return fake


def test_doctor_reports_the_js_runtime_this_venv_installed(cli):
    result = cli("doctor", "--json", **NO_BROWSER)
    report = json.loads(result.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    runtime = checks["js-runtime"]
    installed = Path(sys.prefix) / "bin" / "deno"
    assert runtime["status"] == "ok" and runtime["required"]
    assert f"{installed} (from the deno wheel), ran JavaScript" in runtime["detail"]
    assert runtime["detail"].startswith("deno ")
    solver = checks["yt-dlp"]
    assert solver["status"] == "ok", solver
    assert "solved a signature and an n challenge with deno (python package" in solver["detail"]
    assert checks["ffmpeg"]["status"] == "ok" and "libmp3lame encoded 1 s of audio" in checks["ffmpeg"]["detail"]
    assert checks["spotify-api"]["status"] == "ok"  # the stand-in granted a token
    assert checks["spotify"]["status"] == "ok" and "Web API" in checks["spotify"]["detail"]
    assert checks["browser"]["status"] == "failed" and not checks["browser"]["required"]
    assert report["ok"] and result.exit_code == 0


def test_a_broken_js_runtime_is_a_failed_line_and_a_nonzero_exit(cli, tmp_path):
    fake = _broken_runtime(tmp_path)
    result = cli("doctor", TUNECRATE_JS_RUNTIME=str(fake), **NO_BROWSER)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    failed = [line for line in lines if line.startswith("✗")]
    assert any("js-runtime" in line for line in failed) and any("yt-dlp *" in line for line in failed)
    text = " ".join(result.stdout.split())
    assert f"{fake} (from TUNECRATE_JS_RUNTIME) does not run: {fake} exited 126: deno: cannot execute" in text
    assert "→ TUNECRATE_JS_RUNTIME names a runtime that does not run" in text
    assert "Not ready: js-runtime, yt-dlp failed." in result.stdout

    report = json.loads(cli("doctor", "--json", TUNECRATE_JS_RUNTIME=str(fake), **NO_BROWSER).stdout)
    solver = next(c for c in report["checks"] if c["name"] == "yt-dlp")
    assert solver["status"] == "failed" and f"yt-dlp cannot use deno at {fake}" in solver["detail"]
    assert not report["ok"]


def test_doctor_runs_when_the_library_cannot_open(cli, tmp_path):
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    report = json.loads(cli("doctor", "--json", TUNECRATE_CA_BUNDLE=str(junk), **NO_BROWSER).stdout)
    network = next(c for c in report["checks"] if c["name"] == "network")
    assert network["status"] == "failed" and "TUNECRATE_CA_BUNDLE" in network["detail"]
    assert "PEM certificate" in network["fix"]
    assert cli("tracks", TUNECRATE_CA_BUNDLE=str(junk)).exit_code == 1  # what doctor explains


def test_ffmpeg_without_mp3_is_a_failed_line(tmp_path, roots):
    settings = Settings.load(environ={**NO_BROWSER, "TUNECRATE_FFMPEG": shutil.which("true")}, **roots)
    check = diagnose(settings).check("ffmpeg")
    assert check.status == "failed" and check.required and "no libmp3lame encoder" in check.detail
    assert "TUNECRATE_FFMPEG" in check.fix


def test_spotify_web_through_the_proxy_and_a_login_without_scopes(world, roots):
    world.proxy.add_site("open.spotify.com", world.spotify.base_url)
    path = token_path(roots["data_root"])
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"access_token": "a", "token_type": "Bearer", "refresh_token": "r",
                                "scope": "playlist-read-private", "expires_at": int(time.time()) + 3600}))
    settings = Settings.load(environ=NO_BROWSER, **roots, proxy=world.proxy.url, ca_bundle=world.ca_bundle)
    report = diagnose(settings, timeout_s=5)
    assert report.check("spotify-web").status == "ok"
    assert world.proxy.seen("open.spotify.com", "https")
    login = report.check("spotify-login")
    assert login.status == "warning" and "without user-library-read" in login.detail
    assert login.fix == "log in again: `tunecrate login`"
    assert report.check("spotify-api").status == "skipped"
    assert report.check("spotify").detail.startswith("usable: web pages")
    assert report.check("network").detail.startswith(f"proxy {world.proxy.url}")


def test_unreachable_spotify_means_no_source_and_a_nonzero_exit(world, roots):
    settings = Settings.load(environ=NO_BROWSER, **roots, proxy=world.proxy.url, ca_bundle=world.ca_bundle)
    report = diagnose(settings, timeout_s=5)
    web = report.check("spotify-web")
    assert web.status == "failed" and "open.spotify.com" in web.detail and "TUNECRATE_PROXY" in web.fix
    assert report.check("spotify").failed and not report.ok


@pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("chromedriver")),
                    reason="Chromium and chromedriver are not installed (CI installs them)")
def test_the_browser_and_its_driver_start(roots):
    check = check_browser(Settings.load(environ={}, **roots))
    assert check.status == "ok", check.detail
    assert "renders pages headless" in check.detail and "starts and is ready" in check.detail


def test_library_doctor_reports_the_library_it_opened(settings, demo):
    from tunecrate.library.library import Library

    with Library(settings.with_overrides(chromium="/nonexistent", chromedriver="/nonexistent")) as lib:
        lib.match_set(demo.track_ids[0], demo.sources[demo.track_ids[0]])
        lib.load_track(demo.track_ids[0])
        report = lib.doctor(timeout_s=2)
    library = report.check("library")
    assert library.status == "ok" and f"catalogue: 1 tracks (schema {SCHEMA_VERSION})" in library.detail
    assert report.check("network").detail.startswith(f"proxy {settings.proxy}")
    assert report.to_json()["checks"][0]["name"] == "ffmpeg"
