"""Block grids over a raster and the description of one block.

:func:`describe_block` is a pure function of a :class:`BlockSpec` (it opens its own
dataset through :func:`workbench.imagery.read.read_tile`, reads only the block's
window at the level's ground resolution, from overviews when coarser): blocks can be
described in any order, on any thread or worker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from pyproj import CRS

from workbench.imagery.catalog import Tile
from workbench.imagery.read import read_tile
from workbench.index.model import IndexConfig, IndexCRSError, LevelGrid
from workbench.match.features import Features, detect, normalise, to_grey


def check_metric_crs(tile: Tile) -> None:
    """Refuse a raster whose CRS has no length unit convertible to metres.

    Geographic CRSs (degrees) are accepted: their ground resolution is geodesic.

    Raises:
        IndexCRSError: naming the file and the CRS's axis unit.
    """
    try:
        crs = CRS.from_user_input(tile.crs_wkt)
    except Exception as exc:  # pyproj's CRSError is a plain Exception
        raise IndexCRSError(f"unreadable CRS ({exc})", tile.path) from exc
    if crs.is_geographic:
        return
    axes = crs.axis_info
    unit = axes[0].unit_name if axes else "none"
    factor = axes[0].unit_conversion_factor if axes else float("nan")
    name = unit.lower()
    metric = (
        bool(axes) and math.isfinite(factor) and factor > 0 and not crs.is_engineering
        and name not in ("unknown", "", "none")
        and not any(w in name for w in ("degree", "radian", "grad", "arc"))
    )
    if not metric:
        raise IndexCRSError(
            f"CRS {crs.name!r} has no metre unit (axis unit {unit!r}); reproject the raster"
            " to a projected or geographic CRS first (e.g. gdalwarp -t_srs EPSG:32636)",
            tile.path,
        )


def level_grids(tile: Tile, cfg: IndexConfig) -> list[LevelGrid]:
    """The block grids of ``tile``: its ``levels_per_raster`` finest usable levels (its own
    resolution first when the finest level is over ``max_detail_loss`` times coarser)."""
    usable = [lv for lv in cfg.levels_m if lv >= tile.gsd_m * cfg.native_tolerance]
    if not usable:  # imagery coarser than every level: index it at its own resolution
        usable = [tile.gsd_m]
    elif usable[0] > cfg.max_detail_loss * tile.gsd_m:
        # imagery much finer than the finest level (0.3 m vs 1 m): close-up footage
        # covering a few tens of metres would be a few dozen pixels there; describe the
        # raster at its own resolution first
        usable = [tile.gsd_m, *usable]
    grids = []
    for level in usable[: cfg.levels_per_raster]:
        scale = level / tile.gsd_m
        size = cfg.block_px * scale
        grids.append(LevelGrid(level, scale, size, tuple(_starts(tile.width, size, cfg.overlap)),
                               tuple(_starts(tile.height, size, cfg.overlap))))
    return grids


def _starts(length: int, size: float, overlap: float) -> list[float]:
    """Whole-pixel block starts covering ``[0, length)``, neighbours sharing >= ``overlap``."""
    if size >= length:
        return [0.0]
    step = max(1.0, size * (1.0 - overlap))
    n = math.ceil((length - size) / step - 1e-9) + 1
    return sorted({float(round(v)) for v in np.linspace(0.0, length - size, n)})


@dataclass(frozen=True)
class BlockSpec:
    """One block to describe: the raster (catalogued), its level-0 window and level."""

    tile: Tile
    window: tuple[float, float, float, float]
    level_m: float
    max_features: int


@dataclass
class BlockFeatures:
    """Features of one block: ``feats.xy`` in working px of the block read at
    ``level_m`` (``scale`` level-0 px per working px, origin at the window's corner);
    ``valid_px``: count of valid working pixels (0 = nodata only)."""

    feats: Features
    scale: float
    valid_px: int
    shape: tuple[int, int]


def describe_block(spec: BlockSpec) -> BlockFeatures:
    """Read the block's window at its level (overviews used) and describe it (RootSIFT).

    Raises:
        RasterOpenError: the raster cannot be read (naming the file).
    """
    timg = read_tile(spec.tile, window=spec.window, gsd_m=spec.level_m)
    valid = np.asarray(timg.valid, bool)
    n_valid = int(valid.sum())
    shape = (int(valid.shape[0]), int(valid.shape[1]))
    if n_valid < 256:
        return BlockFeatures(Features.empty(), float(timg.scale), n_valid, shape)
    grey = to_grey(timg.image)
    mask = cv2.erode(valid.astype(np.uint8) * 255, np.ones((5, 5), np.uint8))
    feats = detect(normalise(grey, valid), mask, max_features=spec.max_features)
    return BlockFeatures(feats, float(timg.scale), n_valid, shape)


def tile_area_km2(tile: Tile) -> float:
    """Ground area of the raster's level-0 grid in km² (``gsd_xy_m`` x pixel counts)."""
    gx, gy = tile.gsd_xy_m
    return float(tile.width * gx * tile.height * gy / 1e6)


def resolved(path: Path) -> str:
    """The absolute, symlink-resolved path text recorded in the manifest."""
    return str(Path(path).resolve())
