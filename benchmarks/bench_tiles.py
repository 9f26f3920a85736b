"""Tile catalog speed and memory: cataloguing, overview reads, window sweeps on a big raster.

Run: ``.venv/bin/python benchmarks/bench_tiles.py [--size 8192] [--keep DIR]``.
Generates one tiled, DEFLATE-compressed RGB GeoTIFF of ``size`` x ``size`` px with
internal overviews (written strip by strip, never whole in memory), then measures:

* cataloguing the real imagery folder (``../shared/data/imagery``, if present) and
  the big raster: metadata only, so it must not grow with raster size;
* ``read_tile`` of the whole raster at 16x reduced resolution (served from overviews);
* a native 1024 x 1024 window read;
* an ``iter_windows`` sweep of the whole raster at 4x reduced resolution;
* peak resident memory (``ru_maxrss``), which must stay far below the raster's size.

Prints one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.transform import Affine
from rasterio.windows import Window

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from workbench.imagery.catalog import TileCatalog, catalog_file, iter_windows, read_tile  # noqa: E402
from workbench.imagery.read import clear_cache  # noqa: E402


def make_big(path: Path, size: int) -> float:
    """Write the test raster; returns seconds spent."""
    t0 = time.perf_counter()
    prof = {
        "driver": "GTiff", "width": size, "height": size, "count": 3, "dtype": "uint8",
        "crs": "EPSG:32633", "transform": Affine(0.5, 0, 500000.0, 0, -0.5, 5000000.0),
        "tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "deflate",
    }
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 40, (3, 512, size), dtype=np.uint8)
    cols = (np.arange(size) // 64 % 200).astype(np.uint8)
    with rasterio.open(path, "w", **prof) as dst:
        for row in range(0, size, 512):
            h = min(512, size - row)
            block = noise[:, :h] + cols[None, None, :]
            dst.write(block, window=Window(0, row, size, h))
        factors = [f for f in (2, 4, 8, 16, 32, 64) if size // f >= 256]
        dst.build_overviews(factors, Resampling.average)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=8192, help="raster side in px (default 8192)")
    ap.add_argument("--keep", type=Path, help="folder to write the raster into and keep")
    args = ap.parse_args()
    out: dict[str, object] = {"size_px": args.size}
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        big = folder / f"bench_{args.size}.tif"
        if not big.exists():
            out["generate_s"] = round(make_big(big, args.size), 2)
        out["file_mb"] = round(big.stat().st_size / 1e6, 1)
        out["raw_mb"] = round(3 * args.size**2 / 1e6, 1)

        imagery = REPO.parent / "shared" / "data" / "imagery"
        if imagery.is_dir():
            t0 = time.perf_counter()
            cat = TileCatalog.from_paths([imagery])
            out["catalog_real_s"] = round(time.perf_counter() - t0, 3)
            out["catalog_real_files"] = len(cat.tiles)

        t0 = time.perf_counter()
        for _ in range(20):
            tile = catalog_file(big)
        out["catalog_big_ms_per_file"] = round((time.perf_counter() - t0) / 20 * 1000, 2)

        clear_cache()
        t0 = time.perf_counter()
        img = read_tile(tile, gsd_m=tile.gsd_m * 16)
        out["read_whole_at_16x_s"] = round(time.perf_counter() - t0, 3)
        out["read_whole_at_16x_shape"] = list(img.image.shape)

        t0 = time.perf_counter()
        img = read_tile(tile, window=(args.size // 2, args.size // 2, 1024, 1024))
        out["read_native_1024_window_s"] = round(time.perf_counter() - t0, 3)

        t0 = time.perf_counter()
        n, px = 0, 0
        for _, im in iter_windows(tile, gsd_m=tile.gsd_m * 4, window_px=1024, overlap=0.25):
            n += 1
            px += im.valid.size
        dt = time.perf_counter() - t0
        out["sweep_at_4x_windows"] = n
        out["sweep_at_4x_s"] = round(dt, 3)
        out["sweep_at_4x_out_mpx_per_s"] = round(px / 1e6 / dt, 1)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
