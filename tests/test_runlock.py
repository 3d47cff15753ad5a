"""Issue 11 item 8: one run at a time per warehouse (warehouse/runlock.py), with real processes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, write_config
from tests.faultsrv import FaultServer, news_site, run_plain
from warehouse.runlock import RunLocked, lock_path, read_holder, run_lock

HOLDER = textwrap.dedent("""
    import os, sys, time
    from warehouse.runlock import run_lock
    with run_lock(sys.argv[1]):
        if len(sys.argv) > 3 and sys.argv[3] == "fork":
            if os.fork() == 0:          # a child (like an extraction worker) that outlives us
                time.sleep(60)
                os._exit(0)
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def _hold(warehouse: Path, seconds: float, *extra: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(warehouse), str(seconds), *extra],
                            cwd=REPO, stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seedwatch.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def test_a_second_run_names_the_running_one_and_stores_nothing(tmp_path, config_for):
    with FaultServer(news_site(1, 3)) as site:
        _second_run_is_refused(tmp_path, config_for([f"{site.base}/feeds/site0.xml"]), site)


def _second_run_is_refused(tmp_path, cfg, site):
    path = write_config(tmp_path / "seedwatch.toml", cfg)
    warehouse = tmp_path / "warehouse.duckdb"
    holder = _hold(warehouse, 60)
    try:
        with pytest.raises(RunLocked) as err:
            with run_lock(warehouse):
                pass
        assert f"pid {holder.pid}" in str(err.value) and "started 20" in str(err.value)

        started = time.monotonic()
        proc = _cli("run", "--config", str(path))
        assert proc.returncode == 75, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr
        assert f"pid {holder.pid}" in lines[0] and "another run is using warehouse" in lines[0]
        assert time.monotonic() - started < 30  # refused before Prefect starts
        # The flow itself (as a served or worker-run deployment calls it) is refused too.
        with pytest.raises(RunLocked):
            run_plain(cfg)
        assert sum(site.hits.values()) == 0  # nothing fetched twice
    finally:
        _stop(holder)
    assert not warehouse.exists()  # neither refused run created or wrote the warehouse


def test_wait_takes_the_lock_when_the_running_one_ends(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    holder = _hold(warehouse, 2.0)
    seen = []
    started = time.monotonic()
    try:
        with run_lock(warehouse, wait=True, poll=0.1, on_wait=seen.append):
            waited = time.monotonic() - started
            assert read_holder(lock_path(warehouse))["pid"] == os.getpid()
    finally:
        _stop(holder)
    assert len(seen) == 1 and seen[0]["pid"] == holder.pid
    assert 1.0 < waited < 20


def test_a_dead_runs_lock_is_taken_over(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock_path(warehouse).write_text(f'{{"pid": {dead.pid}, "started_at": "2026-01-01 00:00:00 UTC"}}')
    with run_lock(warehouse):  # the file names a dead process; the lock itself is free
        assert read_holder(lock_path(warehouse))["pid"] == os.getpid()

    holder = _hold(warehouse, 60)
    os.killpg(holder.pid, signal.SIGKILL)  # a run killed outright
    holder.wait(timeout=10)
    with run_lock(warehouse):
        assert read_holder(lock_path(warehouse))["pid"] == os.getpid()


def test_children_of_a_killed_run_do_not_keep_the_lock(tmp_path):
    """Extraction workers are children of the run: the lock must not pass to them."""
    warehouse = tmp_path / "w.duckdb"
    holder = _hold(warehouse, 60, "fork")
    try:
        os.kill(holder.pid, signal.SIGKILL)  # the run only; its forked child lives on
        holder.wait(timeout=10)
        with run_lock(warehouse):
            pass
    finally:
        os.killpg(holder.pid, signal.SIGKILL)


def test_the_lock_is_reentrant_within_a_process(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with run_lock(warehouse):
        with run_lock(warehouse):  # the CLI holds it, then the flow takes it again
            pass
        holder = subprocess.run([sys.executable, "-c", HOLDER, str(warehouse), "0"], cwd=REPO,
                                capture_output=True, text=True, timeout=60)
        assert holder.returncode != 0 and "RunLocked" in holder.stderr  # still held after the inner block


def test_the_next_run_closes_a_crashed_run_as_interrupted(tmp_path, config_for, site):
    from warehouse.db import Warehouse
    from warehouse import store
    cfg = config_for([f"{site.base}/feeds/wire.xml"])
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    with wh.transaction() as con:  # what a run killed with SIGKILL leaves: a start, no end
        store.start_run(con, "20260101T000000-dead00")
    run_plain(cfg)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        rows = dict(con.execute("SELECT run_id, status FROM run_history").fetchall())
    finally:
        con.close()
    assert rows.pop("20260101T000000-dead00") == "interrupted"
    assert list(rows.values()) == ["finished"]
