"""Near-duplicate detection on the dev set: group counts, similarity histogram, example pairs.

    .venv/bin/python bench/neardup_dev.py [/work/shared/eval/dev.jsonl.gz] [--examples N]
                                          [--threshold T] [--band LOW HIGH]

Prints how many articles the MinHash/LSH step of `detection.neardup` groups, the histogram
of candidate-pair similarities (estimated and exact Jaccard), and example pairs (titles
only, truncated) to check by eye. Article texts stay on this machine: nothing is written.
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from detection import neardup  # noqa: E402

DEV = "/work/shared/eval/dev.jsonl.gz"


def load(path: str) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    rows.sort(key=lambda r: (r.get("published") or "", r["id"]))
    return rows


def candidate_pairs(sketches: dict[str, neardup.Sketch]) -> set[tuple[str, str]]:
    buckets: dict[int, list[str]] = {}
    for aid, sk in sketches.items():
        for key in sk.bands:
            buckets.setdefault(key, []).append(aid)
    pairs = set()
    for ids in buckets.values():
        for i in range(len(ids)):
            for j in range(i + 1, len(ids)):
                pairs.add((ids[i], ids[j]))
    return pairs


def histogram(values: list[float], label: str) -> None:
    bins = Counter(min(int(v * 10), 9) for v in values)
    print(f"  {label}: " + "  ".join(f"{b / 10:.1f}-{(b + 1) / 10:.1f}:{bins.get(b, 0)}" for b in range(10)))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("file", nargs="?", default=DEV)
    ap.add_argument("--examples", type=int, default=8)
    ap.add_argument("--threshold", type=float, default=neardup.THRESHOLD)
    ap.add_argument("--band", type=float, nargs=2, default=None,
                    help="show examples with estimated similarity in [LOW, HIGH)")
    args = ap.parse_args()

    rows = load(args.file)
    by_id = {r["id"]: r for r in rows}
    t0 = time.perf_counter()
    sketches, shingle_sets = {}, {}
    for r in rows:
        sh = neardup.shingles(r["text"])
        shingle_sets[r["id"]] = sh
        sk = neardup.sketch(r["id"], r["text"])
        if sk is not None:
            sketches[r["id"]] = sk
    t_sketch = time.perf_counter() - t0
    print(f"{len(rows)} articles, {len(sketches)} long enough to compare; "
          f"sketches in {t_sketch:.1f}s ({1000 * t_sketch / len(rows):.2f} ms/article)")

    pairs = candidate_pairs(sketches)
    est = {p: neardup.similarity(sketches[p[0]].signature, sketches[p[1]].signature) for p in pairs}
    exact = {p: neardup.jaccard(shingle_sets[p[0]], shingle_sets[p[1]]) for p in pairs}
    print(f"LSH candidate pairs: {len(pairs)}")
    histogram(list(est.values()), "estimated")
    histogram(list(exact.values()), "exact    ")

    t1 = time.perf_counter()
    new = [{"article_id": r["id"], "content_hash": r["text"].strip() or None,
            "sketch": sketches.get(r["id"])} for r in rows]
    for item in new:  # exact: identical text (empty texts never match)
        if item["content_hash"] is None:
            item["content_hash"] = "empty:" + item["article_id"]
    assigned = neardup.assign_groups(new, {}, {}, {}, threshold=args.threshold)
    t_assign = time.perf_counter() - t1
    groups = Counter(a.group_id for a in assigned)
    multi = {g: n for g, n in groups.items() if n > 1}
    methods = Counter(a.method for a in assigned)
    grouped = sum(multi.values())
    print(f"\nthreshold {args.threshold}: {grouped} articles in {len(multi)} groups of 2+ "
          f"({grouped - len(multi)} marked duplicates); methods {dict(methods)}; "
          f"assignment {t_assign:.1f}s")
    print("  group sizes:", dict(sorted(Counter(multi.values()).items())))
    same_source = sum(1 for a in assigned if a.matched_id and
                      by_id[a.matched_id]["source"] == by_id[a.article_id]["source"])
    print(f"  near-dup matches within one outlet: {same_source}, across outlets: "
          f"{methods['minhash'] - same_source}")
    pos = [a for a in assigned if by_id[a.article_id]["label"] == "YES"]
    print(f"  YES articles: {len(pos)}, of them in a group of 2+: "
          f"{sum(1 for a in pos if groups[a.group_id] > 1)}")

    for g, n in sorted(multi.items(), key=lambda kv: -kv[1])[:3]:
        members = [by_id[a.article_id] for a in assigned if a.group_id == g]
        print(f"  largest group ({n}): " + " | ".join(f"{m['source']}: {m['title'][:40]}" for m in members[:4]))

    rnd = random.Random(7)
    lo, hi = args.band or (args.threshold, 1.01)
    shown = [a for a in assigned if a.method == "minhash" and lo <= a.similarity < hi]
    print(f"\nexamples (est. similarity in [{lo}, {hi}), {len(shown)} such matches):")
    for a in rnd.sample(shown, min(args.examples, len(shown))):
        x, y = by_id[a.matched_id], by_id[a.article_id]
        j = neardup.jaccard(shingle_sets[x["id"]], shingle_sets[y["id"]])
        print(f"  est {a.similarity:.2f} exact {j:.2f}\n    [{x['source']} {x['published']}] {x['title'][:70]}"
              f"\n    [{y['source']} {y['published']}] {y['title'][:70]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
