"""A raster's footprint and a small preview image, for an overview map.

:func:`footprint_preview` reads the whole raster at a few hundred pixels across (GDAL
picks the raster's own overviews, so a 40 000 px orthophoto costs no more than a
thumbnail) and returns it with where its corners lie on the ground, so a map can draw
it without doing any pixel maths.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.errors import UsageError
from workbench.imagery.catalog import catalog_file
from workbench.imagery.model import Tile
from workbench.imagery.read import read_tile

DEFAULT_PREVIEW_PX = 256


@dataclass(frozen=True)
class FootprintPreview:
    """A raster seen from far away.

    ``footprint``: closed WGS84 ``[[lon, lat], ...]`` ring of the raster's outline
    (densified: exact for rotated grids).  ``image``: ``(h, w, 3) uint8`` BGR of the
    whole raster, at most ``max_px`` on its longer side.  ``valid``: ``(h, w) bool``
    (False on nodata / alpha 0).  ``corners_lonlat``: ``(4, 2) float64`` WGS84 lon/lat of
    the preview image's outer corners, top-left, top-right, bottom-right, bottom-left
    (pixel *corners*, not centres).  Drawing the image through the projective map of
    those four corners is exact for a north-up or rotated grid up to the map
    projection's curvature across the raster (negligible below tens of km).
    """

    path: Path
    footprint: list[list[float]]
    corners_lonlat: np.ndarray
    image: np.ndarray
    valid: np.ndarray
    gsd_m: float
    acquired: str | None
    attribution: str | None


def footprint_preview(tile: Tile | str | os.PathLike[str],
                      max_px: int = DEFAULT_PREVIEW_PX) -> FootprintPreview:
    """The footprint and a preview of ``tile`` (a catalogued :class:`Tile` or a raster path,
    catalogued here) at most ``max_px`` pixels on its longer side.

    Raises:
        UsageError: ``max_px`` below 8.
        RasterOpenError / CRSError: naming the file, when it cannot be read or placed.
    """
    if int(max_px) < 8:
        raise UsageError(f"max_px must be at least 8, not {max_px!r}")
    t = tile if isinstance(tile, Tile) else catalog_file(tile)
    img = read_tile(t, max_pixels=_cap(t.width, t.height, int(max_px)))
    h, w = img.image.shape[:2]
    centres = img.to_level0(np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5],
                                      [-0.5, h - 0.5]]))
    corners = t.px_to_lonlat(centres)
    return FootprintPreview(path=Path(t.path), footprint=[list(p) for p in t.footprint],
                            corners_lonlat=np.asarray(corners, np.float64), image=img.image,
                            valid=img.valid, gsd_m=t.gsd_m * img.scale, acquired=t.acquired,
                            attribution=t.attribution)


def _cap(width: int, height: int, max_px: int) -> int:
    """The ``max_pixels`` that makes the longer side about ``max_px``."""
    longer, shorter = max(width, height), min(width, height)
    return max(1, int(max_px * max_px * shorter / longer))
