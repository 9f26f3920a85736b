"""The ``workbench`` command line: a thin layer over the core library.

Each subcommand lives in its own module ``workbench.cli.<name>_cmd`` exposing
``register(subparsers)``; its handler returns an exit code.  Errors from the
core (:class:`~workbench.errors.WorkbenchError`) become one line on stderr and
exit code 2; no traceback unless ``--debug``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from workbench.budget import parse_size, set_memory_budget
from workbench.errors import Cancelled, WorkbenchError, describe
from workbench.textsafe import safe_text
from workbench.version import __version__

SUBCOMMANDS: tuple[str, ...] = (
    "info", "keyframes", "tiles", "index", "locate", "case", "verify", "report", "gui", "sign",
)
EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a killed writer

log = logging.getLogger("workbench")


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr (exit 2), like every
    other error of the command; the usage itself is one ``--help`` away.  Subparsers
    inherit the class."""

    def error(self, message: str) -> NoReturn:
        message = " ".join(message.split())
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    parser = OneLineParser(
        prog="workbench",
        description="OSINT video geolocation workbench: keyframes, locate, case files, reports.",
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("-q", "--quiet", action="store_true", help="errors only, no progress")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--max-memory", type=_memory_size, default=None, metavar="SIZE",
                        help="memory budget of the run, e.g. 2G or 1500M (default 2G, or"
                             " $WORKBENCH_MAX_MEMORY): footage is analysed and rasters read"
                             " at sizes that fit it")
    parser.add_argument("--allow-network", action="store_true",
                        help="let GDAL open network rasters (/vsicurl/, WMS, XYZ/TMS, ...);"
                             " off by default: the workbench works offline")
    parser.add_argument("--allow-raw-vrt", action="store_true",
                        help="let VRTs read raw files as pixels (VRTRawRasterBand); off by"
                             " default, since any local file could become an image")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"{__name__}.{name}_cmd")
        module.register(sub)
    return parser


def _memory_size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _SafeFormatter(logging.Formatter):
    """One line per record, control characters in file names and metadata escaped."""

    def format(self, record: logging.LogRecord) -> str:
        return safe_text(super().format(record))


def configure_logging(verbose: int, quiet: bool) -> None:
    """Send the ``workbench`` logger to stderr (the library itself stays silent).

    GDAL's own messages (rasterio's loggers) are shown only with ``-vv``: the core turns
    every failure it acts on into one line naming the file, so they would be noise or,
    on hostile files, pages of it."""
    levels = (logging.WARNING, logging.INFO, logging.DEBUG)
    level = logging.ERROR if quiet else levels[min(verbose, 2)]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_SafeFormatter("workbench: %(levelname)s: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False
    gdal = logging.getLogger("rasterio")
    gdal.handlers[:] = [handler] if verbose >= 2 else [logging.NullHandler()]
    gdal.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``workbench`` command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose, args.quiet)
    set_memory_budget(args.max_memory)
    if args.allow_network or args.allow_raw_vrt or "workbench.imagery.contain" in sys.modules:
        # imported here: CLI start-up time (workbench.imagery loads rasterio and pyproj)
        from workbench.imagery.contain import set_containment

        set_containment(allow_network=args.allow_network or None,
                        allow_raw_vrt=args.allow_raw_vrt or None)
    return run_command("workbench", lambda: args.func(args), debug=args.debug)


def run_command(prog: str, call: Callable[[], int | None], *, debug: bool = False) -> int:
    """Run a command's handler and turn what escapes it into an exit code.

    A deliberate error (:class:`WorkbenchError`) or an OS error the core did not wrap
    becomes one line on stderr (``"<prog>: error: <file>: <problem>"``) and exit 2;
    cancel/interrupt 130; a closed stdout (``| head``) 141; anything else, a bug, one
    line and exit 1.  With ``debug`` the traceback is shown instead.
    """
    try:
        return int(call() or 0)
    except Cancelled:
        print(f"{prog}: cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of stdout went away (``| head``): not a problem of the input, and
        # exit 2 would read as "cannot read the case/video"; exit like SIGPIPE would
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (WorkbenchError, OSError) as exc:
        if debug:
            raise
        print(f"{prog}: error: {safe_text(describe(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        if debug:
            raise
        print(f"{prog}: internal error: {safe_text(describe(exc))} (re-run with --debug for"
              " details)", file=sys.stderr)
        return 1

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
