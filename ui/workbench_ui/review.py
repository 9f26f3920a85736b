"""Reviewing a result: candidate selection and comparison, point geolocation, decisions,
manual keyframes and the view toggles.  Part of the controller (see :mod:`ui.controller`).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PyQt6.QtCore import QObject
from PyQt6.QtWidgets import QInputDialog

from workbench.compare import locate_pixel
from workbench.errors import WorkbenchError
from workbench_ui.compare_data import CompareData
from workbench_ui.compare_data import prepare as prepare_compare
from workbench_ui.dialogs import DecisionDialog
from workbench_ui.workers import Task, describe_error

if TYPE_CHECKING:
    from workbench_ui.controller import Controller


class Review(QObject):
    """Selection, comparison, point, decisions and manual keyframes."""

    def __init__(self, controller: Controller) -> None:
        super().__init__(controller)
        self.c = controller
        self.win = controller.win
        self.s = controller.s
        self.current_rank = 0
        self._compare_req = 0
        self.decision_dialog: DecisionDialog | None = None
        w = self.win
        w.candidates.candidateSelected.connect(self.select_candidate)
        w.compare.pointPicked.connect(self.pick_point)
        w.point_panel.recordRequested.connect(self.record_point)
        w.strip.keyframeSelected.connect(self._on_keyframe_clicked)
        w.frames.addKeyframeRequested.connect(self.add_keyframe)

    # --- selection, comparison, point ---------------------------------------------------------
    def select_candidate(self, rank: int) -> None:
        s, w = self.s, self.win
        self.current_rank = rank
        w.point_panel.set_fix(None)
        cand = s.candidate(rank)
        self.c.refresh()
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
        self.c.run(task)

    def _compare_ready(self, req: int, data: object) -> None:
        if req != self._compare_req or not isinstance(data, CompareData):
            return  # the analyst selected another candidate meanwhile
        self.win.compare.apply(data)

    def _compare_failed(self, req: int, rank: int, msg: str) -> None:
        if req != self._compare_req:
            return
        self.win.compare.clear(f"Candidate {rank}: cannot show the imagery ({html.escape(msg)}). "
                               "Was the raster moved? Its path is recorded in the case.")
        self.c.error(msg)

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
            self.c.error(describe_error(exc))
            return
        self.c.info(f"Point '{label}' recorded in the case.")

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
            self.c.error(describe_error(exc))
            return False
        self.c.info(f"Candidate {rank} {'confirmed' if confirmed else 'rejected'}; "
                  "recorded in the audit log.")
        return True

    def ask_note(self) -> None:
        text, ok = QInputDialog.getMultiLineText(self.win, "Add note", "Note for the case:")
        if ok and text.strip():
            try:
                self.s.add_note(text.strip())
            except (WorkbenchError, OSError) as exc:
                self.c.error(describe_error(exc))

    # --- keyframes / frames -------------------------------------------------------------------
    def _on_keyframe_clicked(self, keyframe_id: str) -> None:
        kf = self.s.keyframe(keyframe_id)
        if kf is None:
            return
        self.win.frames.show_keyframe(kf)
        self.win.center_tabs.setCurrentWidget(self.win.frames)
        self.c.refresh()

    def add_shown_frame(self) -> None:
        f = self.win.frames
        if f.image is not None and f.frame_index >= 0:
            self.add_keyframe(f.frame_index, f.time_s, f.image)

    def add_keyframe(self, index: int, time_s: float, image: object) -> None:
        import numpy as np

        if self.s.case is None:
            self.c.error("Run Locate or open a case first: manual keyframes are stored in the "
                         "case.")
            return
        if self.s.keyframes and any(k.frame_index == index for k in self.s.keyframes):
            self.c.info(f"Frame {index} is already a keyframe.", "warning")
            return
        img = np.asarray(image)
        try:
            entry = self.s.add_keyframe(index, time_s, img, self.win.frames.mask_for(img))
        except (WorkbenchError, OSError, ValueError) as exc:
            self.c.error(describe_error(exc))
            return
        self.c.info(f"Frame {index} stored as keyframe {entry.id} (audit-logged). Analysis ▸ "
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
