"""Raster files on disk: folder search, sidecars, integrity checks and hashing.

Metadata only; nothing here decodes pixels.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from workbench.errors import RasterOpenError

# File name endings looked at when a folder is searched (explicit file arguments are
# always tried).  ``.xml`` counts only when it is a GDAL WMS/XYZ description.
RASTER_SUFFIXES: frozenset[str] = frozenset({
    ".tif", ".tiff", ".gtif", ".gtiff", ".cog", ".vrt", ".jpg", ".jpeg", ".png", ".webp",
    ".jp2", ".j2k", ".mbtiles", ".gpkg", ".img", ".ntf", ".nitf", ".bmp", ".gif", ".xml",
})
SIDECAR_ENDINGS = (".aux.xml", ".ovr", ".msk")
MAX_BLOCK_QUERIES = 20000  # TIFF block offsets looked at per file (metadata only)


def is_candidate(path: Path) -> bool:
    """True if a folder search should try ``path`` (raster suffix, not a sidecar/hidden)."""
    name = path.name.lower()
    if name.startswith(".") or name.endswith(SIDECAR_ENDINGS):
        return False
    suffix = path.suffix.lower()
    if suffix not in RASTER_SUFFIXES:
        return False
    if suffix == ".xml":  # only GDAL WMS / XYZ / TMS service descriptions
        try:
            with path.open("rb") as fh:
                head = fh.read(2048).lower()
        except OSError:
            return True  # let the open report it
        return b"<gdal_wms" in head or b"<wms_" in head
    return True


def discover(path: Path) -> list[Path]:
    """``path`` itself if a file; else candidate rasters below it, sorted, hidden dirs skipped."""
    if not path.is_dir():
        if not path.is_file():  # a FIFO or device would block GDAL
            raise RasterOpenError("not a regular file or folder", path)
        return [path]
    found: list[Path] = []
    for root, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(
            Path(root) / n for n in names
            if is_candidate(Path(root) / n) and (Path(root) / n).is_file()
        )
    return sorted(found, key=lambda p: str(p))


# What a header may declare before anything is allocated for it (hostile files)
MAX_DECLARED_PIXELS = 1 << 40  # ~1.1 Tpx: a 1,000 km square at 1 m, in one file
MAX_VRT_PIXELS = 1 << 50  # a mosaic of many files (a continent at 10 cm)
_TILE_SERVICES = frozenset({"WMS", "WMTS"})  # virtual pyramids, read through overviews
MAX_BANDS = 4096
MAX_BLOCKS = 1 << 31
MAX_BLOCK_BYTES = 1 << 30
MAX_COMPRESSION_RATIO = 20_000  # declared pixel bytes per byte of file (deflate tops ~1000)
_DTYPE_BYTES = {"uint8": 1, "int8": 1, "uint16": 2, "int16": 2, "uint32": 4, "int32": 4,
                "float32": 4, "float64": 8, "complex64": 8, "complex128": 16}


def check_declared_size(ds: Any, path: Path) -> None:
    """Raise RasterOpenError when the header declares more than any raster we could use,
    or (TIFF) more than the file can hold, before anything is sized from it.

    Checked: pixels (``MAX_DECLARED_PIXELS``), bands, block count and block size; for
    GTiff/COG the declared pixel bytes against the file size (a 1.3 kB file declaring
    10^8 x 10^8 pixels).  Metadata only.
    """
    w, h, n = int(ds.width), int(ds.height), int(ds.count)
    if w <= 0 or h <= 0:
        raise RasterOpenError(f"header declares an empty raster ({w} x {h} px)", path)
    limit = MAX_VRT_PIXELS if ds.driver == "VRT" else MAX_DECLARED_PIXELS
    if w * h > limit and ds.driver not in _TILE_SERVICES:
        raise RasterOpenError(f"header declares {w} x {h} px, beyond the {limit:.2g}"
                              " px the workbench reads (damaged or hostile file)", path)
    if n > MAX_BANDS:
        raise RasterOpenError(f"header declares {n} bands (at most {MAX_BANDS})", path)
    item = _DTYPE_BYTES.get(str(ds.dtypes[0]), 8) if n else 1
    try:
        bh, bw = ds.block_shapes[0] if n else (1, 1)
    except Exception:  # some drivers cannot say
        bh, bw = 256, 256
    bh, bw = max(1, int(bh)), max(1, int(bw))
    if -(-w // bw) * -(-h // bh) > MAX_BLOCKS and ds.driver not in _TILE_SERVICES:
        raise RasterOpenError(f"header declares {-(-w // bw) * -(-h // bh)} blocks", path)
    if bw * bh * item > MAX_BLOCK_BYTES:
        raise RasterOpenError(f"header declares {bw} x {bh} px blocks (over 1 GB each)", path)
    if ds.driver in ("GTiff", "COG"):
        try:
            size = path.stat().st_size
        except OSError:
            return
        declared = w * h * n * item
        if declared > max(1, size) * MAX_COMPRESSION_RATIO:
            raise RasterOpenError(
                f"header declares {w} x {h} px x {n} band(s) ({declared / 1e9:.3g} GB of"
                f" pixels) but the file has {size} bytes: damaged or hostile header", path)


def _last_blocks(nx: int, ny: int, k: int) -> list[tuple[int, int]]:
    """The last ``k`` block indices ``(x, y)`` in row order, without listing the others."""
    total = nx * ny
    return [(i % nx, i // nx) for i in range(max(0, total - k), total)]


def check_tiff_complete(ds: Any, path: Path) -> None:
    """Raise RasterOpenError if the TIFF's data blocks extend beyond the end of the file.

    Uses GDAL's ``TIFF`` metadata domain (``BLOCK_OFFSET_i_j``/``BLOCK_SIZE_i_j``):
    metadata only, no pixel decoding.  At most ``MAX_BLOCK_QUERIES`` blocks are looked
    at, and the list of blocks is never built beyond that (a header may declare 10^8).
    """
    try:
        size = path.stat().st_size
    except OSError:
        return
    levels: list[int | None] = [None, *range(len(ds.overviews(1)))]
    bands = sorted({1, int(ds.count)})
    queries = 0
    for ovr in levels:
        for bidx in bands:
            bh, bw = ds.block_shapes[bidx - 1]
            if ovr is None:
                w, h = ds.width, ds.height
            else:
                f = ds.overviews(1)[ovr]
                w, h = -(-ds.width // f), -(-ds.height // f)
            nx, ny = -(-w // max(1, bw)), -(-h // max(1, bh))
            if nx * ny + queries > MAX_BLOCK_QUERIES:
                pairs = _last_blocks(nx, ny, 64)  # the last blocks are usually written last
            else:
                pairs = [(x, y) for y in range(ny) for x in range(nx)]
            for x, y in pairs:
                queries += 1
                try:
                    off = ds.get_tag_item(f"BLOCK_OFFSET_{x}_{y}", "TIFF", bidx=bidx, ovr=ovr)
                    cnt = ds.get_tag_item(f"BLOCK_SIZE_{x}_{y}", "TIFF", bidx=bidx, ovr=ovr)
                except Exception:
                    return  # not a plain TIFF layout we can check; reads will tell
                if off and cnt and int(off) + int(cnt) > size:
                    raise RasterOpenError(
                        f"truncated or corrupt TIFF (data needs {int(off) + int(cnt)} bytes,"
                        f" file has {size})",
                        path,
                    )


def check_vrt_sources(ds: Any, path: Path) -> None:
    """Raise RasterOpenError if a VRT refers to a local source file that does not exist."""
    try:
        files = list(ds.files)
    except Exception:
        return
    for f in files[1:]:
        src = Path(f)
        if not str(f).startswith("/vsi") and not src.exists():
            raise RasterOpenError(f"VRT source {src.name} is missing ({src})", path)
