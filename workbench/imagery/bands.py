"""Band roles and contrast stretch: how a raster's bands become an 8-bit BGR picture.

* Bands: red/green/blue by GDAL colour interpretation when present, else bands 1-3
  (so R,G,B,NIR rasters such as NAIP use 1-3); palette rasters via their colour
  table; one band (or grey + alpha) is grey.
* A 4th (or 2nd) ``uint8`` band GDAL does not flag as alpha but that holds only 0 and
  255 (mostly 255) in the sample is taken as alpha (stitched web-map mosaics).
* ``uint8`` data is used as is; other types get a per-band 2-98 % percentile stretch
  (like QGIS's default) computed once per raster from a <= 1024 px sample read from
  its smallest useful overview (or, with no overviews and > 64 Mpx, an 8 x 8 grid of
  128 px windows), cached, so every window of one raster is stretched identically.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rasterio.enums import MaskFlags, Resampling
from rasterio.windows import Window

_STATS_SIDE = 1024  # long side of the sample the stretch is computed from
_GRID_SAMPLE_ABOVE_PX = 64_000_000  # no overviews and bigger: sample 8x8 windows instead
_PCT = (2.0, 98.0)


@dataclass(frozen=True)
class BandLayout:
    """How a raster's bands become BGR: band roles and the cached stretch."""

    rgb: tuple[int, int, int]  # 1-based band indexes for R, G, B (grey: all equal)
    alpha: int | None  # inferred alpha band (GDAL's own alpha is in its dataset mask)
    palette: bool
    lo: tuple[float, float, float] | None  # stretch per R, G, B; None = uint8 as is
    hi: tuple[float, float, float] | None


_layout_cache: dict[tuple[str, int, int], BandLayout] = {}
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
                    max(0, (ds.width - 128) * i // 7), max(0, (ds.height - 128) * j // 7),
                    min(128, ds.width), min(128, ds.height),
                )
                parts.append(ds.read(indexes, window=win))
                masks.append(valid_mask(ds, win, (win.height, win.width), Resampling.nearest))
        return np.concatenate(parts, axis=2), np.concatenate(masks, axis=1)
    f = max(1.0, max(ds.width, ds.height) / _STATS_SIDE)
    shape = (max(1, round(ds.height / f)), max(1, round(ds.width / f)))
    data = ds.read(indexes, out_shape=(len(indexes), *shape), resampling=Resampling.nearest)
    return data, valid_mask(ds, None, shape, Resampling.nearest)


def valid_mask(ds: Any, win: Window | None, shape: tuple[int, int], rs: Resampling) -> np.ndarray:
    """``(h, w) bool`` validity from GDAL's dataset mask (nodata, alpha, mask band)."""
    if all(MaskFlags.all_valid in f for f in ds.mask_flag_enums):
        # nothing masked: skip GDAL's all-valid mask, which rasterio would read at
        # full resolution (hundreds of MB on a big raster)
        return np.ones(shape, bool)
    mask = ds.dataset_mask(window=win, out_shape=shape, resampling=rs)
    # averaged masks are < 255 where any contributing pixel was invalid
    return np.asarray(mask == 255 if rs is Resampling.average else mask > 0)


def band_layout(path: Path, ds: Any) -> BandLayout:
    """Band roles and stretch of the raster at ``path`` (open as ``ds``), computed once.

    Cached per (resolved path, size, mtime); reads only a small overview sample, and
    only for non-``uint8`` data or a 4th band that might be an unflagged alpha.
    """
    key = _cache_key(path)
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
    layout = BandLayout(rgb=rgb, alpha=alpha, palette=palette, lo=lo, hi=hi)
    with _layout_lock:
        _layout_cache[key] = layout
    return layout


def to_uint8(band: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Linear stretch ``[lo, hi] -> [0, 255]`` of one ``(h, w)`` band; NaN -> 0."""
    out = (band.astype(np.float32) - lo) * (255.0 / (hi - lo))
    return np.clip(np.nan_to_num(out, nan=0.0), 0, 255).astype(np.uint8)


def clear_cache() -> None:
    """Forget cached band layouts / stretch statistics (e.g. after files changed)."""
    with _layout_lock:
        _layout_cache.clear()
