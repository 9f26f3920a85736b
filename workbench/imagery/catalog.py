"""Tile catalog: every georeferenced raster GDAL reads, described in WGS84 without reading pixels.

``TileCatalog.from_paths`` accepts files and folders (searched recursively, in a
deterministic sorted order) holding GeoTIFF/COG, VRT, JPEG/PNG/WebP/JP2 with a world
file, MBTiles, GeoPackage rasters, ERDAS .img, NITF, and GDAL WMS/XYZ XML
descriptions.  Any CRS pyproj can transform to WGS84 works (geographic, Web
Mercator, UTM, custom WKT).  Unusable files (not georeferenced, corrupt, truncated,
unknown CRS, ...) are skipped with a warning naming the file, kept in
``catalog.warnings`` and logged (when nothing is usable, the ``NoUsableTilesError``
carries the first reason and the warnings are logged at INFO level only).

World files: a ``.tfw/.pgw/.jgw/.wld`` gives a geotransform but no CRS.  Such a
raster is used only when a CRS is also given by a ``.prj`` beside it (``name.prj``
or ``name.png.prj``) or by GDAL's ``name.png.aux.xml``; otherwise it is skipped with
a warning (guessing a CRS would silently misplace findings).

Pixel reads live in :mod:`workbench.raster_io` (re-exported here): ``read_tile``,
``TileImage``, ``iter_windows``; band handling in :mod:`workbench.raster_bands`;
folder search, integrity checks and hashing in :mod:`workbench.raster_files`;
footprints, GSD and date/credit parsing in :mod:`workbench.raster_meta`.

Pixel convention: ``(x, y)`` = (col, row) of the level-0 (full resolution) grid,
centre of the top-left pixel at ``(0, 0)``; the affine ``Tile.transform`` maps pixel
*corners*, so pixel ``(x, y)`` is at ``transform * (x + 0.5, y + 0.5)`` in
``Tile.crs_wkt``.

Threads: a :class:`Tile` is an immutable, hashable description, safe to share;
rasterio datasets are not thread-safe, so every read opens its own dataset.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rasterio.transform import Affine

from workbench.errors import (
    CRSError,
    NotGeoreferencedError,
    NoUsableTilesError,
    RasterError,
    RasterOpenError,
    UsageError,
)
from workbench.geo import lonlat_to_crs, tile_px_to_lonlat
from workbench.imagery import files as files_mod
from workbench.imagery import meta
from workbench.imagery.files import RASTER_SUFFIXES
from workbench.imagery.read import TileImage, iter_windows, open_raster, read_tile
from workbench.progress import CancelToken, ProgressCallback, check_cancel, report
from workbench.results import TileRef

__all__ = [
    "RASTER_SUFFIXES",
    "Tile",
    "TileCatalog",
    "TileImage",
    "catalog_file",
    "iter_windows",
    "read_tile",
    "tile_files",
]

log = logging.getLogger(__name__)

_SUPPORTED_DTYPES = frozenset({
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64",
})
_TIFF_DRIVERS = frozenset({"GTiff", "COG"})


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
    flagged as alpha is detected at first read, see :mod:`workbench.raster_io`).
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
class TileCatalog:
    """The usable rasters (sorted, deduplicated) and one warning line per skipped file."""

    tiles: list[Tile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.tiles)

    def __iter__(self) -> Iterator[Tile]:
        return iter(self.tiles)

    @classmethod
    def from_paths(
        cls,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> TileCatalog:
        """Catalogue every raster in ``paths`` (files, or folders searched recursively).

        Reads metadata only (no pixels).  Order is deterministic: arguments in the
        given order, each folder's files sorted by path; a file reached twice is
        listed once.

        Raises:
            UsageError: ``paths`` is empty.
            RasterOpenError: a given path does not exist.
            NoUsableTilesError: nothing usable remains (message names the path(s)).
            Cancelled: ``cancel`` was set.
        """
        if isinstance(paths, str | os.PathLike):
            paths = [paths]
        given = [Path(p) for p in paths]
        if not given:
            raise UsageError("no tile paths given (pass raster files or folders)")
        for p in given:
            if not p.exists():
                raise RasterOpenError("no such file or folder", p)
        files: list[Path] = []
        seen: set[Path] = set()
        for p in given:
            for f in files_mod.discover(p):
                key = f.resolve()
                if key not in seen:
                    seen.add(key)
                    files.append(f)
        catalog = cls()
        for i, f in enumerate(files):
            check_cancel(cancel)
            report(progress, "cataloguing tiles", i / max(1, len(files)))
            try:
                catalog.tiles.append(catalog_file(f))
            except RasterError as exc:
                catalog._warn(f"skipped {exc}")
            except Exception as exc:  # GDAL/driver oddities on untrusted files: skip, never crash
                log.debug("unexpected error cataloguing %s", f, exc_info=True)
                reason = " ".join(str(exc).split())[:200]
                catalog._warn(f"skipped {f}: unreadable metadata ({type(exc).__name__}: {reason})")
        report(progress, "cataloguing tiles", 1.0)
        if not catalog.tiles:
            # the error below is the one line the user sees: it carries the (first) reason,
            # so the per-file warnings are only logged at INFO level (not said twice)
            for w in catalog.warnings:
                log.info("%s", w)
            where = given[0] if len(given) == 1 else None
            if not files:
                raise NoUsableTilesError("no raster files found", where)
            detail = f" ({catalog.warnings[0]})"
            if len(files) > 1:
                detail = f" (first: {catalog.warnings[0]}; {len(files) - 1} more skipped)"
            elif where is not None and where.is_file():
                detail = f" ({catalog.warnings[0].split(': ', 1)[-1]})"
            raise NoUsableTilesError(
                f"no usable georeferenced raster among {len(files)} file(s){detail}", where
            )
        for w in catalog.warnings:
            log.warning("%s", w)
        return catalog

    def _warn(self, message: str) -> None:
        self.warnings.append(message)

    def covering(self, lon: float, lat: float) -> list[Tile]:
        """Tiles whose level-0 grid contains the WGS84 point."""
        return [t for t in self.tiles if t.contains_lonlat(lon, lat)]

    def intersecting(self, west: float, south: float, east: float, north: float) -> list[Tile]:
        """Tiles whose WGS84 bounds overlap the box (degrees; a coarse, bounds-only test)."""
        return [
            t for t in self.tiles
            if t.bounds_lonlat[0] <= east and t.bounds_lonlat[2] >= west
            and t.bounds_lonlat[1] <= north and t.bounds_lonlat[3] >= south
        ]


def catalog_file(path: str | os.PathLike[str]) -> Tile:
    """Describe one raster (metadata only).

    Raises:
        RasterOpenError: GDAL cannot open it, it is truncated, empty, or of an
            unsupported pixel type.
        NotGeoreferencedError: no geotransform, GCP-only, or no CRS.
        CRSError: CRS unknown or not transformable to WGS84.
    """
    p = Path(path)
    with open_raster(p) as ds:
        if ds.count == 0:
            subs = len(ds.subdatasets)
            if subs:
                raise RasterOpenError(
                    f"holds {subs} sub-datasets (e.g. {ds.subdatasets[0]}), which are not"
                    " supported; export one with gdal_translate",
                    p,
                )
            raise RasterOpenError("has no raster bands", p)
        dtype = str(ds.dtypes[0])
        if dtype not in _SUPPORTED_DTYPES:
            raise RasterOpenError(f"unsupported pixel type {dtype}", p)
        transform = ds.transform
        if transform.is_identity or abs(transform.determinant) < 1e-300:
            if ds.gcps[0]:
                raise NotGeoreferencedError(
                    "georeferenced by ground control points only; warp it first (gdalwarp)", p
                )
            if getattr(ds, "rpcs", None):
                raise NotGeoreferencedError(
                    "has satellite RPCs but no geotransform; orthorectify it first"
                    " (gdalwarp -rpc)",
                    p,
                )
            raise NotGeoreferencedError(
                "not georeferenced (no geotransform; add a world file and .prj, or use a GeoTIFF)",
                p,
            )
        if ds.crs is not None and ds.crs.to_wkt():
            crs_wkt = ds.crs.to_wkt()
            epsg = ds.crs.to_epsg()
            crs_name = f"EPSG:{epsg}" if epsg else "custom"
        else:
            prj = meta.read_prj(p)
            if prj is None:
                raise NotGeoreferencedError(
                    "has a geotransform (world file?) but no CRS; add a .prj or .aux.xml", p
                )
            crs_wkt, crs_name = prj, "from .prj"
        try:
            footprint = meta.footprint_lonlat(crs_wkt, transform, ds.width, ds.height)
            gx, gy = meta.ground_sample_distance(crs_wkt, transform, ds.width, ds.height)
        except CRSError as exc:
            raise CRSError(exc.message, p) from exc
        if ds.driver in _TIFF_DRIVERS:
            files_mod.check_tiff_complete(ds, p)
        if ds.driver == "VRT":
            files_mod.check_vrt_sources(ds, p)
        tags = _all_tags(ds)
        side, side_name = meta.read_sidecar(p)
        sources = [*tags, *([(f"sidecar:{side_name}", side)] if side_name else [])]
        acquired, acquired_src = meta.pick(sources, meta.DATE_KEYS, meta.normalise_date)
        if acquired is None and (fn_date := meta.date_from_filename(p)):
            acquired, acquired_src = fn_date, "filename"
        attribution, attribution_src = meta.pick(sources, meta.ATTRIBUTION_KEYS, meta.clean_credit)
        colorinterp = tuple(ci.name for ci in ds.colorinterp)
        lons = [q[0] for q in footprint]
        lats = [q[1] for q in footprint]
        try:
            files = tuple(os.path.abspath(f) for f in ds.files)
        except Exception:  # some drivers (WMS) have no file list
            files = ()
        return Tile(
            path=p,
            driver=str(ds.driver),
            crs_wkt=crs_wkt,
            transform=transform,
            width=int(ds.width),
            height=int(ds.height),
            count=int(ds.count),
            dtype=dtype,
            nodata=None if ds.nodata is None else float(ds.nodata),
            has_alpha="alpha" in colorinterp,
            gsd_m=(gx + gy) / 2.0,
            footprint=footprint,
            bounds_lonlat=(min(lons), min(lats), max(lons), max(lats)),
            acquired=acquired,
            attribution=attribution,
            acquired_source=acquired_src,
            attribution_source=attribution_src,
            crs_name=str(crs_name or "custom"),
            gsd_xy_m=(gx, gy),
            overviews=tuple(int(f) for f in ds.overviews(1)),
            colorinterp=colorinterp,
            files=files,
        )


def _all_tags(ds: Any) -> list[tuple[str, dict[str, str]]]:
    """Metadata domains worth searching for dates and credits, best first."""
    out: list[tuple[str, dict[str, str]]] = []
    for ns, label in (("IMAGERY", "imagery"), (None, "tag")):
        try:
            tags = ds.tags(ns=ns) if ns else ds.tags()
        except Exception:  # a driver without that domain
            continue
        if tags:
            out.append((label, dict(tags)))
    try:
        band = ds.tags(1)
    except Exception:
        band = {}
    if band:
        out.append(("band1", dict(band)))
    return out


def tile_files(tile: Tile | str | os.PathLike[str]) -> list[Path]:
    """The raster file and every sidecar that affects it (world file, .prj, .aux.xml, .ovr,
    JSON metadata, VRT sources), sorted, existing files only; hash these for evidence."""
    p = tile.path if isinstance(tile, Tile) else Path(tile)
    names = {Path(f) for f in (tile.files if isinstance(tile, Tile) else ())}
    names.add(p)
    stem = p.name[: -len(p.suffix)] if p.suffix else p.name
    for extra in (p.with_suffix(".prj"), p.with_name(p.name + ".prj"), *(
        p.with_name(stem + s) for s in meta.SIDECAR_SUFFIXES
    )):
        names.add(extra)
    return sorted((f for f in names if f.is_file()), key=str)
