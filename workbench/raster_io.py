"""Pixel reads from catalogued rasters: windowed, at a chosen ground resolution, via overviews.

Output images are ``(h, w, 3) uint8`` **BGR** (OpenCV order).  Band choice:
red/green/blue by GDAL colour interpretation when present, else bands 1-3
(RGB+NIR rasters such as NAIP use 1-3), palette rasters through their colour
table, one band (or grey+alpha) replicated as grey.  ``uint8`` data is used as is;
other types (uint16 reflectance, float) get a per-band 2-98 % percentile stretch
computed once per raster from its smallest overview (or a sparse sample) and
cached, so every window of one raster is stretched the same way.

Validity (``TileImage.valid``): False on nodata, alpha 0, GDAL's dataset mask,
non-finite floats, and outside the raster.  A 4th ``uint8`` band GDAL does not
flag as alpha but that holds only 0/255 (web-map mosaics) is taken as alpha.

Threads: rasterio datasets are not thread-safe; every call opens its own dataset
(cheap), so calls may run concurrently from several threads on the same ``Tile``.
No network: GDAL HTTP timeouts are short and read failures of WMS/XYZ rasters become
:class:`~workbench.errors.RasterOpenError` naming the file.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import rasterio
from rasterio.enums import MaskFlags, Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.windows import Window

from .errors import RasterOpenError, UsageError
from .progress import CancelToken, ProgressCallback, check_cancel, report

if TYPE_CHECKING:
    from .tiles import Tile

log = logging.getLogger(__name__)

# GDAL configuration for every open/read: no long network waits (WMS/XYZ).  Directory
# listing stays on (GDAL_DISABLE_READDIR_ON_OPEN unset) because world files, .prj,
# .aux.xml and .ovr sidecars are found through it; PAM stays on to read .aux.xml CRSs.
# Nothing here computes statistics through GDAL, so no .aux.xml is written beside
# the user's evidence.
GDAL_OPTIONS: dict[str, Any] = {
    "GDAL_HTTP_TIMEOUT": 10,
    "GDAL_HTTP_CONNECTTIMEOUT": 5,
    "GDAL_HTTP_MAX_RETRY": 0,
    "GDAL_PAM_ENABLED": "YES",
}
DEFAULT_MAX_PIXELS = 32_000_000  # output pixels per read when the caller gives no cap
_STATS_SIDE = 1024  # long side of the sample the stretch is computed from
_GRID_SAMPLE_ABOVE_PX = 64_000_000  # no overviews and bigger: sample 8x8 windows instead
_PCT = (2.0, 98.0)


@contextlib.contextmanager
def open_raster(path: str | Path) -> Iterator[Any]:
    """Open ``path`` read-only under :data:`GDAL_OPTIONS`; yields a rasterio dataset.

    Raises:
        RasterOpenError: naming the file when GDAL cannot open it.
    """
    p = Path(path)
    with rasterio.Env(**GDAL_OPTIONS), warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        try:
            ds = rasterio.open(p)
        except (RasterioError, OSError) as exc:
            raise RasterOpenError(f"GDAL cannot open it ({gdal_message(exc, p)})", p) from exc
        try:
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
        level0_y = (out_y + 0.5) * scale - 0.5 + row_off

    Use :meth:`to_level0` / :meth:`from_level0` rather than re-deriving it.
    """

    image: np.ndarray
    valid: np.ndarray
    scale: float
    col_off: float
    row_off: float

    def to_level0(self, xy: np.ndarray) -> np.ndarray:
        """Output pixels ``(N, 2)`` -> level-0 pixels ``(N, 2)`` float64 (x=col, y=row)."""
        pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        off = np.array([self.col_off, self.row_off])
        return (pts + 0.5) * self.scale - 0.5 + off

    def from_level0(self, xy: np.ndarray) -> np.ndarray:
        """Level-0 pixels ``(N, 2)`` -> output pixels ``(N, 2)`` float64."""
        pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        off = np.array([self.col_off, self.row_off])
        return (pts - off + 0.5) / self.scale - 0.5


@dataclass(frozen=True)
class _Layout:
    rgb: tuple[int, int, int]  # 1-based band indexes for R, G, B (grey: all equal)
    alpha: int | None  # inferred alpha band (GDAL's own alpha is in its dataset mask)
    palette: bool
    lo: tuple[float, float, float] | None  # stretch per R, G, B; None = uint8 as is
    hi: tuple[float, float, float] | None


_layout_cache: dict[tuple[str, int, int], _Layout] = {}
_layout_lock = threading.Lock()


def _cache_key(path: Path) -> tuple[str, int, int]:
    try:
        st = path.stat()
        return (str(path.resolve()), st.st_size, st.st_mtime_ns)
    except OSError:
        return (str(path), 0, 0)  # WMS / virtual paths: keyed by name only


def _band_layout(ds: Any) -> tuple[tuple[int, int, int], bool, int | None]:
    """RGB band indexes, palette flag and a candidate (unflagged) alpha band, from metadata."""
    ci = [c.name for c in ds.colorinterp]
    if ci and ci[0] == "palette":
        return (1, 1, 1), True, None
    if all(n in ci for n in ("red", "green", "blue")):
        rgb = (ci.index("red") + 1, ci.index("green") + 1, ci.index("blue") + 1)
    elif ds.count >= 3:
        rgb = (1, 2, 3)
    else:
        rgb = (1, 1, 1)
    candidate = None
    if ds.count == 4 and "alpha" not in ci and ci[3] == "undefined" and ds.dtypes[3] == "uint8":
        candidate = 4
    if ds.count == 2 and ci[1] == "undefined" and ds.dtypes[1] == "uint8":
        candidate = 2
    return rgb, False, candidate


def _sample(ds: Any, indexes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """A small ``(len(indexes), h, w)`` sample of the raster and its ``(h, w)`` validity.

    Reads the whole raster at <= ``_STATS_SIDE`` px on its long side, which GDAL serves
    from the best overview; rasters without overviews larger than 64 Mpx are sampled
    as an 8x8 grid of 128 px windows instead of decimating every block.
    """
    big = ds.width * ds.height > _GRID_SAMPLE_ABOVE_PX and not ds.overviews(1)
    if big:
        parts, masks = [], []
        for j in range(8):
            for i in range(8):
                win = Window(
                    (ds.width - 128) * i // 7, (ds.height - 128) * j // 7,
                    min(128, ds.width), min(128, ds.height),
                )
                parts.append(ds.read(indexes, window=win))
                masks.append(_valid(ds, win, (win.height, win.width), Resampling.nearest))
        return np.concatenate(parts, axis=2), np.concatenate(masks, axis=1)
    f = max(1.0, max(ds.width, ds.height) / _STATS_SIDE)
    shape = (max(1, round(ds.height / f)), max(1, round(ds.width / f)))
    data = ds.read(indexes, out_shape=(len(indexes), *shape), resampling=Resampling.nearest)
    return data, _valid(ds, None, shape, Resampling.nearest)


def _valid(ds: Any, win: Window | None, shape: tuple[int, int], rs: Resampling) -> np.ndarray:
    """``(h, w) bool`` validity from GDAL's dataset mask (nodata, alpha, mask band)."""
    if all(MaskFlags.all_valid in f for f in ds.mask_flag_enums):
        # nothing masked: skip GDAL's all-valid mask, which rasterio would read at
        # full resolution (hundreds of MB on a big raster)
        return np.ones(shape, bool)
    mask = ds.dataset_mask(window=win, out_shape=shape, resampling=rs)
    # averaged masks are < 255 where any contributing pixel was invalid
    return np.asarray(mask == 255 if rs is Resampling.average else mask > 0)


def _layout(tile: Tile, ds: Any) -> _Layout:
    key = _cache_key(tile.path)
    with _layout_lock:
        cached = _layout_cache.get(key)
    if cached is not None:
        return cached
    rgb, palette, candidate = _band_layout(ds)
    needs_stretch = ds.dtypes[rgb[0] - 1] != "uint8" and not palette
    alpha = None
    lo = hi = None
    if needs_stretch or candidate is not None:
        wanted = sorted({*rgb, *([candidate] if candidate else [])})
        data, mask = _sample(ds, wanted)
        if candidate is not None:
            a = data[wanted.index(candidate)]
            if a.size and np.isin(a, (0, 255)).all() and (a == 255).mean() > 0.5:
                alpha = candidate
                mask &= a == 255
        if needs_stretch:
            los, his = [], []
            for b in rgb:
                v = data[wanted.index(b)].astype(np.float64)
                v = v[mask & np.isfinite(v)]
                if v.size:
                    p_lo, p_hi = np.percentile(v, _PCT)
                else:
                    p_lo, p_hi = 0.0, 1.0
                los.append(float(p_lo))
                his.append(float(p_hi) if p_hi > p_lo else float(p_lo) + 1.0)
            lo, hi = (los[0], los[1], los[2]), (his[0], his[1], his[2])
    layout = _Layout(rgb=rgb, alpha=alpha, palette=palette, lo=lo, hi=hi)
    with _layout_lock:
        _layout_cache[key] = layout
    return layout


def _to_uint8(band: np.ndarray, lo: float, hi: float) -> np.ndarray:
    out = (band.astype(np.float32) - lo) * (255.0 / (hi - lo))
    return np.clip(np.nan_to_num(out, nan=0.0), 0, 255).astype(np.uint8)


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
        max_pixels: cap on output ``h * w`` (default :data:`DEFAULT_MAX_PIXELS`); the
            scale is increased to fit, so always use the returned ``scale``.

    Returns:
        :class:`TileImage`; ``image`` is ``(h, w, 3) uint8`` BGR with
        ``w = ceil(width / scale)``, ``h = ceil(height / scale)``.  Output pixels only
        partly on the raster are marked invalid.

    Raises:
        UsageError: bad window / gsd_m / max_pixels.
        RasterOpenError: naming the file, when GDAL cannot read it (truncated,
            corrupt, changed since cataloguing, unreachable WMS server).
    """
    col, row, w, h = _parse_window(tile, window)
    if gsd_m is not None and not (math.isfinite(gsd_m) and gsd_m > 0):
        raise UsageError(f"gsd_m must be a positive number of metres, not {gsd_m!r}")
    cap = DEFAULT_MAX_PIXELS if max_pixels is None else int(max_pixels)
    if cap < 1:
        raise UsageError(f"max_pixels must be at least 1, not {max_pixels!r}")
    scale = 1.0 if gsd_m is None else gsd_m / tile.gsd_m
    out_w, out_h = _out_size(w, h, scale)
    while out_w * out_h > cap:
        scale *= max(1.0001, math.sqrt(out_w * out_h / cap))
        out_w, out_h = _out_size(w, h, scale)
    image = np.zeros((out_h, out_w, 3), np.uint8)
    valid = np.zeros((out_h, out_w), bool)
    result = TileImage(image=image, valid=valid, scale=scale, col_off=col, row_off=row)
    # output pixels lying wholly on the raster
    u0 = max(0, math.ceil(-col / scale - 1e-9))
    v0 = max(0, math.ceil(-row / scale - 1e-9))
    u1 = min(out_w, math.floor((tile.width - col) / scale + 1e-9))
    v1 = min(out_h, math.floor((tile.height - row) / scale + 1e-9))
    if u1 <= u0 or v1 <= v0:
        return result
    x0, y0 = col + u0 * scale, row + v0 * scale
    win = Window(
        max(0.0, x0), max(0.0, y0),
        min((u1 - u0) * scale, tile.width - max(0.0, x0)),
        min((v1 - v0) * scale, tile.height - max(0.0, y0)),
    )
    shape = (v1 - v0, u1 - u0)
    try:
        img, ok = _read_window(tile, win, shape, scale)
    except RasterOpenError:
        raise
    except (RasterioError, OSError, ValueError) as exc:
        msg = gdal_message(exc, tile.path)
        raise RasterOpenError(f"cannot read pixels ({msg})", tile.path) from exc
    image[v0:v1, u0:u1] = img
    valid[v0:v1, u0:u1] = ok
    return result


def _out_size(w: float, h: float, scale: float) -> tuple[int, int]:
    return max(1, math.ceil(w / scale - 1e-9)), max(1, math.ceil(h / scale - 1e-9))


def _read_window(
    tile: Tile, win: Window, shape: tuple[int, int], scale: float
) -> tuple[np.ndarray, np.ndarray]:
    with open_raster(tile.path) as ds:
        if (ds.width, ds.height) != (tile.width, tile.height):
            raise RasterOpenError("raster changed since it was catalogued", tile.path)
        lay = _layout(tile, ds)
        exact = (
            abs(scale - 1.0) < 1e-9
            and float(win.col_off).is_integer()
            and float(win.row_off).is_integer()
        )
        if lay.palette or exact:
            rs = Resampling.nearest
        else:
            rs = Resampling.average if scale > 1.0 else Resampling.bilinear
        indexes = sorted({*lay.rgb, *([lay.alpha] if lay.alpha else [])})
        data = ds.read(indexes, window=win, out_shape=(len(indexes), *shape), resampling=rs)
        ok = _valid(ds, win, shape, rs)
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
            chans = [_to_uint8(b, lo, hi) for b, lo, hi in zip(bands, lay.lo, lay.hi, strict=True)]
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
    if gsd_m is not None and not (math.isfinite(gsd_m) and gsd_m > 0):
        raise UsageError(f"gsd_m must be a positive number of metres, not {gsd_m!r}")
    scale = 1.0 if gsd_m is None else gsd_m / tile.gsd_m
    size = window_px * scale
    cols = _starts(tile.width, size, overlap)
    rows = _starts(tile.height, size, overlap)
    total = len(cols) * len(rows)
    k = 0
    for r in rows:
        for c in cols:
            check_cancel(cancel)
            report(progress, f"reading {tile.path.name}", k / total)
            win = (c, r, min(size, tile.width - c), min(size, tile.height - r))
            yield win, read_tile(tile, window=win, gsd_m=gsd_m)
            k += 1
    report(progress, f"reading {tile.path.name}", 1.0)


def _starts(length: int, size: float, overlap: float) -> list[float]:
    """Evenly spaced window starts (integers) covering ``[0, length)`` with >= ``overlap``."""
    if size >= length:
        return [0.0]
    step = max(1.0, size * (1.0 - overlap))
    n = math.ceil((length - size) / step - 1e-9) + 1
    return sorted({float(round(v)) for v in np.linspace(0.0, length - size, n)})


def clear_cache() -> None:
    """Forget cached band layouts / stretch statistics (e.g. after files changed)."""
    with _layout_lock:
        _layout_cache.clear()
