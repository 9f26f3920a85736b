"""Behaviour of the main window: opening cases, the locate jobs, saving and exporting;
inputs and reviewing are delegated to :class:`~workbench_ui.opener.Opener` and
:class:`~workbench_ui.review.Review`.  Talks to the core through
:class:`~workbench_ui.session.Session` and background tasks
(:mod:`workbench_ui.workers`); never does long work on the GUI thread.  It drives the
window's panels through :class:`~workbench_ui.views.Views` and tells the window what
is possible now through :attr:`Controller.availabilityChanged`.
"""

from __future__ import annotations

import html
import logging
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PyQt6.QtCore import QObject, QTimer, pyqtSignal
from PyQt6.QtWidgets import QFileDialog, QMessageBox

from workbench import __version__
from workbench.case import CASE_SUFFIX
from workbench.errors import WorkbenchError
from workbench_ui.dialogs import SHORTCUTS_HTML
from workbench_ui.jobs import locate_into_case, read_case_keyframes, relocate_job
from workbench_ui.models import KeyframeEntry
from workbench_ui.opener import CASE_FILTER, Opener
from workbench_ui.report_dialog import ReportDialog
from workbench_ui.review import Review
from workbench_ui.runner import describe_error
from workbench_ui.session import Session
from workbench_ui.views import Views
from workbench_ui.workers import ProcessTask, Task, TaskPool

log = logging.getLogger(__name__)

APP_TITLE = "OSINT Geolocation Workbench"


@dataclass(frozen=True)
class _OpenRequest:
    """A case the analyst asked to open: ``asked_about`` is the case open when they were
    asked about it (``discard``: they chose Discard); ``then``: paths given with it."""

    path: Path
    asked_about: object
    discard: bool
    then: tuple[Path, ...]


@dataclass(frozen=True)
class Availability:
    """What the analyst can do now; the window enables its actions and buttons from it.

    ``locate_hint`` says why Locate is disabled; ``can_decide``: a case is open and a
    candidate selected; ``title`` is the window title.
    """

    busy: bool
    has_case: bool
    can_locate: bool
    locate_hint: str
    can_relocate: bool
    can_decide: bool
    can_add_keyframe: bool
    title: str


class Controller(QObject):
    """Wires the window's views to the session and runs jobs in the background.

    Signals:
        availabilityChanged(Availability): after every change of state.
    """

    availabilityChanged = pyqtSignal(object)

    def __init__(self, views: Views, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.v = views
        self.s = session
        self.job: Task | ProcessTask | None = None
        self._opening: Task | None = None  # the case being read for File ▸ Open
        self.pool = TaskPool(self)
        self._mask_timer = QTimer(self)  # (see _on_keyframes)
        self._mask_timer.setSingleShot(True)
        self._mask_timer.setInterval(0)
        self._mask_timer.timeout.connect(self._frames_mask)
        s, v = self.s, views
        s.caseChanged.connect(self._on_case)
        s.keyframesChanged.connect(self._on_keyframes)
        s.decisionsChanged.connect(self._on_decisions)
        v.frames.failed.connect(v.error)
        v.locate_panel.locateRequested.connect(self.start_locate)
        v.locate_panel.cancelRequested.connect(self.cancel_job)
        self.opener = Opener(views, session, self.pool, self)
        self.review = Review(views, session, self.pool, self)
        # after the opener's own handlers, so the actions reflect what they did
        s.footageChanged.connect(self.refresh)
        s.imageryChanged.connect(self.refresh)
        self.opener.caseRequested.connect(self.open_case_in_background)
        self.review.changed.connect(self.refresh)

    # --- state -> enabled actions -------------------------------------------------------------
    def availability(self) -> Availability:
        """What is possible in the current state (see :class:`Availability`)."""
        s = self.s
        busy = self.job is not None or self._opening is not None
        has_case = s.case is not None
        if self._opening is not None:
            why = "A case is being opened"
        elif busy:
            why = "A job is running"
        elif s.video_info is None:
            why = "Open footage first (Ctrl+O)"
        else:
            why = "Add reference imagery first (Ctrl+I)"
        title = APP_TITLE
        if s.case_path is not None:
            name = "untitled (autosaved)" if s.untitled else s.case_path.name
            title = f"{name} — {title}"
        elif s.video_path is not None:
            title = f"{s.video_path.name} — {title}"
        return Availability(
            busy=busy, has_case=has_case,
            can_locate=not busy and s.video_info is not None and bool(s.tile_paths),
            locate_hint=why,
            can_relocate=not busy and s.relocate_inputs() is not None,
            can_decide=has_case and s.candidate(self.review.current_rank) is not None,
            can_add_keyframe=has_case and self.v.frames.image is not None,
            title=title,
        )

    def refresh(self) -> None:
        """Update the panels and tell the window what is possible now."""
        state = self.availability()
        self.v.locate_panel.set_can_locate(state.can_locate, state.locate_hint)
        self.v.frames.add_btn.setToolTip(
            "Store this frame in the case as a manual keyframe (K)" if state.has_case
            else "Run Locate or open a case first: manual keyframes are stored in the case")
        self.availabilityChanged.emit(state)
        self.opener.rebuild_recent()

    # --- locate -------------------------------------------------------------------------------
    def start_locate(self) -> None:
        s, w = self.s, self.v
        if self.job is not None or s.video_path is None or not s.tile_paths:
            return
        try:
            path = s.new_autosave_path()
        except OSError as exc:
            self.v.error(f"{s.autosave_dir}: cannot create the autosave folder ({exc.strerror})")
            return
        task = ProcessTask(locate_into_case, path, s.video_path, list(s.tile_paths),
                           *w.locate_panel.accuracy_args(), name="locate", parent=self)
        task.progress.connect(w.locate_panel.set_progress)
        task.progress.connect(
            lambda st, f: w.status(f"Locating: {st}" + (f" {f:.0%}" if f >= 0 else "")))
        task.succeeded.connect(self._locate_ok)
        task.failed.connect(lambda m: self._job_end(f"Locate failed: {m}", error=True))
        task.cancelled.connect(lambda: self._job_end("Locate cancelled; nothing was saved."))
        self.job = task
        w.locate_panel.job_started("Locate")
        w.message_bar.hide()
        self.refresh()
        self.pool.run(task)

    def start_relocate(self) -> None:
        """Locate again with all the case's keyframes (manual ones included)."""
        s, w = self.s, self.v
        inputs = s.relocate_inputs()
        if self.job is not None or s.case_path is None or inputs is None:
            self.v.error("Locate again needs an open case, its footage and its imagery on disk.")
            return
        video, tiles = inputs
        try:
            s.autosave_dir.mkdir(parents=True, exist_ok=True)
            out = Path(tempfile.mkdtemp(prefix="relocate-", dir=s.autosave_dir))
        except OSError as exc:
            self.v.error(f"{s.autosave_dir}: cannot write here ({exc.strerror or exc})")
            return
        task = ProcessTask(relocate_job, s.case_path, video, tiles, out,
                           *w.locate_panel.accuracy_args(), name="locate again", parent=self)
        task.progress.connect(w.locate_panel.set_progress)
        task.succeeded.connect(lambda d: self._relocate_ok(Path(str(d))))
        task.failed.connect(lambda m: self._job_end(f"Locate again failed: {m}", error=True))
        task.cancelled.connect(lambda: self._job_end("Locate again cancelled; the case is "
                                                     "unchanged."))
        task.finished.connect(lambda: shutil.rmtree(out, ignore_errors=True))
        self.job = task
        w.locate_panel.job_started("Locate again")
        self.refresh()
        self.pool.run(task)

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
            self.v.locate_panel.stage.setText("Cancelling…")
        if self._opening is not None:  # (the read stops at the next keyframe; nothing opens)
            self._opening.cancel()

    def _job_end(self, message: str, error: bool = False) -> None:
        self.job = None
        self.v.locate_panel.job_finished(message)
        if error:
            self.v.error(message)
        else:
            self.v.info(message)
        self.refresh()

    def _locate_ok(self, path: object) -> None:
        """The locate job made the case: decode its keyframes in a worker thread (the
        slow part of opening it), then open it (:meth:`_open_located`).  The job is not
        over until the case is open."""
        case_path = Path(str(path))
        self.v.locate_panel.set_progress("loading the result", 1.0)
        self.v.locate_panel.cancel_btn.setEnabled(False)  # (the case exists already)
        task = Task(read_case_keyframes, case_path, name="load the result", parent=self)
        task.succeeded.connect(lambda kfs: self._open_located(case_path, kfs))
        # (a failure to read is reported by opening it here, with the case's own error)
        task.failed.connect(lambda _m: self._open_located(case_path, None))
        task.cancelled.connect(lambda: self._open_located(case_path, None))
        self.job = task
        self.pool.run(task)

    def _open_located(self, path: Path, keyframes: object) -> None:
        self.job = None
        kfs = keyframes if isinstance(keyframes, list) else None
        try:
            self.s.open_case(path, untitled=True, keyframes=kfs)
        except (WorkbenchError, OSError) as exc:
            self._job_end(f"The case could not be opened: {describe_error(exc)}", error=True)
            return
        r = self.s.result
        verdict = r.verdict.replace("_", " ") if r else "?"
        self.v.locate_panel.job_finished(f"Done: {verdict}, "
                                           f"{len(r.candidates) if r else 0} candidates.")
        if r is not None and r.verdict == "not_located":
            self.v.info("Not found in the imagery loaded. Add imagery that covers the area "
                      "(Ctrl+I), or add the decisive frame by hand (Frames tab, K) and Locate "
                      "again. The run is autosaved.", "warning")
        elif r is not None and r.verdict == "ambiguous":
            self.v.info("Ambiguous: several places fit. Compare the candidates side by side "
                      "before deciding. The case is autosaved; Save case as… (Ctrl+S).",
                      "warning")
        else:
            self.v.info("Locate finished. The case is autosaved; File ▸ Save case as… (Ctrl+S) "
                      "to keep it where you want.")
        self.refresh()

    # --- case ---------------------------------------------------------------------------------
    def ask_open_case(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.v.window, "Open case", self.opener.last_dir(),
                                              CASE_FILTER)
        if path:
            self.opener.remember_dir(Path(path))
            self.open_case_in_background(Path(path))

    def open_case_in_background(self, path: Path, then: Sequence[Path] = ()) -> None:
        """Open a case for the analyst (File ▸ Open, Recent cases, a dropped or given case):
        ask about the current case first, decode the new one's keyframes in a worker thread
        (the slow part of opening a big case), then open it (:meth:`open_case`) and open
        ``then`` (footage or imagery dropped or given with it, which win over the case's
        own).  The window stays responsive meanwhile, with Locate, Save and the like
        disabled (Cancel stops the opening); a later request replaces one still being read.
        A Discard is carried out only once the new case has opened."""
        decision = self._decide_on_case(closing_case_only=True)
        if decision is None:
            return
        req = _OpenRequest(Path(path), self.s.case, decision == "discard", tuple(then))
        if self._opening is not None:
            self._opening.cancel()
        self.v.status(f"Opening {req.path.name}…")
        task = Task(read_case_keyframes, req.path, name="open the case", parent=self)
        self._opening = task
        task.succeeded.connect(lambda kfs, t=task: self._case_read(t, req, kfs))
        # (a file that cannot be read is reported by opening it, with the case's own error)
        task.failed.connect(lambda _m, t=task: self._case_read(t, req, None))
        task.cancelled.connect(lambda t=task: self._case_not_read(t))
        self.pool.run(task)
        self.refresh()

    def _case_not_read(self, task: Task) -> None:
        if task is self._opening:
            self._opening = None
            self.v.status("Opening cancelled", 5_000)
            self.refresh()

    def _case_read(self, task: Task, req: _OpenRequest, keyframes: object) -> None:
        if task is not self._opening:
            return  # replaced by a later request, or cancelled
        self._opening = None
        self.v.status("")
        # asked already, unless another case (e.g. a finished locate's) came in meanwhile
        same = self.s.case is req.asked_about
        opened = self.open_case(req.path, keyframes=keyframes if isinstance(keyframes, list)
                                else None, confirmed=same, discard_previous=same and req.discard)
        if opened and req.then:
            self.opener.open_paths(list(req.then))
        self.refresh()

    def open_case(self, path: Path, *, keyframes: list[KeyframeEntry] | None = None,
                  confirmed: bool = False, discard_previous: bool = False) -> bool:
        """Open a case file now, on this thread; on failure show why and keep the current
        session.  ``keyframes``: the case's keyframes decoded already
        (:func:`~workbench_ui.jobs.read_case_keyframes`); ``confirmed``: the analyst was
        asked about the current case already (``discard_previous``: and chose Discard,
        carried out once the new case is open)."""
        if not confirmed and not self.confirm_close(closing_case_only=True):
            return False
        try:
            self.s.open_case(path, untitled=self._is_autosave(path), keyframes=keyframes,
                             discard_previous=discard_previous)
        except (WorkbenchError, OSError) as exc:
            self.v.error(f"Cannot open the case: {describe_error(exc)}")
            return False
        self.v.message_bar.hide()
        if not self.s.untitled:
            self.opener.add_recent(path)
        return True

    def _is_autosave(self, path: Path) -> bool:
        try:
            return Path(path).resolve().parent == self.s.autosave_dir.resolve()
        except OSError:
            return False

    def _on_case(self) -> None:
        s, w = self.s, self.v
        self.review.reset()
        w.candidates.set_result(s.result)
        self.review.reset()  # (clearing the table may have selected "no candidate")
        w.compare.clear()
        w.point_panel.set_fix(None)
        method = s.result.method if s.result is not None else {}
        w.locate_panel.show_case_accuracy(method.get("imagery_accuracy_m"),
                                          method.get("imagery_accuracy_source"))
        if s.case is not None:
            self.opener.load_case_imagery()
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
        self.v.strip.set_keyframes(self.s.keyframes)  # (thumbnails follow, a few a turn)
        # the frame viewer's HUD tint in a later event-loop turn: opening a case is
        # already a long turn; it reads the keyframes of the moment it runs
        self._mask_timer.start()

    def _frames_mask(self) -> None:
        masks = [k.mask for k in self.s.keyframes if k.mask is not None and not k.manual]
        self.v.frames.set_mask(masks[0] if masks else None)

    def _on_decisions(self) -> None:
        self.v.candidates.set_decisions(self.s.decisions())
        try:
            self.v.audit_panel.set_entries(self.s.audit_log())
        except (WorkbenchError, OSError) as exc:
            self.v.error(f"Cannot read the audit log: {describe_error(exc)}")
        self.refresh()

    def ask_save_as(self) -> None:
        if self.s.case_path is None:
            return
        start = self.opener.last_dir()
        if self.s.video_path is not None:
            start = str(Path(start) / (self.s.video_path.stem + CASE_SUFFIX))
        path, _ = QFileDialog.getSaveFileName(self.v.window, "Save case as", start, CASE_FILTER)
        if path:
            self.save_as(Path(path))

    def save_as(self, path: Path) -> bool:
        try:
            saved = self.s.save_as(path)
        except (WorkbenchError, OSError) as exc:
            self.v.error(describe_error(exc))
            return False
        self.opener.remember_dir(saved)
        self.opener.add_recent(saved)
        self.v.info(f"Case saved to {saved}. Every later change is written to it immediately.")
        self.refresh()
        return True

    def ask_close_case(self) -> None:
        if self.confirm_close(closing_case_only=True):
            self.s.close_case(discard_untitled=True)

    def ask_save_discard(self) -> QMessageBox.StandardButton:
        """Ask what to do with an untitled case (tests replace this method)."""
        return QMessageBox.question(
            self.v.window, "Unsaved case",
            "This case has not been saved to a file of your choice yet (it only exists in "
            "the autosave folder). Save it before closing?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)

    def confirm_close(self, closing_case_only: bool = False) -> bool:
        """True when it is fine to close (the case is saved, or the analyst decided)."""
        decision = self._decide_on_case(closing_case_only)
        if decision == "discard":
            self.s.close_case(discard_untitled=True)
        return decision is not None

    def _decide_on_case(self, closing_case_only: bool) -> Literal["close", "discard"] | None:
        """Ask what the analyst wants before the case (or, unless ``closing_case_only``,
        the window) closes: ``None`` = stay; ``"close"``: fine (saved, or nothing to
        save); ``"discard"``: close and delete the untitled case, which the caller does."""
        if self.job is not None and not closing_case_only:
            ans = QMessageBox.question(self.v.window, "Job running",
                                       "A job is still running. Cancel it and quit?")
            if ans != QMessageBox.StandardButton.Yes:
                return None
            self.job.cancel()
        if self.s.case is None or not self.s.untitled:
            return "close"
        ans = self.ask_save_discard()
        if ans == QMessageBox.StandardButton.Cancel:
            return None
        if ans == QMessageBox.StandardButton.Save:
            self.ask_save_as()
            return None if self.s.untitled else "close"
        return "discard"

    def shutdown(self) -> None:
        """Cancel background work and wait for it; close the case."""
        self._opening = None  # a case still being read is not opened any more
        self.pool.shutdown()
        self.v.frames.wait_idle()
        self.s._close_case()

    # --- export / help ------------------------------------------------------------------------
    def ask_export(self) -> None:
        if self.s.case_path is None:
            return
        default = Path(self.opener.last_dir()) / f"{self.s.case_path.stem}-report"
        dlg = ReportDialog(self.s.case_path, default, self.v.window, untitled=self.s.untitled)
        self.report_dialog = dlg
        dlg.exec()

    def show_shortcuts(self) -> None:
        QMessageBox.information(self.v.window, "Keyboard shortcuts", SHORTCUTS_HTML)

    def show_about(self) -> None:
        QMessageBox.about(self.v.window, "About", f"<b>{APP_TITLE}</b> {__version__}"
                          "<br>Offline video geolocation against georeferenced imagery.")
