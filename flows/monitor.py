"""The monitoring cycle as a Prefect flow. Orchestration only: each task calls one plain
function of `seedwatch.pipeline`, which holds the logic and is tested without Prefect."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from extractors.pool import shutdown as shutdown_pool
from flows import heartbeats  # noqa: F401 - flow runs end without waiting for the heartbeat thread
from flows.runners import extractor_for
from seedwatch import pipeline
from seedwatch.config import Config, load_config
from seedwatch.pipeline import RunSummary, timed
from warehouse.runlock import RunLocked, run_lock

# Coarse tasks: Prefect costs milliseconds per task, so one task handles many feeds or pages.
# Big arguments (the config with every feed, feed states, polls, pages) are passed in quote():
# Prefect would otherwise walk every object in them twice per task call, looking for futures
# (measured: about 1 ms of the flow process's CPU a page at 1,000 feeds).
_task = dict(cache_policy=NO_CACHE, persist_result=False)


@task(name="ingest-inbox", **_task)
def ingest_inbox(cfg: Config, run_id: str):
    return pipeline.ingest_inbox(pipeline.warehouse_for(cfg), run_id)


@task(name="register-feeds", **_task)
def register_feeds(cfg: Config, run_id: str) -> list[dict]:
    return pipeline.register_feeds(pipeline.warehouse_for(cfg), cfg, run_id)


@task(name="poll-feeds", **_task)
def poll_feeds(cfg: Config, states: list[dict]) -> list:
    return pipeline.poll(cfg, states)


@task(name="store-entries", **_task)
def store_entries(cfg: Config, polls: list, run_id: str) -> list:
    return pipeline.store_polls(pipeline.warehouse_for(cfg), polls, run_id, cfg.schedule)


@task(name="pages", **_task)
def collect_pages(cfg: Config, extractor: Any, summary: RunSummary, deadline: float | None,
                  detectors: list) -> None:
    """Every pending entry's page: fetched, extracted on the workers, scored and stored, batch
    by batch (one task for the whole stage: Prefect's cost per task run, in this process and
    on its server, was paid twice a batch)."""
    pipeline.process_pending(cfg, pipeline.warehouse_for(cfg), extractor, summary, deadline,
                             detectors, get_run_logger())


@task(name="retry-pages", **_task)
def retry_pages(cfg: Config, detectors: list, run_id: str, extractor: Any,
                deadline: float | None = None) -> int:
    wh = pipeline.warehouse_for(cfg)
    return pipeline.retry_pages(wh, cfg, detectors, run_id,
                                extract=lambda pages: extractor.result(extractor.submit(pages)),
                                deadline=deadline)


@task(name="alerts", **_task)
def send_alerts(cfg: Config):
    wh = pipeline.warehouse_for(cfg)
    pipeline.queue_alerts(wh, cfg)
    return pipeline.deliver(wh, cfg)


def run_cycle(cfg: Config) -> RunSummary:
    """One cycle: feeds, then pending entries in batches, then alerts. Called inside the flow.
    Holds the warehouse's run lock throughout (RunLocked when another process runs)."""
    with run_lock(cfg.resolve(cfg.warehouse.path)), pipeline.frozen_heap():
        wh = pipeline.warehouse_for(cfg)
        summary = RunSummary(pipeline.new_run_id(), datetime.now(timezone.utc))
        try:
            return _cycle(cfg, wh, summary)
        except BaseException as exc:
            if isinstance(exc, Exception):
                raise
            # Ctrl-C, SIGTERM: the run ends here, and says so. The exception goes on without the
            # frames below this one (Prefect keeps it in the run's final state until exit, and
            # those frames hold warehouse connections).
            pipeline.mark_interrupted(wh, summary, type(exc).__name__)
            exc.__context__ = None
            raise exc.with_traceback(None)


def _cycle(cfg: Config, wh: Any, summary: RunSummary) -> RunSummary:
    log = get_run_logger()
    pipeline.load_detectors(cfg)  # fail early on a broken topic file
    pipeline.channels_of(cfg)  # and on an alert URL whose ${SECRET} is not set
    # The run's transactions on one held connection: no open and no checkpoint per
    # transaction. One session for collecting, another for grouping and alerts: an open
    # DuckDB instance keeps what it has read cached until it is closed, and grouping 10,000
    # new articles on top of the pages stage's cache raised the flow's peak by ~70 MB. The
    # snapshot refresh (finish) opens its own.
    with wh.session():
        states = _collect(cfg, wh, summary, log)
    summary.new_matches = len(summary.matches)
    outlets = {s["feed_id"]: s.get("name") or s["url"] for s in states}
    pipeline.name_outlets(summary.matches, outlets)
    with timed(summary, "alerts"), wh.session():
        report = send_alerts(quote(cfg))
    summary.alerts_sent, summary.alerts_failed = report.sent, report.failed
    summary.alert_errors = report.errors
    with timed(summary, "finish"):
        pipeline.finish(wh, cfg, summary)
    log.info("run %s: %d new articles, %d matches, %d alerts sent, %d failed (stages: %s)",
             summary.run_id, summary.new_articles, summary.new_matches, report.sent, report.failed,
             summary.stage_seconds)
    return summary


def _collect(cfg: Config, wh: Any, summary: RunSummary, log: Any) -> list[dict]:
    """Inbox, feeds and pages: what a run collects. Returns the feeds' states."""
    # Extraction workers (or the Dask client) start here, while the feeds are polled.
    with extractor_for(cfg) as extractor:
        with timed(summary, "inbox"):
            inbox = ingest_inbox(quote(cfg), summary.run_id)
        summary.feedback_ingested, summary.requests_applied = inbox.feedback, inbox.requests
        # The detectors with the analyst's labels (just taken in): the same for the whole run,
        # read once rather than once a batch (each read opens the warehouse file).
        detectors = pipeline.load_detectors(cfg, wh)
        with timed(summary, "feeds"):
            states = register_feeds(quote(cfg), summary.run_id)
            polls = poll_feeds(quote(cfg), quote(states))
            summary.feeds = store_entries(quote(cfg), quote(polls), summary.run_id)
            del polls  # the feeds' bodies and parsed entries: stored now, not needed again
        summary.new_entries = sum(f.new_entries for f in summary.feeds)
        log.info("feeds: %d polled %s, %d new entries", len(summary.feeds), summary.counts(),
                 summary.new_entries)
        if summary.feed_warning():
            log.warning(summary.feed_warning())
        # One time budget for all page fetching of the run (`[fetch] page_budget_seconds`).
        deadline = pipeline.page_deadline(cfg)
        # On Dask, extraction is itself Prefect tasks, which must be submitted from the flow
        # (a task's context does not pickle): the page stages run in the flow there.
        if extractor.submits_tasks:
            pages, retries, wrap = collect_pages.fn, retry_pages.fn, (lambda x: x)
        else:
            pages, retries, wrap = collect_pages, retry_pages, quote
        with timed(summary, "pages"):
            pages(wrap(cfg), wrap(extractor), wrap(summary), deadline, wrap(detectors))
        with timed(summary, "page_retries"):
            summary.pages_upgraded = retries(wrap(cfg), wrap(detectors), summary.run_id,
                                             wrap(extractor), deadline)
        summary.page_budget_used_up = not pipeline.budget_left(deadline)
        if summary.page_budget_used_up:
            log.warning("page budget of %.0f s used up: %d pages wait for the next run, slow ones "
                        "are in the page-retry queue; alerts go out for what is stored",
                        cfg.fetch.page_budget_seconds, summary.pages_deferred)
    return states


@flow(name="seedwatch-monitor", log_prints=True)
def monitor(config_path: str = "seedwatch.toml") -> dict:
    """Fetch the configured feeds, store new articles with their scores, and alert on matches."""
    try:
        summary = run_cycle(load_config(config_path))
    except RunLocked as exc:  # a scheduled run while another process runs: skip this one
        get_run_logger().warning("%s; this run is skipped", exc)
        return {"skipped": str(exc)}
    finally:
        # Worker processes are not left idle between runs: a served flow run is itself a child
        # process, and multiprocessing would wait for the pool's workers before it could exit.
        shutdown_pool()
    return summary.as_dict()
