"""``workbench-gui [CASE_OR_VIDEO] [IMAGERY ...]``: start the desktop workbench.

A ``.wbcase`` argument opens that case; a video becomes the footage; further
arguments (rasters or folders) are added as reference imagery.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

ORG, APP = "osint-workbench", "workbench"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="workbench-gui",
        description="Desktop workbench: locate strike footage against georeferenced imagery.",
    )
    p.add_argument("paths", nargs="*", type=Path, metavar="CASE_OR_VIDEO",
                   help="a .wbcase case, or footage followed by imagery files/folders")
    p.add_argument("--quit-after", type=float, metavar="S", default=None,
                   help=argparse.SUPPRESS)  # start-up smoke tests: quit after S seconds
    p.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    return p


def make_app(argv: Sequence[str] | None = None) -> object:
    """The QApplication (created once), with organisation/application names for QSettings."""
    # PyQt6 is the optional "ui" extra: imported here, not at module level, so that
    # main() can say in one line that it is missing (see below).
    from PyQt6.QtWidgets import QApplication

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(
        list(argv) if argv is not None else sys.argv[:1]
    )
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    app.setApplicationDisplayName("OSINT Geolocation Workbench")
    return app


def main(argv: Sequence[str] | None = None) -> int:
    """Run the GUI; returns the exit code."""
    args = build_parser().parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(levelname)s: %(message)s")
    # a CASE argument resolves as in every CLI command: X names X, else X.wbcase
    from workbench.case import resolve_case_path
    from workbench.errors import CaseOpenError

    paths: list[Path] = []
    for p in args.paths:
        try:
            paths.append(resolve_case_path(p) if not p.exists() else p)
        except CaseOpenError:
            print(f"workbench-gui: error: {p}: no such file or folder", file=sys.stderr)
            return 2
    args.paths = paths
    # PyQt6 is the optional "ui" extra: a one-line error when it is not installed.
    try:
        from PyQt6.QtCore import QTimer
        from PyQt6.QtWidgets import QApplication
    except ImportError as exc:  # pragma: no cover - depends on the installation
        print(f"workbench-gui: error: PyQt6 is not installed ({exc}); "
              "install the 'ui' extra", file=sys.stderr)
        return 2
    app = make_app()
    # after the PyQt6 check above (the window imports PyQt6 at module level)
    from workbench_ui.main_window import MainWindow

    win = MainWindow()
    win.show()
    from workbench_ui.workers import start_job_server

    start_job_server()  # imports the job modules while the analyst opens a case
    if args.paths:
        win.controller.opener.open_paths([p.resolve() for p in args.paths])
    if args.quit_after is not None:
        def _quit() -> None:
            if win.controller.pool.tasks:  # opening what was given: report when it is in
                QTimer.singleShot(200, _quit)
                return
            s = win.session
            footage = s.video_path.name if s.video_path else "none"
            n = len(s.result.candidates) if s.result is not None else 0
            print(f"workbench-gui: started on platform {QApplication.platformName()}, "
                  f"window {win.width()}x{win.height()}, footage {footage}, "
                  f"imagery {len(s.tile_paths)}, candidates {n}, "
                  f"locate {'enabled' if win.act_locate.isEnabled() else 'disabled'}",
                  file=sys.stderr)
            win.close()
            QApplication.quit()

        QTimer.singleShot(int(args.quit_after * 1000), _quit)
    code = app.exec()  # type: ignore[attr-defined]
    # destroy the window while the QApplication still exists: left to the end of this
    # function, the order is arbitrary and could crash on exit (seen under Xvfb after
    # opening a case)
    from PyQt6 import sip

    sip.delete(win)
    return int(code)


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("QT_AUTO_SCREEN_SCALE_FACTOR", "1")
    sys.exit(main())
