#!/usr/bin/env python
"""Render screenshots of each main view of the desktop workbench into docs/screenshots/.

Runs the real app on the demo data (``workbench-fixtures demo``), offscreen by
default; the screenshots in docs/ are taken from a real X window under Xvfb::

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1366x768x24" \
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


def _write_layer(path: Path, lon: float, lat: float) -> Path:
    """An illustrative context layer around ``lon, lat``: two areas of control and a
    checkpoint, classed by ``controller`` (drawn for the screenshots, not real data)."""
    import json

    d = 0.004

    def area(x0: float, x1: float, name: str) -> dict[str, object]:
        ring = [[x0, lat - d], [x1, lat - d], [x1, lat + d], [x0, lat + d], [x0, lat - d]]
        return {"type": "Feature", "properties": {"controller": name, "name": name},
                "geometry": {"type": "Polygon", "coordinates": [ring]}}

    fc = {"type": "FeatureCollection", "features": [
        area(lon - 2 * d, lon + 0.0012, "Group A"), area(lon + 0.0012, lon + 2 * d, "Group B"),
        {"type": "Feature", "properties": {"controller": "Group B", "name": "checkpoint"},
         "geometry": {"type": "Point", "coordinates": [lon + 0.0018, lat - 0.0016]}}]}
    path.write_text(json.dumps(fc), encoding="utf-8")
    return path


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

    # --- the overview map, a ground click, the ruler, share-ready figures ---------------
    from PyQt6.QtCore import Qt
    from PyQt6.QtTest import QTest

    case = s.case
    assert case is not None and s.result is not None
    c1 = s.result.candidates[0]
    case.set_claim("Posted as a strike on the fuel depot", lonlat=(c1.lon + 0.0021,
                                                                   c1.lat + 0.0011))
    case.add_context_layer(_write_layer(work / "control.geojson", c1.lon, c1.lat),
                           name="areas of control (illustrative)",
                           source="drawn for the screenshots", as_of="2024-05",
                           class_attribute="controller")
    s.decisionsChanged.emit()  # the map and the panels re-read the case
    win.dock_map.raise_()
    win.resizeDocks([win.dock_map], [560], Qt.Orientation.Horizontal)  # as a user would
    win.resizeDocks([win.dock_map], [470], Qt.Orientation.Vertical)
    pump(0.5)
    win.map.view.fit()
    win.center_tabs.setCurrentWidget(win.compare)
    win.compare.set_mode(overlay=False)
    win.compare.right.fit()
    pane = win.compare.right
    ch, cw = win.compare.crop.image.shape[:2]  # type: ignore[union-attr]
    QTest.mouseClick(pane.viewport(), Qt.MouseButton.LeftButton,
                     pos=pane.map_px_to_viewport(cw * 0.45, ch * 0.55).toPoint())
    save(win, "12_map_ground_click")

    win.act_ruler.trigger()
    marks = win.compare.landmarks
    for _n, _k, (x, y) in (marks[0], marks[-1]):
        QTest.mouseClick(pane.viewport(), Qt.MouseButton.LeftButton,
                         pos=pane.map_px_to_viewport(x, y).toPoint())
        pump(0.1)
    save(win, "13_ruler")
    win.act_ruler.trigger()

    from PyQt6.QtGui import QPixmap as _QPixmap

    for kind in ("side_by_side", "map"):
        fig = win.map.export(kind, work / f"figure-{kind}.png")
        win.map.export(kind, work / f"figure-{kind}.svg")  # the SVG path is exercised too
        save(_QPixmap(str(fig)), f"14_figure_{kind}")
    win.reset_layout()

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
