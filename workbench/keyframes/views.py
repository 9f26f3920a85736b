"""Small analysis views of a decoded frame, read straight from its YUV planes.

The keyframe pass looks at every frame through two small images: a grey image
``analysis_width`` wide and a 160 px BGR thumbnail.  For 8-bit 4:2:0 frames (nearly
all footage) this module downscales the luma and chroma planes with OpenCV (exact 2x
area halvings, then one bilinear step of less than 2x) and converts only the 160 px
thumbnail to BGR (ITU-R BT.601, limited range: FFmpeg's default for these streams),
instead of converting the whole frame to BGR with FFmpeg's area scaler first.  Measured
(``benchmarks/keyframes``): about 0.3 instead of 0.4 ms of main-thread time per 480p
frame, the same total CPU.  The grey image is the limited-range luma stretched to full
range, as ``cv2.cvtColor(BGR, GRAY)`` of the converted frame gives; both views are
within about 1.5 grey levels (mean absolute difference) of the FFmpeg path.  Other
formats and rotated streams use :meth:`workbench.video.model.RawFrame.to_analysis`.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from workbench.video.model import RawFrame

_FAST_FORMATS = frozenset({"yuv420p", "yuvj420p"})
# limited-range luma (16-235) -> full-range grey (0-255)
_Y_LUT = np.clip(np.round((np.arange(256) - 16.0) * 255.0 / 219.0), 0, 255).astype(np.uint8)
# BT.601 limited range YUV -> BGR, applied as one affine colour transform
_K = 255.0 / 219.0
_YUV_TO_BGR = np.array([
    [_K, 2.017, 0.0, -16 * _K - 128 * 2.017],
    [_K, -0.392, -0.813, -16 * _K + 128 * (0.392 + 0.813)],
    [_K, 0.0, 1.596, -16 * _K - 128 * 1.596],
], np.float32)
_FULL_RANGE = frozenset({"yuvj420p"})
_HASH_N = 32  # perceptual hash: DCT of a 32x32 image, its 8x8 lowest frequencies
# scipy.fftpack.dct's unnormalised DCT-II = OpenCV's orthonormal one times these
_HASH_SCALE = np.where(np.arange(8) == 0, 2.0 * np.sqrt(_HASH_N), np.sqrt(2.0 * _HASH_N))
_HASH_SCALE_2D = np.outer(_HASH_SCALE, _HASH_SCALE)


def _plane(frame: object, i: int, w: int, h: int) -> np.ndarray:
    p = frame.planes[i]  # type: ignore[attr-defined]
    return np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[:h, :w]


def shrink(img: np.ndarray, w: int, h: int) -> np.ndarray:
    """Downscale ``img`` to ``(h, w)``: exact 2x area halvings (OpenCV's fast path) while
    the image is at least twice too wide, then one bilinear step of less than 2x.
    About 4-8x cheaper than one area resize at a non-integer ratio, within about a grey
    level of it on footage."""
    while img.shape[1] >= 2 * w and img.shape[0] >= 2 * h:
        img = cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_AREA)
    if img.shape[1] == w and img.shape[0] == h:
        return img
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)


def analysis_views(raw: RawFrame, width: int) -> tuple[np.ndarray, np.ndarray]:
    """``(gray (h, width) uint8, bgr160 (h', 160, 3) uint8 BGR)`` of ``raw``, display
    orientation; the same views as ``RawFrame.to_analysis`` within a few grey levels."""
    f = raw.frame
    fmt = getattr(getattr(f, "format", None), "name", "")
    cw, ch = int(getattr(f, "width", 0)), int(getattr(f, "height", 0))
    if raw.rotation or fmt not in _FAST_FORMATS or not 160 <= width < cw:
        return raw.to_analysis(width)
    h = max(2, round(ch * width / cw))
    y = shrink(_plane(f, 0, cw, ch), width, h)
    th = max(2, round(h * 160 / width))
    y160 = shrink(y, 160, th)
    cw2, ch2 = (cw + 1) // 2, (ch + 1) // 2
    u = shrink(_plane(f, 1, cw2, ch2), 160, th)
    v = shrink(_plane(f, 2, cw2, ch2), 160, th)
    if fmt in _FULL_RANGE:  # JPEG range: no stretch
        gray = y
        m = np.array([[1.0, 1.772, 0.0, -128 * 1.772],
                      [1.0, -0.344136, -0.714136, 128 * (0.344136 + 0.714136)],
                      [1.0, 0.0, 1.402, -128 * 1.402]], np.float32)
    else:
        gray = cv2.LUT(y, _Y_LUT)
        m = _YUV_TO_BGR
    yuv = cv2.merge([y160, u, v]).astype(np.float32)
    bgr = cv2.transform(yuv, m)
    thumb = np.clip(bgr + 0.5, 0, 255).astype(np.uint8)
    return gray, thumb


def phash64(gray: np.ndarray) -> np.ndarray:
    """Perceptual hash of ``gray`` (``(h, w) uint8``): ``(64,) bool``.

    The same bits as ``imagehash.phash`` (Lanczos resize to 32x32 with Pillow, 2-D
    DCT-II, the 8x8 lowest frequencies above their median), computed with OpenCV's DCT
    instead of SciPy's (whose import alone cost ~0.2 CPU s per pass).  Hamming
    distance: ``np.count_nonzero(a != b)``.
    """
    small = Image.fromarray(gray).resize((_HASH_N, _HASH_N), Image.Resampling.LANCZOS)
    d = cv2.dct(np.asarray(small, np.float64))
    low = d[:8, :8] * _HASH_SCALE_2D
    return np.asarray((low > np.median(low)).ravel())
