"""Behaviour of the main window: opening inputs, the locate job, selection, decisions,
saving and exporting.  Talks to the core through :class:`~ui.session.Session` and
background :class:`~ui.workers.Task` objects; never does long work on the GUI thread.
"""

from __future__ import annotations

import html
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6.QtCore import QObject
from PyQt6.QtWidgets import QFileDialog, QMessageBox

from workbench.errors import WorkbenchError
from workbench_ui.dialogs import SHORTCUTS_HTML
from workbench_ui.jobs import locate_into_case, relocate_job
from workbench_ui.opener import CASE_FILTER, Opener
from workbench_ui.report_dialog import ReportDialog
from workbench_ui.review import Review
from workbench_ui.session import CASE_SUFFIX
from workbench_ui.workers import ProcessTask, Task, describe_error

if TYPE_CHECKING:
    from workbench_ui.main_window import MainWindow

log = logging.getLogger(__name__)

class Controller(QObject):
    """Wires the window's views to the session and runs jobs in the background."""

    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
        self.win = win
        self.s = win.session
        self.job: Task | ProcessTask | None = None
        self.tasks: set[Task | ProcessTask] = set()
        s, w = self.s, win
        s.caseChanged.connect(self._on_case)
        s.keyframesChanged.connect(self._on_keyframes)
        s.decisionsChanged.connect(self._on_decisions)
        w.frames.failed.connect(lambda m: self.error(m))
        w.locate_panel.locateRequested.connect(self.start_locate)
        w.locate_panel.cancelRequested.connect(self.cancel_job)
        self.opener = Opener(self)
        self.review = Review(self)

    # --- messages -----------------------------------------------------------------------------
    def error(self, message: str) -> None:
        """Show a one-line error in the message bar (the session stays usable)."""
        log.info("error shown: %s", message)
        self.win.message_bar.show_message(message, "error")
        self.win.statusBar().showMessage("Error: " + message, 10_000)  # type: ignore[union-attr]

    def info(self, message: str, kind: str = "info") -> None:
        self.win.message_bar.show_message(message, kind)
        self.win.statusBar().showMessage(message, 8_000)  # type: ignore[union-attr]

    def run(self, task: Task | ProcessTask) -> Task | ProcessTask:
        self.tasks.add(task)
        task.finished.connect(lambda t=task: self.tasks.discard(t))
        task.finished.connect(task.deleteLater)  # (the QObject; results were delivered)
        task.start()
        return task

    # --- state -> enabled actions -------------------------------------------------------------
    def refresh(self) -> None:
        w, s = self.win, self.s
        busy = self.job is not None
        has_case = s.case is not None
        rank = self.review.current_rank if s.candidate(self.review.current_rank) else 0
        if busy:
            why = "A job is running"
        elif s.video_info is None:
            why = "Open footage first (Ctrl+O)"
        else:
            why = "Add reference imagery first (Ctrl+I)"
        can_locate = not busy and s.video_info is not None and bool(s.tile_paths)
        w.locate_panel.set_can_locate(can_locate, why)
        w.act_locate.setEnabled(can_locate)
        w.act_relocate.setEnabled(not busy and s.relocate_inputs() is not None)
        w.act_cancel.setEnabled(busy)
        for act in (w.act_save_as, w.act_export, w.act_close_case, w.act_note):
            act.setEnabled(has_case and not busy)
        for act in (w.act_confirm, w.act_reject):
            act.setEnabled(has_case and rank > 0)
        w.confirm_btn.setEnabled(has_case and rank > 0)
        w.reject_btn.setEnabled(has_case and rank > 0)
        w.act_add_kf.setEnabled(has_case and w.frames.image is not None)
        w.frames.add_btn.setToolTip("Store this frame in the case as a manual keyframe (K)"
                                    if has_case else "Run Locate or open a case first: manual "
                                    "keyframes are stored in the case")
        title = "OSINT Geolocation Workbench"
        if s.case_path is not None:
            name = "untitled (autosaved)" if s.untitled else s.case_path.name
            title = f"{name} — {title}"
        elif s.video_path is not None:
            title = f"{s.video_path.name} — {title}"
        w.setWindowTitle(title)
        self.opener.rebuild_recent()

    # --- locate -------------------------------------------------------------------------------
    def start_locate(self) -> None:
        s, w = self.s, self.win
        if self.job is not None or s.video_path is None or not s.tile_paths:
            return
        try:
            path = s.new_autosave_path()
        except OSError as exc:
            self.error(f"{s.autosave_dir}: cannot create the autosave folder ({exc.strerror})")
            return
        task = ProcessTask(locate_into_case, path, s.video_path, list(s.tile_paths),
                           name="locate", parent=self)
        task.progress.connect(w.locate_panel.set_progress)
        task.progress.connect(
            lambda st, f: w.statusBar().showMessage(  # type: ignore[union-attr]
                f"Locating: {st}" + (f" {f:.0%}" if f >= 0 else "")))
        task.succeeded.connect(self._locate_ok)
        task.failed.connect(lambda m: self._job_end(f"Locate failed: {m}", error=True))
        task.cancelled.connect(lambda: self._job_end("Locate cancelled; nothing was saved."))
        self.job = task
        w.locate_panel.job_started("Locate")
        w.message_bar.hide()
        self.refresh()
        self.run(task)

    def start_relocate(self) -> None:
        """Locate again with all the case's keyframes (manual ones included)."""
        import tempfile

        s, w = self.s, self.win
        inputs = s.relocate_inputs()
        if self.job is not None or s.case_path is None or inputs is None:
            self.error("Locate again needs an open case, its footage and its imagery on disk.")
            return
        video, tiles = inputs
        try:
            s.autosave_dir.mkdir(parents=True, exist_ok=True)
            out = Path(tempfile.mkdtemp(prefix="relocate-", dir=s.autosave_dir))
        except OSError as exc:
            self.error(f"{s.autosave_dir}: cannot write here ({exc.strerror or exc})")
            return
        task = ProcessTask(relocate_job, s.case_path, video, tiles, out, name="locate again",
                           parent=self)
        task.progress.connect(w.locate_panel.set_progress)
        task.succeeded.connect(lambda d: self._relocate_ok(Path(str(d))))
        task.failed.connect(lambda m: self._job_end(f"Locate again failed: {m}", error=True))
        task.cancelled.connect(lambda: self._job_end("Locate again cancelled; the case is "
                                                     "unchanged."))
        task.finished.connect(lambda: shutil.rmtree(out, ignore_errors=True))
        self.job = task
        w.locate_panel.job_started("Locate again")
        self.refresh()
        self.run(task)

    def _relocate_ok(self, out_dir: Path) -> None:
        self.job = None
        try:
            self.s.add_locate_run(out_dir)
        except (WorkbenchError, OSError) as exc:
            self._job_end(f"The new run could not be stored: {describe_error(exc)}", error=True)
            return
        self._job_end("Done: the new run is the case's current result (audit-logged).")

    def cancel_job(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.win.locate_panel.stage.setText("Cancelling…")

    def _job_end(self, message: str, error: bool = False) -> None:
        self.job = None
        self.win.locate_panel.job_finished(message)
        if error:
            self.error(message)
        else:
            self.info(message)
        self.refresh()

    def _locate_ok(self, path: object) -> None:
        self.job = None
        try:
            self.s.open_case(Path(str(path)), untitled=True)
        except (WorkbenchError, OSError) as exc:
            self._job_end(f"The case could not be opened: {describe_error(exc)}", error=True)
            return
        r = self.s.result
        verdict = r.verdict.replace("_", " ") if r else "?"
        self.win.locate_panel.job_finished(f"Done: {verdict}, "
                                           f"{len(r.candidates) if r else 0} candidates.")
        if r is not None and r.verdict == "not_located":
            self.info("Not found in the imagery loaded. Add imagery that covers the area "
                      "(Ctrl+I), or add the decisive frame by hand (Frames tab, K) and Locate "
                      "again. The run is autosaved.", "warning")
        elif r is not None and r.verdict == "ambiguous":
            self.info("Ambiguous: several places fit. Compare the candidates side by side "
                      "before deciding. The case is autosaved; Save case as… (Ctrl+S).",
                      "warning")
        else:
            self.info("Locate finished. The case is autosaved; File ▸ Save case as… (Ctrl+S) "
                      "to keep it where you want.")
        self.refresh()

    # --- case ---------------------------------------------------------------------------------
    def ask_open_case(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.win, "Open case", self.opener.last_dir(),
                                              CASE_FILTER)
        if path:
            self.opener.remember_dir(Path(path))
            self.open_case(Path(path))

    def open_case(self, path: Path) -> bool:
        """Open a case file; on failure show why and keep the current session."""
        if not self.confirm_close(closing_case_only=True):
            return False
        try:
            self.s.open_case(path, untitled=self._is_autosave(path))
        except (WorkbenchError, OSError) as exc:
            self.error(f"Cannot open the case: {describe_error(exc)}")
            return False
        self.win.message_bar.hide()
        if not self.s.untitled:
            self.opener.add_recent(path)
        return True

    def _is_autosave(self, path: Path) -> bool:
        try:
            return Path(path).resolve().parent == self.s.autosave_dir.resolve()
        except OSError:
            return False

    def _on_case(self) -> None:
        s, w = self.s, self.win
        w.candidates.set_result(s.result)
        self.review.current_rank = 0
        w.compare.clear()
        w.point_panel.set_fix(None)
        if s.case is not None and s.video_info is None:
            w.locate_panel.set_footage(s.video_path, None)
            if s.video_path is not None and s.video_path.is_file():
                self.opener.open_footage(s.video_path, quiet=True)  # for the frame scrubber
        if s.result is not None and s.result.candidates:
            w.candidates.select_rank(s.result.candidates[0].rank)
            w.center_tabs.setCurrentWidget(w.compare)
        elif s.result is not None:
            w.compare.clear("No candidate: " + html.escape(s.result.reason or
                            "the footage was not found in the imagery loaded."))
        self.refresh()

    def _on_keyframes(self) -> None:
        w, s = self.win, self.s
        w.strip.set_keyframes(s.keyframes)
        masks = [k.mask for k in s.keyframes if k.mask is not None and not k.manual]
        w.frames.set_mask(masks[0] if masks else None)

    def _on_decisions(self) -> None:
        self.win.candidates.set_decisions(self.s.decisions())
        try:
            self.win.audit_panel.set_entries(self.s.audit_log())
        except (WorkbenchError, OSError) as exc:
            self.error(f"Cannot read the audit log: {describe_error(exc)}")
        self.refresh()

    def ask_save_as(self) -> None:
        if self.s.case_path is None:
            return
        start = self.opener.last_dir()
        if self.s.video_path is not None:
            start = str(Path(start) / (self.s.video_path.stem + CASE_SUFFIX))
        path, _ = QFileDialog.getSaveFileName(self.win, "Save case as", start, CASE_FILTER)
        if path:
            self.save_as(Path(path))

    def save_as(self, path: Path) -> bool:
        try:
            saved = self.s.save_as(path)
        except (WorkbenchError, OSError) as exc:
            self.error(describe_error(exc))
            return False
        self.opener.remember_dir(saved)
        self.opener.add_recent(saved)
        self.info(f"Case saved to {saved}. Every later change is written to it immediately.")
        self.refresh()
        return True

    def ask_close_case(self) -> None:
        if self.confirm_close(closing_case_only=True):
            self.s.close_case(discard_untitled=True)

    def ask_save_discard(self) -> QMessageBox.StandardButton:
        """Ask what to do with an untitled case (tests replace this method)."""
        return QMessageBox.question(
            self.win, "Unsaved case",
            "This case has not been saved to a file of your choice yet (it only exists in "
            "the autosave folder). Save it before closing?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)

    def confirm_close(self, closing_case_only: bool = False) -> bool:
        """True when it is fine to close (the case is saved, or the analyst decided)."""
        if self.job is not None and not closing_case_only:
            ans = QMessageBox.question(self.win, "Job running",
                                       "A job is still running. Cancel it and quit?")
            if ans != QMessageBox.StandardButton.Yes:
                return False
            self.job.cancel()
        if self.s.case is None or not self.s.untitled:
            return True
        ans = self.ask_save_discard()
        if ans == QMessageBox.StandardButton.Cancel:
            return False
        if ans == QMessageBox.StandardButton.Save:
            self.ask_save_as()
            return not self.s.untitled
        self.s.close_case(discard_untitled=True)
        return True

    def shutdown(self) -> None:
        """Cancel background work and wait for it; close the case."""
        for t in list(self.tasks):
            t.cancel()
        for t in list(self.tasks):
            t.wait(15_000)
        self.win.frames.wait_idle()
        self.s._close_case()

    # --- export / help ------------------------------------------------------------------------
    def ask_export(self) -> None:
        if self.s.case_path is None:
            return
        default = Path(self.opener.last_dir()) / f"{self.s.case_path.stem}-report"
        dlg = ReportDialog(self.s.case_path, default, self.win, untitled=self.s.untitled)
        self.report_dialog = dlg
        dlg.exec()

    def show_shortcuts(self) -> None:
        QMessageBox.information(self.win, "Keyboard shortcuts", SHORTCUTS_HTML)

    def show_about(self) -> None:
        from workbench import __version__

        QMessageBox.about(self.win, "About", f"<b>OSINT Geolocation Workbench</b> {__version__}"
                          "<br>Offline video geolocation against georeferenced imagery.")
