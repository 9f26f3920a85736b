"""The imagery stage's types: :class:`Tile` (one catalogued georeferenced raster,
metadata only) and :class:`TileImage` (pixels of a raster window at some scale).

Pixel convention: ``(x, y)`` = (col, row) of the level-0 (full resolution) grid,
centre of the top-left pixel at ``(0, 0)``; the affine ``Tile.transform`` maps pixel
*corners*, so pixel ``(x, y)`` is at ``transform * (x + 0.5, y + 0.5)`` in
``Tile.crs_wkt``.  Geographic coordinates are WGS84 (EPSG:4326), lon/lat order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rasterio.transform import Affine

from workbench.geo import lonlat_to_crs, tile_px_to_lonlat
from workbench.imagery import meta
from workbench.results import TileRef

__all__ = ["Tile", "TileImage"]


@dataclass(frozen=True)
class Tile:
    """One catalogued georeferenced raster (metadata only; no pixels held).

    ``transform``: rasterio affine of overview level 0 mapping pixel *corners* to
    ``crs_wkt`` coordinates (may be rotated/sheared).  ``gsd_m``: geodesic metres per
    level-0 pixel at the raster centre, mean of the x and y steps.  ``footprint``:
    closed WGS84 ``[[lon, lat], ...]`` ring of the outline (densified, so exact for
    rotated grids); ``bounds_lonlat``: its ``(W, S, E, N)`` in degrees.
    ``acquired``: ISO 8601 date(-time) text from metadata, a JSON sidecar or the file
    name, else ``None``; ``acquired_source`` says where it came from (e.g.
    ``"tag:TIFFTAG_DATETIME"`` which is often the processing date, or ``"filename"``).
    ``has_alpha``: GDAL reports an alpha band (a 4th band that is all 0/255 but not
    flagged as alpha is detected at first read, see :mod:`workbench.imagery.read`).
    """

    path: Path
    driver: str
    crs_wkt: str
    transform: Affine
    width: int
    height: int
    count: int
    dtype: str
    nodata: float | None
    has_alpha: bool
    gsd_m: float
    footprint: list[list[float]] = field(hash=False)  # lists are unhashable; Tile stays hashable
    bounds_lonlat: tuple[float, float, float, float]
    acquired: str | None
    attribution: str | None
    acquired_source: str | None = None
    attribution_source: str | None = None
    crs_name: str = ""  # short label, e.g. "EPSG:32750", for display
    gsd_xy_m: tuple[float, float] = (0.0, 0.0)  # metres per pixel along columns, rows
    overviews: tuple[int, ...] = ()  # decimation factors of band 1's overviews
    colorinterp: tuple[str, ...] = ()  # GDAL colour interpretation per band
    files: tuple[str, ...] = field(default=(), compare=False)  # sidecars GDAL used

    def px_to_lonlat(self, xy: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
        """Level-0 pixel centres ``(N, 2)`` (x=col, y=row) -> WGS84 ``(N, 2)`` float64 lon/lat."""
        return tile_px_to_lonlat(self.transform, self.crs_wkt, xy, require_finite=True)

    def lonlat_to_px(self, lonlat: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
        """WGS84 ``(N, 2)`` lon/lat -> level-0 pixel ``(N, 2)`` float64 (x=col, y=row, centre 0).

        Points the CRS cannot represent come back as ``nan``; points outside the raster
        are returned unclipped (check ``0 <= x < width`` yourself).
        """
        pts = np.asarray(lonlat, dtype=np.float64).reshape(-1, 2)
        xs, ys = lonlat_to_crs(self.crs_wkt, pts[:, 0], pts[:, 1])
        col, row = meta.inverse_affine(self.transform, xs, ys)
        out = np.stack([np.asarray(col, float) - 0.5, np.asarray(row, float) - 0.5], axis=1)
        out[~np.isfinite(out).all(axis=1)] = np.nan
        return out

    def contains_lonlat(self, lon: float, lat: float) -> bool:
        """True if the WGS84 point falls on the raster (level-0 pixel grid)."""
        x, y = self.lonlat_to_px([[lon, lat]])[0]
        return bool(-0.5 <= x < self.width - 0.5 and -0.5 <= y < self.height - 0.5)

    def window_around(
        self, lon: float, lat: float, radius_m: float
    ) -> tuple[float, float, float, float] | None:
        """Level-0 window ``(col_off, row_off, width, height)`` (pixel corners) of the square
        of half-side ``radius_m`` metres centred on the WGS84 point, for :func:`read_tile`.

        Not clipped to the raster (``read_tile`` marks the outside invalid); ``None`` if
        the point cannot be expressed in the raster's CRS or ``radius_m`` is not positive.
        """
        if not (math.isfinite(radius_m) and radius_m > 0):
            return None
        x, y = self.lonlat_to_px([[lon, lat]])[0]
        if not (math.isfinite(x) and math.isfinite(y)):
            return None
        hx, hy = radius_m / self.gsd_xy_m[0], radius_m / self.gsd_xy_m[1]
        return (x + 0.5 - hx, y + 0.5 - hy, 2 * hx, 2 * hy)

    def to_ref(self, sha256: str = "") -> TileRef:
        """The :class:`~workbench.results.TileRef` stored in ``locate.json``."""
        t = self.transform
        return TileRef(
            path=str(self.path),
            sha256=sha256,
            crs=self.crs_wkt,
            transform=(t.a, t.b, t.c, t.d, t.e, t.f),
            width=self.width,
            height=self.height,
            gsd_m=self.gsd_m,
            footprint=[list(p) for p in self.footprint],
            acquired=self.acquired,
            attribution=self.attribution,
        )


@dataclass
class TileImage:
    """Pixels of a raster window at some scale.

    ``image``: ``(h, w, 3) uint8`` BGR.  ``valid``: ``(h, w) bool``, False on nodata,
    alpha 0, masked or non-finite data and outside the raster.  ``scale``: level-0
    pixels per output pixel (> 1 = reduced).  ``col_off``/``row_off``: level-0 pixel
    *corner* coordinates of the output's top-left corner (the requested window's
    offset).  Mapping, pixel-centre convention on both sides (centre of the top-left
    pixel at 0)::

        level0_x = (out_x + 0.5) * scale - 0.5 + col_off
        level0_y = (out_y + 0.5) * scale_y - 0.5 + row_off

    ``scale_y`` equals ``scale`` unless ``read_tile(square_pixels=True)`` made the
    output pixels square on the ground (geographic rasters: a degree of longitude is
    shorter than one of latitude).  Use :meth:`to_level0` / :meth:`from_level0`
    rather than re-deriving it.
    """

    image: np.ndarray
    valid: np.ndarray
    scale: float
    col_off: float
    row_off: float
    scale_y: float = 0.0  # 0 = same as ``scale`` (set in __post_init__)

    def __post_init__(self) -> None:
        if not self.scale_y:
            self.scale_y = self.scale

    def to_level0(self, xy: np.ndarray) -> np.ndarray:
        """Output pixels ``(N, 2)`` -> level-0 pixels ``(N, 2)`` float64 (x=col, y=row)."""
        pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        off = np.array([self.col_off, self.row_off])
        return (pts + 0.5) * np.array([self.scale, self.scale_y]) - 0.5 + off

    def from_level0(self, xy: np.ndarray) -> np.ndarray:
        """Level-0 pixels ``(N, 2)`` -> output pixels ``(N, 2)`` float64."""
        pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        off = np.array([self.col_off, self.row_off])
        return (pts - off + 0.5) / np.array([self.scale, self.scale_y]) - 0.5
