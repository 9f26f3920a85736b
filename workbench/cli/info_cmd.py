"""`workbench info` (not implemented yet)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add the `info` subcommand to the CLI's subparsers."""
    p = sub.add_parser("info", help="(not implemented yet)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Not implemented yet."""
    raise NotImplementedError("info")
