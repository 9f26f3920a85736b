"""Analyst actions on an open case: decisions, notes, manual keyframes and tie points,
points of interest, the claim and context layers, new locate runs.

Each action is one SQLite transaction that also appends one audit-log entry, in the
name of the analyst the case was opened by, saying what changed (see
:mod:`workbench.case.audit`).  Images are ``(H, W, 3) uint8`` BGR;
masks ``(H, W) uint8`` (255 = overlay); keyframe pixels ``(x, y)`` = (col, row),
tile pixels in the raster's level-0 grid; positions WGS84 lon/lat.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from workbench.case.audit import canonical_json, utc_now
from workbench.case.geometry import (
    as_points,
    fit_homography,
    frame_footprint,
    keyframe_centre,
    keyframe_to_lonlat,
)
from workbench.case.ingest import check_not_readonly, encode_png, load_keyframe_blobs
from workbench.case.model import (
    Claim,
    ContextLayer,
    Decision,
    DecisionStatus,
    KeyframeBlob,
    Note,
    PointOfInterest,
    RasterRecord,
    ShadowRecord,
    TiePoint,
)
from workbench.case.provenance import ProvenanceActions
from workbench.case.store import CaseDB
from workbench.claim import (
    ShadowError,
    layer_meta,
    measure_shadow,
    normalise_area,
    parse_time,
    read_context_layer,
)
from workbench.claim.shadow import CLICK_PX
from workbench.errors import CaseError, UsageError
from workbench.hashing import sha256_bytes, sha256_file
from workbench.position import candidate_pixel_position
from workbench.results import Candidate, KeyframeRef, LocateResult, TileRef


class CaseActions(ProvenanceActions):
    """The mutating half of :class:`workbench.case.Case`."""

    # ---- analyst actions (each one transaction + one audit entry) ----------

    def _decide(self, rank: int, status: DecisionStatus, note: str) -> Decision:
        check_not_readonly(self.readonly, self.path)
        if not note.strip():  # the report and the audit log must say why (the UI insists too)
            raise UsageError(f"rank {rank} not {status}: a decision needs a justification note",
                             self.path)
        c = self.candidate(rank)
        run = self._db.latest_run_id()
        previous = self.decisions().get(rank)
        with self._db.tx():
            d = Decision(rank, status, note, self.analyst, utc_now(), run)
            did = self._db.insert_decision(d)
            self._db.append_audit("confirm" if status == "confirmed" else "reject", {
                "rank": rank, "status": status, "note": note, "lat": c.lat, "lon": c.lon,
                "keyframe_id": c.keyframe_id, "tile": c.tile, "run_id": run,
                "previous": previous.status if previous else None}, self.analyst,
                time=d.time, rows=[f"decisions/{did}"])
        return d

    def confirm(self, rank: int, note: str) -> Decision:
        """Confirm candidate ``rank`` with a justification note.

        ``UsageError`` if there is no such rank or the note is empty."""
        return self._decide(rank, "confirmed", note)

    def reject(self, rank: int, note: str) -> Decision:
        """Reject candidate ``rank`` with a note.  ``UsageError`` if no such rank or no note."""
        return self._decide(rank, "rejected", note)

    def add_note(self, text: str) -> Note:
        """Add a free-text note (``UsageError`` if empty)."""
        check_not_readonly(self.readonly, self.path)
        if not text.strip():
            raise UsageError("empty note", self.path)
        with self._db.tx():
            when = utc_now()
            nid = self._db.insert_note(text, self.analyst, when)
            self._db.append_audit("note", {"text": text}, self.analyst, time=when,
                                  rows=[f"notes/{nid}"])
        return Note(nid, text, self.analyst, when)

    def add_keyframe(self, frame_index: int, time_s: float, image: np.ndarray,
                     mask: np.ndarray | None = None) -> KeyframeRef:
        """Store a manual keyframe (analyst-picked frame) as lossless PNG.

        Args:
            frame_index: decode index of the frame in the footage.
            time_s: its presentation time in seconds.
            image: ``(H, W, 3) uint8`` BGR frame at full resolution.
            mask: ``(H, W) uint8`` overlay mask (255 = overlay) or ``None``.
        Returns the new ``KeyframeRef`` (id ``m0001``...; sha256 of the stored PNG bytes).
        """
        check_not_readonly(self.readonly, self.path)
        png = encode_png(image, what="manual keyframe")
        mask_png = None
        if mask is not None:
            if mask.shape[:2] != image.shape[:2] or mask.ndim != 2:
                raise UsageError("manual keyframe mask must be (H, W) like the image", self.path)
            mask_png = encode_png(mask, what="manual keyframe mask")
        if not (math.isfinite(time_s) and frame_index >= 0):
            raise UsageError("manual keyframe needs frame_index >= 0 and a finite time",
                             self.path)
        digest = sha256_bytes(png)
        with self._db.tx():
            kid = f"m{self._db.count_manual_keyframes() + 1:04d}"
            when = utc_now()
            ref = KeyframeRef(kid, frame_index, float(time_s), digest)
            self._db.insert_keyframes([KeyframeBlob(
                ref, png, digest, int(image.shape[1]), int(image.shape[0]), mask_png,
                sha256_bytes(mask_png) if mask_png else None)], when, manual=True)
            self._db.append_audit("keyframe", {
                "id": kid, "frame_index": frame_index, "time_s": time_s, "sha256": digest,
                "width": int(image.shape[1]), "height": int(image.shape[0]),
                "mask": mask_png is not None}, self.analyst, time=when,
                rows=[f"keyframes/{kid}"])
        return ref

    def add_tie_point(self, rank: int, keyframe_xy: tuple[float, float],
                      tile_xy: tuple[float, float]) -> TiePoint:
        """Add a manual correspondence to candidate ``rank`` and refit its location.

        ``keyframe_xy`` is a keyframe pixel of the candidate's keyframe; ``tile_xy`` a
        level-0 pixel of the candidate's tile.  The homography is refitted by least
        squares over all its correspondences (engine inliers + manual points); the
        candidate's position, footprint and target follow; the audit entry records the
        old and the new position.
        """
        check_not_readonly(self.readonly, self.path)
        kxy = (float(keyframe_xy[0]), float(keyframe_xy[1]))
        txy = (float(tile_xy[0]), float(tile_xy[1]))
        if not all(math.isfinite(v) for v in (*kxy, *txy)):
            raise UsageError("tie point coordinates must be finite numbers", self.path)
        c = self.candidate(rank)
        info = self.keyframe_info(c.keyframe_id)
        grid = self._grid(c.tile)
        if not (-0.5 <= kxy[0] <= info["width"] - 0.5 and -0.5 <= kxy[1] <= info["height"] - 0.5):
            raise UsageError(f"keyframe point {kxy} is outside keyframe {c.keyframe_id}",
                             self.path)
        if not (-0.5 <= txy[0] <= grid.width - 0.5 and -0.5 <= txy[1] <= grid.height - 0.5):
            raise UsageError(f"tile point {txy} is outside raster {Path(grid.path).name}",
                             self.path)
        run = self._db.latest_run_id()
        manual = [(t.keyframe_xy, t.tile_xy) for t in self.tie_points(rank)] + [(kxy, txy)]
        k_all = np.vstack([as_points(c.keyframe_xy), as_points([m[0] for m in manual])])
        t_all = np.vstack([as_points(c.tile_xy), as_points([m[1] for m in manual])])
        old = {"lat": c.lat, "lon": c.lon}
        acc, source = self.locate_run().imagery_accuracy_of(rank)
        doc = refit_candidate(c, k_all, t_all, grid, info["width"], info["height"], len(manual),
                              imagery_accuracy_m=acc, imagery_source=source)
        with self._db.tx():
            when = utc_now()
            tp = TiePoint(0, rank, kxy, txy, self.analyst, when)
            tid = self._db.insert_tie_point(run, tp)
            if doc is not None:
                self._db.update_candidate(run, rank, doc)
            self._db.append_audit("tie_point", {
                "rank": rank, "keyframe_id": c.keyframe_id, "keyframe_xy": kxy,
                "tile_xy": txy, "tile": c.tile, "old": old,
                "new": {"lat": doc["lat"], "lon": doc["lon"]} if doc else None,
                "refitted": doc is not None}, self.analyst, time=when,
                rows=[f"tie_points/{tid}", *self._db.candidate_keys(run, rank)])
        return TiePoint(tid, rank, kxy, txy, self.analyst, when)

    def set_point_of_interest(self, rank: int, x: float, y: float,
                              label: str) -> PointOfInterest:
        """Geolocate keyframe pixel ``(x, y)`` of candidate ``rank`` (its homography and tile
        grid) and record it, e.g. the impact point.

        ``(x, y)`` = (col, row) in the candidate's keyframe, pixel centres at integers; it
        must lie inside the keyframe (``UsageError`` otherwise: the homography would only
        extrapolate).  The recorded position is WGS84 lon/lat."""
        check_not_readonly(self.readonly, self.path)
        if not (math.isfinite(x) and math.isfinite(y)):
            raise UsageError("point of interest coordinates must be finite numbers", self.path)
        c = self.candidate(rank)
        info = self.keyframe_info(c.keyframe_id)
        if not (-0.5 <= x <= info["width"] - 0.5 and -0.5 <= y <= info["height"] - 0.5):
            # outside the frame the homography extrapolates: a position nobody saw
            raise UsageError(f"pixel ({x}, {y}) is outside keyframe {c.keyframe_id} "
                             f"({info['width']}x{info['height']})", self.path)
        grid = self._grid(c.tile)
        acc, source = self.locate_run().imagery_accuracy_of(rank)
        try:  # the one pixel-to-position path (locate --target and the app use it too)
            pos = candidate_pixel_position(c, grid.transform, grid.crs, grid.gsd_m, (x, y),
                                           imagery_accuracy_m=acc, imagery_source=source)
        except UsageError as exc:
            raise UsageError(f"pixel ({x}, {y}) does not map onto the ground ({exc.message})",
                             self.path) from exc
        lon, lat = pos.lon, pos.lat
        unc = pos.uncertainty_m if math.isfinite(pos.uncertainty_m) else None
        run = self._db.latest_run_id()
        with self._db.tx():
            when = utc_now()
            p = PointOfInterest(rank, c.keyframe_id, x, y, label, lon, lat, self.analyst,
                                when, 0, unc, pos.outside_hull)
            pid = self._db.insert_point_of_interest(run, p)
            self._db.append_audit("point_of_interest", {
                "rank": rank, "keyframe_id": c.keyframe_id, "x": x, "y": y, "label": label,
                "lon": lon, "lat": lat, "uncertainty_m": unc,
                "outside_hull": pos.outside_hull}, self.analyst, time=when,
                rows=[f"points_of_interest/{pid}"])
        return PointOfInterest(rank, c.keyframe_id, x, y, label, lon, lat, self.analyst,
                               when, pid, unc, pos.outside_hull)

    def set_claim(self, text: str, lonlat: tuple[float, float] | None = None,
                  area_geojson: dict[str, Any] | None = None, *,
                  claimed_time: str | None = None, category: str | None = None) -> Claim:
        """Record (or replace) the claim being tested.

        ``lonlat`` is ``(lon, lat)`` WGS84; ``area_geojson`` a GeoJSON Polygon/
        MultiPolygon geometry (or Feature) in lon/lat; ``claimed_time`` ISO 8601 with a
        zone (stored as given, normalised); ``category`` what the claim says the target
        was ("Islamic State target").  ``UsageError`` on bad values, nothing recorded.
        """

        check_not_readonly(self.readonly, self.path)
        if not text.strip():
            raise UsageError("empty claim text", self.path)
        ll = None
        if lonlat is not None:
            lon, lat = float(lonlat[0]), float(lonlat[1])
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                swap = " (are longitude and latitude swapped?)" if abs(lat) > 90 >= abs(lon) \
                    else ""
                raise UsageError(f"claimed position ({lon}, {lat}) is not lon/lat in degrees"
                                 f"{swap}", self.path)
            ll = (lon, lat)
        area = normalise_area(area_geojson) if area_geojson is not None else None
        when = parse_time(claimed_time).isoformat() if claimed_time is not None else None
        cat = " ".join(category.split()) if category and category.strip() else None
        with self._db.tx():
            old = self._db.claim()
            claim = Claim(text, ll, area, self.analyst, utc_now(), when, cat)
            self._db.replace_claim(claim)
            self._db.append_audit("claim", {
                "text": text, "lonlat": ll, "area": area, "claimed_time": when,
                "category": cat, "replaces": old.text if old else None}, self.analyst,
                time=claim.time, rows=["claim/1"])
        return claim

    def add_context_layer(self, path: str | os.PathLike[str], *, name: str | None = None,
                          source: str | None = None, licence: str | None = None,
                          as_of: str | None = None,
                          class_attribute: str | None = None) -> ContextLayer:
        """Import a context layer (GeoJSON, KML, GeoPackage or Shapefile; points, lines
        and polygons; stored as WGS84 GeoJSON) with its source, licence and as-of date
        (``YYYY[-MM[-DD]]``, ``c.`` prefix when approximate; unknown by default).

        Raises ``CaseError`` naming the file when it cannot be read (see
        :func:`workbench.claim.read_context_layer`), ``UsageError`` on a bad as-of date.
        """

        check_not_readonly(self.readonly, self.path)
        src = Path(path)
        fc, digest = read_context_layer(src, source=source, licence=licence, as_of=as_of,
                                        class_attribute=class_attribute)
        label = " ".join((name or src.stem).split()) or src.stem
        meta = layer_meta(fc)
        with self._db.tx():
            when = utc_now()
            layer = ContextLayer(0, label, str(src.resolve()), digest, fc, self.analyst, when)
            lid = self._db.insert_context_layer(layer)
            self._db.append_audit("context_layer", {
                "name": label, "source": str(src.resolve()), "sha256": digest,
                "features": len(fc["features"]), "layer_source": meta.source,
                "licence": meta.licence, "as_of": meta.as_of,
                "class_attribute": meta.class_attribute}, self.analyst, time=when,
                rows=[f"context_layers/{lid}"])
        return ContextLayer(lid, label, str(src.resolve()), digest, fc, self.analyst, when)

    def add_shadow(self, rank: int, foot_xy: tuple[float, float],
                   tip_xy: tuple[float, float], *, click_px: float = CLICK_PX) -> ShadowRecord:
        """Measure and record a shadow marked in candidate ``rank``'s keyframe: an object's
        foot and its shadow's tip, both on the ground (keyframe pixels, centre of the
        top-left pixel at ``(0, 0)``), mapped through the candidate's homography.

        Raises ``ShadowError`` (a ``UsageError``) when the points leave the matched area or
        there is no homography; nothing is recorded then.
        """
        check_not_readonly(self.readonly, self.path)
        if not (math.isfinite(click_px) and click_px > 0):
            raise UsageError("the click uncertainty must be a positive number of pixels",
                             self.path)
        c = self.candidate(rank)
        grid = self._grid(c.tile)
        a, b, x0, d, e, y0 = (float(v) for v in grid.transform[:6])
        tile = TileRef(grid.path, grid.sha256, grid.crs, (a, b, x0, d, e, y0), grid.width,
                       grid.height, grid.gsd_m, grid.footprint)
        try:
            m = measure_shadow(c, tile, foot_xy, tip_xy, click_px=click_px)
        except ShadowError as exc:
            raise ShadowError(exc.message, self.path) from exc
        run = self._db.latest_run_id()
        with self._db.tx():
            rec = ShadowRecord(0, run, rank, m, self.analyst, utc_now())
            sid = self._db.insert_shadow(rec)
            self._db.append_audit("shadow", {"rank": rank, **m.to_json()}, self.analyst,
                                  time=rec.time, rows=[f"shadows/{sid}"])
        return ShadowRecord(sid, run, rank, m, rec.user, rec.time)

    def relink(self, new_path: str | os.PathLike[str]) -> str:
        """Point the case at a moved copy of its footage or of one of its rasters.

        The file at ``new_path`` is hashed; it must match the recorded SHA-256 of the
        footage or of a raster (else ``CaseError``).  The old and new paths go into the
        audit log.  Returns ``"footage"`` or ``"raster"``.
        """
        check_not_readonly(self.readonly, self.path)
        p = Path(new_path)
        if not p.is_file():
            raise CaseError("file to relink not found", p)
        digest, _ = sha256_file(p, error=CaseError)
        new = str(p.resolve())
        fr = self.footage
        if digest == fr.video.sha256:
            with self._db.tx():
                self._db.relink_footage(new)
                self._db.append_audit("relink", {"what": "footage", "sha256": digest,
                                                 "old_path": fr.video.path, "new_path": new},
                                      self.analyst, rows=["footage/1"])
            return "footage"
        rec = next((r for r in self.rasters if r.sha256 == digest), None)
        if rec is None:
            raise CaseError("matches neither the footage nor any raster of the case "
                            f"(SHA-256 {digest[:16]}...)", p)
        with self._db.tx():
            keys = self._db.relink_raster(rec.path, new)
            self._db.append_audit("relink", {"what": "raster", "sha256": digest,
                                             "old_path": rec.path, "new_path": new},
                                  self.analyst, rows=keys)
        return "raster"

    def add_locate_run(self, result: LocateResult,
                       keyframes_dir: str | os.PathLike[str]) -> None:
        """Store a new locate run (e.g. re-run with manual keyframes); it becomes ``result``.

        New keyframes are stored; a keyframe id already in the case must have the same
        PNG hash (else ``CaseError``).  Decisions apply per run, so they start empty.
        """
        check_not_readonly(self.readonly, self.path)
        have = {k.id: k.sha256 for k in self.keyframes}
        missing = [k for k in result.keyframes if k.id not in have]
        sub = LocateResult(result.verdict, result.video, missing, [])
        blobs = load_keyframe_blobs(sub, keyframes_dir) if missing else []
        shas = {**have, **{b.ref.id: b.sha256 for b in blobs}}
        now = utc_now()
        with self._db.tx():
            self._db.insert_keyframes(blobs, now)
            record_run(self._db, result, shas, self.analyst, now,
                       rows=[f"keyframes/{b.ref.id}" for b in blobs])


def record_run(db: CaseDB, result: LocateResult, shas: dict[str, str], analyst: str,
               now: str, rows: list[str] | None = None) -> int:
    """Store a locate run and its ``locate`` audit entry (inside the caller's transaction);
    ``shas``: keyframe id -> SHA-256 of the PNG stored; ``rows``: keys of other rows
    written with it (new keyframes) for the entry's row digests.  Returns the run id."""
    run = db.insert_run(result.to_json(), now)
    keys = [*(rows or []), f"locate_runs/{run}", *db.candidate_keys(run)]
    best = result.best()
    db.append_audit("locate", {
        "run_id": run, "verdict": result.verdict, "reason": result.reason,
        "candidates": len(result.candidates),
        "best": {"lat": best.lat, "lon": best.lon, "confidence": best.confidence} if best else None,
        "keyframes": {k.id: shas.get(k.id, k.sha256) for k in result.keyframes},
        "method": result.method}, analyst, time=now, rows=keys)
    return run


def refit_candidate(c: Candidate, k_all: np.ndarray, t_all: np.ndarray, grid: RasterRecord,
                    width: int, height: int, n_manual: int, *,
                    imagery_accuracy_m: float | None = None, imagery_source: str = "",
                    ) -> dict[str, Any] | None:
    """The candidate refitted over all correspondences (``k_all``/``t_all``: ``(N, 2)``
    keyframe px / level-0 tile px), as a JSON-ready dict (or ``None``).
    ``imagery_accuracy_m`` / ``imagery_source``: the imagery's stated accuracy and its
    source, as the candidate's radii include them
    (:meth:`~workbench.results.LocateResult.imagery_accuracy_of`)."""
    h = fit_homography(k_all, t_all)
    if h is None:
        return None
    lon, lat = keyframe_to_lonlat(h, grid.transform, grid.crs, keyframe_centre(width, height))
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    doc = asdict(c)
    doc.update(homography=h.tolist(), lat=lat, lon=lon,
               footprint=frame_footprint(h, grid.transform, grid.crs, width, height) or
               c.footprint)
    doc["scores"] = {**c.scores, "manual_tie_points": float(n_manual)}
    if c.target:  # the same position function as locate --target, the app and case point
        try:
            pos = candidate_pixel_position(Candidate(**doc), grid.transform, grid.crs,
                                           grid.gsd_m, (c.target["x"], c.target["y"]),
                                           imagery_accuracy_m=imagery_accuracy_m,
                                           imagery_source=imagery_source)
            doc["target"] = {**c.target, **pos.to_target()}
        except UsageError:  # the refitted plane puts it beyond the horizon: no position
            doc["target"] = {"x": c.target["x"], "y": c.target["y"]}
        if not math.isfinite(doc["target"].get("uncertainty_m", 0.0)):
            doc["target"]["uncertainty_m"] = None  # JSON null: not estimated
    return dict(json.loads(canonical_json(doc)))


