"""`seedwatch run`, `serve` and `demo`: the commands that run the Prefect flow.

Each holds the warehouse's run lock (`warehouse.runlock`) before Prefect starts, so a second
run on the same warehouse stops at once with a line naming the first (or waits, with
`--wait`), and runs against a Prefect API of its own (`seedwatch.prefect_env.local_api`)
unless PREFECT_API_URL names one.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from seedwatch.config import load_config

EXIT_ALL_FEEDS_FAILED = 1


class Interrupted(Exception):
    """Ctrl-C or SIGTERM ended a run; the message says what was kept."""

    exit_status = 130


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _waiting(warehouse: Path):
    from warehouse.runlock import describe_holder
    return lambda holder: _say(f"seedwatch: waiting for the run on {warehouse}: {describe_holder(holder)}")


def feed_warning_of(summary: dict[str, Any]) -> str | None:
    from seedwatch.pipeline import feed_warning
    counts: dict[str, int] = {}
    for f in summary.get("feeds", []):
        counts[f["outcome"]] = counts.get(f["outcome"], 0) + 1
    return feed_warning(counts)


def _locked_flow_run(warehouse: Path, wait: bool, start, interrupted: str) -> dict[str, Any]:
    """Run `start()` (a flow) under the warehouse's run lock and a local Prefect API; Ctrl-C
    becomes `Interrupted(interrupted)`."""
    from seedwatch.prefect_env import local_api
    from warehouse.runlock import run_lock
    try:
        with run_lock(warehouse, wait=wait, on_wait=_waiting(warehouse)), local_api():
            return start()
    except KeyboardInterrupt:
        raise Interrupted(interrupted) from None


def _report(summary: dict[str, Any], after=None) -> int:
    """Print the run summary (and `after()`), then warn and exit 1 when every feed failed."""
    from seedwatch.report import print_summary
    print_summary(summary)
    if after is not None:
        after()
    warning = feed_warning_of(summary)
    if warning:
        _say(f"seedwatch: warning: {warning}")
        return EXIT_ALL_FEEDS_FAILED
    return 0


def run_command(config: str, wait: bool = False) -> int:
    from seedwatch.checks import check_config
    cfg = load_config(config)
    check_config(cfg)

    def start():
        from flows.monitor import monitor
        return monitor(config_path=str(Path(config).resolve()))

    summary = _locked_flow_run(
        cfg.resolve(cfg.warehouse.path), wait, start,
        "interrupted: the run is marked `interrupted` in run_history; what it stored is kept, "
        "and the next run continues from there")
    return _report(summary)


def serve_command(config: str) -> int:
    from flows.serve import serve
    from seedwatch.checks import check_config
    cfg = load_config(config)
    check_config(cfg)
    try:
        serve(str(Path(config).resolve()), cfg)
    except KeyboardInterrupt:
        pass
    _say("seedwatch serve: stopped (a run in progress is marked `interrupted` in run_history)")
    return 0


def demo_command(out: Path, port: int, serve_only: bool = False) -> int:
    from seedwatch.demo import run_demo, serve_demo
    if serve_only:
        return serve_demo(out, port)
    summary = _locked_flow_run(out / "warehouse.duckdb", True, lambda: run_demo(out, port=port),
                               "interrupted: the demo run is marked `interrupted` in run_history")
    return _report(summary, after=lambda: _demo_tables(out))


def _demo_tables(out: Path) -> None:
    from seedwatch.report import console, table
    from warehouse.db import open_connection
    from warehouse.stories import list_stories
    from warehouse.store import table_counts
    con = open_connection(out / "warehouse.duckdb", read_only=True)
    try:
        rows, counts = list_stories(con, limit=50), table_counts(con)
    finally:
        con.close()
    table("Stories in the demo news (warehouse: stories, story_articles)",
          ["first seen", "articles", "score", "outlets", "headline"],
          [(f"{r['first_seen']:%m-%d %H:%M}", str(r["article_count"]), f"{r['max_score'] or 0:.2f}",
            ", ".join(r["outlets"] or []), r["headline"]) for r in rows])
    console.print(f"warehouse {out / 'warehouse.duckdb'}: " +
                  ", ".join(f"{k} {v}" for k, v in counts.items()) +
                  f"; alerts delivered to {out / 'alerts.jsonl'}")
    from seedwatch.uicmds import ui_hint
    console.print(f"Read the stories in your browser: {ui_hint(out / 'seedwatch.toml')}")


def sleep_until_interrupted() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
