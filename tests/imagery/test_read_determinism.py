"""Reading the same window of a raster twice gives the same pixels.

GDAL 3.10 reads a VRT's sources on several threads; a downsampled read across the
seam of a mosaic then gave other values on the pixel row or column where two sources
meet, read after read (about one window in ten of an index's blocks of the test
mosaic).  :data:`workbench.imagery.read.GDAL_OPTIONS` reads them on one thread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench.imagery.catalog import TileCatalog
from workbench.imagery.read import read_tile


def test_a_downsampled_window_across_a_mosaic_seam_reads_the_same_twice(
        tmp_path: Path) -> None:
    from workbench_fixtures.mosaic import make_town_mosaic

    mosaic = make_town_mosaic(tmp_path, n=4, cols=2, size=512)
    tile = TileCatalog.from_paths([mosaic.vrt]).tiles[0]
    # windows around the four sources' meeting point (512, 512), not on whole pixels,
    # read at 2 and 3 times the raster's pixel size
    for window, gsd in [((0.0, 0.0, 1024.0, 1024.0), 1.0), ((0.6, 0.6, 1023.4, 1023.4), 1.0),
                        ((100.3, 0.0, 923.7, 1024.0), 1.5)]:
        first = read_tile(tile, window=window, gsd_m=gsd)
        for _ in range(8):
            again = read_tile(tile, window=window, gsd_m=gsd)
            assert np.array_equal(again.image, first.image), (window, gsd)
            assert np.array_equal(again.valid, first.valid), (window, gsd)
