"""Issue 11 items 9 and 13: Ctrl-C stops `seedwatch run` and `serve` within seconds, quietly, with
the run marked `interrupted`; `serve` runs once at start. Real subprocesses in their own session
get SIGINT on the whole process group, as a terminal sends it, while they fetch from a slow
news site on 127.0.0.1."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from tests.conftest import REPO, write_config
from tests.faultsrv import FaultServer, news_site

pytestmark = pytest.mark.slow


def _start(*args: str, home: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(HOME=str(home), COLUMNS="200")

    def session_with_default_sigint() -> None:  # a shell may start us with SIGINT ignored
        os.setsid()
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    home.mkdir(exist_ok=True)
    return subprocess.Popen([sys.executable, "-m", "seedwatch.cli", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=session_with_default_sigint)


def _wait_for(condition, timeout: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"exited early ({proc.returncode}): {out[-2000:]} {err[-3000:]}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            raise AssertionError(f"timed out: {out[-2000:]} {err[-3000:]}")
        time.sleep(0.2)


def _ctrl_c(proc: subprocess.Popen, limit: float) -> tuple[float, str, str]:
    started = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=limit + 60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    return time.monotonic() - started, out, err


def _page_hits(srv: FaultServer) -> int:
    return sum(n for path, n in srv.hits.items() if path.startswith("/news/"))


def _run_history(warehouse: Path) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("SELECT status, new_articles FROM run_history").fetchall()
    finally:
        con.close()


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return False
    except ProcessLookupError:
        return True


def _config(tmp_path: Path, config_for, base: str, **sections) -> Path:
    cfg = config_for([f"{base}/feeds/site{i}.xml" for i in range(3)], **sections)
    return write_config(tmp_path / "seedwatch.toml", cfg)


def test_ctrl_c_stops_a_run_quickly_and_marks_it_interrupted(tmp_path, config_for):
    with FaultServer(news_site(3, 10), delay=1.0) as srv:  # 30 pages at 1 s each: a long run
        path = _config(tmp_path, config_for, srv.base)
        proc = _start("run", "--config", str(path), home=tmp_path / "home")
        _wait_for(lambda: _page_hits(srv) >= 2, 240, proc)
        seconds, out, err = _ctrl_c(proc, 10)
    assert seconds < 10, (seconds, err[-3000:])
    assert proc.returncode == 130
    assert "Traceback" not in err + out and "Error logging to API" not in err, err[-3000:]
    assert "interrupted" in err.strip().splitlines()[-1]
    assert _run_history(tmp_path / "warehouse.duckdb")[0][0] == "interrupted"
    time.sleep(1)
    assert _group_gone(proc.pid)  # extraction workers and everything else ended with it


def test_serve_runs_at_start_and_stops_on_ctrl_c(tmp_path, config_for):
    """Interval 60 min: the first run must come at start, not after an hour."""
    with FaultServer(news_site(3, 10), delay=0.5) as srv:
        path = _config(tmp_path, config_for, srv.base)
        text = path.read_text().replace("[schedule]\n", "[schedule]\ninterval_minutes = 60\n", 1)
        path.write_text(text)
        proc = _start("serve", "--config", str(path), home=tmp_path / "home")
        _wait_for(lambda: _page_hits(srv) >= 2, 300, proc)  # the first run is fetching pages
        seconds, out, err = _ctrl_c(proc, 15)
    assert seconds < 15, (seconds, err[-3000:])
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err + out, err[-3000:]
    assert "stopped" in err.strip().splitlines()[-1]
    assert [s for s, _ in _run_history(tmp_path / "warehouse.duckdb")] == ["interrupted"]
    ui = re.search(r"UI is at (http://127\.0\.0\.1:\d+)", out)
    assert ui is not None, out
    with pytest.raises(httpx.HTTPError):  # the local Prefect server went with it
        httpx.get(f"{ui.group(1)}/api/health", timeout=2)
