"""A run holds the warehouse file for its whole length (`warehouse.db.writer_session`). Meanwhile
`seedwatch feeds list` reads the snapshot and says so, and `feeds enable/disable` queue the
switch in the inbox; the next run applies it. The holder here is a real second process."""
from __future__ import annotations

import subprocess
import sys
import time

import duckdb

from seedwatch import pipeline
from seedwatch.feedcmd import feeds_command
from tests.conftest import REPO, make_config
from warehouse.db import Warehouse, writer_session
from warehouse.feedback import inbox_path, read_inbox

HOLDER = """
import sys, time, pathlib
from warehouse.db import writer_session
path, ready, stop = sys.argv[1:4]
with writer_session(path):
    pathlib.Path(ready).touch()
    while not pathlib.Path(stop).exists():
        time.sleep(0.05)
"""


def _hold(tmp_path, path):
    ready, stop = tmp_path / "ready", tmp_path / "stop"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(ready), str(stop)], cwd=REPO)
    deadline = time.monotonic() + 30
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "holder did not start"
        time.sleep(0.05)
    return proc, stop


def test_feed_commands_while_a_run_holds_the_file(tmp_path, capsys):
    feeds = ["http://127.0.0.1:9/one.xml", "http://127.0.0.1:9/two.xml"]
    cfg = make_config(tmp_path, feeds)
    wh = pipeline.warehouse_for(cfg)
    pipeline.register_feeds(wh, cfg, "r0")
    pipeline.refresh_read_snapshot(wh, cfg)
    proc, stop = _hold(tmp_path, wh.path)
    try:
        started = time.monotonic()
        assert feeds_command(cfg, "list", None) == 0
        out = capsys.readouterr()
        assert "a run is writing the warehouse" in out.err and "snapshot" in out.err
        assert feeds[0] in out.out and "2 feeds, 0 disabled" in out.out
        assert feeds_command(cfg, "disable", feeds[1]) == 0
        assert "disable queued" in capsys.readouterr().out
        assert feeds_command(cfg, "enable", "http://127.0.0.1:9/unknown.xml") == 2
        assert "no feed" in capsys.readouterr().err
        assert time.monotonic() - started < 20  # short waits, not the 60 s lock timeout
        # The switch is only in the inbox so far.
        records = read_inbox(wh.path).records
        assert [(r["kind"], r["reason"]) for r in records] == [("feed_disable", "disabled by hand")]
    finally:
        stop.touch()
        proc.wait(timeout=30)
    assert proc.returncode == 0
    # The next run takes the inbox in before it polls.
    report = pipeline.ingest_inbox(Warehouse(wh.path), "r1")
    assert report.requests == 1
    with Warehouse(wh.path).connect(read_only=True) as con:
        rows = con.execute("SELECT url, disabled, disabled_reason FROM feeds ORDER BY url").fetchall()
        applied = con.execute("SELECT kind, outcome FROM ui_requests").fetchall()
    assert rows == [(feeds[0], False, None), (feeds[1], True, "disabled by hand")]
    assert applied == [("feed_disable", "applied")]
    assert inbox_path(wh.path).exists()


def test_a_writer_session_serves_cursors_and_checkpoints_once(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    with wh.transaction() as con:
        con.execute("CREATE TABLE t (i INTEGER)")
    with wh.session():
        with wh.transaction() as con:
            con.execute("INSERT INTO t VALUES (1)")
        with wh.connect() as con:  # a cursor: closing it leaves the file held
            pass
        other = subprocess.run([sys.executable, "-c",
                                f"import duckdb; duckdb.connect({str(wh.path)!r}, read_only=True)"],
                               capture_output=True, text=True, timeout=60)
        assert other.returncode != 0 and "lock" in other.stderr.lower()
        with Warehouse(wh.path).connect(read_only=True) as con:  # another object, same session
            assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 1
    # Released at the end, with what was written.
    with duckdb.connect(str(wh.path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 1
