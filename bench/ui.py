"""Page load times of the web UI on a large warehouse: `python -m bench.ui [--articles 10000]`.

Builds a warehouse of N generated articles (bench/corpus.py text, about one in ten on
inter-Korean talks, published over the last 90 days, from 40 outlets in two languages) with the
pipeline's own functions: score with the flow's detector, store in batches, group duplicates
and stories, snapshot. No pages are fetched: this measures the UI, not extraction. Then it
starts `seedwatch ui` as its own process and requests each page `--repeat` times over HTTP on
127.0.0.1, one request at a time, and prints the median (p50) and p95 of the full response time
per page and over all pages.

`--keep DIR` builds (or reuses) the warehouse in DIR instead of a temporary folder.
"""
from __future__ import annotations

import argparse
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench.corpus import _headline, _paragraphs

REPO = Path(__file__).resolve().parent.parent
TOPICS = ["korea"] + ["economy", "weather", "tech", "sports", "society"] * 2  # 1 in 11 on topic


def _config_text(folder: Path, feeds: int) -> str:
    lines = ["[warehouse]", f'path = "{folder / "warehouse.duckdb"}"', "", "[extract]", "workers = 1", ""]
    for i in range(feeds):
        lang = "ko" if i % 4 == 3 else "en"
        lines += ["[[feeds]]", f'url = "http://bench-{i}.invalid/rss.xml"',
                  f'name = "Outlet {i:02d} - News"', f'language = "{lang}"', ""]
    return "\n".join(lines)


def build(folder: Path, n: int, feeds: int = 40, batch: int = 500, seed: int = 7) -> Path:
    """A warehouse of `n` articles in `folder` (config at folder/seedwatch.toml)."""
    from seedwatch import pipeline
    from seedwatch.config import load_config
    from warehouse import store

    folder.mkdir(parents=True, exist_ok=True)
    cfg_path = folder / "seedwatch.toml"
    cfg_path.write_text(_config_text(folder, feeds), encoding="utf-8")
    cfg = load_config(cfg_path)
    wh = pipeline.warehouse_for(cfg)
    detectors = pipeline.load_detectors(cfg)
    summary = pipeline.RunSummary(pipeline.new_run_id(), datetime.now(timezone.utc))
    pipeline.register_feeds(wh, cfg, summary.run_id)
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    for start in range(0, n, batch):
        rows = []
        for i in range(start, min(n, start + batch)):
            topic = TOPICS[i % len(TOPICS)]
            feed = cfg.feeds[rng.randrange(feeds)]
            url = f"https://bench-{i % feeds}.invalid/news/{i}.html"
            text = "\n\n".join(_paragraphs(rng, topic))
            rows.append({"canonical_url": url, "url": url, "feed_id": store.key(feed.url),
                         "title": _headline(rng, topic) + f" ({i})", "text": text, "text_source": "page",
                         "extractor": "bench", "published": now - timedelta(minutes=rng.randrange(90 * 24 * 60)),
                         "language": feed.language, "content_hash": store.key(text), "first_seen": now,
                         "run_id": summary.run_id})
        result = pipeline.store_batch(wh, detectors, rows, [])
        summary.new_articles += result.articles
        summary.new_matches += len(result.matches)
        print(f"  {start + len(rows)} articles stored ({summary.new_matches} matches), "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    pipeline.update_stories(wh, cfg)
    pipeline.finish(wh, cfg, summary)
    print(f"warehouse built in {time.perf_counter() - started:.0f} s: {folder / 'warehouse.duckdb'}", flush=True)
    return cfg_path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pages(cfg_path: Path) -> list[tuple[str, list[str]]]:
    """(label, URLs to cycle through) of each page measured."""
    import duckdb

    from seedwatch.config import load_config
    cfg = load_config(cfg_path)
    con = duckdb.connect(str(cfg.resolve(cfg.warehouse.path)).replace(".duckdb", ".snapshot.duckdb"),
                         read_only=True)
    try:
        stories = [r[0] for r in con.execute("SELECT story_id FROM stories ORDER BY article_count DESC, "
                                             "story_id LIMIT 40").fetchall()]
        topic = con.execute("SELECT any_value(topic) FROM stories").fetchall()[0][0]
        n_stories = con.execute("SELECT count(*) FROM stories").fetchall()[0][0]
        n_articles = con.execute("SELECT count(*) FROM articles").fetchall()[0][0]
    finally:
        con.close()
    print(f"{n_articles} articles, {n_stories} stories", flush=True)
    return [
        ("stories (home)", ["/"]),
        ("stories, filtered", ["/?language=ko", "/?min_score=0.8", "/?outlet=Outlet+07"]),
        ("stories, title search", ["/?q=talks", "/?q=hotline", "/?q=pyongyang"]),
        ("stories, page 5", ["/?page=5"]),
        ("story", [f"/stories/{s}" for s in stories]),
        ("coverage 90 days", ["/coverage?days=90"]),
        ("feeds", ["/feeds"]),
        ("alerts", ["/alerts"]),
        ("runs", ["/runs"]),
        ("feedback", ["/feedback"]),
        ("atom feed", [f"/topics/{topic}.atom"]),
    ]


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def measure(cfg_path: Path, repeat: int) -> dict[str, list[float]]:
    import httpx

    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "seedwatch.cli", "ui", "--config", str(cfg_path),
                             "--port", str(port)], cwd=REPO, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    times: dict[str, list[float]] = {}
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    client.get("/static/style.css")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise SystemExit("seedwatch ui did not start")
                    time.sleep(0.2)
            pages = _pages(cfg_path)
            for _, urls in pages:  # warm up: first connection, templates compiled
                client.get(urls[0])
            for label, urls in pages:
                for i in range(repeat):
                    t = time.perf_counter()
                    r = client.get(urls[i % len(urls)])
                    spent = time.perf_counter() - t
                    if r.status_code != 200:
                        raise SystemExit(f"{urls[i % len(urls)]}: HTTP {r.status_code}")
                    times.setdefault(label, []).append(spent * 1000)
    finally:
        proc.terminate()
        proc.wait(10)
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.ui", description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=30, help="requests per page (default: %(default)s)")
    ap.add_argument("--keep", help="build (or reuse) the warehouse in this folder")
    args = ap.parse_args(argv)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="seedwatch-bench-ui-"))
    try:
        cfg_path = folder / "seedwatch.toml"
        if not (folder / "warehouse.snapshot.duckdb").exists():
            cfg_path = build(folder, args.articles)
        times = measure(cfg_path, args.repeat)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"\nUI page load times, {args.repeat} requests per page (ms, full response over HTTP):")
    print(f"{'page':<24}{'p50':>9}{'p95':>9}{'max':>9}")
    for label, values in times.items():
        print(f"{label:<24}{statistics.median(values):>9.1f}{_pct(values, 95):>9.1f}{max(values):>9.1f}")
    every = [v for values in times.values() for v in values]
    print(f"{'all pages':<24}{statistics.median(every):>9.1f}{_pct(every, 95):>9.1f}{max(every):>9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
