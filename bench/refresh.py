"""Post-run read-refresh time, and the run's own writes, against warehouse size
(`python -m bench.refresh`, part of `make bench`).

For each size N, a warehouse is generated with N articles (and N entries, N scores, N page
fetches, 1,000 feeds; ~1 KB of text an article), the read snapshot is built once, then
`--runs` runs are simulated, each storing `--added` new articles (entries, scores, fetch log,
feed states and the run row through the pipeline's own `warehouse.store` functions) and
refreshing the snapshot. The median refresh of those runs is what a run pays to make its data
readable; the median time of the writes themselves (opening the file, the transaction, the
checkpoint at close) is what it pays to store them. With `--copy`, the full copy (`snapshot_mode = "copy"`) is timed on the same files.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from warehouse import store
from warehouse.db import Warehouse
from warehouse.snapshot import copy_snapshot, snapshot_path

FEEDS = 1000


def generate(wh: Warehouse, n: int) -> float:
    """Fill the warehouse with n articles (SQL, in a few statements); returns seconds."""
    t = time.perf_counter()
    with wh.transaction() as con:
        con.execute(f"""INSERT INTO feeds (feed_id, url, name) SELECT 'f' || i, 'https://feeds.example.org/' || i,
                        'Feed ' || i FROM range({FEEDS}) t(i)""")
        base = f"now() - INTERVAL 1 DAY - to_seconds({n} - i)"
        con.execute(f"""INSERT INTO entries (entry_id, feed_id, guid, link, canonical_url, title,
            summary, content, language, published, first_seen, run_id)
            SELECT 'e' || i, 'f' || (i % {FEEDS}), 'g' || i,
            'https://news.example.org/a/' || i, 'https://news.example.org/a/' || i, 'Title ' || i,
            'Summary of ' || i, NULL, 'en', {base}, {base}, 'gen' FROM range({n}) t(i)""")
        con.execute(f"""INSERT INTO articles (article_id, canonical_url, url, feed_id, title, text, text_source,
            extractor, published, language, content_hash, first_seen, run_id)
            SELECT 'a' || i, 'https://news.example.org/a/' || i, 'https://news.example.org/a/' || i,
            'f' || (i % {FEEDS}), 'Title ' || i, repeat(md5(i::VARCHAR) || ' ', 30), 'page', 'gen',
            {base}, 'en', md5(i::VARCHAR), {base}, 'gen' FROM range({n}) t(i)""")
        con.execute(f"""INSERT INTO scores (article_id, topic, score, decision, explanation,
            detector_version, scored_at) SELECT 'a' || i, 'inter-korean-diplomacy', random(),
            i % 20 = 0, '{{"summary": "generated"}}', 'gen', {base} FROM range({n}) t(i)""")
        con.execute(f"""INSERT INTO fetch_log SELECT 'gen', 'page', 'https://news.example.org/a/' || i,
            'f' || (i % {FEEDS}), 200, 'ok', NULL, NULL, 80000, 40.0, {base} FROM range({n}) t(i)""")
    return time.perf_counter() - t


def simulate_run(wh: Warehouse, start: int, added: int) -> None:
    """What a run stores: entries, articles, scores, page fetches, feed states, its run row."""
    now = datetime.now(timezone.utc)
    run_id = f"bench-{start}"
    ids = range(start, start + added)
    entries = [{"feed_id": f"f{i % FEEDS}", "guid": f"new-{i}", "link": f"https://news.example.org/n/{i}",
                "canonical_url": f"https://news.example.org/n/{i}", "title": f"New {i}", "summary": "s",
                "content": None, "language": "en", "published": now, "first_seen": now, "run_id": run_id}
               for i in ids]
    articles = [{"canonical_url": f"https://news.example.org/n/{i}", "url": f"https://news.example.org/n/{i}",
                 "feed_id": f"f{i % FEEDS}", "title": f"New {i}", "text": f"text {i} " * 100,
                 "text_source": "page", "content_hash": f"n{i}", "first_seen": now, "run_id": run_id,
                 "language": "en"} for i in ids]
    scores = [{"article_id": store.article_key(a["canonical_url"]), "topic": "inter-korean-diplomacy",
               "score": 0.1, "decision": False, "explanation": {"summary": "new"}, "detector_version": "gen",
               "scored_at": now} for a in articles]
    log = [{"run_id": run_id, "kind": "page", "url": a["url"], "feed_id": a["feed_id"], "status": 200,
            "outcome": "ok", "bytes": 80000, "duration_ms": 40.0, "fetched_at": now} for a in articles]
    # As a run writes: the file held for the run (one open, one checkpoint at the end).
    with wh.session(), wh.transaction() as con:
        store.start_run(con, run_id)
        store.insert_entries_by_feed(con, entries)
        store.log_fetches(con, log)
        store.insert_articles(con, articles)
        store.insert_scores(con, scores)
        store.finish_run(con, run_id, {"new_articles": added})


def measure(sizes: list[int], runs: int = 5, added: int = 200, copy: bool = True,
            work: Path | None = None) -> list[dict[str, Any]]:
    from warehouse.readside import ReadSide
    own = work is None
    work = work or Path(tempfile.mkdtemp(prefix="seedwatch-refresh-"))
    out = []
    try:
        for n in sizes:
            folder = work / f"n{n}"
            folder.mkdir()
            wh = Warehouse(folder / "warehouse.duckdb")
            gen = generate(wh, n)
            side = ReadSide(wh.path, snapshot_path(wh.path))
            with wh.connect() as con:
                t = time.perf_counter()
                side.refresh(con)
                first = time.perf_counter() - t
            times, details, writes = [], [], []
            for r in range(runs):
                t = time.perf_counter()
                simulate_run(wh, n * 10 + r * added, added)
                writes.append(time.perf_counter() - t)
                with wh.connect() as con:
                    t = time.perf_counter()
                    res = side.refresh(con)
                    times.append(time.perf_counter() - t)
                    details.append(res)
            row = {"articles": n, "generate_seconds": round(gen, 1), "first_build_seconds": round(first, 2),
                   "refresh_seconds": [round(x, 3) for x in times],
                   "refresh_median_seconds": round(statistics.median(times), 3),
                   "run_write_seconds": [round(x, 3) for x in writes],
                   "run_write_median_seconds": round(statistics.median(writes), 3),
                   "rows_written_per_refresh": details[-1]["rows"],
                   "warehouse_mb": round(wh.path.stat().st_size / 1e6, 1)}
            if copy:
                copies = []
                for _ in range(2):
                    with wh.connect() as con:
                        t = time.perf_counter()
                        copy_snapshot(con, wh.path)
                        copies.append(time.perf_counter() - t)
                row["full_copy_seconds"] = round(statistics.median(copies), 3)
            out.append(row)
            print(f"  at {n:>9,} articles: run's writes median {row['run_write_median_seconds']} s; "
                  f"refresh median {row['refresh_median_seconds']} s "
                  f"(runs {row['refresh_seconds']}; first build {row['first_build_seconds']} s"
                  + (f"; full copy {row['full_copy_seconds']} s" if copy else "") + ")", flush=True)
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.refresh", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--added", type=int, default=200)
    ap.add_argument("--no-copy", action="store_true", help="skip the full-copy comparison")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    res = measure([int(x) for x in args.sizes.split(",")], args.runs, args.added, not args.no_copy)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
