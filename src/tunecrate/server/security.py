"""Who may talk to the server: the token, and requests made by other sites.

:class:`Gate` is a plain ASGI middleware (nothing on the streaming path but a
header lookup). With a token configured, every request (API, stream,
download, ZIP, static files, the page, the WebSocket) must carry it, as
``Authorization: Bearer <token>`` (scripts) or as the cookie that
``POST /login`` sets once the user has typed the token into the login form
(an ``<audio src>`` cannot send a header). The cookie holds a digest of the
token, is ``HttpOnly`` and ``SameSite=Strict``. A request without it gets 401:
JSON for the API, the login form for a page, a refused handshake (403) for
the WebSocket.

Whatever the token, a request that changes something (any method but
GET/HEAD/OPTIONS) or opens the WebSocket with an ``Origin`` header naming
another site than the one it is addressed to (and not in
``TUNECRATE_SERVER_CORS_ORIGINS``) is refused with 403: a page on the web
cannot drive a server on localhost through the user's browser. The ``Host``
check against DNS rebinding is Starlette's ``TrustedHostMiddleware``.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
from urllib.parse import parse_qs, urlsplit

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["COOKIE", "Gate", "login_form", "login_response", "session_value"]

#: The name of the page's session cookie.
COOKIE = "tunecrate_session"
#: Seconds the cookie lasts.
COOKIE_MAX_AGE = 30 * 86400
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_OPEN_PATHS = frozenset({"/login"})


def session_value(token: str) -> str:
    """What the cookie holds for ``token``: a digest, so that the token itself never sits in a cookie jar."""
    return hashlib.sha256(f"tunecrate-session:{token}".encode()).hexdigest()


def _same_origin(origin: str, host: str | None, allowed_origins: frozenset[str]) -> bool:
    if origin.rstrip("/") in allowed_origins:
        return True
    parts = urlsplit(origin)
    return bool(host) and parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


class Gate:
    """The token and cross-site checks of the module docstring, for ``http`` and ``websocket`` scopes."""

    def __init__(self, app: ASGIApp, *, token: str | None, cors_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        self.token = token
        self._session = session_value(token) if token else None
        self._bearer = f"Bearer {token}".encode() if token else None
        self._origins = frozenset(o.rstrip("/") for o in cors_origins)

    def authorized(self, headers: Headers) -> bool:
        """Whether the request carries the token (always, when there is none)."""
        if self.token is None:
            return True
        bearer = headers.get("authorization")
        if bearer is not None and hmac.compare_digest(bearer.encode(), self._bearer):
            return True
        cookie = _cookie(headers.get("cookie"), COOKIE)
        return cookie is not None and hmac.compare_digest(cookie.encode(), self._session.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        changes = kind == "websocket" or scope["method"] not in _SAFE_METHODS
        if changes and origin is not None and not _same_origin(origin, headers.get("host"), self._origins):
            await self._refuse(scope, receive, send, 403, "cross-site request refused")
            return
        if self.token is None or scope["path"] in _OPEN_PATHS or self.authorized(headers):
            await self.app(scope, receive, send)
            return
        await self._refuse(scope, receive, send, 401, "this server needs its token: send "
                           "'Authorization: Bearer <TUNECRATE_SERVER_TOKEN>', or sign in at /login")

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": detail[:120]})
            return
        headers = Headers(scope=scope)
        if status == 401 and scope["method"] == "GET" and "text/html" in headers.get("accept", ""):
            response: Response = login_form(status=401)
        else:
            response = Response(json.dumps({"detail": detail}), status_code=status, media_type="application/json",
                                headers={"WWW-Authenticate": "Bearer"} if status == 401 else None)
        await response(scope, receive, send)


def _cookie(header: str | None, name: str) -> str | None:
    if not header:
        return None
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


_LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>tunecrate: sign in</title>
<style>
body{{font:16px/1.5 system-ui,sans-serif;background:#111418;color:#e8eaed;display:grid;place-items:center;
min-height:100vh;margin:0}}
form{{background:#1b2027;padding:2rem;border-radius:12px;width:min(22rem,90vw)}}
h1{{margin:0 0 1rem;font-size:1.3rem}} label{{display:block;margin-bottom:.4rem}}
input{{width:100%;box-sizing:border-box;padding:.6rem;border-radius:6px;border:1px solid #3a424d;
background:#0d1014;color:inherit;font:inherit}}
button{{margin-top:1rem;width:100%;padding:.6rem;border:0;border-radius:6px;background:#1db954;color:#05140a;
font:inherit;font-weight:600;cursor:pointer}}
input:focus,button:focus{{outline:3px solid #8ab4f8;outline-offset:2px}}
p.error{{color:#f28b82}}
</style></head>
<body><form method="post" action="/login">
<h1>tunecrate</h1>
{error}<label for="token">Server token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form></body></html>
"""


def login_form(error: str | None = None, status: int = 200) -> HTMLResponse:
    """The sign-in form (self-contained: it must load without the token)."""
    shown = f'<p class="error" role="alert">{html.escape(error)}</p>\n' if error else ""
    return HTMLResponse(_LOGIN_PAGE.format(error=shown), status_code=status,
                        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                                            "form-action 'self'; frame-ancestors 'none'",
                                 "Cache-Control": "no-store"})


async def login_response(request: Request, token: str | None) -> Response:
    """``POST /login``: the right token sets the session cookie and goes to the page; a wrong one
    shows the form again (401)."""
    if token is None:
        return RedirectResponse("/", status_code=303)
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    given = (form.get("token") or [""])[0]
    if not hmac.compare_digest(given.encode(), token.encode()):
        return login_form("That is not the server's token.", status=401)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, session_value(token), max_age=COOKIE_MAX_AGE, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return response
