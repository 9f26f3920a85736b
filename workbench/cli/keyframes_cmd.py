"""``workbench keyframes VIDEO --out DIR``: keyframe PNGs, overlay masks, keyframes.json."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from workbench.cli._progress import terminal_progress
from workbench.errors import UsageError
from workbench.keyframes import KeyframeConfig, extract_keyframes, save_keyframes
from workbench.outputs import check_output_dir
from workbench.textsafe import safe_path


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def register(sub: Any) -> None:
    """Add the ``keyframes`` subcommand to the CLI's subparsers."""
    p = sub.add_parser("keyframes", help="extract keyframes and burned-in overlay masks",
                       description="Split a video into shots and sub-shots, keep the sharpest "
                       "usable frame of each (title cards, black and blank frames rejected, "
                       "near-duplicates removed), estimate the burned-in HUD mask, and write "
                       "kfNNNN.png, kfNNNN_mask.png and keyframes.json into --out.")
    p.add_argument("video", help="video file")
    p.add_argument("--out", required=True, help="output folder (created; the files of an "
                   "earlier keyframes run there are replaced, all at once; refused if it holds "
                   "files the workbench did not write, unless --force)")
    p.add_argument("--force", action="store_true",
                   help="write into --out even if it holds other files (they are kept)")
    p.add_argument("--max-keyframes", type=_positive_int, default=None,
                   help="cap on the number of keyframes (default 12)")
    p.add_argument("--no-cap", action="store_true", help="no cap on the number of keyframes")
    p.add_argument("--max-per-shot", type=_positive_int, default=None,
                   help="cap per shot (default 4)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Extract and save keyframes; returns the exit code."""
    config = KeyframeConfig()
    if args.no_cap and args.max_keyframes is not None:
        raise UsageError("--no-cap and --max-keyframes exclude each other")
    if args.no_cap:
        config.max_keyframes = None
    elif args.max_keyframes is not None:
        config.max_keyframes = args.max_keyframes
    if args.max_per_shot is not None:
        config.max_per_shot = args.max_per_shot
    # refuse an unusable output folder before the long work (it is created if missing)
    out = Path(args.out)
    check_output_dir(out, "keyframes", force=args.force)
    with terminal_progress(getattr(args, "quiet", False)) as progress:
        kset = extract_keyframes(args.video, config, progress=progress)
        path = save_keyframes(kset, out, force=args.force)
    if not getattr(args, "quiet", False):
        print(f"{len(kset.keyframes)} keyframes from {len(kset.shots)} shots -> "
              f"{safe_path(path)}")
    return 0
