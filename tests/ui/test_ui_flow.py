"""The analyst's main flow, driven offscreen with pytest-qt on the demo footage and tiles:
open footage + imagery, locate in the background, select candidate 1, click a pixel,
confirm with a note, save, reopen, export.  (How responsive the window stays while a
locate runs is measured in ``benchmarks/bench_ui.py``, not asserted here.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workbench.case import Case

pytest.importorskip("PyQt6")
pytestmark = pytest.mark.gui

LOCATE_TIMEOUT_MS = 240_000


@pytest.fixture
def window(qtbot: Any, tmp_path: Path) -> Any:
    from test_ui_support import open_window

    win = open_window(qtbot, tmp_path)
    win.controller.ask_save_discard = lambda: pytest.fail("unexpected close prompt")
    yield win
    win.controller.shutdown()


def _open_demo(win: Any, qtbot: Any, demo_data: Path) -> None:
    # the town only (the distractor town doubles the matching time of this test)
    win.controller.opener.open_paths([demo_data / "strike.mp4", demo_data / "tiles/town.tif"])
    qtbot.waitUntil(lambda: win.session.video_info is not None and
                    len(win.session.tile_paths) == 1, timeout=30_000)
    assert win.act_locate.isEnabled()
    assert "strike.mp4" in win.locate_panel.footage.text()


@pytest.mark.slow
def test_main_flow(window: Any, qtbot: Any, demo_data: Path, tmp_path: Path) -> None:
    from PyQt6.QtCore import Qt

    win, s, c = window, window.session, window.controller
    _open_demo(win, qtbot, demo_data)

    # --- locate in the background: the window keeps handling events meanwhile ----------
    # with the imagery's stated accuracy entered: every radius includes it
    assert win.locate_panel.imagery_accuracy_m() is None  # "not stated" by default
    win.locate_panel.accuracy.setValue(2.5)
    stages: list[str] = []
    c.start_locate()
    assert c.job is not None
    c.job.progress.connect(lambda st, _f: stages.append(st))
    assert win.locate_panel.cancel_btn.isEnabled() and not win.act_locate.isEnabled()
    qtbot.waitUntil(lambda: c.job is None, timeout=LOCATE_TIMEOUT_MS)
    assert s.case is not None, win.message_bar.text()
    assert len(set(stages)) >= 2  # progress reached the window while the job ran
    assert s.untitled and s.case_path is not None and s.case_path.parent == s.autosave_dir

    # --- candidates + comparison -----------------------------------------------------
    assert s.result is not None and s.result.candidates
    acc, source = s.result.imagery_accuracy_of(s.result.candidates[0].rank)
    assert acc == pytest.approx(2.5) and "desktop app" in source
    with Case.open(s.case_path, readonly=True) as case:
        entry = [e for e in case.audit_log() if e.action == "locate"][-1]
    assert entry.details["method"]["imagery_accuracy_m"] == pytest.approx(2.5)
    assert win.candidates.model.rowCount() == len(s.result.candidates)
    assert win.strip.count() == len(s.keyframes) > 0
    win.candidates.table.clearSelection()
    assert win.candidates.select_rank(1)
    assert c.review.current_rank == 1
    qtbot.waitUntil(lambda: win.compare.candidate is not None
                    and win.compare.candidate.rank == 1, timeout=20_000)
    assert win.compare.candidate is not None and win.compare.candidate.rank == 1
    assert win.compare.left.marker_count() > 0
    assert win.compare.left.marker_count() == win.compare.right.marker_count()

    # --- click a keyframe pixel -> ground position -----------------------------------
    win.center_tabs.setCurrentWidget(win.compare)
    win.compare.set_mode(overlay=False)
    view = win.compare.left
    view.fit()
    kx, ky = s.result.candidates[0].keyframe_xy[0]
    pos = view.map_px_to_viewport(kx, ky).toPoint()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    fix = win.point_panel.fix
    assert fix is not None and abs(fix.x - kx) < 3 and abs(fix.y - ky) < 3
    assert fix.components is not None and fix.components.imagery_m == pytest.approx(2.5)
    assert fix.uncertainty_m >= 2.5
    # the field shows the case's stated accuracy, so Locate again keeps it and its source
    assert win.locate_panel.imagery_accuracy_m() == pytest.approx(2.5)
    assert win.locate_panel.imagery_accuracy_source() == source
    assert win.point_panel.mgrs.text().startswith("36N")
    assert "±" in win.point_panel.uncert.text()
    win.point_panel.copy()
    from PyQt6.QtGui import QGuiApplication

    assert f"{fix.lat:.6f}" in QGuiApplication.clipboard().text()

    # --- confirm with a note (through the real dialog) --------------------------------
    note = "water tower and road fork match; shadows agree"

    c.review.ask_decide(True)
    dlg = c.review.decision_dialog
    assert dlg is not None and dlg.isVisible()
    assert not dlg.record_btn.isEnabled()
    dlg.note_edit.setPlainText(note)
    qtbot.mouseClick(dlg.record_btn, Qt.MouseButton.LeftButton)
    assert s.decisions() == {1: "confirmed"}
    from workbench_ui.candidates import COLUMNS

    assert "confirmed" in win.candidates.model.data(
        win.candidates.model.index(0, COLUMNS.index("Decision")))
    actions = [e.action for e in s.audit_log()]
    assert "confirm" in actions
    assert win.audit_panel.count() == len(actions)

    # --- save, reopen --------------------------------------------------------------------
    autosaved = s.case_path
    target = tmp_path / "saved" / "strike"
    target.parent.mkdir()
    assert c.save_as(target)
    saved = target.with_name("strike.wbcase")
    assert s.case_path == saved and saved.is_file() and not s.untitled
    assert not autosaved.exists()
    assert "strike.wbcase" in win.windowTitle()
    c.ask_close_case()
    assert s.case is None and win.candidates.model.rowCount() == 0
    assert c.open_case(saved)
    assert s.decisions() == {1: "confirmed"}
    assert s.decision_notes()[1] == note
    assert str(saved.resolve()) in c.opener.recent_cases()

    # --- export -----------------------------------------------------------------------------
    from workbench_ui.report_dialog import ReportDialog

    out = tmp_path / "report"
    dlg = ReportDialog(saved, out, win)
    qtbot.addWidget(dlg)
    dlg.boxes["pdf"].setChecked(False)  # keep the test fast: HTML, GeoJSON, KML
    dlg.start_export()
    qtbot.waitUntil(lambda: dlg.task is None, timeout=60_000)
    assert dlg.written, dlg.status.text()
    assert {p.suffix for p in dlg.written} == {".html", ".geojson", ".kml"}
    assert all(p.is_file() and p.stat().st_size > 0 for p in dlg.written)


def test_open_demo_from_help_menu(window: Any, qtbot: Any, demo_data: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import workbench_ui.opener

    monkeypatch.setattr(workbench_ui.opener, "demo_dir", lambda: demo_data)  # already generated
    window.act_demo.trigger()
    qtbot.waitUntil(lambda: window.session.video_info is not None
                    and len(window.session.tile_paths) == 2, timeout=120_000)
    assert window.session.video_path == demo_data / "strike.mp4"
    assert window.act_locate.isEnabled()


def test_imagery_accuracy_field_follows_the_open_case(qtbot: Any) -> None:
    """The Locate panel's field shows what the open case's run stated: one value
    (editable; an edit is the analyst's own entry), per-raster values (kept, not
    editable: one field cannot show them), or nothing ("not stated")."""
    from workbench_ui.locate_panel import LocatePanel
    from workbench_ui.models import APP_ACCURACY_SOURCE

    panel = LocatePanel()
    qtbot.addWidget(panel)
    assert panel.imagery_accuracy_m() is None and panel.accuracy.text() == "not stated"
    panel.show_case_accuracy({"town.tif": 3.0}, "analyst (workbench locate)")
    assert not panel.accuracy.isEnabled() and "town.tif 3 m" in panel.accuracy.toolTip()
    assert panel.imagery_accuracy_m() == {"town.tif": 3.0}
    assert panel.imagery_accuracy_source() == "analyst (workbench locate)"
    panel.show_case_accuracy(2.0, "analyst (workbench locate)")
    assert panel.accuracy.isEnabled() and panel.imagery_accuracy_m() == pytest.approx(2.0)
    assert panel.imagery_accuracy_source() == "analyst (workbench locate)"
    panel.accuracy.setValue(4.5)
    assert panel.imagery_accuracy_source() == APP_ACCURACY_SOURCE
    panel.show_case_accuracy(None, None)  # a case without one, or no case
    assert panel.accuracy.isEnabled() and panel.imagery_accuracy_m() is None
    assert "per raster" not in panel.accuracy.toolTip()
