"""``workbench verify``: check a case file against the files it describes.

Checks, each reported precisely (what, expected value, found value):

* the audit log's hash chain, and that every decision, note, point of interest,
  claim, context layer and tie point has its audit entry and equals it field by
  field (:mod:`workbench.verify.records`);
* every stored row against the digest its audit entry recorded, both directions
  (a deleted, edited or slipped-in row), and the schema's tables and triggers
  (:mod:`workbench.verify.rows`; older cases: :mod:`workbench.verify.legacy`);
* the signatures of the audit head and their time-stamp tokens
  (:mod:`workbench.verify.anchoring`);
* the footage: present at its recorded path, same size and SHA-256 (and the
  stored copy, if any);
* every keyframe PNG (and mask) stored in the case: re-hashed, decodable, and equal
  to the hash the audit log recorded when it was added;
* every reference raster: present, same SHA-256, same georeferencing (CRS and
  geotransform, which sidecar files such as world files can change);
* every confirmed location: recomputed from the stored correspondences (keyframe
  pixel <-> tile pixel tie points): the stored homography must fit them, the stored
  position must follow from it, and a least-squares refit must land on it.

The case is opened read-only and never modified; everything is read through the
case's API (:class:`workbench.case.Case`), never its SQL.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import rasterio
from pyproj import CRS

from workbench.case import Case
from workbench.case.audit import check_chain
from workbench.case.geometry import (
    as_points,
    fit_homography,
    keyframe_centre,
    keyframe_to_lonlat,
    residuals_px,
)
from workbench.case.ingest import decode_png, sidecar_hashes
from workbench.case.model import AuditEntry, RasterRecord
from workbench.errors import CaseCorruptError, CaseError, describe
from workbench.geo import haversine_m
from workbench.hashing import sha256_bytes, sha256_file
from workbench.results import Candidate
from workbench.verify.anchoring import check_anchoring
from workbench.verify.legacy import check_legacy
from workbench.verify.model import MAX_MEDIAN_RESIDUAL_PX, POSITION_TOL_M, VerifyReport
from workbench.verify.records import check_records
from workbench.verify.rows import check_rows, check_schema

log = logging.getLogger(__name__)


def _short(h: str) -> str:
    return h[:16] + "..." if len(h) > 16 else h


def _check_audit(case: Case, rep: VerifyReport, entries: list[AuditEntry]) -> None:
    problems = check_chain(entries)
    for seq, msg in problems:
        rep.error("audit_chain", f"audit #{seq}", msg)
    if not problems:
        rep.checked.append(f"audit log: {len(entries)} entries, hash chain intact")
    rep.audit_head = entries[-1].hash if entries else ""
    logged = {(e.action, e.time) for e in entries}
    # decisions, notes, points, claim, layers: every field against its entry
    problems_r, n_records = check_records(case, entries)
    for kind, subject, message in problems_r:
        rep.error(kind, subject, message)
    records = [("tie_point", t.time, f"tie point {t.id}")
               for t in case.tie_points(include_retracted=True)]
    missing = [r for r in records if (r[0], r[1]) not in logged]
    by_time = {e.time: e for e in entries if e.action == "tie_point"}
    for t in case.tie_points(include_retracted=True):
        e = by_time.get(t.time)
        if e is not None and (list(t.keyframe_xy) != e.details.get("keyframe_xy")
                              or list(t.tile_xy) != e.details.get("tile_xy")
                              or t.rank != e.details.get("rank")):
            rep.error("audit_mismatch", f"tie point {t.id}", "stored coordinates differ from "
                      f"the ones logged in audit #{e.seq} (edited outside the workbench)")
    for action, time, subject in missing:
        rep.error("audit_missing", subject,
                  f"{action} recorded at {time} has no audit-log entry (inserted outside the "
                  "workbench)")
    if (records or n_records) and not missing and not problems_r:
        rep.checked.append(f"{n_records + len(records)} decisions/notes/points/claim/layers/"
                           "tie points all match the audit log")


def _check_footage(case: Case, rep: VerifyReport, entries: list[AuditEntry]) -> None:
    fr = case.footage
    created = next((e for e in entries if e.action == "create"), None)
    if created and created.details.get("footage_sha256") not in (None, fr.video.sha256):
        rep.error("footage_hash", fr.name, "stored footage hash "
                  f"{_short(fr.video.sha256)} differs from the hash logged at creation "
                  f"{_short(str(created.details.get('footage_sha256')))}")
    path = Path(fr.video.path)
    if fr.has_copy:
        copy = case.footage_copy() or b""
        got = sha256_bytes(copy)
        if got != fr.video.sha256:
            rep.error("footage_copy", fr.name, f"stored copy hashes to {_short(got)}, "
                      f"expected {_short(fr.video.sha256)}")
        else:
            rep.checked.append(f"footage copy in the case: SHA-256 {fr.video.sha256}")
    if not path.is_file():
        rep.error("footage_missing", str(path), "footage file not found at its recorded path "
                  "(moved or deleted)" + (" - the case holds a verified copy" if fr.has_copy
                                          else ""))
        return
    try:
        got, size = sha256_file(path)
    except OSError as exc:
        rep.error("footage_missing", str(path), f"cannot read footage ({exc.strerror or exc})")
        return
    if got != fr.video.sha256:
        rep.error("footage_hash", str(path), f"SHA-256 is {got}, expected {fr.video.sha256} "
                  f"(size {size} bytes, recorded {fr.size_bytes})")
    else:
        rep.checked.append(f"footage {path.name}: SHA-256 {got}")


def _check_keyframes(case: Case, rep: VerifyReport, entries: list[AuditEntry]) -> None:
    logged: dict[str, str] = {}
    for e in entries:
        if e.action == "locate":
            for kid, sha in (e.details.get("keyframes") or {}).items():
                logged.setdefault(str(kid), str(sha))
        elif e.action == "keyframe":
            logged.setdefault(str(e.details.get("id")), str(e.details.get("sha256")))
    n_ok = 0
    for ref in sorted(case.keyframes, key=lambda k: k.id):
        kid, recorded = ref.id, ref.sha256
        png = case.keyframe_png(kid)
        mask_png = case.keyframe_mask_png(kid)
        got = sha256_bytes(png)
        bad = False
        if got != recorded:
            rep.error("keyframe_hash", kid, f"stored PNG hashes to {got}, recorded "
                      f"{recorded} (image altered)")
            bad = True
        if kid in logged and logged[kid] != recorded:
            rep.error("keyframe_hash", kid, f"recorded hash {_short(recorded)} differs "
                      f"from the audit log's {_short(logged[kid])} (image replaced)")
            bad = True
        if kid not in logged:
            rep.error("audit_missing", kid, "keyframe not recorded in the audit log")
            bad = True
        if mask_png is not None and \
                sha256_bytes(mask_png) != case.keyframe_info(kid)["mask_sha256"]:
            rep.error("keyframe_hash", f"{kid} mask", "stored mask does not match its hash")
            bad = True
        try:
            decode_png(png, grey=False, what=kid)
        except CaseError:
            rep.error("keyframe_decode", kid, "stored PNG cannot be decoded")
            bad = True
        n_ok += not bad
    rep.checked.append(f"{n_ok} keyframe PNGs re-hashed and matching")


def _check_rasters(case: Case, rep: VerifyReport, entries: list[AuditEntry]) -> None:
    created = next((e for e in entries if e.action == "create"), None)
    logged = {str(r.get("sha256")) for r in (created.details.get("rasters") or [])} \
        if created else set()
    for rec in case.rasters:
        path = Path(rec.path)
        if created and rec.sha256 not in logged:
            rep.error("raster_hash", rec.path, f"recorded hash {_short(rec.sha256)} is not "
                      "among the raster hashes logged when the case was created")
        if not path.is_file():
            rep.error("raster_missing", rec.path, "reference raster not found at its recorded "
                      "path (moved or deleted)")
            continue
        try:
            got, _ = sha256_file(path)
        except OSError as exc:
            rep.error("raster_missing", rec.path, f"cannot read raster ({exc.strerror or exc})")
            continue
        if got != rec.sha256:
            rep.error("raster_hash", rec.path, f"SHA-256 is {got}, expected {rec.sha256}")
            continue
        side_problems = _sidecar_problems(path, rec)
        for subject, msg in side_problems:
            rep.error("raster_sidecar", subject, msg)
        if side_problems:
            continue
        problem = _georef_problem(path, rec)
        if problem:
            rep.error("raster_georef", rec.path, problem)
            continue
        rep.checked.append(f"raster {path.name}: SHA-256 {got}, georeferencing unchanged")


def _sidecar_problems(path: Path, rec: RasterRecord) -> list[tuple[str, str]]:
    now = sidecar_hashes(path, members=rec.sidecars_recursive)
    out = []
    for side, sha in sorted(rec.sidecars.items()):
        if side not in now:
            out.append((side, f"sidecar of {path.name} is gone (it affected the raster)"))
        elif now[side] != sha:
            out.append((side, f"sidecar of {path.name} changed: SHA-256 {now[side]}, "
                              f"expected {sha}"))
    for side in sorted(set(now) - set(rec.sidecars)):
        out.append((side, f"new sidecar next to {path.name} (may change its georeferencing)"))
    return out


def _georef_problem(path: Path, rec: RasterRecord) -> str | None:
    if len(rec.transform) < 6:
        return None
    try:
        with rasterio.open(path) as ds:
            t = ds.transform
            crs = ds.crs.to_wkt() if ds.crs else ""
    except rasterio.errors.RasterioError as exc:
        return f"cannot open raster ({exc})"
    now = (t.a, t.b, t.c, t.d, t.e, t.f)
    scale = max(abs(rec.transform[0]), abs(rec.transform[4]), 1e-12)
    if any(abs(a - b) > 1e-6 * max(1.0, abs(b)) + 1e-3 * scale
           for a, b in zip(now, rec.transform[:6], strict=True)):
        return f"geotransform is now {now}, recorded {tuple(rec.transform[:6])}"
    try:
        if crs and rec.crs and not CRS.from_user_input(crs).equals(CRS.from_user_input(rec.crs)):
            return "CRS differs from the recorded one"
    except Exception:  # pyproj CRSError is a plain Exception
        return "recorded CRS cannot be parsed"
    return None


def _check_locations(case: Case, rep: VerifyReport, entries: list[AuditEntry]) -> None:
    original = {c.rank: c for c in case.locate_run().candidates}  # as the engine stored them
    for rank, dec in sorted(case.decisions().items()):
        if dec.status != "confirmed":
            continue
        subject = f"rank {rank}"
        c = case.candidate(rank)
        ties = case.tie_points(rank)
        orig = original.get(rank)
        if not ties and orig is not None and any(
                getattr(orig, k) != getattr(c, k) for k in ("lat", "lon", "homography",
                                                       "keyframe_xy", "tile_xy")):
            rep.error("candidate_changed", subject, "candidate differs from the stored locate "
                      "result although no tie point was added (edited outside the workbench)")
        if ties or any(e.action == "tie_point_retract" and e.details.get("rank") == rank
                       for e in entries):
            # the position after the last tie point added or withdrawn
            last = next((e for e in reversed(entries)
                         if e.action in ("tie_point", "tie_point_retract")
                         and e.details.get("rank") == rank and e.details.get("new")), None)
            if last and haversine_m(c.lon, c.lat, last.details["new"]["lon"],
                                    last.details["new"]["lat"]) > POSITION_TOL_M:
                rep.error("candidate_changed", subject, "position differs from the one logged "
                          f"after the last tie point (audit #{last.seq})")
        grid = case.raster_for(c.tile)
        if grid is None or len(grid.transform) < 6:
            rep.error("location_mismatch", subject, f"no georeferencing recorded for {c.tile}")
            continue
        info = case.keyframe_info(c.keyframe_id)
        kxy = np.vstack([as_points(c.keyframe_xy), as_points([t.keyframe_xy for t in ties])])
        txy = np.vstack([as_points(c.tile_xy), as_points([t.tile_xy for t in ties])])
        _check_one(rep, subject, c, grid, info["width"], info["height"], kxy, txy, len(ties))


def _check_one(rep: VerifyReport, subject: str, c: Candidate, grid: RasterRecord, width: int,
               height: int,
               kxy: np.ndarray, txy: np.ndarray, n_manual: int) -> None:
    h = np.asarray(c.homography, np.float64)
    if h.size != 9:
        rep.error("location_mismatch", subject, "no homography stored")
        return
    h = h.reshape(3, 3)
    # 1. the stored position follows from the stored homography (either centre convention)
    centres = [keyframe_centre(width, height), (width / 2.0, height / 2.0)]
    d_pos = min(haversine_m(c.lon, c.lat, *keyframe_to_lonlat(h, grid.transform, grid.crs, ctr))
                for ctr in centres)
    if not math.isfinite(d_pos) or d_pos > POSITION_TOL_M:
        rep.error("location_mismatch", subject, f"stored position {c.lat:.6f}, {c.lon:.6f} is "
                  f"{d_pos:.1f} m from where its homography puts the keyframe centre")
    if c.target and {"x", "y", "lat", "lon"} <= set(c.target):
        tl = keyframe_to_lonlat(h, grid.transform, grid.crs, (c.target["x"], c.target["y"]))
        d_t = haversine_m(c.target["lon"], c.target["lat"], *tl)
        if not math.isfinite(d_t) or d_t > POSITION_TOL_M:
            rep.error("target_mismatch", subject, f"stored target is {d_t:.1f} m from where the "
                      "homography puts the target pixel")
    if len(kxy) < 4:
        rep.error("no_correspondences", subject, f"only {len(kxy)} stored tie points; the "
                  "location cannot be recomputed")
        return
    # 2. the stored homography fits the stored correspondences
    refit = fit_homography(kxy, txy)
    r_stored = residuals_px(h, kxy, txy)
    r_refit = residuals_px(refit, kxy, txy) if refit is not None else r_stored
    med_s, med_r = float(np.nanmedian(r_stored)), float(np.nanmedian(r_refit))
    if math.isfinite(med_s) and med_r > MAX_MEDIAN_RESIDUAL_PX and n_manual:
        rep.warning("residuals", subject, f"the {len(kxy)} tie points ({n_manual} added by the "
                    f"analyst) fit no single homography well (median residual {med_r:.1f} px): "
                    "review the manual tie points")
    elif math.isfinite(med_s) and med_r > MAX_MEDIAN_RESIDUAL_PX:
        rep.error("residuals", subject, f"the {len(kxy)} tie points fit no single homography "
                  f"(median residual {med_r:.1f} px even for a refit; expected under "
                  f"{MAX_MEDIAN_RESIDUAL_PX:.0f} px): tie points altered or wrong")
    elif not math.isfinite(med_s) or med_s > max(MAX_MEDIAN_RESIDUAL_PX, 3.0 * med_r + 3.0):
        rep.error("residuals", subject, f"stored homography misfits its tie points (median "
                  f"{med_s:.1f} px; a refit gives {med_r:.1f} px; expected under "
                  f"{MAX_MEDIAN_RESIDUAL_PX:.0f} px): homography or tie points altered")
    # 3. a refit from the correspondences lands on the stored position
    if refit is None:
        rep.error("refit_mismatch", subject, "tie points are degenerate; no refit possible")
        return
    tol = max(float(c.uncertainty_m or 0.0), 5.0 * float(grid.gsd_m or 0.0), 2.0)
    d_refit = min(haversine_m(c.lon, c.lat,
                              *keyframe_to_lonlat(refit, grid.transform, grid.crs, ctr))
                  for ctr in centres)
    if not math.isfinite(d_refit) or d_refit > tol:
        rep.error("refit_mismatch", subject, f"recomputed from {len(kxy)} tie points the "
                  f"location is {d_refit:.1f} m from the stored one (tolerance {tol:.1f} m)")
    else:
        rep.checked.append(f"{subject}: recomputed from {len(kxy)} tie points within "
                           f"{d_refit:.2f} m (median residual {med_s:.2f} px)")


def _section(rep: VerifyReport, name: str, check: Callable[[], object]) -> None:
    """Run one group of checks; a record that cannot even be read is tampering (the
    workbench never writes one), anything else that fails means "could not check"."""
    try:
        check()
    except CaseCorruptError as exc:
        rep.error("record_unreadable", name, f"{exc.message} (edited outside the workbench)")
    except Exception as exc:  # any failure of a check must be reported, not crash verify
        log.debug("verify: %s could not be checked", name, exc_info=True)
        rep.not_checked.append(f"{name}: could not be checked ({describe(exc)})")


def verify_case(path: str | os.PathLike[str], *,
                trusted_keys: Sequence[str] = ()) -> VerifyReport:
    """Verify the case file at ``path`` (opened read-only, never modified).

    ``trusted_keys``: raw Ed25519 public keys (hex) whose signature the case must carry
    (:func:`workbench.case.anchor.load_public_key` reads them from files).

    Raises the ``Case.open`` errors (``CaseOpenError``, ``CaseCorruptError``,
    ``CaseVersionError``) when the case itself cannot be read.  A check that fails
    for another reason is listed in ``not_checked`` (status "not checked").
    """
    rep = VerifyReport(str(path))
    with Case.open(path, readonly=True) as case:
        rep.path = str(case.path)  # resolved like every CASE argument (X or X.wbcase)
        entries = case.audit_log()
        coverage: list[tuple[list[AuditEntry], list[str]]] = []
        _section(rep, "audit log", lambda: _check_audit(case, rep, entries))
        _section(rep, "schema", lambda: check_schema(case, rep))
        _section(rep, "row digests", lambda: coverage.append(check_rows(case, rep, entries)))
        if coverage:
            _section(rep, "records from before schema 4",
                     lambda: check_legacy(case, rep, entries, *coverage[0]))
        _section(rep, "signatures", lambda: check_anchoring(case, rep, entries, trusted_keys))
        _section(rep, "footage", lambda: _check_footage(case, rep, entries))
        _section(rep, "keyframes", lambda: _check_keyframes(case, rep, entries))
        _section(rep, "rasters", lambda: _check_rasters(case, rep, entries))
        _section(rep, "locations", lambda: _check_locations(case, rep, entries))
    for f in rep.findings:
        log.info("%s", f)
    return rep
