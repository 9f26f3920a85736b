"""Opening inputs: footage, reference imagery (files or folders), the demo, recent cases.

Probing and cataloguing run in background tasks; problems are shown in the
window's message bar and leave the session as it was.
"""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtWidgets import QFileDialog

from workbench.case import CASE_SUFFIX
from workbench.errors import WorkbenchError
from workbench.imagery.catalog import TileCatalog
from workbench.video.reader import VideoInfo
from workbench_ui.demo import demo_available, demo_dir
from workbench_ui.jobs import catalog_imagery, demo_job, probe_footage
from workbench_ui.session import Session
from workbench_ui.views import Views
from workbench_ui.workers import ProcessTask, Task, TaskPool

VIDEO_EXT = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".ts", ".mts", ".mpg",
             ".mpeg", ".wmv", ".flv", ".3gp", ".ogv"}
RASTER_EXT = {".tif", ".tiff", ".jp2", ".vrt", ".img", ".png", ".jpg", ".jpeg", ".ecw",
              ".sid", ".ntf", ".gpkg", ".xml"}
VIDEO_FILTER = "Video (" + " ".join(f"*{e}" for e in sorted(VIDEO_EXT)) + ");;All files (*)"
RASTER_FILTER = ("Rasters (*.tif *.tiff *.jp2 *.vrt *.img *.png *.jpg *.ecw *.sid *.ntf *.gpkg)"
                 ";;All files (*)")
CASE_FILTER = f"Workbench case (*{CASE_SUFFIX});;All files (*)"
MAX_RECENT = 8


class Opener(QObject):
    """Everything about getting inputs into the session.

    Signals:
        caseRequested(Path, list[Path]): a case file was dropped, given or picked from
            Recent cases (the controller opens it, asking first about an unsaved case),
            then the other paths dropped or given with it.
    """

    caseRequested = pyqtSignal(object, object)

    def __init__(self, views: Views, session: Session, pool: TaskPool,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.v = views
        self.s = session
        self.pool = pool
        self.s.footageChanged.connect(self._on_footage)
        self.s.imageryChanged.connect(self._on_imagery)
        self.v.locate_panel.removeImageryRequested.connect(self.remove_imagery)

    # --- opening inputs -----------------------------------------------------------------------
    def open_paths(self, paths: list[Path]) -> None:
        """Open whatever was dropped / given on the command line, by kind.  With a case
        among them (the first; other cases are left out), the rest is opened once the case
        is (``caseRequested``'s second argument), so footage and imagery given with a case
        win over its own."""
        cases = [p for p in paths if p.suffix.lower() == CASE_SUFFIX]
        if cases:
            self.caseRequested.emit(cases[0], [p for p in paths if p not in cases])
            return
        rasters: list[Path] = []
        for p in paths:
            ext = p.suffix.lower()
            if ext in VIDEO_EXT:
                self.open_footage(p)
            elif p.is_dir() or ext in RASTER_EXT:
                rasters.append(p)
            else:
                self.open_footage(p)  # let the decoder decide; errors are shown
        if rasters:
            self.add_imagery(rasters)

    def ask_open_footage(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.v.window, "Open footage", self.last_dir(),
                                              VIDEO_FILTER)
        if path:
            self.remember_dir(Path(path))
            self.open_footage(Path(path))

    def open_footage(self, path: Path, *, quiet: bool = False) -> None:
        """Probe ``path`` in the background; on success it becomes the footage."""
        if not quiet:
            self.v.info(f"Opening {path.name}…")
        task = Task(probe_footage, path, name="probe", with_progress=False, parent=self)
        task.succeeded.connect(lambda info: self._footage_ok(path, info))
        task.failed.connect(lambda m: self.v.error(f"Cannot open the footage: {m}"))
        self.pool.run(task)

    def _footage_ok(self, path: Path, info: VideoInfo) -> None:
        if self.v.message_bar.kind == "info":
            self.v.message_bar.hide()
        self.s.set_footage(path, info)

    def ask_add_imagery_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self.v.window, "Add reference imagery",
                                                self.last_dir(), RASTER_FILTER)
        if paths:
            self.remember_dir(Path(paths[0]))
            self.add_imagery([Path(p) for p in paths])

    def ask_add_imagery_folder(self) -> None:
        d = QFileDialog.getExistingDirectory(self.v.window, "Add a folder of imagery",
                                             self.last_dir())
        if d:
            self.remember_dir(Path(d) / "x")
            self.add_imagery([Path(d)])

    def add_imagery(self, paths: list[Path]) -> None:
        """Catalogue ``paths`` (plus the imagery already loaded) in the background."""
        allp = list(dict.fromkeys([*self.s.tile_paths, *paths]))
        self.v.info("Reading imagery metadata…")
        task = Task(catalog_imagery, allp, name="catalog", parent=self)
        task.succeeded.connect(lambda cat: self._imagery_ok(allp, cat))
        task.failed.connect(lambda m: self.v.error(f"No usable imagery: {m}"))
        self.pool.run(task)

    def load_case_imagery(self) -> None:
        """Load the open case's rasters that are on disk as the reference imagery (a
        case opened from the command line or Recent cases can be located again at once);
        says which recorded rasters are missing."""
        case = self.s.case
        if case is None:
            return
        try:
            recorded = [Path(r.path) for r in case.rasters]
        except (WorkbenchError, OSError) as exc:
            self.v.error(f"Cannot read the case's imagery list: {exc}")
            return
        have = {p.resolve() for p in self.s.tile_paths}
        found = [p for p in recorded if p.is_file()]
        missing = [p for p in recorded if not p.is_file()]
        if missing:
            self.v.info(f"{len(missing)} raster{'s' if len(missing) > 1 else ''} of the case "
                        f"not found (moved?): {', '.join(p.name for p in missing[:3])}. "
                        "Add the imagery again (Ctrl+I).", "warning")
        new = [p for p in found if p.resolve() not in have]
        if new:
            self.add_imagery(new)

    def remove_imagery(self, paths: list[Path]) -> None:
        """Stop using ``paths`` as reference imagery (the files and the case are untouched)."""
        self.s.remove_imagery(paths)
        n = len(paths)
        self.v.status(f"Removed {n} raster{'s' if n != 1 else ''} from the reference imagery "
                      "(files and case unchanged).", 6000)

    def _imagery_ok(self, paths: list[Path], catalog: TileCatalog) -> None:
        self.s.set_imagery(paths, catalog)
        warnings = list(catalog.warnings)
        if warnings:
            self.v.info("Some imagery was skipped: " + "; ".join(warnings[:3]), "warning")
        else:
            self.v.message_bar.hide()

    def _on_footage(self) -> None:
        s, w = self.s, self.v
        w.locate_panel.set_footage(s.video_path, s.video_info)
        info = s.video_info
        if s.video_path is not None and info is not None:
            w.frames.set_video(s.video_path, int(info.frame_count), float(info.fps))
            if s.case is None:
                w.frames.request_frame(0)
                w.center_tabs.setCurrentWidget(w.frames)
            elif w.frames.image is None:  # a case: stay on its comparison, fill Frames
                w.frames.request_frame(0)

    def _on_imagery(self) -> None:
        tiles = self.s.tiles
        self.v.locate_panel.set_imagery(tiles, self.s.imagery_warnings)

    def open_demo(self) -> None:
        """Help ▸ Open demo: generate the demo set in a child process (the generator,
        ``workbench_fixtures``, is imported there only: see :func:`~workbench_ui.jobs.demo_job`)."""
        if not demo_available():
            self.v.error("The demo generator (workbench_fixtures) is not installed with this copy.")
            return
        self.v.info("Preparing the demo footage and imagery (first time: a few seconds)…")
        task = ProcessTask(demo_job, demo_dir(), name="demo", parent=self)
        task.progress.connect(self.v.locate_panel.set_progress)
        task.succeeded.connect(self._demo_ok)
        task.failed.connect(lambda m: self.v.error(f"Demo failed: {m}"))
        self.pool.run(task)

    def _demo_ok(self, value: object) -> None:
        if not isinstance(value, tuple) or len(value) != 2:
            return
        video, tiles = value
        self.open_footage(Path(video))
        self.add_imagery([Path(t) for t in tiles])
        self.v.locate_panel.job_finished("Demo loaded: press Locate (Ctrl+L).")

    # --- remembered paths, recent cases ----------------------------------------------
    def last_dir(self) -> str:
        return str(self.v.settings.value("paths/last_dir", str(Path.home())))

    def remember_dir(self, path: Path) -> None:
        self.v.settings.setValue("paths/last_dir", str(Path(path).parent))

    def recent_cases(self) -> list[str]:
        value = self.v.settings.value("recent/cases", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent(self, path: Path) -> None:
        p = str(Path(path).resolve())
        items = [p] + [r for r in self.recent_cases() if r != p]
        self.v.settings.setValue("recent/cases", items[:MAX_RECENT])
        self.rebuild_recent()

    def rebuild_recent(self) -> None:
        menu = self.v.recent_menu
        menu.clear()
        recents = [r for r in self.recent_cases() if Path(r).exists()]
        for r in recents:
            act = menu.addAction(Path(r).name)
            if act is not None:
                act.setToolTip(r)
                act.triggered.connect(lambda _c=False, p=r: self.caseRequested.emit(Path(p), []))
        orphans = self.recoverable()
        if orphans:
            menu.addSeparator()
            for o in orphans[-MAX_RECENT:]:
                act = menu.addAction(f"Recover unsaved: {o.name}")
                if act is not None:
                    act.triggered.connect(lambda _c=False, p=o: self.caseRequested.emit(p, []))
        menu.setEnabled(bool(recents or orphans))

    def recoverable(self) -> list[Path]:
        """Untitled cases left in the autosave folder (e.g. after a crash)."""
        d = self.s.autosave_dir
        if not d.is_dir():
            return []
        return sorted(p for p in d.glob(f"*{CASE_SUFFIX}") if p != self.s.case_path)

    def announce_recoverable(self) -> None:
        n = len(self.recoverable())
        if n:
            self.v.info(f"{n} unsaved case{'s' if n > 1 else ''} from an earlier session can be "
                        "reopened from File ▸ Recent cases ▸ Recover unsaved.", "warning")
