"""The server's settings, and the checks ``tunecrate serve`` makes before it listens.

========================================  ========================================================
``TUNECRATE_SERVER_TOKEN``                required on any bind but loopback; then every request
                                          must carry it (``Authorization: Bearer …`` or the
                                          page's cookie)
``TUNECRATE_SERVER_HOSTS``                more names the ``Host`` header may carry (comma-separated:
                                          ``music.home.arpa,192.168.1.20``)
``TUNECRATE_SERVER_CORS_ORIGINS``         origins allowed to call the API from other pages
                                          (none: no CORS headers at all)
========================================  ========================================================
"""

from __future__ import annotations

import ipaddress
import re
import socket

from tunecrate.core.errors import ConfigurationError
from tunecrate.core.settings import SettingsModel, StrList, setting

__all__ = ["MIN_TOKEN_CHARS", "ServerSettings", "allowed_hosts", "check_bind", "is_loopback", "parse_interval"]

#: The shortest token accepted.
MIN_TOKEN_CHARS = 16
_WILDCARD = ("0.0.0.0", "::", "")
_INTERVAL_RE = re.compile(r"(\d+)\s*([smhd])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ServerSettings(SettingsModel):
    """Settings of ``tunecrate serve`` (see the module docstring)."""

    server_token: str | None = setting(None, env="TUNECRATE_SERVER_TOKEN",
                                       help="the token every request needs; required on a non-loopback bind")
    server_hosts: StrList = setting((), env="TUNECRATE_SERVER_HOSTS",
                                    help="more host names the Host header may carry (comma-separated)")
    server_cors_origins: StrList = setting((), env="TUNECRATE_SERVER_CORS_ORIGINS",
                                           help="origins allowed to call the API from other pages (default: none)")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen on anything but loopback without a good token. Raises :class:`ConfigurationError`."""
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise ConfigurationError(f"TUNECRATE_SERVER_TOKEN is too short ({len(token)} characters, at least "
                                 f"{MIN_TOKEN_CHARS}); make one with: python3 -c 'import secrets; "
                                 "print(secrets.token_urlsafe())'")
    if token is None and not is_loopback(host):
        raise ConfigurationError(f"refusing to listen on {host or '*'} without a token: set TUNECRATE_SERVER_TOKEN "
                                 "(every request must then carry it), or bind 127.0.0.1")


def allowed_hosts(host: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The names the ``Host`` header may carry: the bound address, loopback names on a loopback or
    wildcard bind, this machine's name and addresses on a wildcard bind, and ``extra``."""
    names = {host.lower()}
    if is_loopback(host) or host in _WILDCARD:
        names |= {"localhost", "127.0.0.1", "::1"}
    if host in _WILDCARD:
        names.discard(host)
        hostname = socket.gethostname()
        names |= {hostname.lower(), socket.getfqdn().lower(), f"{hostname.lower()}.local"}
        try:
            names |= {info[4][0].lower() for info in socket.getaddrinfo(hostname, None)}
        except OSError:
            pass
    names |= {name.strip().lower() for name in extra if name.strip()}
    # Starlette compares IPv6 literals with their brackets.
    names |= {f"[{name}]" for name in names if ":" in name and not name.startswith("[")}
    return sorted(names)


def parse_interval(text: str) -> int:
    """Seconds in an interval such as ``6h``, ``30m``, ``1d``, ``1h30m``; at least a minute.

    Raises :class:`ConfigurationError`.
    """
    cleaned = text.strip().lower()
    parts = _INTERVAL_RE.findall(cleaned)
    if not parts or _INTERVAL_RE.sub("", cleaned).strip():
        raise ConfigurationError(f"not an interval: {text!r} (write e.g. 6h, 30m, 1d, 1h30m)")
    seconds = sum(int(n) * _UNIT_S[unit] for n, unit in parts)
    if seconds < 60:
        raise ConfigurationError(f"interval {text!r} is shorter than a minute")
    return seconds
