"""The "Case" dock: the claim, context layers, analyst tie points and Verify, plus the
imagery provenance strip shown under the imagery pane.

Display only: :mod:`workbench_ui.case_tools` fills these widgets from the case and records
what the analyst asks for through the core's case API (audit-logged).
"""

from __future__ import annotations

import html

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

TIE_HINT = "Pick pair: click a landmark in the keyframe, then the same spot in the imagery."
TIE_TIP = ("Add a tie point: press “Pick pair”, click a landmark in the keyframe (left), "
           "then the same landmark in the imagery (right). The candidate is refitted at "
           "once; the table shows how far each tie point lies from the fit.")


def _label(text: str = "", rich: bool = True) -> QLabel:
    lab = QLabel(text)
    lab.setWordWrap(True)
    lab.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return lab


def _scrolled(page: QWidget) -> QScrollArea:
    """``page`` in a frameless scroll area: the dock can be made short (a 768-pixel screen
    stacks several docks) without clipping the page's labels."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(page)
    return area


class CasePanel(QWidget):
    """Tabs: Claim, Layers, Tie points, Verify.

    Signals:
        editClaimRequested(), addLayerRequested(), pickPairToggled(bool),
        retractRequested(int tie_id), verifyRequested()
    """

    editClaimRequested = pyqtSignal()
    addLayerRequested = pyqtSignal()
    pickPairToggled = pyqtSignal(bool)
    retractRequested = pyqtSignal(int)
    verifyRequested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tabs = QTabWidget()
        # claim
        self.claim_label = _label("<i>No claim recorded.</i>")
        self.claim_btn = QPushButton("Enter claim…")
        self.claim_btn.setToolTip("Record what the claim says: place, time, target category")
        self.claim_btn.clicked.connect(self.editClaimRequested)
        self.tabs.addTab(self._page(self.claim_label, [self.claim_btn]), "Claim")
        # layers
        self.layers = QListWidget()
        self.layers.setToolTip("Context layers stored in the case (WGS84 GeoJSON)")
        self.layer_btn = QPushButton("Add layer…")
        self.layer_btn.setToolTip("Import a GeoJSON, KML, GeoPackage or Shapefile with its "
                                  "source, licence and as-of date")
        self.layer_btn.clicked.connect(self.addLayerRequested)
        self.tabs.addTab(self._page(self.layers, [self.layer_btn]), "Layers")
        # tie points
        self.tie_hint = _label(html.escape(TIE_HINT))
        self.tie_hint.setToolTip(TIE_TIP)
        self.tie_state = _label("", rich=False)
        self.ties = QTableWidget(0, 4)
        self.ties.setHorizontalHeaderLabels(["#", "Keyframe px", "Imagery px", "Residual"])
        self.ties.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.ties.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.ties.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.ties.verticalHeader().setVisible(False)  # type: ignore[union-attr]
        header = self.ties.horizontalHeader()
        if header is not None:
            header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            header.setStretchLastSection(True)
        self.pick_btn = QPushButton("Pick pair")
        self.pick_btn.setCheckable(True)
        self.pick_btn.setToolTip("Click a keyframe pixel, then the same spot in the imagery")
        self.pick_btn.toggled.connect(self.pickPairToggled)
        self.retract_btn = QPushButton("Retract…")
        self.retract_btn.setToolTip("Withdraw the selected tie point (it stays on record with "
                                    "your reason; the candidate is refitted without it)")
        self.retract_btn.setEnabled(False)
        self.retract_btn.clicked.connect(self._retract)
        self.ties.itemSelectionChanged.connect(
            lambda: self.retract_btn.setEnabled(self.selected_tie() is not None))
        tie_page = QWidget()
        tl = QVBoxLayout(tie_page)
        tl.setContentsMargins(4, 4, 4, 4)
        tl.addWidget(self.tie_hint)
        tl.addWidget(self.tie_state)
        tl.addWidget(self.ties, 1)
        row = QHBoxLayout()
        row.addWidget(self.pick_btn)
        row.addWidget(self.retract_btn)
        row.addStretch(1)
        tl.addLayout(row)
        self.tabs.addTab(_scrolled(tie_page), "Tie points")
        # verify
        self.verify_btn = QPushButton("Run Verify")
        self.verify_btn.setToolTip("Re-check the case: hashes, audit chain, records, "
                                   "locations (read-only)")
        self.verify_btn.clicked.connect(self.verifyRequested)
        self.verify_view = QTextBrowser()
        self.verify_view.setOpenLinks(False)
        self.verify_view.setPlaceholderText("Verify re-checks every record of the case.")
        self.tabs.addTab(self._page(self.verify_view, [self.verify_btn]), "Verify")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.tabs)

    @staticmethod
    def _page(body: QWidget, buttons: list[QPushButton]) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(body, 1 if not isinstance(body, QLabel) else 0)
        row = QHBoxLayout()
        for b in buttons:
            row.addWidget(b)
        row.addStretch(1)
        lay.addLayout(row)
        if isinstance(body, QLabel):
            lay.addStretch(1)
        return _scrolled(page)

    # --- tie points ---------------------------------------------------------------
    def set_ties(self, rows: list[tuple[int, str, str, str]]) -> None:
        """``(tie id, keyframe px text, imagery px text, residual text)`` per active point."""
        self.ties.setRowCount(0)
        for tid, k, t, r in rows:
            i = self.ties.rowCount()
            self.ties.insertRow(i)
            for j, text in enumerate((str(tid), k, t, r)):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, tid)
                self.ties.setItem(i, j, item)
        self.retract_btn.setEnabled(self.selected_tie() is not None)

    def selected_tie(self) -> int | None:
        items = self.ties.selectedItems()
        return int(items[0].data(Qt.ItemDataRole.UserRole)) if items else None

    def _retract(self) -> None:
        tid = self.selected_tie()
        if tid is not None:
            self.retractRequested.emit(tid)


class ProvenanceStrip(QWidget):
    """Under the imagery pane: the raster's date, provider/attribution and ground
    resolution, where each comes from, and a warning when the date is unknown or later
    than the claimed event.

    Signals:
        editRequested()
    """

    editRequested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = _label("")
        self.warning = _label("")
        self.warning.setStyleSheet("color: #a31d1d; font-weight: bold")
        self.edit_btn = QPushButton("Edit…")
        self.edit_btn.setToolTip("Enter the imagery's date, provider and resolution as you "
                                 "established them (audit-logged, shown as entered by the "
                                 "analyst)")
        self.edit_btn.clicked.connect(self.editRequested)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.label, 1)
        top.addWidget(self.edit_btn, 0, Qt.AlignmentFlag.AlignTop)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(top)
        lay.addWidget(self.warning)
        self.show_text("", "")

    def show_text(self, rich: str, warning: str) -> None:
        """``rich``: the facts line (HTML, values escaped by the caller); ``warning``: plain."""
        self.label.setText(rich or "<i>No imagery selected.</i>")
        self.warning.setText(html.escape(warning))
        self.warning.setVisible(bool(warning))
        self.edit_btn.setEnabled(bool(rich))
