"""One way to turn a keyframe pixel into a ground position, with one uncertainty model.

``locate --target``, the desktop app's point panel and ``workbench case point`` all call
:func:`pixel_position` (or :func:`candidate_pixel_position`), so the same pixel of the
same candidate gets the same lon/lat and the same radius everywhere.  Rank gives a
candidate the radius of its keyframe's centre pixel (:func:`uncertainty`), so a candidate's
``uncertainty_m`` is the radius of the position it reports.

Inputs: ``homography`` ``(3, 3) float64`` keyframe px -> tile level-0 px; the inlier tie
points ``keyframe_xy``/``tile_xy`` ``(N, 2) float64`` (the correspondences the homography
was fitted on); the tile grid as the rasterio affine ``transform`` (pixel *corners*),
``crs`` (WKT or ``EPSG:n``) and ``gsd_m`` (metres per tile pixel).  Pixels are ``(x, y)``
= (col, row), centre of the top-left pixel at ``(0, 0)``.  Positions are WGS84 lon/lat.

The uncertainty model (a 1-sigma radius in metres; :class:`Uncertainty` keeps its parts):

1. *Estimation*: the homography is re-fitted on bootstrap resamples of the tie points;
   the RMS spread of the re-projected pixel is the estimation error.  It grows by itself
   away from the tie points, because resampled fits disagree more there.
2. The inlier reprojection residual (scaled down by the support) and half a tile pixel
   (georeferencing/quantisation) are added in quadrature; the sum is scaled by
   :data:`CALIBRATION` (measured on the locate benchmark).
3. *Extrapolation*: outside the convex hull of the keyframe tie points the plane the
   homography describes is an assumption nobody checked (roofs, slopes, a horizon), so
   the radius is multiplied by ``1 + outside_hull`` (the distance outside the hull in
   hull diameters): doubled one hull diameter away.  Checked against rendered footage's
   ground truth in ``tests/shared/test_position.py``.
4. *Imagery*: the reference imagery's own stated horizontal accuracy
   (``imagery_accuracy_m``, a 1-sigma radial error in metres: from the raster's metadata
   or entered by the analyst; a CE90 figure is converted with :func:`ce90_to_sigma_m`) is
   added in quadrature.  When it is not known it is *not* included, and the radius is
   relative to the reference imagery (``Uncertainty.imagery_m`` is ``None``).

The 1-sigma radius is meant to contain the true position about 68 % of the time, the
2-sigma radius (:data:`TWO_SIGMA` x) about 95 %; the shares measured on
``benchmarks/locate`` are printed by its run (coverage table).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np

from workbench.errors import UsageError
from workbench.geo import (
    apply_homography,
    format_dms,
    format_mgrs,
    format_uncertainty,
    lonlat_to_tile_px,
    tile_px_to_lonlat,
)
from workbench.results import Candidate

# Calibrated on clips disjoint from benchmarks/locate (other towns, other places, other
# reference rasters: benchmarks/locate/calibrate_uncertainty.py, 11 located clips, 49
# keyframe placements, 0.15-10 m imagery): with 1.5 the 1-sigma radius held 76 % of the
# true positions, its 68 % quantile of error/radius was 0.89 -> 1.5 x 0.89 = 1.34.
CALIBRATION = 1.34
# The 2-sigma radius as a multiple of the 1-sigma one: a circular normal error's 95 %
# radius over its 68 % radius (1.62).  The calibration clips alone would allow 1.27
# (their 95 % quantile over their 68 %), from too few independent clips to trust a
# thinner tail than the normal's.
TWO_SIGMA = 1.62


def ce90_to_sigma_m(ce90_m: float) -> float:
    """A circular error at 90 % (CE90, metres) -> the 68 % radius (metres) of the same
    circular normal error: ``ce90 * sqrt(-2 ln 0.32) / sqrt(-2 ln 0.1)``."""
    return float(ce90_m) * math.sqrt(-2 * math.log(0.32)) / math.sqrt(-2 * math.log(0.1))


@dataclass(frozen=True)
class Uncertainty:
    """A position's 1-sigma radius and what it is made of (metres).

    ``match_m``: the match's own error at the point (steps 1-2 of the module doc);
    ``extrapolation_m``: what extrapolating outside the tie points' hull adds (step 3:
    ``match_m * outside_hull``); ``imagery_m``: the reference imagery's stated
    horizontal accuracy (step 4), ``None`` when not known (then not included);
    ``imagery_source``: where that figure comes from (``"analyst"``, ``"metadata: ..."``).
    """

    match_m: float
    extrapolation_m: float = 0.0
    imagery_m: float | None = None
    imagery_source: str = ""

    @property
    def radius_m(self) -> float:
        """The 1-sigma radius: match and extrapolation added, imagery in quadrature."""
        return math.hypot(self.match_m + self.extrapolation_m, self.imagery_m or 0.0)

    @property
    def radius_2sigma_m(self) -> float:
        """The 2-sigma radius (:data:`TWO_SIGMA` x the 1-sigma radius)."""
        return TWO_SIGMA * self.radius_m

    def with_imagery(self, imagery_m: float | None, source: str = "") -> Uncertainty:
        """The same with the imagery's stated accuracy (1-sigma radial, metres)."""
        if imagery_m is None or not math.isfinite(imagery_m) or imagery_m < 0:
            return replace(self, imagery_m=None, imagery_source="")
        return replace(self, imagery_m=float(imagery_m), imagery_source=source)

    def with_match_error(self, extra_m: float) -> Uncertainty:
        """The same with another independent match error (metres) added in quadrature to
        the match part (e.g. the frame-to-frame chain of a zoomed keyframe)."""
        if not extra_m > 0:
            return self
        return replace(self, match_m=math.hypot(self.match_m, float(extra_m)))

    def to_json(self) -> dict[str, Any]:
        """``{"radius_m", "radius_2sigma_m", "sigma": 1, "components": {"match_m",
        "extrapolation_m", "imagery_m"}, "imagery_source"}`` (``imagery_m`` null when not
        known; non-finite values null)."""
        def num(v: float | None) -> float | None:
            return float(v) if v is not None and math.isfinite(v) else None

        return {"radius_m": num(self.radius_m), "radius_2sigma_m": num(self.radius_2sigma_m),
                "components": {"match_m": num(self.match_m),
                               "extrapolation_m": num(self.extrapolation_m),
                               "imagery_m": num(self.imagery_m)},
                "imagery_source": self.imagery_source}


def point_uncertainty_m(
    homography: np.ndarray | Sequence[Sequence[float]],
    keyframe_xy: np.ndarray | Sequence[Sequence[float]],
    tile_xy: np.ndarray | Sequence[Sequence[float]],
    point_xy: tuple[float, float],
    tile_gsd_m: float,
    *,
    n_boot: int = 40,
    seed: int = 0,
) -> float:
    """Steps 1-2 of the model (no extrapolation factor): 1-sigma radius in metres of
    keyframe pixel ``point_xy``; ``inf`` with fewer than 4 tie points."""
    k = np.asarray(keyframe_xy, np.float64).reshape(-1, 2)
    t = np.asarray(tile_xy, np.float64).reshape(-1, 2)
    h = np.asarray(homography, np.float64).reshape(3, 3)
    pt = np.array([[point_xy]], np.float64)
    if len(k) < 4 or len(k) != len(t):
        return float("inf")
    pred = cv2.perspectiveTransform(k[None], h)[0]
    rmse_px = float(np.sqrt(np.mean(np.sum((pred - t) ** 2, axis=1))))
    base = cv2.perspectiveTransform(pt, h)[0, 0]
    rng = np.random.default_rng(seed)
    devs = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(k), len(k))
        if len(np.unique(idx)) < 4:
            continue
        hb, _ = cv2.findHomography(k[idx], t[idx], 0)
        if hb is None:
            continue
        p = cv2.perspectiveTransform(pt, hb)[0, 0]
        if np.all(np.isfinite(p)):
            devs.append(float(np.sum((p - base) ** 2)))
    boot_px = float(np.sqrt(np.mean(devs))) if devs else rmse_px * 10
    # residual of a single tie point is not the centre's error, but a floor on how
    # well the imagery supports any position: scale it down by the support
    resid_px = rmse_px / np.sqrt(max(len(k) / 4.0, 1.0))
    total_px = float(np.sqrt(boot_px**2 + resid_px**2 + 0.5**2))
    return CALIBRATION * total_px * float(tile_gsd_m)


def outside_hull_ratio(xy: Sequence[float], keyframe_xy: np.ndarray | Sequence[Sequence[float]]
                       ) -> float:
    """0 inside the convex hull of ``(N, 2)`` ``keyframe_xy``, else the distance outside
    it in hull diameters; 1.0 with fewer than 3 tie points (no hull to be inside)."""
    ties = np.asarray(keyframe_xy, np.float64).reshape(-1, 2)
    if len(ties) < 3:
        return 1.0
    hull = cv2.convexHull(ties.astype(np.float32))
    d = cv2.pointPolygonTest(hull, (float(xy[0]), float(xy[1])), True)
    if d >= 0:
        return 0.0
    diam = float(np.hypot(*np.ptp(ties, axis=0))) or 1.0
    return float(-d / diam)


def uncertainty(
    homography: np.ndarray | Sequence[Sequence[float]],
    keyframe_xy: np.ndarray | Sequence[Sequence[float]],
    tile_xy: np.ndarray | Sequence[Sequence[float]],
    point_xy: tuple[float, float],
    tile_gsd_m: float,
    *,
    imagery_accuracy_m: float | None = None,
    imagery_source: str = "",
) -> Uncertainty:
    """The whole model (steps 1-4) of keyframe pixel ``point_xy``, by parts; the match
    part is ``inf`` with fewer than 4 tie points."""
    ratio = outside_hull_ratio(point_xy, keyframe_xy)
    match = point_uncertainty_m(homography, keyframe_xy, tile_xy, point_xy, tile_gsd_m)
    extra = match * ratio if math.isfinite(match) else math.inf
    return Uncertainty(match, extra).with_imagery(imagery_accuracy_m, imagery_source)


@dataclass(frozen=True)
class Position:
    """A keyframe pixel ``(x, y)`` placed on the ground.

    ``tile_x``/``tile_y``: the tile level-0 pixel it maps to; ``lon``/``lat``: WGS84;
    ``uncertainty_m``: 1-sigma radius in metres (NaN: not estimable, fewer than 4 tie
    points); ``outside_hull``: 0 inside the tie points' hull, else the distance outside
    it in hull diameters (the radius already includes the extrapolation);
    ``components``: the radius by parts (:class:`Uncertainty`).
    """

    x: float
    y: float
    lon: float
    lat: float
    tile_x: float
    tile_y: float
    uncertainty_m: float
    outside_hull: float
    components: Uncertainty | None = None

    @property
    def extrapolated(self) -> bool:
        """True outside the matched area (the tie points' hull)."""
        return self.outside_hull > 0

    @property
    def dms(self) -> str:
        """Degrees-minutes-seconds (:func:`workbench.geo.format_dms`)."""
        return format_dms(self.lat, self.lon)

    @property
    def mgrs(self) -> str:
        """MGRS at 1 m (:func:`workbench.geo.format_mgrs`), ``""`` near the poles."""
        return format_mgrs(self.lat, self.lon)

    def as_text(self) -> str:
        """Multi-line text for the clipboard / a report note."""
        flag = " (outside the matched area: extrapolated)" if self.extrapolated else ""
        return (
            f"lat, lon: {self.lat:.6f}, {self.lon:.6f} (WGS84)\n"
            f"DMS: {self.dms}\n"
            f"MGRS: {self.mgrs or 'n/a'}\n"
            f"uncertainty: {format_uncertainty(self.uncertainty_m)}{flag}\n"
            f"keyframe pixel: ({self.x:.1f}, {self.y:.1f})"
        )

    def to_target(self) -> dict[str, float]:
        """The ``locate.json`` ``target`` object: ``{"x", "y", "lon", "lat", "uncertainty_m"}``
        plus (``schema_minor`` >= 1) ``uncertainty_2sigma_m`` and the parts
        ``uncertainty_match_m``, ``uncertainty_extrapolation_m``, ``uncertainty_imagery_m``
        (the last only when the imagery's accuracy is known)."""
        out = {"x": self.x, "y": self.y, "lon": self.lon, "lat": self.lat,
               "uncertainty_m": self.uncertainty_m}
        u = self.components
        if u is not None:
            out["uncertainty_2sigma_m"] = u.radius_2sigma_m
            out["uncertainty_match_m"] = u.match_m
            out["uncertainty_extrapolation_m"] = u.extrapolation_m
            if u.imagery_m is not None:
                out["uncertainty_imagery_m"] = u.imagery_m
        return out


def pixel_position(
    homography: np.ndarray | Sequence[Sequence[float]],
    keyframe_xy: np.ndarray | Sequence[Sequence[float]],
    tile_xy: np.ndarray | Sequence[Sequence[float]],
    transform: Sequence[float],
    crs: str,
    gsd_m: float,
    xy: tuple[float, float],
    *,
    imagery_accuracy_m: float | None = None,
    imagery_source: str = "",
) -> Position:
    """Keyframe pixel ``xy`` -> :class:`Position` (lon/lat and radius, see the module doc;
    ``imagery_accuracy_m``: the reference imagery's stated 1-sigma horizontal accuracy in
    metres, ``None`` = not known, not included).

    Raises:
        UsageError: no usable homography, or the pixel maps beyond the horizon.
        CRSError: the tile CRS cannot be transformed to WGS84.
    """
    x, y = float(xy[0]), float(xy[1])
    h = np.asarray(homography, np.float64)
    if h.size != 9 or not np.all(np.isfinite(h)):
        raise UsageError("no usable homography")
    h = h.reshape(3, 3)
    txy = apply_homography(h, np.array([[x, y]], np.float64))[0]
    if not np.all(np.isfinite(txy)):
        raise UsageError(f"pixel ({x:.0f}, {y:.0f}) maps beyond the horizon")
    lon, lat = (float(v) for v in tile_px_to_lonlat(transform, crs, txy)[0])
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise UsageError(f"pixel ({x:.0f}, {y:.0f}) cannot be converted to lon/lat")
    ratio = outside_hull_ratio((x, y), keyframe_xy)
    parts = uncertainty(h, keyframe_xy, tile_xy, (x, y), gsd_m,
                        imagery_accuracy_m=imagery_accuracy_m, imagery_source=imagery_source)
    unc = parts.radius_m
    return Position(x=x, y=y, lon=lon, lat=lat, tile_x=float(txy[0]), tile_y=float(txy[1]),
                    uncertainty_m=unc if math.isfinite(unc) else math.nan, outside_hull=ratio,
                    components=parts)


def candidate_pixel_position(
    candidate: Candidate,
    transform: Sequence[float],
    crs: str,
    gsd_m: float,
    xy: tuple[float, float],
    *,
    imagery_accuracy_m: float | None = None,
    imagery_source: str = "",
) -> Position:
    """:func:`pixel_position` through ``candidate``'s homography and inlier tie points, on
    the grid of its tile (``transform``, ``crs``, ``gsd_m``: a ``TileRef``'s or the case's
    raster record).  ``UsageError`` messages name the candidate's rank."""
    try:
        return pixel_position(candidate.homography, candidate.keyframe_xy, candidate.tile_xy,
                              transform, crs, gsd_m, xy, imagery_accuracy_m=imagery_accuracy_m,
                              imagery_source=imagery_source)
    except UsageError as exc:
        raise UsageError(f"candidate {candidate.rank}: {exc.message}") from exc


def keyframe_pixel_at(
    homography: np.ndarray | Sequence[Sequence[float]],
    transform: Sequence[float],
    crs: str,
    lonlat: tuple[float, float],
    keyframe_size: tuple[int, int],
) -> tuple[float, float] | None:
    """The keyframe pixel ``(x, y)`` that sees the ground point ``lonlat`` (WGS84), through
    the inverse of ``homography`` (keyframe px -> tile px) on the tile grid
    (``transform``, ``crs``); the inverse of :func:`pixel_position`'s mapping.

    ``None`` when the point lies outside the keyframe (``keyframe_size`` = ``(width,
    height)``), behind the camera (the inverse lands on the far side of the horizon), or
    the homography is unusable.  Only the ground plane the homography describes is
    inverted: a roof or tower top is not where its ground footprint is.
    """
    h = np.asarray(homography, np.float64)
    if h.size != 9 or not np.all(np.isfinite(h)):
        return None
    h = h.reshape(3, 3)
    try:
        inv = np.linalg.inv(h)
    except np.linalg.LinAlgError:
        return None
    txy = lonlat_to_tile_px(transform, crs, [list(lonlat)])[0]
    if not np.all(np.isfinite(txy)):
        return None
    p = inv @ np.array([txy[0], txy[1], 1.0])
    w, hgt = keyframe_size
    # the keyframe's own pixels map forward with one sign of w; the other side of the
    # horizon has the opposite sign
    w_centre = float((h @ np.array([w / 2.0, hgt / 2.0, 1.0]))[2])
    if abs(p[2]) < 1e-12 or np.sign(p[2]) != np.sign(w_centre):
        return None
    x, y = float(p[0] / p[2]), float(p[1] / p[2])
    if not (-0.5 <= x < w - 0.5 and -0.5 <= y < hgt - 0.5):
        return None
    return x, y
