"""The whole case in the GUI: the claim (with the latitude/longitude order check),
context layers, analyst tie points (picked as pairs, refitted, withdrawn by retraction),
Verify, and the imagery provenance under the imagery pane.

Every change goes through the core's case API (``Case.set_claim``,
``add_context_layer``, ``add_tie_point``, ``retract_tie_point``; the imagery provenance
in :mod:`workbench_ui.provenance_tools`),
one audit-logged transaction each; Verify (:func:`workbench.verify.verify_case`) runs in
a background task.  Tests replace :meth:`CaseTools.ask_swap` and
:meth:`CaseTools.ask_reason` (the two questions asked with message boxes).
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtWidgets import QInputDialog, QMessageBox

from workbench.claim.geodesy import inverse
from workbench.claim.order import check_order
from workbench.errors import WorkbenchError
from workbench.geo import format_metres
from workbench.verify import VerifyReport, verify_case
from workbench_ui.case_dialogs import ClaimDialog, LayerDialog
from workbench_ui.case_panel import CasePanel, ProvenanceStrip
from workbench_ui.provenance_tools import ProvenanceTools
from workbench_ui.review import Review
from workbench_ui.runner import describe_error
from workbench_ui.session import Session
from workbench_ui.tie_marks import TieMarks
from workbench_ui.views import Views
from workbench_ui.workers import Task, TaskPool


class CaseTools(QObject):
    """Drives the Case dock and the provenance strip.

    Signals:
        changed(): the case was edited (the window refreshes what is possible).
    """

    changed = pyqtSignal()

    def __init__(self, views: Views, panel: CasePanel, strip: ProvenanceStrip,
                 session: Session, review: Review, pool: TaskPool,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.v, self.panel, self.strip, self.s = views, panel, strip, session
        self.review, self.pool = review, pool
        self.pending_kf: tuple[float, float] | None = None
        self.verify_task: Task | None = None
        self.last_report: VerifyReport | None = None
        self.dialog: Any = None  # the open case dialog (tests fill it)
        s, p = session, panel
        s.caseChanged.connect(self.refresh)
        s.decisionsChanged.connect(self.refresh)
        self.provenance = ProvenanceTools(views, strip, session,
                                          lambda: self.review.current_rank, self)
        self.provenance.edited.connect(lambda m: self._edited(m))
        review.changed.connect(self.refresh_candidate)
        p.editClaimRequested.connect(self.edit_claim)
        p.addLayerRequested.connect(self.add_layer)
        p.pickPairToggled.connect(self._pick_mode)
        p.retractRequested.connect(self.retract)
        p.verifyRequested.connect(self.run_verify)
        views.compare.left.pixelClicked.connect(self._keyframe_clicked)
        views.compare.right.pixelClicked.connect(self._imagery_clicked)
        self.marks = (TieMarks(views.compare.left), TieMarks(views.compare.right))
        views.compare.applied.connect(self._draw_ties)
        self.refresh()

    # --- questions (tests replace these) -------------------------------------------------
    def ask_swap(self, reason: str, lat: float, lon: float) -> str:
        """"swap", "keep" or "cancel"."""
        box = QMessageBox(QMessageBox.Icon.Question, "Latitude and longitude?",
                          f"Did you swap latitude and longitude?\n\nAs typed: latitude {lat:g}, "
                          f"longitude {lon:g} — {reason}.", parent=self.v.window)
        swap = box.addButton("Swap them", QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton("Keep as typed", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        clicked = box.clickedButton()
        return "swap" if clicked is swap else "keep" if clicked is keep else "cancel"

    def ask_reason(self, tie_id: int) -> str | None:
        text, ok = QInputDialog.getText(self.v.window, "Retract tie point",
                                        f"Why is tie point {tie_id} withdrawn? (audit log)")
        return text.strip() if ok and text.strip() else None

    # --- refresh -----------------------------------------------------------------------
    def refresh(self) -> None:
        case, p = self.s.case, self.panel
        has = case is not None
        for w in (p.claim_btn, p.layer_btn, p.verify_btn):
            w.setEnabled(has)
        if case is None:
            p.claim_label.setText("<i>Open or create a case (Locate) to record a claim.</i>")
            p.layers.clear()
            p.verify_view.clear()
            self.last_report = None
        else:
            self._show_claim()
            p.layers.clear()
            try:
                for layer in case.context_layers():
                    p.layers.addItem(f"{layer.name} — {len(layer.geojson.get('features') or [])}"
                                     " features")
            except (WorkbenchError, OSError) as exc:
                self.v.error(f"Cannot read the context layers: {describe_error(exc)}")
        self.refresh_candidate()

    def refresh_candidate(self) -> None:
        self._show_ties()
        self.provenance.refresh()

    def _show_claim(self) -> None:
        case = self.s.case
        claim = case.claim() if case is not None else None
        self.panel.claim_btn.setText("Edit claim…" if claim else "Enter claim…")
        if claim is None:
            self.panel.claim_label.setText("<i>No claim recorded.</i>")
            return
        parts = [f"<b>{html.escape(claim.text)}</b>"]
        if claim.lonlat:
            parts.append(f"Claimed point: latitude {claim.lonlat[1]:.6f}, longitude "
                         f"{claim.lonlat[0]:.6f}")
        if claim.area_geojson:
            parts.append("Claimed area recorded")
        parts.append("Claimed time: " + html.escape(claim.claimed_time or "not stated"))
        if claim.category:
            parts.append("Category: " + html.escape(claim.category))
        parts.append(f"<span style='color:#666'>recorded by {html.escape(claim.user)}, "
                     f"{html.escape(claim.time)}</span>")
        self.panel.claim_label.setText("<br>".join(parts))

    # --- claim ---------------------------------------------------------------------------
    def footprints(self) -> list[list[list[float]]]:
        """WGS84 rings of the case's rasters and of the loaded imagery."""
        rings = [list(t.footprint) for t in self.s.tiles if t.footprint]
        if self.s.case is not None:
            rings += [list(r.footprint) for r in self.s.case.rasters if r.footprint]
        return rings

    def edit_claim(self, at: tuple[float, float] | None = None) -> None:
        """Open the claim dialog; ``at`` = ``(lat, lon)`` pre-fills the claimed point
        (e.g. picked on a map), still subject to the order check when recorded."""
        case = self.s.case
        if case is None:
            return
        dlg = ClaimDialog(case.claim(), self.v.window)
        if at is not None:
            dlg.set_latlon(*at)
        dlg.submit = lambda: self._record_claim(dlg)
        self._run(dlg)

    def _record_claim(self, dlg: ClaimDialog) -> str:
        case = self.s.case
        if case is None:
            return "the case was closed"
        if not dlg.text():
            return "Write what the claim says."
        lat_t, lon_t = dlg.latlon_text()
        lonlat = None
        if lat_t or lon_t:
            try:
                lat, lon = float(lat_t.replace(",", ".")), float(lon_t.replace(",", "."))
            except ValueError:
                return "Latitude and longitude must be decimal degrees (e.g. 50.4590)."
            check = check_order(lat, lon, self.footprints())
            if check.suspect:
                answer = self.ask_swap(check.reason, lat, lon)
                if answer == "cancel":
                    return "Check the latitude and longitude."
                if answer == "swap":
                    lat, lon = lon, lat
                    dlg.set_latlon(lat, lon)
            lonlat = (lon, lat)
        old = case.claim()
        try:
            case.set_claim(dlg.text(), lonlat, old.area_geojson if old else None,
                           claimed_time=dlg.claimed_time(), category=dlg.category())
        except (WorkbenchError, OSError) as exc:
            return describe_error(exc)
        self._edited("Claim recorded (audit-logged).")
        return ""

    # --- context layers ------------------------------------------------------------------
    def add_layer(self) -> None:
        if self.s.case is None:
            return
        dlg = LayerDialog(str(self.v.settings.value("paths/last_dir", "")), self.v.window)
        dlg.submit = lambda: self._record_layer(dlg)
        self._run(dlg)

    def _record_layer(self, dlg: LayerDialog) -> str:
        case, path = self.s.case, dlg.path()
        if case is None:
            return "the case was closed"
        if path is None:
            return "Choose the layer file."
        try:
            layer = case.add_context_layer(path, **dlg.fields())
        except (WorkbenchError, OSError) as exc:
            return describe_error(exc)
        self._edited(f"Context layer '{layer.name}' added (audit-logged).")
        return ""

    # --- tie points ----------------------------------------------------------------------
    def _pick_mode(self, on: bool) -> None:
        self.pending_kf = None
        self.panel.tie_state.setText(
            "Click a landmark in the keyframe (left)…" if on else "")

    def _keyframe_clicked(self, x: float, y: float) -> None:
        if not self.panel.pick_btn.isChecked():
            return
        self.pending_kf = (x, y)
        self.panel.tie_state.setText(f"Keyframe ({x:.1f}, {y:.1f}): now click the same spot "
                                     "in the imagery (right).")

    def _imagery_clicked(self, x: float, y: float) -> None:
        crop = self.v.compare.crop
        if not self.panel.pick_btn.isChecked() or crop is None:
            return
        if self.pending_kf is None:
            self.panel.tie_state.setText("First click the landmark in the keyframe (left).")
            return
        tile_xy = crop.to_tile(np.array([[x, y]], float))[0]
        self.add_tie_point(self.pending_kf, (float(tile_xy[0]), float(tile_xy[1])))

    def add_tie_point(self, keyframe_xy: tuple[float, float],
                      tile_xy: tuple[float, float]) -> bool:
        """Record a pair for the selected candidate and refit it through the core."""
        case, rank = self.s.case, self.review.current_rank
        self.pending_kf = None
        if case is None or rank <= 0:
            return False
        before = case.candidate(rank)
        try:
            tie = case.add_tie_point(rank, keyframe_xy, tile_xy)
        except (WorkbenchError, OSError) as exc:
            self.panel.tie_state.setText(describe_error(exc))
            self.v.error(describe_error(exc))
            return False
        self._refitted(rank, before.lon, before.lat,
                       f"Tie point {tie.id} added to candidate {rank}")
        return True

    def retract(self, tie_id: int) -> bool:
        case = self.s.case
        if case is None:
            return False
        tie = next((t for t in case.tie_points() if t.id == tie_id), None)
        reason = self.ask_reason(tie_id) if tie is not None else None
        if tie is None or reason is None:
            return False
        before = case.candidate(tie.rank)
        try:
            case.retract_tie_point(tie_id, reason)
        except (WorkbenchError, OSError) as exc:
            self.v.error(describe_error(exc))
            return False
        self._refitted(tie.rank, before.lon, before.lat, f"Tie point {tie_id} retracted")
        return True

    def _refitted(self, rank: int, lon0: float, lat0: float, what: str) -> None:
        s = self.s
        s.reload_result()
        after = s.candidate(rank)
        moved = ""
        if after is not None:
            d, _ = inverse(lon0, lat0, after.lon, after.lat)
            moved = f"; candidate {rank} refitted, moved {format_metres(d)}"
        self.panel.tie_state.setText(f"{what}{moved} (audit-logged).")
        self.v.candidates.set_result(s.result)
        self.v.candidates.set_decisions(s.decisions())
        self.review.current_rank = 0  # so that selecting it again redraws the comparison
        self.v.candidates.select_rank(rank)
        if self.review.current_rank != rank:  # the row was already selected: no signal
            self.review.select_candidate(rank)
        self._show_ties()
        self.changed.emit()

    def _show_ties(self) -> None:
        case, rank = self.s.case, self.review.current_rank
        rows: list[tuple[int, str, str, str]] = []
        if case is not None and rank > 0 and self.s.candidate(rank) is not None:
            try:
                for r in case.tie_point_residuals(rank):
                    t = r.tie
                    res = "—" if math.isnan(r.residual_px) else \
                        f"{r.residual_px:.1f} px ({format_metres(r.residual_m)})"
                    rows.append((t.id, f"{t.keyframe_xy[0]:.1f}, {t.keyframe_xy[1]:.1f}",
                                 f"{t.tile_xy[0]:.1f}, {t.tile_xy[1]:.1f}", res))
            except (WorkbenchError, OSError) as exc:
                self.panel.tie_state.setText(describe_error(exc))
        self.panel.set_ties(rows)
        self._draw_ties()
        ok = case is not None and rank > 0
        self.panel.pick_btn.setEnabled(ok)
        if not ok and self.panel.pick_btn.isChecked():
            self.panel.pick_btn.setChecked(False)

    def _draw_ties(self) -> None:
        """The active tie points of the candidate shown, as squares on both sides."""
        cmp, case = self.v.compare, self.s.case
        left: list[tuple[str, float, float]] = []
        right: list[tuple[str, float, float]] = []
        cand, crop = cmp.candidate, cmp.crop
        if case is not None and cand is not None and crop is not None:
            try:
                ties = case.tie_points(cand.rank)
            except (WorkbenchError, OSError):
                ties = []
            if ties:
                cxy = crop.to_crop(np.array([t.tile_xy for t in ties], float))
                for t, (x, y) in zip(ties, cxy, strict=True):
                    left.append((f"T{t.id}", t.keyframe_xy[0], t.keyframe_xy[1]))
                    right.append((f"T{t.id}", float(x), float(y)))
        self.marks[0].set_points(left)
        self.marks[1].set_points(right)

    # --- verify --------------------------------------------------------------------------
    def run_verify(self) -> None:
        path = self.s.case_path
        if path is None or self.verify_task is not None:
            return
        self.panel.verify_btn.setEnabled(False)
        self.panel.verify_view.setPlainText("Verifying…")
        task = Task(verify_case, Path(path), name="verify", with_progress=False, parent=self)
        task.succeeded.connect(self._verified)
        task.failed.connect(lambda m: self._verify_end(f"Verify could not run: {m}"))
        self.verify_task = task
        self.pool.run(task)

    def _verify_end(self, text: str) -> None:
        self.verify_task = None
        self.panel.verify_btn.setEnabled(self.s.case is not None)
        if text:
            self.panel.verify_view.setPlainText(text)

    def _verified(self, rep: object) -> None:
        self._verify_end("")
        if not isinstance(rep, VerifyReport):
            return
        self.last_report = rep
        head = ("<p style='color:#1e7b34'><b>OK</b>: no error found.</p>" if rep.ok else
                "<p style='color:#a31d1d'><b>FAILED</b>: errors found.</p>")
        items = "".join(
            f"<li><span style='color:{'#a31d1d' if f.severity == 'error' else '#8a5a00'}'>"
            f"{f.severity.upper()}</span> {html.escape(f.kind)} "
            f"[{html.escape(f.subject)}]: {html.escape(f.message)}</li>" for f in rep.findings)
        checked = "".join(f"<li>{html.escape(c)}</li>" for c in rep.checked)
        self.panel.verify_view.setHtml(
            head + (f"<ul>{items}</ul>" if items else "")
            + f"<p><b>Checked</b></p><ul>{checked}</ul>"
            + f"<p style='color:#666'>Audit head {html.escape(rep.audit_head[:16])}…</p>")

    # --- shared ----------------------------------------------------------------------------
    def _run(self, dlg: Any) -> None:
        self.dialog = dlg
        dlg.exec()
        self.dialog = None

    def _edited(self, message: str) -> None:
        self.s.decisionsChanged.emit()  # the audit panel and this dock refresh
        self.v.info(message)
        self.changed.emit()
