"""Burned-in overlay (HUD, crosshair, telemetry text, logos, timestamps) masks.

An overlay is drawn at fixed pixels while the scene moves under it.  Given the
scene's global motion (from :class:`workbench.keyframes.shots.MotionTracker`), a scene pixel
with an edge across the motion must change by about ``|grad . v|``; an overlay
pixel with the same edge does not change.  Pixels that change much less than
predicted, with a temporally coherent gradient, are overlay; small enclosed holes
are filled and the mask is dilated a little.  White and
black text and a centre crosshair are all "fixed structure over moving scene".

:class:`OverlayAccumulator` keeps running sums at the overlay analysis size (full
resolution up to ``OverlayConfig.max_width``; constant memory whatever the shot
length), sampling a frame every few pixels of scene motion; one per shot and one
for the whole video, whose decision fills pixels a shot alone cannot decide (see
:func:`combine_evidence`).

Masks are ``(H, W) uint8``, 255 = burned-in overlay to ignore, 0 = scene.
"""

from __future__ import annotations

import cv2
import numpy as np

from workbench.keyframes.model import OverlayConfig

DECIDED, OVERLAY, STATIC, SCENE = 1, 2, 4, 8  # bits of an evidence map


class OverlayAccumulator:
    """Temporal evidence for fixed overlay pixels over frames where the scene moves.

    For each sample (``(h, w) uint8`` grey plus the scene's similarity motion since
    the previous sample), a pixel's *predicted* change if it were scene is
    ``|grad . v|`` (first order, ``v`` the motion at that pixel, capped at ``cap_px``);
    its *actual* change is the grey difference.  Overlay pixels change far less than
    predicted.  Pixels whose edges run along the motion (or near a zoom's centre)
    get little predicted change and stay undecided: :func:`combine_evidence` fills
    them from the whole video's evidence.  Memory: six ``(h, w) float32`` arrays
    (eight with ``OverlayConfig.grow``).
    """

    def __init__(self, shape: tuple[int, ...], config: OverlayConfig | None = None) -> None:
        self.config = config or OverlayConfig()
        self.shape = shape
        h, w = shape
        z = np.zeros((h, w), np.float32)
        self._gx, self._gy, self._mag = z.copy(), z.copy(), z.copy()
        # temporal mean/std (constant pixels) only matter when the mask grows into them
        grow = self.config.grow > 0
        self._sum = z.copy() if grow else np.zeros((0, 0), np.float32)
        self._sq = z.copy() if grow else np.zeros((0, 0), np.float32)
        self._pred, self._act = z.copy(), z.copy()
        self._work: dict[str, np.ndarray] = {}  # scratch, allocated on the first sample
        self._xx = np.zeros(0, np.float32)
        self._yy = np.zeros(0, np.float32)
        self._last: np.ndarray | None = None
        self._since = np.eye(3)
        self._moved = 0.0
        self._gap = 0
        self._stride = 1  # sampling gap multiplier: > 1 once the evidence has saturated
        self._decided: np.ndarray | None = None  # overlay decision at the last check
        self.samples = 0

    def reset(self) -> None:
        """Start over (a new shot) reusing the arrays: no reallocation per shot."""
        for name in ("_gx", "_gy", "_mag", "_sum", "_sq", "_pred", "_act"):
            getattr(self, name).fill(0.0)
        self.break_sequence()
        self._gap = 0
        self._stride = 1
        self._decided = None
        self.samples = 0

    def _scratch(self) -> dict[str, np.ndarray]:
        if not self._work:
            h, w = self.shape[:2]
            self._work = {k: np.zeros((h, w), np.float32)
                          for k in ("gx", "gy", "vx", "vy", "mag", "pred", "tmp")}
            self._work["diff"] = np.zeros((h, w), np.uint8)
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            self._xx, self._yy = xx, yy
        return self._work

    def break_sequence(self) -> None:
        """Forget the previous frame (call at a cut: motion across it is unknown)."""
        self._last = None
        self._since = np.eye(3)
        self._moved = 0.0

    def wants(self, step: np.ndarray, moved_px: float) -> bool:
        """Account for one frame's scene motion; True if that frame should be sampled.

        ``step``: 3x3 scene motion (homography, this accumulator's pixels) from the
        previous frame; ``moved_px``: measured median scene-point motion in the same
        pixels (0 = no real motion).  Call :meth:`sample` with the frame when True.
        """
        if moved_px <= 0.0:
            step = np.eye(3)
        self._since = step @ self._since
        self._moved += max(0.0, moved_px)
        self._gap += 1
        if self._last is None:
            return True
        return (self._moved >= self.config.sample_px
                and self._gap >= self.config.min_gap * self._stride)

    def _check_saturation(self) -> None:
        """Every ``check_every`` samples: when the shot's overlay pixels (the OVERLAY bit of
        :meth:`evidence`) changed on less than ``saturated_gain`` of the pixels
        since the last check, sample ``saturated_stride`` times less often (later motion
        in a new direction still adds evidence, at the lower rate); back to the full rate
        when it moved more."""
        cfg = self.config
        if cfg.saturated_stride <= 1 or self.samples % max(1, cfg.check_every):
            return
        now = (self.evidence() & OVERLAY) > 0
        if self._decided is not None and self._decided.shape == now.shape:
            moved = np.count_nonzero(now ^ self._decided) / float(now.size)
            self._stride = cfg.saturated_stride if moved < cfg.saturated_gain else 1
        self._decided = now

    def add(self, gray: np.ndarray, step: np.ndarray, moved_px: float) -> bool:
        """:meth:`wants` then :meth:`sample`; True if ``gray`` was sampled."""
        if self.wants(step, moved_px):
            return self.sample(gray)
        return False

    def sample(self, gray: np.ndarray) -> bool:
        """Sample ``gray`` (``(h, w) uint8``) against the previous sample; True if used."""
        if gray.shape != self.shape:
            return False
        m = self._since
        self._since = np.eye(3)
        self._moved = 0.0
        self._gap = 0
        if self._last is None:
            self._last = gray
            return False
        w = self._scratch()  # preallocated scratch arrays: no page faults per sample
        gx, gy, vx, vy, mag, pred, tmp = (w[k] for k in ("gx", "gy", "vx", "vy", "mag", "pred",
                                                         "tmp"))
        cv2.Sobel(gray, cv2.CV_32F, 1, 0, dst=gx, ksize=3, scale=0.125)
        cv2.Sobel(gray, cv2.CV_32F, 0, 1, dst=gy, ksize=3, scale=0.125)
        if abs(m[2, 0]) + abs(m[2, 1]) < 1e-12 and abs(m[2, 2] - 1.0) < 1e-12:
            # affine motion: v = (A - I) x + t
            cv2.addWeighted(self._xx, float(m[0, 0] - 1.0), self._yy, float(m[0, 1]),
                            float(m[0, 2]), dst=vx)
            cv2.addWeighted(self._xx, float(m[1, 0]), self._yy, float(m[1, 1] - 1.0),
                            float(m[1, 2]), dst=vy)
        else:
            den = m[2, 0] * self._xx + m[2, 1] * self._yy + m[2, 2]
            den = np.where(np.abs(den) < 1e-6, 1e-6, den)
            vx[...] = (m[0, 0] * self._xx + m[0, 1] * self._yy + m[0, 2]) / den - self._xx
            vy[...] = (m[1, 0] * self._xx + m[1, 1] * self._yy + m[1, 2]) / den - self._yy
        cv2.magnitude(gx, gy, mag)
        cv2.multiply(gx, vx, dst=vx)
        cv2.multiply(gy, vy, dst=vy, scale=-1.0)
        cv2.absdiff(vx, vy, dst=pred)  # |gx vx + gy vy|
        np.multiply(mag, np.float32(self.config.cap_px), out=tmp)
        cv2.min(pred, tmp, dst=pred)
        cv2.add(self._pred, pred, dst=self._pred)
        cv2.absdiff(gray, self._last, dst=w["diff"])
        np.copyto(vx, w["diff"], casting="unsafe")  # vx is free again: reuse it
        np.add(pred, np.float32(1.0), out=tmp)
        cv2.min(vx, tmp, dst=tmp)
        cv2.add(self._act, tmp, dst=self._act)
        cv2.add(self._gx, gx, dst=self._gx)
        cv2.add(self._gy, gy, dst=self._gy)
        cv2.add(self._mag, mag, dst=self._mag)
        if self.config.grow > 0:
            g = gray.astype(np.float32)
            cv2.add(self._sum, g, dst=self._sum)
            cv2.add(self._sq, cv2.multiply(g, g), dst=self._sq)
        self._last = gray
        self.samples += 1
        self._check_saturation()
        return True

    def merge(self, other: OverlayAccumulator) -> None:
        """Add another accumulator's sums (e.g. a finished shot into the whole video's)."""
        if other.shape != self.shape:
            return
        for name in ("_gx", "_gy", "_mag", "_sum", "_sq", "_pred", "_act"):
            getattr(self, name).__iadd__(getattr(other, name))
        self.samples += other.samples

    def evidence(self) -> np.ndarray:
        """``(h, w) uint8`` bit map: DECIDED, OVERLAY (decided and fixed), STATIC (constant;
        only with ``OverlayConfig.grow``, the one use of it)."""
        cfg = self.config
        out = np.zeros(self.shape, np.uint8)
        if self.samples == 0:
            return out
        n = float(self.samples)
        decided = self._pred >= cfg.min_predicted
        coherence = cv2.magnitude(self._gx, self._gy) / (self._mag + 1e-3)
        overlay = decided & (self._act <= cfg.max_ratio * self._pred) & (coherence >= cfg.coherence)
        static = np.zeros(self.shape, bool)
        if self.samples >= 3 and cfg.grow > 0:
            mean = self._sum / n
            std = np.sqrt(np.maximum(self._sq / n - mean * mean, 0.0))
            static = std <= cfg.static_std
        out[decided] |= DECIDED
        out[overlay] |= OVERLAY
        out[static] |= STATIC
        out[decided & (self._act >= cfg.scene_ratio * self._pred)] |= SCENE
        return out


def combine_evidence(shot: np.ndarray, video: np.ndarray,
                     config: OverlayConfig | None = None) -> np.ndarray:
    """A shot's mask at analysis size from its evidence and the whole video's.

    Overlay = the shot's overlay pixels plus the video's, except where the shot
    clearly saw scene (changes as large as predicted); the result grows into
    constant pixels (solid HUD fill, letter interiors).
    Returns ``(h, w) uint8``, 255 = overlay.
    """
    cfg = config or OverlayConfig()
    decided = (shot & DECIDED) > 0
    core = ((shot & OVERLAY) > 0) | (((video & OVERLAY) > 0) & ((shot & SCENE) == 0))
    static = ((shot & STATIC) > 0) | (((video & STATIC) > 0) & ~decided)
    mask: np.ndarray = core.astype(np.uint8) * 255
    static_u8 = static.astype(np.uint8) * 255
    kernel = np.ones((3, 3), np.uint8)
    for _ in range(cfg.grow):
        grown = cv2.bitwise_or(cv2.bitwise_and(cv2.dilate(mask, kernel), static_u8), mask)
        if np.array_equal(grown, mask):
            break
        mask = grown
    if cfg.close_px > 0:  # bridge short gaps along HUD lines and text rows
        k = 2 * cfg.close_px + 1
        closed_h = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((1, k), np.uint8))
        closed_v = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((k, 1), np.uint8))
        mask = cv2.bitwise_or(closed_h, closed_v)
    if cfg.max_hole > 0:  # fill small enclosed holes (letter counters, outlined boxes)
        inv = np.asarray(cv2.bitwise_not(mask), dtype=np.uint8)
        _n, labels, stats, _c = cv2.connectedComponentsWithStats(inv, connectivity=4)
        h, w = mask.shape
        x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
        bw, bh = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
        inner = (x > 0) & (y > 0) & (x + bw < w) & (y + bh < h)
        small = stats[:, cv2.CC_STAT_AREA] <= cfg.max_hole
        fill = inner & small
        fill[0] = False  # label 0 = the mask itself
        if fill.any():
            mask = np.where(fill[labels], 255, mask).astype(np.uint8)
    return mask


def upscale_mask(mask: np.ndarray, width: int, height: int, dilate_px: int = 1) -> np.ndarray:
    """Resize an analysis-resolution mask to ``(height, width) uint8`` and dilate it.

    Nearest-neighbour resize, then a dilation by ``dilate_px`` to cover anti-aliased edges.
    """
    if mask.shape == (height, width):
        big: np.ndarray = mask.copy()
    else:
        big = np.asarray(cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST),
                         dtype=np.uint8)
    if dilate_px > 0:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * dilate_px + 1, 2 * dilate_px + 1))
        big = cv2.dilate(big, k)
    return big


def empty_mask(width: int, height: int) -> np.ndarray:
    """An all-scene mask ``(height, width) uint8`` of zeros."""
    return np.zeros((height, width), np.uint8)
