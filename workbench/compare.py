"""Qt-free helpers behind the side-by-side comparison and point geolocation views.

* :func:`satellite_crop`: the part of a reference raster a candidate covers, read
  windowed and decimated (so a 40 000 px orthophoto costs no more than a thumbnail),
  with the exact mapping from crop pixels back to level-0 tile pixels.
* :func:`warp_to_crop`: the keyframe warped onto that crop (overlay/swipe mode).
* :func:`locate_pixel`: a keyframe pixel -> :class:`workbench.position.Position` (WGS84
  lon/lat, DMS, MGRS, radius in metres, flagged outside the matched area), through the
  one pixel-to-position function :mod:`workbench.position`.

Images are ``np.ndarray (H, W, 3) uint8`` in **BGR** order.  Pixels are
``(x, y)`` = (col, row), centre of the top-left pixel at ``(0, 0)``.  Positions
leave as WGS84 lon/lat; the tile CRS is the one in the :class:`TileRef`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from workbench.errors import UsageError
from workbench.geo import apply_homography
from workbench.position import Position, candidate_pixel_position
from workbench.results import Candidate, TileRef

log = logging.getLogger(__name__)


@dataclass
class SatelliteCrop:
    """A decimated window of a reference raster around a candidate.

    ``image``: ``(h, w, 3) uint8`` BGR.  ``valid``: ``(h, w) bool`` (False on nodata).
    ``scale``: level-0 tile pixels per crop pixel.  Crop pixel ``(0, 0)``'s centre is
    level-0 tile pixel ``(col_off, row_off)``'s centre, so
    ``tile = (col_off, row_off) + scale * crop``.
    """

    image: np.ndarray
    valid: np.ndarray
    scale: float
    col_off: float
    row_off: float
    tile: TileRef

    @property
    def tile_to_crop(self) -> np.ndarray:
        """``(3, 3) float64``: level-0 tile px -> crop px."""
        s = self.scale
        return np.array(
            [[1 / s, 0, -self.col_off / s], [0, 1 / s, -self.row_off / s], [0, 0, 1]], float
        )

    def to_crop(self, tile_xy: np.ndarray) -> np.ndarray:
        """``(N, 2)`` level-0 tile px -> ``(N, 2)`` crop px (float64)."""
        pts = np.asarray(tile_xy, float).reshape(-1, 2)
        return (pts - [self.col_off, self.row_off]) / self.scale

    def to_tile(self, crop_xy: np.ndarray) -> np.ndarray:
        """``(N, 2)`` crop px -> ``(N, 2)`` level-0 tile px (float64)."""
        pts = np.asarray(crop_xy, float).reshape(-1, 2)
        return pts * self.scale + [self.col_off, self.row_off]


def _homography(candidate: Candidate) -> np.ndarray:
    h = np.asarray(candidate.homography, float)
    if h.size != 9 or not np.all(np.isfinite(h)):
        raise UsageError(f"candidate {candidate.rank} has no usable homography")
    return h.reshape(3, 3)


def candidate_extent(
    candidate: Candidate,
    keyframe_size: tuple[int, int],
    tile: TileRef,
    *,
    margin: float = 0.3,
) -> tuple[float, float, float, float]:
    """Level-0 tile pixel box ``(x0, y0, x1, y1)`` around the candidate, clipped to the tile.

    The box covers the tie points and the keyframe's projected outline, but the outline
    is clamped to 3x the tie-point spread (an oblique frame's horizon projects to infinity).
    ``keyframe_size`` is ``(width, height)``.
    """
    h = _homography(candidate)
    w_kf, h_kf = keyframe_size
    corners = np.array([[0, 0], [w_kf - 1, 0], [w_kf - 1, h_kf - 1], [0, h_kf - 1]], float)
    pts = [apply_homography(h, corners), apply_homography(h, np.array([[w_kf / 2, h_kf / 2]]))]
    ties = np.asarray(candidate.tile_xy, float).reshape(-1, 2)
    if len(ties):
        pts.append(ties)
    allp = np.vstack(pts)
    allp = allp[np.all(np.isfinite(allp), axis=1)]
    if len(allp) == 0:
        raise UsageError(f"candidate {candidate.rank} projects outside the image plane")
    core = ties if len(ties) >= 2 else allp
    cx, cy = np.median(core, axis=0)
    spread = max(float(np.ptp(core[:, 0])), float(np.ptp(core[:, 1])), 64.0)
    lim = 3.0 * spread
    allp = np.clip(allp, [cx - lim, cy - lim], [cx + lim, cy + lim])
    x0, y0 = allp.min(axis=0)
    x1, y1 = allp.max(axis=0)
    mx, my = (x1 - x0) * margin + 16, (y1 - y0) * margin + 16
    x0, x1 = max(0.0, x0 - mx), min(tile.width - 1.0, x1 + mx)
    y0, y1 = max(0.0, y0 - my), min(tile.height - 1.0, y1 + my)
    if x1 <= x0 or y1 <= y0:
        raise UsageError(f"candidate {candidate.rank} lies outside its tile", tile.path)
    return float(x0), float(y0), float(x1), float(y1)


def satellite_crop(
    candidate: Candidate,
    tile: TileRef,
    keyframe_size: tuple[int, int],
    *,
    max_side: int = 1400,
    margin: float = 0.3,
) -> SatelliteCrop:
    """Read the part of ``tile`` around ``candidate``, at most ``max_side**2`` pixels.

    Reads through :func:`workbench.tiles.read_tile` (overviews, 16-bit stretch, nodata
    and alpha handled there).
    ``keyframe_size`` is the keyframe's ``(width, height)``.

    Raises:
        RasterOpenError: the raster cannot be opened or read (naming the file).
        UsageError: the candidate has no usable homography or lies outside the tile.
    """
    from workbench.imagery.catalog import catalog_file, read_tile

    x0, y0, x1, y1 = candidate_extent(candidate, keyframe_size, tile, margin=margin)
    c0, r0 = math.floor(x0), math.floor(y0)
    wc, hr = math.ceil(x1) + 1 - c0, math.ceil(y1) + 1 - r0
    catalogued = catalog_file(Path(tile.path))
    img = read_tile(catalogued, window=(c0, r0, wc, hr), max_pixels=int(max_side) ** 2)
    s = float(img.scale)
    return SatelliteCrop(
        image=img.image,
        valid=img.valid,
        scale=s,
        col_off=img.col_off + 0.5 * s - 0.5,
        row_off=img.row_off + 0.5 * s - 0.5,
        tile=tile,
    )


def keyframe_to_crop(candidate: Candidate, crop: SatelliteCrop) -> np.ndarray:
    """``(3, 3) float64`` homography: keyframe px -> crop px."""
    return crop.tile_to_crop @ _homography(candidate)


def warp_to_crop(
    keyframe: np.ndarray,
    candidate: Candidate,
    crop: SatelliteCrop,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Warp the keyframe onto the crop's pixel grid.

    Args:
        keyframe: ``(H, W, 3) uint8`` BGR, the candidate's keyframe at full resolution.
        mask: optional ``(H, W) uint8`` overlay mask (255 = HUD, left transparent).

    Returns:
        ``(warped, alpha)``: ``(h, w, 3) uint8`` BGR and ``(h, w) uint8`` coverage
        (255 where the keyframe lands, 0 elsewhere), both the crop's size.
    """
    hm = keyframe_to_crop(candidate, crop)
    h, w = crop.image.shape[:2]
    warped = cv2.warpPerspective(keyframe, hm, (w, h), flags=cv2.INTER_LINEAR)
    src = np.full(keyframe.shape[:2], 255, np.uint8)
    if mask is not None and mask.shape == keyframe.shape[:2]:
        src[mask > 0] = 0
    alpha = cv2.warpPerspective(src, hm, (w, h), flags=cv2.INTER_NEAREST)
    return warped, alpha


def locate_pixel(candidate: Candidate, tile: TileRef, x: float, y: float, *,
                 imagery_accuracy_m: float | None = None, imagery_source: str = "") -> Position:
    """Geolocate keyframe pixel ``(x, y)`` through ``candidate``'s homography on ``tile``'s
    grid: :func:`workbench.position.candidate_pixel_position` (the one pixel-to-position
    path; the radius grows outside the tie points' hull).  ``imagery_accuracy_m`` /
    ``imagery_source``: the imagery's stated accuracy and its source, as the candidate's
    radius includes them (:meth:`~workbench.results.LocateResult.imagery_accuracy_of`).

    Raises:
        UsageError: no usable homography, or the pixel maps beyond the horizon.
    """
    return candidate_pixel_position(candidate, tile.transform, tile.crs, tile.gsd_m, (x, y),
                                    imagery_accuracy_m=imagery_accuracy_m,
                                    imagery_source=imagery_source)


def farthest_points(xy: np.ndarray, limit: int) -> list[int]:
    """Indices of up to ``limit`` well-spread points of ``(N, 2)`` ``xy``, in picking order.

    Deterministic greedy farthest-point sampling from the point nearest the centroid;
    stops early when only repeats of chosen points are left (never an index twice).
    """
    pts = np.asarray(xy, np.float64).reshape(-1, 2)
    if len(pts) == 0 or limit <= 0:
        return []
    chosen = [int(np.argmin(np.hypot(*(pts - pts.mean(axis=0)).T)))]
    dist = np.hypot(*(pts - pts[chosen[0]]).T)
    while len(chosen) < min(limit, len(pts)):
        nxt = int(np.argmax(dist))
        if dist[nxt] <= 0:
            break
        chosen.append(nxt)
        dist = np.minimum(dist, np.hypot(*(pts - pts[nxt]).T))
    return chosen


def spread_indices(xy: np.ndarray, limit: int) -> list[int]:
    """Indices of at most ``limit`` points of ``(N, 2)`` ``xy`` spread over the image
    (:func:`farthest_points`), in reading order (top to bottom)."""
    pts = np.asarray(xy, float).reshape(-1, 2)
    n = len(pts)
    chosen = list(range(n)) if n <= limit else farthest_points(pts, limit)
    # reading order in bands of ~1/8 of the spread, so numbers are easy to find
    band = max(float(np.ptp(pts[:, 1])) / 8.0, 1.0) if n else 1.0
    return sorted(chosen, key=lambda i: (int(pts[i, 1] // band), pts[i, 0]))


def numbered_landmarks(
    candidate: Candidate, crop: SatelliteCrop, limit: int = 30
) -> list[tuple[int, tuple[float, float], tuple[float, float]]]:
    """The tie points to draw: ``[(number, (kf_x, kf_y), (crop_x, crop_y)), ...]``.

    At most ``limit`` of them, spread over the keyframe, numbered 1..k in reading
    order, so the same number marks the same landmark on both sides.
    """
    kf = np.asarray(candidate.keyframe_xy, float).reshape(-1, 2)
    tl = np.asarray(candidate.tile_xy, float).reshape(-1, 2)
    n = min(len(kf), len(tl))
    if n == 0:
        return []
    idx = spread_indices(kf[:n], limit)
    cxy = crop.to_crop(tl[:n])
    return [
        (k + 1, (kf[i, 0], kf[i, 1]), (cxy[i, 0], cxy[i, 1])) for k, i in enumerate(idx)
    ]
