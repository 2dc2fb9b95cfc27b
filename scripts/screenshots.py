"""Screenshots of the web page for the README, taken in headless Chromium (the browser the tests drive).

Runs the demo's stand-ins, serves a fresh library through ``tunecrate.server``
under uvicorn, loads the demo playlist from the page itself, and saves
``docs/server-progress.png`` (a load under way), ``docs/server-desktop.png``
(1280×800), ``docs/server-review.png`` and ``docs/server-phone.png`` (390×844). Two demo tracks are left to the matcher
with near-miss candidates, so that the review queue has something to show.

    python scripts/screenshots.py [--out docs]

Needs the ``server`` and ``test`` extras, Chromium and chromedriver
(``/usr/bin/chromium``, ``/usr/bin/chromedriver``), and a CJK font for the
demo's Japanese title (Debian: ``fonts-wqy-microhei``).
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tunecrate.core.settings import Settings
from tunecrate.core.types import Candidate
from tunecrate.demo.world import StandIns, build_demo_catalogue
from tunecrate.library.library import Library

CHROME_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--autoplay-policy=no-user-gesture-required", "--hide-scrollbars")


class NearMisses:
    """Offers each track its own audio 8 s too long (held for review) and another track's as a live version."""

    name = "youtube"

    def __init__(self, sources: dict[str, str]) -> None:
        self.sources = sources

    def search(self, track):
        others = [url for tid, url in self.sources.items() if tid != track.track_id]
        return [Candidate(self.sources[track.track_id], track.title, track.artist, track.duration_ms + 8000, "youtube"),
                Candidate(others[0], f"{track.title} (Live at the Loopback)", track.artist, track.duration_ms + 31000,
                          "youtube")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browser(width: int, height: int, downloads: Path, *, mobile: bool = False):
    os.environ.setdefault("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads)})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
    return driver


def mid_job(driver) -> bool:
    """Whether the job card shows a load under way (some tracks done, not all)."""
    percent = driver.execute_script(
        "const e = document.querySelector('.job[data-status=running] .job-percent'); return e && e.textContent")
    return bool(percent) and percent not in ("0%", "100%")


def quiet(driver) -> None:
    """Wait for the page's toast to go away."""
    wait(driver, lambda d: not d.find_element(By.ID, "toast").is_displayed(), timeout=15)


def wait(driver, predicate, timeout: float = 60):
    return WebDriverWait(driver, timeout).until(lambda d: predicate(d))


def main() -> None:
    import uvicorn

    from tunecrate.server.app import ServerConfig, create_app

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tunecrate-shots-") as work, StandIns(Path(work) / "media") as world:
        demo = build_demo_catalogue(world)
        settings = Settings.load(environ={}, storage_root=Path(work) / "storage_data", data_root=Path(work) / "data",
                                 **world.settings_overrides(), workers=2)
        library = Library(settings, providers=[NearMisses(demo.sources)])
        for track_id in demo.track_ids[:4]:
            library.match_set(track_id, demo.sources[track_id])
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(library, ServerConfig(port=port)), host="127.0.0.1",
                                               port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        try:
            driver = browser(1280, 800, Path(work))
            try:
                driver.get(base + "/")
                driver.find_element(By.ID, "link").send_keys(demo.playlist_url)
                driver.find_element(By.CSS_SELECTOR, "#load-form button[data-action=load]").click()
                wait(driver, lambda d: mid_job(d), timeout=60)
                driver.save_screenshot(str(args.out / "server-progress.png"))
                wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".job[data-status=completed]"))
                driver.get(f"{base}/#/playlist/{demo.playlist_id}")
                wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "tr[data-track]")) == 6)
                driver.find_element(By.CSS_SELECTOR, "tr[data-track] button.play").click()
                wait(driver, lambda d: d.execute_script("return document.getElementById('audio').currentTime") > 1)
                driver.execute_script("document.getElementById('audio').pause()")
                quiet(driver)
                driver.save_screenshot(str(args.out / "server-desktop.png"))
                driver.find_element(By.CSS_SELECTOR, ".job .buttons button").click()  # dismiss the finished job
                driver.get(base + "/#/review")
                wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".review-item"))
                quiet(driver)
                driver.save_screenshot(str(args.out / "server-review.png"))
            finally:
                driver.quit()
            driver = browser(390, 844, Path(work), mobile=True)
            try:
                driver.get(f"{base}/#/playlist/{demo.playlist_id}")
                wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "tr[data-track]")) == 6)
                time.sleep(0.5)
                driver.save_screenshot(str(args.out / "server-phone.png"))
            finally:
                driver.quit()
        finally:
            server.should_exit = True
            thread.join(10)
            library.close()
    for name in ("server-progress.png", "server-desktop.png", "server-review.png", "server-phone.png"):
        print(args.out / name)


if __name__ == "__main__":
    main()
