"""The smart CLI (`tunecrate smart`), driven through a real pseudo-terminal against the loopback stand-ins.

Each test spawns the real program with pexpect in an 80×24 pty, types as a
person would, and checks the screen, then the files and the database.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
import zipfile

import pexpect
import pytest

from tunecrate.demo.spotify_server import fake_id, make_album, make_track

COMMAND = [sys.executable, "-m", "tunecrate", "smart"]
#: CSI/OSC escape sequences and the carriage returns of the terminal.
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]|\r")
#: Cursor homing and screen clearing: a new screen starts on a new line of the transcript.
_CLEAR = re.compile(r"\x1b\[[0-9;]*[HJ]")
#: SGR parameters that set a colour (foreground, background, 256/true colour).
_COLOUR_SGR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-8]|4[0-8]|9[0-7]|10[0-7])(?:;[0-9;]*)?m")


class Terminal:
    """A spawned `tunecrate smart`: waits for text on the screen (escape codes ignored) and types."""

    def __init__(self, env: dict[str, str], cwd) -> None:
        self.child = pexpect.spawn(COMMAND[0], COMMAND[1:], env=env, cwd=str(cwd), dimensions=(24, 80),
                                   encoding="utf-8", timeout=30)
        self.raw = ""
        self._pos = 0

    @property
    def text(self) -> str:
        return _ESCAPES.sub("", _CLEAR.sub("\n", self.raw))

    def _read(self, timeout: float) -> bool:
        try:
            self.raw += self.child.read_nonblocking(65536, timeout=timeout)
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            return False
        return True

    def expect(self, pattern: str, timeout: float = 30) -> re.Match:
        """Wait until ``pattern`` (a regex) shows after the previous match; return the match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            found = regex.search(self.text, self._pos)
            if found:
                self._pos = found.end()
                return found
            alive = self._read(0.2)
            if not alive or time.monotonic() > deadline:
                found = regex.search(self.text, self._pos)
                if found:
                    self._pos = found.end()
                    return found
                why = "the program exited" if not alive else "timed out"
                raise AssertionError(f"{why} waiting for {pattern!r}; screen so far:\n{self.text[-2500:]}")

    def type(self, line: str) -> None:
        """Type ``line`` and Enter."""
        self.child.send(line + "\r")

    def home(self) -> None:
        """Wait for the home screen and its menu prompt."""
        self.expect(r"Disk used[\s\S]*?Choose: ")

    def menu(self, key: str) -> None:
        self.home()
        self.type(key)

    def wait_exit(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while self._read(0.2):
            assert time.monotonic() < deadline, f"still running:\n{self.text[-1500:]}"
        self.child.close()
        return self.child.exitstatus if self.child.exitstatus is not None else -(self.child.signalstatus or 0)

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)


@pytest.fixture
def spawn(cli, tmp_path):
    """Start `tunecrate smart` in a pty (80×24) with the stand-ins' environment, in ``tmp_path``."""
    started: list[Terminal] = []

    def start(**extra: str) -> Terminal:
        env = {name: value for name, value in os.environ.items() if name != "NO_COLOR"}
        env.update(cli.env, COLUMNS="80", LINES="24", TERM="xterm-256color", **extra)
        term = Terminal(env, tmp_path)
        started.append(term)
        return term

    yield start
    for term in started:
        term.close()


def _db(roots):
    return sqlite3.connect(roots["data_root"] / "tunecrate.sqlite3")


def _statuses(roots) -> dict[str, str]:
    with _db(roots) as db:
        return dict(db.execute("select track_id, status from track"))


def _pin_short_tones(cli, world, demo) -> None:
    """Pin each demo track to a 2-second tone (the demo's own sources, only shorter: a quick load)."""
    for n, track_id in enumerate(demo.track_ids):
        result = cli("match", "set", track_id, world.audio(f"smart-{n}", 2, 300 + 40 * n))
        assert result.exit_code == 0, result.output


def _extra_track(cli, world) -> str:
    """A track in no playlist, pinned to a tone; returns its id."""
    album = make_album(fake_id("smart:album"), "Side Project", ["Solo Act"], total_tracks=1,
                       images=world.images("smart-extra-cover", "0xaa3377"))
    track_id = fake_id("smart:extra")
    world.spotify.add_album(album, [make_track(track_id, "Extra Song", ["Solo Act"], album, duration_ms=2000)])
    assert cli("match", "set", track_id, world.audio("smart-extra", 2, 660)).exit_code == 0
    return track_id


def test_load_browse_save_zip_and_delete(spawn, cli, world, demo, roots, tmp_path):
    _pin_short_tones(cli, world, demo)
    extra = _extra_track(cli, world)
    tracks = [world.spotify._tracks[t] for t in demo.track_ids]
    long_id = fake_id("smart:long")
    world.spotify.add_playlist(long_id, "Long mix", tracks * 3, images=world.images("smart-long", "0x204080"))
    storage = roots["storage_root"]
    term = spawn()

    # A bad link: an error panel with a hint, and the session goes on.
    term.menu("1")
    term.expect(r"Spotify link: ")
    term.type("https://example.com/not-spotify")
    term.expect(r"error[\s\S]*not a Spotify URL[\s\S]*Hint: Paste a Spotify link")
    term.expect(r"Press Enter to continue")
    term.type("")

    # Back at the Load screen: load the demo playlist by URL, with live progress, then the summary.
    term.expect(r"tunecrate › Load[\s\S]*Spotify link: ")
    term.type(demo.playlist_url)
    term.expect(r"playlist · tunecrate demo mix[\s\S]*downloaded=6 present=0 unresolved=0 skipped=0 failed=0")
    term.expect(r"Skipped 4 source entries")
    assert _statuses(roots) == {t: "downloaded" for t in demo.track_ids}
    for track_id in demo.track_ids:
        assert (storage / "tracks" / track_id[:2] / f"{track_id}.mp3").is_file()
    with _db(roots) as db:
        assert db.execute("select count(*) from playlistentry where playlist_id = ?",
                          (demo.playlist_id,)).fetchone() == (6,)
    term.type("")

    # Still at the Load screen: a longer playlist of the same tracks (nothing to download), and one
    # track on its own; then q goes back to the menu.
    term.expect(r"tunecrate › Load[\s\S]*Spotify link: ")
    term.type(f"spotify:playlist:{long_id}")
    term.expect(r"downloaded=0 present=6")
    term.type("")
    term.expect(r"Spotify link: ")
    term.type(f"https://open.spotify.com/track/{extra}")
    term.expect(r"track · Solo Act - Extra Song[\s\S]*downloaded=1")
    term.type("")
    term.expect(r"Spotify link: ")
    term.type("q")
    term.expect(r"Tracks 7 \(7 downloaded\)\s+Playlists 2")
    extra_file = storage / "tracks" / extra[:2] / f"{extra}.mp3"
    assert extra_file.is_file()

    # Browse: the playlists, then a paged table with sort, search and a detail view.
    term.menu("3")
    number = term.expect(r"(\d+)\s+Long mix\s+18\s+18").group(1)
    term.expect(r"› ")
    term.type(number)
    term.expect(r"Long mix ─+\s+18 tracks · page 1/2 · sorted by order")
    term.expect(r"15\s+Ada Byte\s+127 Bpm[\s\S]*› ")
    term.type("n")
    term.expect(r"page 2/2[\s\S]*16\s+The Loopbacks\s+Offline Forever[\s\S]*18\s+Sine Wave Club")
    term.type("s")
    term.expect(r"Sort by order/artist/title/album/time/status: ")
    term.type("title")
    term.expect(r"page 1/2 · sorted by title[\s\S]*1\s+Ada Byte\s+127 Bpm")
    term.type("/morning")
    term.expect(r"3 of 18 tracks · page 1/1 · search “morning”[\s\S]*3\s+The Loopbacks\s+Morning Static")
    term.type("1")
    morning = demo.track_ids[0]
    term.expect(r"Morning Static[\s\S]*Status\s+downloaded[\s\S]*Source\s+pinned: http://127\.0\.0\.1:")
    term.expect(r"Match\s+pinned by you")
    shown_path = term.expect(r"File\s+([\s\S]*?)Size\s+\d+\.\d kB").group(1)
    assert re.sub(r"[\s│]", "", shown_path) == str(roots["storage_root"] / "tracks" / morning[:2] / f"{morning}.mp3")
    term.expect(r"Playlists\s+(Long mix, tunecrate demo mix|tunecrate demo mix, Long mix)")
    term.expect(r"q: back\s+› ")
    term.type("q")
    term.expect(r"3 of 18 tracks[\s\S]*› ")
    term.type("q")
    term.expect(r"2 playlists · page 1/1[\s\S]*› ")
    term.type("q")

    # Save the demo playlist as a ZIP at the default destination (./exports/).
    term.menu("5")
    term.expect(r"Choose: ")
    term.type("2")
    number = term.expect(r"Save › which playlist as ZIP\?[\s\S]*?(\d+)\s+tunecrate demo mix\s+6\s+6").group(1)
    term.expect(r"number: choose[\s\S]*› ")
    term.type(number)
    term.expect(r"Save the ZIP to \(a folder, or a file ending in \.zip\) \[exports/\]: ")
    term.type("")
    term.expect(r"saved[\s\S]*exports/tunecrate demo mix\.zip\s+│\s+│ 6 tracks, 6 entries, [\d.]+ kB, cover included")
    archive = tmp_path / "exports" / "tunecrate demo mix.zip"
    with zipfile.ZipFile(archive) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
    assert len([n for n in names if n.endswith(".mp3")]) == 6
    assert any(n.endswith(".m3u8") for n in names)
    assert not [p for p in archive.parent.iterdir() if p.name.startswith(".tunecrate-tmp")]
    term.type("")
    term.expect(r"tunecrate › Save[\s\S]*Mirror playlists into a folder[\s\S]*Choose: ")
    term.type("q")

    # Delete the lone track: its file and row go.
    term.menu("6")
    term.expect(r"Choose: ")
    term.type("1")
    term.expect(r"Track \(a link, an id, or words to search\): ")
    term.type("extra song")
    term.expect(r"→ Solo Act - Extra Song[\s\S]*Leaves the disk: ")
    term.expect(r"Delete it\? \(y/n\) \[n\]: ")
    term.type("y")
    term.expect(r"Deleted\.")
    assert not extra_file.exists()
    assert extra not in _statuses(roots)
    term.type("")

    # Back at the Delete screen: a track that playlists list stays; the screen says which, and
    # nothing changes.
    term.expect(r"tunecrate › Delete[\s\S]*Choose: ")
    term.type("1")
    term.expect(r"Track \(a link, an id, or words to search\): ")
    term.type(morning)
    term.expect(r"Morning Static stays on disk: (Long mix, tunecrate demo mix|tunecrate demo mix, Long mix)\s+use\s+it")
    term.expect(r"Press Enter to continue")
    term.type("")
    term.expect(r"tunecrate › Delete[\s\S]*Choose: ")
    term.type("q")
    term.expect(r"Tracks 6 \(6 downloaded\)")
    assert (storage / "tracks" / morning[:2] / f"{morning}.mp3").is_file()
    assert morning in _statuses(roots)

    # Sync: the plan shows first, and the removed entries go once agreed.
    world.spotify.set_playlist_items(long_id, tracks[:4])
    term.menu("2")
    number = term.expect(r"(\d+)\s+Long mix\s+18\s+18").group(1)
    term.expect(r"number: sync[\s\S]*› ")
    term.type(number)
    term.expect(r"plan · Long mix[\s\S]*0 added, 14 removed, \d+ moved, 4 kept[\s\S]*Downloads 0 tracks\.")
    term.expect(r"Sync now\? \(y/n\) \[y\]: ")
    term.type("y")
    term.expect(r"added=0 removed=14 kept=4")
    with _db(roots) as db:
        assert db.execute("select count(*) from playlistentry where playlist_id = ?", (long_id,)).fetchone() == (4,)
    term.type("")
    # Back at the list of playlists to sync, refreshed.
    term.expect(r"tunecrate › Sync[\s\S]*Long mix\s+4\s+4[\s\S]*› ")
    term.type("q")

    term.home()
    term.type("q")
    assert term.wait_exit() == 0
    assert _COLOUR_SGR.search(term.raw), "without NO_COLOR the screens use colour"


def test_ctrl_c_cancels_a_load_then_quits(spawn, cli, demo, roots):
    for track_id, url in demo.sources.items():
        assert cli("match", "set", track_id, url).exit_code == 0
    term = spawn(TUNECRATE_WORKERS="1")

    # Ctrl-C at a prompt goes back to the menu.
    term.menu("1")
    term.expect(r"Spotify link: ")
    term.child.sendintr()
    term.expect(r"Cancelled\. Press Ctrl-C again to quit\.\s+Choose: ")
    time.sleep(2.1)  # past the double Ctrl-C window

    # Ctrl-C during a load: nothing new starts, the menu comes back, the library is consistent.
    term.type("1")
    term.expect(r"Spotify link: ")
    term.type(demo.playlist_url)
    # The live progress shows a line for the track in flight, with its place among the six.
    term.expect(r"\[(downloading|encoding)\]\s*━*\s*[1-6]/6")
    term.child.sendintr()
    term.expect(r"Cancelling: waiting for the tracks in flight to finish")
    left = term.expect(r"Cancelled tunecrate demo mix: \d+ tracks? downloaded, (\d+) left for the next\s+load\s+or\s+"
                       r"sync\.\s+Press\s+Ctrl-C\s+again\s+to\s+quit\.\s+Choose: ").group(1)
    statuses = _statuses(roots)
    assert set(statuses) == set(demo.track_ids)
    assert int(left) >= 1 and list(statuses.values()).count("downloaded") <= 6 - int(left)
    storage = roots["storage_root"]
    with _db(roots) as db:
        for track_id, status, path in db.execute("select track_id, status, path from track"):
            if status == "downloaded":
                assert (storage / path).is_file()
            else:
                assert path is None and status in ("pending", "failed")
    assert list((storage / "tmp").iterdir()) == []
    assert all(p.stem in statuses and statuses[p.stem] == "downloaded" for p in storage.glob("tracks/*/*.mp3"))

    # Ctrl-C twice at the menu quits.
    term.child.sendintr()
    if term.expect(r"Press Ctrl-C again to quit, or choose from the menu|Interrupted; bye").group(0).startswith("Press"):
        term.child.sendintr()
    assert term.wait_exit() == 130
    assert "0/?" not in term.text


def test_no_color_settings_and_help(spawn, roots):
    term = spawn(NO_COLOR="1")
    term.menu("7")
    term.expect(r"Audio files\s+" + re.escape(str(roots["storage_root"])[:40]))
    term.expect(r"Providers\s+none \(pinned sources and local music only\)")
    term.expect(r"ffmpeg\s+ffmpeg version \S+")
    term.expect(r"Spotify app\s+client id set")
    term.expect(r"Spotify login\s+not logged in")
    term.expect(r"› ")
    term.type("q")
    term.menu("h")
    term.expect(r"Ctrl-C\s+cancel what is running; twice quits[\s\S]*Load\s+tunecrate track \| album \| playlist URL")
    term.expect(r"Press Enter to continue")
    term.type("")
    term.menu("q")
    assert term.wait_exit() == 0
    assert not _COLOUR_SGR.search(term.raw), "NO_COLOR must turn colour off"
    # Every line fits 80 columns.
    assert max(len(line) for line in term.text.splitlines()) <= 80, [x for x in term.text.splitlines() if len(x) > 80]


def test_without_a_terminal_it_refuses_politely(cli):
    env = {**os.environ, **cli.env}
    result = subprocess.run(COMMAND, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs a terminal" in lines[0] and "tunecrate --help" in lines[0]


def test_one_key_menus_and_who_pinned_a_track(spawn, world, demo, settings):
    from tunecrate.library.library import Library

    with Library(settings) as lib:
        for n, track_id in enumerate(demo.track_ids):
            lib.decisions.pin(track_id, world.audio(f"smart-{n}", 2, 300 + 40 * n), by="demo")
        assert lib.load_playlist(demo.playlist_url).counts["downloaded"] == 6
    term = spawn()
    term.home()
    term.child.send("\r")  # Enter alone at a menu without a default does nothing
    term.child.send("3")  # one key, no Enter
    term.expect(r"tunecrate › Browse[\s\S]*number: open[\s\S]*› ")
    term.type("a")
    term.expect(r"All tracks[\s\S]*› ")
    term.type("1")
    term.expect(r"Match\s+pinned by the demo")
    term.expect(r"q: back\s+› ")
    term.child.send("q")
    term.expect(r"All tracks[\s\S]*› ")
    term.type("q")
    term.expect(r"1 playlist · page 1/1[\s\S]*› ")
    term.type("q")
    term.home()
    term.child.send("5")
    term.expect(r"tunecrate › Save[\s\S]*Choose: ")
    term.child.send("q")
    term.home()
    term.child.send("q")
    assert term.wait_exit() == 0
