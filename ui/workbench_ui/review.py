"""Reviewing a result: candidate selection and comparison, point geolocation, decisions,
manual keyframes and the view toggles.  Owned by the controller
(:mod:`workbench_ui.controller`), which it tells about changes through signals.
"""

from __future__ import annotations

import html

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtWidgets import QInputDialog

from workbench.compare import locate_pixel
from workbench.errors import WorkbenchError
from workbench_ui.compare_data import CompareData
from workbench_ui.compare_data import prepare as prepare_compare
from workbench_ui.dialogs import DecisionDialog
from workbench_ui.runner import describe_error
from workbench_ui.session import Session
from workbench_ui.views import Views
from workbench_ui.workers import Task, TaskPool


class Review(QObject):
    """Selection, comparison, point, decisions and manual keyframes.

    Signals:
        changed(): the selected candidate or the shown frame changed (actions to update).
        pointLocated(): a picked pixel was geolocated (its panel should come forward).
    """

    changed = pyqtSignal()
    pointLocated = pyqtSignal()

    def __init__(self, views: Views, session: Session, pool: TaskPool,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.v = views
        self.s = session
        self.pool = pool
        self.current_rank = 0
        self._compare_req = 0
        self.decision_dialog: DecisionDialog | None = None
        w = self.v
        w.candidates.candidateSelected.connect(self.select_candidate)
        w.compare.pointPicked.connect(self.pick_point)
        w.point_panel.recordRequested.connect(self.record_point)
        w.strip.keyframeSelected.connect(self._on_keyframe_clicked)
        w.frames.addKeyframeRequested.connect(self.add_keyframe)

    def reset(self) -> None:
        """A case was opened or closed: forget the selection, drop comparisons still
        being prepared for the old case and close its decision dialog."""
        self.current_rank = 0
        self._compare_req += 1  # results of tasks started before arrive stale
        dlg = self.decision_dialog
        if dlg is not None and dlg.isVisible():
            dlg.reject()
        self.decision_dialog = None

    # --- selection, comparison, point ---------------------------------------------------------
    def select_candidate(self, rank: int) -> None:
        s, w = self.s, self.v
        self.current_rank = rank
        w.point_panel.set_fix(None)
        cand = s.candidate(rank)
        self.changed.emit()
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
        self.pool.run(task)

    def _compare_ready(self, req: int, data: object) -> None:
        if req != self._compare_req or not isinstance(data, CompareData):
            return  # the analyst selected another candidate meanwhile
        self.v.compare.apply(data)

    def _compare_failed(self, req: int, rank: int, msg: str) -> None:
        if req != self._compare_req:
            return
        self.v.compare.clear(f"Candidate {rank}: cannot show the imagery ({html.escape(msg)}). "
                               "Was the raster moved? Its path is recorded in the case.")
        self.v.error(msg)

    def step_candidate(self, delta: int) -> None:
        r = self.s.result
        if r is None or not r.candidates:
            return
        ranks = sorted(c.rank for c in r.candidates)
        i = ranks.index(self.current_rank) if self.current_rank in ranks else -delta
        self.v.candidates.select_rank(ranks[max(0, min(len(ranks) - 1, i + delta))])

    def pick_point(self, x: float, y: float) -> None:
        w = self.v
        cand = self.s.candidate(self.current_rank)
        tile = self.s.tile_ref(cand.tile) if cand else None
        if cand is None or tile is None or self.s.result is None:
            return
        try:
            acc, source = self.s.result.imagery_accuracy_of(cand.rank)
            fix = locate_pixel(cand, tile, x, y, imagery_accuracy_m=acc, imagery_source=source)
        except WorkbenchError as exc:
            w.point_panel.set_fix(None, str(exc))
            w.compare.set_point(None)
            return
        w.point_panel.set_fix(fix)
        w.compare.set_point(fix)
        self.pointLocated.emit()

    def record_point(self, label: str) -> None:
        fix = self.v.point_panel.fix
        if fix is None or self.current_rank <= 0:
            return
        try:
            self.s.record_point(self.current_rank, fix.x, fix.y, label)
        except (WorkbenchError, OSError) as exc:
            self.v.error(describe_error(exc))
            return
        self.v.info(f"Point '{label}' recorded in the case.")

    # --- decisions ----------------------------------------------------------------------------
    def ask_decide(self, confirmed: bool) -> None:
        """Open the (non-modal) decision dialog for the selected candidate, the note
        focused; while one is open, bring it forward instead (never flip its choice)."""
        cand = self.s.candidate(self.current_rank)
        if cand is None or self.s.case is None:
            return
        old = self.decision_dialog
        if old is not None and old.isVisible():
            old.raise_()
            old.activateWindow()
            old.note_edit.setFocus()
            self.v.status(f"Finish or cancel the decision on candidate {old.rank} first.", 6000)
            return
        prev = self.s.decisions().get(cand.rank, "")
        dlg = DecisionDialog(cand, confirmed, self.v.window, previous=prev)
        dlg.decided.connect(self.decide)
        self.decision_dialog = dlg
        win = self.v.window
        # beside the evidence: over the right-hand docks, not over the comparison
        geo = win.frameGeometry()
        dlg.move(max(geo.left(), geo.right() - dlg.width() - 12),
                 max(geo.top(), geo.bottom() - dlg.height() - 40))
        dlg.show()
        dlg.raise_()
        dlg.activateWindow()

    def decide(self, rank: int, confirmed: bool, note: str) -> bool:
        try:
            self.s.decide(rank, confirmed, note)
        except (WorkbenchError, OSError) as exc:
            self.v.error(describe_error(exc))
            return False
        self.v.info(f"Candidate {rank} {'confirmed' if confirmed else 'rejected'}; "
                      "recorded in the audit log.")
        return True

    def ask_note(self) -> None:
        text, ok = QInputDialog.getMultiLineText(self.v.window, "Add note",
                                                 "Note for the case:")
        if ok and text.strip():
            try:
                self.s.add_note(text.strip())
            except (WorkbenchError, OSError) as exc:
                self.v.error(describe_error(exc))

    # --- keyframes / frames -------------------------------------------------------------------
    def _on_keyframe_clicked(self, keyframe_id: str) -> None:
        kf = self.s.keyframe(keyframe_id)
        if kf is None:
            return
        self.v.frames.show_keyframe(kf)
        self.v.center_tabs.setCurrentWidget(self.v.frames)
        self.changed.emit()

    def add_shown_frame(self) -> None:
        f = self.v.frames
        if f.image is not None and f.frame_index >= 0:
            self.add_keyframe(f.frame_index, f.time_s, f.image)

    def add_keyframe(self, index: int, time_s: float, image: object) -> None:
        if self.s.case is None:
            self.v.error("Run Locate or open a case first: manual keyframes are stored in the "
                         "case.")
            return
        if self.s.keyframes and any(k.frame_index == index for k in self.s.keyframes):
            self.v.info(f"Frame {index} is already a keyframe.", "warning")
            return
        img = np.asarray(image)
        try:
            entry = self.s.add_keyframe(index, time_s, img, self.v.frames.mask_for(img))
        except (WorkbenchError, OSError, ValueError) as exc:
            self.v.error(describe_error(exc))
            return
        self.v.info(f"Frame {index} stored as keyframe {entry.id} (audit-logged). "
                      "Analysis ▸ Locate again (Ctrl+Shift+L) matches it too.")

    # --- view toggles -------------------------------------------------------------------------
    def toggle_overlay(self) -> None:
        c = self.v.compare
        self.v.center_tabs.setCurrentWidget(c)
        c.set_mode(overlay=c.tabs.currentIndex() == 0)

    def toggle_mask(self) -> None:
        if self.v.center_tabs.currentWidget() is self.v.frames:
            self.v.frames.mask_box.toggle()
        else:
            self.v.compare.mask_box.toggle()

    def fit_views(self) -> None:
        c = self.v.compare
        for v in (c.left, c.right, c.overlay_view, self.v.frames.view):
            v.fit()
