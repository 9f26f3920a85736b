"""The keyframe pass's analysis views read from the YUV planes (workbench.keyframes.views)."""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.keyframes.views import analysis_views, shrink
from workbench.video.reader import iter_raw_frames


def test_views_match_the_ffmpeg_conversion(cut_clip: Any) -> None:
    n = 0
    for raw in iter_raw_frames(cut_clip.video, start_index=25, stop_index=60):
        g0, t0 = raw.to_analysis(200)
        g1, t1 = analysis_views(raw, 200)
        assert g1.shape == g0.shape and g1.dtype == np.uint8
        assert t1.shape == t0.shape and t1.dtype == np.uint8
        assert np.abs(g1.astype(int) - g0).mean() < 3.0
        assert np.abs(t1.astype(int) - t0).mean() < 4.0
        # colour order: the thumbnails agree per channel (BGR), not only in brightness
        for c in range(3):
            assert abs(float(t1[..., c].mean()) - float(t0[..., c].mean())) < 4.0
        n += 1
    assert n == 35


def test_shrink_halves_exactly_then_resizes() -> None:
    img = np.arange(64 * 96, dtype=np.uint32).reshape(64, 96).astype(np.uint8)
    assert shrink(img, 48, 32).shape == (32, 48)
    assert shrink(img, 20, 13).shape == (13, 20)
    flat = np.full((100, 160), 77, np.uint8)
    assert np.all(shrink(flat, 33, 21) == 77)
