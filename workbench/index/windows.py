"""From shortlisted blocks to verification windows, each presented as a small raster.

Shortlisted blocks of the same raster that overlap are merged into one window
(grown by a margin so a footprint straddling a block edge is whole), and each window
is presented as a one-source GDAL VRT over the original raster (same pixels, level-0
grid offset by the window's corner, same CRS): the existing matcher and ranking then
verify it like any other tile, reading by window and from overviews.  Results are
mapped back to the original raster with :func:`to_source_px` (a pure translation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from workbench.imagery.read import open_raster
from workbench.index.model import RasterEntry, Shortlisted

_DTYPES = {"uint8": "Byte", "int8": "Int8", "uint16": "UInt16", "int16": "Int16",
           "uint32": "UInt32", "int32": "Int32", "float32": "Float32", "float64": "Float64"}


@dataclass
class Window:
    """A level-0 window ``(col_off, row_off, width, height)`` (whole pixels) of ``raster``
    to verify, with the best shortlist score that led to it and the blocks merged in."""

    raster: RasterEntry
    col_off: int
    row_off: int
    width: int
    height: int
    score: float
    blocks: list[int]
    base_px: int = 0  # level-0 area of the first (grown) block: merges are capped by it

    @property
    def area_km2(self) -> float:
        """Ground area (mean ground resolution of the raster)."""
        return self.width * self.height * self.raster.gsd_m ** 2 / 1e6


def merge_windows(
    shortlist: list[Shortlisted], *, margin: float = 0.125, max_windows: int = 12,
    max_growth: float = 2.5,
) -> list[Window]:
    """Windows to verify, best first.

    Each block is grown by ``margin`` of its side on every edge (clipped to the
    raster); a block overlapping an existing window of the same raster is merged into
    it when the union stays within ``max_growth`` times the window's first block
    (so merging cannot snowball into a whole raster).  At most
    ``max_windows`` are returned.
    """
    out: list[Window] = []
    for s in sorted(shortlist, key=lambda s: -s.score):
        r = s.raster
        c, row, w, h = s.window
        pad = margin * max(w, h)
        c0, r0 = max(0, math.floor(c - pad)), max(0, math.floor(row - pad))
        c1 = min(r.width, math.ceil(c + w + pad))
        r1 = min(r.height, math.ceil(row + h + pad))
        if c1 - c0 < 16 or r1 - r0 < 16:
            continue
        for win in out:
            if win.raster.id != r.id:
                continue
            ix = min(c1, win.col_off + win.width) - max(c0, win.col_off)
            iy = min(r1, win.row_off + win.height) - max(r0, win.row_off)
            if ix <= 0 or iy <= 0:
                continue
            u0, v0 = min(c0, win.col_off), min(r0, win.row_off)
            u1 = max(c1, win.col_off + win.width)
            v1 = max(r1, win.row_off + win.height)
            if (u1 - u0) * (v1 - v0) <= max_growth * win.base_px:
                win.col_off, win.row_off, win.width, win.height = u0, v0, u1 - u0, v1 - v0
                win.blocks.append(s.block_id)
                break
        else:
            if len(out) < max_windows:
                out.append(Window(r, c0, r0, c1 - c0, r1 - r0, s.score, [s.block_id],
                                  (c1 - c0) * (r1 - r0)))
    return out


def union_area_km2(windows: list[Window], cell_px: int = 64) -> float:
    """Ground area covered by ``windows`` (overlaps counted once), on a ``cell_px`` grid."""
    total = 0.0
    for rid in sorted({w.raster.id for w in windows}):
        mine = [w for w in windows if w.raster.id == rid]
        r = mine[0].raster
        grid = np.zeros((-(-r.height // cell_px), -(-r.width // cell_px)), bool)
        for w in mine:
            grid[w.row_off // cell_px: -(-(w.row_off + w.height) // cell_px),
                 w.col_off // cell_px: -(-(w.col_off + w.width) // cell_px)] = True
        total += float(grid.sum()) * (cell_px * r.gsd_m) ** 2 / 1e6
    return min(total, sum(w.area_km2 for w in windows))


def window_vrt_text(win: Window) -> str:
    """``win`` as the text of a VRT over its raster (absolute source path).

    Bands, data types, colour interpretation and nodata are the source's; the
    geotransform is the source's, moved to the window's top-left corner.

    Raises:
        RasterOpenError: the source cannot be opened.
    """
    src = Path(win.raster.path)
    with open_raster(src) as ds:
        count, dtypes = ds.count, ds.dtypes
        interp = [ci.name.capitalize() for ci in ds.colorinterp]
        nodata = ds.nodata
    a, b, c, d, e, f = win.raster.transform
    gt_c = c + a * win.col_off + b * win.row_off
    gt_f = f + d * win.col_off + e * win.row_off
    parts = [
        f'<VRTDataset rasterXSize="{win.width}" rasterYSize="{win.height}">',
        f"  <SRS>{escape(win.raster.crs_wkt)}</SRS>",
        f"  <GeoTransform>{gt_c!r}, {a!r}, {b!r}, {gt_f!r}, {d!r}, {e!r}</GeoTransform>",
    ]
    for band in range(1, count + 1):
        parts.append(f'  <VRTRasterBand dataType="{_DTYPES.get(str(dtypes[band - 1]), "Byte")}"'
                     f' band="{band}">')
        if interp[band - 1] not in ("Undefined", "Gray"):
            parts.append(f"    <ColorInterp>{interp[band - 1]}</ColorInterp>")
        if nodata is not None and math.isfinite(nodata):
            parts.append(f"    <NoDataValue>{nodata!r}</NoDataValue>")
        parts += [
            "    <SimpleSource>",
            f'      <SourceFilename relativeToVRT="0">{escape(str(src))}</SourceFilename>',
            f"      <SourceBand>{band}</SourceBand>",
            f'      <SrcRect xOff="{win.col_off}" yOff="{win.row_off}" xSize="{win.width}"'
            f' ySize="{win.height}"/>',
            f'      <DstRect xOff="0" yOff="0" xSize="{win.width}" ySize="{win.height}"/>',
            "    </SimpleSource>",
            "  </VRTRasterBand>",
        ]
    parts.append("</VRTDataset>")
    return "\n".join(parts) + "\n"


def to_source_px(win: Window, xy: list[list[float]]) -> list[list[float]]:
    """Window level-0 pixels ``[[x, y], ...]`` -> the source raster's level-0 pixels."""
    return [[float(p[0]) + win.col_off, float(p[1]) + win.row_off] for p in xy]
