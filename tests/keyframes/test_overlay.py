"""workbench.keyframes.overlay: sampling thins once a shot's overlay decision settles."""

from __future__ import annotations

import cv2
import numpy as np
from ingest_clips import _hud, scene

from workbench.keyframes.model import OverlayConfig
from workbench.keyframes.overlay import OverlayAccumulator, combine_evidence

H, W = 180, 320


def _frames(n: int, dx: int = 2) -> tuple[list[np.ndarray], np.ndarray]:
    """Grey frames of a textured ground panning ``dx`` px per frame under the tests' HUD."""
    ground = cv2.cvtColor(scene(5, 900), cv2.COLOR_BGR2GRAY)
    layer = _hud(W, H)
    hud = layer[:, :, 3] > 0
    frames = []
    for i in range(n):
        f = ground[100: 100 + H, 50 + i * dx: 50 + i * dx + W].copy()
        f[hud] = layer[:, :, 0][hud]
        frames.append(f)
    return frames, hud


def _run(cfg: OverlayConfig, frames: list[np.ndarray], dx: int = 2) -> OverlayAccumulator:
    acc = OverlayAccumulator((H, W), cfg)
    step = np.array([[1.0, 0.0, -dx], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    for f in frames:
        if acc.wants(step, float(dx)):
            acc.sample(f)
    return acc


def test_sampling_thins_once_the_decision_settles_and_the_mask_holds() -> None:
    frames, hud = _frames(200)
    full = _run(OverlayConfig(saturated_stride=1), frames)
    thin = _run(OverlayConfig(saturated_stride=4), frames)
    assert thin.samples < 0.75 * full.samples  # later samples at a quarter rate
    for acc in (full, thin):
        ev = acc.evidence()
        mask = combine_evidence(ev, ev, acc.config) > 0
        assert (mask & hud).sum() / hud.sum() >= 0.9
        assert (mask & ~hud).sum() / (~hud).sum() < 0.05
    thin.reset()  # a new shot starts at the full rate again
    again = _run(OverlayConfig(saturated_stride=4), frames[:30])
    assert again.samples == _run(OverlayConfig(saturated_stride=1), frames[:30]).samples
