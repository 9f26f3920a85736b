"""workbench.compare helpers that need no case or imagery."""

from __future__ import annotations

import numpy as np

from workbench.compare import spread_indices
from workbench.report.figures import pick_landmarks


def test_spread_indices_never_repeats_a_tie_point() -> None:
    # 5 distinct tie points and 35 repeats of the first: more points than the limit
    pts = np.zeros((40, 2))
    pts[:5] = [[0, 0], [10, 0], [0, 10], [10, 10], [5, 5]]
    idx = spread_indices(pts, 30)
    assert len(idx) == len(set(idx))
    assert {tuple(pts[i]) for i in idx} == {tuple(p) for p in pts[:5]}


def test_spread_indices_and_report_landmarks_pick_the_same_points() -> None:
    rng = np.random.default_rng(3)
    pts = rng.uniform(0, 1000, (200, 2))
    assert sorted(spread_indices(pts, 12)) == sorted(pick_landmarks(pts, 12))
    assert spread_indices(pts[:7], 12) == sorted(range(7), key=lambda i: (
        int(pts[i, 1] // max(float(np.ptp(pts[:7, 1])) / 8.0, 1.0)), pts[i, 0]))
