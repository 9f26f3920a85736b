"""The keyframe pass's analysis views read from the YUV planes (workbench.keyframes.views)."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest

from workbench.keyframes.views import analysis_views, phash64, shrink
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


def _textured(seed: int, h: int = 120, w: int = 200) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur((rng.random((h, w)) * 255).astype(np.uint8), (0, 0), 3)


def test_phash64_is_imagehash_phash_and_tells_near_duplicates() -> None:
    a, b = _textured(1), _textured(2)
    ha, hb = phash64(a), phash64(b)
    assert ha.shape == (64,) and ha.dtype == bool
    # a slightly brighter, noisier copy is a near-duplicate; another picture is not
    rng = np.random.default_rng(3)
    a2 = np.clip(a.astype(int) + 6 + rng.integers(-2, 3, a.shape), 0, 255).astype(np.uint8)
    assert np.count_nonzero(phash64(a2) != ha) <= 4
    assert np.count_nonzero(hb != ha) > 16
    imagehash = pytest.importorskip("imagehash")
    from PIL import Image

    for img in (a, b, a2):
        ref = imagehash.phash(Image.fromarray(img)).hash.ravel()
        assert np.array_equal(phash64(img), ref)
