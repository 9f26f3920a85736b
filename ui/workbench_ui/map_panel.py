"""The map dock's widget: a toolbar (fit, all imagery, ruler, export figure), the map,
its legend and the last click's ground position.  Behaviour: :mod:`workbench_ui.map_dock`."""

from __future__ import annotations

import html

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from workbench_ui.map_view import MapView

INFO_HINT = "Click the map or the imagery for a ground position."


class MapPanel(QWidget):
    """Toolbar (fit, ruler, export figure), the map, and the last click's position."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = MapView()
        self.fit_btn = QToolButton()
        self.fit_btn.setText("Fit")
        self.fit_btn.setToolTip("Show the candidates, the claim and the imagery they matched on "
                                "(double-click the map does the same)")
        self.all_btn = QToolButton()
        self.all_btn.setText("All imagery")
        self.all_btn.setToolTip("Show every loaded raster's footprint")
        self.ruler_btn = QToolButton()
        self.ruler_btn.setText("Ruler")
        self.ruler_btn.setCheckable(True)
        self.ruler_btn.setToolTip("Distance and bearing between two clicks on the map or the "
                                  "imagery (geodesic, WGS84) (D)")
        self.export_btn = QToolButton()
        self.export_btn.setText("Export figure")
        self.export_btn.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_btn.setToolTip("Save the side-by-side, overlay or map view as PNG/SVG with "
                                   "a caption (coordinates, imagery, case SHA-256)")
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.info = QLabel(INFO_HINT)
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info.setMinimumHeight(self.info.fontMetrics().height() * 3)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        for b in (self.fit_btn, self.all_btn, self.ruler_btn, self.export_btn):
            bar.addWidget(b)
        bar.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(2)
        lay.addLayout(bar)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.legend)
        lay.addWidget(self.info)

    def set_legend(self, entries: list[tuple[QColor, str]]) -> None:
        self.legend.setText(" &nbsp; ".join(
            f"<span style='color:{c.name()}'>■</span>&nbsp;{html.escape(label)}"
            for c, label in entries))
