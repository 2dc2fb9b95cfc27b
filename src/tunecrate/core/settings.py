"""Settings: defaults, then an optional config file, then the environment, then explicit overrides.

Precedence, lowest first:

1. the defaults below;
2. ``<data_root>/config.toml`` (or the file named by ``TUNECRATE_CONFIG``),
   whose keys are the field names of :class:`Settings`;
3. environment variables (the names in :data:`ENVIRONMENT`);
4. keyword overrides, which is how the CLI's ``--storage`` and ``--data`` arrive.

The settings that reach services default to the real services; tests and the
demo point them at loopback stand-ins (see DESIGN.md).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigurationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DEFAULT_PROVIDERS = ("ytmusic", "youtube")


@dataclass(frozen=True)
class Settings:
    """Everything configurable about a library.

    Paths are absolute after :meth:`load`. Durations are seconds.
    ``audio_quality`` is ``"v0"`` (LAME VBR V0, the default) or ``"320"``
    (CBR 320 kbit/s). ``providers`` lists the online providers searched in
    order (``"ytmusic"``, ``"youtube"``); an empty tuple searches none, so only
    pinned sources and local music are used.
    """

    storage_root: Path = Path("storage_data")
    data_root: Path = Path("data")
    spotify_client_id: str | None = None
    spotify_client_secret: str | None = None
    spotify_redirect_uri: str = "http://127.0.0.1:8888/callback"
    spotify_api_url: str = "https://api.spotify.com/v1/"
    spotify_accounts_url: str = "https://accounts.spotify.com"
    spotify_max_retry_after: float = 60.0
    ffmpeg: str | None = None
    workers: int = field(default_factory=lambda: os.cpu_count() or 2)
    audio_quality: str = "v0"
    providers: tuple[str, ...] = DEFAULT_PROVIDERS
    download_retries: int = 3
    accept_threshold: float | None = None
    review_threshold: float | None = None
    music_dirs: tuple[Path, ...] = ()

    @property
    def database_path(self) -> Path:
        return self.data_root / "tunecrate.sqlite3"

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> "Settings":
        """Build settings from defaults, config file, ``environ`` and ``overrides``.

        ``overrides`` whose value is ``None`` are ignored. Raises
        :class:`ConfigurationError` for unparsable values or config files.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}

        data_root = overrides.get("data_root") or env.get("TUNECRATE_DATA_ROOT") or "data"
        config_path = Path(env.get("TUNECRATE_CONFIG") or Path(data_root) / "config.toml")
        if config_path.is_file():
            try:
                with open(config_path, "rb") as fh:
                    file_values = tomllib.load(fh)
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigurationError(f"cannot read config file {config_path}: {exc}") from exc
            known = {f.name for f in fields(cls)}
            unknown = sorted(set(file_values) - known)
            if unknown:
                raise ConfigurationError(
                    f"unknown setting(s) in {config_path}: {', '.join(unknown)}"
                )
            values.update(file_values)

        for name, var in ENVIRONMENT.items():
            raw = env.get(var)
            if raw not in (None, ""):
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls()._with(values)

    def _with(self, values: Mapping[str, Any]) -> "Settings":
        converted: dict[str, Any] = {}
        for f in fields(self):
            if f.name not in values:
                continue
            raw = values[f.name]
            try:
                converted[f.name] = _CONVERTERS.get(f.name, _identity)(raw)
            except (TypeError, ValueError) as exc:
                raise ConfigurationError(f"bad value for {f.name}: {raw!r} ({exc})") from exc
        result = replace(self, **converted)
        if result.audio_quality not in ("v0", "320"):
            raise ConfigurationError(
                f"audio_quality must be 'v0' or '320', not {result.audio_quality!r}"
            )
        if result.workers < 1:
            raise ConfigurationError("workers must be at least 1")
        return replace(
            result,
            storage_root=result.storage_root.expanduser().absolute(),
            data_root=result.data_root.expanduser().absolute(),
        )


def _identity(value: Any) -> Any:
    return value


def _str_tuple(value: Any) -> tuple[str, ...]:
    """``"a, b"`` or a list → ``("a", "b")``; ``"none"`` → ``()``."""
    if isinstance(value, str):
        if value.strip().lower() == "none":
            return ()
        return tuple(p.strip() for p in value.split(",") if p.strip())
    return tuple(str(v) for v in value)


def _path_tuple(value: Any) -> tuple[Path, ...]:
    if isinstance(value, str):
        parts = [p for p in value.split(os.pathsep) if p]
    else:
        parts = [str(v) for v in value]
    return tuple(Path(p).expanduser().absolute() for p in parts)


_CONVERTERS = {
    "storage_root": Path,
    "data_root": Path,
    "spotify_max_retry_after": float,
    "workers": int,
    "download_retries": int,
    "audio_quality": lambda v: str(v).lower(),
    "providers": _str_tuple,
    "accept_threshold": float,
    "review_threshold": float,
    "music_dirs": _path_tuple,
}

#: Settings field → environment variable.
ENVIRONMENT = {
    "storage_root": "TUNECRATE_STORAGE_ROOT",
    "data_root": "TUNECRATE_DATA_ROOT",
    "spotify_client_id": "SPOTIPY_CLIENT_ID",
    "spotify_client_secret": "SPOTIPY_CLIENT_SECRET",
    "spotify_redirect_uri": "SPOTIPY_REDIRECT_URI",
    "spotify_api_url": "TUNECRATE_SPOTIFY_API_URL",
    "spotify_accounts_url": "TUNECRATE_SPOTIFY_ACCOUNTS_URL",
    "spotify_max_retry_after": "TUNECRATE_SPOTIFY_MAX_RETRY_AFTER",
    "ffmpeg": "TUNECRATE_FFMPEG",
    "workers": "TUNECRATE_WORKERS",
    "audio_quality": "TUNECRATE_AUDIO_QUALITY",
    "providers": "TUNECRATE_PROVIDERS",
    "download_retries": "TUNECRATE_DOWNLOAD_RETRIES",
    "accept_threshold": "TUNECRATE_ACCEPT_THRESHOLD",
    "review_threshold": "TUNECRATE_REVIEW_THRESHOLD",
    "music_dirs": "TUNECRATE_MUSIC_DIRS",
}
