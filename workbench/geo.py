"""Coordinates: keyframe pixel -> ground position, and how to write a position down.

Pixel convention: ``(x, y)`` with the centre of the top-left pixel at ``(0, 0)``
(see :mod:`workbench.results`).  A rasterio affine maps pixel *corners*, so a tile
pixel ``(x, y)`` sits at CRS ``transform * (x + 0.5, y + 0.5)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from pyproj import CRS, Transformer

from workbench.errors import CRSError, one_line

EARTH_RADIUS_M = 6_371_008.8


@lru_cache(maxsize=64)
def wgs84_transformer(crs: str, inverse: bool) -> Transformer:
    """The (cached) ``always_xy`` transformer from ``crs`` (WKT, ``EPSG:n``...) to WGS84
    lon/lat, or from WGS84 to ``crs`` when ``inverse``.

    Raises:
        CRSError: the CRS is unknown or cannot be transformed to WGS84 (e.g. a local grid).
    """
    try:
        src = CRS.from_user_input(crs)
    except Exception as exc:  # pyproj.exceptions.CRSError is a plain Exception
        raise CRSError(f"unknown CRS ({one_line(exc)})") from exc
    wgs84 = CRS.from_epsg(4326)
    try:
        if inverse:
            return Transformer.from_crs(wgs84, src, always_xy=True)
        return Transformer.from_crs(src, wgs84, always_xy=True)
    except Exception as exc:  # pyproj.exceptions.ProjError: e.g. a LOCAL_CS site grid
        name = src.name or "unnamed"
        raise CRSError(f"CRS {name!r} cannot be transformed to WGS84 ({one_line(exc)})") from exc


def crs_to_lonlat(crs: str, xs: np.ndarray, ys: np.ndarray, *, require_finite: bool = False
                  ) -> tuple[np.ndarray, np.ndarray]:
    """CRS coordinates (any shape, float64) -> WGS84 ``(lon, lat)`` degrees: the one
    CRS -> lon/lat of the project.  Points that cannot be transformed come back as inf/NaN,
    or raise ``CRSError`` when ``require_finite``.

    Raises:
        CRSError: unknown CRS, no transformation to WGS84, or (``require_finite``) a
            point outside the CRS's domain.
    """
    try:
        lon, lat = wgs84_transformer(crs, False).transform(
            np.asarray(xs, float), np.asarray(ys, float), errcheck=False)
    except CRSError:
        raise
    except Exception as exc:  # pyproj.exceptions.ProjError
        raise CRSError(f"coordinates cannot be transformed to WGS84 ({one_line(exc)})") from exc
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    if require_finite and not (np.all(np.isfinite(lon)) and np.all(np.isfinite(lat))):
        raise CRSError("coordinates cannot be transformed to WGS84 (unknown CRS or bad extent)")
    return lon, lat


def lonlat_to_crs(crs: str, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 ``(lon, lat)`` (any shape) -> CRS coordinates (float64; inf where undefined).

    Raises:
        CRSError: unknown CRS or no transformation from WGS84.
    """
    try:
        x, y = wgs84_transformer(crs, True).transform(
            np.asarray(lon, float), np.asarray(lat, float), errcheck=False)
    except CRSError:
        raise
    except Exception as exc:  # pyproj.exceptions.ProjError
        raise CRSError(f"coordinates cannot be transformed from WGS84 ({one_line(exc)})") from exc
    return np.asarray(x, float), np.asarray(y, float)


def apply_homography(h: np.ndarray | Sequence[Sequence[float]], xy: np.ndarray) -> np.ndarray:
    """Map ``(N, 2)`` float64 points through a 3x3 homography; returns ``(N, 2)``."""
    hm = np.asarray(h, dtype=np.float64).reshape(3, 3)
    pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    ph = np.hstack([pts, np.ones((len(pts), 1))]) @ hm.T
    w = ph[:, 2:3]
    w = np.where(np.abs(w) < 1e-12, np.nan, w)
    return ph[:, :2] / w


def tile_px_to_lonlat(
    transform: Sequence[float], crs: str, xy: np.ndarray | Sequence[Sequence[float]], *,
    require_finite: bool = False,
) -> np.ndarray:
    """Tile pixel centres ``(N, 2)`` (x=col, y=row) -> WGS84 ``(N, 2)`` float64 lon/lat.

    ``transform``: the first 6 terms ``(a, b, c, d, e, f)`` of the rasterio affine
    (pixel corners; an ``Affine`` works); ``require_finite`` as :func:`crs_to_lonlat`.
    """
    a, b, c, d, e, f = (float(v) for v in tuple(transform)[:6])
    pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    col, row = pts[:, 0] + 0.5, pts[:, 1] + 0.5
    cx, cy = a * col + b * row + c, d * col + e * row + f
    lon, lat = crs_to_lonlat(crs, cx, cy, require_finite=require_finite)
    return np.stack([lon, lat], axis=1)


def lonlat_to_tile_px(
    transform: Sequence[float], crs: str, lonlat: np.ndarray | Sequence[Sequence[float]],
) -> np.ndarray:
    """WGS84 ``(N, 2)`` lon/lat -> tile pixel centres ``(N, 2)`` float64 (x=col, y=row):
    the inverse of :func:`tile_px_to_lonlat`.  NaN where the CRS cannot represent a point
    (or the affine is singular); points off the raster are returned unclipped."""
    a, b, c, d, e, f = (float(v) for v in tuple(transform)[:6])
    pts = np.asarray(lonlat, dtype=np.float64).reshape(-1, 2)
    xs, ys = lonlat_to_crs(crs, pts[:, 0], pts[:, 1])
    det = a * e - b * d
    if abs(det) < 1e-300:
        return np.full((len(pts), 2), np.nan)
    dx, dy = xs - c, ys - f
    col, row = (e * dx - b * dy) / det, (-d * dx + a * dy) / det
    out = np.stack([col - 0.5, row - 0.5], axis=1)
    out[~np.isfinite(out).all(axis=1)] = np.nan
    return out


def grid_north_deg(transform: Sequence[float], crs: str, xy: Sequence[float]) -> float:
    """Direction of true north in the tile's pixel grid at tile pixel ``xy``, in degrees
    clockwise from the image's "up" (-y): ~0 for a north-up raster, the grid convergence
    for a projected one, 90 for a raster rotated so that north points right.  NaN where
    it cannot be computed (a pole, a point outside the CRS)."""
    here = tile_px_to_lonlat(transform, crs, [list(xy)])[0]
    if not np.all(np.isfinite(here)):
        return math.nan
    step = 1e-5 if abs(here[1]) < 89.9 else -1e-5  # ~1 m towards the (near) pole
    north = lonlat_to_tile_px(transform, crs, [[here[0], here[1] + step]])[0]
    v = north - np.asarray(xy, float) if step > 0 else np.asarray(xy, float) - north
    if not np.all(np.isfinite(v)) or not np.any(v):
        return math.nan
    return math.degrees(math.atan2(float(v[0]), float(-v[1]))) % 360.0


def keyframe_px_to_lonlat(
    homography: np.ndarray | Sequence[Sequence[float]],
    transform: Sequence[float],
    crs: str,
    xy: np.ndarray,
) -> np.ndarray:
    """Keyframe pixels ``(N, 2)`` -> WGS84 ``(N, 2)`` lon/lat via homography and tile grid."""
    return tile_px_to_lonlat(transform, crs, apply_homography(homography, xy))


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two WGS84 points (spherical Earth)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def format_metres(value: float | None) -> str:
    """A distance or radius for people: ``0.3 m`` / ``6.0 m`` / ``12 m`` / ``1.2 km``, never
    "0 m"; ``unknown`` for ``None`` (a NaN/inf stored as JSON null) or a non-finite value.
    The one metres formatter of the project (CLI, reports, app)."""
    if value is None:
        return "unknown"
    v = abs(float(value))
    if not math.isfinite(v):
        return "unknown"
    if v >= 1000:
        return f"{v / 1000:.1f} km"
    if v < 10:
        return f"{max(v, 0.1):.1f} m"
    return f"{v:.0f} m"


def format_uncertainty(metres: float | None) -> str:
    """``"±0.3 m"`` / ``"±6.0 m"`` / ``"±12 m"`` (:func:`format_metres`), or ``"not
    estimated"`` when there is no positive radius (``None``: a NaN stored as JSON null)."""
    if metres is None or not (math.isfinite(metres) and metres > 0):
        return "not estimated"
    return f"±{format_metres(metres)}"


def format_dms(lat: float, lon: float, decimals: int = 2) -> str:
    """``49°50'12.34"N 24°01'56.78"E`` style degrees-minutes-seconds."""

    def one(value: float, pos: str, neg: str) -> str:
        hemi = pos if value >= 0 else neg
        v = abs(value)
        deg = int(v)
        minutes_f = (v - deg) * 60
        minutes = int(minutes_f)
        seconds = round((minutes_f - minutes) * 60, decimals)
        if seconds >= 60:
            seconds -= 60
            minutes += 1
        if minutes >= 60:
            minutes -= 60
            deg += 1
        return f"{deg}°{minutes:02d}'{seconds:0{3 + decimals}.{decimals}f}\"{hemi}"

    return f"{one(lat, 'N', 'S')} {one(lon, 'E', 'W')}"


def format_mgrs(lat: float, lon: float, precision: int = 5) -> str:
    """MGRS grid reference (1 m at ``precision=5``); ``""`` near the poles (UPS not supported)."""
    import mgrs  # small C extension; imported lazily

    if not -80.0 <= lat <= 84.0:
        return ""
    ref = mgrs.MGRS().toMGRS(lat, lon, MGRSPrecision=precision)
    text = ref.decode() if isinstance(ref, bytes) else str(ref)
    # "36UUA1234567890" -> "36U UA 12345 67890" (the usual spaced form)
    zone_len = 3 if text[2].isalpha() else 2
    zone, square, digits = text[:zone_len], text[zone_len : zone_len + 2], text[zone_len + 2 :]
    half = len(digits) // 2
    return f"{zone} {square} {digits[:half]} {digits[half:]}".strip()
