"""Settings: defaults, then a config file, then the environment, then explicit overrides.

Precedence, lowest first:

1. the defaults of each field;
2. ``<data_root>/config.toml`` (or the file named by ``TUNECRATE_CONFIG``),
   whose keys are field names (``workers = 4``, ``spotify_client_id = "…"``);
3. environment variables (each field names its own, see :func:`setting`);
4. keyword overrides, which is how the CLI's ``--storage`` and ``--data`` arrive.

The library-wide settings are :class:`Settings`. Every module that reaches a
service declares its own model, a subclass of :class:`SettingsModel`, next to
its code (for example ``SpotifyApiSettings`` in
:mod:`tunecrate.sources.spotify_api`), and reads it with
:meth:`Settings.section`; nothing here changes when a module is added. Field
names form one flat namespace across all models, so that ``config.toml`` and
overrides need no sections. Values are validated by pydantic (through
pydantic-settings), once, when a model is first built; a bad value is a
:class:`ConfigurationError` whose one-line message names the field, the
environment variable and the value.

The settings that reach services default to the real services; the tests and
the demo point them at loopback stand-ins (:mod:`tunecrate.demo`).
"""

from __future__ import annotations

import os
import sys
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Mapping, TypeVar

from pydantic import BeforeValidator, Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .errors import ConfigurationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["DEFAULT_PROVIDERS", "PathList", "Settings", "SettingsModel", "StrList", "setting"]

DEFAULT_PROVIDERS = ("ytmusic", "youtube")

M = TypeVar("M", bound="SettingsModel")


def setting(default: Any = None, *, env: str | tuple[str, ...] | None, help: str, **kwargs: Any) -> Any:
    """A settings field: its ``default``, the environment variable(s) ``env`` it is read from
    (first one set wins), and a one-line ``help`` that ``tunecrate doctor`` and the docs show."""
    names = (env,) if isinstance(env, str) else tuple(env or ())
    return Field(default, description=help, json_schema_extra={"env": list(names)}, **kwargs)


def _str_tuple(value: Any) -> Any:
    """``"a, b"`` → ``("a", "b")``; ``"none"`` → ``()``; lists pass through."""
    if isinstance(value, str):
        if value.strip().lower() == "none":
            return ()
        return tuple(p.strip() for p in value.split(",") if p.strip())
    return value


def _path_tuple(value: Any) -> Any:
    """``"a:b"`` (``os.pathsep``) or a list → absolute paths, ``~`` expanded."""
    if isinstance(value, (str, os.PathLike)):
        value = [p for p in os.fspath(value).split(os.pathsep) if p]
    if isinstance(value, (list, tuple)):
        return tuple(Path(os.fspath(p)).expanduser().absolute() for p in value)
    return value


#: A list of words: ``"a,b"`` in the environment, a list in ``config.toml``; ``none`` is empty.
StrList = Annotated[tuple[str, ...], BeforeValidator(_str_tuple)]
#: A list of folders: ``os.pathsep``-separated in the environment, a list in ``config.toml``.
PathList = Annotated[tuple[Path, ...], BeforeValidator(_path_tuple)]


@dataclass(frozen=True)
class _Layers:
    """The raw values every model is built from (see the module docstring)."""

    file_values: Mapping[str, Any] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)
    config_path: Path | None = None


_LAYERS: ContextVar[_Layers] = ContextVar("tunecrate_settings_layers")


def env_names(info: FieldInfo) -> list[str]:
    """The environment variables a field is read from."""
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    return list(extra.get("env") or ())


class _MappingSource(PydanticBaseSettingsSource):
    """Values of one layer (config file or overrides), keyed by field name."""

    def __init__(self, settings_cls: type[BaseSettings], values: Mapping[str, Any]) -> None:
        super().__init__(settings_cls)
        self._values = {k: v for k, v in values.items() if k in settings_cls.model_fields and v is not None}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


class _EnvironmentSource(PydanticBaseSettingsSource):
    """Values from environment variables, each field naming its own (empty values are unset)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self._environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        for name in env_names(field):
            raw = self._environ.get(name)
            if raw not in (None, ""):
                return raw, name, False
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found = {}
        for name, info in self.settings_cls.model_fields.items():
            value, _, _ = self.get_field_value(info, name)
            if value is not None:
                found[name] = value
        return found


class SettingsModel(BaseSettings):
    """Base of every settings model: the library's and each module's own.

    Build one with :meth:`Settings.section` (which reuses the layers the
    library's settings were loaded from), not directly.
    """

    model_config = SettingsConfigDict(frozen=True, extra="ignore", validate_default=True)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        layers = _LAYERS.get(_Layers(environ=os.environ))
        return (init_settings, _MappingSource(settings_cls, layers.overrides),
                _EnvironmentSource(settings_cls, layers.environ),
                _MappingSource(settings_cls, layers.file_values))

    @classmethod
    def _build(cls: type[M], layers: _Layers) -> M:
        token = _LAYERS.set(layers)
        try:
            return cls()
        except ValidationError as exc:
            raise ConfigurationError(_one_line(cls, exc, layers)) from None
        finally:
            _LAYERS.reset(token)


def _one_line(model: type[SettingsModel], exc: ValidationError, layers: _Layers) -> str:
    """``bad value for workers (TUNECRATE_WORKERS): 'many': Input should be a valid integer``."""
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error.get("loc") else ""
    info = model.model_fields.get(name)
    where = ""
    if info is not None:
        names = env_names(info)
        source = next((n for n in names if layers.environ.get(n)), None)
        if name in layers.overrides:
            where = ""
        elif source:
            where = f" ({source})"
        elif name in layers.file_values and layers.config_path:
            where = f" (in {layers.config_path})"
        elif names:
            where = f" ({names[0]})"
    message = error.get("msg", "invalid").removeprefix("Value error, ")
    value = error.get("input")
    shown = f": {value!r}" if name and not isinstance(value, dict) else ""
    if not name:
        return f"bad settings: {message}"
    return f"bad value for {name}{where}{shown}: {message}"


class Settings(SettingsModel):
    """The library-wide settings.

    Paths are absolute after :meth:`load`. ``audio_quality`` is ``"v0"``
    (LAME VBR V0, the default) or ``"320"`` (CBR 320 kbit/s). ``providers``
    lists the online recording providers searched in order (``"ytmusic"``,
    ``"youtube"``); an empty tuple searches none, so only pinned sources and
    the user's own music are used. ``proxy`` (a URL) and ``ca_bundle`` (a PEM
    file of extra certificate authorities) reach every outgoing client.
    """

    storage_root: Path = setting(Path("storage_data"), env="TUNECRATE_STORAGE_ROOT",
                                 help="audio (tracks/), tmp/ and playlists/*.json")
    data_root: Path = setting(Path("data"), env="TUNECRATE_DATA_ROOT", help="the database, lock, config and tokens")
    ffmpeg: str | None = setting(None, env="TUNECRATE_FFMPEG",
                                 help="the ffmpeg binary (default: ffmpeg on PATH, else imageio-ffmpeg's)")
    workers: int = setting(os.cpu_count() or 2, env="TUNECRATE_WORKERS", help="tracks processed at once")
    audio_quality: str = setting("v0", env="TUNECRATE_AUDIO_QUALITY", help="v0 (LAME VBR V0) or 320 (CBR 320k)")
    providers: StrList = setting(DEFAULT_PROVIDERS, env="TUNECRATE_PROVIDERS",
                                 help="online recording providers, in search order; none for pinned sources only")
    download_retries: int = setting(3, env="TUNECRATE_DOWNLOAD_RETRIES",
                                    help="attempts on transient download errors")
    accept_threshold: float = setting(0.87, env="TUNECRATE_ACCEPT_THRESHOLD",
                                      help="matcher score at which a candidate is taken without asking")
    review_threshold: float = setting(0.72, env="TUNECRATE_REVIEW_THRESHOLD",
                                      help="matcher score at which a candidate is held for review")
    proxy: str | None = setting(None, env=("TUNECRATE_PROXY", "HTTPS_PROXY", "https_proxy"),
                                help="proxy URL for every outgoing client")
    ca_bundle: Path | None = setting(None, env="TUNECRATE_CA_BUNDLE",
                                     help="PEM file of certificate authorities to trust besides the system's")

    _layers: _Layers = PrivateAttr(default_factory=_Layers)
    _sections: dict = PrivateAttr(default_factory=dict)

    @field_validator("workers", "download_retries")
    @classmethod
    def _at_least_one(cls, value: int, info) -> int:
        if value < 1:
            raise ValueError(f"{info.field_name} must be at least 1")
        return value

    @field_validator("audio_quality", mode="before")
    @classmethod
    def _quality(cls, value: Any) -> str:
        quality = str(value).lower()
        if quality not in ("v0", "320"):
            raise ValueError(f"audio_quality must be 'v0' or '320', not {value!r}")
        return quality

    @model_validator(mode="after")
    def _check(self) -> "Settings":
        if not 0.0 <= self.review_threshold <= self.accept_threshold <= 1.0:
            raise ValueError(f"thresholds must satisfy 0 <= review <= accept <= 1, got review="
                             f"{self.review_threshold} accept={self.accept_threshold}")
        object.__setattr__(self, "storage_root", self.storage_root.expanduser().absolute())
        object.__setattr__(self, "data_root", self.data_root.expanduser().absolute())
        return self

    @property
    def database_path(self) -> Path:
        return self.data_root / "tunecrate.sqlite3"

    @property
    def config_path(self) -> Path | None:
        """The config file these settings read, when there was one."""
        return self._layers.config_path

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Build settings from defaults, config file, ``environ`` (default ``os.environ``) and ``overrides``.

        ``overrides`` are field names of any model (this one or a module's);
        those whose value is ``None`` are ignored. Raises
        :class:`ConfigurationError` for unparsable values or config files.
        """
        env = os.environ if environ is None else environ
        overrides = {k: v for k, v in overrides.items() if v is not None}
        data_root = overrides.get("data_root") or env.get("TUNECRATE_DATA_ROOT") or "data"
        config_path = Path(env.get("TUNECRATE_CONFIG") or Path(data_root) / "config.toml")
        file_values: dict[str, Any] = {}
        if config_path.is_file():
            try:
                with open(config_path, "rb") as fh:
                    file_values = tomllib.load(fh)
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigurationError(f"cannot read config file {config_path}: {exc}") from exc
        else:
            config_path = None
        layers = _Layers(file_values, dict(env), overrides, config_path)
        settings = cls._build(layers)
        settings._layers = layers
        return settings

    def section(self, model: type[M]) -> M:
        """This library's values of a module's settings ``model`` (built and validated once, then cached).

        Raises :class:`ConfigurationError` for a bad value.
        """
        sections = self._sections
        if model not in sections:
            sections[model] = model._build(self._layers)
        return sections[model]

    def unknown_keys(self) -> list[str]:
        """The keys of the config file and overrides that are not fields of this model (a module's, or typos)."""
        known = type(self).model_fields
        return sorted({*self._layers.file_values, *self._layers.overrides} - set(known))

    def check_keys(self, models: list[type[SettingsModel]]) -> None:
        """Refuse keys of the config file and overrides that no model in ``models`` (nor this one) has.

        Raises :class:`ConfigurationError` naming them and the file.
        """
        known = set(type(self).model_fields)
        for model in models:
            known.update(model.model_fields)
        unknown = sorted(set(self._layers.file_values) - known)
        if unknown:
            raise ConfigurationError(f"unknown setting(s) in {self._layers.config_path}: {', '.join(unknown)}")
        unknown = sorted(set(self._layers.overrides) - known)
        if unknown:
            raise ConfigurationError(f"unknown setting(s): {', '.join(unknown)}")

    def with_overrides(self, **overrides: Any) -> "Settings":
        """A copy of these settings with more ``overrides`` applied (for the demo and tests)."""
        old = self._layers
        merged = {**old.overrides, **{k: v for k, v in overrides.items() if v is not None}}
        layers = _Layers(old.file_values, old.environ, merged, old.config_path)
        copy = type(self)._build(layers)
        copy._layers = layers
        return copy
