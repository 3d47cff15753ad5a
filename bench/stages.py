"""CPU per page of each stage the flow process runs itself: `python -m bench.stages [--pages N]`.

End-to-end throughput on few cores is bounded by CPU: the extraction workers spend what
trafilatura costs, and the flow's own process spends the rest (polling and parsing feeds,
fetching pages, assembling, scoring, storing, grouping into stories). This runs those stages
with the pipeline's own functions, one after the other, without Prefect and with extraction
done first in the pool (not counted), and prints the process CPU time (`time.process_time`,
not wall time, so other load on the machine does not inflate it) per page of each stage.
No profiler: cProfile multiplies the cost of call-heavy pure-Python code several times.
"""
from __future__ import annotations

import argparse
import contextlib
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.corpus import generate
from bench.serve import ServerProcess


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.stages", description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--feeds", type=int, default=500)
    ap.add_argument("--batch-size", type=int, default=200)
    args = ap.parse_args(argv)

    from extractors.pool import extract_pages, shutdown
    from seedwatch import pipeline
    from seedwatch.config import parse_config

    work = Path(tempfile.mkdtemp(prefix="seedwatch-stages-"))
    cpu: dict[str, float] = {}
    peak: dict[str, float] = {}  # peak RSS of this process (MB) once the stage has run

    def spend(stage: str, fn, *a):
        t = time.process_time()
        out = fn(*a)
        cpu[stage] = cpu.get(stage, 0.0) + time.process_time() - t
        peak[stage] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return out

    try:
        corpus = generate(work / "site", args.pages, args.feeds)
        with ServerProcess(work / "site") as base:
            cfg = parse_config({
                "warehouse": {"path": str(work / "warehouse.duckdb")},
                "fetch": {"allow_private_addresses": True, "retries": 0, "concurrency": 16, "per_host": 16},
                "feeds": [{"url": f"{base}/{f}"} for f in corpus.feeds],
                "alerts": [{"url": f"jsonfile://{work / 'alerts.jsonl'}"}],
            }, base_dir=str(work))
            wh = pipeline.warehouse_for(cfg)
            held = contextlib.ExitStack()  # as in a flow run: the file stays open throughout
            held.enter_context(wh.session())
            detectors = pipeline.load_detectors(cfg)
            run_id = pipeline.new_run_id()
            states = spend("register feeds", pipeline.register_feeds, wh, cfg, run_id)
            polls = spend("poll + parse feeds", pipeline.poll, cfg, states)
            spend("store entries", pipeline.store_polls, wh, polls, run_id)
            after = None
            while pending := spend("next pending", pipeline.next_pending, wh, args.batch_size, after):
                after = pipeline.pending_cursor(pending)
                pages = spend("fetch pages", pipeline.fetch_batch, cfg, pending)
                links, todo = pipeline.pages_to_extract(pages)
                extracted = dict(zip(links, extract_pages(todo)))  # in the pool: not counted
                articles, log = spend("assemble articles", pipeline.assemble_articles, cfg, pending,
                                      pages, extracted, run_id)
                spend("score (detection)", pipeline.score_articles, detectors, articles)
                spend("score + store batch", pipeline.store_batch, wh, detectors, articles, log)
            spend("stories + queue alerts", pipeline.queue_alerts, wh, cfg)
            report = spend("deliver alerts", pipeline.deliver, wh, cfg)
            spend("close (checkpoint)", held.close)
        shutdown()
    finally:
        shutdown_dir = work
        shutil.rmtree(shutdown_dir, ignore_errors=True)

    n = args.pages
    # "score + store batch" includes scoring again: report the store part alone.
    cpu["store batch"] = cpu.pop("score + store batch") - cpu["score (detection)"]
    total = sum(cpu.values())
    print(f"flow-process CPU per page ({n} pages, {args.feeds} feeds, batches of {args.batch_size}):")
    for stage, seconds in sorted(cpu.items(), key=lambda kv: -kv[1]):
        print(f"  {stage:<22} {seconds / n * 1000:6.2f} ms   ({seconds:.2f} s)")
    print(f"  {'total':<22} {total / n * 1000:6.2f} ms")
    print(f"alerts delivered: {report.sent} sent, {report.failed} failed")
    print("peak RSS of this process after (MB): " + ", ".join(
        f"{k} {v:.0f}" for k, v in sorted(peak.items(), key=lambda kv: kv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
