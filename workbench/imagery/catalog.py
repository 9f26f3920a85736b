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

The types (:class:`~workbench.imagery.model.Tile`, ``TileImage``) live in
:mod:`workbench.imagery.model`; pixel reads in :mod:`workbench.imagery.read`
(re-exported here): ``read_tile``, ``iter_windows``; band handling in
:mod:`workbench.imagery.bands`; folder search, integrity checks and hashing in
:mod:`workbench.imagery.files`; footprints, GSD and date/credit parsing in
:mod:`workbench.imagery.meta`.

Pixel convention: ``(x, y)`` = (col, row) of the level-0 (full resolution) grid,
centre of the top-left pixel at ``(0, 0)``; the affine ``Tile.transform`` maps pixel
*corners*, so pixel ``(x, y)`` is at ``transform * (x + 0.5, y + 0.5)`` in
``Tile.crs_wkt``.

Threads: a :class:`Tile` is an immutable, hashable description, safe to share;
rasterio datasets are not thread-safe, so every read opens its own dataset.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import (
    CRSError,
    NotGeoreferencedError,
    NoUsableTilesError,
    RasterError,
    RasterOpenError,
    UsageError,
)
from workbench.imagery import files as files_mod
from workbench.imagery import meta
from workbench.imagery.files import RASTER_SUFFIXES
from workbench.imagery.model import Tile, TileImage
from workbench.imagery.read import iter_windows, open_raster, read_tile
from workbench.progress import CancelToken, ProgressCallback, check_cancel, report

__all__ = [
    "RASTER_SUFFIXES",
    "Tile",
    "TileCatalog",
    "TileImage",
    "catalog_file",
    "iter_windows",
    "pixel_files",
    "read_tile",
    "tile_files",
]

log = logging.getLogger(__name__)

_SUPPORTED_DTYPES = frozenset({
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64",
})
_TIFF_DRIVERS = frozenset({"GTiff", "COG"})


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
        files_mod.check_declared_size(ds, p)  # before anything is sized from the header
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


_MAX_VRT_DEPTH = 8  # VRTs inside VRTs deeper than this are not followed


def pixel_files(raster: str | os.PathLike[str], *, members: bool = True,
                memo: dict[Path, tuple[set[Path], bool]] | None = None) -> list[Path]:
    """Every file the pixels or georeference of ``raster`` come from, resolved, sorted,
    ``raster`` itself included: :func:`tile_files` plus GDAL's own list (``.aux.xml``,
    ``.ovr``, VRT members) and, with ``members``, the same for each member of a VRT, down
    through nested VRTs (GDAL reads a member's overviews and ``.aux.xml`` through the
    mosaic, so they are part of what was seen).  A member GDAL cannot open is listed,
    not followed.  ``memo``: each file's own list, kept between calls by a caller that
    lists many windows of one mosaic within a job (never for evidence, which must see
    the files as they are now).

    Raises:
        RasterOpenError: ``raster`` itself cannot be opened.
    """
    root = Path(raster)
    memo = {} if memo is None else memo
    seen: set[Path] = set()
    todo = [(root, 0)]
    while todo:
        path, depth = todo.pop()
        key = path.resolve()
        if key not in memo:
            found = set(tile_files(path))
            try:
                with open_raster(path) as ds:
                    found.update(Path(f) for f in (ds.files or []) if Path(f).is_file())
                    is_vrt = ds.driver == "VRT"
            except RasterError:
                if path is root:
                    raise
                is_vrt = False
            memo[key] = ({f.resolve() for f in found}, is_vrt)
        found_here, is_vrt = memo[key]
        for r in found_here:
            if r not in seen:
                seen.add(r)
                if members and is_vrt and depth < _MAX_VRT_DEPTH and r != key:
                    todo.append((r, depth + 1))
    return sorted(seen, key=str)
