"""``workbench index IMAGERY... --out INDEX``: build, extend or resume a region index."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from workbench.cli._progress import terminal_progress
from workbench.errors import UsageError
from workbench.index.build import build_index
from workbench.index.distributed import DaskExecutor
from workbench.index.model import IndexConfig
from workbench.textsafe import safe_path, safe_text


def register(sub: Any) -> None:
    """Add the ``index`` subcommand to the CLI's subparsers."""
    p = sub.add_parser(
        "index",
        help="index whole regions of imagery for locate --index",
        description=(
            "Cut every raster (files or folders; any size, read by window from overviews)"
            " into block grids at fixed ground resolutions, describe each block once and"
            " store visual words in a versioned, memory-mapped index folder.  Running it"
            " again on the same INDEX adds new rasters without re-describing old ones and"
            " resumes an interrupted build.  Exit 2 on bad input (nothing half-written)."
        ),
    )
    p.add_argument("imagery", nargs="+", metavar="IMAGERY", help="raster files or folders")
    p.add_argument("--out", required=True, type=Path, metavar="INDEX",
                   help="index folder (created, or extended when it holds an index)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="threads describing blocks (default 1)")
    p.add_argument("--levels", metavar="M,M,...",
                   help="ground resolutions of the block grids in m/px, new index only"
                        " (default 1,2,4,8,16,32,64; each raster uses its two finest usable)")
    p.add_argument("--block-px", type=int, default=IndexConfig.block_px, metavar="PX",
                   help=f"block side in pixels of its level (default {IndexConfig.block_px})")
    p.add_argument("--max-features", type=int, default=IndexConfig.max_features, metavar="N",
                   help=f"features kept per block (default {IndexConfig.max_features})")
    p.add_argument("--chunk-blocks", type=int, default=IndexConfig.chunk_blocks, metavar="N",
                   help="blocks per chunk file, the unit a killed build resumes from"
                        f" (default {IndexConfig.chunk_blocks})")
    p.add_argument("--group-blocks", type=int, default=IndexConfig.group_blocks, metavar="N",
                   help="neighbouring blocks of a grid row read and run through SIFT's"
                        f" detector together (default {IndexConfig.group_blocks}; 1 = one"
                        " at a time)")
    p.add_argument("--dask", action="store_true",
                   help="describe blocks on a local Dask cluster of --workers processes"
                        " (extra 'scale')")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="describe blocks on an existing Dask cluster (extra 'scale'; the"
                        " workers must see the rasters at the same paths)")
    p.set_defaults(func=run)


def _config(args: argparse.Namespace) -> IndexConfig:
    levels = IndexConfig.levels_m
    if args.levels:
        try:
            levels = tuple(sorted(float(v) for v in str(args.levels).split(",") if v.strip()))
        except ValueError as exc:
            raise UsageError(f"--levels must be numbers separated by commas: {args.levels!r}"
                             ) from exc
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1, not {args.workers}")
    return IndexConfig(levels_m=levels, block_px=args.block_px, max_features=args.max_features,
                       chunk_blocks=args.chunk_blocks, group_blocks=args.group_blocks)


def run(args: argparse.Namespace) -> int:
    """Build the index; prints a summary line.  Errors propagate (exit 2)."""
    cfg = _config(args)
    with terminal_progress(getattr(args, "quiet", False)) as progress:
        if args.dask or args.scheduler:
            with DaskExecutor(args.scheduler, workers=args.workers) as ex:
                stats = build_index(args.imagery, args.out, config=cfg, executor=ex,
                                    progress=progress)
        else:
            stats = build_index(args.imagery, args.out, config=cfg, workers=args.workers,
                                progress=progress)
    size_mb = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file()) / 1e6
    out = sys.stdout
    out.write(
        f"{safe_path(args.out)}: {stats.rasters_added} raster(s) added,"
        f" {stats.rasters_skipped} already indexed; {stats.blocks_described} block(s)"
        f" described, {stats.blocks_resumed} kept"
        f" from an earlier run; {stats.features} features; {stats.megapixels:.1f} Mpx of imagery in"
        f" {stats.seconds:.1f} s; index {size_mb:.1f} MB\n"
    )
    for note in stats.notes:
        out.write(f"note: {safe_text(note)}\n")
    return 0
