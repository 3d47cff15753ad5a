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


def bootstrap_intervals(pairs: list[tuple[bool, bool]], rounds: int = 2000, seed: int = 7,
                        level: float = 0.95) -> dict:
    """Percentile bootstrap intervals of precision, recall, F1 and Cdet over (predicted, actual)
    pairs: items are resampled with replacement `rounds` times. Positives are few, so these
    intervals are wide; they say how much a figure could move on another sample of news."""
    import numpy as np

    n = len(pairs)
    if not n:
        return {}
    # A resample only changes how many items fall in each cell of the confusion table, so
    # drawing the four counts from a multinomial is the same bootstrap, and fast.
    cells = [0, 0, 0, 0]   # tp, fp, fn, tn
    for predicted, actual in pairs:
        cells[(0 if actual else 1) if predicted else (2 if actual else 3)] += 1
    draws = np.random.default_rng(seed).multinomial(n, [c / n for c in cells], size=rounds)
    tp, fp, fn, tn = (draws[:, k].astype(float) for k in range(4))
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        p_miss = np.where(tp + fn > 0, fn / (tp + fn), 0.0)
        p_fa = np.where(fp + tn > 0, fp / (fp + tn), 0.0)
    raw = C_MISS * p_miss * P_TARGET + C_FA * p_fa * (1.0 - P_TARGET)
    cdet = raw / min(C_MISS * P_TARGET, C_FA * (1.0 - P_TARGET))
    samples = {"precision": precision, "recall": recall, "f1": f1, "cdet": cdet}
    keys = tuple(samples)
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    out = {}
    for k in keys:
        lo, hi = np.quantile(samples[k], [lo_q, hi_q])
        out[k] = [round(float(lo), 4), round(float(hi), 4)]
    return out


def min_cost_threshold(scores: list[float], actual: list[bool], c_miss: float = C_MISS,
                       c_fa: float = C_FA, p_target: float = P_TARGET) -> tuple[float, float]:
    """The threshold with the lowest expected detection cost over these scores:
    (threshold, normalised cost), cost = Cmiss*Pmiss*Ptarget + Cfa*Pfa*(1-Ptarget).
    Ties in cost go to the higher threshold (fewer alerts for the same cost)."""
    positives = sum(actual)
    negatives = len(actual) - positives
    if not positives or not negatives:
        return 0.5, 1.0
    norm = min(c_miss * p_target, c_fa * (1.0 - p_target))

    def detection_cost(p_miss: float, p_fa: float) -> float:
        return (c_miss * p_miss * p_target + c_fa * p_fa * (1.0 - p_target)) / norm

    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    best = (1.0, detection_cost(1.0, 0.0))
    tp = fp = 0
    for rank, i in enumerate(order):
        tp += actual[i]
        fp += not actual[i]
        if rank + 1 < len(order) and scores[order[rank + 1]] == scores[i]:
            continue
        cost = detection_cost(1 - tp / positives, fp / negatives)
        if cost < best[1] - 1e-12:
            best = (scores[i], cost)
    return best
