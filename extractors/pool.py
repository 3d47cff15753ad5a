"""Extraction spread over worker processes, so every core parses HTML.

One pool per process, started on first use and reused by later batches and runs. Workers are
started with `forkserver`, not `fork`: the parent runs threads (Prefect, httpx) that must not be
copied mid-lock into children.
"""
from __future__ import annotations

import atexit
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from extractors.article import extract_many

_pool: ProcessPoolExecutor | None = None
_pool_size = 0
INLINE_BELOW = 8  # tiny batches are cheaper in-process than shipped to workers


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _get_pool(workers: int) -> ProcessPoolExecutor:
    global _pool, _pool_size
    if _pool is None or _pool_size != workers:
        shutdown()
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["extractors.article"])
        _pool, _pool_size = ProcessPoolExecutor(max_workers=workers, mp_context=ctx), workers
    return _pool


def shutdown() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(cancel_futures=True)
        _pool = None


atexit.register(shutdown)


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def extract_pages(pages: list[tuple[bytes, str | None]], workers: int = 0) -> list[dict[str, Any]]:
    """Extract many pages, in order, on `workers` processes (0: one per core)."""
    workers = workers or default_workers()
    if workers <= 1 or len(pages) < INLINE_BELOW:
        return extract_many(pages)
    size = max(1, min(16, len(pages) // (workers * 4) or 1))
    pool = _get_pool(workers)
    out: list[dict[str, Any]] = []
    for part in pool.map(extract_many, chunks(pages, size)):
        out.extend(part)
    return out
