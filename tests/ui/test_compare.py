"""workbench.compare helpers that need no case or imagery."""

from __future__ import annotations

import numpy as np

from workbench.compare import spread_indices


def test_spread_indices_never_repeats_a_tie_point() -> None:
    # 5 distinct tie points and 35 repeats of the first: more points than the limit
    pts = np.zeros((40, 2))
    pts[:5] = [[0, 0], [10, 0], [0, 10], [10, 10], [5, 5]]
    idx = spread_indices(pts, 30)
    assert len(idx) == len(set(idx))
    assert {tuple(pts[i]) for i in idx} == {tuple(p) for p in pts[:5]}


def test_spread_indices_number_in_reading_order() -> None:
    # top row left to right, then the bottom row: the numbers a reader scans for
    pts = np.array([[50, 0], [0, 0], [0, 100], [50, 100], [25, 2]], float)
    assert spread_indices(pts, 12) == [1, 4, 0, 2, 3]


def test_spread_indices_keep_the_outlying_points_of_a_cluster() -> None:
    # 100 points crowded in one corner and four far apart: a limit of 5 must not spend
    # itself on the crowd
    rng = np.random.default_rng(3)
    crowd = rng.uniform(0, 5, (100, 2))
    far = np.array([[1000, 0], [0, 1000], [1000, 1000], [500, 500]], float)
    idx = spread_indices(np.vstack([crowd, far]), 5)
    assert len(idx) == 5
    assert set(range(100, 104)) <= set(idx)
