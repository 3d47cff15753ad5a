"""Where the flow's CPU-heavy stage (extraction) runs: local worker processes, or a Dask cluster.

`[runner] dask_address` in the config decides:

* empty (the default): the local process pool of `extractors.pool`, one process per core;
* `"local"`: a `distributed.LocalCluster` started for the run (one single-threaded worker
  process per core), used through prefect-dask's `DaskTaskRunner`;
* `"tcp://host:8786"`: an existing Dask scheduler (workers started with `dask worker ...` on
  other machines, with seedwatch installed), through the same task runner.

On Dask, pages go out in Prefect tasks of `[runner] batch_size` pages (`extract-pages`), so the
per-task cost of Prefect and Dask (tens of ms) is paid once per many pages. Everything else
(fetching, scoring, the single warehouse writer) stays in the flow's process.

Both backends have the same two calls: `submit(pages)` queues a batch and returns a handle at
once; `result(handle)` waits for its extractions, in page order.
"""
from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from extractors import pool
from extractors.article import extract_many
from seedwatch.config import Config

Pages = list[tuple[bytes, "str | None"]]


@task(name="extract-pages", cache_policy=NO_CACHE, persist_result=False, retries=1)
def extract_pages_task(pages: Pages) -> list[dict[str, Any]]:
    """Text and metadata of a chunk of pages (runs on a Dask worker)."""
    return extract_many(pages)


class LocalExtractor:
    """Worker processes on this machine (`extractors.pool`)."""

    name = "local processes"
    submits_tasks = False  # plain process-pool futures: usable from inside a Prefect task

    def __init__(self, workers: int = 0):
        self.workers = workers

    def __enter__(self) -> "LocalExtractor":
        pool.warm_up(self.workers)  # workers start while the feeds are polled
        return self

    def __exit__(self, *exc: object) -> None:
        pass  # the pool outlives a run; `extractors.pool.shutdown` stops it

    def submit(self, pages: Pages) -> pool.PendingExtraction:
        return pool.submit_pages(pages, self.workers)

    def result(self, handle: pool.PendingExtraction) -> list[dict[str, Any]]:
        return handle.result()


def dask_task_runner(address: str, workers: int = 0):
    """The prefect-dask task runner for `[runner] dask_address` ("local" or a scheduler address)."""
    from prefect_dask import DaskTaskRunner
    if address == "local":
        return DaskTaskRunner(cluster_class="distributed.LocalCluster", cluster_kwargs={
            "n_workers": workers or pool.default_workers(), "threads_per_worker": 1,
            "processes": True, "dashboard_address": None})
    return DaskTaskRunner(address=address)


class DaskExtractor:
    """Extraction as Prefect tasks on a Dask cluster, `batch_size` pages per task."""

    submits_tasks = True  # submitted through the flow's task runner: from the flow only

    def __init__(self, address: str, batch_size: int = 50, workers: int = 0):
        self.address, self.batch_size = address, max(1, batch_size)
        self.runner = dask_task_runner(address, workers)
        self.name = f"dask ({address})"

    def __enter__(self) -> "DaskExtractor":
        self.runner.__enter__()
        self.runner.client  # noqa: B018 - connect (or start the LocalCluster) now, not mid-batch
        return self

    def __exit__(self, *exc: object) -> None:
        self.runner.__exit__(*exc)

    def submit(self, pages: Pages) -> list[Any]:
        return [self.runner.submit(extract_pages_task, parameters={"pages": part})
                for part in pool.chunks(pages, self.batch_size)]

    def result(self, handle: list[Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for future in handle:
            out.extend(future.result())
        return out


def extractor_for(cfg: Config) -> LocalExtractor | DaskExtractor:
    """The extraction backend the config asks for (use as a context manager within a flow run)."""
    if cfg.runner.dask_address:
        return DaskExtractor(cfg.runner.dask_address, cfg.runner.batch_size, cfg.extract.workers)
    return LocalExtractor(cfg.extract.workers)
