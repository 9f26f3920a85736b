"""Small dialogs: the decision (confirm/reject with a note) and the shortcuts help."""

from __future__ import annotations

from PyQt6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from workbench.geo import format_uncertainty
from workbench.results import Candidate


class DecisionDialog(QDialog):
    """Confirm or reject a candidate; a justification note is required.

    After ``exec()`` returns ``Accepted``: :attr:`confirmed` and :meth:`note`.
    """

    def __init__(self, candidate: Candidate, confirmed: bool = True,
                 parent: QWidget | None = None, previous: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Decision on candidate {candidate.rank}")
        self.summary = QLabel(
            f"<b>Candidate {candidate.rank}</b>: {candidate.lat:.6f}, {candidate.lon:.6f} "
            f"({format_uncertainty(candidate.uncertainty_m)}), "
            f"confidence {candidate.confidence:.0%}, "
            f"{candidate.inliers} landmarks on keyframe {candidate.keyframe_id}."
            + (f"<br><i>Previous decision: {previous}</i>" if previous else "")
        )
        self.summary.setWordWrap(True)
        self.confirm_radio = QRadioButton("Confirm: this is where the footage was filmed")
        self.reject_radio = QRadioButton("Reject: this is not the place")
        group = QButtonGroup(self)
        group.addButton(self.confirm_radio)
        group.addButton(self.reject_radio)
        (self.confirm_radio if confirmed else self.reject_radio).setChecked(True)
        self.note_edit = QPlainTextEdit()
        self.note_edit.setPlaceholderText(
            "Why? Name the landmarks you checked (e.g. 'water tower, road fork and the "
            "field boundary match; shadows agree'). This note goes into the audit log "
            "and the report."
        )
        self.hint = QLabel("A note is required: it is your evidence for the decision.")
        self.hint.setStyleSheet("color: #666")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        if ok is not None:
            ok.setText("Record decision")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.note_edit.textChanged.connect(self._update_ok)
        lay = QVBoxLayout(self)
        lay.addWidget(self.summary)
        lay.addWidget(self.confirm_radio)
        lay.addWidget(self.reject_radio)
        lay.addWidget(QLabel("<b>Note</b>"))
        lay.addWidget(self.note_edit, 1)
        lay.addWidget(self.hint)
        lay.addWidget(self.buttons)
        self.resize(520, 360)
        self._update_ok()

    @property
    def confirmed(self) -> bool:
        return self.confirm_radio.isChecked()

    def note(self) -> str:
        return self.note_edit.toPlainText().strip()

    def _update_ok(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        if ok is not None:
            ok.setEnabled(bool(self.note()))


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
<tr><td><b>K</b></td><td>Add the shown frame as a keyframe</td></tr>
<tr><td><b>Ctrl+Shift+C</b></td><td>Copy the picked point's position</td></tr>
<tr><td><b>Ctrl+E</b></td><td>Export the report</td></tr>
<tr><td><b>F</b> / double-click</td><td>Fit the image in the view</td></tr>
</table>
"""
