"""The decision dialog cannot record the wrong decision: R opens it with the note
focused, typing (letters, spaces, "c", "r") never changes the choice, the record button
spells the decision out, and the evidence stays usable (the dialog is non-modal)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PyQt6")
pytestmark = pytest.mark.gui


NOTE = "no water tower here; the road bends the other way, c r C R and spaces"


def _open_on_candidate(win: Any, qtbot: Any, case: Path, rank: int) -> None:
    import shutil

    fresh = win.session.autosave_dir.parent / "decision.wbcase"  # each test its own copy
    shutil.copyfile(case, fresh)
    assert win.controller.open_case(fresh)
    assert win.candidates.select_rank(rank)
    assert win.controller.review.current_rank == rank
    qtbot.waitUntil(lambda: win.compare.candidate is not None
                    and win.compare.candidate.rank == rank, timeout=20_000)
    win.activateWindow()
    win.candidates.table.setFocus()


def test_r_then_typing_a_note_records_a_rejection(window: Any, qtbot: Any,
                                                  case_file: dict[str, Any]) -> None:
    from PyQt6.QtCore import Qt
    from PyQt6.QtWidgets import QApplication

    _open_on_candidate(window, qtbot, case_file["case"], 2)
    qtbot.keyClick(window.candidates.table, Qt.Key.Key_R)
    dlg = window.controller.review.decision_dialog
    assert dlg is not None and dlg.isVisible() and not dlg.isModal()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dlg.note_edit, timeout=5_000)
    assert dlg.reject_radio.isChecked()
    assert dlg.record_btn.text() == "Record rejection of candidate 2"
    assert not dlg.record_btn.isEnabled()  # no note yet
    # type into whatever has the focus, as a user would
    qtbot.keyClicks(QApplication.focusWidget(), NOTE)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert dlg.note() == NOTE
    assert dlg.reject_radio.isChecked() and not dlg.confirmed
    assert dlg.record_btn.text() == "Record rejection of candidate 2"
    # the evidence is still usable while the dialog is open
    assert window.isEnabled() and window.compare.isEnabled()
    qtbot.mouseClick(dlg.record_btn, Qt.MouseButton.LeftButton)
    assert not dlg.isVisible()
    case = window.session.case
    decision = case.decisions()[2]
    assert decision.status == "rejected" and decision.note == NOTE
    assert case.audit_log()[-1].action == "reject"
    assert window.session.decisions() == {2: "rejected"}


def test_clicking_the_other_choice_changes_the_button(window: Any, qtbot: Any,
                                                      case_file: dict[str, Any]) -> None:
    from PyQt6.QtCore import QPoint, Qt
    from PyQt6.QtWidgets import QApplication

    _open_on_candidate(window, qtbot, case_file["case"], 1)
    qtbot.keyClick(window.candidates.table, Qt.Key.Key_C)
    dlg = window.controller.review.decision_dialog
    assert dlg.record_btn.text() == "Record confirmation of candidate 1"
    # on the radio's indicator (its label does not span the whole dialog width)
    qtbot.mouseClick(dlg.reject_radio, Qt.MouseButton.LeftButton,
                     pos=QPoint(8, dlg.reject_radio.height() // 2))
    assert dlg.record_btn.text() == "Record rejection of candidate 1"
    # the click did not take the focus away from the note
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dlg.note_edit, timeout=5_000)
    qtbot.keyClicks(dlg.note_edit, "wrong bridge")
    # pressing C again in the window brings this dialog forward; it does not flip it
    window.controller.review.ask_decide(True)
    assert window.controller.review.decision_dialog is dlg and dlg.reject_radio.isChecked()
    qtbot.keyClick(dlg.note_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert window.session.case.decisions()[1].status == "rejected"
    assert window.session.case.decisions()[1].note == "wrong bridge"


def test_cancel_records_nothing(window: Any, qtbot: Any, case_file: dict[str, Any]) -> None:
    from PyQt6.QtCore import Qt

    _open_on_candidate(window, qtbot, case_file["case"], 1)
    n = len(window.session.audit_log())
    window.controller.review.ask_decide(True)
    dlg = window.controller.review.decision_dialog
    qtbot.keyClicks(dlg.note_edit, "not sure yet")
    qtbot.keyClick(dlg, Qt.Key.Key_Escape)
    assert not dlg.isVisible()
    assert window.session.decisions() == {} and len(window.session.audit_log()) == n
