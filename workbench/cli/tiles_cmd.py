"""``workbench tiles PATH...``: list the reference-imagery catalog (metadata only) and warnings."""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
from pathlib import Path
from typing import Any

from workbench.atomic import atomic_write_text
from workbench.cli._progress import terminal_progress
from workbench.errors import RasterOpenError
from workbench.hashing import sha256_file
from workbench.imagery import Tile, TileCatalog
from workbench.textsafe import safe_path, safe_text

SCHEMA = "workbench.tiles/1"


def register(sub: Any) -> None:
    """Add the ``tiles`` subcommand to the CLI's subparsers."""
    p = sub.add_parser(
        "tiles",
        help="list the georeferenced rasters found in files/folders",
        description=(
            "Catalogue reference imagery (GeoTIFF/COG, VRT, JPEG/PNG + world file + .prj,"
            " MBTiles, GeoPackage, GDAL WMS/XYZ XML; folders are searched recursively)"
            " and list path, CRS, size, ground resolution, WGS84 bounds, date and"
            " attribution.  Unusable files are listed as warnings.  Exit 2 if nothing"
            " usable is found."
        ),
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="raster files or folders")
    p.add_argument("--json", action="store_true", help="print a JSON document on stdout")
    p.add_argument(
        "--sha256", action="store_true", help="also hash every raster file (reads all bytes)"
    )
    p.add_argument(
        "--geojson", metavar="FILE", type=Path,
        help="also write the footprints as a GeoJSON FeatureCollection (WGS84)",
    )
    p.set_defaults(func=run)


def tile_to_json(tile: Tile, sha256: str | None = None) -> dict[str, Any]:
    """A JSON-ready description of one catalogued tile."""
    t = tile.transform
    doc: dict[str, Any] = {
        "path": str(tile.path),
        "driver": tile.driver,
        "crs": tile.crs_name,
        "crs_wkt": tile.crs_wkt,
        "transform": [t.a, t.b, t.c, t.d, t.e, t.f],
        "width": tile.width,
        "height": tile.height,
        "bands": tile.count,
        "dtype": tile.dtype,
        "nodata": tile.nodata,
        "has_alpha": tile.has_alpha,
        "overviews": list(tile.overviews),
        "gsd_m": round(tile.gsd_m, 6),
        "gsd_xy_m": [round(v, 6) for v in tile.gsd_xy_m],
        "bounds_lonlat": list(tile.bounds_lonlat),
        "footprint": tile.footprint,
        "acquired": tile.acquired,
        "acquired_source": tile.acquired_source,
        "attribution": tile.attribution,
        "attribution_source": tile.attribution_source,
    }
    if sha256 is not None:
        doc["sha256"] = sha256
    return doc


def _ccw(ring: list[list[float]]) -> list[list[float]]:
    """``ring`` counter-clockwise (RFC 7946 s3.1.6: exterior rings wind right-handed);
    tile footprints run top-left, top-right, ..., clockwise on a north-up raster."""
    area2 = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring))
    return ring if area2 >= 0 else ring[::-1]


def footprints_geojson(tiles: list[Tile]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection: one Polygon (the WGS84 footprint ring, counter-clockwise
    per RFC 7946) per tile."""
    feats = []
    for t in tiles:
        props = {k: v for k, v in tile_to_json(t).items() if k not in ("footprint", "crs_wkt")}
        feats.append({
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [_ccw(t.footprint)]},
            "properties": props,
        })
    return {"type": "FeatureCollection", "features": feats}


def _fmt_gsd(m: float) -> str:
    return f"{m * 100:.1f} cm" if m < 1 else f"{m:.2f} m"


def run(args: argparse.Namespace) -> int:
    """List the catalog; returns 0 (errors propagate to the dispatcher: exit 2)."""
    tiles_log = logging.getLogger("workbench.imagery")
    level = tiles_log.level
    if not args.json:  # the listing below prints the warnings; do not log them twice
        tiles_log.setLevel(logging.ERROR)
    try:
        with terminal_progress(getattr(args, "quiet", False) or args.json) as progress:
            catalog = TileCatalog.from_paths(args.paths, progress=progress)
            hashes = [sha256_file(t.path, error=RasterOpenError)[0] if args.sha256 else None
                      for t in catalog.tiles]
    finally:
        tiles_log.setLevel(level)
    if args.geojson is not None:
        text = json.dumps(footprints_geojson(catalog.tiles), indent=1, ensure_ascii=False)
        atomic_write_text(args.geojson, text + "\n")
    if args.json:
        doc = {
            "schema": SCHEMA,
            "tiles": [tile_to_json(t, h) for t, h in zip(catalog.tiles, hashes, strict=True)],
            "warnings": catalog.warnings,
        }
        # ASCII: C1 controls and bidi overrides in paths/metadata stay escaped on a terminal
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=True) + "\n")
        return 0
    out = sys.stdout
    for tile, digest in zip(catalog.tiles, hashes, strict=True):
        w, s, e, n = tile.bounds_lonlat
        out.write(f"{safe_path(tile.path)}\n")
        out.write(
            f"  {tile.driver}  {tile.crs_name}  {tile.width} x {tile.height} px"
            f"  {tile.count} x {tile.dtype}{'  alpha' if tile.has_alpha else ''}"
            f"{'' if tile.nodata is None else f'  nodata={tile.nodata:g}'}"
            f"  {_fmt_gsd(tile.gsd_m)}/px\n"
        )
        out.write(f"  bounds W {w:.6f}  S {s:.6f}  E {e:.6f}  N {n:.6f}\n")
        date = f"{tile.acquired} ({tile.acquired_source})" if tile.acquired else "unknown"
        credit = tile.attribution or "unknown"
        out.write(safe_text(f"  date {date}   attribution {credit}") + "\n")
        if digest:
            out.write(f"  sha256 {digest}\n")
    out.write(f"{len(catalog.tiles)} usable raster(s), {len(catalog.warnings)} skipped\n")
    for warning in catalog.warnings:
        out.write(f"warning: {safe_text(warning)}\n")
    return 0
