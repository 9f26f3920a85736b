"""Small dialogs: the decision (confirm/reject with a note) and the shortcuts help.

The decision dialog is non-modal (the comparison stays visible and usable while the
analyst writes) and built so that no key press can change the decision unnoticed: the
note has the keyboard focus when it opens, the decision radios never take focus from a
click, and the button that records spells the decision out ("Record rejection of
candidate 2").
"""

from __future__ import annotations

import html

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QKeySequence, QShortcut, QShowEvent
from PyQt6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from workbench.geo import format_uncertainty
from workbench.results import Candidate

CONFIRM_COLOR, REJECT_COLOR = "#1e7b34", "#a31d1d"


def record_text(rank: int, confirmed: bool) -> str:
    """The record button's text: the decision spelled out."""
    return f"Record {'confirmation' if confirmed else 'rejection'} of candidate {rank}"


class DecisionDialog(QDialog):
    """Confirm or reject a candidate; a justification note is required.

    Non-modal: show it with ``show()``; ``decided(rank, confirmed, note)`` is emitted
    when the analyst presses the record button (the dialog then closes).  After
    ``exec()`` (still supported) returning ``Accepted``: :attr:`confirmed` and :meth:`note`.
    """

    decided = pyqtSignal(int, bool, str)

    def __init__(self, candidate: Candidate, confirmed: bool = True,
                 parent: QWidget | None = None, previous: str = "") -> None:
        super().__init__(parent)
        self.rank = candidate.rank
        self.setWindowTitle(f"Decision on candidate {candidate.rank}")
        self.setModal(False)
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.summary = QLabel(
            f"<b>Candidate {candidate.rank}</b>: {candidate.lat:.6f}, {candidate.lon:.6f} "
            f"({html.escape(format_uncertainty(candidate.uncertainty_m))}), "
            f"confidence {candidate.confidence:.0%}, "
            f"{candidate.inliers} landmarks on keyframe {html.escape(candidate.keyframe_id)}."
            + (f"<br><i>Previous decision: {html.escape(previous)}</i>" if previous else "")
            + "<br><span style='color:#555'>The comparison stays usable while you write: "
            "check the landmarks in the main window.</span>"
        )
        self.summary.setWordWrap(True)
        self.confirm_radio = QRadioButton("Confirm: this is where the footage was filmed")
        self.reject_radio = QRadioButton("Reject: this is not the place")
        for r in (self.confirm_radio, self.reject_radio):
            # a click changes the choice but keeps the focus in the note; Tab can still
            # reach them (keyboard users), and every change shows on the record button
            r.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        group = QButtonGroup(self)
        group.addButton(self.confirm_radio)
        group.addButton(self.reject_radio)
        (self.confirm_radio if confirmed else self.reject_radio).setChecked(True)
        self.note_edit = QPlainTextEdit()
        self.note_edit.setTabChangesFocus(True)
        self.note_edit.setPlaceholderText(
            "Why? Name the landmarks you checked (e.g. 'water tower, road fork and the "
            "field boundary match; shadows agree'). This note goes into the audit log "
            "and the report."
        )
        self.hint = QLabel("A note is required: it is your evidence for the decision. "
                           "Ctrl+Enter records.")
        self.hint.setStyleSheet("color: #666")
        self.hint.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.record_btn = QPushButton(record_text(self.rank, confirmed))
        self.record_btn.setAutoDefault(False)
        self.record_btn.setDefault(False)
        self.buttons.addButton(self.record_btn, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._record)
        self.buttons.rejected.connect(self.reject)
        self.note_edit.textChanged.connect(self._update_ok)
        self.confirm_radio.toggled.connect(self._update_ok)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            sc = QShortcut(QKeySequence(keys), self)
            sc.activated.connect(self._record)
        lay = QVBoxLayout(self)
        lay.addWidget(self.summary)
        lay.addWidget(self.confirm_radio)
        lay.addWidget(self.reject_radio)
        lay.addWidget(QLabel("<b>Note</b>"))
        lay.addWidget(self.note_edit, 1)
        lay.addWidget(self.hint)
        lay.addWidget(self.buttons)
        self.resize(480, 340)
        self._update_ok()
        self.note_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    @property
    def confirmed(self) -> bool:
        return self.confirm_radio.isChecked()

    def note(self) -> str:
        return self.note_edit.toPlainText().strip()

    def showEvent(self, event: QShowEvent | None) -> None:
        super().showEvent(event)
        self.activateWindow()
        self.note_edit.setFocus(Qt.FocusReason.ActiveWindowFocusReason)

    def _update_ok(self) -> None:
        ok = self.confirmed
        self.record_btn.setText(record_text(self.rank, ok))
        self.record_btn.setStyleSheet(
            f"QPushButton {{ color: {CONFIRM_COLOR if ok else REJECT_COLOR}; "
            "font-weight: bold; }")
        self.record_btn.setEnabled(bool(self.note()))

    def _record(self) -> None:
        if not self.note():
            return
        self.decided.emit(self.rank, self.confirmed, self.note())
        self.accept()


SHORTCUTS_HTML = """
<table cellspacing=6>
<tr><td><b>Ctrl+O</b></td><td>Open footage</td></tr>
<tr><td><b>Ctrl+I</b> / <b>Ctrl+Shift+I</b></td><td>Add imagery files / folder</td></tr>
<tr><td><b>Ctrl+Shift+O</b></td><td>Open case</td></tr>
<tr><td><b>Ctrl+S</b></td><td>Save case as…</td></tr>
<tr><td><b>Ctrl+L</b></td><td>Locate</td></tr>
<tr><td><b>Esc</b></td><td>Cancel the running job</td></tr>
<tr><td><b>Ctrl+Down</b> / <b>Ctrl+Up</b></td><td>Next / previous candidate</td></tr>
<tr><td><b>C</b> / <b>R</b></td><td>Confirm / reject the selected candidate</td></tr>
<tr><td><b>O</b></td><td>Toggle side by side / overlay</td></tr>
<tr><td><b>M</b></td><td>Toggle the HUD mask</td></tr>
<tr><td><b>, .</b> (or Left/Right)</td><td>Previous / next frame in the frame viewer</td></tr>
<tr><td><b>Space</b></td><td>Play / pause the footage in the frame viewer</td></tr>
<tr><td><b>Ctrl+Enter</b></td><td>Record the decision (in the decision dialog)</td></tr>
<tr><td><b>K</b></td><td>Add the shown frame as a keyframe</td></tr>
<tr><td><b>Ctrl+Shift+C</b></td><td>Copy the picked point's position</td></tr>
<tr><td><b>Ctrl+E</b></td><td>Export the report</td></tr>
<tr><td><b>F</b> / double-click</td><td>Fit the image in the view</td></tr>
</table>
"""
