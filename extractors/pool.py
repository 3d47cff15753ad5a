"""Extraction spread over worker processes, so every core parses HTML (and, while a run polls
its feeds and has no pages yet, parses the feeds: `parse_feeds`).

One pool per process, started on first use and reused by later batches and runs. Workers are
started with `forkserver`, not `fork`: the parent runs threads (Prefect, httpx) that must not be
copied mid-lock into children.

`submit_pages` queues a batch and returns at once, so the caller can fetch the next batch (and
store the previous one) while the workers extract: keeping a batch queued behind the one being
extracted is what keeps every core busy. `extract_pages` is the blocking form.
"""
from __future__ import annotations

import atexit
import math
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from extractors.article import extract_many
from extractors.feeds import parse_many

_pool: ProcessPoolExecutor | None = None
_pool_size = 0
INLINE_BELOW = 8  # tiny batches are cheaper in-process than shipped to workers
# Pages per task sent to a worker. Small enough that workers finish a batch together (no core
# idles on a long tail), large enough that the per-task pickling and wake-up (~0.2 ms) stays
# well under 1% of the extraction time (10-30 ms a page).
MAX_CHUNK = 8


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _get_pool(workers: int) -> ProcessPoolExecutor:
    global _pool, _pool_size
    if _pool is None or _pool_size != workers:
        shutdown()
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["extractors.article", "extractors.feeds", "trafilatura"])
        _pool, _pool_size = ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                                initializer=_ignore_interrupts), workers
    return _pool


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the run: a terminal sends SIGINT to the whole process group, and
    a worker that died of it would print a traceback and break the pool mid-batch. The run
    stops them (`shutdown`) when it ends."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def shutdown() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(cancel_futures=True)
        _pool = None


atexit.register(shutdown)


def _ready() -> int:
    return os.getpid()


def warm_up(workers: int = 0) -> None:
    """Start the worker processes now, without waiting for them (e.g. while feeds are polled),
    so the first batch does not pay their start-up."""
    workers = workers or default_workers()
    if workers > 1:
        pool = _get_pool(workers)
        for _ in range(workers):
            pool.submit(_ready)


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def chunk_size(n: int, workers: int) -> int:
    """At least four tasks per worker for a batch, at most MAX_CHUNK pages per task."""
    return max(1, min(MAX_CHUNK, math.ceil(n / (workers * 4))))


class PendingExtraction:
    """A batch queued on the pool (or already done inline); `result()` waits for it."""

    def __init__(self, futures: list[Future] | None = None, done: list[dict[str, Any]] | None = None):
        self._futures = futures or []
        self._done = done

    def result(self) -> list[dict[str, Any]]:
        if self._done is None:
            out: list[dict[str, Any]] = []
            for f in self._futures:
                out.extend(f.result())
            self._done, self._futures = out, []
        return self._done

    def cancel(self) -> None:
        for f in self._futures:
            f.cancel()


def run_many(fn: Any, items: list[Any], workers: int = 0) -> PendingExtraction:
    """Queue `fn` (a module-level function from a list of items to a list of results) over
    `items` on `workers` processes (0: one per core), in chunks; results keep the order of
    `items`. Small batches, or one worker, are done here and now."""
    workers = workers or default_workers()
    if workers <= 1 or len(items) < INLINE_BELOW:
        return PendingExtraction(done=fn(items))
    pool = _get_pool(workers)
    return PendingExtraction([pool.submit(fn, part)
                              for part in chunks(items, chunk_size(len(items), workers))])


def submit_pages(pages: list[tuple[bytes, str | None]], workers: int = 0) -> PendingExtraction:
    """Queue many pages for extraction on `workers` processes (0: one per core); results keep
    the order of `pages`. Small batches, or one worker, are extracted here and now."""
    return run_many(extract_many, pages, workers)


def extract_pages(pages: list[tuple[bytes, str | None]], workers: int = 0) -> list[dict[str, Any]]:
    """Extract many pages, in order, on `workers` processes (0: one per core)."""
    return submit_pages(pages, workers).result()


def parse_feeds(feeds: list[Any], workers: int = 0) -> list[Any]:
    """`extractors.feeds.parse_many` on the worker processes: feedparser is pure Python, and
    while a run polls its feeds the workers have no pages yet."""
    return run_many(parse_many, feeds, workers).result()
