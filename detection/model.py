"""The learned part of the detector: a logistic model over the features of features.py.

A model file is JSON: the feature names with their weights, the intercept, the threshold
chosen by the detection-cost rule, and a record of what it was trained on (counts only,
never any article text). Applying it is a dot product in pure Python; fitting it
(`python -m detection.train`) uses Newton's method on an L2-penalised log-loss.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from detection.errors import TopicError
from detection.features import FEATURES, logistic


@dataclass
class LinearModel:
    weights: dict[str, float]
    bias: float
    threshold: float
    scale: dict[str, float] = field(default_factory=dict)   # per-feature divisor (1 if absent)
    trained_on: dict = field(default_factory=dict)

    def margin(self, features: dict[str, float]) -> float:
        z = self.bias
        for name, w in self.weights.items():
            z += w * features.get(name, 0.0) / self.scale.get(name, 1.0)
        return z

    def probability(self, features: dict[str, float]) -> float:
        return logistic(self.margin(features))

    def contributions(self, features: dict[str, float], top: int = 5) -> list[dict]:
        """The features that moved this verdict most, for the explanation."""
        rows = [{"feature": n, "value": round(features.get(n, 0.0), 4),
                 "effect": round(w * features.get(n, 0.0) / self.scale.get(n, 1.0), 3)}
                for n, w in self.weights.items() if features.get(n, 0.0)]
        rows.sort(key=lambda r: -abs(r["effect"]))
        return rows[:top]

    def to_dict(self) -> dict:
        return {"format": "seedwatch-linear-1", "features": list(self.weights),
                "weights": [round(self.weights[n], 6) for n in self.weights],
                "bias": round(self.bias, 6), "threshold": round(self.threshold, 4),
                "trained_on": self.trained_on}


def load_model(path: Path) -> LinearModel:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TopicError(f"model file not found: {path}") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise TopicError(f"model file {path} is not readable JSON: {exc}") from None
    if data.get("format") != "seedwatch-linear-1":
        raise TopicError(f"model file {path}: unknown format {data.get('format')!r}")
    names, weights = data.get("features", []), data.get("weights", [])
    unknown = [n for n in names if n not in FEATURES]
    if unknown or len(names) != len(weights):
        raise TopicError(f"model file {path}: features {unknown or names} do not match this "
                         f"version of seedwatch; retrain it with `python -m detection.train`")
    threshold = float(data.get("threshold", 0.5))
    if not 0.0 < threshold < 1.0:
        raise TopicError(f"model file {path}: threshold must be within (0, 1), got {threshold}")
    return LinearModel(dict(zip(names, map(float, weights))), float(data.get("bias", 0.0)),
                       threshold, trained_on=data.get("trained_on", {}))


def fit(rows: list[dict[str, float]], labels: list[bool], names: list[str],
        l2: float = 3.0, sample_weights: list[float] | None = None,
        iterations: int = 50) -> tuple[dict[str, float], float]:
    """L2-penalised logistic regression by Newton's method; returns (weights, bias)."""
    import numpy as np  # training only; scoring needs no numpy

    x = np.array([[r.get(n, 0.0) for n in names] + [1.0] for r in rows], dtype=float)
    y = np.array(labels, dtype=float)
    sw = np.ones(len(rows)) if sample_weights is None else np.asarray(sample_weights, float)
    k = len(names)
    penalty = np.diag([l2] * k + [1e-6])
    w = np.zeros(k + 1)
    for _ in range(iterations):
        z = np.clip(x @ w, -35, 35)
        p = 1.0 / (1.0 + np.exp(-z))
        grad = x.T @ (sw * (p - y)) + penalty @ w
        hess = (x * (sw * p * (1.0 - p))[:, None]).T @ x + penalty
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-9:
            break
    return {n: float(v) for n, v in zip(names, w[:k])}, float(w[k])


def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


FEEDBACK_PRIOR = 40.0     # how firmly the shipped weights hold against an analyst's labels
FEEDBACK_WEIGHT = 4.0     # one analyst label counts as four labelled articles


def adapt(model: LinearModel, rows: list[dict[str, float]], labels: list[bool],
          prior: float = FEEDBACK_PRIOR, weight: float = FEEDBACK_WEIGHT,
          iterations: int = 25) -> LinearModel:
    """The model moved toward an analyst's labels: maximum a posteriori logistic regression
    with a Gaussian prior centred on the shipped weights (so a handful of labels nudges the
    model, a consistent pattern of them moves it), the threshold kept. Pure Python: the
    system is small (one weight per feature)."""
    if not rows:
        return model
    names = list(model.weights)
    k = len(names)
    w0 = [model.weights[n] / model.scale.get(n, 1.0) for n in names] + [model.bias]
    w = list(w0)
    xs = [[r.get(n, 0.0) for n in names] + [1.0] for r in rows]
    for _ in range(iterations):
        grad = [prior * (w[j] - w0[j]) for j in range(k + 1)]
        hess = [[prior if i == j else 0.0 for j in range(k + 1)] for i in range(k + 1)]
        for x, y in zip(xs, labels):
            p = logistic(sum(a * b for a, b in zip(w, x)))
            g, h = weight * (p - float(y)), weight * p * (1.0 - p)
            for i in range(k + 1):
                if x[i]:
                    grad[i] += g * x[i]
                    row = hess[i]
                    for j in range(k + 1):
                        if x[j]:
                            row[j] += h * x[i] * x[j]
        step = _solve(hess, grad)
        w = [a - b for a, b in zip(w, step)]
        if max(abs(s) for s in step) < 1e-8:
            break
    return LinearModel(dict(zip(names, w[:k])), w[k], model.threshold,
                       trained_on={**model.trained_on, "feedback_labels": len(rows)})


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (the matrix is small and positive definite)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for col in range(n):
        piv = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[piv] = m[piv], m[col]
        d = m[col][col] or 1e-12
        for r in range(col + 1, n):
            f = m[r][col] / d
            if f:
                for c in range(col, n + 1):
                    m[r][c] -= f * m[col][c]
    out = [0.0] * n
    for r in range(n - 1, -1, -1):
        out[r] = (m[r][n] - sum(m[r][c] * out[c] for c in range(r + 1, n))) / (m[r][r] or 1e-12)
    return out
