"""The report dialog: reports into a folder that holds other files, and path redaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PyQt6")
pytestmark = pytest.mark.gui

from test_ui_support import make_case_data  # noqa: E402


def _export(qtbot: Any, dlg: Any) -> None:
    dlg.start_export()
    qtbot.waitUntil(lambda: dlg.task is None and not dlg._retry_forced, timeout=120_000)


def test_folder_with_other_files_asks_then_writes_beside_them(qtbot: Any,
                                                              tmp_path: Path) -> None:
    from workbench_ui.report_dialog import ReportDialog

    data = make_case_data(tmp_path / "data")
    out = tmp_path / "shared"
    out.mkdir()
    (out / "notes.txt").write_text("the analyst's own file")
    dlg = ReportDialog(data["case"], out)
    qtbot.addWidget(dlg)
    for fmt, box in dlg.boxes.items():
        box.setChecked(fmt in ("geojson", "kml"))
    asked: list[str] = []

    def refuse(message: str) -> bool:
        asked.append(message)
        return False

    dlg.ask_force = refuse
    _export(qtbot, dlg)
    assert len(asked) == 1 and "notes.txt" in asked[0]
    assert not dlg.written and "Export failed" in dlg.status.text()
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]  # nothing written

    dlg.ask_force = lambda message: asked.append(message) is None  # yes, write beside
    _export(qtbot, dlg)
    assert len(asked) == 2
    assert {p.suffix for p in dlg.written} == {".geojson", ".kml"}
    assert (out / "notes.txt").read_text() == "the analyst's own file"  # kept
    assert all(p.is_file() for p in dlg.written)
    # the redaction box is on by default: the analyst's folders are not in the files
    assert dlg.redact.isChecked()
    assert str(tmp_path) not in (out / f"{data['case'].stem}.geojson").read_text()
