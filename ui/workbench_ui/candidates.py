"""The candidates table: rank, position, confidence, uncertainty, keyframe, tile, inliers.

A :class:`CandidatesModel` (``QAbstractTableModel``) over a
:class:`workbench.results.LocateResult`'s candidates, sorted through a
``QSortFilterProxyModel`` on numeric values (``SORT_ROLE``).  The
:class:`CandidatesPanel` adds the verdict banner (located / ambiguous / not
located, with the engine's reason) above the table and emits
``candidateSelected(rank)``.
"""

from __future__ import annotations

import html
import math
from pathlib import PurePath
from typing import Any

from PyQt6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    pyqtSignal,
)
from PyQt6.QtGui import QBrush, QColor
from PyQt6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from workbench.geo import format_metres
from workbench.results import Candidate, LocateResult
from workbench_ui.models import format_time

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
COLUMNS: tuple[str, ...] = (
    "Rank", "Lat", "Lon", "Confidence", "± m", "Keyframe", "Time", "Tile", "Inliers",
    "Decision",
)
TOOLTIPS: tuple[str, ...] = (
    "Rank by the engine's evidence (1 = best)",
    "Latitude (WGS84) of the keyframe's image centre",
    "Longitude (WGS84) of the keyframe's image centre",
    "Calibrated confidence that this is the right place",
    "Uncertainty radius in metres",
    "Keyframe that matched (others that agree are listed in the tooltip)",
    "Time in the footage of that keyframe (the shot to look at in the Frames tab)",
    "Reference raster it matched on",
    "Number of landmarks consistent with the geometry",
    "Your decision, recorded in the case's audit log",
)
VERDICT_TEXT = {
    "located": ("Located", "#1e7b34"),
    "ambiguous": ("Ambiguous: several places fit, compare before deciding", "#a86500"),
    "not_located": ("Not found in the imagery loaded", "#a31d1d"),
}

ModelIndex = QModelIndex | QPersistentModelIndex


class CandidatesModel(QAbstractTableModel):
    """Rows = candidates of a LocateResult (in rank order); ``decisions`` maps rank -> status."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Candidate] = []
        self._decisions: dict[int, str] = {}
        self._times: dict[str, float] = {}

    def set_result(self, result: LocateResult | None) -> None:
        self.beginResetModel()
        self._rows = list(result.candidates) if result is not None else []
        self._times = {k.id: k.time_s for k in result.keyframes} if result is not None else {}
        self.endResetModel()

    def set_decisions(self, decisions: dict[int, str]) -> None:
        """``{rank: "confirmed" | "rejected"}``."""
        self._decisions = dict(decisions)
        if self._rows:
            col = COLUMNS.index("Decision")
            self.dataChanged.emit(self.index(0, col), self.index(len(self._rows) - 1, col))

    def candidate(self, row: int) -> Candidate:
        return self._rows[row]

    def row_of_rank(self, rank: int) -> int:
        return next((i for i, c in enumerate(self._rows) if c.rank == rank), -1)

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return TOOLTIPS[section]
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        c = self._rows[index.row()]
        col = COLUMNS[index.column()]
        decision = self._decisions.get(c.rank, "")
        t = self._times.get(c.keyframe_id)
        values: dict[str, tuple[Any, Any]] = {
            "Rank": (str(c.rank), c.rank),
            "Lat": (f"{c.lat:.6f}", c.lat),
            "Lon": (f"{c.lon:.6f}", c.lon),
            "Confidence": (f"{c.confidence:.0%}", c.confidence),
            # None: not estimated (NaN/inf stored as JSON null); sorts last
            "± m": (format_metres(c.uncertainty_m).removesuffix(" m"),
                    c.uncertainty_m if c.uncertainty_m is not None else math.inf),
            "Keyframe": (c.keyframe_id, c.keyframe_id),
            "Time": (format_time(t) if t is not None else "", t if t is not None else math.inf),
            "Tile": (PurePath(c.tile).name, c.tile),
            "Inliers": (str(c.inliers), c.inliers),
            "Decision": ({"confirmed": "✔ confirmed", "rejected": "✘ rejected"}.get(decision, ""),
                         decision),
        }
        if role == Qt.ItemDataRole.DisplayRole:
            return values[col][0]
        if role == SORT_ROLE:
            return values[col][1]
        if role == Qt.ItemDataRole.TextAlignmentRole and col not in ("Keyframe", "Tile",
                                                                      "Decision"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == "Tile":
                return c.tile
            if col == "Keyframe" and c.supporting_keyframes:
                return "supported by: " + ", ".join(c.supporting_keyframes)
            if col == "Confidence" and c.scores:
                return "\n".join(f"{k}: {v:.3g}" for k, v in sorted(c.scores.items()))
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == "Decision" and decision:
                return QBrush(QColor("#1e7b34" if decision == "confirmed" else "#a31d1d"))
            if col == "Confidence":
                return QBrush(QColor("#1e7b34" if c.confidence >= 0.7 else
                                     "#a86500" if c.confidence >= 0.3 else "#777777"))
        return None


class CandidatesPanel(QWidget):
    """Verdict banner + sortable candidates table.

    Signals:
        candidateSelected(int rank): the user selected a row (0 when the selection is cleared).
    """

    candidateSelected = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = CandidatesModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.banner = QLabel("No locate run yet: open footage and imagery, then Locate (Ctrl+L).")
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.RichText)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)  # type: ignore[union-attr]
        header = self.table.horizontalHeader()
        if header is not None:
            header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            header.setStretchLastSection(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.banner)
        lay.addWidget(self.table, 1)
        sel = self.table.selectionModel()
        if sel is not None:
            sel.selectionChanged.connect(self._on_selection)

    def set_result(self, result: LocateResult | None) -> None:
        self.model.set_result(result)
        if result is None:
            self.banner.setText("No locate run yet: open footage and imagery, then Locate "
                                "(Ctrl+L).")
            return
        text, color = VERDICT_TEXT.get(result.verdict, (result.verdict, "#333"))
        reason = html.escape(result.reason or "")
        n = len(result.candidates)
        self.banner.setText(
            f"<span style='color:{color}; font-weight:bold; font-size:12pt'>{text}</span>"
            f" &nbsp;{n} candidate{'s' if n != 1 else ''}. {reason}"
        )

    def set_decisions(self, decisions: dict[int, str]) -> None:
        self.model.set_decisions(decisions)

    def select_rank(self, rank: int) -> bool:
        """Select the row of candidate ``rank``; False if there is none."""
        row = self.model.row_of_rank(rank)
        if row < 0:
            return False
        idx = self.proxy.mapFromSource(self.model.index(row, 0))
        self.table.selectRow(idx.row())
        self.table.scrollTo(idx)
        return True

    def selected_rank(self) -> int:
        """Rank of the selected candidate, 0 if none."""
        sel = self.table.selectionModel()
        rows = sel.selectedRows() if sel is not None else []
        if not rows:
            return 0
        return self.model.candidate(self.proxy.mapToSource(rows[0]).row()).rank

    def _on_selection(self, _sel: QItemSelection, _desel: QItemSelection) -> None:
        self.candidateSelected.emit(self.selected_rank())
