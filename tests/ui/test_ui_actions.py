"""Keyboard shortcuts, drag and drop, candidates table sorting and the point record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PyQt6")
pytestmark = pytest.mark.gui

from test_ui_support import open_window  # noqa: E402


def test_shortcuts_drive_candidates_and_views(window: Any, qtbot: Any,
                                              case_file: dict[str, Any]) -> None:
    from PyQt6.QtCore import Qt

    c = window.controller
    assert c.open_case(case_file["case"])
    assert c.review.current_rank == 1
    qtbot.waitUntil(lambda: window.compare.candidate is not None, timeout=20_000)
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    assert c.review.current_rank == 2
    qtbot.keyClick(window, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert c.review.current_rank == 1
    assert window.compare.tabs.currentIndex() == 0
    qtbot.keyClick(window, Qt.Key.Key_O)
    assert window.compare.tabs.currentIndex() == 1
    mask_before = window.compare.mask_box.isChecked()
    qtbot.keyClick(window, Qt.Key.Key_M)
    assert window.compare.mask_box.isChecked() != mask_before
    # ... and the HUD tint on the keyframe follows (M again: back as it was)
    left = window.compare.left
    qtbot.waitUntil(lambda: left.mask_visible() != mask_before, timeout=20_000)
    qtbot.keyClick(window, Qt.Key.Key_M)
    assert window.compare.mask_box.isChecked() == mask_before
    qtbot.waitUntil(lambda: left.mask_visible() == mask_before, timeout=20_000)
    # every action with a shortcut is reachable without the menu
    keys = {a.shortcut().toString() for a in window.actions() if not a.shortcut().isEmpty()}
    assert {"Ctrl+O", "Ctrl+I", "Ctrl+L", "Ctrl+S", "Ctrl+E", "C", "R", "Esc"} <= keys
    assert len(keys) == len([a for a in window.actions() if not a.shortcut().isEmpty()])


def test_candidates_sort_and_select(window: Any, case_file: dict[str, Any]) -> None:
    from PyQt6.QtCore import Qt
    from workbench_ui.candidates import COLUMNS

    c = window.controller
    assert c.open_case(case_file["case"])
    table = window.candidates
    table.table.sortByColumn(COLUMNS.index("Confidence"), Qt.SortOrder.AscendingOrder)
    first = table.proxy.index(0, 0).data()
    assert first == "2"  # the less confident candidate first
    table.table.selectRow(0)
    assert c.review.current_rank == 2 and table.selected_rank() == 2


def test_drop_files_opens_them_by_kind(window: Any, qtbot: Any,
                                       case_file: dict[str, Any]) -> None:
    from PyQt6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PyQt6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(case_file["video"])),
                  QUrl.fromLocalFile(str(case_file["tile"]))])
    event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.session.video_info is not None
                    and len(window.session.tile_paths) == 1, timeout=20_000)
    assert window.act_locate.isEnabled()


def test_point_recorded_in_case(window: Any, qtbot: Any, case_file: dict[str, Any]) -> None:
    c, s = window.controller, window.session
    assert c.open_case(case_file["case"])
    c.review.pick_point(160.0, 120.0)
    fix = window.point_panel.fix
    assert fix is not None and window.point_panel.record_btn.isEnabled()
    window.point_panel.label_edit.setText("impact point")
    window.point_panel.record_btn.click()
    pois = s.case.points_of_interest()
    assert len(pois) == 1 and pois[0].label == "impact point"
    assert pois[0].lat == pytest.approx(fix.lat, abs=1e-7)
    assert "point_of_interest" in [e.action for e in s.audit_log()]


def test_unsaved_cases_are_offered_for_recovery(qtbot: Any, tmp_path: Path,
                                                case_file: dict[str, Any]) -> None:
    import shutil

    left_over = tmp_path / "autosave" / "strike-20260101-000000.wbcase"
    left_over.parent.mkdir()
    shutil.copyfile(case_file["case"], left_over)
    win = open_window(qtbot, tmp_path)
    assert "Recover unsaved" in win.message_bar.text()
    recover = [a for a in win.recent_menu.actions() if "Recover unsaved" in a.text()]
    assert len(recover) == 1
    recover[0].trigger()  # the case is read in a worker, then opened
    qtbot.waitUntil(lambda: win.session.case_path == left_over, timeout=20_000)
    assert win.session.untitled
    # the case's footage is probed so the frame scrubber works without reopening it
    qtbot.waitUntil(lambda: win.session.video_info is not None, timeout=20_000)
    assert win.frames.slider.maximum() == win.session.video_info.frame_count - 1
    win.controller.ask_save_discard = lambda: __import__(
        "PyQt6.QtWidgets").QtWidgets.QMessageBox.StandardButton.Discard
    win.close()
