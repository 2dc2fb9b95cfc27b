"""Who gets in: ids and names never become paths, the Host check, the token, cross-site requests, the bind."""

from __future__ import annotations

import http.client
import socket
import sys
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tunecrate.core.errors import ConfigurationError, LibraryBusy
from tunecrate.server import app as server_app
from tunecrate.server.app import ServerConfig
from tunecrate.server.security import COOKIE
from tunecrate.server.serve import listen, serve
from tunecrate.server.settings import allowed_hosts, check_bind, parse_interval

TOKEN = "s3cret-token-for-tests-0123456789"

SITE_PACKAGES = Path(httpx.__file__).resolve().parents[1]
#: Enough ``..`` to climb from site-packages (or the package's asset folder) to ``/``.
DEPTH = len(SITE_PACKAGES.parts) + 8
SECRETS = [Path("/etc/hostname"), Path("/etc/passwd"), Path(server_app.__file__)]
TRAVERSALS = [
    "..%2F..%2Fetc%2Fhostname",
    "%2e%2e",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%2F" * DEPTH + "etc%2Fhostname",
    "%2e%2e%2f" * DEPTH + "etc%2fpasswd",
    "%2Fetc%2Fpasswd",
    "%2F%2Fetc%2Fhostname",
    "..%5C..%5C..%5Cwindows%5Cwin.ini",
    "%252e%252e%252f%252e%252e%252fetc%252fpasswd",
    "app.py",
    "..%2Fapp.py",
    "..%2F__init__.py",
]
ROUTES = [
    "/track/{}", "/track/{}/stream", "/track/{}/download", "/track/{}/cover",
    "/playlist/{}", "/playlist/{}/tracks", "/playlist/{}/download.zip", "/playlist/{}.m3u8", "/playlist/{}/cover",
    "/jobs/{}", "/static/{}", "/docs-assets/{}", "/{}",
]


def _secret_bytes() -> list[bytes]:
    found = []
    for path in SECRETS:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if data.strip():
            found.append(data.strip()[:40])
    return found


def test_traversal_in_every_path_parameter_is_refused(api, loaded):
    secrets = _secret_bytes()
    assert secrets, "nothing to compare with"
    for route in ROUTES:
        for payload in TRAVERSALS:
            path = route.format(payload)
            response = api.get(path)
            assert response.status_code in (400, 404, 422), (path, response.status_code)
            for secret in secrets:
                assert secret not in response.content, path
    for payload in TRAVERSALS:
        review = api.post("/review/" + payload, json={"action": "skip"})
        assert review.status_code in (400, 404, 405), (payload, review.status_code)
    assert api.get(f"/track/{loaded['result']['plan']['added'][0]['track_id']}/stream").status_code == 200


def test_synciflow_catch_all_traversal_over_a_raw_request_line(pinned, make_live):
    """synciflow's catch-all static route served ``GET /..%2F..%2Fetc%2Fhostname``; uvicorn here, not httpx,
    so that the request line arrives exactly as an attacker sends it."""
    server = make_live(pinned)
    hostname = Path("/etc/hostname").read_bytes().strip() if Path("/etc/hostname").is_file() else b"root:x:"
    for line in ("/..%2F..%2Fetc%2Fhostname", "/../../etc/hostname", "/static/..%2F..%2F..%2Fetc%2Fpasswd",
                 "/static/" + "..%2F" * DEPTH + "etc%2Fhostname", "/static/%2e%2e/%2e%2e/app.py",
                 "/track/..%2F..%2F..%2Fetc%2Fpasswd/stream", "//etc/passwd"):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.putrequest("GET", line, skip_host=True)
        conn.putheader("Host", f"127.0.0.1:{server.port}")
        conn.endheaders()
        response = conn.getresponse()
        body = response.read()
        conn.close()
        assert response.status in (400, 404), (line, response.status)
        assert hostname not in body and b"root:" not in body and b"def create_app" not in body, line


def test_static_files_only_from_the_asset_folder(tmp_path, monkeypatch, pinned, make_api):
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "index.html").write_text("<!doctype html><p>page</p>")
    (assets / "app.js").write_text("console.log(1)")
    (tmp_path / "outside.txt").write_text("SECRET OUTSIDE")
    (assets / "link.js").symlink_to(tmp_path / "outside.txt")
    (assets / "folder").mkdir()
    (assets / "folder" / "deep.js").write_text("SECRET DEEP")
    monkeypatch.setattr(server_app, "_ASSETS", assets)
    api = make_api(pinned)
    assert api.get("/static/app.js").text == "console.log(1)"
    for name in ("link.js", "folder", "folder%2Fdeep.js", "..%2Foutside.txt", "%2e%2e%2foutside.txt",
                 str(tmp_path / "outside.txt").replace("/", "%2F"), "index.html"):
        response = api.get(f"/static/{name}")
        assert response.status_code == 404, name
        assert b"SECRET" not in response.content


def test_a_foreign_host_is_refused(pinned, make_api, make_live):
    api = make_api(pinned)
    assert api.get("/tracks", headers={"Host": "evil.example"}).status_code == 400
    assert api.get("/tracks", headers={"Host": "evil.example:8080"}).status_code == 400
    assert api.get("/", headers={"Host": "127.0.0.1.evil.example"}).status_code == 400
    for host in ("127.0.0.1:8080", "localhost:8080", "[::1]:8080"):
        assert api.get("/tracks", headers={"Host": host}).status_code == 200, host
    named = make_api(pinned, hosts=("music.home.arpa",))
    assert named.get("/tracks", headers={"Host": "music.home.arpa"}).status_code == 200
    server = make_live(pinned)
    assert _handshake(server.port, "rebound.example") == 400
    assert _handshake(server.port, f"127.0.0.1:{server.port}") == 101


def _handshake(port: int, host: str) -> int:
    """The status of a WebSocket opening handshake sent with ``Host: host`` (exactly one Host header)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("GET", "/ws/notifications", skip_host=True)
    for name, value in (("Host", host), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13")):
        conn.putheader(name, value)
    conn.endheaders()
    status = conn.getresponse().status
    conn.close()
    return status


def test_allowed_hosts_follow_the_bind():
    assert allowed_hosts("127.0.0.1") == ["127.0.0.1", "::1", "[::1]", "localhost"]
    assert "192.168.1.20" in allowed_hosts("192.168.1.20") and "localhost" not in allowed_hosts("192.168.1.20")
    wildcard = allowed_hosts("0.0.0.0", ("Music.Home.Arpa",))
    assert socket.gethostname().lower() in wildcard and "music.home.arpa" in wildcard and "0.0.0.0" not in wildcard


def test_no_cors_unless_configured(pinned, make_api):
    api = make_api(pinned)
    response = api.get("/tracks", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in response.headers
    preflight = api.request("OPTIONS", "/track/load", headers={
        "Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers
    configured = make_api(pinned, cors_origins=("https://player.example",))
    allowed = configured.get("/tracks", headers={"Origin": "https://player.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://player.example"
    assert "access-control-allow-credentials" not in allowed.headers
    other = configured.get("/tracks", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in other.headers


def test_cross_site_writes_and_websockets_are_refused(pinned, demo, make_api, make_live):
    api = make_api(pinned)
    refused = api.post("/playlist/load", json={"url": demo.playlist_url}, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and refused.json() == {"detail": "cross-site request refused"}
    assert api.delete("/jobs/1", headers={"Origin": "null"}).status_code == 403
    same = api.post("/playlist/load", json={"url": demo.playlist_url}, headers={"Origin": "http://127.0.0.1:8080"})
    assert same.status_code == 202
    assert api.get("/tracks", headers={"Origin": "https://evil.example"}).status_code == 200  # reads stay readable
    server = make_live(pinned)
    with pytest.raises(InvalidStatus) as closed:
        with connect(server.ws_url("/ws/notifications"), origin="https://evil.example"):
            pass
    assert closed.value.response.status_code == 403
    with connect(server.ws_url("/ws/notifications"), origin=server.base) as ws:
        assert ws.protocol.state.name == "OPEN"


def _concrete(path: str, demo) -> str:
    return (path.replace("{track_id}", demo.track_ids[0]).replace("{playlist_id}", demo.playlist_id)
            .replace("{job_id}", "1").replace("{name}", "app.js"))


def test_with_a_token_every_route_refuses_a_request_without_it(pinned, demo, make_api, make_live):
    from starlette.routing import Route, WebSocketRoute

    api = make_api(pinned, token=TOKEN)
    routes = [r for r in api.app.routes if isinstance(r, Route)]
    checked = set()
    for route in routes:
        for method in sorted(route.methods or {"GET"}):
            path = _concrete(route.path, demo)
            response = api.request(method, path, json={"url": demo.playlist_url, "action": "skip"})
            if route.path == "/login":  # the sign-in form loads without the token; POST checks the token itself
                assert method == "POST" or (response.status_code == 200 and 'name="token"' in response.text)
                continue
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.headers.get("www-authenticate") == "Bearer"
            checked.add(route.path)
    assert {"/", "/static/{name}", "/docs", "/openapi.json", "/track/{track_id}/stream",
            "/track/{track_id}/download", "/playlist/{playlist_id}/download.zip", "/tracks", "/jobs"} <= checked
    assert api.get("/tracks", headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 401
    assert api.get("/", headers={"Accept": "text/html"}).text.count('name="token"') == 1  # the sign-in form
    assert api.get("/tracks", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert api.get("/jobs").status_code == 401
    assert api.get("/docs-assets/swagger-ui-bundle.js").status_code == 401  # the docs' assets, a mount
    assert [r for r in api.app.routes if isinstance(r, WebSocketRoute)]
    server = make_live(pinned, token=TOKEN)
    with pytest.raises(InvalidStatus) as refused:
        with connect(server.ws_url("/ws/notifications")):
            pass
    assert refused.value.response.status_code == 403
    with connect(server.ws_url("/ws/notifications"), additional_headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
        assert ws.protocol.state.name == "OPEN"
    stream = httpx.get(f"{server.base}/track/{demo.track_ids[0]}/stream")
    assert stream.status_code == 401


def test_the_page_signs_in_with_a_cookie_that_audio_and_websocket_carry(pinned, demo, make_api, make_live, loaded):
    api = make_api(pinned, token=TOKEN)
    wrong = api.post("/login", content=b"token=nope", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert wrong.status_code == 401 and "not the server" in wrong.text and "set-cookie" not in wrong.headers
    right = api.post("/login", content=f"token={TOKEN}".encode(),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert right.status_code == 303 and right.headers["location"] == "/"
    cookie = right.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert TOKEN not in cookie  # a digest of it
    value = cookie.split(";")[0].split("=", 1)[1]
    jar = {"Cookie": f"{COOKIE}={value}"}
    assert api.get(f"/track/{demo.track_ids[0]}/stream", headers={**jar, "Range": "bytes=0-9"}).status_code == 206
    assert api.get("/", headers=jar).status_code == 200
    assert api.get("/static/app.js", headers=jar).status_code == 200
    assert api.get(f"/track/{demo.track_ids[0]}/stream", headers={"Cookie": f"{COOKIE}=forged"}).status_code == 401
    server = make_live(pinned, token=TOKEN)
    with connect(server.ws_url("/ws/notifications"), additional_headers=jar) as ws:
        assert ws.protocol.state.name == "OPEN"
    logout = api.post("/logout", headers=jar)
    assert logout.status_code == 204 and f'{COOKIE}=""' in logout.headers["set-cookie"]


def test_binding_beyond_loopback_needs_a_token():
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        check_bind(host, None)
    for host in ("0.0.0.0", "::", "192.168.1.20", "music.home.arpa"):
        with pytest.raises(ConfigurationError, match="refusing to listen on .* without a token"):
            check_bind(host, None)
        check_bind(host, TOKEN)
    with pytest.raises(ConfigurationError, match="too short"):
        check_bind("0.0.0.0", "short")


def test_serve_refuses_in_one_line(cli, roots, pinned):
    result = cli("serve", "--host", "0.0.0.0")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: refusing to listen on 0.0.0.0 without a token")
    assert result.stderr.count("\n") == 1
    assert cli("serve", "--sync-every", "often").stderr.strip() == \
        "error: not an interval: 'often' (write e.g. 6h, 30m, 1d, 1h30m)"
    assert cli("serve", "--sync-every", "10s").exit_code == 1
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        taken = cli("serve", "--port", str(busy.getsockname()[1]))
    finally:
        busy.close()
    assert taken.exit_code == 1 and taken.stderr.startswith("error: cannot listen on 127.0.0.1:")
    assert taken.stderr.count("\n") == 1


def test_one_server_per_library(pinned, settings):
    from filelock import FileLock

    with FileLock(str(settings.data_root / "tunecrate-server.lock")):
        with pytest.raises(LibraryBusy, match="another tunecrate server is serving the library"):
            serve(pinned, ServerConfig(port=0), out=sys.stderr)


def test_listen_reports_what_went_wrong():
    with pytest.raises(ConfigurationError, match="cannot listen on no.such.host.invalid:80"):
        listen("no.such.host.invalid", 80)
    sock = listen("127.0.0.1", 0)
    try:
        assert sock.getsockname()[1] > 0
    finally:
        sock.close()


def test_intervals():
    assert [parse_interval(t) for t in ("6h", "30m", "1d", "1h30m", "90s", " 2H ")] == [
        21600, 1800, 86400, 5400, 90, 7200]
    for text in ("", "6", "h", "6x", "-1h", "30s"):
        with pytest.raises(ConfigurationError):
            parse_interval(text)
