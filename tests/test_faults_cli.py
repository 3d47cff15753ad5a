"""`seedwatch run` (the real Prefect flow, ephemeral mode) against the fault servers: exit 0
and a per-feed summary with the reason of every failure; `seedwatch feeds` in a subprocess."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.faultsrv import FEED_ROUTES, FaultServer
from tests.test_faults import FAULT_FETCH, FEED_CASES

SHOWN = {  # feed name → words its summary line must show
    "wire.xml": "ok", "malformed.xml": "recovered from", "euc-kr.xml": "decoded as",
    "html-page": "an HTML page", "empty": "empty body", "gzip-bomb": "over the cap",
    "stall": "read timeout", "404": "HTTP 404", "429": "HTTP 429", "503": "HTTP 503",
    "loop": "redirect loop", "to-ftp": "scheme 'ftp'", "laughs-hidden.xml": "declares XML entities",
}


def _fault_config(tmp: Path, base: str) -> Path:
    fetch = "\n".join(f"{k} = {str(v).lower() if isinstance(v, bool) else v}" for k, v in FAULT_FETCH.items())
    feeds = "".join(f'[[feeds]]\nurl = "{base}{p}"\nname = "{p.rsplit("/", 1)[1]}"\n' for p in FEED_ROUTES)
    path = tmp / "faults.toml"
    path.write_text(
        f'[warehouse]\npath = "{tmp / "warehouse.duckdb"}"\n'
        f"[fetch]\nallow_private_addresses = true\n{fetch}\n[extract]\nworkers = 1\n"
        f'[[topics]]\nfile = "{REPO / "seeds" / "inter-korean-diplomacy.toml"}"\n{feeds}', encoding="utf-8")
    return path


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    return subprocess.run([sys.executable, "-m", "seedwatch.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_seedwatch_run_survives_the_fault_servers(tmp_path):
    with FaultServer() as srv:
        cfg = _fault_config(tmp_path, srv.base)
        proc = _cli("run", "--config", str(cfg), timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    for name, words in SHOWN.items():
        row = next((line for line in lines if f" {name} " in line), None)
        assert row is not None and words in row, (name, row)
    failed = sum(1 for c in FEED_CASES.values() if c[0] == "failed") - 1  # no dead port here
    assert f"feeds failed {failed}, ok {len(FEED_ROUTES) - failed}" in proc.stdout

    listed = _cli("feeds", "list", "--config", str(cfg))
    assert listed.returncode == 0 and "backing off" in listed.stdout
    unknown = _cli("feeds", "enable", "http://nowhere.example/rss", "--config", str(cfg))
    assert unknown.returncode == 2 and len(unknown.stderr.strip().splitlines()) == 1
