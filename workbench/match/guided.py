"""Guided matching around an existing homography: growing weak hypotheses and
re-verifying coarse ones on native-resolution tile blocks (on top of
:mod:`workbench.match.sift`).

Homographies map keyframe full-resolution px -> tile level-0 px; tile features are in
their working grid (:class:`workbench.match.tilefeatures.TileFeatures`); ``(x, y)`` = (col, row).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from workbench.imagery.catalog import Tile
from workbench.match.features import Features
from workbench.match.geometry import frame_outline
from workbench.match.model import Found, MatchConfig, Variant
from workbench.match.sift import estimate, match_variants
from workbench.match.tilefeatures import TileFeatureCache, TileFeatures


def grow(
    found: Found, variants: Sequence[Variant], tf: TileFeatures, cfg: MatchConfig,
    frame_wh: tuple[int, int],
) -> Found | None:
    """Guided matching around a (weak) homography, then a new MAGSAC fit (see MatchConfig)."""
    same = [v for v in variants
            if v.polarity == found.variant.polarity and v.stretch == found.variant.stretch]
    qf = Features.concat([v.feats for v in same])
    if len(qf) < cfg.min_inliers or len(tf.feats) < cfg.min_inliers:
        return None
    to_work = np.linalg.inv(tf.level0_from_working()) @ found.h0
    pred = cv2.perspectiveTransform(qf.xy.astype(np.float64)[None], to_work)[0]
    r = cfg.grow_radius_px
    hgt, wid = tf.shape
    inside = np.all(np.isfinite(pred), axis=1) & (pred[:, 0] > -r) & (pred[:, 1] > -r) \
        & (pred[:, 0] < wid + r) & (pred[:, 1] < hgt + r)
    if inside.sum() < cfg.min_inliers:
        return None
    lo, hi = pred[inside].min(axis=0) - r, pred[inside].max(axis=0) + r
    txy = tf.feats.xy.astype(np.float64)
    near = np.all((txy >= lo) & (txy <= hi), axis=1)
    t_idx = np.nonzero(near)[0]
    if len(t_idx) < cfg.min_inliers:
        return None
    tsub, dsub = txy[t_idx], tf.feats.desc[t_idx]
    q_idx = np.nonzero(inside)[0]
    pairs_q, pairs_t, pairs_d = [], [], []
    for start in range(0, len(q_idx), 512):
        qi = q_idx[start:start + 512]
        d2 = np.maximum(2.0 - 2.0 * (qf.desc[qi] @ dsub.T), 0.0)  # RootSIFT: unit L2 norm
        s2 = ((pred[qi, None, :] - tsub[None, :, :]) ** 2).sum(axis=2)
        d2[s2 > r * r] = np.inf
        order = np.argsort(d2, axis=1)[:, :2]
        rows = np.arange(len(qi))
        b1 = d2[rows, order[:, 0]]
        b2 = d2[rows, order[:, 1]] if d2.shape[1] > 1 else np.full(len(qi), np.inf)
        ok = np.isfinite(b1) & (b1 < cfg.grow_max_dist**2) & (b1 < (0.9**2) * b2)
        pairs_q.append(qi[ok])
        pairs_t.append(order[ok, 0])
        pairs_d.append(b1[ok])
    q = np.concatenate(pairs_q)
    t = np.concatenate(pairs_t)
    d = np.concatenate(pairs_d)
    if len(q) < cfg.min_inliers:
        return None
    o = np.argsort(d)
    _, first = np.unique(t[o], return_index=True)
    keep = o[first]
    grown = estimate(found.variant, qf.xy[q[keep]].astype(np.float64), tsub[t[keep]], tf, cfg,
                      frame_wh)
    if grown is not None:
        grown.scores["seed_inliers"] = float(len(found.kxy))
    return grown


def refine(
    found: Found,
    variants: Sequence[Variant],
    tile: Tile,
    cache: TileFeatureCache,
    cfg: MatchConfig,
    frame_wh: tuple[int, int],
) -> Found:
    """Re-match a coarse hypothesis on a finer tile window around its footprint."""
    outline = frame_outline(found.h0, frame_wh)
    if outline is None:
        return found
    tf = cache.window(tile, outline)
    if tf is None or tf.scale >= found.scores["tile_scale"] * 0.8:
        return found
    same = [
        v for v in variants
        if v.polarity == found.variant.polarity and v.stretch == found.variant.stretch
    ]
    guide_px = max(8.0 * found.scores["tile_scale"], 3.0 * found.scores.get("rmse_px", 1.0))
    better = match_variants(same, tf, cfg, frame_wh, guide=found.h0, guide_px=guide_px)
    if not better:
        return found
    best = max(better, key=lambda f: len(f.kxy))
    if len(best.kxy) < max(cfg.min_inliers, 0.5 * len(found.kxy)):
        return found
    best.scores["coarse_inliers"] = float(len(found.kxy))
    return best
