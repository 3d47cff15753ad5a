"""Shared fixtures: a real static site on 127.0.0.1, real DuckDB files in tmp_path, a config."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import pytest

from seedwatch.config import Config, parse_config
from seedwatch.sitesrv import SiteServer

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent

# What the seedwatch command sets for itself (seedwatch/prefect_env.py), for the flows the tests
# run in this process; one Prefect home for the whole suite, inside the checkout.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_HOME", str(REPO / ".prefect"))
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


@pytest.fixture(autouse=True)
def _no_robots_txt(request):
    """pytest-httpserver answers unknown paths with 500, which robots.txt rules read as "site
    unreachable: fetch nothing". Tests that use it serve no robots.txt instead (404: allowed);
    tests/test_robots.py serves real ones."""
    if "httpserver" in request.fixturenames:
        request.getfixturevalue("httpserver").expect_request("/robots.txt").respond_with_data(
            "not found", status=404)
    yield


@pytest.fixture
def site():
    """The small fixture news site (2 feeds, 4 pages, one missing page)."""
    with SiteServer(FIXTURES / "site") as srv:
        yield srv


def make_config(tmp_path: Path, feeds: list[str], **sections: Any) -> Config:
    """A checked Config with a warehouse in tmp_path and fast fetch settings for local servers."""
    data: dict[str, Any] = {
        "warehouse": {"path": str(tmp_path / "warehouse.duckdb")},
        "fetch": {"allow_private_addresses": True, "retries": 0, "backoff_seconds": 0.05,
                  "read_timeout_seconds": 5.0, "total_timeout_seconds": 10.0},
        "extract": {"workers": 1},
        # Every feed on every run (tests run cycles back to back); test_schedule.py sets bounds.
        "schedule": {"min_feed_interval_minutes": 0.0, "max_feed_interval_minutes": 0.0},
        "topics": [{"file": str(REPO / "seeds" / "inter-korean-diplomacy.toml")}],
        "feeds": [{"url": u} for u in feeds],
    }
    for name, value in sections.items():
        if isinstance(value, dict):
            data[name] = {**data.get(name, {}), **value}
        else:
            data[name] = value
    return parse_config(data, base_dir=str(tmp_path))


@pytest.fixture
def config_for(tmp_path: Path) -> Callable[..., Config]:
    return lambda feeds, **sections: make_config(tmp_path, feeds, **sections)


def write_config(cfg_path: Path, cfg: Config) -> Path:
    """Write a Config back as TOML (for commands and flows that take a config file)."""
    lines = [f'[warehouse]\npath = "{cfg.warehouse.path}"\nsnapshot = {str(cfg.warehouse.snapshot).lower()}\n',
             "[fetch]\nallow_private_addresses = true\nretries = 0\nbackoff_seconds = 0.05\n",
             f"[schedule]\nmin_feed_interval_minutes = {cfg.schedule.min_feed_interval_minutes}\n"
             f"max_feed_interval_minutes = {cfg.schedule.max_feed_interval_minutes}\n",
             f"[extract]\nworkers = {cfg.extract.workers}\n"]
    for t in cfg.topics:
        lines.append(f'[[topics]]\nfile = "{t.file}"\n' + (f"threshold = {t.threshold}\n" if t.threshold is not None else ""))
    for f in cfg.feeds:
        lines.append(f'[[feeds]]\nurl = "{f.url}"\nname = "{f.name}"\n')
    for a in cfg.alerts:
        lines.append(f'[[alerts]]\nurl = "{a.url}"\nmode = "{a.mode}"\n')
    cfg_path.write_text("\n".join(lines), encoding="utf-8")
    return cfg_path
