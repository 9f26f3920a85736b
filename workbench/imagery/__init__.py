"""Imagery stage: every georeferenced raster GDAL reads, catalogued and read by window.

The public API; types in :mod:`workbench.imagery.model`, the catalogue in
:mod:`workbench.imagery.catalog`, pixel reads in :mod:`workbench.imagery.read`.
Pixels ``(x, y)`` = (col, row) of the level-0 grid, centre of the top-left pixel
at ``(0, 0)``; images ``(h, w, 3) uint8`` BGR; positions WGS84 lon/lat.
"""

from __future__ import annotations

from workbench.imagery.catalog import TileCatalog, catalog_file, pixel_files, tile_files
from workbench.imagery.model import Tile, TileImage
from workbench.imagery.preview import FootprintPreview, footprint_preview
from workbench.imagery.read import iter_windows, read_tile

__all__ = [
    "FootprintPreview",
    "Tile",
    "TileCatalog",
    "TileImage",
    "catalog_file",
    "footprint_preview",
    "iter_windows",
    "pixel_files",
    "read_tile",
    "tile_files",
]
