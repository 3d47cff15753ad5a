"""Throughput measurement for the detector (called from bench/; no timing asserts in tests).

    from detection.speed import measure
    measure("/work/shared/eval/dev.jsonl.gz", limit=3000)
    -> {"articles": 3000, "seconds": ..., "articles_per_second": ..., "mean_chars": ...}

The figure is for one core: scoring runs in this single thread. `articles_per_cpu_second`
counts this process's CPU time rather than the clock, so it holds on a busy machine.
"""
from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

from detection.scoring import Detector
from detection.topic import load_topic

DEFAULT_TOPIC = Path(__file__).resolve().parent.parent / "seeds" / "inter-korean-diplomacy.toml"


def _articles_from_file(path, limit: int) -> list[tuple[str, str, str | None]]:
    opener = gzip.open if str(path).endswith(".gz") else open
    articles = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                data = json.loads(line)
                articles.append((data.get("title") or "", data.get("text") or "", data.get("lang")))
            if len(articles) >= limit:
                break
    return articles


def _articles_from_topic(detector: Detector, limit: int) -> list[tuple[str, str, str | None]]:
    """Without a file: the topic's own seed and example texts, cycled (about article size)."""
    texts = [text for _, text in detector.topic.seeds]
    texts += [" ".join(detector.topic.positive_examples * 3), " ".join(detector.topic.negative_examples * 3)]
    return [("", texts[i % len(texts)], None) for i in range(limit)]


def measure(path=None, limit: int = 2000, topic_path=DEFAULT_TOPIC, warmup: int = 50) -> dict:
    """Score up to `limit` articles from a JSONL(.gz) file (or built-in texts); report speed."""
    detector = Detector(load_topic(topic_path))
    if path is not None:
        articles = _articles_from_file(path, limit)
    else:
        articles = _articles_from_topic(detector, limit)
    detector.score_many(articles[:warmup])
    started, cpu_started = time.perf_counter(), time.process_time()
    detector.score_many(articles)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    chars = sum(len(t) + len(b) for t, b, _ in articles)
    return {
        "articles": len(articles),
        "seconds": round(seconds, 3),
        "articles_per_second": round(len(articles) / seconds, 1) if seconds else None,
        "cpu_seconds": round(cpu_seconds, 3),
        "articles_per_cpu_second": round(len(articles) / cpu_seconds, 1) if cpu_seconds else None,
        "mean_chars": round(chars / len(articles), 1) if articles else 0,
        "detector": detector.version,
    }


if __name__ == "__main__":  # python -m detection.speed [file.jsonl.gz]
    import sys
    print(json.dumps(measure(sys.argv[1] if len(sys.argv) > 1 else None), indent=2))
