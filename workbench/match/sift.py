"""The SIFT core of the match stage: keyframe variants, homography estimation, dedupe.

* **Scale**: the keyframe is described at several shrink levels
  (``MatchConfig.frame_levels``) so that one of them has roughly the tile's ground
  resolution.
* **Heading**: SIFT is rotation invariant (any heading 0-360 degrees).
* **Oblique views**: affine simulation; the keyframe is also described after a vertical
  stretch (``stretches``) of about 1/sin(depression).
* **White-hot thermal**: the inverted keyframe is described too (``polarities``).
* **Geometry**: ``cv2.findHomography`` with ``USAC_MAGSAC``; geometric statistics are
  kept in the scores for the gates (:mod:`workbench.match.gates`) and the ranking.

Conventions: keyframe images ``(H, W, 3) uint8`` BGR, overlay masks ``(H, W) uint8``
(255 = overlay); homographies map keyframe full-resolution px -> tile level-0 px,
``(x, y)`` = (col, row), centre of the top-left pixel at ``(0, 0)``; tile features are
in their working grid (:class:`workbench.match.tilefeatures.TileFeatures`).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from workbench.imagery.catalog import Tile
from workbench.match.features import detect, match_descriptors, normalise, to_grey, usable_mask
from workbench.match.geometry import hypothesis_scores
from workbench.match.model import POLARITIES, Found, MatchConfig, MatchHypothesis, Variant
from workbench.match.tilefeatures import TileFeatures


def keyframe_variants(
    image: np.ndarray, overlay_mask: np.ndarray | None, config: MatchConfig,
    only: tuple[str, float] | None = None, *, levels: Sequence[float] | None = None,
    min_side: int | None = None,
) -> list[Variant]:
    """Describe a ``(H, W, 3) uint8`` BGR keyframe under every (polarity, stretch, level).

    ``overlay_mask``: ``(H, W) uint8`` 255 = burned-in overlay (no keypoints there).
    ``only``: restrict to one ``(polarity, stretch)`` group.  ``levels`` / ``min_side``:
    instead of ``config.frame_levels`` / ``config.frame_min_side`` (the deep-zoom pass).
    Returned keypoints are in the keyframe's full-resolution pixel grid.
    """
    levels = config.frame_levels if levels is None else levels
    min_side = config.frame_min_side if min_side is None else min_side
    grey = to_grey(image)
    h, w = grey.shape
    usable = usable_mask(grey, overlay_mask)
    out: list[Variant] = []
    for pol_name in config.polarities:
        if only is not None and pol_name != only[0]:
            continue
        pol = POLARITIES.index(pol_name)
        base = 255 - grey if pol else grey
        for stretch in config.stretches:
            if only is not None and stretch != only[1]:
                continue
            for level in levels:
                sx, sy = level, level * stretch
                nw, nh = round(w * sx), round(h * sy)
                if min(nw, nh) < min_side or max(sx, sy) > 2.0:
                    continue
                interp = cv2.INTER_AREA if sx < 1 else cv2.INTER_LINEAR
                img = cv2.resize(base, (nw, nh), interpolation=interp)
                msk = cv2.resize(usable, (nw, nh), interpolation=cv2.INTER_NEAREST)
                img = normalise(img, msk > 0)
                f = detect(img, msk, max_features=config.frame_max_features)
                if len(f) < 4:
                    continue
                ax, ay = nw / w, nh / h
                back = np.array([[1 / ax, 0, 0.5 / ax - 0.5], [0, 1 / ay, 0.5 / ay - 0.5]])
                out.append(Variant(pol, stretch, level, f.mapped(back)))
    return out


def match_variants(
    variants: Sequence[Variant], tf: TileFeatures, cfg: MatchConfig, frame_wh: tuple[int, int],
    *, guide: np.ndarray | None = None, guide_px: float = 0.0,
) -> list[Found]:
    """Try every keyframe variant against one tile (window); one hypothesis per variant.

    ``guide``: an expected keyframe->level-0 homography; putative matches farther
    than ``guide_px`` level-0 px from its prediction are dropped (refinement).
    """
    found: list[Found] = []
    for v in variants:
        pairs = match_descriptors(v.feats, tf.feats, ratio=cfg.ratio)
        if len(pairs) < cfg.min_inliers:
            continue
        kxy = v.feats.xy[pairs[:, 0]].astype(np.float64)
        wxy = tf.feats.xy[pairs[:, 1]].astype(np.float64)  # working px
        if guide is not None:
            pred = cv2.perspectiveTransform(kxy[None], guide)[0]
            near = np.linalg.norm(pred - tf.to_level0(wxy), axis=1) < guide_px
            kxy, wxy = kxy[near], wxy[near]
        f = estimate(v, kxy, wxy, tf, cfg, frame_wh)
        if f is not None:
            found.append(f)
    return found


def estimate(
    v: Variant, kxy: np.ndarray, wxy: np.ndarray, tf: TileFeatures, cfg: MatchConfig,
    frame_wh: tuple[int, int], min_inliers: int | None = None,
) -> Found | None:
    """USAC/MAGSAC homography from putative pairs (keyframe px, working px); ``None`` if weak."""
    need = cfg.min_inliers if min_inliers is None else min_inliers
    if len(kxy) < need:
        return None
    hm, inl = cv2.findHomography(
        kxy, wxy, cv2.USAC_MAGSAC, cfg.ransac_px, maxIters=5000, confidence=0.999
    )
    if hm is None or inl is None:
        return None
    m = inl.ravel().astype(bool)
    if int(m.sum()) < need:
        return None
    h0 = tf.level0_from_working() @ hm
    h0 = h0 / h0[2, 2]
    kin = kxy[m]
    tin = tf.to_level0(wxy[m])
    scores = hypothesis_scores(h0, kin, tin, frame_wh, tf.tile_gsd_m)
    if not np.isfinite(scores.get("anisotropy", np.nan)):
        return None
    scores.update(
        putative=float(len(kxy)), polarity=float(v.polarity), stretch=v.stretch,
        level=v.level, tile_scale=tf.scale,
    )
    return Found(h0, kin, tin, scores, v)


def dedupe(found: list[Found], keep: int) -> list[Found]:
    """Best hypotheses first, dropping those whose centre lands near a better one."""
    found = sorted(found, key=lambda f: -len(f.kxy))
    out: list[Found] = []
    for f in found:
        c = f.scores["centre_x"], f.scores["centre_y"]
        radius = max(f.scores["footprint_diag_px"] * 0.25, 5.0)
        if any(
            np.hypot(c[0] - o.scores["centre_x"], c[1] - o.scores["centre_y"]) < radius
            for o in out
        ):
            continue
        out.append(f)
        if len(out) >= keep:
            break
    return out


def to_hypothesis(f: Found, keyframe_id: str, tile: Tile, frame_wh: tuple[int, int]
                  ) -> MatchHypothesis:
    """The :class:`MatchHypothesis` of a fitted homography (``frame_wh``: keyframe size)."""
    return MatchHypothesis(
        keyframe_id=keyframe_id, tile=tile, homography=f.h0, keyframe_xy=f.kxy,
        tile_xy=f.txy, inliers=len(f.kxy), scores=f.scores, frame_size=frame_wh,
    )
