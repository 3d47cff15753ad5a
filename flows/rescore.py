"""`seedwatch rescore` as a Prefect flow: the flow process stays the warehouse's only writer.
Orchestration only; the work is seedwatch.rescore.rescore."""
from __future__ import annotations

import dataclasses
from datetime import datetime

from prefect import flow

from flows import heartbeats  # noqa: F401 - flow runs end without waiting for the heartbeat thread
from seedwatch.config import load_config
from seedwatch.rescore import rescore


@flow(name="seedwatch-rescore", log_prints=False)
def rescore_flow(config_path: str = "seedwatch.toml", topic: str | None = None,
                 since: str | None = None) -> dict:
    """Score stored articles with the current detector; alert only on recent new stories."""
    when = datetime.fromisoformat(since) if since else None
    summary = rescore(load_config(config_path), topic=topic, since=when)
    return {**dataclasses.asdict(summary), "lines": summary.lines()}
