"""Analysis ▸ "Index imagery…" and "Locate in index…": region-index work from the app.

Both run in a child process (:class:`~workbench_ui.workers.ProcessTask` over the Qt-free
jobs of :mod:`workbench_ui.index_jobs`), so the window stays responsive; a small
non-modal progress window shows the stage, blocks done out of the total, an ETA and a
Cancel button (cancelling an index build keeps every finished chunk: running it again
resumes).  When the job ends the same window says what happened (one line; errors are
the core's one-line messages) and its button becomes "Close".

The window wires this in with one call (:meth:`IndexActions.install`); nothing here
touches the open case.
"""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QObject, Qt, pyqtSignal
from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workbench.geo import format_dms
from workbench.index import IndexConfig
from workbench_ui.index_jobs import (
    IndexSummary,
    LocateSummary,
    ProgressText,
    index_job,
    locate_index_job,
)
from workbench_ui.workers import ProcessTask, TaskPool

RASTER_FILTER = "Rasters (*.tif *.tiff *.vrt *.jp2 *.img *.mbtiles *.png *.jpg);;All files (*)"
VIDEO_FILTER = "Video (*.mp4 *.mov *.mkv *.avi *.webm *.ts);;All files (*)"


class JobWindow(QDialog):
    """Progress of one index job: stage line, bar, Cancel (then Close)."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(False)
        self.setMinimumWidth(460)
        self.label = QLabel("starting…")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.button = QPushButton("Cancel")
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.button)
        lay = QVBoxLayout(self)
        lay.addWidget(self.label)
        lay.addWidget(self.bar)
        lay.addLayout(row)

    def show_progress(self, text: str, fraction: float) -> None:
        self.label.setText(text)
        if fraction < 0:
            self.bar.setRange(0, 0)  # busy indicator
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(round(fraction * 1000))

    def show_end(self, text: str, ok: bool) -> None:
        self.label.setText(text)
        self.bar.setRange(0, 1000)
        self.bar.setValue(1000 if ok else self.bar.value())
        self.button.setText("Close")


class IndexActions(QObject):
    """The two menu actions, their file questions and their jobs.

    Signals: ``ended(str kind, str text)`` when a job ends; ``kind`` is ``"ok"``,
    ``"failed"`` or ``"cancelled"``, ``text`` the line shown to the user.
    """

    ended = pyqtSignal(str, str)

    def __init__(self, window: QWidget, pool: TaskPool | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.pool = pool or TaskPool(self)
        self.job: ProcessTask | None = None
        self.job_window: JobWindow | None = None
        self.act_index: QAction | None = None
        self.act_locate: QAction | None = None
        self._last_dir = str(Path.home())

    def install(self, menu: QMenu) -> None:
        """Add "Index imagery…" and "Locate in index…" to ``menu``."""
        menu.addSeparator()
        self.act_index = QAction("Index &imagery…", self.window)
        self.act_index.setStatusTip("Build or extend a region index over large rasters "
                                    "(mosaics, COGs, VRTs) so whole regions can be searched")
        self.act_index.triggered.connect(self.ask_index)
        self.act_locate = QAction("Locate in in&dex…", self.window)
        self.act_locate.setStatusTip("Find where footage was filmed inside a region index")
        self.act_locate.triggered.connect(self.ask_locate)
        for act in (self.act_index, self.act_locate):
            menu.addAction(act)

    # --- questions -------------------------------------------------------------------
    def ask_index(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self.window, "Rasters to index",
                                                self._last_dir, RASTER_FILTER)
        if not paths:
            return
        self._last_dir = str(Path(paths[0]).parent)
        out = QFileDialog.getExistingDirectory(
            self.window, "Index folder (a new empty folder, or an index to extend)",
            self._last_dir)
        if out:
            self.start_index([Path(p) for p in paths], Path(out))

    def ask_locate(self) -> None:
        video, _ = QFileDialog.getOpenFileName(self.window, "Footage", self._last_dir,
                                               VIDEO_FILTER)
        if not video:
            return
        self._last_dir = str(Path(video).parent)
        index = QFileDialog.getExistingDirectory(self.window, "Region index folder",
                                                 self._last_dir)
        if not index:
            return
        out = QFileDialog.getExistingDirectory(self.window, "Folder for locate.json",
                                               str(Path(video).parent))
        if out:
            self.start_locate(Path(video), Path(index), Path(out))

    # --- jobs ------------------------------------------------------------------------
    def start_index(self, imagery: list[Path], out: Path,
                    config: IndexConfig | None = None) -> ProcessTask | None:
        """Index ``imagery`` into ``out`` in the background (None if a job is running)."""
        return self._start(ProcessTask(index_job, imagery, out, config, name="index"),
                           "Index imagery", self._index_done)

    def start_locate(self, video: Path, index: Path, out_dir: Path) -> ProcessTask | None:
        """Locate ``video`` in ``index``, writing ``out_dir/locate.json``, in the background."""
        return self._start(ProcessTask(locate_index_job, video, index, out_dir,
                                       name="locate-index"),
                           "Locate in index", self._locate_done)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            if self.job_window is not None:
                self.job_window.label.setText("cancelling… (finished blocks are kept)")

    def _start(self, task: ProcessTask, title: str, on_done: object) -> ProcessTask | None:
        if self.job is not None:
            return None
        win = JobWindow(title, self.window)
        text = ProgressText()
        task.progress.connect(lambda s, f: win.show_progress(text(s, f), f))
        task.succeeded.connect(on_done)  # type: ignore[arg-type]
        task.failed.connect(lambda m: self._end("failed", m))
        task.cancelled.connect(lambda: self._end("cancelled", "cancelled; nothing half-written"
                                                              " (an index resumes where it was)"))
        win.button.clicked.connect(self._button)
        self.job, self.job_window = task, win
        self._enable(False)
        win.show()
        self.pool.run(task)
        return task

    def _button(self) -> None:
        if self.job is not None:
            self.cancel()
        elif self.job_window is not None:
            self.job_window.close()

    def _index_done(self, s: IndexSummary) -> None:
        resumed = f", {s.blocks_resumed} resumed" if s.blocks_resumed else ""
        self._end("ok", f"{s.index}: {s.rasters_added} raster(s) added,"
                        f" {s.blocks_described} blocks described{resumed}")

    def _locate_done(self, s: LocateSummary) -> None:
        where = (f" at {format_dms(s.best_lonlat[1], s.best_lonlat[0])}"
                 if s.best_lonlat and s.verdict != "not_located" else "")
        why = f" ({s.reason})" if s.reason and s.verdict == "not_located" else ""
        self._end("ok", f"{s.verdict}{where}{why}; {s.windows_searched} windows of"
                        f" {s.area_km2:.1f} km² searched; {s.out_dir / 'locate.json'}")

    def _end(self, kind: str, text: str) -> None:
        self.job = None
        self._enable(True)
        if self.job_window is not None:
            self.job_window.show_end(text, kind == "ok")
        self.ended.emit(kind, text)

    def _enable(self, on: bool) -> None:
        for act in (self.act_index, self.act_locate):
            if act is not None:
                act.setEnabled(on)
