"""``workbench locate VIDEO (--tiles PATH... | --index INDEX) --out DIR [--target X,Y]``.

``--keyframes KDIR`` reuses the output of ``workbench keyframes VIDEO --out KDIR`` (its
recorded video SHA-256 must be VIDEO's) instead of extracting keyframes again.
Writes ``DIR/locate.json`` (schema ``workbench.locate/1``) and ``DIR/keyframes/``;
exit 0 whenever it ran, whatever the verdict; a human summary on stdout, progress
on stderr; unusable arguments -> one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from workbench.atomic import check_writable_dir
from workbench.cli._progress import terminal_progress
from workbench.errors import UsageError
from workbench.geo import format_dms, format_mgrs, format_uncertainty
from workbench.outputs import check_output_dir, output_set
from workbench.results import LocateResult
from workbench.textsafe import safe_text


def _target(text: str) -> tuple[float, float]:
    try:
        xs, ys = text.split(",")
        x, y = float(xs), float(ys)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--target wants X,Y in frame pixels, not {text!r}"
        ) from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise argparse.ArgumentTypeError(f"--target wants finite numbers, not {text!r}")
    return x, y


def _accuracy(text: str) -> tuple[str | None, float]:
    """``[RASTER=]METRES`` of ``--imagery-accuracy``."""
    name, _, value = text.rpartition("=")
    try:
        metres = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--imagery-accuracy wants [RASTER=]METRES, not {text!r}") from None
    if not (math.isfinite(metres) and metres >= 0):
        raise argparse.ArgumentTypeError(
            f"--imagery-accuracy wants a finite number of metres >= 0, not {text!r}")
    return (name or None), metres


def imagery_accuracy(items: list[tuple[str | None, float]]) -> float | dict[str, float] | None:
    """``--imagery-accuracy`` values -> ``LocateConfig.imagery_accuracy_m``: one value for
    every raster, or per raster (path or file name); both kinds together are refused."""
    if not items:
        return None
    names = [n for n, _ in items]
    if all(n is None for n in names):
        if len(items) > 1:
            raise UsageError("--imagery-accuracy without a raster name was given twice")
        return items[0][1]
    if any(n is None for n in names):
        raise UsageError("--imagery-accuracy: give one value for all rasters or RASTER=METRES"
                         " for each, not both")
    return {str(n): m for n, m in items}


def register(sub: Any) -> None:
    """Add the ``locate`` subcommand to the CLI's subparsers."""
    p = sub.add_parser(
        "locate",
        help="find where footage was filmed among georeferenced rasters",
        description="Match keyframes of VIDEO against reference rasters; write DIR/locate.json.",
    )
    p.add_argument("video", metavar="VIDEO", help="footage file (any format FFmpeg reads)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--tiles", nargs="+", metavar="PATH",
                       help="reference rasters (files or folders; any GDAL raster, any CRS)")
    where.add_argument("--index", metavar="INDEX",
                       help="a region index written by 'workbench index': shortlist windows"
                            " with all keyframes of a shot voting together, verify only those")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="output folder: locate.json and keyframes/ are switched in together;"
                        " files of an earlier run are replaced, nothing else is touched")
    p.add_argument("--force", action="store_true",
                   help="write into --out even if it holds files the workbench did not"
                        " write (they are kept)")
    p.add_argument("--index-cache", default=None, metavar="INDEX",
                   help="with --tiles: where to keep the index built on the fly for rasters"
                        " above 96 Mpx (reused by later runs; default a temporary folder)")
    p.add_argument("--index-above", type=float, default=96.0, metavar="MPX",
                   help="with --tiles: index rasters larger than MPX megapixels on the fly"
                        " (default 96; 'inf' matches every raster whole, as before)")
    p.add_argument("--target", type=_target, default=None, metavar="X,Y",
                   help="frame pixel to geolocate (crosshair, impact point)")
    p.add_argument("--keyframes", default=None, metavar="KDIR",
                   help="reuse the keyframes `workbench keyframes VIDEO --out KDIR` saved "
                        "(same video) instead of extracting them again")
    p.add_argument("--max-keyframes", type=int, default=None, metavar="N",
                   help="keyframes to match (default 6)")
    p.add_argument("--feature-cache", default=None, metavar="DIR",
                   help="keep tile features (and, with --index, the searched windows' "
                        "VRTs) in DIR between runs (default: $WORKBENCH_FEATURE_CACHE, "
                        "else off)")
    p.add_argument("--imagery-accuracy", type=_accuracy, action="append", default=[],
                   metavar="[RASTER=]METRES",
                   help="the reference imagery's stated horizontal accuracy, 1-sigma radial"
                        " metres (the 68 % radius: a CE90 divided by 1.42), for every raster or per"
                        " raster (path or file name; repeat the option); added to every radius and"
                        " recorded in locate.json as entered by the analyst")
    p.add_argument("--matcher", choices=("sift", "auto", "learned"), default=None,
                   help="sift: RootSIFT only; auto (default): RootSIFT, then the optional "
                        "learned matcher (XFeat + LighterGlue, extra 'learned') for keyframes "
                        "SIFT cannot place; learned: the learned matcher on every keyframe too")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the locate job; print a summary; return 0 (any verdict)."""
    # imported here: start-up time of the CLI entry point (cv2, rasterio, the matcher)
    from workbench.locate import LocateConfig, locate, reuse_keyframes
    from workbench.locate.indexed import IndexSearchConfig, locate_in_index, locate_tiles
    from workbench.match import check_matcher

    video = Path(args.video)
    if not video.exists():
        raise UsageError("no such video file", video)
    if video.is_dir():
        raise UsageError("is a folder, not a video file", video)
    cfg = LocateConfig()
    if args.max_keyframes is not None:
        if args.max_keyframes < 1:
            raise UsageError(f"--max-keyframes must be at least 1, not {args.max_keyframes}")
        cfg.max_keyframes = args.max_keyframes
    if args.matcher is not None:
        cfg.match.matcher = args.matcher
    cfg.imagery_accuracy_m = imagery_accuracy(args.imagery_accuracy)
    cfg.imagery_accuracy_source = "analyst (workbench locate --imagery-accuracy)"
    check_matcher(cfg.match)  # e.g. "learned" without its extra: refused before any work
    if args.feature_cache:
        cfg.feature_cache = str(check_writable_dir(args.feature_cache))
    if not args.index_above > 0:
        raise UsageError(f"--index-above must be a positive number, not {args.index_above}")
    kset = None
    if args.keyframes is not None:  # checked before the output folder is made
        with terminal_progress(getattr(args, "quiet", False)) as progress:
            kset = reuse_keyframes(video, args.keyframes, progress=progress)
    out = Path(args.out)
    check_output_dir(out, "locate", force=args.force)  # before the long work
    # every file goes into a staging folder, switched in whole at the end (atomic set)
    with output_set(out, "locate", force=args.force) as stage, \
            terminal_progress(getattr(args, "quiet", False)) as progress:
        if args.index is not None:
            result = locate_in_index(video, args.index, out_dir=stage, target_xy=args.target,
                                     config=cfg, keyframes=kset, progress=progress)
        elif kset is not None:  # a saved extraction: matched as `locate` does, whole rasters
            result = locate(video, args.tiles, out_dir=stage, target_xy=args.target,
                            config=cfg, keyframes=kset, companions=True, progress=progress)
        else:
            result = locate_tiles(video, args.tiles, out_dir=stage, target_xy=args.target,
                                  config=cfg, index_cache=args.index_cache,
                                  search=IndexSearchConfig(index_above_mpx=args.index_above),
                                  progress=progress)
    print(safe_text(summary(result, out), keep_newlines=True))
    return 0


def summary(result: LocateResult, out: Path | None = None) -> str:
    """A few human-readable lines describing ``result``."""
    lines = [f"verdict: {result.verdict.upper()}"
             + (f" - {result.reason}" if result.reason else "")]
    for c in result.candidates[:5]:
        mgrs = format_mgrs(c.lat, c.lon)
        lines.append(
            f"  #{c.rank} {c.lat:.6f}, {c.lon:.6f} ({format_dms(c.lat, c.lon)}"
            + (f", MGRS {mgrs}" if mgrs else "")
            + f") confidence {c.confidence:.2f} {format_uncertainty(c.uncertainty_m)}"
            f" [{c.keyframe_id} on {Path(c.tile).name}, {c.inliers} inliers,"
            f" {len(c.supporting_keyframes)} keyframe(s)]"
        )
        if c.target:
            lines.append(
                f"     target ({c.target['x']:.0f},{c.target['y']:.0f}) -> "
                f"{c.target['lat']:.6f}, {c.target['lon']:.6f}"
                f" {format_uncertainty(c.target.get('uncertainty_m'))}"
            )
    chained = any(p.via for shot in result.shots for p in shot.placements)
    for s in result.shots if len(result.shots) > 1 or chained else []:
        name = "no shot" if s.shot < 0 else f"shot {s.shot}"
        where = f"place #{s.candidate_rank}" if s.verdict == "located" else \
            s.verdict.replace("_", " ")
        via = [f"{p.keyframe} via {p.via}" for p in s.placements if p.via]
        lines.append(f"  {name} ({len(s.keyframes)} keyframe(s)): {where}"
                     + (f"; zoomed {', '.join(via)}" if via else ""))
    t = result.timing_s
    search = result.method.get("search")
    if isinstance(search, dict):
        lines.append(
            f"searched {search.get('windows_searched', 0)} window(s),"
            f" {search.get('area_searched_km2', 0):.2f} km² of {search.get('area_km2', 0):.2f} km²"
            f" indexed ({search.get('blocks_indexed', 0)} blocks)"
        )
    lines.append(
        f"{len(result.keyframes)} keyframe(s) vs {len(result.tiles)} tile(s);"
        f" {t.get('total', 0):.1f} s (keyframes {t.get('keyframes', 0):.1f} s,"
        f" match {t.get('match', 0):.1f} s)"
    )
    for w in result.warnings[:5]:
        lines.append(f"warning: {w}")
    if out is not None:
        lines.append(f"wrote {out / 'locate.json'}")
    return "\n".join(lines)
