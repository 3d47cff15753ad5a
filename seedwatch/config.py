"""One configuration module: defaults merged with the user's TOML file, checked once.

Every section is a frozen dataclass; unknown keys and wrong types are rejected with a
message that names the key. Secrets never live in the file: `${NAME}` inside an alert URL is
replaced by the environment variable NAME when alerts are sent or checked
(`Config.alert_urls`), so commands that only read the warehouse need no secret.
"""
from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seedwatch import redact

DEFAULT_CONFIG = "seedwatch.toml"
USER_AGENT = "seedwatch/0.1 (open news monitor; +https://github.com/seedwatch/seedwatch)"


class ConfigError(ValueError):
    """The configuration file is missing, malformed, or has a bad key."""


@dataclass(frozen=True)
class WarehouseConfig:
    path: str = "seedwatch.duckdb"
    # A read-only copy refreshed after each run, for SQL sessions while the flow writes.
    snapshot: bool = True
    # A run that stores nothing new skips the copy, unless the snapshot is older than this.
    snapshot_max_age_minutes: float = 60.0
    # incremental: Parquet parts of what each run changed, behind a catalog of views (cost
    # follows the run); copy: a full copy of the database (cost follows its size).
    snapshot_mode: str = "incremental"
    lock_timeout_seconds: float = 60.0


@dataclass(frozen=True)
class ScheduleConfig:
    interval_minutes: float = 10.0
    cron: str = ""
    # Each feed is polled at the rate it publishes (extractors/schedule.py), within these bounds;
    # a run polls only the feeds that are due. 0 and 0: every feed on every run.
    min_feed_interval_minutes: float = 10.0
    max_feed_interval_minutes: float = 1440.0


@dataclass(frozen=True)
class FetchConfig:
    connect_timeout_seconds: float = 10.0
    read_timeout_seconds: float = 20.0
    total_timeout_seconds: float = 60.0
    max_bytes: int = 10_000_000
    concurrency: int = 16
    per_host: int = 2
    retries: int = 2
    backoff_seconds: float = 1.0
    max_retry_after_seconds: float = 30.0
    max_redirects: int = 5
    user_agent: str = USER_AGENT
    # Feed-supplied links to loopback/private/link-local addresses are refused unless allowed.
    allow_private_addresses: bool = False
    # Pages fetched per batch: fetched, extracted, scored and stored before the next batch.
    batch_size: int = 200
    # How long a run waits for article pages in all (new entries and page retries) before it
    # stores what it has and sends alerts: pages still loading then are left to the page-retry
    # queue (their articles are stored with the feed's text), pages not started yet wait for
    # the next run. 0 turns the budget off.
    page_budget_seconds: float = 60.0
    # Obey each site's robots.txt for feeds and pages (a refused page: the feed's text stands in).
    respect_robots: bool = True
    robots_cache_hours: float = 24.0


@dataclass(frozen=True)
class ExtractConfig:
    workers: int = 0  # 0: one process per core
    min_chars: int = 200  # shorter page text falls back to the feed's own content


@dataclass(frozen=True)
class ArchiveConfig:
    # Every fetched page body, compressed, in WARC files (extractors/archive.py), so that
    # `seedwatch reextract` can run a newer extractor on them later.
    enabled: bool = True
    path: str = ""  # empty: `<warehouse name>.archive/` beside the warehouse file
    retention_days: float = 90.0  # day folders older than this are deleted; 0 keeps everything


@dataclass(frozen=True)
class RunnerConfig:
    # Empty: extraction runs in local processes. Otherwise a Dask scheduler address
    # ("tcp://host:8786") or "local" for a LocalCluster, used through prefect-dask.
    dask_address: str = ""
    batch_size: int = 50


@dataclass(frozen=True)
class UiConfig:
    # The web UI (`seedwatch ui`). A host other than loopback needs a token; with a token set,
    # every request must carry it. `${NAME}` takes it from the environment.
    host: str = "127.0.0.1"
    port: int = 8942
    token: str = ""


@dataclass(frozen=True)
class FeedConfig:
    url: str
    name: str = ""
    language: str = ""


@dataclass(frozen=True)
class TopicConfig:
    file: str
    threshold: float | None = None


@dataclass(frozen=True)
class AlertConfig:
    url: str
    mode: str = "immediate"  # immediate | hourly | daily
    name: str = ""
    topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertSettings:
    # `seedwatch rescore` alerts only for stories whose news is at most this old.
    max_age_hours: float = 48.0


@dataclass(frozen=True)
class Config:
    warehouse: WarehouseConfig = field(default_factory=WarehouseConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    fetch: FetchConfig = field(default_factory=FetchConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    runner: RunnerConfig = field(default_factory=RunnerConfig)
    ui: UiConfig = field(default_factory=UiConfig)
    archive: ArchiveConfig = field(default_factory=ArchiveConfig)
    feeds: tuple[FeedConfig, ...] = ()
    topics: tuple[TopicConfig, ...] = ()
    alerts: tuple[AlertConfig, ...] = ()
    alert_settings: AlertSettings = field(default_factory=AlertSettings)
    base_dir: str = "."  # folder of the config file; relative paths resolve against it

    def resolve(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else Path(self.base_dir) / p

    def replace(self, **changes: Any) -> "Config":
        return dataclasses.replace(self, **changes)

    def alert_urls(self) -> list[str]:
        """The alert URLs with `${NAME}` replaced from the environment (ConfigError naming
        the key when a variable is not set). Called only by what sends alerts."""
        urls = []
        for i, a in enumerate(self.alerts):
            url = expand_env(a.url, f"alerts[{i}].url")
            if "://" not in url:
                raise ConfigError(f"alerts[{i}].url: not an apprise URL (scheme://...) once "
                                  "its environment variables are filled in")
            urls.append(url)
        return urls


_SECTIONS = {
    "warehouse": WarehouseConfig,
    "schedule": ScheduleConfig,
    "fetch": FetchConfig,
    "extract": ExtractConfig,
    "runner": RunnerConfig,
    "ui": UiConfig,
    "archive": ArchiveConfig,
}
_LISTS = {"feeds": FeedConfig, "topics": TopicConfig, "alerts": AlertConfig}
_ALERT_MODES = ("immediate", "hourly", "daily")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(value: str, key: str) -> str:
    """Replace ${NAME} with the environment variable NAME; a missing one is an error."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in os.environ:
            raise ConfigError(f"{key}: environment variable {name} is not set")
        redact.remember(os.environ[name])  # a secret: kept out of every log line
        return os.environ[name]

    return _ENV_REF.sub(sub, value)


def _coerce(value: Any, typ: Any, key: str) -> Any:
    typ_s = str(typ)
    if typ_s in ("float", "float | None") and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    checks = {
        "str": str, "int": int, "float": float, "bool": bool,
        "float | None": float, "tuple[str, ...]": list,
    }
    want = checks.get(typ_s)
    if want is None:
        return value
    if want is int and isinstance(value, bool) or not isinstance(value, want):
        raise ConfigError(f"{key}: expected {typ_s.replace('tuple[str, ...]', 'list of strings')}, got {value!r}")
    if want is list:
        if not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key}: expected a list of strings, got {value!r}")
        return tuple(value)
    return value


def _build(cls: type, data: Any, key: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{key}: expected a table, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{key}: unknown key {unknown[0]!r} (known: {', '.join(fields)})")
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(value, fields[name].type, f"{key}.{name}")
    missing = [n for n, f in fields.items() if n not in kwargs and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ConfigError(f"{key}: missing required key {missing[0]!r}")
    return cls(**kwargs)


def _validate(cfg: Config) -> None:
    if cfg.schedule.interval_minutes <= 0 and not cfg.schedule.cron:
        raise ConfigError("schedule.interval_minutes: must be > 0 (or set schedule.cron)")
    lo, hi = cfg.schedule.min_feed_interval_minutes, cfg.schedule.max_feed_interval_minutes
    if lo < 0 or hi < lo:
        raise ConfigError(f"schedule.max_feed_interval_minutes: must be >= min_feed_interval_minutes "
                          f"(>= 0), got {lo:g} .. {hi:g}")
    if cfg.warehouse.snapshot_mode not in ("incremental", "copy"):
        raise ConfigError(f"warehouse.snapshot_mode: must be incremental or copy, got {cfg.warehouse.snapshot_mode!r}")
    if cfg.archive.retention_days < 0:
        raise ConfigError("archive.retention_days: must be >= 0 (0 keeps everything)")
    if cfg.fetch.robots_cache_hours <= 0:
        raise ConfigError("fetch.robots_cache_hours: must be > 0")
    if cfg.fetch.max_bytes < 1024:
        raise ConfigError("fetch.max_bytes: must be at least 1024")
    if cfg.fetch.page_budget_seconds < 0:
        raise ConfigError("fetch.page_budget_seconds: must be >= 0 (0: no budget)")
    for i, feed in enumerate(cfg.feeds):
        if not re.match(r"^https?://", feed.url):
            raise ConfigError(f"feeds[{i}].url: only http(s) URLs are monitored, got {feed.url!r}")
        ref = _ENV_REF.search(feed.url)
        if ref:
            raise ConfigError(f"feeds[{i}].url: ${{{ref.group(1)}}} is not expanded in feed URLs (a feed URL "
                              "is stored in the warehouse and shown in logs, so it must hold no secret): "
                              "write the full URL")
        if "@" in feed.url.split("://", 1)[1].split("/", 1)[0]:
            raise ConfigError(f"feeds[{i}].url: credentials (user:password@) in a feed URL are not "
                              "supported: they would be stored in the warehouse and shown in logs")
    seen: set[str] = set()
    for i, feed in enumerate(cfg.feeds):
        if feed.url in seen:
            raise ConfigError(f"feeds[{i}].url: listed twice: {feed.url}")
        seen.add(feed.url)
    for i, alert in enumerate(cfg.alerts):
        if alert.mode not in _ALERT_MODES:
            raise ConfigError(f"alerts[{i}].mode: must be one of {', '.join(_ALERT_MODES)}, got {alert.mode!r}")
        if "://" not in alert.url and not _ENV_REF.search(alert.url):  # else checked when expanded
            raise ConfigError(f"alerts[{i}].url: not an apprise URL (scheme://...): {alert.url!r}")
    if not 0 < cfg.ui.port < 65536:
        raise ConfigError(f"ui.port: must be within 1..65535, got {cfg.ui.port}")
    for i, topic in enumerate(cfg.topics):
        if topic.threshold is not None and not 0.0 <= topic.threshold <= 1.0:
            raise ConfigError(f"topics[{i}].threshold: must be within [0, 1], got {topic.threshold}")


def parse_config(data: dict[str, Any], base_dir: str = ".") -> Config:
    """Build a checked Config from already-parsed TOML data."""
    known = set(_SECTIONS) | set(_LISTS)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown section {unknown[0]!r} (known: {', '.join(sorted(known))})")
    kwargs: dict[str, Any] = {"base_dir": base_dir}
    for name, cls in _SECTIONS.items():
        if name in data:
            kwargs[name] = _build(cls, data[name], name)
    alerts = data.get("alerts")
    if isinstance(alerts, dict):
        # [alerts] max_age_hours = 48, with the channels as [[alerts.channels]]
        alerts = dict(alerts)
        channels = alerts.pop("channels", [])
        kwargs["alert_settings"] = _build(AlertSettings, alerts, "alerts")
        data = {**data, "alerts": channels}
    for name, cls in _LISTS.items():
        items = data.get(name, [])
        if not isinstance(items, list):
            raise ConfigError(f"{name}: expected an array of tables ([[{name}]])")
        kwargs[name] = tuple(_build(cls, item, f"{name}[{i}]") for i, item in enumerate(items))
    # Alert URLs keep their ${SECRET} references until a channel is used (Config.alert_urls):
    # reading the warehouse (sql, feeds list, export) needs no secret.
    if "ui" in kwargs and kwargs["ui"].token:
        kwargs["ui"] = dataclasses.replace(kwargs["ui"], token=expand_env(kwargs["ui"].token, "ui.token"))
        redact.remember(kwargs["ui"].token)
    cfg = Config(**kwargs)
    _validate(cfg)
    return cfg


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load `path`, or ./seedwatch.toml when None. Raises ConfigError with the reason."""
    p = Path(path if path is not None else DEFAULT_CONFIG)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {p}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    return parse_config(data, base_dir=str(p.resolve().parent))
