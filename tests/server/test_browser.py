"""The page in a real headless Chromium, against ``tunecrate serve`` on the demo's stand-ins.

Load the demo playlist from the page (keyboard only), watch the progress
reach 100% over the WebSocket, play a track (``audio.currentTime`` advances,
seeking works through byte ranges), download a track and the playlist ZIP,
and check the phone-width layout. Chromium and chromedriver come from the
system (Debian's ``chromium`` and ``chromium-driver``; ``.ci/run`` installs them).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tunecrate.library.library import Library

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


@pytest.fixture
def served(settings, demo, world, roots):
    """``tunecrate serve --port 0`` in a subprocess, on a library whose demo tracks are pinned; its base URL."""
    with Library(settings) as library:
        for track_id, url in demo.sources.items():
            library.match_set(track_id, url)
    env = {**os.environ, **world.environment(), "TUNECRATE_STORAGE_ROOT": str(roots["storage_root"]),
           "TUNECRATE_DATA_ROOT": str(roots["data_root"]), "TUNECRATE_WORKERS": "2"}
    process = subprocess.Popen([sys.executable, "-m", "tunecrate", "serve", "--port", "0"], env=env,
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        line = process.stderr.readline()
        match = re.search(r"at (http://127\.0\.0\.1:\d+)/", line)
        assert match, f"serve said: {line!r}"
        yield match.group(1)
    finally:
        process.terminate()  # uvicorn stops cleanly, then ends by the signal it caught
        try:
            code = process.wait(20)
            rest = process.stderr.read()
        finally:
            process.kill()
        assert code in (0, -signal.SIGTERM) and "Traceback" not in rest, (code, rest)


@pytest.fixture
def browser(tmp_path, monkeypatch):
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not look for drivers online
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument("--window-size=1280,900")
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver, predicate, timeout: float = 60, what: str = ""):
    return WebDriverWait(driver, timeout).until(lambda d: predicate(d), message=what)


def _downloaded(folder: Path, name: str, timeout: float = 30) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        path = folder / name
        if path.is_file() and not list(folder.glob("*.crdownload")):
            return path
        time.sleep(0.1)
    raise AssertionError(f"{name} was not downloaded; the folder holds {sorted(p.name for p in folder.iterdir())}")


def test_load_progress_play_and_download_in_chromium(served, browser, demo):
    driver = browser
    driver.get(served + "/")
    _wait(driver, lambda d: d.execute_script("return document.readyState") == "complete")
    link = driver.find_element(By.ID, "link")
    link.send_keys(demo.playlist_url, Keys.ENTER)  # the keyboard's way: Enter submits with Load

    card = _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#jobs-panel .job"), what="no job card")[0]
    job_id = card.get_attribute("data-job")
    _wait(driver, lambda d: d.find_element(By.ID, f"job-{job_id}").get_attribute("data-status") == "completed",
          what="the job did not complete")
    done = driver.find_element(By.ID, f"job-{job_id}")
    assert done.find_element(By.CSS_SELECTOR, ".job-percent").text == "100%"
    assert done.find_element(By.TAG_NAME, "progress").get_attribute("value") == "100"
    assert len(done.find_elements(By.CSS_SELECTOR, "li[data-track]")) == 6  # per-track progress from the socket
    badges = done.find_elements(By.CSS_SELECTOR, "li[data-track] .badge")
    assert {b.get_attribute("textContent") for b in badges} == {"downloaded"}

    playlist = _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, f"#playlist-list a[data-id='{demo.playlist_id}']"),
                     what="the playlist is not listed")[0]
    playlist.click()
    rows = _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "table.tracks tbody tr[data-track]")
                 if len(d.find_elements(By.CSS_SELECTOR, "table.tracks tbody tr[data-track]")) == 6 else None,
                 what="the playlist's six tracks are not shown")
    assert [r.find_element(By.CSS_SELECTOR, ".title").text for r in rows][:2] == ["Offline Forever", "Morning Static"]
    assert rows[0].find_element(By.CSS_SELECTOR, "td.time").text == "0:16"

    rows[0].find_element(By.CSS_SELECTOR, "button.play").click()
    audio = "document.getElementById('audio')"
    _wait(driver, lambda d: d.execute_script(f"return {audio}.currentTime") > 0.5, what="the audio does not play")
    first = driver.execute_script(f"return {audio}.currentTime")
    _wait(driver, lambda d: d.execute_script(f"return {audio}.currentTime") > first + 0.3, what="time stands still")
    assert driver.execute_script(f"return {audio}.src").endswith(f"/track/{demo.track_ids[3]}/stream")
    assert driver.execute_script(f"return {audio}.seekable.length && {audio}.seekable.end(0)") > 15
    driver.execute_script(f"{audio}.currentTime = 12")
    _wait(driver, lambda d: d.execute_script(f"return {audio}.currentTime") >= 12.2, what="seeking failed")
    assert driver.find_element(By.ID, "now-title").text == "Offline Forever"

    rows[0].find_element(By.CSS_SELECTOR, "a[download]").click()
    track = _downloaded(driver.downloads, "The Loopbacks - Offline Forever.mp3")
    assert track.read_bytes()[:3] == b"ID3"

    driver.find_element(By.ID, "download-zip").click()
    archive = zipfile.ZipFile(_downloaded(driver.downloads, "tunecrate demo mix.zip"))
    names = archive.namelist()
    assert "01 - The Loopbacks - Offline Forever.mp3" in names and "tunecrate demo mix.m3u8" in names
    assert len([n for n in names if n.endswith(".mp3")]) == 6 and archive.testzip() is None


def test_the_page_fits_a_phone_and_works_with_the_keyboard(served, browser, demo):
    driver = browser
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
    driver.get(served + "/")
    driver.find_element(By.ID, "link").send_keys(demo.playlist_url, Keys.ENTER)
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".job[data-status=completed]"), what="no completed job")
    driver.get(f"{served}/#/playlist/{demo.playlist_id}")
    _wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "table.tracks tbody tr")) == 6)
    width = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page is wider than the phone: {width}"
    player = driver.find_element(By.CSS_SELECTOR, "footer.player").rect
    assert player["y"] + player["height"] <= 844 + 1 and player["width"] <= 390
    statuses = driver.find_elements(By.CSS_SELECTOR, "tr[data-track] .phone-only .badge")
    assert [s.text for s in statuses] == ["downloaded"] * 6 and all(s.is_displayed() for s in statuses)
    # The keyboard reaches the first Play button and Enter plays.
    body = driver.find_element(By.TAG_NAME, "body")
    for _ in range(40):
        body = driver.switch_to.active_element
        if body.get_attribute("class") and "play" in body.get_attribute("class").split():
            break
        body.send_keys(Keys.TAB)
    else:
        raise AssertionError("Tab never reached a Play button")
    body.send_keys(Keys.ENTER)
    _wait(driver, lambda d: d.execute_script("return document.getElementById('audio').currentTime") > 0.3,
          what="Enter on Play did not play")
