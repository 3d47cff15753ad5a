"""The monitor's stages as plain functions over the warehouse; the Prefect flow calls them.

feeds → entries → pages → articles → scores → alerts. Each stage reads what the previous one
stored and writes keyed rows, so a rerun (or a run after a crash) continues where the last
one stopped and stores nothing twice.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

from alerts.channels import Channel
from alerts.outbox import DeliveryReport, deliver_due, queue_story_alerts
from extractors.article import content_hash
from extractors.assemble import build_article
from extractors.http import DEFERRED, TEMPORARY
from extractors.feeds import FeedEntry, parse_many
from extractors.polling import FeedPoll, fetch_pages, poll_feeds
from extractors.pool import extract_pages, parse_feeds
from extractors.archive import PageArchive
from extractors.robots import RobotsPolicy
from seedwatch.config import Config, ScheduleConfig
from seedwatch.grouping import group_stored
from warehouse import store
from warehouse.db import Warehouse
from warehouse.snapshot import refresh_snapshot, remove_leftovers, snapshot_path

logger = logging.getLogger(__name__)


@dataclass
class FeedLine:
    name: str
    url: str
    outcome: str
    reason: str | None
    entries: int
    new_entries: int


@dataclass
class RunSummary:
    run_id: str
    started_at: datetime
    finished_at: datetime | None = None
    feeds: list[FeedLine] = field(default_factory=list)
    new_entries: int = 0
    pages_fetched: int = 0
    pages_failed: int = 0
    pages_upgraded: int = 0  # articles whose page arrived on a retry, after a temporary failure
    pages_deferred: int = 0  # pages the page budget ran out before (they wait for the next run)
    page_budget_used_up: bool = False
    new_articles: int = 0
    new_matches: int = 0
    matches: list[dict[str, Any]] = field(default_factory=list)
    alerts_sent: int = 0
    alerts_failed: int = 0
    alert_errors: list[str] = field(default_factory=list)
    # Stored verdicts whose latest score comes from an older detector version: {version: n}.
    older_scores: dict[str, int] = field(default_factory=dict)
    # Taken in from the UI's inbox (warehouse/feedback.py): feedback rows, requests applied.
    feedback_ingested: int = 0
    requests_applied: int = 0
    # Wall seconds per stage (feeds, fetch_pages, extract_wait, store, alerts, finish).
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        by: dict[str, int] = {}
        for f in self.feeds:
            by[f.outcome] = by.get(f.outcome, 0) + 1
        return by

    def as_dict(self, brief: bool = False) -> dict[str, Any]:
        """The summary as plain data (the flow's return value). With `brief`, without the
        per-feed lines and the matches (the `runs` row). Built field by field: the values are
        flat, and `dataclasses.asdict` deep-copied every match for nothing (3% of the flow
        process's CPU at 4,000 pages)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name in ("alert_errors", "older_scores", "stage_seconds"):
            out[name] = type(out[name])(out[name])
        if brief:
            del out["feeds"], out["matches"]
        else:
            out["feeds"] = [dict(vars(f)) for f in self.feeds]
            out["matches"] = [dict(m) for m in self.matches]
        return out

    def feed_warning(self) -> str | None:
        return feed_warning(self.counts())


def feed_warning(counts: dict[str, int]) -> str | None:
    """A one-line warning when no feed gave anything in a run: every fetched feed failed, or
    none was fetched at all (all backing off or disabled). None when some feed answered."""
    total = sum(counts.values())
    if not total or counts.get("ok", 0) or counts.get("not_modified", 0):
        return None
    failed, skipped = counts.get("failed", 0), counts.get("skipped", 0)
    if failed:
        return (f"every feed failed in this run ({failed} failed"
                + (f", {skipped} not due" if skipped else "")
                + "): is the network or the news site reachable? Reasons: seedwatch feeds list")
    return (f"no feed was fetched: all {skipped} are backing off after failures or disabled "
            "(see seedwatch feeds list; seedwatch feeds enable URL fetches one again)")


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def warehouse_for(cfg: Config) -> Warehouse:
    return Warehouse(cfg.resolve(cfg.warehouse.path), cfg.warehouse.lock_timeout_seconds)


# --- topics --------------------------------------------------------------------------------

@dataclass(frozen=True)
class TopicDetector:
    name: str
    threshold: float
    detector: Any

    def verdicts(self, items: Sequence[tuple[str, str, str | None]]) -> list[tuple[float, bool, dict]]:
        out = []
        for v in self.detector.score_many(items):
            out.append((float(v.score), float(v.score) >= self.threshold, v.explanation))
        return out


BUNDLED_SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def topic_files(cfg: Config) -> list[tuple[Path, float | None]]:
    """Configured topics; without any, every topic file in `seeds/` beside the config, or the
    bundled seeds."""
    if cfg.topics:
        return [(cfg.resolve(t.file), t.threshold) for t in cfg.topics]
    folder = cfg.resolve("seeds")
    folder = folder if folder.is_dir() else BUNDLED_SEEDS
    return [(p, None) for p in sorted(folder.glob("*.toml"))]


@functools.lru_cache(maxsize=16)
def _detector(path: str, mtime: float, threshold: float | None,
              feedback: tuple[tuple[str, str, bool], ...] = ()) -> tuple[Any, Any]:
    from detection import Detector, load_topic
    topic = load_topic(path)
    return topic, Detector(topic, threshold=threshold, feedback=feedback)


def load_detectors(cfg: Config, wh: Warehouse | None = None) -> list[TopicDetector]:
    """One detector per configured topic, built once per process and topic file version. A
    `[[topics]] threshold` is given to the detector, so verdicts record the one applied.
    With the warehouse `wh` (the flow, rescore), each detector is adapted to the analyst's
    labels stored for its topic (seedwatch ui's "relevant" / "not relevant")."""
    out = []
    for path, threshold in topic_files(cfg):
        mtime = path.stat().st_mtime if path.exists() else 0.0
        topic, det = _detector(str(path), mtime, threshold)
        if wh is not None:
            labels = analyst_labels(wh, topic.name)
            if labels:
                topic, det = _detector(str(path), mtime, threshold, labels)
        out.append(TopicDetector(topic.name, det.threshold, det))
    return out


def analyst_labels(wh: Warehouse, topic: str) -> tuple[tuple[str, str, bool], ...]:
    """(title, text, relevant) of the labels stored for the topic, oldest first."""
    from warehouse.feedback import has_feedback_tables, labelled_items
    if not Path(wh.path).exists():
        return ()
    with wh.transaction() as con:
        if not has_feedback_tables(con):
            return ()
        items = labelled_items(con, topic)
    return tuple((title, text, label == "relevant") for _id, title, text, _lang, label, _at in items)


# --- stage 0: the analyst's inbox ----------------------------------------------------------

def ingest_inbox(wh: Warehouse, run_id: str) -> Any:
    """Take in the feedback and requests the web UI queued since the last run (one
    transaction; idempotent), before the feeds, so a feed enabled again is fetched now."""
    from warehouse.feedback import ingest_inbox as take_in
    with wh.transaction() as con:
        return take_in(con, wh.path, run_id)


# --- stage 1: feeds ------------------------------------------------------------------------

def register_feeds(wh: Warehouse, cfg: Config, run_id: str) -> list[dict[str, Any]]:
    remove_leftovers(wh.path)  # a snapshot copy half-written by a run that failed or was killed
    with wh.transaction() as con:
        store.upsert_feeds(con, [dataclasses.asdict(f) for f in cfg.feeds])
        store.start_run(con, run_id)
        store.close_abandoned_runs(con, run_id)  # the caller holds the run lock: they are dead
        states = store.feed_states(con, [f.url for f in cfg.feeds])
    return [states[f.url] for f in cfg.feeds]


def poll(cfg: Config, states: list[dict[str, Any]], now: datetime | None = None) -> list[FeedPoll]:
    """Poll the feeds that are due (schedule, backoff), within robots.txt."""
    robots = robots_policy(cfg)
    polls = poll_feeds(cfg.fetch, states, now=now, robots=robots,
                       max_interval=cfg.schedule.max_feed_interval_minutes, parse=feed_parser(cfg))
    save_robots(cfg, robots)
    return polls


def feed_parser(cfg: Config) -> Any:
    """How polled feeds are parsed: on the local extraction workers (idle until pages come),
    or, with a Dask cluster for extraction (`[runner] dask_address`), in this process."""
    if cfg.runner.dask_address:
        return parse_many
    return lambda feeds: parse_feeds(feeds, cfg.extract.workers)


# robots.txt policies by warehouse file: loaded from the warehouse once per process, then kept.
_ROBOTS: dict[str, RobotsPolicy] = {}


def robots_policy(cfg: Config) -> RobotsPolicy | None:
    """The robots.txt cache of this warehouse, or None when `[fetch] respect_robots = false`."""
    if not cfg.fetch.respect_robots:
        return None
    where = str(cfg.resolve(cfg.warehouse.path))
    policy = _ROBOTS.get(where)
    if policy is None or policy.cache_for != timedelta(hours=cfg.fetch.robots_cache_hours):
        policy = RobotsPolicy(cfg.fetch.robots_cache_hours)
        with warehouse_for(cfg).connect() as con:
            policy.load(store.robots_entries(con))
        _ROBOTS[where] = policy
    return policy


def save_robots(cfg: Config, robots: RobotsPolicy | None) -> None:
    """Store the robots.txt files fetched since the last save (the cache outlives the process)."""
    rows = robots.take_new() if robots is not None else []
    if rows:
        with warehouse_for(cfg).transaction() as con:
            store.save_robots(con, rows)


def _entry_row(p: FeedPoll, e: FeedEntry, run_id: str, now: datetime) -> dict[str, Any]:
    return {"feed_id": p.feed_id, "guid": e.guid, "link": e.link, "canonical_url": e.canonical_url,
            "title": e.title, "summary": e.summary, "content": e.content, "language": e.language,
            "published": e.published, "published_note": e.published_note, "first_seen": now,
            "run_id": run_id}


def _fetch_row(run_id: str, kind: str, res: Any, feed_id: str | None, outcome: str | None = None,
               error: str | None = None, error_class: str | None = None) -> dict[str, Any]:
    return {"run_id": run_id, "kind": kind, "url": res.url, "feed_id": feed_id, "status": res.status,
            "outcome": outcome or res.outcome, "error_class": error_class or res.error_class,
            "error": error or res.error, "bytes": res.nbytes, "duration_ms": res.duration_ms,
            "fetched_at": res.fetched_at}


def store_polls(wh: Warehouse, polls: list[FeedPoll], run_id: str,
                schedule: ScheduleConfig | None = None, now: datetime | None = None) -> list[FeedLine]:
    """Fetch log, new feed state (with its next poll) and entries of every polled feed, in one
    transaction."""
    now = now or datetime.now(timezone.utc)
    schedule = schedule or ScheduleConfig()
    fetches, states, entries = [], [], []
    for p in polls:
        if p.fetch is not None:
            failed = p.outcome == "failed" and p.fetch.outcome == "ok"  # fetched, but not a feed
            fetches.append(_fetch_row(run_id, "feed", p.fetch, p.feed_id, p.outcome,
                                      p.reason if failed else None, "permanent" if failed else None))
        if p.state is not None:
            states.append(p.state)
        entries += [_entry_row(p, e, run_id, now) for e in p.entries]
    with wh.transaction() as con:
        store.log_fetches(con, fetches)
        added = store.insert_entries_by_feed(con, entries)  # one statement for all feeds
        for p in polls:  # the next poll follows the new entries just counted
            if p.state is not None:
                p.state.update(next_poll(p, added.get(p.feed_id, 0), now, schedule))
        store.update_feed_states(con, states)
    return [FeedLine(p.name or p.url, p.url, p.outcome, p.reason or p.warning, len(p.entries),
                     added.get(p.feed_id, 0)) for p in polls]


def next_poll(p: FeedPoll, new_entries: int, now: datetime, sched: ScheduleConfig) -> dict[str, Any]:
    """Schedule columns of a polled feed (extractors.schedule)."""
    from extractors.schedule import schedule
    outcome = p.outcome if p.fetch is not None else "failed"
    return schedule(p.prior or {}, outcome, new_entries, now, sched.min_feed_interval_minutes,
                    sched.max_feed_interval_minutes, p.declared_interval_minutes,
                    [e.published for e in p.entries])


# --- stage 2: pages, articles, scores ------------------------------------------------------

@dataclass
class BatchResult:
    articles: int = 0
    pages_fetched: int = 0
    pages_failed: int = 0
    matches: list[dict[str, Any]] = field(default_factory=list)


def next_pending(wh: Warehouse, limit: int, after: tuple[Any, str] | None = None
                 ) -> list[dict[str, Any]]:
    """Up to `limit` pending entries; with `after`, those after that (first_seen, entry_id)."""
    with wh.connect() as con:
        return store.pending_entries(con, limit, after)


def pending_cursor(pending: list[dict[str, Any]]) -> tuple[Any, str] | None:
    """The `after` argument of `next_pending` for the batch following `pending`."""
    return (pending[-1]["first_seen"], pending[-1]["entry_id"]) if pending else None


def _as_entry(row: dict[str, Any]) -> FeedEntry:
    return FeedEntry(row["guid"], row["link"], row["article_url"], row["title"] or "",
                     row["summary"] or "", row["content"] or "", row["published"], row["language"],
                     row.get("published_note"))


def page_deadline(cfg: Config, started: float | None = None) -> float | None:
    """The `time.time()` by which a run stops waiting for pages (`[fetch] page_budget_seconds`
    from `started`, the start of its page stage), or None without a budget."""
    budget = cfg.fetch.page_budget_seconds
    return None if budget <= 0 else (started if started is not None else time.time()) + budget


def budget_left(deadline: float | None) -> bool:
    return deadline is None or time.time() < deadline


def fetch_batch(cfg: Config, pending: list[dict[str, Any]], deadline: float | None = None
                ) -> dict[str, Any]:
    """The pages of the pending entries that have a link, by link; with `deadline`, pages
    still loading then are failed (temporary) and those not started are `deferred`."""
    links = list(dict.fromkeys(r["link"] for r in pending if r["canonical_url"]))
    robots = robots_policy(cfg)
    pages = {res.url: res for res in fetch_pages(cfg.fetch, links, deadline, robots)}
    save_robots(cfg, robots)
    archive_pages(cfg, pages)
    return pages


def archive_for(cfg: Config, even_if_disabled: bool = False) -> PageArchive | None:
    """The raw page archive (`[archive]`), or None when it is off."""
    if not cfg.archive.enabled and not even_if_disabled:
        return None
    if cfg.archive.path:
        return PageArchive(cfg.resolve(cfg.archive.path))
    wh = cfg.resolve(cfg.warehouse.path)
    return PageArchive(wh.with_name(f"{wh.stem}.archive"))


def archive_pages(cfg: Config, pages: dict[str, Any]) -> None:
    """Write the bodies of the pages fetched fine to the WARC archive; each page then carries
    where (`archived`), and its article's store adds the row to `page_archive`."""
    archive = archive_for(cfg)
    if archive is None:
        return
    try:
        written = archive.write(pages.values())
    except OSError as exc:  # a full disk, a folder that cannot be written: the run goes on
        logger.warning("raw page archive not written (%s): these pages are stored unarchived",
                    str(exc)[:200])
        return
    for link, where in written.items():
        pages[link].archived = where


def pages_to_extract(pages: dict[str, Any]) -> tuple[list[str], list[tuple[bytes, str | None]]]:
    """(links, (html, final URL) pairs) of the pages fetched fine, for the extractor."""
    ok = [(link, res) for link, res in pages.items() if res.outcome == "ok"]
    return [link for link, _ in ok], [(res.content or b"", res.final_url) for _, res in ok]


def build_articles(cfg: Config, pending: list[dict[str, Any]], run_id: str,
                   deadline: float | None = None
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Fetch and extract the pages of pending entries; (article rows, page fetch-log rows)."""
    pages = fetch_batch(cfg, pending, deadline)
    links, todo = pages_to_extract(pages)
    extracted = dict(zip(links, extract_pages(todo, cfg.extract.workers)))
    return assemble_articles(cfg, pending, pages, extracted, run_id)


def assemble_articles(cfg: Config, pending: list[dict[str, Any]], pages: dict[str, Any],
                      extracted: dict[str, dict[str, Any]], run_id: str
                      ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Article rows and page fetch-log rows from fetched pages and their extraction, by link.
    An entry whose page was deferred (the page budget ran out first) gets no article: it stays
    pending for the next run."""
    now = datetime.now(timezone.utc)
    articles, log = [], []
    for row in pending:
        page = pages.get(row["link"]) if row["canonical_url"] else None
        if page is not None and page.outcome == DEFERRED:
            continue
        ex = extracted.get(row["link"])
        art = build_article(_as_entry(row), row["feed_id"], page, ex, cfg.extract.min_chars, run_id, now)
        if getattr(page, "archived", None):
            art["archived"] = page.archived
        if page is not None and page.outcome == "failed" and page.error_class == TEMPORARY:
            art["retry_link"] = row["link"]  # stored with the feed's text; the page comes later
        articles.append(art)
        if page is not None:
            err = ex.get("error") if ex and not ex.get("text") else None
            log.append(_fetch_row(run_id, "page", page, row["feed_id"],
                                  "failed" if err else None, err, "permanent" if err else None))
    return articles, log


def score_articles(detectors: list[TopicDetector], articles: list[dict[str, Any]]
                   ) -> list[dict[str, Any]]:
    now = datetime.now(timezone.utc)
    items = [(a["title"] or "", a["text"] or "", a["language"]) for a in articles]
    rows = []
    for td in detectors:
        for art, (score, decision, why) in zip(articles, td.verdicts(items)):
            rows.append({"article_id": store.article_key(art["canonical_url"]), "topic": td.name,
                         "score": score, "decision": decision, "explanation": why,
                         "detector_version": getattr(td.detector, "version", "unknown"),
                         "scored_at": now})
    return rows


def process_batch(wh: Warehouse, cfg: Config, detectors: list[TopicDetector],
                  pending: list[dict[str, Any]], run_id: str, deadline: float | None = None
                  ) -> BatchResult:
    """Pages → articles → scores for one batch, stored in one transaction."""
    articles, log = build_articles(cfg, pending, run_id, deadline)
    return store_batch(wh, detectors, articles, log)


def store_batch(wh: Warehouse, detectors: list[TopicDetector], articles: list[dict[str, Any]],
                log: list[dict[str, Any]]) -> BatchResult:
    """Score a batch of built articles and store articles, scores and page log in one
    transaction (which also takes the entries off the pending queue)."""
    scores = score_articles(detectors, articles)
    now = datetime.now(timezone.utc)
    retries = [{"article_id": store.article_key(a["canonical_url"]), "link": a["retry_link"],
                "attempts": 0, "next_attempt_at": now + PAGE_RETRY_BASE, "last_error": None,
                "created_at": now} for a in articles if a.get("retry_link")]
    archived = [{**a["archived"], "article_id": store.article_key(a["canonical_url"]),
                 "run_id": a.get("run_id")} for a in articles if a.get("archived")]
    with wh.transaction() as con:
        store.log_fetches(con, log)
        added = store.insert_articles(con, articles)
        store.insert_scores(con, scores)
        store.schedule_page_retries(con, retries)
        store.index_archived_pages(con, archived)
        group_stored(con, articles, now)  # near-duplicates now, not all at the run's end
    by_id = {store.article_key(a["canonical_url"]): a for a in articles}
    matches = [match_line(by_id[s["article_id"]], s) for s in scores if s["decision"]]
    failed = sum(1 for r in log if r["outcome"] != "ok")
    return BatchResult(added, len(log) - failed, failed, matches)


# What a run's summary keeps of each match: enough to list it (`seedwatch run` prints score,
# topic, outlet and title). The text and the explanation stay in the warehouse; carried in
# the flow's return value they cost the flow process a walk over every explanation.
MATCH_FIELDS = ("article_id", "topic", "score", "decision", "detector_version", "title", "url",
                "canonical_url", "feed_id", "site", "published", "language", "text_source")


def match_line(article: dict[str, Any], score: dict[str, Any]) -> dict[str, Any]:
    """A match as the run summary lists it (MATCH_FIELDS, the score's over the article's)."""
    return {k: score[k] if k in score else article.get(k) for k in MATCH_FIELDS}


@contextlib.contextmanager
def timed(summary: RunSummary, stage: str) -> Iterator[None]:
    """Add the wall seconds the block takes to `summary.stage_seconds[stage]`."""
    started = time.perf_counter()
    try:
        yield
    finally:
        spent = time.perf_counter() - started
        summary.stage_seconds[stage] = round(summary.stage_seconds.get(stage, 0.0) + spent, 3)


def process_pending(cfg: Config, wh: Warehouse, extractor: Any, summary: RunSummary,
                    deadline: float | None = None, detectors: list[TopicDetector] | None = None,
                    log: Any = None) -> None:
    """Pending entries in batches of `[fetch] batch_size`, as a pipeline two batches deep:
    while the workers extract batch N, this process stores batch N-1 and fetches batch N+1,
    then queues N+1 behind N, so the workers never wait for fetching or storing. Each batch
    is still stored in one transaction, in order; at most two batches of pages are held.
    Once the page budget (`deadline`) is used up no further batch is started: the entries
    left wait, pending, for the next run. `extractor` has `submit(pages)` and `result(handle)`
    (`flows.runners`); counts and matches are added to `summary`."""
    log = log or logger
    detectors = detectors if detectors is not None else load_detectors(cfg, wh)

    def start(after: Any) -> tuple | None:
        if not budget_left(deadline):
            return None
        with timed(summary, "next_pending"):
            pending = next_pending(wh, cfg.fetch.batch_size, after)
        if not pending:
            return None
        with timed(summary, "fetch_pages"):
            pages = fetch_batch(cfg, pending, deadline)
        summary.pages_deferred += sum(1 for p in pages.values() if p.outcome == DEFERRED)
        links, todo = pages_to_extract(pages)
        return pending, pages, links, extractor.submit(todo)

    current = start(None)
    while current is not None:
        pending, pages, links, handle = current
        current = start(pending_cursor(pending))  # overlaps this batch's extraction
        with timed(summary, "extract_wait"):
            extracted = dict(zip(links, extractor.result(handle)))
        with timed(summary, "store"):  # overlaps the next batch's extraction
            articles, fetch_log = assemble_articles(cfg, pending, pages, extracted, summary.run_id)
            batch = store_batch(wh, detectors, articles, fetch_log)
        summary.new_articles += batch.articles
        summary.pages_fetched += batch.pages_fetched
        summary.pages_failed += batch.pages_failed
        summary.matches += batch.matches
        del pages, extracted, articles  # this batch's bodies and texts: stored
        trim_memory()
        log.info("articles: %d stored (%d pages, %d page failures), %d matches so far",
                 summary.new_articles, summary.pages_fetched, summary.pages_failed, len(summary.matches))


# --- stage 2b: pages that failed for a while --------------------------------------------------

PAGE_RETRY_BASE = timedelta(minutes=5)
PAGE_RETRY_MAX_ATTEMPTS = 4  # retries after 5, 10, 20 and 40 minutes, then the feed text stays


@functools.lru_cache(maxsize=1)
def _libc() -> Any:
    import ctypes
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        return libc
    except (OSError, AttributeError):  # not glibc: nothing to give back this way
        return None


def trim_memory() -> None:
    """Hand the heap memory freed by a batch (page bodies, parsed trees, Arrow buffers) back to
    the operating system, so the run's resident size follows what it holds rather than the
    high-water mark of a fragmented heap (glibc only; elsewhere a no-op)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the objects that exist when a run starts (modules, Prefect's client, the
    detectors: hundreds of thousands) out of the garbage collector's full passes while the
    run lasts. Each full pass walked all of them, ~50 ms, seven times in a 10,000-page run;
    now it walks what the run itself made. They go back to the oldest generation when the
    run ends, so what became garbage among them is collected as usual after it."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def retry_pages(wh: Warehouse, cfg: Config, detectors: list[TopicDetector], run_id: str,
                extract: Any = None, deadline: float | None = None) -> int:
    """Fetch again the pages that failed with a temporary error; when one arrives, upgrade
    its article's text and score it again (a late match is then grouped and alerted like any
    other). Returns how many articles were upgraded. Within the run's page budget
    (`deadline`): none are tried once it is used up, and those it cuts short count as a failed
    attempt."""
    now = datetime.now(timezone.utc)
    if not budget_left(deadline):
        return 0
    with wh.connect() as con:
        due = store.due_page_retries(con, now, cfg.fetch.batch_size)
    if not due:
        return 0
    robots = robots_policy(cfg)
    pages = {r.url: r for r in fetch_pages(cfg.fetch, [d["link"] for d in due], deadline, robots)}
    save_robots(cfg, robots)
    due = [d for d in due if pages[d["link"]].outcome != DEFERRED]  # not tried: still due
    archive_pages(cfg, pages)
    links, todo = pages_to_extract(pages)
    run = extract or (lambda items: extract_pages(items, cfg.extract.workers))
    extracted = dict(zip(links, run(todo)))
    upgrades, again, done, log = [], [], [], []
    archived = []
    for d in due:
        page, ex = pages[d["link"]], extracted.get(d["link"]) or {}
        log.append(_fetch_row(run_id, "page", page, d["feed_id"]))
        if getattr(page, "archived", None):
            archived.append({**page.archived, "article_id": d["article_id"], "run_id": run_id})
        if len(ex.get("text") or "") >= cfg.extract.min_chars:
            upgrades.append(_upgrade_row(d, page, ex))
            done.append(d["article_id"])
        elif d["attempts"] + 1 >= PAGE_RETRY_MAX_ATTEMPTS or page.error_class != TEMPORARY:
            done.append(d["article_id"])  # given up: the feed's text stays
        else:
            again.append({"article_id": d["article_id"], "attempts": d["attempts"] + 1,
                          "next_attempt_at": now + PAGE_RETRY_BASE * 2 ** (d["attempts"] + 1),
                          "last_error": page.error or ex.get("error")})
    by_id = {d["article_id"]: d for d in due}
    scores = score_articles(detectors, [{**by_id[u["article_id"]], **u} for u in upgrades])
    with wh.transaction() as con:
        store.log_fetches(con, log)
        store.upgrade_articles(con, upgrades)
        store.replace_scores(con, scores)
        store.finish_page_retries(con, done, again)
        store.index_archived_pages(con, archived)
    return len(upgrades)


def _upgrade_row(due: dict[str, Any], page: Any, ex: dict[str, Any]) -> dict[str, Any]:
    return {"article_id": due["article_id"], "url": page.final_url, "text": ex["text"],
            "text_source": "page", "extractor": ex.get("extractor"), "author": ex.get("author"),
            "site": ex.get("site"), "content_hash": content_hash(ex["text"]), "fallback_reason": None}


# --- stage 3: alerts -----------------------------------------------------------------------

def name_outlets(matches: list[dict[str, Any]], outlets: dict[str, str]) -> None:
    """Label each match with the name of the feed it came from (the outlet readers know)."""
    for m in matches:
        m["outlet"] = outlets.get(m.get("feed_id")) or m.get("site")


def channels_of(cfg: Config) -> list[Channel]:
    return [Channel(url, a.mode, a.name) for a, url in zip(cfg.alerts, cfg.alert_urls())]


def update_stories(wh: Warehouse, cfg: Config) -> Any:
    """Duplicate groups for new articles, then new matches into stories (seedwatch.grouping)."""
    from seedwatch.grouping import lexicons_of, update_stories as group_and_place
    return group_and_place(wh, lexicons_of(load_detectors(cfg)))


def queue_alerts(wh: Warehouse, cfg: Config) -> int:
    """Group stored articles into stories, then queue one alert per new story and channel
    (digests for hourly/daily channels). Works from the warehouse, not from this run's
    matches, so matches stored by a run that died are alerted too."""
    update_stories(wh, cfg)
    return queue_story_alerts(wh, channels_of(cfg), [td.name for td in load_detectors(cfg)])


def deliver(wh: Warehouse, cfg: Config) -> DeliveryReport:
    return deliver_due(wh, channels_of(cfg))


def mark_interrupted(wh: Warehouse, summary: RunSummary, why: str) -> None:
    """Close the run's row as `interrupted` (Ctrl-C, SIGTERM): what it stored so far stays, and
    the next run continues from the warehouse."""
    summary.finished_at = datetime.now(timezone.utc)
    brief = summary.as_dict(brief=True)
    brief.update(feeds=summary.counts(), interrupted=True, interrupted_by=why)
    with wh.transaction() as con:
        store.finish_run(con, summary.run_id, brief)


def finish(wh: Warehouse, cfg: Config, summary: RunSummary) -> None:
    summary.finished_at = datetime.now(timezone.utc)
    summary.older_scores = older_scores(wh, cfg)
    brief = summary.as_dict(brief=True)
    brief["feeds"] = summary.counts()
    with wh.transaction() as con:
        store.finish_run(con, summary.run_id, brief)
    prune_archive(wh, cfg)
    if changed_anything(summary) or snapshot_stale(wh, cfg):
        refresh_read_snapshot(wh, cfg)


def refresh_read_snapshot(wh: Warehouse, cfg: Config) -> None:
    """Make what was written readable (`[warehouse] snapshot`, `snapshot_mode`): after a run,
    and after `seedwatch rescore` and `seedwatch reextract`."""
    if cfg.warehouse.snapshot:
        with wh.connect() as con:
            refresh_snapshot(con, wh.path, cfg.warehouse.snapshot_mode)


def older_scores(wh: Warehouse, cfg: Config) -> dict[str, int]:
    """How many stored verdicts the current detector has not made yet, by older version."""
    from warehouse.rescore import older_versions
    detectors = load_detectors(cfg, wh)
    if not detectors:
        return {}
    version = getattr(detectors[0].detector, "version", "unknown")
    with wh.transaction() as con:
        return older_versions(con, version, [d.name for d in detectors])


def prune_archive(wh: Warehouse, cfg: Config, now: datetime | None = None) -> list[str]:
    """Delete archive day folders past `[archive] retention_days`, and their index rows."""
    archive = archive_for(cfg, even_if_disabled=True)
    days = archive.prune(cfg.archive.retention_days, now) if archive is not None else []
    if days:
        with wh.transaction() as con:
            store.forget_archive_days(con, days)
    return days


def snapshot_stale(wh: Warehouse, cfg: Config) -> bool:
    """No snapshot yet, or older than `[warehouse] snapshot_max_age_minutes`: quiet runs skip
    the copy, but feed health (a feed that recovered with a 304) must not lag for ever."""
    path = snapshot_path(wh.path)
    if not path.exists():
        return True
    age = datetime.now(timezone.utc).timestamp() - path.stat().st_mtime
    return age > cfg.warehouse.snapshot_max_age_minutes * 60


def changed_anything(summary: RunSummary) -> bool:
    """Whether a run stored something readers look for: entries, articles, alerts, or a feed
    failure. A run where every feed was unchanged (304) is not worth a snapshot: the copy costs
    time in proportion to the whole warehouse, and only fetch times and the run row differ."""
    return bool(summary.new_entries or summary.new_articles or summary.pages_upgraded
                or summary.alerts_sent or summary.feedback_ingested or summary.requests_applied
                or summary.alerts_failed or any(f.outcome == "failed" for f in summary.feeds))
