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


def check_tiff_complete(ds: Any, path: Path) -> None:
    """Raise RasterOpenError if the TIFF's data blocks extend beyond the end of the file.

    Uses GDAL's ``TIFF`` metadata domain (``BLOCK_OFFSET_i_j``/``BLOCK_SIZE_i_j``):
    metadata only, no pixel decoding.
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
            pairs = [(x, y) for y in range(ny) for x in range(nx)]
            if len(pairs) + queries > MAX_BLOCK_QUERIES:
                pairs = pairs[-64:]  # the last blocks are usually written last
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
