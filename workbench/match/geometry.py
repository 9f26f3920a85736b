"""Geometric sanity of a keyframe->tile homography (is this a camera looking at the ground?).

Pixel convention: ``(x, y)`` = (col, row), centre of the top-left pixel at ``(0, 0)``.
Homographies are ``(3, 3) float64`` keyframe full-resolution px -> tile level-0 px.
"""

from __future__ import annotations

import cv2
import numpy as np


def frame_corners(frame_wh: tuple[int, int]) -> np.ndarray:
    """The four outer corners of a ``(width, height)`` keyframe, ``(4, 2) float64``, clockwise."""
    w, h = frame_wh
    return np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]], float)


def frame_outline(h0: np.ndarray, frame_wh: tuple[int, int]) -> np.ndarray | None:
    """The keyframe outline in tile px ``(4, 2)``, or ``None`` if the horizon crosses the frame.

    (When the homography's denominator changes sign over the frame, part of the
    frame maps "behind the camera" and no ground footprint exists.)
    """
    corners = frame_corners(frame_wh)
    ph = np.hstack([corners, np.ones((4, 1))]) @ np.asarray(h0, float).T
    wz = ph[:, 2]
    centre = np.array([(frame_wh[0] - 1) / 2, (frame_wh[1] - 1) / 2, 1.0]) @ np.asarray(h0).T
    if not np.all(np.isfinite(ph)) or np.any(wz * centre[2] <= 1e-9 * abs(centre[2])):
        return None
    return ph[:, :2] / wz[:, None]


def jacobian(h0: np.ndarray, xy: tuple[float, float]) -> np.ndarray:
    """``(2, 2)`` derivative of the homography at keyframe point ``xy``."""
    h = np.asarray(h0, float)
    x, y = xy
    den = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    u = (h[0, 0] * x + h[0, 1] * y + h[0, 2]) / den
    v = (h[1, 0] * x + h[1, 1] * y + h[1, 2]) / den
    return np.array(
        [
            [(h[0, 0] - u * h[2, 0]) / den, (h[0, 1] - u * h[2, 1]) / den],
            [(h[1, 0] - v * h[2, 0]) / den, (h[1, 1] - v * h[2, 1]) / den],
        ]
    )


def _is_convex(quad: np.ndarray) -> bool:
    cross = []
    for i in range(4):
        a, b, c = quad[i], quad[(i + 1) % 4], quad[(i + 2) % 4]
        cross.append((b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]))
    s = np.sign(cross)
    return bool(np.all(s > 0) or np.all(s < 0))


def hypothesis_scores(
    h0: np.ndarray,
    kxy: np.ndarray,
    txy: np.ndarray,
    frame_wh: tuple[int, int],
    tile_gsd_m: float,
) -> dict[str, float]:
    """Geometric statistics of a homography and its ``(N, 2)`` inlier tie points.

    Keys: ``centre_x/centre_y`` (tile px of the frame centre), ``gsd_m`` (ground m per
    keyframe px at the centre), ``anisotropy`` (ratio of the local scale's singular
    values at the centre; ``nan`` when degenerate), ``mirrored`` (1 if orientation
    flips), ``convex`` (1 if the footprint is a convex quad), ``scale_ratio``
    (largest/smallest local scale over the corners, perspective strength),
    ``rmse_px``/``rmse_m`` (inlier reprojection error, tile px / metres),
    ``spread`` (convex-hull area of the inliers / frame area), ``footprint_diag_px``.
    """
    w, h = frame_wh
    out: dict[str, float] = {}
    cxy = ((w - 1) / 2, (h - 1) / 2)
    c = cv2.perspectiveTransform(np.array([[cxy]], float), np.asarray(h0, float))[0, 0]
    out["centre_x"], out["centre_y"] = float(c[0]), float(c[1])
    j = jacobian(h0, cxy)
    sv = np.linalg.svd(j, compute_uv=False)
    det = float(np.linalg.det(j))
    out["mirrored"] = 1.0 if det < 0 else 0.0
    out["gsd_m"] = float(np.sqrt(abs(det)) * tile_gsd_m)
    out["anisotropy"] = float(sv[0] / sv[1]) if sv[1] > 1e-12 else float("nan")
    outline = frame_outline(h0, frame_wh)
    if outline is None:
        out["convex"] = 0.0
        out["scale_ratio"] = float("inf")
        out["footprint_diag_px"] = float("inf")
        out["anisotropy"] = float("nan")
    else:
        out["convex"] = 1.0 if _is_convex(outline) else 0.0
        dets = [abs(np.linalg.det(jacobian(h0, (float(p[0]), float(p[1])))))
                for p in frame_corners(frame_wh)]
        out["scale_ratio"] = float(np.sqrt(max(dets) / max(min(dets), 1e-12)))
        out["footprint_diag_px"] = float(
            max(np.linalg.norm(outline[0] - outline[2]), np.linalg.norm(outline[1] - outline[3]))
        )
    pred = cv2.perspectiveTransform(np.asarray(kxy, float)[None], np.asarray(h0, float))[0]
    err = np.linalg.norm(pred - np.asarray(txy, float), axis=1)
    out["rmse_px"] = float(np.sqrt(np.mean(err**2))) if len(err) else float("nan")
    out["rmse_m"] = out["rmse_px"] * tile_gsd_m
    if len(kxy) >= 3:
        hull = cv2.convexHull(np.asarray(kxy, np.float32))
        out["spread"] = float(cv2.contourArea(hull) / max(w * h, 1))
    else:
        out["spread"] = 0.0
    return out


def camera_error(
    h0: np.ndarray, frame_wh: tuple[int, int], gsd_xy_m: tuple[float, float]
) -> float:
    """How far a homography is from what a pinhole camera viewing flat ground can produce.

    The ground->image homography of a camera with square pixels, principal point at the
    image centre and focal ``f`` is ``K [r1 r2 t]``: after removing ``K`` its first two
    columns are orthogonal and of equal length.  ``f`` is searched over hfov 1-150
    degrees; returns the smallest ``|cos angle| + |log length ratio|`` (0 = a perfect
    camera; random homographies are typically > 0.3).  ``h0``: keyframe px -> tile px;
    ``gsd_xy_m``: metres per tile pixel along columns and rows (non-square pixels).
    """
    w, h = frame_wh
    sx, sy = gsd_xy_m if gsd_xy_m[0] > 0 and gsd_xy_m[1] > 0 else (1.0, 1.0)
    to_m = np.diag([sx, sy, 1.0])
    try:
        g = np.linalg.inv(to_m @ np.asarray(h0, float))  # ground metres -> frame px
    except np.linalg.LinAlgError:
        return float("inf")
    shift = np.array([[1.0, 0, -(w - 1) / 2], [0, 1.0, -(h - 1) / 2], [0, 0, 1.0]])
    g = shift @ g
    a, b = g[:, 0], g[:, 1]
    best = float("inf")
    for f in w / (2 * np.tan(np.radians(np.geomspace(1.0, 150.0, 80)) / 2)):
        ka = np.array([a[0] / f, a[1] / f, a[2]])
        kb = np.array([b[0] / f, b[1] / f, b[2]])
        na, nb = np.linalg.norm(ka), np.linalg.norm(kb)
        if na <= 0 or nb <= 0:
            continue
        err = abs(float(ka @ kb) / (na * nb)) + abs(float(np.log(na / nb)))
        if err < best:
            best = float(err)
    return best
