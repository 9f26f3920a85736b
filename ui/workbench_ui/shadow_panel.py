"""Shadow panel (time check): two clicks on the keyframe — an object's foot, then its
shadow's tip — and a button that asks to measure and record the shadow in the case.

The measurement and the sun check are the core's (:meth:`workbench.case.Case.add_shadow`,
:func:`workbench.claim.check_time`); this panel only collects the two pixels and shows
the result lines it is given.
"""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

HINT = ("Time check: click an object's foot in the keyframe, then the tip of its shadow "
        "(both on the ground). Vertical objects on flat ground only.")


class ShadowPanel(QWidget):
    """Collects a foot and a tip pixel of the current keyframe.

    Signals:
        recordRequested(float, float, float, float): foot x, y, tip x, y (keyframe px).
    """

    recordRequested = pyqtSignal(float, float, float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.foot: tuple[float, float] | None = None
        self.tip: tuple[float, float] | None = None
        self.hint = QLabel(HINT)
        self.hint.setWordWrap(True)
        self.points = QLabel("foot: —   tip: —")
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.clear_btn = QPushButton("Start again")
        self.record_btn = QPushButton("Record shadow in case")
        self.record_btn.setToolTip("Measure the shadow through the confirmed homography and "
                                   "record it (audit-logged); checked against the claimed time")
        self.clear_btn.clicked.connect(self.clear)
        self.record_btn.clicked.connect(self._record)
        buttons = QHBoxLayout()
        buttons.addWidget(self.clear_btn)
        buttons.addWidget(self.record_btn)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.hint)
        lay.addWidget(self.points)
        lay.addLayout(buttons)
        lay.addWidget(self.result)
        lay.addStretch(1)
        self.clear()

    def add_click(self, x: float, y: float) -> None:
        """A keyframe pixel was clicked: the foot first, then the tip (a third click starts
        a new pair)."""
        if self.foot is None or self.tip is not None:
            self.foot, self.tip = (x, y), None
        else:
            self.tip = (x, y)
        self._refresh()

    def clear(self) -> None:
        self.foot = self.tip = None
        self.result.setText("")
        self._refresh()

    def show_result(self, lines: list[str]) -> None:
        """Show the core's sentences (measured azimuth, the sun against the claimed time)."""
        self.result.setText("\n".join(lines))

    def _refresh(self) -> None:
        def fmt(p: tuple[float, float] | None) -> str:
            return "—" if p is None else f"({p[0]:.1f}, {p[1]:.1f})"

        self.points.setText(f"foot: {fmt(self.foot)}   tip: {fmt(self.tip)}")
        self.record_btn.setEnabled(self.foot is not None and self.tip is not None)

    def _record(self) -> None:
        if self.foot is not None and self.tip is not None:
            self.recordRequested.emit(self.foot[0], self.foot[1], self.tip[0], self.tip[1])
