"""The glitches an investigator met (issue 12), each driven through the real window:
a case given on the command line loads its imagery, keyframes and candidates; closing a
case clears the comparison; banners do not move the layout; progress labels are plain
text; the empty point panel's labels are not clipped; Frames plays and pauses; imagery
can be removed; the candidates table has a time column; picked pixels carry the
"projected at ground level" warning."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PyQt6")
pytestmark = pytest.mark.gui



def _fresh(case_file: dict[str, Any], tmp_path: Path) -> Path:
    p = tmp_path / "case.wbcase"
    shutil.copyfile(case_file["case"], p)
    return p


def test_case_from_command_line_loads_imagery_frames_and_candidates(
        window: Any, qtbot: Any, case_file: dict[str, Any], tmp_path: Path) -> None:
    # what `workbench gui CASE` does after showing the window
    window.controller.opener.open_paths([_fresh(case_file, tmp_path)])
    s = window.session
    qtbot.waitUntil(lambda: len(s.tile_paths) == 1 and s.video_info is not None,
                    timeout=20_000)
    assert s.tile_paths[0].resolve() == Path(case_file["tile"]).resolve()
    assert "No imagery" not in window.locate_panel.imagery_label.text()
    assert window.locate_panel.imagery.count() == 1
    assert window.act_locate.isEnabled() and window.locate_panel.locate_btn.isEnabled()
    assert window.candidates.model.rowCount() == 2
    assert window.strip.count() >= 1
    qtbot.waitUntil(lambda: window.frames.image is not None, timeout=20_000)


def test_closing_the_case_clears_the_comparison(window: Any, qtbot: Any,
                                                case_file: dict[str, Any],
                                                tmp_path: Path) -> None:
    c = window.controller
    assert c.open_case(_fresh(case_file, tmp_path))
    qtbot.waitUntil(lambda: window.compare.candidate is not None, timeout=20_000)
    c.ask_close_case()
    assert window.session.case is None
    assert window.compare.candidate is None
    assert window.compare.left.image_size() == (0, 0)
    assert window.compare.right.image_size() == (0, 0)
    assert "Candidate" not in window.compare.title.text()
    assert window.point_panel.fix is None
    # a comparison still being prepared when the case closes never shows up later
    again = tmp_path / "again"
    again.mkdir()
    assert c.open_case(_fresh(case_file, again))
    c.review.select_candidate(2)
    c.ask_close_case()
    qtbot.waitUntil(lambda: not c.pool.tasks, timeout=20_000)
    qtbot.wait(100)  # let queued results arrive
    assert window.compare.candidate is None
    assert window.compare.left.image_size() == (0, 0)


def test_banner_does_not_move_the_layout(window: Any, qtbot: Any) -> None:
    tabs = window.center_tabs
    before = tabs.mapTo(window, tabs.rect().topLeft())
    window.views.info("Reading imagery metadata…")
    qtbot.wait(50)
    during = tabs.mapTo(window, tabs.rect().topLeft())
    window.message_bar.hide()
    qtbot.wait(50)
    after = tabs.mapTo(window, tabs.rect().topLeft())
    assert before == during == after
    assert window.message_bar.text() == ""


def test_progress_label_is_plain_text(window: Any) -> None:
    from PyQt6.QtCore import Qt

    lp = window.locate_panel
    lp.set_progress("matching 'kf0003' <against> tile & co", 0.5)
    assert lp.stage.textFormat() == Qt.TextFormat.PlainText
    assert lp.stage.text() == "matching 'kf0003' <against> tile & co"
    lp.job_finished("Locate failed: can't read 'a.tif'")
    assert "&#x27;" not in lp.stage.text() and "'a.tif'" in lp.stage.text()


def test_empty_point_panel_labels_are_not_clipped(window: Any, qtbot: Any) -> None:
    window.dock_point.show()
    window.dock_point.raise_()
    qtbot.wait(50)
    panel = window.point_panel
    for lab in panel.form_labels():
        assert lab.height() >= lab.sizeHint().height(), lab.text()
        assert lab.width() >= lab.minimumSizeHint().width(), lab.text()
    assert panel.minimumSizeHint().height() <= panel.sizeHint().height()


def test_frames_play_pause(window: Any, qtbot: Any, case_file: dict[str, Any]) -> None:
    window.controller.opener.open_paths([case_file["video"]])
    qtbot.waitUntil(lambda: window.session.video_info is not None, timeout=20_000)
    f = window.frames
    assert f.play_btn.isEnabled() and not f.playing
    qtbot.waitUntil(lambda: f.frame_index == 0, timeout=20_000)
    f.play_btn.click()
    assert f.playing and f.play_btn.text().startswith("⏸")
    qtbot.waitUntil(lambda: f.frame_index >= 3, timeout=20_000)
    f.play_btn.click()
    assert not f.playing and f.play_btn.text().startswith("▶")
    stopped = f.slider.value()
    qtbot.wait(400)
    assert f.slider.value() == stopped
    # playing stops by itself on the last frame
    f.slider.setValue(f.slider.maximum() - 1)
    f.play_btn.click()
    qtbot.waitUntil(lambda: not f.playing, timeout=20_000)
    assert f.slider.value() == f.slider.maximum()


def test_remove_imagery(window: Any, qtbot: Any, case_file: dict[str, Any]) -> None:
    window.controller.opener.open_paths([case_file["video"], case_file["tile"]])
    s = window.session
    qtbot.waitUntil(lambda: len(s.tile_paths) == 1 and s.video_info is not None,
                    timeout=20_000)
    lp = window.locate_panel
    assert not lp.remove_btn.isEnabled()
    lp.imagery.setCurrentRow(0)
    assert lp.remove_btn.isEnabled()
    lp.remove_btn.click()
    assert s.tile_paths == [] and s.tiles == []
    assert lp.imagery.count() == 0 and "No imagery" in lp.imagery_label.text()
    assert not window.act_locate.isEnabled()


def test_candidates_time_column(window: Any, case_file: dict[str, Any],
                                tmp_path: Path) -> None:
    from workbench_ui.candidates import COLUMNS

    assert window.controller.open_case(_fresh(case_file, tmp_path))
    col = COLUMNS.index("Time")
    m = window.candidates.model
    assert m.data(m.index(0, col)) == "0:01.68"


def test_picked_pixel_warns_about_tall_structures(window: Any, case_file: dict[str, Any],
                                                  tmp_path: Path) -> None:
    c = window.controller
    assert c.open_case(_fresh(case_file, tmp_path))
    panel = window.point_panel
    assert not panel.ground_warning.isVisible()
    c.review.pick_point(160.0, 120.0)
    assert panel.fix is not None
    assert panel.ground_warning.isVisibleTo(panel)
    text = panel.ground_warning.text().lower()
    assert "ground level" in text and "roof" in text
