"""The shadow panel: foot then tip clicks, start again, and the record request."""

from __future__ import annotations

import pytest

pytest.importorskip("PyQt6")

from PyQt6.QtCore import Qt
from workbench_ui.shadow_panel import ShadowPanel

pytestmark = pytest.mark.gui


def test_two_clicks_then_record(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = ShadowPanel()
    qtbot.addWidget(panel)
    assert not panel.record_btn.isEnabled()
    panel.add_click(319.1, 179.7)
    assert not panel.record_btn.isEnabled() and "foot: (319.1, 179.7)" in panel.points.text()
    panel.add_click(214.8, 148.6)
    assert panel.record_btn.isEnabled() and "tip: (214.8, 148.6)" in panel.points.text()
    with qtbot.waitSignal(panel.recordRequested) as sig:
        qtbot.mouseClick(panel.record_btn, Qt.MouseButton.LeftButton)
    assert sig.args == [319.1, 179.7, 214.8, 148.6]
    panel.add_click(10.0, 20.0)  # a third click starts a new pair
    assert panel.foot == (10.0, 20.0) and panel.tip is None
    assert not panel.record_btn.isEnabled()
    panel.show_result(["sun azimuth 129.4", "consistent with the shadow"])
    assert "consistent" in panel.result.text()
    qtbot.mouseClick(panel.clear_btn, Qt.MouseButton.LeftButton)
    assert panel.foot is None and panel.result.text() == ""
