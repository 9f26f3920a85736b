"""Shot and sub-shot segmentation on low-resolution frames (streaming, bounded memory).

A *shot* ends at a hard cut (colour/brightness content jumps between two frames)
or at a fade (a run of black or blank frames).  A *sub-shot* ends when the view
inside a shot has changed enough to show different ground: a zoom by more than
``zoom_step``, a pan by more than ``pan_step`` frame widths, a rotation, or most
tracked scene points lost.  Static burned-in overlays (HUD) do not hold the
motion estimate back: only points that moved are used when enough of them did.

Every function here works on the *analysis* image: ``(h, w, 3) uint8`` BGR at a
small width (``KeyframeConfig.analysis_width``), or its ``(h, w) uint8`` grey.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from workbench.keyframes.model import QualityThresholds

_BLOCKS = (16, 9)  # block grid (columns, rows) for sharpness and flatness statistics


@dataclass
class FrameStats:
    """Per-frame measurements of an analysis image.

    ``content``: mean absolute HSV change from the previous frame (0-255 scale,
    PySceneDetect's ContentDetector measure; brightness change alone on grey
    frames); ``luma``/``contrast``: mean and std of grey; ``sharpness``: median over
    a 16x9 block grid of the mean squared Laplacian (robust to a HUD covering a
    minority of blocks); ``flat_fraction``: share of
    blocks with grey std < 4 (on the 160 px thumbnail); ``dominant_fraction``: share
    of pixels within +-6 grey levels of the most common level; ``dark_fraction``:
    share of pixels darker than the black level; ``kind``: "ok", "black", "blank" or
    "text".
    """

    index: int
    pts_s: float
    content: float
    luma: float
    contrast: float
    sharpness: float
    flat_fraction: float
    dominant_fraction: float
    dark_fraction: float = 0.0
    kind: str = "ok"
    hist: np.ndarray | None = field(default=None, repr=False)  # HSV 16x4, sums to 1

    @property
    def usable(self) -> bool:
        """True when the frame shows scene (not black, blank or a text card)."""
        return self.kind == "ok"


def measure(
    index: int,
    pts_s: float,
    bgr: np.ndarray,
    gray: np.ndarray,
    prev_hsv: np.ndarray | None,
    thresholds: QualityThresholds,
) -> tuple[FrameStats, np.ndarray]:
    """Measure one analysis frame; returns the stats and its small HSV image (for the next call).

    ``bgr``: ``(h, w, 3) uint8`` BGR (any size; 160 px wide is used as is);
    ``gray``: the frame as ``(h, w) uint8`` at the analysis size.
    """
    small = bgr if bgr.shape[1] == 160 else cv2.resize(
        bgr, (160, max(2, round(160 * bgr.shape[0] / bgr.shape[1]))), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    if prev_hsv is None or prev_hsv.shape != hsv.shape:
        content = 0.0
    else:
        dh, ds, dv = cv2.mean(cv2.absdiff(hsv, prev_hsv))[:3]
        grey = cv2.mean(hsv)[1] < 20 and cv2.mean(prev_hsv)[1] < 20
        # grey (thermal) footage has no hue/saturation to change: brightness alone
        content = float(dv) if grey else float((dh + ds + dv) / 3.0)
    mean, std = cv2.meanStdDev(gray)
    luma, contrast = float(mean[0, 0]), float(std[0, 0])
    lap = cv2.Laplacian(gray, cv2.CV_32F, ksize=3)
    blocks = cv2.resize(cv2.multiply(lap, lap), _BLOCKS, interpolation=cv2.INTER_AREA)
    v = np.sort(blocks, axis=None)  # the median of the 144 blocks, without np.median's overhead
    sharpness = float(0.5 * (v[(v.size - 1) // 2] + v[v.size // 2]))
    thumb = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)  # block and histogram statistics at 160 px
    g32 = thumb.astype(np.float32)
    bmean = cv2.resize(g32, _BLOCKS, interpolation=cv2.INTER_AREA)
    bsq = cv2.resize(cv2.multiply(g32, g32), _BLOCKS, interpolation=cv2.INTER_AREA)
    bstd = np.sqrt(np.maximum(bsq - bmean * bmean, 0.0))
    flat = float((bstd < 4.0).mean())
    hist = cv2.calcHist([thumb], [0], None, [256], [0, 256]).ravel()
    peak = int(np.argmax(hist))
    total = max(1.0, float(hist.sum()))
    dominant = float(hist[max(0, peak - 6): peak + 7].sum() / total)
    dark = float(hist[: max(1, int(thresholds.black_luma))].sum() / total)
    hs = cv2.calcHist([hsv], [0, 1], None, [16, 4], [0, 180, 0, 256]).ravel()
    stats = FrameStats(index, pts_s, content, luma, contrast, sharpness, flat, dominant, dark,
                       hist=hs / max(1.0, float(hs.sum())))
    stats.kind = classify(stats, thresholds)
    return stats, hsv


def classify(s: FrameStats, t: QualityThresholds) -> str:
    """"black", "blank", "text" (title card / slate) or "ok" for a measured frame."""
    if (s.luma < t.black_luma and s.contrast < 2.5 * t.blank_contrast) or (
        s.dark_fraction >= t.black_fraction
    ):
        return "black"
    if s.contrast < t.blank_contrast or s.flat_fraction > 0.97:
        return "blank"
    if s.dominant_fraction >= t.card_dominant_fraction or (
        s.flat_fraction >= t.text_flat_fraction
        and s.dominant_fraction >= t.text_dominant_fraction
    ):
        return "text"
    return "ok"


@dataclass
class CutDetector:
    """Hard cuts and fades from the stream of :class:`FrameStats` (one call per frame).

    A cut: ``content >= min(threshold, contrast_factor * grey std)`` (at least
    ``min_threshold``) and ``content >= ratio *`` (mean of the previous ``window``
    frames + 2), at least ``min_gap`` frames after the previous boundary.
    A fade: the first frame of a run of black/blank frames ends the shot; the
    first usable-or-text frame after the run starts the next one.
    A dissolve (gradual transition): the hue/saturation histogram moved by at least
    ``gradual_threshold`` (half L1 distance, 0-1) over ``gradual_span`` frames with no
    hard cut; the boundary is reported at the end of that span.
    """

    threshold: float = 27.0
    contrast_factor: float = 0.6
    min_threshold: float = 8.0
    ratio: float = 3.0
    window: int = 8
    min_gap: int = 6
    gradual_threshold: float = 0.5
    gradual_span: int = 12
    _recent: list[float] = field(default_factory=list)
    _hists: list[np.ndarray] = field(default_factory=list)
    _since: int = 10**9
    _in_dark: bool = False

    def update(self, s: FrameStats) -> str | None:
        """Return "cut", "fade", "dissolve" (a boundary *before* this frame) or ``None``."""
        dark = s.kind in ("black", "blank")
        event: str | None = None
        if (dark and not self._in_dark) or (not dark and self._in_dark):
            event = "fade"
        elif not dark and self._since >= self.min_gap:
            base = float(np.mean(self._recent)) if self._recent else 0.0
            # two unrelated pictures differ by ~1.1x their grey std: low-contrast (thermal)
            # footage cannot reach the absolute threshold, so it scales down with contrast
            thr = max(self.min_threshold, min(self.threshold, self.contrast_factor * s.contrast))
            if s.content >= thr and s.content >= self.ratio * (base + 2.0):
                event = "cut"
            elif (s.hist is not None and len(self._hists) >= self.gradual_span
                  and self._since >= self.gradual_span
                  and 0.5 * float(np.abs(s.hist - self._hists[0]).sum())
                  >= self.gradual_threshold):
                event = "dissolve"
        self._in_dark = dark
        if s.hist is not None and not dark:
            self._hists.append(s.hist)
            if len(self._hists) > self.gradual_span:
                self._hists.pop(0)
        self._recent.append(s.content)
        if len(self._recent) > self.window:
            self._recent.pop(0)
        if event is not None:
            self._since = 0
            self._recent.clear()
            self._hists.clear()
        else:
            self._since += 1
        return event


@dataclass
class ViewChange:
    """Similarity transform of the current view relative to the sub-shot's first frame."""

    scale: float = 1.0
    shift: float = 0.0  # displacement of the frame centre, in frame widths
    angle_deg: float = 0.0
    tracked: int = 0
    lost_fraction: float = 0.0


def apply_h(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Map ``(N, 2)`` points through a 3x3 homography (with the perspective division)."""
    q = np.c_[pts, np.ones(len(pts))] @ m.T
    return q[:, :2] / np.where(np.abs(q[:, 2:3]) < 1e-9, 1e-9, q[:, 2:3])


def _fit_motion(src: np.ndarray, dst: np.ndarray, w: int, h: int,
                perspective: bool = False) -> np.ndarray | None:
    """3x3 scene motion ``src -> dst``: a similarity, or with ``perspective`` a homography
    when enough points support it; ``None`` when the fit is not sane."""
    m: np.ndarray | None = None
    if perspective and len(src) >= 12:
        hm, inl = cv2.findHomography(src, dst, cv2.RANSAC, 1.5)
        if hm is not None and inl is not None and int(inl.sum()) >= 10 and abs(hm[2, 2]) > 1e-9:
            hn = np.asarray(hm, np.float64) / float(hm[2, 2])
            if abs(hn[2, 0]) * w + abs(hn[2, 1]) * h < 0.5:
                m = hn
    if m is None and len(src) >= 4:
        a, _inl = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC,
                                              ransacReprojThreshold=2.0)
        if a is not None:
            m = np.vstack([a, [0.0, 0.0, 1.0]])
    if m is None or not np.all(np.isfinite(m)) or abs(np.linalg.det(m[:2, :2])) < 1e-3:
        return None
    return m


def _describe(m: np.ndarray, w: int, h: int) -> tuple[float, float, float]:
    """(scale, rotation degrees, centre shift in frame widths) of ``m`` at the frame centre."""
    c = np.array([[w / 2.0, h / 2.0]])
    e = 1.0
    p = apply_h(m, np.array([[w / 2.0, h / 2.0], [w / 2.0 + e, h / 2.0], [w / 2.0, h / 2.0 + e]]))
    jac = np.stack([(p[1] - p[0]) / e, (p[2] - p[0]) / e], axis=1)  # columns: d/dx, d/dy
    scale = math.sqrt(abs(float(np.linalg.det(jac))))
    angle = math.degrees(math.atan2(float(jac[1, 0] - jac[0, 1]), float(jac[0, 0] + jac[1, 1])))
    shift = float(np.linalg.norm(p[0] - c[0])) / w
    return scale, angle, shift


class MotionTracker:
    """KLT-track corners from a sub-shot's anchor frame and report the view change.

    ``zoom_step``: scale factor (> 1) that ends a sub-shot; ``pan_step``: centre
    displacement in frame widths; ``max_angle``: rotation in degrees.  When scene
    points leave the view, new corners are added (their anchor positions mapped back
    through the current transform), avoiding ``exclude`` (e.g. a known overlay mask).
    ``matrix`` is the anchor -> current similarity and ``step`` the previous ->
    current one (3x3 float64, pixel coordinates of the analysis image).
    """

    def __init__(
        self,
        zoom_step: float = 1.6,
        pan_step: float = 0.5,
        max_angle: float = 30.0,
        min_points: int = 8,
        max_points: int = 100,
    ) -> None:
        self.zoom_step = zoom_step
        self.pan_step = pan_step
        self.max_angle = max_angle
        self.min_points = min_points
        self.max_points = max_points
        self.exclude: np.ndarray | None = None  # (h, w) uint8, 255 = do not track here
        self.perspective = False  # fit homographies instead of similarities
        self.noise_px = 0.1  # median point motion below this is tracking noise
        self.step_px = 0.0  # median motion of the scene points in the last update (px)
        self._fixed: np.ndarray | None = None  # where corners stayed put while the scene moved
        self._prev: np.ndarray | None = None
        self._p0 = np.zeros((0, 2), np.float32)  # anchor positions
        self._p = np.zeros((0, 2), np.float32)  # current positions
        self.change = ViewChange()
        self.matrix = np.eye(3)
        self.step = np.eye(3)

    def _detect(self, gray: np.ndarray, limit: int) -> np.ndarray:
        mask = np.full(gray.shape, 255, np.uint8)
        if self.exclude is not None and self.exclude.shape == gray.shape:
            mask[self.exclude > 0] = 0
        if self._fixed is not None and self._fixed.shape == gray.shape:
            mask[self._fixed > 0] = 0
        for x, y in self._p:
            cv2.circle(mask, (int(x), int(y)), 4, 0, -1)
        pts = cv2.goodFeaturesToTrack(gray, maxCorners=max(1, limit), qualityLevel=0.01,
                                      minDistance=4, blockSize=5, mask=mask)
        return np.zeros((0, 2), np.float32) if pts is None else pts.reshape(-1, 2)

    def reset(self, gray: np.ndarray) -> None:
        """Start a new sub-shot anchored at ``gray`` (``(h, w) uint8``)."""
        self._p = np.zeros((0, 2), np.float32)
        self._p = self._detect(gray, self.max_points).astype(np.float32)
        self._p0 = self._p.copy()
        self._prev = gray
        self.change = ViewChange(tracked=len(self._p))
        self.matrix = np.eye(3)
        self.step = np.eye(3)

    def _replenish(self, gray: np.ndarray) -> None:
        new = self._detect(gray, self.max_points - len(self._p))
        if len(new) == 0:
            return
        back = apply_h(np.linalg.inv(self.matrix), new).astype(np.float32)
        self._p = np.vstack([self._p, new.astype(np.float32)])
        self._p0 = np.vstack([self._p0, back])

    def _drop_fixed(self, before: np.ndarray, shape: tuple[int, ...]) -> None:
        """Drop corners that stayed put while the scene moved (burned-in overlay)."""
        if len(before) == 0:
            return
        pred = apply_h(self.step, before) - before
        pred_n = np.linalg.norm(pred, axis=1)
        moved = np.linalg.norm(self._p - before, axis=1)
        fixed = (pred_n > 0.5) & (moved < 0.25 * pred_n)
        if not fixed.any():
            return
        if self._fixed is None or self._fixed.shape != shape:
            self._fixed = np.zeros(shape[:2], np.uint8)
        for x, y in self._p[fixed]:
            cv2.circle(self._fixed, (int(x), int(y)), 3, 255, -1)
        self._p, self._p0 = self._p[~fixed], self._p0[~fixed]

    def update(self, gray: np.ndarray) -> str | None:
        """Track into ``gray``; return "zoom", "pan" or "rotate" to end the sub-shot."""
        if self._prev is None or self._prev.shape != gray.shape:
            self.reset(gray)
            return None
        self.step = np.eye(3)
        self.step_px = 0.0
        prev, self._prev = self._prev, gray
        if len(self._p) < self.min_points:
            self._replenish(gray)
            return None
        nxt, status, _err = cv2.calcOpticalFlowPyrLK(
            prev, gray, self._p.reshape(-1, 1, 2), None, winSize=(11, 11), maxLevel=3,
            criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03),
        )
        if nxt is None or status is None:
            self._p, self._p0 = self._p[:0], self._p0[:0]
            return None
        h, w = gray.shape
        cur = nxt.reshape(-1, 2)
        ok = status.ravel().astype(bool)
        ok &= (cur[:, 0] >= 0) & (cur[:, 0] < w) & (cur[:, 1] >= 0) & (cur[:, 1] < h)
        before = self._p[ok]
        self._p, self._p0 = cur[ok], self._p0[ok]
        n = len(self._p)
        moving = np.linalg.norm(self._p - self._p0, axis=1) > 1.0 if n else np.zeros(0, bool)
        use = moving if moving.sum() >= self.min_points else np.ones(n, bool)
        full = _fit_motion(self._p0[use], self._p[use], w, h, self.perspective)
        self.step_px = 0.0
        if full is not None:
            if len(before):
                step_px = float(np.median(np.linalg.norm(self._p - before, axis=1)[use]))
                self.step_px = step_px if step_px >= self.noise_px else 0.0
            self.step = full @ np.linalg.inv(self.matrix)
            self.matrix = full
            self._drop_fixed(before, gray.shape)
            n = len(self._p)
            moving = np.linalg.norm(self._p - self._p0, axis=1) > 1.0
        if int(moving.sum()) < 3 * self.min_points or n < self.max_points // 2:
            self._replenish(gray)
        scale, angle, shift = _describe(self.matrix, w, h)
        self.change = ViewChange(scale, shift, angle, n, 0.0)
        if scale > self.zoom_step or scale < 1.0 / self.zoom_step:
            return "zoom"
        if shift > self.pan_step:
            return "pan"
        if abs(angle) > self.max_angle:
            return "rotate"
        return None
