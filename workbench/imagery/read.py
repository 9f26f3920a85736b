"""Pixel reads from catalogued rasters: windowed, at a chosen ground resolution, via overviews.

Output images are ``(h, w, 3) uint8`` **BGR** (OpenCV order); how bands become BGR
(band roles, palettes, the cached percentile stretch of uint16/float data, unflagged
alpha bands) is in :mod:`workbench.imagery.bands`.

Validity (``TileImage.valid``): False on nodata, alpha 0, GDAL's dataset mask,
non-finite floats, and outside the raster.

Threads: rasterio datasets are not thread-safe; every call opens its own dataset
(cheap), so calls may run concurrently from several threads on the same ``Tile``.
Offline and contained unless allowed (:mod:`workbench.imagery.contain`); when the
network is allowed, GDAL HTTP timeouts are short and read failures of WMS/XYZ rasters
become :class:`~workbench.errors.RasterOpenError` naming the file.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window

from workbench.budget import read_pixel_cap
from workbench.errors import RasterOpenError, UsageError, WorkbenchError
from workbench.imagery.bands import band_layout, clear_cache, to_uint8, valid_mask
from workbench.imagery.contain import check_driver, check_raster_source, gdal_options
from workbench.imagery.model import Tile, TileImage
from workbench.progress import CancelToken, ProgressCallback, check_cancel, report

__all__ = ["DEFAULT_MAX_PIXELS", "TileImage", "clear_cache", "iter_windows", "open_raster",
           "read_tile"]

log = logging.getLogger(__name__)

# GDAL configuration for every open/read (with workbench.imagery.contain's offline
# options on top): no long network waits when the network is allowed (WMS/XYZ).  Directory
# listing stays on (GDAL_DISABLE_READDIR_ON_OPEN unset) because world files, .prj,
# .aux.xml and .ovr sidecars are found through it; PAM stays on to read .aux.xml CRSs.
# Nothing here computes statistics through GDAL, so no .aux.xml is written beside
# the user's evidence.
GDAL_OPTIONS: dict[str, Any] = {
    "GDAL_HTTP_TIMEOUT": 10,
    "GDAL_HTTP_CONNECTTIMEOUT": 5,
    "GDAL_HTTP_MAX_RETRY": 0,
    "GDAL_PAM_ENABLED": "YES",
    # a WMS XML with an empty <Cache/> would otherwise create ./gdalwmscache beside it
    "GDAL_DEFAULT_WMS_CACHE_PATH": os.path.join(tempfile.gettempdir(), "workbench-gdalwmscache"),
    # a VRT's sources read one after another: GDAL 3.10 reads them on several threads,
    # and a downsampled read of a mosaic then gave other pixels each time on the row or
    # column where two sources meet (tests/imagery/test_read_determinism.py).  Evidence
    # read twice must be the same pixels; the workbench parallelises by block instead.
    "VRT_NUM_THREADS": 1,
}
DEFAULT_MAX_PIXELS = 32_000_000  # output pixels per read when the caller gives no cap


@contextlib.contextmanager
def open_raster(path: str | Path) -> Iterator[Any]:
    """Open ``path`` read-only under :data:`GDAL_OPTIONS` and the containment rules of
    :mod:`workbench.imagery.contain` (no network, no raw VRT bands unless allowed);
    yields a rasterio dataset.

    Raises:
        RasterOpenError: naming the file when GDAL cannot open it or it is refused.
    """
    p = Path(path)
    check_raster_source(p)
    with rasterio.Env(**{**GDAL_OPTIONS, **gdal_options()}), warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        try:
            ds = rasterio.open(p)
        except Exception as exc:  # RasterioIOError, CPLE_* errors, OSError...
            raise RasterOpenError(f"GDAL cannot open it ({gdal_message(exc, p)})", p) from exc
        try:
            check_driver(str(ds.driver), p)
            yield ds
        finally:
            ds.close()


def gdal_message(exc: BaseException, path: Path) -> str:
    """A short one-line reason from a rasterio/GDAL exception chain (path shortened to its name)."""
    parts: list[str] = []
    e: BaseException | None = exc
    while e is not None and len(parts) < 4:
        text = " ".join(str(e).split())
        if text and "See previous exception" not in text and text not in parts:
            parts.append(text)
        e = e.__cause__ or e.__context__
    msg = "; ".join(reversed(parts)) or type(exc).__name__
    if "not recognized as being in a supported file format" in msg:
        return "not a raster format GDAL recognises"
    msg = msg.replace(str(path), path.name)
    return msg[:240]


def _parse_window(tile: Tile, window: Any) -> tuple[float, float, float, float]:
    if window is None:
        return 0.0, 0.0, float(tile.width), float(tile.height)
    if isinstance(window, Window):
        vals = [window.col_off, window.row_off, window.width, window.height]
    else:
        try:
            vals = [float(v) for v in window]
        except (TypeError, ValueError) as exc:
            raise UsageError(f"window must be (col, row, width, height): {window!r}") from exc
    if len(vals) != 4 or not all(math.isfinite(v) for v in vals) or vals[2] <= 0 or vals[3] <= 0:
        raise UsageError(f"window must be (col_off, row_off, width>0, height>0): {window!r}")
    return float(vals[0]), float(vals[1]), float(vals[2]), float(vals[3])


def read_tile(
    tile: Tile,
    *,
    window: Any = None,
    gsd_m: float | None = None,
    max_pixels: int | None = None,
    square_pixels: bool = False,
) -> TileImage:
    """Read a level-0 window of ``tile`` at ``gsd_m`` metres per output pixel.

    Args:
        tile: a catalogued raster.
        window: ``(col_off, row_off, width, height)`` in level-0 pixel *corner*
            coordinates (floats allowed; may extend beyond the raster: those output
            pixels are black and invalid); default the whole raster.
        gsd_m: wanted output ground sample distance; default the raster's own
            (``scale`` 1).  Coarser reads use GDAL overviews and ``average`` resampling;
            finer ones ``bilinear``.
        max_pixels: cap on output ``h * w`` (default :data:`DEFAULT_MAX_PIXELS`, and
            never above the memory budget's :func:`workbench.budget.read_pixel_cap`);
            the scale is increased to fit, so always use the returned ``scale``.
        square_pixels: make output pixels ``gsd_m`` x ``gsd_m`` on the ground along
            both axes (``scale`` != ``scale_y`` where the raster's pixels are not square
            on the ground, e.g. EPSG:4326 away from the equator); default False keeps
            one scale for both axes (``gsd_m`` is then the mean of x and y).

    Returns:
        :class:`TileImage`; ``image`` is ``(h, w, 3) uint8`` BGR with
        ``w = ceil(width / scale)``, ``h = ceil(height / scale_y)``.  Output pixels only
        partly on the raster are marked invalid.

    Raises:
        UsageError: bad window / gsd_m / max_pixels.
        RasterOpenError: naming the file, when GDAL cannot read it (truncated,
            corrupt, changed since cataloguing, unreachable WMS server).
    """
    col, row, w, h = _parse_window(tile, window)
    sx, sy = _scales(tile, gsd_m, square_pixels)
    cap = DEFAULT_MAX_PIXELS if max_pixels is None else int(max_pixels)
    if cap < 1:
        raise UsageError(f"max_pixels must be at least 1, not {max_pixels!r}")
    cap = min(cap, read_pixel_cap())  # the run's memory budget (workbench.budget)
    out_w, out_h = _out_size(w, sx), _out_size(h, sy)
    while out_w * out_h > cap:
        grow = max(1.0001, math.sqrt(out_w * out_h / cap))
        sx, sy = sx * grow, sy * grow
        out_w, out_h = _out_size(w, sx), _out_size(h, sy)
    image = np.zeros((out_h, out_w, 3), np.uint8)
    valid = np.zeros((out_h, out_w), bool)
    result = TileImage(image=image, valid=valid, scale=sx, col_off=col, row_off=row, scale_y=sy)
    # output pixels lying wholly on the raster
    u0 = max(0, math.ceil(-col / sx - 1e-9))
    v0 = max(0, math.ceil(-row / sy - 1e-9))
    u1 = min(out_w, math.floor((tile.width - col) / sx + 1e-9))
    v1 = min(out_h, math.floor((tile.height - row) / sy + 1e-9))
    if u1 <= u0 or v1 <= v0:
        return result
    x0, y0 = max(0.0, col + u0 * sx), max(0.0, row + v0 * sy)
    win = Window(
        x0, y0, min((u1 - u0) * sx, tile.width - x0), min((v1 - v0) * sy, tile.height - y0)
    )
    shape = (v1 - v0, u1 - u0)
    try:
        img, ok = _read_window(tile, win, shape, max(sx, sy), sx == sy)
    except WorkbenchError:
        raise
    except Exception as exc:  # any GDAL/driver failure on an untrusted file
        log.debug("read failed: %s %s", tile.path, win, exc_info=True)
        msg = gdal_message(exc, tile.path)
        raise RasterOpenError(f"cannot read pixels ({msg})", tile.path) from exc
    image[v0:v1, u0:u1] = img
    valid[v0:v1, u0:u1] = ok
    return result


def _scales(tile: Tile, gsd_m: float | None, square_pixels: bool) -> tuple[float, float]:
    """Level-0 pixels per output pixel along x and y for a wanted output GSD."""
    if gsd_m is not None and not (math.isfinite(gsd_m) and gsd_m > 0):
        raise UsageError(f"gsd_m must be a positive number of metres, not {gsd_m!r}")
    target = tile.gsd_m if gsd_m is None else gsd_m
    gx, gy = tile.gsd_xy_m
    if square_pixels and gx > 0 and gy > 0:
        return target / gx, target / gy
    scale = target / tile.gsd_m
    return scale, scale


def _out_size(length: float, scale: float) -> int:
    return max(1, math.ceil(length / scale - 1e-9))


def _read_window(
    tile: Tile, win: Window, shape: tuple[int, int], scale: float, isotropic: bool
) -> tuple[np.ndarray, np.ndarray]:
    with open_raster(tile.path) as ds:
        if (ds.width, ds.height) != (tile.width, tile.height):
            raise RasterOpenError("raster changed since it was catalogued", tile.path)
        lay = band_layout(tile.path, ds)
        exact = (
            isotropic
            and abs(scale - 1.0) < 1e-9
            and float(win.col_off).is_integer()
            and float(win.row_off).is_integer()
        )
        if lay.palette or exact:
            rs = Resampling.nearest
        else:
            rs = Resampling.average if scale > 1.0 else Resampling.bilinear
        indexes = sorted({*lay.rgb, *([lay.alpha] if lay.alpha else [])})
        data = ds.read(indexes, window=win, out_shape=(len(indexes), *shape), resampling=rs)
        ok = valid_mask(ds, win, shape, rs)
        bands = [data[indexes.index(b)] for b in lay.rgb]
        if lay.alpha:
            ok &= data[indexes.index(lay.alpha)] >= (255 if rs is Resampling.average else 128)
        if data.dtype.kind == "f":
            ok &= np.isfinite(data).all(axis=0)
        if lay.palette:
            cmap = ds.colormap(1)
            lut = np.zeros((256, 3), np.uint8)
            for k, rgba in cmap.items():
                if 0 <= k < 256:
                    lut[k] = rgba[:3]
            rgb = lut[np.clip(bands[0], 0, 255).astype(np.intp)]
            return np.ascontiguousarray(rgb[..., ::-1]), ok
        if lay.lo is not None and lay.hi is not None:
            chans = [to_uint8(b, lo, hi) for b, lo, hi in zip(bands, lay.lo, lay.hi, strict=True)]
        else:
            chans = [b.astype(np.uint8, copy=False) for b in bands]
        return np.dstack([chans[2], chans[1], chans[0]]), ok


def iter_windows(
    tile: Tile,
    gsd_m: float | None = None,
    window_px: int = 1024,
    overlap: float = 0.25,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    square_pixels: bool = False,
) -> Iterator[tuple[tuple[float, float, float, float], TileImage]]:
    """Sweep ``tile`` in overlapping windows read at ``gsd_m`` m/px (default: native).

    Yields ``(window, TileImage)`` lazily, row by row; ``window`` is the level-0
    ``(col_off, row_off, width, height)`` read (so each image is at most
    ``window_px`` x ``window_px``).  Neighbours overlap by ``overlap`` (0 <= overlap < 1)
    of a window at least (starts are spread evenly and rounded to whole level-0 pixels;
    the last row/column ends at the raster edge), so the whole raster is covered.
    A raster smaller than one window gives one window.

    Raises:
        UsageError: bad ``window_px``/``overlap``/``gsd_m``.
        Cancelled: ``cancel`` was set (checked before each window).
    """
    if window_px < 16:
        raise UsageError(f"window_px must be at least 16, not {window_px}")
    if not 0.0 <= overlap < 1.0:
        raise UsageError(f"overlap must be in [0, 1), not {overlap}")
    sx, sy = _scales(tile, gsd_m, square_pixels)
    size_x, size_y = window_px * sx, window_px * sy
    cols = _starts(tile.width, size_x, overlap)
    rows = _starts(tile.height, size_y, overlap)
    total = len(cols) * len(rows)
    k = 0
    for r in rows:
        for c in cols:
            check_cancel(cancel)
            report(progress, f"reading {tile.path.name}", k / total)
            win = (c, r, min(size_x, tile.width - c), min(size_y, tile.height - r))
            yield win, read_tile(tile, window=win, gsd_m=gsd_m, square_pixels=square_pixels)
            k += 1
    report(progress, f"reading {tile.path.name}", 1.0)


def _starts(length: int, size: float, overlap: float) -> list[float]:
    """Evenly spaced window starts (integers) covering ``[0, length)`` with >= ``overlap``."""
    if size >= length:
        return [0.0]
    step = max(1.0, size * (1.0 - overlap))
    n = math.ceil((length - size) / step - 1e-9) + 1
    return sorted({float(round(v)) for v in np.linspace(0.0, length - size, n)})
