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
from PyQt6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from workbench.compare import locate_pixel
from workbench.errors import WorkbenchError

from .compare import CompareData
from .compare import prepare as prepare_compare
from .dialogs import SHORTCUTS_HTML, DecisionDialog
from .jobs import locate_into_case, relocate_job
from .opener import CASE_FILTER, Opener
from .report_dialog import ReportDialog
from .session import CASE_SUFFIX
from .workers import ProcessTask, Task, describe_error

if TYPE_CHECKING:
    from .main_window import MainWindow

log = logging.getLogger(__name__)

class Controller(QObject):
    """Wires the window's views to the session and runs jobs in the background."""

    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
        self.win = win
        self.s = win.session
        self.job: Task | ProcessTask | None = None
        self.tasks: set[Task | ProcessTask] = set()
        self.current_rank = 0
        self._compare_req = 0
        s, w = self.s, win
        s.caseChanged.connect(self._on_case)
        s.keyframesChanged.connect(self._on_keyframes)
        s.decisionsChanged.connect(self._on_decisions)
        w.candidates.candidateSelected.connect(self.select_candidate)
        w.compare.pointPicked.connect(self.pick_point)
        w.point_panel.recordRequested.connect(self.record_point)
        w.strip.keyframeSelected.connect(self._on_keyframe_clicked)
        w.frames.addKeyframeRequested.connect(self.add_keyframe)
        w.frames.failed.connect(lambda m: self.error(m))
        w.locate_panel.locateRequested.connect(self.start_locate)
        w.locate_panel.cancelRequested.connect(self.cancel_job)
        self.opener = Opener(self)

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
        task.start()
        return task

    # --- state -> enabled actions -------------------------------------------------------------
    def refresh(self) -> None:
        w, s = self.win, self.s
        busy = self.job is not None
        has_case = s.case is not None
        rank = self.current_rank if s.candidate(self.current_rank) else 0
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
        self.current_rank = 0
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

    # --- selection, comparison, point ---------------------------------------------------------
    def select_candidate(self, rank: int) -> None:
        s, w = self.s, self.win
        self.current_rank = rank
        w.point_panel.set_fix(None)
        cand = s.candidate(rank)
        self.refresh()
        if cand is None:
            w.compare.clear()
            return
        tile = s.tile_ref(cand.tile)
        kf = s.keyframe(cand.keyframe_id)
        if tile is None or kf is None:
            w.compare.clear(f"Candidate {rank}: its {'imagery' if tile is None else 'keyframe'} "
                            "is not recorded in the case.")
            return
        w.strip.blockSignals(True)
        w.strip.select(kf.id)
        w.strip.blockSignals(False)
        w.compare.title.setText(f"Loading candidate {rank}…")
        self._compare_req += 1
        req = self._compare_req
        task = Task(prepare_compare, cand, tile, kf.image, kf.mask, name="compare",
                    with_progress=False, parent=self)
        task.succeeded.connect(lambda data, r=req: self._compare_ready(r, data))
        task.failed.connect(lambda msg, r=req: self._compare_failed(r, rank, msg))
        self.run(task)

    def _compare_ready(self, req: int, data: object) -> None:
        if req != self._compare_req or not isinstance(data, CompareData):
            return  # the analyst selected another candidate meanwhile
        self.win.compare.apply(data)

    def _compare_failed(self, req: int, rank: int, msg: str) -> None:
        if req != self._compare_req:
            return
        self.win.compare.clear(f"Candidate {rank}: cannot show the imagery ({html.escape(msg)}). "
                               "Was the raster moved? Its path is recorded in the case.")
        self.error(msg)

    def step_candidate(self, delta: int) -> None:
        r = self.s.result
        if r is None or not r.candidates:
            return
        ranks = sorted(c.rank for c in r.candidates)
        i = ranks.index(self.current_rank) if self.current_rank in ranks else -delta
        self.win.candidates.select_rank(ranks[max(0, min(len(ranks) - 1, i + delta))])

    def pick_point(self, x: float, y: float) -> None:
        w = self.win
        cand = self.s.candidate(self.current_rank)
        tile = self.s.tile_ref(cand.tile) if cand else None
        if cand is None or tile is None:
            return
        try:
            fix = locate_pixel(cand, tile, x, y)
        except WorkbenchError as exc:
            w.point_panel.set_fix(None, str(exc))
            w.compare.set_point(None)
            return
        w.point_panel.set_fix(fix)
        w.compare.set_point(fix)
        w.dock_point.raise_()

    def record_point(self, label: str) -> None:
        fix = self.win.point_panel.fix
        if fix is None or self.current_rank <= 0:
            return
        try:
            self.s.record_point(self.current_rank, fix.x, fix.y, label)
        except (WorkbenchError, OSError) as exc:
            self.error(describe_error(exc))
            return
        self.info(f"Point '{label}' recorded in the case.")

    # --- decisions ----------------------------------------------------------------------------
    def ask_decide(self, confirmed: bool) -> None:
        cand = self.s.candidate(self.current_rank)
        if cand is None or self.s.case is None:
            return
        prev = self.s.decisions().get(cand.rank, "")
        dlg = DecisionDialog(cand, confirmed, self.win, previous=prev)
        self.decision_dialog = dlg
        if dlg.exec() == DecisionDialog.DialogCode.Accepted:
            self.decide(cand.rank, dlg.confirmed, dlg.note())

    def decide(self, rank: int, confirmed: bool, note: str) -> bool:
        try:
            self.s.decide(rank, confirmed, note)
        except (WorkbenchError, OSError) as exc:
            self.error(describe_error(exc))
            return False
        self.info(f"Candidate {rank} {'confirmed' if confirmed else 'rejected'}; "
                  "recorded in the audit log.")
        return True

    def ask_note(self) -> None:
        text, ok = QInputDialog.getMultiLineText(self.win, "Add note", "Note for the case:")
        if ok and text.strip():
            try:
                self.s.add_note(text.strip())
            except (WorkbenchError, OSError) as exc:
                self.error(describe_error(exc))

    # --- keyframes / frames -------------------------------------------------------------------
    def _on_keyframe_clicked(self, keyframe_id: str) -> None:
        kf = self.s.keyframe(keyframe_id)
        if kf is None:
            return
        self.win.frames.show_keyframe(kf)
        self.win.center_tabs.setCurrentWidget(self.win.frames)
        self.refresh()

    def add_shown_frame(self) -> None:
        f = self.win.frames
        if f.image is not None and f.frame_index >= 0:
            self.add_keyframe(f.frame_index, f.time_s, f.image)

    def add_keyframe(self, index: int, time_s: float, image: object) -> None:
        import numpy as np

        if self.s.case is None:
            self.error("Run Locate or open a case first: manual keyframes are stored in the case.")
            return
        if self.s.keyframes and any(k.frame_index == index for k in self.s.keyframes):
            self.info(f"Frame {index} is already a keyframe.", "warning")
            return
        mask = self.win.frames._mask
        img = np.asarray(image)
        if mask is not None and mask.shape != img.shape[:2]:
            mask = None
        try:
            entry = self.s.add_keyframe(index, time_s, img, mask)
        except (WorkbenchError, OSError, ValueError) as exc:
            self.error(describe_error(exc))
            return
        self.info(f"Frame {index} stored as keyframe {entry.id} (audit-logged). Analysis ▸ "
                  "Locate again (Ctrl+Shift+L) matches it too.")

    # --- view toggles -------------------------------------------------------------------------
    def toggle_overlay(self) -> None:
        c = self.win.compare
        self.win.center_tabs.setCurrentWidget(c)
        c.set_mode(overlay=c.tabs.currentIndex() == 0)

    def toggle_mask(self) -> None:
        if self.win.center_tabs.currentWidget() is self.win.frames:
            self.win.frames.mask_box.toggle()
        else:
            self.win.compare.mask_box.toggle()

    def fit_views(self) -> None:
        c = self.win.compare
        for v in (c.left, c.right, c.overlay_view, self.win.frames.view):
            v.fit()

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
