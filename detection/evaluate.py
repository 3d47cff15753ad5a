"""Evaluate a topic's detector, and two baselines, on a labelled JSONL(.gz) file.

Each line: {"id", "title", "text", "lang", "label"} with label YES, BRIEF or NO. BRIEF
items (topic mentioned only in passing) are excluded from scoring, as in NIST TDT.
The detector is exactly the one the flow uses: Detector(topic) with the topic's threshold.
"""
from __future__ import annotations

import gzip
import json
import time
from dataclasses import dataclass
from pathlib import Path

from detection.baselines import TfidfBaseline, keyword_match
from detection.errors import EvaluationDataError
from detection.metrics import best_threshold, bootstrap_intervals, figures, figures_by_lang
from detection.scoring import Detector
from detection.topic import find_topic, load_topics

LABELS = ("YES", "BRIEF", "NO")
REQUIRED_FIELDS = ("title", "text", "label")


@dataclass
class Item:
    id: str
    title: str
    text: str
    lang: str
    label: str


def read_items(path) -> list[Item]:
    """Read labelled items from JSONL or JSONL.gz; malformed lines raise EvaluationDataError."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            return [item for n, line in enumerate(handle, 1) if (item := _parse(line, n, path))]
    except FileNotFoundError:
        raise EvaluationDataError(f"evaluation file not found: {path}") from None


def _parse(line: str, number: int, path: Path) -> Item | None:
    if not line.strip():
        return None
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EvaluationDataError(f"{path}:{number}: not JSON ({exc})") from None
    missing = [k for k in REQUIRED_FIELDS if k not in data]
    if missing:
        raise EvaluationDataError(f"{path}:{number}: missing field(s) {', '.join(missing)}")
    label = str(data["label"]).upper()
    if label not in LABELS:
        raise EvaluationDataError(f"{path}:{number}: label {data['label']!r} not in {LABELS}")
    return Item(str(data.get("id", number)), data["title"] or "", data["text"] or "",
                data.get("lang") or "unknown", label)


SHORT_TEXT_CHARS = 600   # a body of at most this many characters is a "short" item


def evaluate_file(path, topic_name: str | None = None, topics_dir="seeds") -> dict:
    """Figures for one labelled file (see evaluate_files)."""
    return evaluate_files([path], topic_name, topics_dir)


def evaluate_files(paths, topic_name: str | None = None, topics_dir="seeds",
                   threshold: float | None = None) -> dict:
    """Score every item of the files, pooled, with the topic's Detector and both baselines.

    Top-level figures are over all files together; `files` has each file's own. Every slice
    (all, by_lang, by_length: short <= 600 characters of body, full) carries `ci95`,
    percentile-bootstrap 95% intervals of precision, recall, F1 and Cdet."""
    started = time.perf_counter()
    paths = [str(p) for p in paths]
    topic = find_topic(load_topics(topics_dir), topic_name)
    detector = Detector(topic, threshold=threshold)
    per_file, pooled_items, pooled_verdicts = {}, [], []
    total_items = 0
    for path in paths:
        items = read_items(path)
        total_items += len(items)
        scored = [it for it in items if it.label != "BRIEF"]
        verdicts = detector.score_many((it.title, it.text, it.lang) for it in scored)
        per_file[path] = _slices(scored, verdicts)
        per_file[path].update({"items": len(items), "brief_excluded": len(items) - len(scored)})
        pooled_items += scored
        pooled_verdicts += verdicts
    actual = [it.label == "YES" for it in pooled_items]
    result = _slices(pooled_items, pooled_verdicts)
    result.update({
        "file": paths[0] if len(paths) == 1 else ", ".join(paths), "files": per_file,
        "topic": topic.name, "detector": detector.version, "threshold": detector.threshold,
        "items": total_items, "brief_excluded": total_items - len(pooled_items),
        "baselines": _baselines(topic, pooled_items, actual),
    })
    result["errors"] = _errors(pooled_items, pooled_verdicts, actual)
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


def _length(it: Item) -> str:
    return "short" if len(it.text or "") <= SHORT_TEXT_CHARS else "full"


def _slices(items: list[Item], verdicts) -> dict:
    """Figures overall, by language and by text length, each with bootstrap intervals."""
    rows = [(it, v.decision, it.label == "YES") for it, v in zip(items, verdicts)]
    result = figures_by_lang([(it.lang, p, a) for it, p, a in rows])
    result["ci95"] = bootstrap_intervals([(p, a) for _, p, a in rows])
    for lang, sub in result["by_lang"].items():
        sub["ci95"] = bootstrap_intervals([(p, a) for it, p, a in rows if it.lang == lang])
    result["by_length"] = {}
    for length in ("short", "full"):
        pairs = [(p, a) for it, p, a in rows if _length(it) == length]
        if pairs:
            result["by_length"][length] = {**figures(pairs), "ci95": bootstrap_intervals(pairs)}
    result["by_lang_length"] = {}
    for lang in result["by_lang"]:
        for length in ("short", "full"):
            pairs = [(p, a) for it, p, a in rows if it.lang == lang and _length(it) == length]
            if pairs:
                result["by_lang_length"][f"{lang}/{length}"] = {
                    **figures(pairs), "ci95": bootstrap_intervals(pairs)}
    return result


def _rows(items: list[Item], predicted: list[bool], actual: list[bool]):
    return [(it.lang, p, a) for it, p, a in zip(items, predicted, actual)]


def _baselines(topic, items: list[Item], actual: list[bool]) -> dict:
    keyword = [keyword_match(it.title, it.text) for it in items]
    tfidf_scores = TfidfBaseline([text for _, text in topic.seeds]).scores(
        [(it.title, it.text) for it in items])
    threshold, _ = best_threshold(tfidf_scores, actual)
    tfidf = figures_by_lang(_rows(items, [s >= threshold for s in tfidf_scores], actual))
    tfidf["threshold"] = round(threshold, 4)
    tfidf["threshold_note"] = "oracle: the F1-best threshold on this file"
    return {"keyword": figures_by_lang(_rows(items, keyword, actual)), "tfidf": tfidf}


def _errors(items: list[Item], verdicts, actual: list[bool], limit: int = 25) -> dict:
    """Ids (with score and title start) of misses and false alarms, for error analysis."""
    misses, false_alarms = [], []
    for it, verdict, yes in zip(items, verdicts, actual):
        if verdict.decision != yes:
            entry = {"id": it.id, "lang": it.lang, "score": verdict.score, "title": it.title[:60]}
            (misses if yes else false_alarms).append(entry)
    false_alarms.sort(key=lambda e: -e["score"])
    return {"misses": misses[:limit], "false_alarms": false_alarms[:limit]}


def format_report(result: dict) -> str:
    """Fixed-width tables: seedwatch with 95% intervals by language and length, then baselines."""
    lines = [
        f"Evaluation of topic '{result['topic']}' (detector {result['detector']}, threshold "
        f"{result['threshold']}) on {result['file']}",
        f"{result['items']} items, {result['brief_excluded']} BRIEF excluded, {result['n']} scored; "
        f"{result['seconds']} s",
        "",
        "seedwatch, with percentile-bootstrap 95% intervals:",
        f"{'slice':<16} {'n':>6} {'tp':>4} {'fp':>4} {'fn':>4}  {'precision':<18} {'recall':<18} "
        f"{'F1':<18} {'Cdet':<18}",
    ]
    files = result.get("files", {})
    for label, figs in ([("all files", result)] if len(files) > 1 else []) + list(files.items()):
        if len(files) > 1:
            lines.append(f"-- {label}")
        lines.append(_ci_line("all", figs))
        for lang, sub in figs["by_lang"].items():
            lines.append(_ci_line(lang, sub))
        for length, sub in figs.get("by_length", {}).items():
            lines.append(_ci_line(length, sub))
        for key, sub in figs.get("by_lang_length", {}).items():
            if sub["tp"] + sub["fn"]:
                lines.append(_ci_line(key, sub))
    lines += ["", "Baselines (all files)",
              f"{'system':<10} {'lang':<5} {'n':>6} {'tp':>4} {'fp':>4} {'fn':>4} "
              f"{'prec':>6} {'recall':>6} {'F1':>6} {'Cdet':>6}"]
    for name, figs in result["baselines"].items():
        lines.append(_report_line(name, "all", figs))
        for lang, sub in figs["by_lang"].items():
            lines.append(_report_line("", lang, sub))
    tfidf = result["baselines"]["tfidf"]
    lines.append(f"tfidf threshold {tfidf['threshold']} ({tfidf['threshold_note']})")
    for kind in ("misses", "false_alarms"):
        for e in result.get("errors", {}).get(kind, []):
            lines.append(f"{kind[:-2] if kind == 'misses' else 'false alarm'}: {e['lang']} "
                         f"{e['score']:.3f} {e['id']} {e['title']}")
    return "\n".join(lines)


def _ci_line(name: str, f: dict) -> str:
    ci = f.get("ci95", {})

    def cell(key: str) -> str:
        lo, hi = ci.get(key, (0.0, 0.0))
        return f"{f[key]:.3f} [{lo:.2f}-{hi:.2f}]"
    return (f"{name:<16} {f['n']:>6} {f['tp']:>4} {f['fp']:>4} {f['fn']:>4}  {cell('precision'):<18} "
            f"{cell('recall'):<18} {cell('f1'):<18} {cell('cdet'):<18}")


def _report_line(name: str, lang: str, f: dict) -> str:
    return (f"{name:<10} {lang:<5} {f['n']:>6} {f['tp']:>4} {f['fp']:>4} {f['fn']:>4} "
            f"{f['precision']:>6.3f} {f['recall']:>6.3f} {f['f1']:>6.3f} {f['cdet']:>6.3f}")
