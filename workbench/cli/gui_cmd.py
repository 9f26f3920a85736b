"""``workbench gui [CASE_OR_VIDEO] [IMAGERY ...]``: start the desktop workbench (PyQt6)."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
from typing import Any

from workbench.errors import UsageError


def register(sub: Any) -> None:
    """Add the `gui` subcommand to the CLI's subparsers."""
    p = sub.add_parser(
        "gui",
        help="open the desktop workbench",
        description="Open the desktop workbench; a .wbcase opens that case, a video becomes "
        "the footage, further paths are added as reference imagery.",
    )
    p.add_argument("paths", nargs="*", metavar="CASE_OR_VIDEO",
                   help="a .wbcase case, or footage followed by imagery files/folders")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Start the GUI (the core itself never imports Qt: the app is loaded by name)."""
    have_app = importlib.util.find_spec("workbench_ui") is not None
    if importlib.util.find_spec("PyQt6") is None or not have_app:
        raise UsageError(
            "the desktop app needs PyQt6: pip install 'osint-geolocation-workbench[ui]'"
        )
    app = importlib.import_module("workbench_ui.app")
    return int(app.main([str(p) for p in args.paths]))
