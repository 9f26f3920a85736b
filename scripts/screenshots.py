#!/usr/bin/env python
"""Render screenshots of each main view of the desktop workbench into docs/screenshots/.

Runs the real app on the demo data (``workbench-fixtures demo``), offscreen by
default (set ``QT_QPA_PLATFORM=xcb`` under Xvfb to use a real X server)::

    .venv/bin/python scripts/screenshots.py [--demo DIR] [--out docs/screenshots]

The window is 1366x768 (a common laptop screen).  PNGs are palette-quantised to
stay small (< 300 KB each).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MAX_BYTES = 300_000


def _catalog(paths: list[Path]) -> object:
    from workbench.imagery.catalog import TileCatalog

    return TileCatalog.from_paths(paths)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, default=Path(tempfile.gettempdir()) / "wb-demo",
                        help="demo data folder (generated when missing)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from workbench_fixtures.cli import make_demo

    demo = make_demo(args.demo)
    from PyQt6.QtCore import QSettings, QTimer
    from PyQt6.QtGui import QPixmap
    from PyQt6.QtWidgets import QApplication, QWidget
    from workbench_ui.app import make_app

    app = make_app([sys.argv[0]])
    assert isinstance(app, QApplication)
    from workbench_ui.main_window import MainWindow
    from workbench_ui.session import Session

    work = Path(tempfile.mkdtemp(prefix="wb-shots-"))
    settings = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(session=Session(autosave_dir=work / "autosave"), settings=settings)
    win.controller.ask_save_discard = lambda: __import__(  # type: ignore[method-assign]
        "PyQt6.QtWidgets").QtWidgets.QMessageBox.StandardButton.Discard
    win.resize(1366, 768)
    win.show()
    args.out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []

    def pump(seconds: float = 0.2) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    def wait(cond: Callable[[], bool], timeout: float = 300.0, what: str = "") -> None:
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise SystemExit(f"screenshots: timed out waiting for {what}")
            app.processEvents()
            time.sleep(0.01)

    def save(widget: QWidget | QPixmap, name: str) -> None:
        pump(0.3)
        pm = widget if isinstance(widget, QPixmap) else widget.grab()
        path = args.out / f"{name}.png"
        raw = work / f"{name}.png"
        pm.save(str(raw), "PNG")
        from PIL import Image

        with Image.open(raw) as im:
            rgb = im.convert("RGB")
            rgb.save(path, optimize=True)
            if path.stat().st_size > MAX_BYTES:  # palette: small, keeps UI colours exact
                q = rgb.quantize(colors=256, method=Image.Quantize.FASTOCTREE,
                                 dither=Image.Dither.NONE)
                q.save(path, optimize=True)
        size = path.stat().st_size
        print(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}: "
              f"{size // 1024} KB")
        if size > MAX_BYTES:
            print(f"screenshots: warning: {path.name} is larger than {MAX_BYTES} bytes")
        shots.append(path)

    c, s = win.controller, win.session
    pump(0.5)
    save(win, "01_start")

    c.opener.open_paths([Path(demo["video"]), Path(demo["town"]), Path(demo["other_town"])])
    wait(lambda: s.video_info is not None and len(s.tile_paths) == 2, 60, "inputs")
    wait(lambda: win.frames.image is not None, 30, "first frame")
    win.frames.slider.setValue(60)
    wait(lambda: win.frames.frame_index == 60, 30, "frame 60")
    save(win, "02_inputs_loaded")

    c.start_locate()
    job = c.job
    assert job is not None
    seen: list[str] = []
    job.progress.connect(lambda st, _f: seen.append(st))
    wait(lambda: any("match" in st for st in seen) or c.job is None, 300, "matching")
    pump(1.0)
    save(win, "03_locate_progress")
    wait(lambda: c.job is None, 600, "locate")
    if s.case is None:
        raise SystemExit(f"screenshots: locate failed: {win.message_bar.text()}")
    wait(lambda: win.compare.candidate is not None, 60, "comparison")
    save(win, "04_candidates_compare")

    win.compare.lines_box.setChecked(True)
    cand = win.compare.candidate
    assert cand is not None
    kx, ky = cand.keyframe_xy[len(cand.keyframe_xy) // 2]
    c.review.pick_point(float(kx), float(ky))
    save(win, "05_point_geolocation")
    win.compare.lines_box.setChecked(False)

    win.compare.set_mode(overlay=True)
    win.compare.opacity.setValue(70)
    win.compare.swipe.setValue(55)
    save(win, "06_overlay_swipe")
    win.compare.set_mode(overlay=False)

    first = s.keyframes[0]
    win.strip.select(first.id)
    win.frames.mask_box.setChecked(True)
    save(win, "07_keyframe_mask")
    win.center_tabs.setCurrentWidget(win.compare)

    def grab_dialog(name: str, attr: str, prepare: Callable[[QWidget], None]) -> None:
        def later() -> None:
            dlg = getattr(c.review if attr == "decision_dialog" else c, attr)
            prepare(dlg)
            pump(0.3)
            save(dlg, name)
            dlg.reject()

        QTimer.singleShot(300, later)

    def fill_decision(dlg: QWidget) -> None:
        dlg.note_edit.setPlainText(  # type: ignore[attr-defined]
            "Water tower, the road fork and the field boundary match the keyframe; "
            "shadow direction agrees with the imagery date.")

    grab_dialog("08_decision_dialog", "decision_dialog", fill_decision)
    c.review.ask_decide(True)

    c.review.decide(cand.rank, True, "Water tower, road fork and field boundary match.")
    report_dir = work / "report"

    def run_export(dlg: QWidget) -> None:
        dlg.folder.setText(str(report_dir))  # type: ignore[attr-defined]
        dlg.boxes["pdf"].setChecked(False)  # type: ignore[attr-defined]
        dlg.start_export()  # type: ignore[attr-defined]
        wait(lambda: dlg.task is None, 120, "export")  # type: ignore[attr-defined]

    grab_dialog("09_report_dialog", "report_dialog", run_export)
    c.ask_export()

    win.dock_audit.raise_()
    save(win, "10_audit_log")
    win.dock_point.raise_()

    # an honest "not found": the same footage against the other town only
    assert c.save_as(work / "demo.wbcase")
    c.ask_close_case()
    s.set_imagery([Path(demo["other_town"])], _catalog([Path(demo["other_town"])]))
    c.start_locate()
    wait(lambda: c.job is None, 600, "locate (not found)")
    save(win, "11_not_found")

    c.shutdown()
    win.close()
    print(f"{len(shots)} screenshots in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
