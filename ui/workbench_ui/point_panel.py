"""Point geolocation panel: a clicked keyframe pixel as lat/lon, DMS, MGRS and ± metres.

The computation is :func:`workbench.compare.locate_pixel` (Qt-free); this panel
only shows a :class:`~workbench.position.Position`, copies it to the clipboard and
asks to record it in the case (``recordRequested(label)``).
"""

from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QGuiApplication
from PyQt6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from workbench.geo import format_uncertainty
from workbench.position import Position

GROUND_WARNING = (
    "⚠ Projected as if at ground level. A pixel on a roof, tower, chimney, mast or any "
    "tall structure lands beside its true position (further from the camera, by up to "
    "its height times the viewing angle). Pick the base of the structure where it meets "
    "the ground."
)

HINT = ("Click any pixel of the keyframe (the impact point, the crosshair) in the comparison "
        "to see its position on the ground.")


class PointPanel(QWidget):
    """Shows one geolocated point.

    Signals:
        recordRequested(str label): the user wants the point saved to the case.
    """

    recordRequested = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fix: Position | None = None
        self.hint = QLabel(HINT)
        self.hint.setWordWrap(True)
        self.decimal = self._field("Latitude, longitude in decimal degrees (WGS84)")
        self.dms = self._field("Degrees, minutes, seconds (WGS84)")
        self.mgrs = self._field("Military Grid Reference System, 1 m precision")
        self.uncert = self._field(
            "1-sigma radius of the match, relative to the reference imagery (the imagery's "
            "own georeferencing error is not included); grows outside the matched landmarks"
        )
        self.pixel = self._field("Keyframe pixel (column, row), full resolution")
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._form = form
        form.addRow("Lat, lon", self.decimal)
        form.addRow("DMS", self.dms)
        form.addRow("MGRS", self.mgrs)
        form.addRow("Uncertainty", self.uncert)
        form.addRow("Pixel", self.pixel)
        self.label_edit = QLineEdit()
        self.label_edit.setPlaceholderText("label, e.g. impact point")
        self.copy_btn = QPushButton("Copy")
        self.copy_btn.setToolTip("Copy the position to the clipboard (Ctrl+Shift+C)")
        self.record_btn = QPushButton("Record in case")
        self.record_btn.setToolTip("Save this point with its label in the case (audit-logged)")
        self.copy_btn.clicked.connect(self.copy)
        self.record_btn.clicked.connect(
            lambda: self.recordRequested.emit(self.label_edit.text().strip() or "point")
        )
        self.ground_warning = QLabel(GROUND_WARNING)
        self.ground_warning.setWordWrap(True)
        self.ground_warning.setTextFormat(Qt.TextFormat.PlainText)
        self.ground_warning.setStyleSheet("color: #8a5a00")
        buttons = QHBoxLayout()
        buttons.addWidget(self.label_edit, 1)
        buttons.addWidget(self.copy_btn)
        buttons.addWidget(self.record_btn)
        # the content scrolls when the dock is short, instead of squeezing the rows
        # until their labels are clipped
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.hint)
        lay.addLayout(form)
        lay.addWidget(self.ground_warning)
        lay.addLayout(buttons)
        lay.addStretch(1)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidget(body)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll_area)
        self.set_fix(None)

    @staticmethod
    def _field(tip: str) -> QLabel:
        lab = QLabel("—")
        lab.setWordWrap(True)  # a narrow dock wraps the DMS line instead of cutting it
        lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lab.setToolTip(tip)
        return lab

    def form_labels(self) -> list[QLabel]:
        """The row labels ("Lat, lon", "DMS", ...) and their value labels."""
        out: list[QLabel] = []
        for row in range(self._form.rowCount()):
            for role in (QFormLayout.ItemRole.LabelRole, QFormLayout.ItemRole.FieldRole):
                item = self._form.itemAt(row, role)
                w = item.widget() if item is not None else None
                if isinstance(w, QLabel):
                    out.append(w)
        return out

    def set_fix(self, fix: Position | None, message: str = "") -> None:
        """Show ``fix`` (or clear; ``message`` explains why, e.g. beyond the horizon)."""
        self.fix = fix
        self.copy_btn.setEnabled(fix is not None)
        self.record_btn.setEnabled(fix is not None)
        self.ground_warning.setVisible(fix is not None)
        if fix is None:
            for lab in (self.decimal, self.dms, self.mgrs, self.uncert, self.pixel):
                lab.setText("—")
            self.hint.setText(message or HINT)
            return
        self.hint.setText(message or "Ground position of the picked keyframe pixel:")
        self.decimal.setText(f"{fix.lat:.6f}, {fix.lon:.6f}")
        self.dms.setText(fix.dms)
        self.mgrs.setText(fix.mgrs or "n/a (polar)")
        warn = ("  <span style='color:#a86500'>outside the matched landmarks: "
                "extrapolated</span>" if fix.extrapolated else "")
        self.uncert.setText(f"{format_uncertainty(fix.uncertainty_m)}{warn}")
        self.pixel.setText(f"({fix.x:.1f}, {fix.y:.1f})")

    def copy(self) -> None:
        """Put the position (all formats) on the clipboard."""
        if self.fix is None:
            return
        cb = QGuiApplication.clipboard()
        if cb is not None:
            cb.setText(self.fix.as_text())
