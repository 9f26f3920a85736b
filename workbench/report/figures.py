"""Report figures drawn with OpenCV/numpy: side-by-side landmarks and overlay.

* :func:`side_by_side`: the keyframe (left) and the satellite crop (right) at the same
  height, with the same numbered landmarks (tie points) in the same colours on both.
* :func:`overlay_figure`: the keyframe warped onto the crop, blended, outlined, with
  the target / points of interest marked.

Inputs: keyframe ``(H, W, 3) uint8`` **BGR** (full resolution), optional mask
``(H, W) uint8`` (255 = burned-in overlay), a :class:`workbench.compare.SatelliteCrop`
(read with rasterio around the candidate) and the candidate's tie points in keyframe
pixels / tile level-0 pixels (``(x, y)`` = (col, row), pixel centres at integers).
Outputs are ``(h, w, 3) uint8`` BGR; :func:`png_bytes` encodes them losslessly and
deterministically.  The desktop app may reuse these for exports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from workbench.compare import SatelliteCrop, farthest_points, warp_to_crop
from workbench.errors import ReportError

# distinct BGR colours (Okabe-Ito-like palette plus extras), cycled
PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 159, 230), (233, 180, 86), (115, 158, 0), (66, 228, 240), (178, 114, 0),
    (0, 94, 213), (167, 121, 204), (40, 40, 220), (200, 200, 0), (30, 200, 120),
    (150, 60, 250), (90, 170, 255),
)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def png_bytes(image: np.ndarray) -> bytes:
    """Lossless, deterministic PNG encoding of a BGR or grey uint8 image."""
    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:
        raise ReportError("cannot encode a report figure as PNG")
    return bytes(buf)


def pick_landmarks(keyframe_xy: np.ndarray, n: int = 12) -> list[int]:
    """Indices of up to ``n`` well-spread points of ``(N, 2)`` keyframe pixels.

    Deterministic farthest-point sampling starting at the point nearest the centroid
    (:func:`workbench.compare.farthest_points`).
    """
    return farthest_points(keyframe_xy, n)


def _label(img: np.ndarray, text: str, xy: tuple[int, int], colour: tuple[int, int, int],
           scale: float = 0.55) -> None:
    """Text on a dark box (readable on any imagery)."""
    x, y = xy
    (tw, th), base = cv2.getTextSize(text, FONT, scale, 2)
    cv2.rectangle(img, (x - 2, y - th - 3), (x + tw + 2, y + base), (20, 20, 20), -1)
    cv2.putText(img, text, (x, y), FONT, scale, colour, 2, cv2.LINE_AA)


def _marker(img: np.ndarray, xy: np.ndarray, number: int, colour: tuple[int, int, int],
            manual: bool) -> None:
    if not np.all(np.isfinite(xy)):
        return
    x, y = round(float(xy[0])), round(float(xy[1]))
    if manual:
        cv2.rectangle(img, (x - 9, y - 9), (x + 9, y + 9), (0, 0, 0), 5, cv2.LINE_AA)
        cv2.rectangle(img, (x - 9, y - 9), (x + 9, y + 9), colour, 3, cv2.LINE_AA)
    else:
        cv2.circle(img, (x, y), 10, (0, 0, 0), 5, cv2.LINE_AA)
        cv2.circle(img, (x, y), 10, colour, 3, cv2.LINE_AA)
    cv2.circle(img, (x, y), 2, colour, -1, cv2.LINE_AA)
    _label(img, str(number), (x + 12, y - 10), colour)


def _fit_height(img: np.ndarray, height: int) -> tuple[np.ndarray, float]:
    s = height / img.shape[0]
    w = max(1, round(img.shape[1] * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    return cv2.resize(img, (w, height), interpolation=interp), s


def _dim_overlay(keyframe: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    img = keyframe.copy()
    if mask is not None and mask.shape == keyframe.shape[:2]:
        hud = mask > 0
        img[hud] = (img[hud] * 0.45).astype(np.uint8)  # burned-in overlay shown dimmed
    return img


def scale_bar(img: np.ndarray, metres_per_px: float, colour: tuple[int, int, int] = (255,) * 3
              ) -> None:
    """Draw a round-number scale bar (metres) in the bottom-left corner of ``img`` in place."""
    if not (metres_per_px > 0 and math.isfinite(metres_per_px)):
        return
    target_m = metres_per_px * img.shape[1] / 5
    nice = max(1.0, 10 ** math.floor(math.log10(max(target_m, 1e-9))))
    for m in (5, 2, 1):
        if nice * m <= target_m:
            nice *= m
            break
    length = round(nice / metres_per_px)
    x0, y0 = 12, img.shape[0] - 14
    cv2.rectangle(img, (x0 - 4, y0 - 22), (x0 + length + 60, y0 + 6), (0, 0, 0), -1)
    cv2.line(img, (x0, y0), (x0 + length, y0), colour, 3)
    for xx in (x0, x0 + length):
        cv2.line(img, (xx, y0 - 6), (xx, y0 + 3), colour, 2)
    text = f"{nice:.0f} m" if nice < 1000 else f"{nice / 1000:.0f} km"
    _label(img, text, (x0 + length + 6, y0 + 4), colour, 0.45)


def side_by_side(keyframe: np.ndarray, mask: np.ndarray | None, crop: SatelliteCrop,
                 keyframe_xy: np.ndarray, tile_xy: np.ndarray, *, manual: Sequence[bool] = (),
                 landmarks: Sequence[int] | None = None, height: int = 480,
                 gsd_m: float = 0.0) -> tuple[np.ndarray, list[int]]:
    """Keyframe | satellite crop with numbered matching landmarks.

    Args:
        keyframe: ``(H, W, 3) uint8`` BGR, full resolution.
        mask: ``(H, W) uint8`` overlay mask (255 = HUD; shown dimmed) or ``None``.
        crop: the satellite crop around the candidate (``workbench.compare.satellite_crop``).
        keyframe_xy, tile_xy: ``(N, 2)`` correspondences (keyframe px, tile level-0 px).
        manual: per point, True for analyst-added tie points (drawn as squares).
        landmarks: indices to number (default: :func:`pick_landmarks`, 12 points).
        height: output height in pixels.
        gsd_m: metres per level-0 tile pixel (for the scale bar; 0 = none).

    Returns:
        ``(figure, landmarks)``: ``(height, w, 3) uint8`` BGR and the point indices
        numbered 1, 2, ... in that order.
    """
    kxy = np.asarray(keyframe_xy, np.float64).reshape(-1, 2)
    txy = np.asarray(tile_xy, np.float64).reshape(-1, 2)
    idx = list(landmarks) if landmarks is not None else pick_landmarks(kxy)
    left, sl = _fit_height(_dim_overlay(keyframe, mask), height)
    right, sr = _fit_height(crop.image, height)
    cxy = crop.to_crop(txy) if len(txy) else txy
    for num, i in enumerate(idx, start=1):
        colour = PALETTE[(num - 1) % len(PALETTE)]
        is_manual = bool(manual[i]) if i < len(manual) else False
        _marker(left, (kxy[i] + 0.5) * sl - 0.5, num, colour, is_manual)
        _marker(right, (cxy[i] + 0.5) * sr - 0.5, num, colour, is_manual)
    if gsd_m > 0:
        scale_bar(right, gsd_m * crop.scale / sr)
    gap = np.full((height, 8, 3), 255, np.uint8)
    return np.hstack([left, gap, right]), idx


def overlay_figure(keyframe: np.ndarray, mask: np.ndarray | None, crop: SatelliteCrop,
                   homography: np.ndarray | Sequence[Sequence[float]], *,
                   points: Sequence[tuple[str, float, float]] = (), opacity: float = 0.55,
                   max_side: int = 900, gsd_m: float = 0.0) -> np.ndarray:
    """The keyframe warped onto the satellite crop, as a checkerboard, outlined in yellow.

    Inside the frame footprint, alternate squares show the warped keyframe and the
    imagery (lightly blended), so roads and edges run straight across square borders
    when the registration is right and visibly break when it is not.

    Args:
        keyframe: ``(H, W, 3) uint8`` BGR; mask: ``(H, W) uint8`` (HUD left out) or ``None``.
        crop: the satellite crop; homography: ``(3, 3)`` keyframe px -> tile level-0 px.
        points: ``(label, x, y)`` keyframe pixels to mark (target, points of interest).
        opacity: keyframe weight (x 0.35) in the imagery squares of the checkerboard.

    Returns ``(h, w, 3) uint8`` BGR, longest side at most ``max_side``.
    """
    from workbench.results import Candidate

    h = np.asarray(homography, np.float64).reshape(3, 3)
    cand = Candidate(0, 0.0, 0.0, 0.0, 0.0, "", crop.tile.path, 0, [], homography=h.tolist())
    warped, alpha = warp_to_crop(keyframe, cand, crop, mask)
    hh, ww = alpha.shape
    cell = max(16, round(max(hh, ww) / 14))
    yy, xx = np.mgrid[0:hh, 0:ww]
    board = ((yy // cell + xx // cell) % 2 == 0)  # checkerboard: misregistration breaks lines
    a = np.where(board, 1.0, opacity * 0.35) * (alpha.astype(np.float32) / 255.0)
    a = a[:, :, None]
    out = (crop.image.astype(np.float32) * (1 - a) + warped.astype(np.float32) * a)
    out = np.clip(out, 0, 255).astype(np.uint8)
    from workbench.geo import apply_homography

    kh, kw = keyframe.shape[:2]
    corners = np.array([[-0.5, -0.5], [kw - 0.5, -0.5], [kw - 0.5, kh - 0.5], [-0.5, kh - 0.5]])
    outline = crop.to_crop(apply_homography(h, corners))
    if np.all(np.isfinite(outline)) and np.all(np.abs(outline) < 1e6):
        cv2.polylines(out, [np.round(outline).astype(np.int32).reshape(-1, 1, 2)], True,
                      (0, 230, 255), 2, cv2.LINE_AA)

    for n, (label, x, y) in enumerate(points, start=1):
        cxy = crop.to_crop(apply_homography(h, np.array([[x, y]], np.float64)))[0]
        if not np.all(np.isfinite(cxy)):
            continue
        cx, cy = round(float(cxy[0])), round(float(cxy[1]))
        for colour, thick in (((0, 0, 0), 4), ((40, 40, 255), 2)):
            cv2.drawMarker(out, (cx, cy), colour, cv2.MARKER_CROSS, 22, thick, cv2.LINE_AA)
            cv2.circle(out, (cx, cy), 13, colour, thick, cv2.LINE_AA)
        _label(out, f"P{n}" if label else str(n), (cx + 14, cy - 10), (40, 40, 255), 0.55)
    s = min(1.0, max_side / max(out.shape[:2]))
    if s < 1.0:
        out = cv2.resize(out, (max(1, round(out.shape[1] * s)), max(1, round(out.shape[0] * s))),
                         interpolation=cv2.INTER_AREA)
    if gsd_m > 0:
        scale_bar(out, gsd_m * crop.scale / s)
    return out
