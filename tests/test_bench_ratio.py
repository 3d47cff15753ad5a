"""`make bench` divides each end-to-end run by the limits measured around it."""
from __future__ import annotations

import pytest

from bench.__main__ import ratios


def test_each_run_is_set_against_the_mean_of_the_limits_around_it():
    limits = [{"pages_per_second": 100.0}, {"pages_per_second": 80.0}, {"pages_per_second": 120.0}]
    assert ratios([81.0, 95.0], limits) == pytest.approx([0.9, 0.95])


def test_no_ratio_without_a_limit_after_each_run():
    assert ratios([90.0], []) == []  # --skip-limit
    assert ratios([90.0], [{"pages_per_second": 100.0}]) == []
