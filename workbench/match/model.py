"""Types of the match stage (the bottom module of :mod:`workbench.match`).

Conventions: keyframe images ``(H, W, 3) uint8`` BGR with an overlay mask
``(H, W) uint8`` (255 = burned-in overlay, ignored); homographies map keyframe
full-resolution pixels to tile level-0 pixels, ``(x, y)`` = (col, row) with the
centre of the top-left pixel at ``(0, 0)``; tile CRS is the tile's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from workbench.imagery.catalog import Tile
from workbench.match.features import Features

POLARITIES = ("normal", "inverted")
MATCHERS = ("sift", "auto", "learned")


@dataclass
class LearnedConfig:
    """Settings of the learned backend (XFeat + LighterGlue, :mod:`workbench.match.learned`).

    ``levels``: keyframe shrink levels; ``headings``: headings swept (4 = every 90 deg);
    ``frame_features`` / ``tile_features``: XFeat keypoints per keyframe variant / tile;
    ``top``: LighterGlue runs per keyframe (best screened pairs); ``min_inliers``: inlier
    floor of its hypotheses.
    """

    levels: tuple[float, ...] = (1.0, 0.5)
    headings: int = 4
    frame_features: int = 2048
    tile_features: int = 4096
    top: int = 2
    min_inliers: int = 25


@dataclass
class MatchConfig:
    """Tuning of :func:`workbench.match.match_keyframe` (defaults are what the benchmark uses).

    The SIFT backend's settings, those every backend shares (``polarities``,
    ``ransac_px``, ``min_inliers``, ``tile_max_pixels``, ``max_hypotheses_per_tile``),
    the backend choice and the learned backend's own settings (``learned``).

    ``frame_levels``: keyframe shrink factors tried (1 = full resolution).
    ``zoom_levels``: further shrink factors tried only for a keyframe the others leave
    without a plausible placement (footage up to ~12x finer than the imagery), on
    images down to ``zoom_min_side`` px.
    ``stretches``: vertical stretch factors (affine simulation of oblique views).
    ``polarities``: ``"normal"`` and/or ``"inverted"`` (white-hot thermal).
    ``ratio``: Lowe ratio-test threshold.  ``ransac_px``: MAGSAC threshold in
    working tile pixels.  ``min_inliers``: smallest homography support kept.
    ``tile_max_pixels``: tiles larger than this are read coarser for the first pass.
    ``refine``: re-verify coarse hypotheses on a native-resolution tile window.
    ``seed_inliers``/``grow_below``/``grow_radius_px``/``grow_max_dist``: hypotheses
    with fewer than ``grow_below`` inliers (down to ``seed_inliers``) are grown by
    guided matching: every keyframe feature is matched only to tile features within
    ``grow_radius_px`` working px of where the homography puts it (local ratio test,
    RootSIFT distance below ``grow_max_dist``), then MAGSAC runs again; seeds that do
    not reach ``min_inliers`` are dropped.
    ``per_tile_ratio``: apply the ratio test within each tile (not across all tiles).
    ``early_stop_inliers``: variant groups (polarity x stretch) are tried in order and
    the rest skipped once a hypothesis has this many inliers.
    ``matcher``: the backend (:func:`workbench.match.pipeline.matcher_for`): ``"sift"``
    (RootSIFT only), ``"auto"`` (RootSIFT, then the learned backend for keyframes left
    without a plausible hypothesis, when its extra is installed) or ``"learned"`` (the
    learned backend on every keyframe too; an error without the extra).
    """

    frame_levels: tuple[float, ...] = (1.0, 0.5, 0.25)
    zoom_levels: tuple[float, ...] = (0.16, 0.11, 0.08)
    zoom_min_side: int = 32
    stretches: tuple[float, ...] = (1.0, 1.6)
    polarities: tuple[str, ...] = POLARITIES
    ratio: float = 0.85
    ransac_px: float = 3.0
    min_inliers: int = 8
    frame_min_side: int = 64
    frame_max_features: int = 2500
    tile_max_pixels: int = 2_000_000
    tile_max_features: int = 30_000
    refine: bool = True
    refine_max_pixels: int = 1_500_000
    max_hypotheses_per_tile: int = 3
    early_stop_inliers: int = 60
    per_tile_ratio: bool = True
    seed_inliers: int = 8
    grow_below: int = 40
    grow_radius_px: float = 8.0
    grow_max_dist: float = 0.8
    matcher: str = "auto"
    learned: LearnedConfig = field(default_factory=LearnedConfig)


@dataclass
class MatchHypothesis:
    """A keyframe placed on a tile by a homography.

    ``homography``: ``(3, 3) float64`` keyframe px -> tile level-0 px.
    ``keyframe_xy`` / ``tile_xy``: ``(N, 2) float64`` inlier tie points (keyframe
    full-resolution px / tile level-0 px).  ``scores``: geometric statistics
    (see :func:`workbench.match.geometry.hypothesis_scores`) plus ``putative`` matches,
    ``polarity`` (0 normal, 1 inverted), ``stretch`` and ``level``.  A *chained*
    hypothesis (``scores["chained"] == 1``) places a zoomed keyframe through ``via``, a
    wider keyframe of the same shot: ``via_homography`` ``(3, 3) float64`` maps this
    keyframe's px -> ``via``'s px (:mod:`workbench.locate.zoom`).
    """

    keyframe_id: str
    tile: Tile
    homography: np.ndarray
    keyframe_xy: np.ndarray
    tile_xy: np.ndarray
    inliers: int
    scores: dict[str, float] = field(default_factory=dict)
    frame_size: tuple[int, int] = (0, 0)  # (width, height) of the keyframe
    via: str | None = None
    via_homography: np.ndarray | None = None


@dataclass
class Variant:
    """One description of a keyframe: ``polarity`` (index into :data:`POLARITIES`),
    vertical ``stretch``, shrink ``level``; ``feats`` xy in keyframe full-resolution px."""

    polarity: int
    stretch: float
    level: float
    feats: Features


@dataclass
class Found:
    """A homography fitted on one tile (window), before it becomes a hypothesis.

    ``h0``: ``(3, 3) float64`` keyframe px -> tile level-0 px; ``kxy`` / ``txy``:
    ``(N, 2) float64`` inliers (keyframe px / tile level-0 px).
    """

    h0: np.ndarray
    kxy: np.ndarray
    txy: np.ndarray
    scores: dict[str, float]
    variant: Variant
