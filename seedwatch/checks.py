"""Checks before a run, and the translation of known library errors into one-line messages."""
from __future__ import annotations

import os
from pathlib import Path

from alerts.channels import Channel, ChannelError, check_channel
from seedwatch.config import Config, ConfigError
from warehouse.db import WarehouseError, check_intact, is_damage, is_disk_full


def check_config(cfg: Config) -> None:
    """Raise ConfigError naming the problem: warehouse folder, alert URLs, topic files."""
    wh = cfg.resolve(cfg.warehouse.path)
    if wh.is_dir():
        raise ConfigError(f"warehouse.path: {wh} is a folder; name a file in it, e.g. {wh / 'seedwatch.duckdb'}")
    folder = wh.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise ConfigError(f"warehouse.path: cannot create {wh}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"warehouse.path: cannot create or write {wh} (folder {folder} is not writable)")
    if wh.exists() and not os.access(wh, os.W_OK):
        raise ConfigError(f"warehouse.path: {wh} is not writable")
    if wh.is_file() and wh.stat().st_size > 0 and not _is_duckdb_file(wh):
        raise ConfigError(f"warehouse.path: {wh} exists but is not a DuckDB database file")
    check_intact(wh)  # a truncated or damaged file: one line saying what to do
    for i, (alert, url) in enumerate(zip(cfg.alerts, cfg.alert_urls())):
        try:
            check_channel(Channel(url, alert.mode, alert.name))
        except ChannelError as exc:
            raise ConfigError(f"alerts[{i}].url: {exc}") from None
    for i, topic in enumerate(cfg.topics):
        if not Path(cfg.resolve(topic.file)).is_file():
            raise ConfigError(f"topics[{i}].file: no such topic file: {cfg.resolve(topic.file)}")
    if not cfg.feeds:
        raise ConfigError("feeds: no [[feeds]] configured")


def _is_duckdb_file(path: Path) -> bool:
    """DuckDB files carry the magic bytes DUCK after an 8-byte checksum."""
    with open(path, "rb") as fh:
        return fh.read(12)[8:12] == b"DUCK"


def user_facing(exc: BaseException) -> str | None:
    """A one-line message for errors a user can act on; None for real bugs (show traceback)."""
    if isinstance(exc, (WarehouseError, ChannelError)):
        return str(exc)
    from seedwatch.demo import DemoError
    from seedwatch.runcmd import Interrupted
    if isinstance(exc, (DemoError, Interrupted)):
        return str(exc)
    if is_disk_full(exc):
        return (f"disk full ({str(exc).splitlines()[0][:200]}): free some space where the warehouse "
                "is and run again (nothing stored is lost)")
    if is_damage(exc):
        return (f"the warehouse file is damaged ({str(exc).splitlines()[0][:200]}): restore it from a "
                "backup (its read snapshot, up to one run old, still answers `seedwatch sql` and "
                "`seedwatch export`), or move it aside to start a new warehouse")
    try:
        from detection.errors import TopicError
    except ImportError:  # pragma: no cover
        TopicError = ()  # type: ignore[assignment]
    if TopicError and isinstance(exc, TopicError):
        return f"topic: {exc}"
    return None
