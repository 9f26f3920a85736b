"""Plausibility gates: does a homography look like a camera viewing the ground?

Used by the matcher backends (whether a keyframe already has a plausible placement,
whether a learned hypothesis is worth remembering) and by :mod:`workbench.rank`
(credibility).  The thresholds are :class:`GateConfig`; the ranking's settings
(:meth:`workbench.rank.model.RankConfig.gates`) are passed to the matcher so that one
set of thresholds reaches every gate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from workbench.match.model import MatchHypothesis


@dataclass(frozen=True)
class GateConfig:
    """Thresholds of :func:`plausibility` and :func:`has_plausible`.

    ``max_anisotropy`` / ``max_scale_ratio`` / ``min_spread``: limits on the geometry
    (see :func:`workbench.match.geometry.hypothesis_scores`); ``inlier_mid``: the
    geometry-weighted inlier count at which one keyframe's placement is credible.
    """

    inlier_mid: float = 12.0
    max_anisotropy: float = 4.0
    max_scale_ratio: float = 8.0
    min_spread: float = 0.02


def plausibility(scores: dict[str, float], cfg: GateConfig) -> float:
    """0..1: how much a homography looks like a camera viewing the ground.

    Zero for a mirror image, a non-convex footprint, too much shear or scale change,
    or inliers bunched in a corner; reduced for sloppy fits and strong perspective.
    """
    if scores.get("mirrored", 0.0) > 0 or scores.get("convex", 1.0) < 1:
        return 0.0
    an = scores.get("anisotropy", float("nan"))
    sr = scores.get("scale_ratio", float("inf"))
    if not (math.isfinite(an) and an <= cfg.max_anisotropy and sr <= cfg.max_scale_ratio):
        return 0.0
    spread = scores.get("spread", 0.0)
    if spread < cfg.min_spread:
        return 0.0
    p = min(1.0, math.sqrt(spread / 0.12))
    # residual in working tile px (MAGSAC threshold is a few px): penalise sloppy fits
    rmse_w = scores.get("rmse_px", 0.0) / max(scores.get("tile_scale", 1.0), 1e-6)
    if rmse_w > 2.0:
        p *= max(0.2, 2.0 / rmse_w)
    # strong shear/perspective is possible but rarer than near-nadir views
    if an > 2.5:
        p *= 0.8
    return p


def effective_inliers(h: MatchHypothesis) -> float:
    """Inliers counted for credibility: a hypothesis grown by guided matching from a
    seed counts at most 1.5x its seed: guided matching "finds" tie points around any
    homography, also a wrong one, so its count is weak evidence."""
    seed = h.scores.get("seed_inliers")
    return float(h.inliers) if seed is None else float(min(h.inliers, 1.5 * seed))


def has_plausible(hyps: Sequence[MatchHypothesis], cfg: GateConfig) -> bool:
    """Whether any hypothesis is a credible placement on its own (plausibility-weighted
    effective inliers at least ``inlier_mid``)."""
    return any(plausibility(h.scores, cfg) * effective_inliers(h) >= cfg.inlier_mid
               for h in hyps)
