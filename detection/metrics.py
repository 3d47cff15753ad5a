"""Detection metrics: precision/recall/F1 and the normalised TDT detection cost."""
from __future__ import annotations

from typing import Iterable

# NIST TDT cost parameters.
C_MISS = 1.0
C_FA = 0.1
P_TARGET = 0.02


def detection_cost(p_miss: float, p_fa: float) -> float:
    """Normalised Cdet = (Cmiss*Pmiss*Ptarget + Cfa*Pfa*(1-Ptarget)) / min(Cmiss*Ptarget, Cfa*(1-Ptarget)).

    0 is perfect; 1 is what a system that says always-no (or always-yes, whichever is
    cheaper) would cost.
    """
    raw = C_MISS * p_miss * P_TARGET + C_FA * p_fa * (1.0 - P_TARGET)
    return raw / min(C_MISS * P_TARGET, C_FA * (1.0 - P_TARGET))


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def figures(pairs: Iterable[tuple[bool, bool]]) -> dict:
    """Metrics from (predicted, actual) pairs; the counts are included."""
    tp = fp = fn = tn = 0
    for predicted, actual in pairs:
        if predicted and actual:
            tp += 1
        elif predicted:
            fp += 1
        elif actual:
            fn += 1
        else:
            tn += 1
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = _ratio(2 * precision * recall, precision + recall) if precision + recall else 0.0
    p_miss = _ratio(fn, tp + fn)
    p_fa = _ratio(fp, fp + tn)
    return {
        "n": tp + fp + fn + tn, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
        "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
        "p_miss": round(p_miss, 4), "p_fa": round(p_fa, 6),
        "cdet": round(detection_cost(p_miss, p_fa), 4),
    }


def figures_by_lang(rows: list[tuple[str, bool, bool]]) -> dict:
    """Overall figures plus a by_lang breakdown from (lang, predicted, actual) rows."""
    result = figures((p, a) for _, p, a in rows)
    langs = sorted({lang for lang, _, _ in rows})
    result["by_lang"] = {
        lang: figures((p, a) for l, p, a in rows if l == lang) for lang in langs
    }
    return result


def best_threshold(scores: list[float], actual: list[bool]) -> tuple[float, float]:
    """The threshold that maximises F1 over these scores (an oracle choice): (threshold, f1)."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    positives = sum(actual)
    best = (1.0, 0.0)
    tp = fp = 0
    for rank, i in enumerate(order):
        tp += actual[i]
        fp += not actual[i]
        next_is_tie = rank + 1 < len(order) and scores[order[rank + 1]] == scores[i]
        if next_is_tie or not positives:
            continue
        f1 = 2 * tp / (tp + fp + positives)
        if f1 > best[1]:
            best = (scores[i], f1)
    return best
