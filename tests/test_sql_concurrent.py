"""`seedwatch sql` while the flow writes: no failed query, no failed or lost write.

One process runs the flow's write path (`tests.test_sql_cli.cycle`: register, poll, store,
articles, alerts, finish + snapshot refresh) over and over, adding a story to a feed of a copy of
the fixture site before each cycle (a run with nothing new skips the snapshot refresh); another
runs `seedwatch sql` in a loop
(in-process `main`, fresh connection each time); the test process meanwhile runs the real command
in fresh processes. The reader writes how many queries it has made to a progress file, and the
writer waits for two more before each cycle, so the overlap does not depend on how fast a loaded
machine runs either side. With the snapshot, readers never touch the main file; without it, readers
and the writer contend for the main file's lock and both sides must wait, never fail.

Run as `python -m tests.test_sql_concurrent writer CONFIG CYCLES SITE PROGRESS` or
`... reader CONFIG STOP PROGRESS`.
"""
from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from seedwatch.sitesrv import SiteServer
from tests.conftest import FIXTURES, REPO, make_config, write_config
from warehouse.db import Warehouse

CYCLES = 5
QUERIES_PER_CYCLE = 2  # reader queries the writer waits for before each cycle
WAIT_S = 60.0
COUNTS = ("SELECT (SELECT count(*) FROM runs WHERE finished_at IS NOT NULL) AS runs, "
          "(SELECT count(*) FROM fetch_log WHERE kind = 'feed') AS feed_fetches")


def add_story(site: Path, n: int) -> None:
    """One more entry in the daily feed (its page is missing: the feed's summary is the text)."""
    feed = site / "feeds" / "daily.xml"
    entry = (f"<entry><title>Update {n}</title><id>urn:daily:update-{n}</id>"
             f'<link href="{{{{BASE}}}}/news/update-{n}.html"/><updated>2026-11-17T00:00:00Z</updated>'
             f"<summary>Update number {n} on the talks between the two Koreas.</summary></entry>\n")
    feed.write_text(feed.read_text(encoding="utf-8").replace("</feed>", entry + "</feed>"),
                    encoding="utf-8")


def _queries_made(progress: Path) -> int:
    try:
        return int(progress.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _await_queries(progress: Path, at_least: int) -> None:
    """Wait (bounded) until the reader has made `at_least` queries; the test checks the count."""
    deadline = time.monotonic() + WAIT_S
    while _queries_made(progress) < at_least and time.monotonic() < deadline:
        time.sleep(0.01)


def writer(config: str, cycles: int, site: str, progress: str) -> None:
    from seedwatch.config import load_config
    from tests.test_sql_cli import cycle
    cfg = load_config(config)
    for i in range(cycles):
        _await_queries(Path(progress), _queries_made(Path(progress)) + QUERIES_PER_CYCLE)
        add_story(Path(site), i + 1)
        cycle(cfg)
        print(f"cycle {i + 1} stored", flush=True)


def _query_once(config: str) -> tuple[int, str, str]:
    from seedwatch.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(["sql", "--config", config, "--csv", COUNTS])
        except Exception as exc:  # noqa: BLE001 - any exception is a failed query
            status, err = 99, io.StringIO(repr(exc))
    return status, out.getvalue(), err.getvalue()


def reader(config: str, stop_file: str, progress: str) -> None:
    """Query until the stop file appears (once more after); print a JSON report."""
    report = {"queries": 0, "failures": [], "went_back": 0}
    last, stopping = (0, 0), False
    while not stopping:
        stopping = Path(stop_file).exists()
        status, out, err = _query_once(config)
        report["queries"] += 1
        part = Path(progress + ".part")
        part.write_text(str(report["queries"]))
        part.replace(progress)  # whole numbers only, never a half-written one
        if status != 0 or err:
            report["failures"].append(f"{status}: {err.strip()[-300:]}")
            continue
        seen = tuple(int(v) for v in out.splitlines()[1].split(","))
        if seen[0] < last[0] or seen[1] < last[1]:
            report["went_back"] += 1
            report.setdefault("back", []).append([last, seen, err])
        last = seen
        time.sleep(0.01)  # a busy analyst, not a tight loop
    report["last"] = last
    print(json.dumps(report), flush=True)


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.test_sql_concurrent", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _counts(path: str) -> tuple[int, int, int]:
    con = duckdb.connect(path, read_only=True)
    try:
        runs, fetches = con.execute(COUNTS).fetchone()
        return runs, fetches, con.execute("SELECT count(*) FROM articles").fetchone()[0]
    finally:
        con.close()


@pytest.mark.parametrize("snapshot", [True, False], ids=["snapshot", "main-file"])
def test_sql_queries_while_the_flow_writes(tmp_path, snapshot):
    shutil.copytree(FIXTURES / "site", tmp_path / "site")
    with SiteServer(tmp_path / "site") as site:
        _run(tmp_path, site.base, snapshot)


def _run(tmp_path: Path, base: str, snapshot: bool) -> None:
    cfg = make_config(tmp_path, [f"{base}/feeds/wire.xml", f"{base}/feeds/daily.xml"],
                      warehouse={"snapshot": snapshot},
                      alerts=[{"url": f"jsonfile://{tmp_path / 'alerts.jsonl'}"}])
    config = str(write_config(tmp_path / "seedwatch.toml", cfg))
    with Warehouse(cfg.warehouse.path).connect():
        pass  # created and migrated: readers start before the first run finishes
    stop, progress = tmp_path / "stop", str(tmp_path / "reader-queries")
    read_loop = _spawn("reader", config, str(stop), progress)
    write_loop = _spawn("writer", config, str(CYCLES), str(tmp_path / "site"), progress)
    commands = []
    try:
        while write_loop.poll() is None:
            done = subprocess.run([sys.executable, "-m", "seedwatch.cli", "sql", "--config", config,
                                   "--csv", COUNTS], capture_output=True, text=True, cwd=REPO, timeout=60)
            commands.append((done.returncode, done.stderr))
        w_out, w_err = write_loop.communicate(timeout=60)
    finally:
        stop.touch()
        r_out, r_err = read_loop.communicate(timeout=60)

    assert write_loop.returncode == 0, w_err[-2000:]
    assert w_out.count("stored") == CYCLES
    assert read_loop.returncode == 0, r_err[-2000:]
    report = json.loads(r_out.strip().splitlines()[-1])
    assert report["queries"] >= QUERIES_PER_CYCLE * CYCLES, report
    assert report["failures"] == [] and report["went_back"] == 0, report
    assert commands and all(c == (0, "") for c in commands), commands
    # Nothing lost: every run finished, every feed fetch logged, each article stored once.
    assert _counts(cfg.warehouse.path) == (CYCLES, 2 * CYCLES, 5 + CYCLES)
    # ...and after the last run, readers see all of it.
    assert tuple(report["last"]) == (CYCLES, 2 * CYCLES)


if __name__ == "__main__":
    role, config, *rest = sys.argv[1:]
    writer(config, int(rest[0]), *rest[1:]) if role == "writer" else reader(config, *rest)
