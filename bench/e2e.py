"""End-to-end phase, run in its own process: `python -m bench.e2e SPEC.json` prints a JSON result.

The spec names a config file (the corpus feeds) and a warm-up config. Steps:

1. warm-up run of the flow on a config whose one feed is missing: starts Prefect (the
   ephemeral API, or the client of a running server) and imports everything, no pages;
2. the measured run: every feed new, every page fetched, extracted, scored and stored;
3. the same feeds again: every feed answers 304 (the unchanged poll).

Peak memory is this process (getrusage) plus its largest child: the extraction workers and the
forkserver, each read from /proc/PID/status (VmHWM) while it lives.
"""
from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from typing import Any


def peak_rss_mb() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self_mb": round(own, 1), "children_mb": round(kids, 1)}


def _hwm_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def descendants(pid: int, depth: int = 8) -> list[int]:
    """Every live process under `pid`, from the kernel's per-thread `children` lists: a
    handful of reads a sample (scanning all of /proc twice a second cost this process
    ~0.03 ms of CPU a page, charged to the run it measures)."""
    out, frontier = [], [pid]
    for _ in range(depth):
        nxt = []
        for p in frontier:
            try:
                tasks = os.listdir(f"/proc/{p}/task")
            except OSError:
                continue
            for t in tasks:
                try:
                    with open(f"/proc/{p}/task/{t}/children", encoding="ascii") as f:
                        nxt += [int(x) for x in f.read().split()]
                except (OSError, ValueError):
                    pass
        out += nxt
        frontier = nxt
        if not frontier:
            break
    return out


class DescendantPeaks(threading.Thread):
    """Samples, every `every` seconds, the peak RSS (VmHWM) of every process descended from
    this one (the forkserver and the extraction workers it forks), keeping each one's largest.
    Workers end with each flow run, so they are read while they live."""

    def __init__(self, every: float = 0.5):
        super().__init__(daemon=True)
        self.every, self.peaks, self._stop_event = every, {}, threading.Event()

    def sample(self) -> None:
        for pid in descendants(os.getpid()):
            mb = _hwm_mb(pid)
            if mb is not None:
                self.peaks[pid] = max(mb, self.peaks.get(pid, 0.0))

    def run(self) -> None:
        while not self._stop_event.wait(self.every):
            self.sample()

    def stop(self) -> list[float]:
        self._stop_event.set()
        self.sample()
        return list(self.peaks.values())


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by process `pid` and the live processes under it,
    from /proc; 0 when it is gone. Children that have ended count once their parent reaped them."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in [pid, *descendants(pid)]:
        try:
            with open(f"/proc/{p}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, and the reaped children's cutime, cstime
        total += sum(int(x) for x in fields[11:15]) / tick
    return total


def _others(spec: dict[str, Any]) -> dict[str, float]:
    """CPU so far of the other processes on this machine's cores that the bench started: the
    corpus server and the Prefect server (by pid, from the spec)."""
    return {name: tree_cpu_seconds(pid) for name, pid in (spec.get("other_pids") or {}).items()}


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def _run(mode: str, config: str) -> dict[str, Any]:
    from flows.monitor import monitor
    return monitor(config_path=config)


def main() -> None:
    spec = json.loads(open(sys.argv[1], encoding="utf-8").read())
    mode = spec.get("mode", "flow")
    out: dict[str, Any] = {"mode": mode}
    t = time.perf_counter()
    _run(mode, spec["warmup_config"])
    out["warmup_seconds"] = round(time.perf_counter() - t, 2)

    watcher = DescendantPeaks()
    watcher.start()
    o0, c0 = _others(spec), _cpu()
    t = time.perf_counter()
    first = _run(mode, spec["config"])
    out["run_seconds"] = round(time.perf_counter() - t, 2)
    c1, o1 = _cpu(), _others(spec)
    # What the servers standing in for the world (sites, Prefect's API) took of the same cores.
    out["other_cpu_seconds"] = {k: round(o1[k] - o0[k], 2) for k in o0}
    out["run"] = {k: first.get(k) for k in ("new_entries", "pages_fetched", "pages_failed",
                                            "new_articles", "new_matches", "alerts_sent")}
    out["run"]["feeds"] = _counts(first)
    out["run"]["stage_seconds"] = first.get("stage_seconds")

    polls = []
    for _ in range(spec.get("poll_runs", 1)):
        t = time.perf_counter()
        again = _run(mode, spec["config"])
        polls.append(round(time.perf_counter() - t, 2))
    out["poll_seconds"] = polls
    out["poll"] = {"feeds": _counts(again), "new_articles": again.get("new_articles"),
                   "stage_seconds": again.get("stage_seconds")}

    workers_hwm = watcher.stop()
    from extractors.pool import shutdown
    shutdown()
    # Workers are children of the forkserver process, not of this one: their CPU time and
    # peak RSS reach RUSAGE_CHILDREN once the forkserver has reaped them and been reaped.
    import multiprocessing.forkserver as fs
    fs._forkserver._stop()
    c2 = _cpu()
    out["cpu_seconds"] = {"flow_process": round(c1[0] - c0[0], 2),
                          # all extraction happens in the measured run (the polls find no pages)
                          "extraction_workers": round(c2[1] - c0[1], 2)}
    out["memory"] = peak_rss_mb()
    # RUSAGE_CHILDREN's maxrss counts, for a child that forked from this process and then
    # exec'd (the forkserver), this process's size at that fork: memory it shared, never held
    # on its own. Each worker's and the forkserver's own high-water mark (VmHWM) is the figure.
    out["memory"]["children_rusage_mb"] = out["memory"]["children_mb"]
    if workers_hwm:
        out["memory"]["children_mb"] = max(workers_hwm)
        out["memory"]["all_workers_mb"] = round(sum(workers_hwm), 1)
    print(json.dumps(out, default=str))


def _counts(summary: dict[str, Any]) -> dict[str, int]:
    by: dict[str, int] = {}
    for f in summary.get("feeds") or []:
        by[f["outcome"]] = by.get(f["outcome"], 0) + 1
    return by


if __name__ == "__main__":
    main()
