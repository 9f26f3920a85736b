"""Extreme zoom: place a keyframe the imagery cannot match through a wider keyframe of
its shot.

A targeting-pod clip often opens wide and ends zoomed far in, finer than any reference
imagery.  The zoomed keyframe is then placed through the nearest (in time) keyframe of the
same shot that the matcher did place: the frame-to-frame homographies between the two
are measured on the footage itself (RootSIFT between frames decoded every
``step_s`` seconds, at the footage's resolution, burned-in overlay masked) and chained,
and the wider keyframe's placement is carried over (:func:`chain_zoomed`).  The result is
a *chained* :class:`~workbench.match.model.MatchHypothesis` (``scores["chained"] = 1``,
``via``, ``via_homography``) that :mod:`workbench.rank` uses to place the keyframe and to
confirm its shot's place, never as extra evidence.

Uncertainty: its tie points are the wider keyframe's, mapped into the zoomed keyframe's
pixels, so :mod:`workbench.position` gives the wide match's error at the zoomed frame's
ground; the chain's own error (each step's inlier residual over the square root of its
support, carried to the wider frame's pixels) is ``scores["chain_error_px"]`` in tile
level-0 px, added in quadrature to the match part.

Conventions: frames ``(H, W, 3) uint8`` BGR, overlay masks ``(H, W) uint8`` (255 =
overlay); homographies ``(3, 3) float64`` keyframe px -> tile level-0 px, ``(x, y)`` =
(col, row), centre of the top-left pixel at ``(0, 0)``.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from workbench.errors import UsageError, VideoError
from workbench.geo import apply_homography
from workbench.keyframes import Keyframe
from workbench.match.features import (
    Features,
    detect,
    match_descriptors,
    normalise,
    to_grey,
    usable_mask,
)
from workbench.match.gates import GateConfig, has_plausible, plausibility
from workbench.match.model import MatchHypothesis
from workbench.progress import CancelToken, check_cancel
from workbench.video.reader import iter_frames

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ZoomConfig:
    """``step_s``: spacing of the frames chained between the two keyframes; ``max_gap_s``:
    farthest wider keyframe tried; ``min_inliers``: support of each frame-to-frame step;
    ``max_width``: frames are analysed at most this wide (the footage's own resolution
    below it); ``per_keyframe``: the wider keyframe's best hypotheses carried over."""

    step_s: float = 0.1
    max_gap_s: float = 20.0
    min_inliers: int = 15
    max_width: int = 960
    per_keyframe: int = 2


def chain_zoomed(
    video: str | os.PathLike[str] | None,
    keyframes: Sequence[Keyframe],
    hyps: Sequence[MatchHypothesis],
    gates: GateConfig,
    config: ZoomConfig | None = None,
    *,
    cancel: CancelToken | None = None,
) -> list[MatchHypothesis]:
    """Chained hypotheses for the keyframes of ``keyframes`` without a credible placement
    of their own (:func:`workbench.match.gates.has_plausible`), through the nearest keyframe
    of the same shot that has one.  ``video``: the footage the keyframes come from (frames
    between the two are chained); ``None`` or unreadable: the two keyframes are matched
    directly.  Keyframes without a shot (``shot_index < 0``) are never chained."""
    cfg = config or ZoomConfig()
    by_kf: dict[str, list[MatchHypothesis]] = {}
    for h in hyps:
        by_kf.setdefault(h.keyframe_id, []).append(h)
    placed = [k for k in keyframes if has_plausible(by_kf.get(k.id, []), gates)]
    placed_ids = {k.id for k in placed}
    out: list[MatchHypothesis] = []
    for kf in keyframes:
        if kf.shot_index < 0 or kf.id in placed_ids:
            continue
        near = sorted((k for k in placed if k.shot_index == kf.shot_index
                       and abs(k.time_s - kf.time_s) <= cfg.max_gap_s
                       and k.image.shape == kf.image.shape),
                      key=lambda k: abs(k.time_s - kf.time_s))
        for wide in near[:2]:
            check_cancel(cancel)
            chain = _chain(video, kf, wide, cfg, cancel)
            if chain is None:
                continue
            h_kw, err_wide_px = chain
            best = sorted((h for h in by_kf[wide.id] if plausibility(h.scores, gates) > 0),
                          key=lambda h: -h.inliers)[: cfg.per_keyframe]
            out += [c for h in best if (c := _carry(kf, h, h_kw, err_wide_px)) is not None]
            break
    return out


def _carry(kf: Keyframe, wide: MatchHypothesis, h_kw: np.ndarray, err_wide_px: float
           ) -> MatchHypothesis | None:
    """``wide``'s placement carried to ``kf`` through ``h_kw`` (kf px -> wide kf px)."""
    h = wide.homography @ h_kw
    h = h / h[2, 2]
    hh, w = kf.image.shape[:2]
    centre = np.array([[(w - 1) / 2, (hh - 1) / 2]])
    corners = np.array([[0, 0], [w - 1, 0], [w - 1, hh - 1], [0, hh - 1]], np.float64)
    c = apply_homography(h, centre)[0]
    poly = apply_homography(h, corners)
    back = apply_homography(np.linalg.inv(h_kw), wide.keyframe_xy)
    if not (np.all(np.isfinite(c)) and np.all(np.isfinite(poly)) and np.all(np.isfinite(back))):
        return None
    # tile px per wide-keyframe px at the zoomed frame's centre: the chain error in tile px
    wc = apply_homography(h_kw, centre)[0]
    d = apply_homography(wide.homography, wc + np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    scale = 0.5 * (float(np.hypot(*(d[1] - d[0]))) + float(np.hypot(*(d[2] - d[0]))))
    scores = dict(wide.scores)
    scores.update(centre_x=float(c[0]), centre_y=float(c[1]), chained=1.0,
                  footprint_diag_px=float(max(np.hypot(*(poly[2] - poly[0])),
                                              np.hypot(*(poly[3] - poly[1])))),
                  chain_error_px=float(err_wide_px * scale))
    return MatchHypothesis(
        keyframe_id=kf.id, tile=wide.tile, homography=h, keyframe_xy=back,
        tile_xy=np.asarray(wide.tile_xy, np.float64), inliers=wide.inliers, scores=scores,
        frame_size=(w, hh), via=wide.keyframe_id, via_homography=h_kw)


def _frames_between(
    video: str | os.PathLike[str] | None, kf: Keyframe, wide: Keyframe, cfg: ZoomConfig,
    cancel: CancelToken | None,
) -> list[np.ndarray]:
    """Images from ``kf`` to ``wide`` (both ends included; the keyframes' own images at the
    ends), every ``step_s`` seconds in between, decoded from ``video``."""
    ends = [kf.image, wide.image]
    if video is None or kf.time_s == wide.time_s:
        return ends
    lo, hi = sorted((kf.frame_index, wide.frame_index))
    fps = (hi - lo) / max(abs(wide.time_s - kf.time_s), 1e-6)
    step = max(1, round(cfg.step_s * fps))
    want = set(range(lo + step, hi - step // 2, step))
    mid: list[np.ndarray] = []
    try:
        for f in iter_frames(video, start_index=lo + 1, stop_index=hi, cancel=cancel):
            if f.index in want and f.image.shape == kf.image.shape:
                mid.append(f.image)
    except (VideoError, UsageError) as exc:
        log.info("zoom chain: frames %d-%d unreadable (%s); matching the keyframes directly",
                 lo, hi, exc)
        return ends
    if kf.frame_index > wide.frame_index:
        mid.reverse()
    return [kf.image, *mid, wide.image]


def _chain(
    video: str | os.PathLike[str] | None, kf: Keyframe, wide: Keyframe, cfg: ZoomConfig,
    cancel: CancelToken | None,
) -> tuple[np.ndarray, float] | None:
    """``(H, err)``: ``H`` maps ``kf`` px -> ``wide`` px through the frames between them;
    ``err`` the chain's error in ``wide`` px; ``None`` when a step does not hold."""
    images = _frames_between(video, kf, wide, cfg, cancel)
    mask = kf.overlay_mask
    h_total = np.eye(3)
    var = 0.0  # error variance of the chain so far, in the current destination's px
    feats = [_describe(images[0], mask, cfg)]
    for img in images[1:]:
        check_cancel(cancel)
        feats.append(_describe(img, mask, cfg))
        step = _step(feats[-2], feats[-1], cfg)
        if step is None:
            log.info("zoom chain %s -> %s: a step does not hold", kf.id, wide.id)
            return None
        hs, err = step
        s = _scale(hs)
        var = var * s * s + err * err
        h_total = hs @ h_total
        h_total = h_total / h_total[2, 2]
    if not np.all(np.isfinite(h_total)) or abs(np.linalg.det(h_total[:2, :2])) < 1e-9:
        return None
    return h_total, math.sqrt(var)


def _describe(image: np.ndarray, mask: np.ndarray | None, cfg: ZoomConfig
              ) -> tuple[np.ndarray, Features, float]:
    """RootSIFT of a ``(H, W, 3) uint8`` BGR frame at most ``max_width`` wide: ``(xy in
    full-resolution px, features, scale)``."""
    grey = to_grey(image)
    usable = usable_mask(grey, mask)
    f = min(1.0, cfg.max_width / grey.shape[1])
    if f < 1:
        size = (round(grey.shape[1] * f), round(grey.shape[0] * f))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        usable = cv2.resize(usable, size, interpolation=cv2.INTER_NEAREST)
    feats = detect(normalise(grey, usable > 0), usable, max_features=3000,
                   contrast_threshold=0.01)
    xy = (feats.xy.astype(np.float64) + 0.5) / f - 0.5
    return xy, feats, f


def _step(a: tuple[np.ndarray, Features, float], b: tuple[np.ndarray, Features, float],
          cfg: ZoomConfig) -> tuple[np.ndarray, float] | None:
    """Homography ``a`` px -> ``b`` px and its error at the centre (``b`` px)."""
    pairs = match_descriptors(a[1], b[1], ratio=0.8)
    if len(pairs) < cfg.min_inliers:
        return None
    src, dst = a[0][pairs[:, 0]], b[0][pairs[:, 1]]
    h, inl = cv2.findHomography(src, dst, cv2.USAC_MAGSAC, 2.0 / b[2], maxIters=5000,
                                confidence=0.999)
    if h is None or inl is None or int(inl.sum()) < cfg.min_inliers:
        return None
    m = inl.ravel().astype(bool)
    res = apply_homography(h, src[m]) - dst[m]
    rmse = float(np.sqrt(np.mean(np.sum(res**2, axis=1))))
    return h, rmse / math.sqrt(max(1.0, m.sum() / 4.0))


def _scale(h: np.ndarray) -> float:
    """Linear scale of homography ``h`` near the origin of its affine part."""
    return math.sqrt(abs(float(np.linalg.det(h[:2, :2] / h[2, 2]))))
