"""``workbench info VIDEO``: footage metadata and the SHA-256 of the file."""

from __future__ import annotations

import argparse
import json
from typing import Any

from workbench.cli._progress import terminal_progress
from workbench.textsafe import safe_text
from workbench.video import probe


def register(sub: Any) -> None:
    """Add the ``info`` subcommand to the CLI's subparsers."""
    p = sub.add_parser("info", help="print a video's metadata and SHA-256",
                       description="Probe a video (any format FFmpeg decodes): size, codec, "
                       "frame rate (and whether it varies), frame count, duration, rotation "
                       "and the SHA-256 of the original file.")
    p.add_argument("video", help="video file (mp4, mov, mkv, webm, avi, ...)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-hash", action="store_true", help="skip the SHA-256 (faster)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Probe ``args.video`` and print the result; returns the exit code."""
    with terminal_progress(getattr(args, "quiet", False)) as progress:
        info = probe(args.video, compute_hash=not args.no_hash, progress=progress)
    if args.json:
        print(json.dumps(info.to_json(), indent=1))
        return 0
    rows = [
        ("file", str(info.path)),
        ("sha256", info.sha256 or "(not computed)"),
        ("size", f"{info.size_bytes} bytes"),
        ("container", info.container),
        ("codec", f"{info.codec} ({info.pix_fmt})" if info.pix_fmt else info.codec),
        ("frame size", f"{info.width}x{info.height}"
         + (f" (coded {info.coded_width}x{info.coded_height}, rotated {info.rotation} deg)"
            if info.rotation else "")),
        ("frame rate", f"{info.fps:.3f} fps average"
         + (", variable" if info.variable_frame_rate else ", constant")),
        ("frames", str(info.frame_count)),
        ("duration", f"{info.duration_s:.3f} s"),
    ]
    for key, value in rows:
        print(f"{key:<11} {safe_text(value)}")
    return 0
