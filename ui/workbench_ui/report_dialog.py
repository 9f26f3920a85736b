"""Export the evidential report (HTML, PDF, GeoJSON, KML) of the open case.

The export runs in a child process (:func:`workbench_ui.jobs.export_job`) that opens its
*own* read-only ``Case`` on the case file and calls
:func:`workbench.report.write_reports`; the dialog stays responsive and shows
the written files, or the one-line error.
"""

from __future__ import annotations

import html
from pathlib import Path

from PyQt6.QtCore import QUrl, pyqtSignal
from PyQt6.QtGui import QDesktopServices
from PyQt6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workbench_ui.jobs import export_job
from workbench_ui.workers import ProcessTask

FORMAT_LABELS = {
    "html": "HTML (one self-contained file, images embedded)",
    "pdf": "PDF (print / court bundle)",
    "geojson": "GeoJSON (positions and footprints, lon/lat)",
    "kml": "KML (Google Earth)",
}


class ReportDialog(QDialog):
    """Pick formats and a folder, export, then list what was written.

    Signals:
        exported(list written_paths)
    """

    exported = pyqtSignal(list)

    def __init__(self, case_path: Path, default_dir: Path, parent: QWidget | None = None,
                 untitled: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export report")
        self.case_path = case_path
        self.task: ProcessTask | None = None
        self.written: list[Path] = []
        intro = QLabel(
            f"Report of case <b>{html.escape(case_path.name)}</b>: the footage and imagery "
            "hashes, the keyframes, each candidate with its evidence, your decisions and notes, "
            "and the "
            "audit log."
            + ("<br><span style='color:#8a5a00'>The case is not saved yet (autosave only); "
               "consider File ▸ Save case as… first.</span>" if untitled else "")
        )
        intro.setWordWrap(True)
        self.boxes: dict[str, QCheckBox] = {}
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        for fmt, label in FORMAT_LABELS.items():
            box = QCheckBox(label)
            box.setChecked(True)
            box.toggled.connect(self._update)
            self.boxes[fmt] = box
            lay.addWidget(box)
        self.redact = QCheckBox("Redact local paths (file name + SHA-256; for sharing)")
        self.redact.setChecked(True)
        self.redact.setToolTip("Your folders tell a reader who and where you are; the "
                               "SHA-256 still identifies each file")
        lay.addWidget(self.redact)
        self.folder = QLineEdit(str(default_dir))
        self.folder.setToolTip("Folder the report files are written to (created if needed)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(QLabel("Folder"))
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        lay.addLayout(row)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        lay.addWidget(self.bar)
        lay.addWidget(self.status)
        self.export_btn = QPushButton("Export")
        self.export_btn.setDefault(True)
        self.open_btn = QPushButton("Open folder")
        self.open_btn.setEnabled(False)
        self.close_btn = QPushButton("Close")
        self._force = self._retry_forced = False
        self.export_btn.clicked.connect(lambda: self.start_export())
        self.open_btn.clicked.connect(self._open_folder)
        self.close_btn.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_btn)
        buttons.addWidget(self.open_btn)
        buttons.addWidget(self.close_btn)
        lay.addLayout(buttons)
        self.resize(560, 330)

    def formats(self) -> list[str]:
        return [f for f, b in self.boxes.items() if b.isChecked()]

    def _update(self) -> None:
        self.export_btn.setEnabled(bool(self.formats()) and self.task is None)

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Report folder", self.folder.text())
        if d:
            self.folder.setText(d)

    def _open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(self.folder.text()))

    def ask_force(self, message: str) -> bool:
        """The folder holds files the workbench did not write: write beside them (they are
        kept)?  (Tests replace this method.)"""
        ans = QMessageBox.question(
            self, "Folder holds other files",
            f"{message}\n\nWrite the reports beside them? Those files are kept; only the "
            "report files of this case are replaced.")
        return ans == QMessageBox.StandardButton.Yes

    def start_export(self, force: bool = False) -> None:
        """Start writing the reports in the background."""
        formats = self.formats()
        text = self.folder.text().strip()
        if not formats or not text:
            self.status.setText("Choose at least one format and a folder.")
            return
        self.bar.setRange(0, 0)
        self.status.setText("Writing " + ", ".join(f.upper() for f in formats) + "…")
        self.export_btn.setEnabled(False)
        self._force = force
        task = ProcessTask(export_job, self.case_path, formats, Path(text),
                           self.redact.isChecked(), force, name="export", parent=self)
        task.succeeded.connect(self._done)
        task.failed.connect(self._failed)
        task.finished.connect(self._finished)
        self.task = task
        task.start()

    def _done(self, paths: object) -> None:
        self.written = [Path(p) for p in paths] if isinstance(paths, list) else []
        self.status.setText("Written:<br>" + "<br>".join(html.escape(str(p))
                                                         for p in self.written))
        self.open_btn.setEnabled(True)
        self.exported.emit(self.written)

    def _failed(self, message: str) -> None:
        if "the workbench did not write" in message and not self._force:
            self._retry_forced = self.ask_force(message)
            if self._retry_forced:
                self.status.setText("Writing beside the folder's other files…")
                return
        self.status.setText(f"<span style='color:#a31d1d'>Export failed: "
                            f"{html.escape(message)}</span>")

    def _finished(self) -> None:
        self.bar.setRange(0, 1)
        self.bar.setValue(1 if self.written else 0)
        self.task = None
        self._update()
        if self._retry_forced:
            self._retry_forced = False
            self.start_export(force=True)

    def done(self, result: int) -> None:  # don't close under a running export
        if self.task is not None:
            self.task.wait()
        super().done(result)
