"""A shadow's ground azimuth from two keyframe pixels, through the confirmed homography.

The analyst marks an object's foot and the tip of its shadow in the matched keyframe —
both on the ground, so the candidate's homography (keyframe px -> tile px) and the
tile's georeference (tile px -> CRS -> WGS84) map them to the ground.  The shadow
points away from the sun: the sun's azimuth is the shadow's azimuth + 180°.

Assumptions, stated in every output: the object is vertical, the ground between foot and
tip is flat and is the plane the homography maps.  Pixels: ``(x, y)`` with the centre
of the top-left pixel at ``(0, 0)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Point

from workbench.claim.geodesy import inverse
from workbench.claim.model import ShadowError, ShadowMeasure
from workbench.errors import CRSError
from workbench.geo import apply_homography, keyframe_px_to_lonlat
from workbench.results import Candidate, TileRef

#: 1-sigma of one careful click at full resolution, pixels.
CLICK_PX = 1.5
MIN_SHADOW_PX = 4.0


def _azimuth(h: np.ndarray, tile: TileRef, pts: np.ndarray) -> tuple[float, float]:
    """``(azimuth foot->tip, length_m)`` for keyframe pixels ``pts`` = ``[foot, tip]``."""
    ll = keyframe_px_to_lonlat(h, tile.transform, tile.crs, pts)
    if not np.isfinite(ll).all():
        raise ShadowError("the homography does not map the shadow's points to the ground")
    length, az = inverse(float(ll[0, 0]), float(ll[0, 1]), float(ll[1, 0]), float(ll[1, 1]))
    return az, length


def _fit_rms_m(h: np.ndarray, cand: Candidate, tile: TileRef) -> float:
    """RMS ground residual of the homography on the candidate's inliers, metres."""
    kxy = np.asarray(cand.keyframe_xy, dtype=np.float64).reshape(-1, 2)
    txy = np.asarray(cand.tile_xy, dtype=np.float64).reshape(-1, 2)
    if len(kxy) < 4 or len(kxy) != len(txy):
        return float("nan")
    res = np.linalg.norm(apply_homography(h, kxy) - txy, axis=1)
    res = res[np.isfinite(res)]
    return float(np.sqrt(np.mean(res**2)) * tile.gsd_m) if len(res) else float("nan")


def measure_shadow(cand: Candidate, tile: TileRef, foot_px: Sequence[float],
                   tip_px: Sequence[float], *, click_px: float = CLICK_PX) -> ShadowMeasure:
    """Measure the shadow from ``foot_px`` to ``tip_px`` in the candidate's keyframe.

    The azimuth's 1-sigma combines the two clicks (``click_px`` each, propagated through
    the homography's local Jacobian) and the homography's fit (its inlier RMS residual in
    metres at each end, taken as independent: conservative).

    Raises:
        ShadowError: no homography; a point outside the matched area (the convex hull of
            the candidate's keyframe inliers); foot and tip closer than 4 px.
    """
    h = np.asarray(cand.homography, dtype=np.float64)
    if h.size != 9 or not np.isfinite(h).all():
        raise ShadowError(f"candidate {cand.rank} has no homography to map the shadow")
    h = h.reshape(3, 3)
    pts = np.array([foot_px, tip_px], dtype=np.float64).reshape(2, 2)
    if not np.isfinite(pts).all():
        raise ShadowError("shadow points must be finite pixel coordinates")
    kxy = np.asarray(cand.keyframe_xy, dtype=np.float64).reshape(-1, 2)
    if len(kxy) < 3:
        raise ShadowError(f"candidate {cand.rank} records no matched area to check the "
                          "shadow's points against")
    hull = MultiPoint([tuple(p) for p in kxy]).convex_hull
    for name, p in (("foot", pts[0]), ("tip", pts[1])):
        if not shapely.covers(hull, Point(float(p[0]), float(p[1]))):
            raise ShadowError(f"the shadow's {name} ({p[0]:g}, {p[1]:g}) lies outside the "
                              f"matched area of keyframe {cand.keyframe_id}")
    if float(np.hypot(*(pts[1] - pts[0]))) < MIN_SHADOW_PX:
        raise ShadowError("the shadow's foot and tip are less than 4 px apart")
    try:
        az, length = _azimuth(h, tile, pts)
        grads = []
        step = 0.5
        for i in range(4):
            d = np.zeros(4)
            d[i] = step
            a_plus, _ = _azimuth(h, tile, pts + d.reshape(2, 2))
            a_minus, _ = _azimuth(h, tile, pts - d.reshape(2, 2))
            grads.append(((a_plus - a_minus + 180.0) % 360.0 - 180.0) / (2 * step))
    except CRSError as exc:
        raise ShadowError(exc.message) from exc
    sigma_click = float(math.sqrt(sum(g * g for g in grads)) * click_px)
    rms = _fit_rms_m(h, cand, tile)
    sigma_fit = (float(math.degrees(math.atan2(math.sqrt(2.0) * rms, length)))
                 if math.isfinite(rms) and length > 0 else 0.0)
    sigma = float(math.hypot(sigma_click, sigma_fit))
    ll = keyframe_px_to_lonlat(h, tile.transform, tile.crs, pts)
    return ShadowMeasure(
        cand.keyframe_id, (float(pts[0, 0]), float(pts[0, 1])),
        (float(pts[1, 0]), float(pts[1, 1])), (float(ll[0, 0]), float(ll[0, 1])),
        (float(ll[1, 0]), float(ll[1, 1])), float(length), float(az), (az + 180.0) % 360.0,
        sigma, sigma_click, sigma_fit, float(click_px))
