"""`workbench locate` (not implemented yet)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add the `locate` subcommand to the CLI's subparsers."""
    p = sub.add_parser("locate", help="(not implemented yet)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Not implemented yet."""
    raise NotImplementedError("locate")
