"""The Spotify login: the private token file, login/logout/status and Liked Songs checks.

The login runs for real against the loopback Spotify stand-in: the test plays
the user, reading the printed address and "browsing" it with requests, which
follows the stand-in's redirect to the login's local callback server.
"""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import sys
import threading
import time
import webbrowser
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from spotipy.cache_handler import CacheHandler

from tunecrate.core.errors import AuthError, ConfigurationError, ServiceUnavailable, StorageError
from standins.spotify import FaultySpotify
from tunecrate.demo.spotify_server import fake_id, make_album, make_track
from tunecrate.sources.spotify_api import SpotifyApiSource
from tunecrate.sources.spotify_login import (
    LOGIN_SCOPE, USER_SCOPE, PrivateTokenCache, login, login_state, logout, make_user_auth_manager,
)

ALBUM = make_album(fake_id("album"), "Homework", ["Daft Punk"])


def song(n: int) -> dict:
    return make_track(fake_id(f"song{n}"), f"Song {n}", ["Daft Punk"], ALBUM, isrc=f"GBDUW9700{n:03d}")


@pytest.fixture
def fake():
    with FaultySpotify() as server:
        yield server


@pytest.fixture
def token_path(tmp_path):
    return tmp_path / "data" / "spotify-token.json"


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nobody_listens_on(port: int) -> bool:
    """Whether ``port`` can be bound again (SO_REUSEADDR: closed connections may linger in TIME_WAIT)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def source_for(fake: FaultySpotify, token_path) -> SpotifyApiSource:
    manager = make_user_auth_manager(fake.client_id, token_path=token_path, accounts_url=fake.accounts_url)
    return SpotifyApiSource(client_id=fake.client_id, client_secret=fake.client_secret, api_url=fake.api_url,
                         accounts_url=fake.accounts_url, user_auth_manager=manager)


class LoginThread(threading.Thread):
    """Runs ``login(**kwargs)`` in the background, as the CLI would in the foreground."""

    def __init__(self, **kwargs) -> None:
        super().__init__(daemon=True)
        self.kwargs = kwargs
        self.result: dict | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = login(**self.kwargs)
        except BaseException as exc:  # handed to the test
            self.error = exc

    def finish(self) -> dict:
        self.join(10)
        assert not self.is_alive(), "login did not return"
        if self.error is not None:
            raise self.error
        return self.result


def printed_address(capsys, timeout_s: float = 5.0) -> str:
    """The authorisation address the login printed on stderr (what the user reads in the terminal)."""
    seen = ""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        seen += capsys.readouterr().err
        found = re.search(r"^\s+(http\S+/authorize\?\S+)$", seen, re.M)
        if found:
            return found.group(1)
        time.sleep(0.01)
    raise AssertionError(f"no address printed; stderr: {seen!r}")


def start_login(fake, token_path, redirect_uri, **kwargs) -> LoginThread:
    kwargs.setdefault("open_browser", False)
    kwargs.setdefault("timeout_s", 10)
    thread = LoginThread(client_id=fake.client_id, token_path=token_path, accounts_url=fake.accounts_url,
                         redirect_uri=redirect_uri, **kwargs)
    thread.start()
    return thread


# -- the token file ------------------------------------------------------------------------------


def test_token_cache_is_a_spotipy_cache_handler_writing_0600(token_path):
    cache = PrivateTokenCache(token_path)
    assert isinstance(cache, CacheHandler)
    assert cache.get_cached_token() is None
    token = {"access_token": "a", "refresh_token": "r", "scope": "user-library-read", "expires_at": 1}

    old_umask = os.umask(0)  # even a permissive umask gives a private file
    try:
        cache.save_token_to_cache(token)
    finally:
        os.umask(old_umask)

    assert mode(token_path) == 0o600
    assert json.loads(token_path.read_text()) == token == cache.get_cached_token()
    assert os.listdir(token_path.parent) == [token_path.name]


def test_token_cache_replaces_a_wider_file_with_a_private_one(token_path):
    token_path.parent.mkdir(parents=True)
    token_path.write_text("{}")
    token_path.chmod(0o644)
    PrivateTokenCache(token_path).save_token_to_cache({"access_token": "b", "expires_at": 2})
    assert mode(token_path) == 0o600 and json.loads(token_path.read_text())["access_token"] == "b"


def test_failed_write_keeps_the_old_token_and_leaves_nothing_behind(token_path):
    cache = PrivateTokenCache(token_path)
    cache.save_token_to_cache({"access_token": "old", "expires_at": 1})
    with pytest.raises(TypeError):
        cache.save_token_to_cache({"access_token": object(), "expires_at": 2})
    assert cache.get_cached_token()["access_token"] == "old"
    assert os.listdir(token_path.parent) == [token_path.name]


def test_unwritable_location_is_a_storage_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(StorageError, match="cannot write the Spotify login to .*file/spotify-token.json"):
        PrivateTokenCache(tmp_path / "file" / "spotify-token.json").save_token_to_cache({"access_token": "a"})


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe", b"[]", b'{"access_token": "a"}'])
def test_unreadable_or_foreign_token_file_counts_as_no_login(token_path, content):
    token_path.parent.mkdir(parents=True)
    token_path.write_bytes(content)
    assert PrivateTokenCache(token_path).get_cached_token() is None
    assert login_state(token_path)["logged_in"] is False


def test_logout_removes_the_token(token_path):
    PrivateTokenCache(token_path).save_token_to_cache({"access_token": "a", "expires_at": 1})
    assert logout(token_path) is True
    assert not token_path.exists()
    assert logout(token_path) is False


def test_login_state_reads_the_file_only(token_path):
    now = int(time.time())
    assert login_state(token_path) == {"logged_in": False, "expires_at": None, "scope": None, "missing_scopes": [],
                                       "path": str(token_path)}
    cache = PrivateTokenCache(token_path)
    older = "playlist-read-private playlist-read-collaborative"
    for token, logged_in, missing in [
        ({"access_token": "a", "refresh_token": "r", "scope": USER_SCOPE, "expires_at": now - 99}, True, []),
        ({"access_token": "a", "scope": USER_SCOPE, "expires_at": now + 600}, True, []),
        ({"access_token": "a", "scope": USER_SCOPE, "expires_at": now - 99}, False, []),
        ({"access_token": "a", "refresh_token": "r", "scope": older, "expires_at": now}, False, ["user-library-read"]),
        # A login made before tunecrate asked for the playlist scopes.
        ({"access_token": "a", "refresh_token": "r", "scope": "user-library-read", "expires_at": now}, False,
         ["playlist-read-private", "playlist-read-collaborative"]),
    ]:
        cache.save_token_to_cache(token)
        assert login_state(token_path) == {"logged_in": logged_in, "expires_at": token["expires_at"],
                                           "scope": token["scope"], "missing_scopes": missing,
                                           "path": str(token_path)}


def test_module_imports_without_spotipy_or_requests():
    code = ("import sys, tunecrate.sources.spotify_login; "
            "print(sorted(m for m in ('spotipy', 'requests', 'urllib3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- login: the real PKCE flow against the stand-in ---------------------------------------------


def test_headless_login_end_to_end_then_liked_songs(fake, token_path, capsys):
    fake.set_saved_tracks([song(1), song(2)])
    port = free_port()
    callback = f"http://127.0.0.1:{port}/callback"
    thread = start_login(fake, token_path, callback)

    address = printed_address(capsys)
    # A browser's stray requests and a stale link do not end the wait.
    assert requests.get(f"http://127.0.0.1:{port}/favicon.ico", timeout=5).status_code == 404
    assert requests.get(f"{callback}?code=old&state=old", timeout=5).status_code == 400
    page = requests.get(address, timeout=5)  # the stand-in approves and redirects to the callback

    assert page.status_code == 200 and "close this tab" in page.text
    assert page.url.startswith(callback + "?code=")
    result = thread.finish()
    assert set(result["scope"].split()) == set(LOGIN_SCOPE.split()) and result["expires_at"] > time.time() + 3000
    assert mode(token_path) == 0o600
    (authorize,) = fake.requests_to(r"^/authorize$")
    assert authorize.query["redirect_uri"] == callback and authorize.query["code_challenge_method"] == "S256"
    assert authorize.query["state"] == parse_qs(urlsplit(page.url).query)["state"][0]
    assert len(fake.requests_to(r"^/api/token$", "POST")) == 1  # the stand-in checked the PKCE verifier
    assert login_state(token_path)["logged_in"] is True

    likes = source_for(fake, token_path).saved_tracks()
    assert [t.title for t in likes.entries] == ["Song 1", "Song 2"]
    assert nobody_listens_on(port)  # the callback server is gone


def test_login_opens_the_browser_in_a_graphical_session(fake, token_path, monkeypatch):
    monkeypatch.setenv("DISPLAY", ":0")
    opened: list[str] = []

    def browser(url, *args, **kwargs):
        opened.append(url)
        threading.Thread(target=requests.get, args=(url,), kwargs={"timeout": 5}, daemon=True).start()
        return True

    monkeypatch.setattr(webbrowser, "open", browser)
    thread = start_login(fake, token_path, f"http://127.0.0.1:{free_port()}/callback", open_browser=True)
    assert set(thread.finish()["scope"].split()) == set(LOGIN_SCOPE.split())
    assert len(opened) == 1 and opened[0].startswith(fake.accounts_url + "/authorize?")


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="a graphical session is always assumed there")
def test_login_starts_no_text_browser_without_a_graphical_session(fake, token_path, monkeypatch, capsys):
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(webbrowser, "open", lambda *a, **k: pytest.fail("a browser was started"))
    thread = start_login(fake, token_path, f"http://127.0.0.1:{free_port()}/callback", open_browser=True)
    requests.get(printed_address(capsys), timeout=5)
    assert set(thread.finish()["scope"].split()) == set(LOGIN_SCOPE.split())


def test_refused_login_is_an_auth_error(fake, token_path, capsys):
    thread = start_login(fake, token_path, f"http://127.0.0.1:{free_port()}/callback")
    query = parse_qs(urlsplit(printed_address(capsys)).query)
    # What Spotify sends back when the user clicks "Cancel".
    denied = f"{query['redirect_uri'][0]}?{urlencode({'error': 'access_denied', 'state': query['state'][0]})}"
    assert "not approved" in requests.get(denied, timeout=5).text
    with pytest.raises(AuthError, match=r"not approved \(access_denied\); run `tunecrate login` again"):
        thread.finish()
    assert not token_path.exists() and fake.requests_to(r"^/api/token$") == []


def test_login_gives_up_after_the_timeout(fake, token_path):
    port = free_port()
    with pytest.raises(AuthError, match=rf"no Spotify login arrived on 127.0.0.1:{port} within 0.2 s"):
        login(client_id=fake.client_id, token_path=token_path, accounts_url=fake.accounts_url,
              redirect_uri=f"http://127.0.0.1:{port}/callback", open_browser=False, timeout_s=0.2)
    assert nobody_listens_on(port)


def test_busy_redirect_port_is_a_configuration_error(fake, token_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigurationError, match=rf"127.0.0.1:{port}.*SPOTIPY_REDIRECT_URI"):
            login(client_id=fake.client_id, token_path=token_path, accounts_url=fake.accounts_url,
                  redirect_uri=f"http://127.0.0.1:{port}/callback", open_browser=False)


def test_bad_settings_are_configuration_errors(fake, token_path):
    with pytest.raises(ConfigurationError, match="SPOTIPY_CLIENT_ID"):
        login(client_id=None, token_path=token_path, accounts_url=fake.accounts_url,
              redirect_uri="http://127.0.0.1:8888/callback")
    with pytest.raises(ConfigurationError, match="localhost"):
        login(client_id=fake.client_id, token_path=token_path, accounts_url=fake.accounts_url,
              redirect_uri="http://localhost:8888/callback")


# -- login by pasting the address (redirect URIs that cannot be caught locally) -----------------

PASTE_REDIRECT = "https://tunecrate.example/callback"


def paste_login(fake, token_path, capsys, answer=None, **kwargs):
    """Log in with a redirect URI elsewhere; ``answer(redirected_to)`` edits what the user pastes."""
    prompts: list[str] = []

    def prompt(message: str) -> str:
        prompts.append(message)
        page = requests.get(printed_address(capsys), allow_redirects=False, timeout=5)
        location = page.headers["Location"]
        return answer(location) if answer else location

    kwargs.setdefault("accounts_url", fake.accounts_url)
    result = login(client_id=fake.client_id, token_path=token_path, redirect_uri=PASTE_REDIRECT,
                   open_browser=False, prompt=prompt, **kwargs)
    assert len(prompts) == 1
    return result


def test_pasted_address_completes_the_login(fake, token_path, capsys):
    fake.set_saved_tracks([song(3)])
    assert set(paste_login(fake, token_path, capsys)["scope"].split()) == set(LOGIN_SCOPE.split())
    assert mode(token_path) == 0o600
    assert source_for(fake, token_path).saved_tracks().track_count == 1


@pytest.mark.parametrize("edit, message", [
    (lambda url: url.split("?")[0], "carries no Spotify login code"),
    (lambda url: re.sub(r"state=[^&]+", "state=other", url), "belongs to another login attempt"),
    (lambda url: re.sub(r"code=[^&]+", "code=forged", url),
     r"Spotify refused the login \(invalid_grant: Invalid authorization code\); run `tunecrate login` again"),
])
def test_bad_pasted_address_is_an_auth_error(fake, token_path, capsys, edit, message):
    with pytest.raises(AuthError, match=message):
        paste_login(fake, token_path, capsys, edit)
    assert not token_path.exists()


def test_accounts_service_failure_is_service_unavailable(fake, token_path, capsys):
    fake.fail_next(r"^/api/token$", 503)
    with pytest.raises(ServiceUnavailable, match=r"answered 503; run `tunecrate login` again later"):
        paste_login(fake, token_path, capsys)


def test_unreachable_accounts_service_is_service_unavailable(token_path, capsys):
    closed = f"http://127.0.0.1:{free_port()}"

    def prompt(message: str) -> str:  # the user agreed; then the accounts service is unreachable
        state = parse_qs(urlsplit(printed_address(capsys)).query)["state"][0]
        return f"{PASTE_REDIRECT}?{urlencode({'code': 'c', 'state': state})}"

    with pytest.raises(ServiceUnavailable, match=rf"cannot reach Spotify's accounts service at {closed[7:]} "
                                                 r"\(ConnectionError\)"):
        login(client_id="id", token_path=token_path, accounts_url=closed, redirect_uri=PASTE_REDIRECT,
              open_browser=False, prompt=prompt)


# -- Liked Songs with a stored login ------------------------------------------------------------


def seed(token_path, token: dict) -> None:
    token_path.parent.mkdir(parents=True, exist_ok=True)
    token_path.write_text(json.dumps(token))
    token_path.chmod(0o644)  # as an older tunecrate (or a user) might have left it


def test_expired_login_without_refresh_token_says_to_log_in(fake, token_path):
    token = fake.issue_user_token()
    del token["refresh_token"]
    seed(token_path, dict(token, expires_at=int(time.time()) - 10))
    source = source_for(fake, token_path)
    for read in (source.saved_tracks, source.saved_tracks_snapshot):
        with pytest.raises(AuthError, match=r"expired and cannot be renewed .*run `tunecrate login`"):
            read()
    assert fake.requests == []


def test_expired_login_is_refreshed_and_saved_privately(fake, token_path):
    fake.set_saved_tracks([song(1)])
    token = dict(fake.issue_user_token(), expires_at=int(time.time()) - 10)
    seed(token_path, token)

    assert source_for(fake, token_path).saved_tracks().track_count == 1

    assert len(fake.requests_to(r"^/api/token$", "POST")) == 1
    saved = json.loads(token_path.read_text())
    assert saved["access_token"] != token["access_token"] and saved["refresh_token"] == token["refresh_token"]
    assert saved["expires_at"] > time.time() + 3000
    assert mode(token_path) == 0o600


def test_liked_songs_snapshot_is_one_light_request_that_follows_changes(fake, token_path):
    seed(token_path, fake.issue_user_token())
    source = source_for(fake, token_path)
    snapshots = []
    for likes in ([], [song(1)], [song(2), song(1)], [song(2)], [song(2)]):
        fake.set_saved_tracks(likes)
        fake.clear_requests()
        snapshots.append(source.saved_tracks_snapshot())
        (request,) = fake.requests
        assert (request.path, request.query["limit"]) == ("/v1/me/tracks", "1")

    assert snapshots[0] == "0::"
    assert snapshots[2] == f"2:{fake_id('song2')}:2024-01-01T00:00:00Z"
    assert len(set(snapshots[:4])) == 4  # a like, a like, an unlike: each changes the snapshot
    assert snapshots[3] == snapshots[4]


def test_liked_songs_snapshot_without_login_says_to_log_in(fake, token_path):
    manager_source = source_for(fake, token_path)  # no token file
    plain_source = SpotifyApiSource(client_id=fake.client_id, client_secret=fake.client_secret,
                                 api_url=fake.api_url, accounts_url=fake.accounts_url)
    for source in (manager_source, plain_source):
        with pytest.raises(AuthError, match="run `tunecrate login`"):
            source.saved_tracks_snapshot()
    assert fake.requests == []
