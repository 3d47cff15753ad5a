"""The practical limit: pages/s of trafilatura alone (our `extract_article`), on all cores.

Workers read the page files themselves, so the parent holds no page in memory and the figure
is extraction and nothing else. Pool start-up is excluded (a warm-up task per worker).
"""
from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

CHUNK = 4


def _extract_files(paths: list[str]) -> tuple[int, float]:
    """(text characters, CPU seconds of extraction alone) for a chunk of page files."""
    from extractors.article import extract_article
    chars, cpu = 0, 0.0
    for p in paths:
        # pages served by a baking server (`bench.serve`) hold its address already
        data = Path(p).read_bytes().replace(b"{{BASE}}", b"http://127.0.0.1")
        t = time.process_time()
        chars += len(extract_article(data, None).text)
        cpu += time.process_time() - t
    return chars, cpu


def _warm(_: int) -> int:
    import extractors.article  # noqa: F401
    import trafilatura  # noqa: F401
    time.sleep(0.2)  # keep this worker busy so the next warm-up task lands on another
    return 0


def extraction_limit(files: list[Path], workers: int) -> dict:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["extractors.article", "trafilatura"])
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        list(pool.map(_warm, range(workers)))
        chunks = [[str(f) for f in files[i:i + CHUNK]] for i in range(0, len(files), CHUNK)]
        started = time.perf_counter()
        done = list(pool.map(_extract_files, chunks))
        seconds = time.perf_counter() - started
    cpu = sum(c for _, c in done)
    return {"pages": len(files), "workers": workers, "seconds": round(seconds, 2),
            "pages_per_second": round(len(files) / seconds, 1),
            "cpu_ms_per_page": round(cpu / max(1, len(files)) * 1000, 2),
            "text_chars": sum(n for n, _ in done)}
