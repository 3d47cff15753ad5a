"""Detection quality gate: F1 on the labelled sets may only go up.

The sets live outside the project (../shared/eval/, or $SEEDWATCH_EVAL_DIR); the test is
skipped with a message where they are absent. The floors are the figures of the detector
that introduced them, rounded down: raise them when the detector improves, never lower
them. (They are in-sample figures for the shipped model, trained on both sets; the honest
cross-set figures are in docs/detection.md.) One exception, recorded here: dev's English
floor went from 0.95 to 0.90 when the threshold rule became the bootstrap median (dev has
six English positives; one of them scores 0.580 against the threshold 0.582, and the cross-
set figures rose in both directions with that change).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from detection.evaluate import evaluate_file

ROOT = Path(__file__).resolve().parent.parent
EVAL_DIR = Path(os.environ.get("SEEDWATCH_EVAL_DIR", ROOT.parent / "shared" / "eval"))

# file -> (minimum F1 overall, per language)
FLOORS = {
    "dev.jsonl.gz": {"all": 0.95, "en": 0.90, "ko": 0.93},
    "dev2.jsonl.gz": {"all": 0.88, "en": 0.90, "ko": 0.87},
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FLOORS))
def test_f1_does_not_fall_below_its_floor(name):
    path = EVAL_DIR / name
    if not path.is_file():
        pytest.skip(f"labelled set {path} not present (set SEEDWATCH_EVAL_DIR); quality gate not run")
    result = evaluate_file(path, topics_dir=ROOT / "seeds")
    floors = FLOORS[name]
    got = {"all": result["f1"], **{k: v["f1"] for k, v in result["by_lang"].items()}}
    for key, floor in floors.items():
        assert got[key] >= floor, f"{name} {key}: F1 {got[key]:.3f} fell below its floor {floor}"
