"""The monitoring cycle as a Prefect flow. Orchestration only: each task calls one plain
function of `seedwatch.pipeline`, which holds the logic and is tested without Prefect."""
from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from seedwatch import pipeline
from seedwatch.config import Config, load_config
from seedwatch.pipeline import RunSummary

# Coarse tasks: Prefect costs milliseconds per task, so one task handles many feeds or pages.
_task = dict(cache_policy=NO_CACHE, persist_result=False)


@task(name="register-feeds", **_task)
def register_feeds(cfg: Config, run_id: str) -> list[dict]:
    return pipeline.register_feeds(pipeline.warehouse_for(cfg), cfg, run_id)


@task(name="poll-feeds", **_task)
def poll_feeds(cfg: Config, states: list[dict]) -> list:
    return pipeline.poll(cfg, states)


@task(name="store-entries", **_task)
def store_entries(cfg: Config, polls: list, run_id: str) -> list:
    return pipeline.store_polls(pipeline.warehouse_for(cfg), polls, run_id)


@task(name="process-batch", **_task)
def process_batch(cfg: Config, pending: list[dict], run_id: str) -> pipeline.BatchResult:
    wh = pipeline.warehouse_for(cfg)
    return pipeline.process_batch(wh, cfg, pipeline.load_detectors(cfg), pending, run_id)


@task(name="alerts", **_task)
def send_alerts(cfg: Config, matches: list[dict], outlets: dict[str, str]):
    wh = pipeline.warehouse_for(cfg)
    pipeline.queue_alerts(wh, cfg, matches, outlets)
    return pipeline.deliver(wh, cfg)


def run_cycle(cfg: Config) -> RunSummary:
    """One cycle: feeds, then pending entries in batches, then alerts. Called inside the flow."""
    log = get_run_logger()
    wh = pipeline.warehouse_for(cfg)
    summary = RunSummary(pipeline.new_run_id(), datetime.now(timezone.utc))
    pipeline.load_detectors(cfg)  # fail early on a broken topic file
    states = register_feeds(cfg, summary.run_id)
    polls = poll_feeds(cfg, states)
    summary.feeds = store_entries(cfg, polls, summary.run_id)
    summary.new_entries = sum(f.new_entries for f in summary.feeds)
    log.info("feeds: %d polled %s, %d new entries", len(summary.feeds), summary.counts(),
             summary.new_entries)
    while pending := pipeline.next_pending(wh, cfg.fetch.batch_size):
        batch = process_batch(cfg, pending, summary.run_id)
        summary.new_articles += batch.articles
        summary.pages_fetched += batch.pages_fetched
        summary.pages_failed += batch.pages_failed
        summary.matches += batch.matches
        log.info("articles: %d stored (%d pages, %d page failures), %d matches so far",
                 summary.new_articles, summary.pages_fetched, summary.pages_failed, len(summary.matches))
        if batch.articles == 0:
            break  # nothing could be stored: leave the rest to the next run
    summary.new_matches = len(summary.matches)
    outlets = {s["feed_id"]: s.get("name") or s["url"] for s in states}
    report = send_alerts(cfg, summary.matches, outlets)
    summary.alerts_sent, summary.alerts_failed = report.sent, report.failed
    summary.alert_errors = report.errors
    pipeline.finish(wh, cfg, summary)
    log.info("run %s: %d new articles, %d matches, %d alerts sent, %d failed", summary.run_id,
             summary.new_articles, summary.new_matches, report.sent, report.failed)
    return summary


@flow(name="seedwatch-monitor", log_prints=True)
def monitor(config_path: str = "seedwatch.toml") -> dict:
    """Fetch the configured feeds, store new articles with their scores, and alert on matches."""
    summary = run_cycle(load_config(config_path))
    return summary.as_dict()
