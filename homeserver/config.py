"""The YAML configuration file: loading, validation and defaults.

Every option is documented in `config.sample.yaml`. Loading fails with a `ConfigError` that
names the offending key (for example `listeners[0].port`), so a typo stops the server at start
instead of surfacing as odd behaviour later.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(Exception):
    """An invalid or missing configuration value; the message names the key."""


@dataclass(frozen=True)
class ListenerConfig:
    host: str = "127.0.0.1"
    port: int = 8008
    tls_certificate_path: str | None = None
    tls_private_key_path: str | None = None


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: `per_second` tokens refill, at most `burst_count` are stored."""

    per_second: float
    burst_count: int


@dataclass(frozen=True)
class RateLimitConfig:
    enabled: bool = True
    message: RateLimit = RateLimit(per_second=10.0, burst_count=50)
    login: RateLimit = RateLimit(per_second=0.2, burst_count=5)
    registration: RateLimit = RateLimit(per_second=0.2, burst_count=5)
    media_upload: RateLimit = RateLimit(per_second=2.0, burst_count=20)


@dataclass(frozen=True)
class RegistrationConfig:
    enabled: bool = False
    shared_secret: str | None = None
    registration_tokens: tuple[str, ...] = ()


@dataclass(frozen=True)
class MediaConfig:
    store_path: str = "media"
    max_upload_size: int = 50 * 1024 * 1024
    max_image_pixels: int = 32_000_000
    thumbnail_sizes: tuple[tuple[int, int, str], ...] = (
        (32, 32, "crop"),
        (96, 96, "crop"),
        (320, 240, "scale"),
        (640, 480, "scale"),
        (800, 600, "scale"),
    )
    max_pending_uploads: int = 10
    unused_expiry_seconds: int = 24 * 3600
    unauthenticated_download_cutoff_ts: int = 0
    local_media_lifetime_seconds: int | None = None
    remote_media_lifetime_seconds: int | None = 90 * 24 * 3600
    url_preview_enabled: bool = False
    url_preview_ip_range_allowlist: tuple[str, ...] = ()
    url_preview_ip_range_blocklist: tuple[str, ...] = ()
    url_preview_max_size: int = 10 * 1024 * 1024
    url_preview_timeout_seconds: float = 10.0
    url_preview_cache_seconds: int = 3600
    retention_interval_seconds: float = 3600.0


@dataclass(frozen=True)
class Config:
    server_name: str
    public_baseurl: str
    data_dir: str
    database_path: str
    signing_key_path: str
    listeners: tuple[ListenerConfig, ...]
    registration: RegistrationConfig
    rate_limits: RateLimitConfig
    media: MediaConfig
    max_request_body_size: int = 1024 * 1024
    request_body_timeout_seconds: float = 60.0
    default_room_version: str = "12"
    presence_enabled: bool = True
    log_level: str = "INFO"
    database_synchronous: str = "FULL"
    extra: dict[str, Any] = field(default_factory=dict)


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_SYNC_MODES = ("NORMAL", "FULL")


class _Reader:
    """Typed access to one mapping of the YAML file, with the key path for errors."""

    def __init__(self, data: Any, path: str) -> None:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path or 'config'}: expected a mapping")
        self.data = data
        self.path = path
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def get(self, name: str, kind: type | tuple[type, ...], default: Any) -> Any:
        self.used.add(name)
        if name not in self.data or self.data[name] is None:
            if default is _REQUIRED:
                raise ConfigError(f"{self.key(name)}: missing required value")
            return default
        value = self.data[name]
        # bool is an int subclass; a YAML `true` must not pass as a port.
        if isinstance(value, bool) and bool not in _as_tuple(kind):
            raise ConfigError(f"{self.key(name)}: expected {_kind_name(kind)}")
        if not isinstance(value, kind):
            raise ConfigError(
                f"{self.key(name)}: expected {_kind_name(kind)}, got {value!r}"
            )
        return value

    def sub(self, name: str) -> _Reader:
        self.used.add(name)
        return _Reader(self.data.get(name), self.key(name))

    def reject_unknown(self, allowed_extra: tuple[str, ...] = ()) -> None:
        for name in self.data:
            if name not in self.used and name not in allowed_extra:
                raise ConfigError(f"{self.key(str(name))}: unknown option")


_REQUIRED = object()


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in _as_tuple(kind))


def _positive(reader: _Reader, name: str, default: Any, kind=int) -> Any:
    value = reader.get(name, kind, default)
    if value is not None and value <= 0:
        raise ConfigError(f"{reader.key(name)}: must be positive, got {value!r}")
    return value


def _read_rate_limit(reader: _Reader, name: str, default: RateLimit) -> RateLimit:
    sub = reader.sub(name)
    limit = RateLimit(
        per_second=float(_positive(sub, "per_second", default.per_second, (int, float))),
        burst_count=_positive(sub, "burst_count", default.burst_count),
    )
    sub.reject_unknown()
    return limit


def _read_listeners(reader: _Reader) -> tuple[ListenerConfig, ...]:
    reader.used.add("listeners")
    raw = reader.data.get("listeners")
    if raw is None:
        return (ListenerConfig(),)
    if not isinstance(raw, list) or not raw:
        raise ConfigError("listeners: expected a non-empty list")
    listeners = []
    for index, item in enumerate(raw):
        sub = _Reader(item, f"listeners[{index}]")
        port = sub.get("port", int, _REQUIRED)
        if not 0 <= port <= 65535:
            raise ConfigError(f"{sub.key('port')}: must be between 0 and 65535")
        cert = sub.get("tls_certificate_path", str, None)
        key = sub.get("tls_private_key_path", str, None)
        if (cert is None) != (key is None):
            raise ConfigError(
                f"{sub.path}: set both tls_certificate_path and tls_private_key_path"
            )
        listeners.append(
            ListenerConfig(
                host=sub.get("host", str, "127.0.0.1"),
                port=port,
                tls_certificate_path=cert,
                tls_private_key_path=key,
            )
        )
        sub.reject_unknown()
    return tuple(listeners)


def _read_media(reader: _Reader) -> MediaConfig:
    sub = reader.sub("media")
    d = MediaConfig()
    sizes_raw = sub.get("thumbnail_sizes", list, None)
    sizes = d.thumbnail_sizes
    if sizes_raw is not None:
        parsed = []
        for index, item in enumerate(sizes_raw):
            item_reader = _Reader(item, f"{sub.key('thumbnail_sizes')}[{index}]")
            width = _positive(item_reader, "width", _REQUIRED)
            height = _positive(item_reader, "height", _REQUIRED)
            method = item_reader.get("method", str, "scale")
            if method not in ("scale", "crop"):
                raise ConfigError(f"{item_reader.key('method')}: must be scale or crop")
            item_reader.reject_unknown()
            parsed.append((width, height, method))
        sizes = tuple(parsed)
    media = MediaConfig(
        store_path=sub.get("store_path", str, d.store_path),
        max_upload_size=_positive(sub, "max_upload_size", d.max_upload_size),
        max_image_pixels=_positive(sub, "max_image_pixels", d.max_image_pixels),
        thumbnail_sizes=sizes,
        max_pending_uploads=_positive(sub, "max_pending_uploads", d.max_pending_uploads),
        unused_expiry_seconds=_positive(
            sub, "unused_expiry_seconds", d.unused_expiry_seconds
        ),
        unauthenticated_download_cutoff_ts=sub.get(
            "unauthenticated_download_cutoff_ts", int, 0
        ),
        local_media_lifetime_seconds=_positive(
            sub, "local_media_lifetime_seconds", None
        ),
        remote_media_lifetime_seconds=_positive(
            sub, "remote_media_lifetime_seconds", d.remote_media_lifetime_seconds
        ),
        url_preview_enabled=sub.get("url_preview_enabled", bool, False),
        url_preview_ip_range_allowlist=tuple(
            _string_list(sub, "url_preview_ip_range_allowlist")
        ),
        url_preview_ip_range_blocklist=tuple(
            _string_list(sub, "url_preview_ip_range_blocklist")
        ),
        url_preview_max_size=_positive(
            sub, "url_preview_max_size", d.url_preview_max_size
        ),
        url_preview_timeout_seconds=float(
            _positive(
                sub,
                "url_preview_timeout_seconds",
                d.url_preview_timeout_seconds,
                (int, float),
            )
        ),
        url_preview_cache_seconds=_positive(
            sub, "url_preview_cache_seconds", d.url_preview_cache_seconds
        ),
        retention_interval_seconds=float(
            _positive(
                sub,
                "retention_interval_seconds",
                d.retention_interval_seconds,
                (int, float),
            )
        ),
    )
    sub.reject_unknown()
    return media


def _string_list(reader: _Reader, name: str) -> list[str]:
    values = reader.get(name, list, [])
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise ConfigError(f"{reader.key(name)}[{index}]: expected a string")
    return values


def parse_config(data: Any, config_dir: str = ".") -> Config:
    """Validate the parsed YAML document and build a `Config`.

    Relative paths are resolved against `config_dir`, the folder holding the file.
    """
    root = _Reader(data, "")
    server_name = root.get("server_name", str, _REQUIRED)
    if not server_name or any(c.isspace() for c in server_name) or "/" in server_name:
        raise ConfigError(f"server_name: invalid server name {server_name!r}")

    listeners = _read_listeners(root)
    default_baseurl = f"http://{server_name}:{listeners[0].port}/"
    public_baseurl = root.get("public_baseurl", str, default_baseurl)
    if not public_baseurl.startswith(("http://", "https://")):
        raise ConfigError("public_baseurl: must start with http:// or https://")
    if not public_baseurl.endswith("/"):
        public_baseurl += "/"

    data_dir = _resolve(config_dir, root.get("data_dir", str, "data"))
    database = root.sub("database")
    database_path = _resolve(data_dir, database.get("path", str, "homeserver.db"))
    synchronous = database.get("synchronous", str, "FULL").upper()
    if synchronous not in _SYNC_MODES:
        raise ConfigError(f"database.synchronous: must be one of {', '.join(_SYNC_MODES)}")
    database.reject_unknown()

    registration_reader = root.sub("registration")
    tokens = _string_list(registration_reader, "registration_tokens")
    registration = RegistrationConfig(
        enabled=registration_reader.get("enabled", bool, False),
        shared_secret=registration_reader.get("shared_secret", str, None),
        registration_tokens=tuple(tokens),
    )
    registration_reader.reject_unknown()

    limits_reader = root.sub("rate_limits")
    d = RateLimitConfig()
    rate_limits = RateLimitConfig(
        enabled=limits_reader.get("enabled", bool, True),
        message=_read_rate_limit(limits_reader, "message", d.message),
        login=_read_rate_limit(limits_reader, "login", d.login),
        registration=_read_rate_limit(limits_reader, "registration", d.registration),
        media_upload=_read_rate_limit(limits_reader, "media_upload", d.media_upload),
    )
    limits_reader.reject_unknown()

    log_level = root.get("log_level", str, "INFO").upper()
    if log_level not in _LOG_LEVELS:
        raise ConfigError(f"log_level: must be one of {', '.join(_LOG_LEVELS)}")

    from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS

    default_room_version = str(root.get("default_room_version", (str, int), "12"))
    if default_room_version not in KNOWN_ROOM_VERSIONS:
        raise ConfigError(
            f"default_room_version: unsupported room version {default_room_version!r}"
        )

    media = _read_media(root)
    media = _replace_media_path(media, data_dir)

    config = Config(
        server_name=server_name,
        public_baseurl=public_baseurl,
        data_dir=data_dir,
        database_path=database_path,
        signing_key_path=_resolve(
            config_dir, root.get("signing_key_path", str, f"{server_name}.signing.key")
        ),
        listeners=listeners,
        registration=registration,
        rate_limits=rate_limits,
        media=media,
        max_request_body_size=_positive(root, "max_request_body_size", 1024 * 1024),
        request_body_timeout_seconds=float(
            _positive(root, "request_body_timeout_seconds", 60, (int, float))
        ),
        default_room_version=default_room_version,
        presence_enabled=root.get("presence_enabled", bool, True),
        log_level=log_level,
        database_synchronous=synchronous,
    )
    root.reject_unknown()
    return config


def _replace_media_path(media: MediaConfig, data_dir: str) -> MediaConfig:
    from dataclasses import replace

    return replace(media, store_path=_resolve(data_dir, media.store_path))


def _resolve(base: str, path: str) -> str:
    return str(Path(base, os.path.expanduser(path)).resolve())


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that rejects a key given twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(
                    f"{key}: given twice (line {key_node.start_mark.line + 1})"
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_config(path: str) -> Config:
    """Read and validate the YAML file at `path`."""
    try:
        with open(path, encoding="utf-8") as file:
            data = yaml.load(file, Loader=_UniqueKeyLoader)  # noqa: S506
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    return parse_config(data, str(Path(path).resolve().parent))


def generate_config_text(
    server_name: str, port: int = 8008, open_registration: bool = False
) -> str:
    """Return a minimal config for a new server, with a fresh shared secret."""
    return (
        "# Generated configuration. Every option is described in config.sample.yaml.\n"
        f"server_name: {server_name}\n"
        "# public_baseurl defaults to http://<server_name>:<first listener port>/\n"
        "listeners:\n"
        f"  - host: 127.0.0.1\n    port: {port}\n"
        "data_dir: data\n"
        "database:\n  path: homeserver.db\n"
        f"signing_key_path: {server_name}.signing.key\n"
        "registration:\n"
        f"  enabled: {'true' if open_registration else 'false'}\n"
        f"  shared_secret: {secrets.token_urlsafe(32)}\n"
        "log_level: INFO\n"
    )
