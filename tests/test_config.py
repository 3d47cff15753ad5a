"""Config loading: defaults, env-expanded secrets, and one clear message per mistake."""
from __future__ import annotations

import subprocess
import sys

import pytest

from seedwatch.config import ConfigError, load_config, parse_config


def test_defaults_and_feeds():
    cfg = parse_config({"feeds": [{"url": "https://example.org/rss", "language": "ko"}]})
    assert cfg.feeds[0].language == "ko" and cfg.fetch.max_bytes == 10_000_000
    assert cfg.schedule.interval_minutes == 10.0


@pytest.mark.parametrize("data, message", [
    ({"warehouse": {"pathh": "x"}}, "warehouse: unknown key 'pathh'"),
    ({"fetch": {"max_bytes": "big"}}, "fetch.max_bytes: expected int"),
    ({"feeds": [{"url": "file:///etc/passwd"}]}, "feeds[0].url: only http(s)"),
    ({"feeds": [{"name": "x"}]}, "feeds[0]: missing required key 'url'"),
    ({"alerts": [{"url": "json://x", "mode": "weekly"}]}, "alerts[0].mode"),
    ({"topics": [{"file": "a.toml", "threshold": 3}]}, "topics[0].threshold"),
    ({"feed": []}, "unknown section 'feed'"),
])
def test_bad_config_names_the_key(data, message):
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert message in str(err.value)


def test_secrets_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("HOOK_TOKEN", "s3cret")
    cfg = parse_config({"alerts": [{"url": "json://hooks.example/${HOOK_TOKEN}"}]})
    assert cfg.alert_urls() == ["json://hooks.example/s3cret"]
    monkeypatch.delenv("HOOK_TOKEN")
    # Loading needs no secret (reading the warehouse does not); using the channel does.
    cfg = parse_config({"alerts": [{"url": "json://hooks.example/${HOOK_TOKEN}"}]})
    with pytest.raises(ConfigError, match=r"alerts\[0\]\.url: environment variable HOOK_TOKEN is not set"):
        cfg.alert_urls()


def test_an_alert_url_that_is_only_a_variable_is_checked_once_filled_in(monkeypatch):
    cfg = parse_config({"alerts": [{"url": "${HOOK_URL}"}]})
    monkeypatch.setenv("HOOK_URL", "not-a-url")
    with pytest.raises(ConfigError, match="not an apprise URL"):
        cfg.alert_urls()
    monkeypatch.setenv("HOOK_URL", "json://127.0.0.1:9/hook")
    assert cfg.alert_urls() == ["json://127.0.0.1:9/hook"]


def test_shipped_config_is_valid():
    cfg = load_config("seedwatch.toml")
    assert len(cfg.feeds) >= 10
    assert {f.language for f in cfg.feeds} >= {"en", "ko"}


@pytest.mark.parametrize("content, expected", [
    ("[warehouse\npath=1", "not valid TOML"),
    ("[fetch]\ntimeout = 3\n", "fetch: unknown key 'timeout'"),
])
def test_cli_reports_config_errors_in_one_line(tmp_path, content, expected):
    path = tmp_path / "bad.toml"
    path.write_text(content)
    proc = subprocess.run([sys.executable, "-m", "seedwatch.cli", "run", "--config", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert expected in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cli_reports_unknown_alert_scheme(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(f'[warehouse]\npath = "{tmp_path}/w.duckdb"\n[[feeds]]\nurl = "https://example.org/rss"\n'
                    '[[alerts]]\nurl = "nosuchscheme://abc"\n')
    proc = subprocess.run([sys.executable, "-m", "seedwatch.cli", "run", "--config", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "nosuchscheme" in proc.stderr and "Traceback" not in proc.stderr


def _file_in(folder, name: str, text: str):
    (folder / name).write_text(text)
    return folder / name


@pytest.mark.parametrize("make_path, expected", [
    (lambda d: _file_in(d, "a-file", "x") / "w.duckdb", "is a file, not a folder"),
    (lambda d: d, "is a folder"),
    (lambda d: _file_in(d, "text.duckdb", "not a database"), "is not a DuckDB database file"),
])
def test_cli_reports_an_unusable_warehouse_path(tmp_path, make_path, expected):
    warehouse = make_path(tmp_path)
    path = tmp_path / "c.toml"
    path.write_text(f'[warehouse]\npath = "{warehouse}"\n[[feeds]]\nurl = "https://example.org/rss"\n')
    proc = subprocess.run([sys.executable, "-m", "seedwatch.cli", "run", "--config", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "warehouse.path" in proc.stderr and expected in proc.stderr
