"""`seedwatch reextract` as a Prefect flow: the flow process stays the warehouse's only writer.
Orchestration only; the work is seedwatch.reextract.reextract."""
from __future__ import annotations

from datetime import datetime

from prefect import flow

from flows import heartbeats  # noqa: F401 - flow runs end without waiting for the heartbeat thread
from seedwatch.config import load_config
from seedwatch.reextract import reextract


@flow(name="seedwatch-reextract", log_prints=False)
def reextract_flow(config_path: str = "seedwatch.toml", since: str | None = None) -> dict:
    """Run the current extractor on the archived raw pages; upgrade the stored texts."""
    when = datetime.fromisoformat(since) if since else None
    report = reextract(load_config(config_path), since=when)
    return {"examined": report.examined, "upgraded": report.upgraded, "unchanged": report.unchanged,
            "kept": report.kept, "missing": report.missing, "errors": report.errors}
