"""Fit the detector's logistic model on labelled files, and measure it across sets honestly.

    python -m detection.train FILE [FILE ...] [--out detection/models/<topic>.json]
    python -m detection.train --cross A B      # fit on A, report on B, and the other way round

Training items are the labelled files' articles that pass the cheap first pass (an article
that never names the subject is never on topic), plus the topic's own seed and hand-written
examples, so a model always knows the reference article. BRIEF items are left out, as in
scoring. The threshold is the one with the lowest detection cost (NIST TDT Cdet, Cmiss 1,
Cfa 0.1, Ptarget 0.02) on out-of-fold probabilities over all the training files together,
so it is not fitted to the very scores it is chosen on. The cost parameters are this
product's, not TDT's defaults: a missed story costs an analyst twice what a false alert
does (Cmiss 2, Cfa 1: one is news not seen, the other a message deleted), and Ptarget is the share of on-topic items actually seen in the labelled
news (about 0.3%). With TDT's Ptarget of 0.02 and Cfa 0.1 the rule accepts a dozen false
alarms for every extra hit (measured: threshold 0.02, precision 0.09 on dev): no alerting
product could ship that. The model file keeps only weights
and counts: no article text leaves the labelled files.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

from detection.evaluate import read_items
from detection.features import FEATURES
from detection.metrics import bootstrap_intervals, figures
from detection.model import LinearModel, fit
from detection.scoring import Detector
from detection.topic import DEFAULT_MODEL, find_topic, load_topics

L2 = 1.0
COST_MISS = 2.0
COST_FALSE_ALARM = 1.0
FOLDS = 5
REPEATS = 5              # fold splits averaged for the out-of-fold scores
THRESHOLD_RESAMPLES = 200
# The users' requirement (issue 10): at least 0.85 precision in each language. The cost rule
# chooses among the thresholds that keep it on the out-of-fold scores.
PRECISION_FLOOR = 0.85
EXAMPLE_WEIGHT = 2.0     # the seed and hand-written examples count as two articles each
# Sentence-embedding features were measured and added nothing across sets (docs/detection.md).
MODEL_FEATURES = list(FEATURES)


def _placeholder_detector(topic) -> Detector:
    """A detector only used to compute features (its model is never applied)."""
    return Detector(topic, threshold=0.5, model=LinearModel({}, 0.0, 0.5))


def featurise(det: Detector, items) -> list[tuple[dict | None, bool, str, int]]:
    """(features or None when out of scope, is-positive, lang, body length) per non-BRIEF item."""
    rows = []
    for it in items:
        if it.label == "BRIEF":
            continue
        feats = det.features(it.title, it.text)[4]
        rows.append((feats, it.label == "YES", it.lang, len(it.text or "")))
    return rows


def topic_examples(det: Detector) -> list[tuple[dict, bool, float]]:
    topic = det.topic
    out = []
    for _name, text in topic.seeds:
        title, _, body = text.partition("\n")
        out.append((det.features(title, body)[4], True))
    out += [(det.features("", t)[4], True) for t in topic.positive_examples]
    out += [(det.features("", t)[4], False) for t in topic.negative_examples]
    return [(f, y, EXAMPLE_WEIGHT) for f, y in out if f is not None]


def fit_rows(rows, examples) -> tuple[dict, float]:
    train = [(f, y, 1.0) for f, y, *_ in rows if f is not None] + examples
    return fit([f for f, _, _ in train], [y for _, y, _ in train], MODEL_FEATURES, L2,
               [w for _, _, w in train])


def scores_of(model: LinearModel, rows) -> list[float]:
    return [model.probability(f) if f is not None else 0.0 for f, *_ in rows]


def out_of_fold(rows, examples, folds: int = FOLDS, seed: int = 11,
                repeats: int = REPEATS) -> list[float]:
    """Each item's probability from models fitted without it, averaged over `repeats`
    different fold splits, so the threshold chosen on them does not hang on one split."""
    total = [0.0] * len(rows)
    for rep in range(repeats):
        rng = random.Random(seed + rep)
        fold = [rng.randrange(folds) for _ in rows]
        for k in range(folds):
            train = [r for r, f in zip(rows, fold) if f != k]
            weights, bias = fit_rows(train, examples)
            model = LinearModel(weights, bias, 0.5)
            for i, (r, f) in enumerate(zip(rows, fold)):
                if f == k and r[0] is not None:
                    total[i] += model.probability(r[0])
    return [t / repeats for t in total]


def train(paths, topic_name=None, topics_dir="seeds") -> LinearModel:
    topic = find_topic(load_topics(topics_dir), topic_name)
    det = _placeholder_detector(topic)
    rows = [r for p in paths for r in featurise(det, read_items(p))]
    examples = topic_examples(det)
    weights, bias = fit_rows(rows, examples)
    oof = out_of_fold(rows, examples)
    threshold, cost, p_target = cost_threshold(oof, rows)
    return LinearModel(weights, bias, threshold, trained_on={
        "files": [Path(p).name for p in paths],
        "items": len(rows), "positives": sum(y for _, y, *_ in rows),
        "in_scope": sum(f is not None for f, *_ in rows),
        "topic_examples": len(examples), "l2": L2,
        "threshold_rule": (f"median over {THRESHOLD_RESAMPLES} bootstrap resamples of the min out-of-fold "
                           f"detection cost ({FOLDS} folds x {REPEATS} splits) with precision >= "
                           f"{PRECISION_FLOOR} in each language: Cmiss {COST_MISS}, "
                           f"Cfa {COST_FALSE_ALARM}, Ptarget {p_target:.4f}; cost {cost:.4f}"),
    })


def cost_threshold(scores: list[float], rows) -> tuple[float, float, float]:
    """(threshold, cost at it, Ptarget): the median over bootstrap resamples of the labelled
    items of the threshold with the lowest detection cost on each resample, among those that
    keep precision at or above PRECISION_FLOOR in every language with positives. The cost
    curve is flat near its minimum, so the minimum of one sample moves by a few hundredths
    with one item; the median of resampled minima does not hang on any single article."""
    actual = [y for _, y, *_ in rows]
    langs = [r[2] for r in rows]
    p_target = sum(actual) / len(actual)
    threshold = bagged_min_cost_threshold(scores, actual, COST_MISS, COST_FALSE_ALARM, langs)
    return threshold, _cost_at(threshold, scores, actual, p_target), p_target


def _cost_at(threshold: float, scores, actual, p_target: float) -> float:
    """Normalised detection cost of deciding `score >= threshold`."""
    positives = sum(actual)
    negatives = len(actual) - positives
    misses = sum(1 for x, y in zip(scores, actual) if y and x < threshold)
    alarms = sum(1 for x, y in zip(scores, actual) if not y and x >= threshold)
    norm = min(COST_MISS * p_target, COST_FALSE_ALARM * (1.0 - p_target))
    return (COST_MISS * misses / max(positives, 1) * p_target
            + COST_FALSE_ALARM * alarms / max(negatives, 1) * (1.0 - p_target)) / norm


def bagged_min_cost_threshold(scores, actual, c_miss: float, c_fa: float, langs=None,
                              precision_floor: float = PRECISION_FLOOR,
                              resamples: int = THRESHOLD_RESAMPLES, seed: int = 7) -> float:
    s = np.asarray(scores, dtype=float)
    y = np.asarray(actual, dtype=bool)
    lang = np.asarray(langs if langs is not None else [""] * len(s))
    order = np.argsort(-s, kind="stable")
    s, y, lang = s[order], y[order], lang[order]
    # cut k keeps the first k+1 items; only cuts between distinct scores are thresholds
    last_of_run = np.r_[s[1:] != s[:-1], True]
    below = np.r_[s[1:], 0.0]
    midpoints = (s + below) / 2.0
    groups = [lang == g for g in sorted(set(lang.tolist())) if (y & (lang == g)).any()]
    rng = np.random.default_rng(seed)
    n = len(s)
    picks = []
    for _ in range(resamples):
        w = rng.multinomial(n, np.full(n, 1.0 / n)).astype(float)
        pos = float((w * y).sum())
        neg = float(n - pos)
        if not pos or not neg:
            continue
        p_target = pos / n
        tp = np.cumsum(w * y)
        fp = np.cumsum(w * ~y)
        norm = min(c_miss * p_target, c_fa * (1.0 - p_target))
        cost = (c_miss * (1 - tp / pos) * p_target + c_fa * (fp / neg) * (1 - p_target)) / norm
        allowed = last_of_run & (s > 0)
        for g in groups:
            gtp = np.cumsum(w * (y & g))
            gfp = np.cumsum(w * (~y & g))
            kept = gtp + gfp
            allowed &= (kept == 0) | (gtp >= precision_floor * np.maximum(kept, 1e-12))
        if not allowed.any():
            continue
        cost = np.where(allowed, cost, np.inf)
        picks.append(midpoints[int(np.argmin(cost))])
    return float(np.median(picks)) if picks else 0.5


def report(model: LinearModel, rows, threshold: float) -> dict:
    scores = scores_of(model, rows)
    out = {}
    groups = {"all": lambda r: True, "en": lambda r: r[2] == "en", "ko": lambda r: r[2] == "ko",
              "short": lambda r: r[3] <= 600, "full": lambda r: r[3] > 600}
    for name, keep in groups.items():
        pairs = [(s >= threshold, r[1]) for s, r in zip(scores, rows) if keep(r)]
        if not any(a for _, a in pairs):
            continue
        fig = figures(pairs)
        fig["ci95"] = bootstrap_intervals(pairs)
        out[name] = fig
    return out


def cross(a: str, b: str, topic_name=None, topics_dir="seeds") -> list[dict]:
    """Fit on one file (threshold by out-of-fold Cdet on it), report on the other; both ways."""
    topic = find_topic(load_topics(topics_dir), topic_name)
    det = _placeholder_detector(topic)
    examples = topic_examples(det)
    data = {p: featurise(det, read_items(p)) for p in (a, b)}
    results = []
    for src, dst in ((a, b), (b, a)):
        weights, bias = fit_rows(data[src], examples)
        threshold, _, _ = cost_threshold(out_of_fold(data[src], examples), data[src])
        model = LinearModel(weights, bias, threshold)
        results.append({"train": Path(src).name, "test": Path(dst).name,
                        "threshold": round(threshold, 4), "figures": report(model, data[dst], threshold)})
    return results


def _print_cross(results: list[dict]) -> None:
    for r in results:
        print(f"fit on {r['train']} -> report on {r['test']} (threshold {r['threshold']})")
        print(f"  {'slice':6} {'n':>6} {'tp':>4} {'fp':>4} {'fn':>4}   P [95% CI]          "
              f"R [95% CI]          F1 [95% CI]")
        for name, f in r["figures"].items():
            ci = f["ci95"]
            print(f"  {name:6} {f['n']:6} {f['tp']:4} {f['fp']:4} {f['fn']:4}   "
                  f"{f['precision']:.2f} [{ci['precision'][0]:.2f}-{ci['precision'][1]:.2f}]   "
                  f"{f['recall']:.2f} [{ci['recall'][0]:.2f}-{ci['recall'][1]:.2f}]   "
                  f"{f['f1']:.2f} [{ci['f1'][0]:.2f}-{ci['f1'][1]:.2f}]")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m detection.train", description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+", help="labelled JSONL(.gz) files")
    ap.add_argument("--out", type=Path, default=DEFAULT_MODEL, help="model file to write")
    ap.add_argument("--cross", action="store_true", help="with two files: fit on each, report on the other")
    ap.add_argument("--topic", default=None)
    ap.add_argument("--seeds", default="seeds")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.cross:
        if len(args.files) != 2:
            ap.error("--cross takes exactly two files")
        results = cross(*args.files, topic_name=args.topic, topics_dir=args.seeds)
        print(json.dumps(results, indent=1)) if args.json else _print_cross(results)
        return 0
    model = train(args.files, args.topic, args.seeds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model.to_dict(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: threshold {model.threshold:.4f}; "
          + ", ".join(f"{k}={v:+.2f}" for k, v in sorted(model.weights.items(), key=lambda kv: -abs(kv[1]))[:8]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
