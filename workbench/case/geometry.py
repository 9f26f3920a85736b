"""Geometry shared by the case, ``verify`` and reports: refit, residuals, ground positions.

Pixels: ``(x, y)`` = (col, row), centre of the top-left pixel at ``(0, 0)``.
Keyframe pixels are in the keyframe's full-resolution grid; tile pixels in the
raster's level-0 grid.  Tile grids are given as the rasterio affine ``transform``
(pixel corners) and ``crs`` (WKT or ``EPSG:n``).  Positions out are WGS84 lon/lat.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from workbench.geo import apply_homography, keyframe_px_to_lonlat, tile_px_to_lonlat


def keyframe_centre(width: int, height: int) -> tuple[float, float]:
    """The image centre pixel ``(x, y)`` of a ``width`` x ``height`` keyframe."""
    return (width - 1) / 2.0, (height - 1) / 2.0


def as_points(xy: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """``(N, 2)`` float64 array from a list of ``[x, y]`` (``(0, 2)`` when empty)."""
    arr = np.asarray(xy, dtype=np.float64)
    return arr.reshape(-1, 2) if arr.size else np.zeros((0, 2), np.float64)


def fit_homography(keyframe_xy: np.ndarray, tile_xy: np.ndarray) -> np.ndarray | None:
    """Least-squares homography (keyframe px -> tile px) over all ``(N, 2)`` correspondences.

    Returns a ``(3, 3)`` float64 array, or ``None`` with fewer than 4 points or a
    degenerate configuration.
    """
    k, t = as_points(keyframe_xy), as_points(tile_xy)
    if len(k) < 4 or len(k) != len(t):
        return None
    h, _ = cv2.findHomography(k.astype(np.float32), t.astype(np.float32), 0)
    if h is None or not np.all(np.isfinite(h)) or abs(h[2, 2]) < 1e-12:
        return None
    return np.asarray(h / h[2, 2], dtype=np.float64)


def residuals_px(h: np.ndarray | Sequence[Sequence[float]], keyframe_xy: np.ndarray,
                 tile_xy: np.ndarray) -> np.ndarray:
    """Per-point reprojection error in tile pixels, ``(N,)`` float64 (NaN if unmappable)."""
    k, t = as_points(keyframe_xy), as_points(tile_xy)
    if not len(k):
        return np.zeros(0, np.float64)
    proj = apply_homography(h, k)
    return np.asarray(np.hypot(*(proj - t).T), dtype=np.float64)


def keyframe_to_lonlat(h: np.ndarray | Sequence[Sequence[float]], transform: Sequence[float],
                       crs: str, xy: Sequence[float]) -> tuple[float, float]:
    """One keyframe pixel ``(x, y)`` -> WGS84 ``(lon, lat)`` via the homography and tile grid."""
    ll = keyframe_px_to_lonlat(h, transform, crs, np.asarray([xy], dtype=np.float64))[0]
    return float(ll[0]), float(ll[1])


def frame_footprint(h: np.ndarray | Sequence[Sequence[float]], transform: Sequence[float],
                    crs: str, width: int, height: int) -> list[list[float]]:
    """The keyframe's outline on the ground: closed WGS84 ``[[lon, lat], ...]`` ring (5 points).

    Corners that map behind the horizon (non-finite) are dropped.
    """
    corners = np.array([[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5],
                        [-0.5, height - 0.5]], np.float64)
    tile_xy = apply_homography(h, corners)
    ok = np.all(np.isfinite(tile_xy), axis=1)
    if not ok.any():
        return []
    ll = tile_px_to_lonlat(transform, crs, tile_xy[ok])
    ring = [[float(a), float(b)] for a, b in ll]
    return [*ring, ring[0]]
