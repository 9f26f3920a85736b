"""Inputs and the locate job: footage facts, imagery list, Locate button, progress, cancel.

The panel only displays; the controller starts the :class:`~workbench_ui.workers.Task` and
feeds :meth:`LocatePanel.job_started` / ``set_progress`` / ``job_finished``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from workbench.imagery.catalog import Tile
from workbench.locate.model import ImageryAccuracy
from workbench.video.reader import VideoInfo
from workbench_ui.models import APP_ACCURACY_SOURCE, format_time


class MessageBar(QFrame):
    """An inline, dismissible message line (errors never open a traceback or block).

    Its space is reserved even while hidden (two lines of text), so a message appearing
    or going away never moves the widgets under the pointer; longer messages are cut
    and shown whole in the tooltip (and the status bar).
    """

    LINES = 2

    COLORS: ClassVar[dict[str, tuple[str, str]]] = {
        "error": ("#fde2e1", "#a31d1d"),
        "info": ("#e3f0fd", "#1b4f8a"),
        "warning": ("#fff3d6", "#8a5a00"),
    }

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # file names are untrusted text
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QPushButton("✕")
        close.setFlat(True)
        close.setFixedWidth(28)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 4, 4)
        lay.addWidget(self.label, 1)
        lay.addWidget(close)
        self.kind = ""
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        policy.setVerticalPolicy(QSizePolicy.Policy.Fixed)
        self.setSizePolicy(policy)
        line = self.label.fontMetrics().lineSpacing()
        self.setFixedHeight(self.LINES * line + 8 + 2 * self.frameWidth() + 4)
        self.hide()

    def show_message(self, text: str, kind: str = "error") -> None:
        bg, fg = self.COLORS.get(kind, self.COLORS["info"])
        self.kind = kind
        self.setStyleSheet(f"MessageBar {{ background: {bg}; border: 1px solid {fg}; "
                           f"border-radius: 3px; }} QLabel {{ color: {fg}; }}")
        self.label.setText(text)
        self.label.setToolTip(text)
        self.show()

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""


class LocatePanel(QWidget):
    """Footage + imagery summary, the Locate button, and the job's progress.

    Signals:
        locateRequested(), cancelRequested()
    """

    locateRequested = pyqtSignal()
    cancelRequested = pyqtSignal()
    removeImageryRequested = pyqtSignal(list)  # list[Path]

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.footage = QLabel("<i>No footage</i> — File ▸ Open footage (Ctrl+O) or drop a video "
                              "on the window")
        self.footage.setWordWrap(True)
        self.imagery = QListWidget()
        self.imagery.setToolTip("Reference rasters (georeferenced) the footage is matched against")
        self.imagery.setMaximumHeight(90)
        self.imagery.setMinimumHeight(40)  # (two rows: the panel fits where it did before
        #                                    the accuracy field came; small screens)
        self.imagery.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.remove_btn = QPushButton("Remove")
        self.remove_btn.setToolTip("Stop using the selected rasters as reference imagery "
                                   "(the files and the case are not changed)")
        self.remove_btn.setEnabled(False)
        self.imagery.itemSelectionChanged.connect(self._update_remove)
        self.remove_btn.clicked.connect(self._remove_selected)
        self.imagery_label = QLabel("<i>No imagery</i> — File ▸ Add imagery (Ctrl+I)")
        self.imagery_label.setWordWrap(True)
        self.accuracy = QDoubleSpinBox()
        self.accuracy.setRange(0.0, 10_000.0)
        self.accuracy.setDecimals(1)
        self.accuracy.setSingleStep(0.5)
        self.accuracy.setSuffix(" m")
        self.accuracy.setSpecialValueText("not stated")  # shown at 0: radii relative to it
        self._accuracy_tip = (
            "The reference imagery's stated horizontal accuracy as a 68 % radius (a CE90 "
            "figure divided by 1.42), from its supplier's metadata.  Added in quadrature to every "
            "radius of the next Locate and recorded with the run in the case's audit log.  "
            "Not stated: radii are relative to the imagery.")
        self.accuracy.setToolTip(self._accuracy_tip)
        self._case_accuracy: ImageryAccuracy = None
        self._case_source = ""
        self.locate_btn = QPushButton("Locate")
        self.locate_btn.setToolTip("Find where the footage was filmed (Ctrl+L)")
        self.locate_btn.setEnabled(False)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setToolTip("Stop the running job (Esc)")
        self.cancel_btn.setEnabled(False)
        self.stage = QLabel("")
        self.stage.setTextFormat(Qt.TextFormat.PlainText)  # stage names carry file names
        self.stage.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.bar.setTextVisible(True)
        self.bar.setFormat("")
        buttons = QHBoxLayout()
        buttons.addWidget(self.locate_btn, 1)
        buttons.addWidget(self.cancel_btn)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(QLabel("<b>Footage</b>"))
        lay.addWidget(self.footage)
        lay.addWidget(QLabel("<b>Reference imagery</b>"))
        head = QHBoxLayout()
        head.addWidget(self.imagery_label, 1)
        head.addWidget(self.remove_btn, 0, Qt.AlignmentFlag.AlignTop)
        lay.addLayout(head)
        lay.addWidget(self.imagery)
        acc_row = QHBoxLayout()
        acc_label = QLabel("Imagery accuracy (1 sigma):")
        acc_label.setBuddy(self.accuracy)
        acc_row.addWidget(acc_label)
        acc_row.addWidget(self.accuracy, 1)
        lay.addLayout(acc_row)
        lay.addLayout(buttons)
        lay.addWidget(self.bar)
        lay.addWidget(self.stage)
        lay.addStretch(1)
        self.locate_btn.clicked.connect(self.locateRequested)
        self.cancel_btn.clicked.connect(self.cancelRequested)

    def imagery_accuracy_m(self) -> ImageryAccuracy:
        """The stated accuracy to locate with (metres, 68 % radius): the field's value,
        or the open case's per-raster values (shown, not editable); ``None``: not stated."""
        if isinstance(self._case_accuracy, Mapping):
            return dict(self._case_accuracy)
        v = float(self.accuracy.value())
        return v if v > 0 else None

    def accuracy_args(self) -> tuple[ImageryAccuracy, str]:
        """``(imagery_accuracy_m, source)`` for a locate job (:mod:`workbench_ui.jobs`)."""
        return self.imagery_accuracy_m(), self.imagery_accuracy_source()

    def imagery_accuracy_source(self) -> str:
        """Where :meth:`imagery_accuracy_m` comes from: the open case's run when it is
        the value that run stated, else the analyst's entry in this field."""
        if self._case_source and self.imagery_accuracy_m() == self._case_accuracy:
            return self._case_source
        return APP_ACCURACY_SOURCE

    def show_case_accuracy(self, stated: object, source: object) -> None:
        """Show the accuracy the open case's current run stated (its ``locate.json``
        ``method``), so Locate again keeps it; ``None`` (or no case): "not stated"."""
        value: ImageryAccuracy = None
        if isinstance(stated, Mapping) and stated:
            value = {str(k): float(v) for k, v in stated.items()
                     if isinstance(v, int | float) and not isinstance(v, bool)}
        elif isinstance(stated, int | float) and not isinstance(stated, bool) and stated > 0:
            value = float(stated)
        self._case_accuracy = value
        self._case_source = str(source) if value is not None and source else ""
        per_raster = isinstance(value, Mapping)
        self.accuracy.setEnabled(not per_raster)
        self.accuracy.setSpecialValueText("per raster (case)" if per_raster else "not stated")
        self.accuracy.setValue(value if isinstance(value, float) else 0.0)
        tip = self._accuracy_tip
        if isinstance(value, Mapping):
            tip += "\n\nStated per raster in this case's run: " + ", ".join(
                f"{Path(k).name} {v:g} m" for k, v in value.items())
        self.accuracy.setToolTip(tip)

    def set_footage(self, path: Path | None, info: VideoInfo | None = None) -> None:
        if path is None:
            self.footage.setText("<i>No footage</i>")
            return
        text = f"<b>{html.escape(path.name)}</b>"
        if info is not None:
            text += (f"<br>{info.width}x{info.height}, {info.fps:.2f} fps, "
                     f"{format_time(info.duration_s)} ({info.frame_count} frames), "
                     f"{html.escape(str(info.codec))}")
            if info.variable_frame_rate:
                text += ", variable frame rate"
        self.footage.setText(text)
        self.footage.setToolTip(str(path))

    def set_imagery(self, tiles: list[Tile], warnings: list[str]) -> None:
        self.imagery.clear()
        for t in tiles:
            acq = t.acquired
            name = Path(t.path).name
            self.imagery.addItem(f"{name}  ({t.gsd_m:.2f} m/px{', ' + acq if acq else ''})")
            item = self.imagery.item(self.imagery.count() - 1)
            if item is not None:
                item.setToolTip(str(t.path))
                item.setData(Qt.ItemDataRole.UserRole, str(t.path))
        n = len(tiles)
        text = f"{n} raster{'s' if n != 1 else ''}" if n else "<i>No imagery</i>"
        if warnings:
            text += (f" — <span style='color:#8a5a00'>{len(warnings)} skipped: "
                     + html.escape("; ".join(warnings[:3])) + ("…" if len(warnings) > 3 else "")
                     + "</span>")
        self.imagery_label.setText(text)
        self._update_remove()

    def _update_remove(self) -> None:
        self.remove_btn.setEnabled(bool(self.imagery.selectedItems()))

    def _remove_selected(self) -> None:
        paths = [Path(str(i.data(Qt.ItemDataRole.UserRole))) for i in self.imagery.selectedItems()]
        if paths:
            self.removeImageryRequested.emit(paths)

    def set_can_locate(self, ok: bool, why: str = "") -> None:
        self.locate_btn.setEnabled(ok)
        self.locate_btn.setToolTip("Find where the footage was filmed (Ctrl+L)" if ok
                                   else why or "Open footage and imagery first")

    def job_started(self, title: str) -> None:
        self.locate_btn.setEnabled(False)
        self.cancel_btn.setEnabled(True)
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.bar.setFormat("%p%")
        self.stage.setText(f"{title}: starting…")

    def set_progress(self, stage: str, fraction: float) -> None:
        if fraction < 0:
            self.bar.setRange(0, 0)  # busy indicator
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(round(fraction * 1000))
        self.stage.setText(stage)

    def job_finished(self, message: str) -> None:
        self.cancel_btn.setEnabled(False)
        self.bar.setRange(0, 1000)
        self.bar.setValue(1000 if message.startswith("Done") else 0)
        self.bar.setFormat("" if not message.startswith("Done") else "%p%")
        self.stage.setText(message)
