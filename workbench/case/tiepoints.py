"""Withdrawing analyst tie points, and how well each one fits.

Tie points are append-only: :meth:`TiePointActions.retract_tie_point` appends a
retraction record (with the analyst's reason) and one audit entry, and refits the
candidate over the engine's correspondences and the tie points still active.  With no
active tie point left, the candidate is restored exactly as the engine stored it.

Pixels: keyframe ``(x, y)`` = (col, row); tile pixels in the raster's level-0 grid,
pixel centres at integers.  Positions WGS84 lon/lat.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict

import numpy as np

from workbench.case.actions import refit_candidate
from workbench.case.audit import canonical_json, utc_now
from workbench.case.geometry import as_points
from workbench.case.ingest import check_not_readonly
from workbench.case.model import TieResidual, TieRetraction
from workbench.case.view import CaseView
from workbench.errors import UsageError
from workbench.geo import apply_homography


class TiePointActions(CaseView):
    """Retracting tie points and their residuals (part of :class:`workbench.case.Case`)."""

    def retract_tie_point(self, tie_id: int, reason: str) -> TieRetraction:
        """Withdraw active tie point ``tie_id`` of the latest run, saying why.

        The tie point stays in the case (and the audit log); a retraction record is
        appended and the candidate refitted without it (or restored to the engine's own
        result when no active tie point remains).  ``UsageError`` (nothing recorded) on an
        empty reason or when there is no such active tie point.
        """
        check_not_readonly(self.readonly, self.path)
        if not reason.strip():
            raise UsageError(f"tie point {tie_id} not retracted: say why", self.path)
        tie = next((t for t in self.tie_points() if t.id == tie_id), None)
        if tie is None:
            raise UsageError(f"no active tie point {tie_id} in the current run", self.path)
        c = self.candidate(tie.rank)
        info = self.keyframe_info(c.keyframe_id)
        grid = self._grid(c.tile)
        remaining = [t for t in self.tie_points(tie.rank) if t.id != tie_id]
        stored = self.locate_run()  # the run as the engine wrote it
        original = {o.rank: o for o in stored.candidates}.get(tie.rank)
        if not remaining and original is not None:
            doc: dict[str, object] | None = dict(json.loads(canonical_json(asdict(original))))
        else:
            k_all = np.vstack([as_points(c.keyframe_xy),
                               as_points([t.keyframe_xy for t in remaining])])
            t_all = np.vstack([as_points(c.tile_xy), as_points([t.tile_xy for t in remaining])])
            acc, source = stored.imagery_accuracy_of(tie.rank)
            doc = refit_candidate(c, k_all, t_all, grid, info["width"], info["height"],
                                  len(remaining), imagery_accuracy_m=acc, imagery_source=source)
        run = self._db.latest_run_id()
        with self._db.tx():
            when = utc_now()
            rid = self._db.insert_tie_point_retraction(
                TieRetraction(0, tie.id, reason, self.analyst, when))
            if doc is not None:
                self._db.update_candidate(run, tie.rank, doc)
            self._db.append_audit("tie_point_retract", {
                "id": tie.id, "rank": tie.rank, "reason": reason,
                "keyframe_xy": list(tie.keyframe_xy), "tile_xy": list(tie.tile_xy),
                "old": {"lat": c.lat, "lon": c.lon},
                "new": {"lat": doc["lat"], "lon": doc["lon"]} if doc else None,
                "refitted": doc is not None, "remaining": len(remaining)}, self.analyst,
                time=when, rows=[f"tie_point_retractions/{rid}",
                                 *(self._db.candidate_keys(run, tie.rank) if doc else [])])
        return TieRetraction(rid, tie.id, reason, self.analyst, when)

    def tie_point_residuals(self, rank: int) -> list[TieResidual]:
        """Each active tie point of candidate ``rank`` against its current homography:
        the keyframe pixel mapped into the tile vs the clicked tile pixel (level-0 px and
        metres, via the raster's GSD; ``nan`` where the plane does not map the point)."""
        c = self.candidate(rank)
        ties = self.tie_points(rank)
        if not ties or not c.homography:
            return []
        gsd = float(self._grid(c.tile).gsd_m)
        pred = apply_homography(np.asarray(c.homography, float),
                                as_points([t.keyframe_xy for t in ties]))
        out = []
        for t, p in zip(ties, pred, strict=True):
            d = float(np.hypot(p[0] - t.tile_xy[0], p[1] - t.tile_xy[1]))
            d = d if math.isfinite(d) else math.nan
            out.append(TieResidual(t, d, d * gsd))
        return out
