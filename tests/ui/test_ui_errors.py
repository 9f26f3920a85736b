"""Bad input in the GUI shows a clear one-line message and leaves the session usable;
plus cancel, the close prompt, remembered settings and the manual-keyframe scrubber."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PyQt6")
pytestmark = pytest.mark.gui

from test_ui_support import (  # noqa: E402
    make_case,
    make_case_data,
    make_synthetic,
    open_window,
)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return make_case_data(tmp_path_factory.mktemp("ui_errors"))


def _wait_message(qtbot: Any, win: Any) -> str:
    qtbot.waitUntil(lambda: win.message_bar.kind == "error" and win.message_bar.isVisible(),
                    timeout=20_000)
    return win.message_bar.text()


def test_corrupt_video_message_then_usable(window: Any, qtbot: Any, tmp_path: Path,
                                           data: dict[str, Any]) -> None:
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    window.controller.opener.open_footage(bad)
    text = _wait_message(qtbot, window)
    assert "corrupt.mp4" in text and "Traceback" not in text and "\n" not in text
    assert window.session.video_path is None
    # the session stays usable: a good video opens afterwards
    window.controller.opener.open_footage(data["video"])
    qtbot.waitUntil(lambda: window.session.video_info is not None, timeout=20_000)
    assert window.session.video_path == data["video"]
    assert not window.message_bar.isVisible()


def test_non_georeferenced_image_message(window: Any, qtbot: Any, tmp_path: Path,
                                         data: dict[str, Any]) -> None:
    import cv2
    import numpy as np

    png = tmp_path / "holiday_photo.png"
    cv2.imwrite(str(png), np.full((64, 64, 3), 128, np.uint8))
    window.controller.opener.add_imagery([png])
    text = _wait_message(qtbot, window)
    assert "holiday_photo.png" in text
    assert window.session.tile_paths == []
    assert not window.act_locate.isEnabled()
    # good imagery afterwards works
    window.controller.opener.add_imagery([data["syn"].tile_path])
    qtbot.waitUntil(lambda: len(window.session.tile_paths) == 1, timeout=20_000)


def test_newer_and_corrupt_case_files(window: Any, qtbot: Any, tmp_path: Path,
                                      data: dict[str, Any]) -> None:
    c, s = window.controller, window.session
    assert c.open_case(data["case"])
    assert s.case is not None and s.result is not None
    newer = tmp_path / "newer.wbcase"
    shutil.copyfile(data["case"], newer)
    with sqlite3.connect(newer) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    assert not c.open_case(newer)
    text = window.message_bar.text()
    assert "newer.wbcase" in text and "99" in text
    assert s.case_path == data["case"]  # still on the previous case
    assert s.decisions() == {}  # and it still answers
    garbage = tmp_path / "garbage.wbcase"
    garbage.write_bytes(b"this is not a database" * 100)
    assert not c.open_case(garbage)
    assert "garbage.wbcase" in window.message_bar.text()
    assert s.case_path == data["case"]


def test_compare_shows_missing_imagery(window: Any, qtbot: Any, tmp_path: Path,
                                       data: dict[str, Any]) -> None:
    syn = make_synthetic(tmp_path / "moved")
    case = make_case(syn, data["video"], tmp_path / "m.wbcase")
    syn.tile_path.unlink()  # the raster was moved away after the case
    assert window.controller.open_case(case)
    qtbot.waitUntil(lambda: "cannot show the imagery" in window.compare.title.text(),
                    timeout=20_000)
    assert "tile.tif" in window.message_bar.text()
    window.candidates.select_rank(2)  # still usable
    assert window.controller.review.current_rank == 2


def test_cancel_locate_leaves_nothing(window: Any, qtbot: Any, data: dict[str, Any]) -> None:
    c, s = window.controller, window.session
    c.opener.open_paths([data["video"], data["syn"].tile_path])
    qtbot.waitUntil(lambda: s.video_info is not None and len(s.tile_paths) == 1,
                    timeout=20_000)
    c.start_locate()
    assert c.job is not None and window.act_cancel.isEnabled()
    c.cancel_job()
    qtbot.waitUntil(lambda: c.job is None, timeout=60_000)
    assert s.case is None
    assert "cancelled" in window.locate_panel.stage.text().lower()
    assert not list(s.autosave_dir.glob("*.wbcase"))
    assert window.act_locate.isEnabled() and not window.act_cancel.isEnabled()


def test_close_asks_before_discarding_untitled(qtbot: Any, tmp_path: Path,
                                               data: dict[str, Any]) -> None:
    from PyQt6.QtWidgets import QMessageBox

    win = open_window(qtbot, tmp_path)
    autosaved = tmp_path / "autosave" / "x.wbcase"
    autosaved.parent.mkdir()
    shutil.copyfile(data["case"], autosaved)
    assert win.controller.open_case(autosaved)
    assert win.session.untitled and "untitled" in win.windowTitle()
    answers = [QMessageBox.StandardButton.Cancel]
    win.controller.ask_save_discard = lambda: answers.pop(0)
    assert not win.close()  # cancelled: still open, nothing lost
    assert win.isVisible() and autosaved.exists() and win.session.case is not None
    answers.append(QMessageBox.StandardButton.Discard)
    assert win.close()
    assert not autosaved.exists()


def test_layout_and_settings_remembered(qtbot: Any, tmp_path: Path) -> None:
    from workbench_ui.main_window import DEFAULT_SIZE, default_size

    assert default_size(1366, 768 - 40) == (1280, 688)  # laptop with a 40 px taskbar
    assert default_size(1920, 1040) == DEFAULT_SIZE
    assert DEFAULT_SIZE[0] <= 1366 and DEFAULT_SIZE[1] <= 768 - 40
    ini = tmp_path / "remember.ini"
    win = open_window(qtbot, tmp_path, ini)
    avail0 = win.screen().availableGeometry()
    first = default_size(avail0.width(), avail0.height())
    assert abs(win.width() - max(first[0], win.minimumSizeHint().width())) <= 4
    assert win.frameGeometry().height() <= avail0.height() or win.height() == \
        win.minimumSizeHint().height()
    assert win.minimumSizeHint().width() <= 1024  # usable on small screens, too
    win.resize(1100, 700)
    size = (win.width(), win.height())
    assert size == (1100, 700)
    win.compare.link_box.setChecked(False)
    win.dock_audit.hide()
    assert win.close()
    again = open_window(qtbot, tmp_path, ini)
    # restoreGeometry() keeps the window on the screen (offscreen: 800x600 by default)
    avail = again.screen().availableGeometry()
    expect = max(min(size[0], avail.width()), again.minimumSizeHint().width())
    assert abs(again.width() - expect) <= 4  # (window frame)
    assert again.width() != first[0] or size[0] == first[0]
    assert not again.compare.link_box.isChecked()
    assert not again.dock_audit.isVisible()
    again.reset_layout()
    assert again.dock_point.isVisible()
    again.close()


@pytest.mark.slow
def test_scrubber_and_manual_keyframe(window: Any, qtbot: Any, data: dict[str, Any]) -> None:
    from PyQt6.QtCore import Qt

    c, s, f = window.controller, window.session, window.frames
    assert c.open_case(data["case"])
    c.opener.open_footage(data["video"])
    qtbot.waitUntil(lambda: s.video_info is not None, timeout=20_000)
    window.center_tabs.setCurrentWidget(f)
    f.slider.setValue(5)
    qtbot.waitUntil(lambda: f.frame_index == 5, timeout=20_000)
    f.setFocus()
    qtbot.keyClick(f, Qt.Key.Key_Period)  # one frame forward
    qtbot.waitUntil(lambda: f.frame_index == 6, timeout=20_000)
    assert f.spin.value() == 6 and f.add_btn.isEnabled()
    before = window.strip.count()
    f.add_btn.click()
    assert window.strip.count() == before + 1
    manual = [k for k in s.keyframes if k.manual]
    assert len(manual) == 1 and manual[0].frame_index == 6
    assert "keyframe" in [e.action for e in s.audit_log()]
    # ... and locate again with it: the new run becomes the case's result
    runs = [e.action for e in s.audit_log()].count("locate")
    assert window.act_relocate.isEnabled()
    window.act_relocate.trigger()
    assert c.job is not None
    qtbot.waitUntil(lambda: c.job is None, timeout=120_000)
    assert window.message_bar.kind != "error", window.message_bar.text()
    assert [e.action for e in s.audit_log()].count("locate") == runs + 1
    assert "m0001" in [k.id for k in s.keyframes]


def test_workbench_gui_subcommand_registered() -> None:
    from workbench.cli import build_parser

    args = build_parser().parse_args(["gui", "x.wbcase"])
    assert args.command == "gui" and args.paths == ["x.wbcase"]
