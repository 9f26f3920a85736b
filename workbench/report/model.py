"""Everything a report says, gathered once from a case (shared by HTML, PDF, GeoJSON, KML).

Positions are WGS84; figures are lossless PNG bytes of BGR images drawn by
:mod:`workbench.report.figures`.  Nothing here depends on the output format.
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from workbench.case import Case
from workbench.case.geometry import as_points, residuals_px
from workbench.case.model import (
    AuditEntry,
    Claim,
    ContextLayer,
    Decision,
    FootageRecord,
    FootageSource,
    ImageryMeta,
    Note,
    PointOfInterest,
    RasterRecord,
)
from workbench.claim import ClaimCheck
from workbench.errors import RasterOpenError, UsageError, WorkbenchError
from workbench.geo import format_dms, format_mgrs, format_uncertainty, tile_px_to_lonlat
from workbench.report import figures
from workbench.report.claimdata import ClaimReport, build_claim_report, claim_check_for
from workbench.report.redact import Redactor, redact_report
from workbench.results import Candidate, KeyframeRef, TileRef
from workbench.verify.check import verify_case
from workbench.verify.model import VerifyReport
from workbench.version import __version__

log = logging.getLogger(__name__)


def confidence_words(conf: float) -> str:
    """Plain-language wording for a ``[0, 1]`` confidence (estimative-language style)."""
    if conf >= 0.9:
        return "high confidence"
    if conf >= 0.7:
        return "moderate confidence"
    if conf >= 0.4:
        return "low confidence"
    return "very low confidence"


@dataclass
class ResidualRow:
    """One tie point: keyframe px, tile px, its ground position and reprojection error."""

    number: int | None  # landmark number in the figure, if drawn
    kx: float
    ky: float
    tx: float
    ty: float
    lon: float
    lat: float
    residual_px: float
    residual_m: float
    manual: bool


@dataclass(frozen=True)
class Mark:
    """A keyframe pixel marked on the overlay as ``P<n>``: the target or a point of interest."""

    label: str
    x: float
    y: float
    lat: float
    lon: float
    recorded: str  # who/when, or "locate --target"
    uncertainty_m: float | None = None  # 1-sigma radius (workbench.position); None: unknown


@dataclass
class LocationSection:
    """One (confirmed, or best unconfirmed) location with its figures and tie points."""

    candidate: Candidate
    decision: Decision | None
    keyframe: KeyframeRef | None
    keyframe_size: tuple[int, int]
    raster: RasterRecord | None
    raster_missing: str | None  # why the satellite crop could not be drawn
    side_by_side_png: bytes | None
    overlay_png: bytes | None
    residuals: list[ResidualRow]
    rms_px: float
    rms_m: float
    marks: list[Mark]  # P1, P2, ... in the overlay figure and the tables
    dms: str
    mgrs: str
    claim_check: ClaimCheck | None


@dataclass
class ReportData:
    """The content of a report, format-independent."""

    case_name: str
    case_path: str
    generated_at: str
    software: str
    case_software: str
    schema_version: int
    created: str
    verdict: str
    headline: str
    reason: str
    primary: LocationSection | None
    sections: list[LocationSection]
    candidates: list[tuple[Candidate, Decision | None]]
    claim: Claim | None
    context_layers: list[ContextLayer]
    footage: FootageRecord
    keyframes: list[tuple[KeyframeRef, dict[str, Any]]]
    rasters: list[tuple[RasterRecord, str]]  # record, status ("present", "missing", ...)
    method: dict[str, Any]
    timing_s: dict[str, float]
    warnings: list[str]
    notes: list[Note]
    points: list[PointOfInterest]
    audit: list[AuditEntry]
    verification: VerifyReport | None
    missing_rasters: list[str] = field(default_factory=list)
    claim_report: ClaimReport | None = None  # claim, context layers, time check
    source: FootageSource | None = None  # where the footage was obtained (analyst-entered)
    imagery_meta: dict[str, ImageryMeta] = field(default_factory=dict)  # raster sha -> meta
    redacted: bool = False  # local paths replaced by file name + SHA-256
    generated_basis: str = "now"  # what generated_at is: "now", "case" or "given"
    created_utc: datetime | None = None  # generated_at as an instant (PDF CreationDate)


GENERATED_BASIS = {
    "now": "the time of generation",
    "case": "the time of the case's last audit-log entry (reproducible)",
    "given": "a time given when the report was generated",
}


def _timestamp(generated_at: datetime | str | None, last_audit: str
               ) -> tuple[str, str, datetime | None]:
    """``(printed text, basis, instant)``: ``None`` = now; ``"case"`` = the case's last
    audit entry; a datetime or ISO text (no zone = UTC) as given."""
    basis = "given"
    if generated_at is None:
        generated_at, basis = datetime.now(UTC), "now"
    elif isinstance(generated_at, str) and generated_at.strip().lower() == "case":
        generated_at, basis = last_audit, "case"
    if isinstance(generated_at, str):
        raw = " ".join(generated_at.split())
        try:
            generated_at = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith("Z")
                                                  else raw)
        except ValueError:
            return raw, basis, None
    dt = generated_at if generated_at.tzinfo else generated_at.replace(tzinfo=UTC)
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ"), basis, dt


def _tile_ref(rec: RasterRecord) -> TileRef:
    return TileRef(rec.path, rec.sha256, rec.crs, tuple(rec.transform[:6]),  # type: ignore[arg-type]
                   rec.width, rec.height, rec.gsd_m, rec.footprint, rec.acquired,
                   rec.attribution)


def _raster_status(rec: RasterRecord) -> str:
    p = Path(rec.path)
    if not p.is_file():
        return "missing at report time"
    if p.stat().st_size != rec.size_bytes:
        return "changed since recorded (size differs)"
    return "present"


def _section(case: Case, c: Candidate, decision: Decision | None,
             raster_status: dict[str, str], claim: Claim | None,
             layers: list[ContextLayer], draw: bool = True) -> LocationSection:
    from workbench.compare import satellite_crop

    kf = next((k for k in case.keyframes if k.id == c.keyframe_id), None)
    info = case.keyframe_info(c.keyframe_id) if kf else {"width": 0, "height": 0}
    size = (int(info["width"]), int(info["height"]))
    rec = case.raster_for(c.tile)
    ties = case.tie_points(c.rank)
    kxy = np.vstack([as_points(c.keyframe_xy), as_points([t.keyframe_xy for t in ties])])
    txy = np.vstack([as_points(c.tile_xy), as_points([t.tile_xy for t in ties])])
    manual = [False] * len(as_points(c.keyframe_xy)) + [True] * len(ties)
    marks = [Mark(p.label, p.x, p.y, p.lat, p.lon, f"{p.user}, {p.time}", p.uncertainty_m)
             for p in case.points_of_interest() if p.rank == c.rank]
    if c.target and {"x", "y", "lat", "lon"} <= set(c.target):
        unc = c.target.get("uncertainty_m")
        marks.insert(0, Mark("target", c.target["x"], c.target["y"], c.target["lat"],
                             c.target["lon"], "locate --target",
                             float(unc) if isinstance(unc, int | float) else None))
    missing: str | None = None
    sbs = ovl = None
    landmarks: list[int] = figures.pick_landmarks(kxy)
    if rec is None:
        missing = f"raster {c.tile} is not recorded in the case"
    elif raster_status.get(rec.path) != "present":
        missing = f"raster {rec.path} is {raster_status.get(rec.path)}"
    elif kf is None:
        missing = f"keyframe {c.keyframe_id} is not in the case"
    elif draw:
        try:
            kimg = case.keyframe_image(c.keyframe_id)
            kmask = case.keyframe_mask(c.keyframe_id)
            crop = satellite_crop(c, _tile_ref(rec), size, max_side=1000)
            fig, landmarks = figures.side_by_side(kimg, kmask, crop, kxy, txy, manual=manual,
                                                  landmarks=landmarks, gsd_m=rec.gsd_m)
            sbs = figures.png_bytes(fig)
            pts = [(m.label, m.x, m.y) for m in marks]
            ovl = figures.png_bytes(figures.overlay_figure(kimg, kmask, crop, c.homography,
                                                           points=pts, gsd_m=rec.gsd_m))
        except (RasterOpenError, UsageError) as exc:
            missing = f"satellite crop unavailable: {exc}"
            log.warning("%s", missing)
    rows: list[ResidualRow] = []
    rms_px = rms_m = float("nan")
    if rec is not None and len(rec.transform) >= 6 and len(kxy):
        res = residuals_px(c.homography, kxy, txy) if len(c.homography) else \
            np.full(len(kxy), np.nan)
        ll = tile_px_to_lonlat(rec.transform, rec.crs, txy)
        number = {i: n for n, i in enumerate(landmarks, start=1)}
        for i in range(len(kxy)):
            rows.append(ResidualRow(
                number.get(i), float(kxy[i, 0]), float(kxy[i, 1]), float(txy[i, 0]),
                float(txy[i, 1]), float(ll[i, 0]), float(ll[i, 1]), float(res[i]),
                float(res[i]) * rec.gsd_m, manual[i]))
        good = res[np.isfinite(res)]
        if len(good):
            rms_px = float(np.sqrt(np.mean(good**2)))
            rms_m = rms_px * rec.gsd_m
    check = claim_check_for(c, claim, layers) if claim is not None or layers else None
    return LocationSection(
        c, decision, kf, size, rec, missing, sbs, ovl, rows, rms_px, rms_m, marks,
        format_dms(c.lat, c.lon), format_mgrs(c.lat, c.lon), check)


UNCERTAINTY_NOTE = (
    "(1-sigma radius of the match, relative to the reference imagery; the imagery's own "
    "georeferencing error is not included)"
)


def _headline(verdict: str, primary: LocationSection | None) -> str:
    if primary is not None and primary.decision is not None:
        c = primary.candidate
        soft = {"located": "located", "ambiguous": "ambiguous between candidates",
                "not_located": "not located"}.get(verdict, verdict)
        return (f"Located and confirmed by the analyst (software verdict: {soft}; "
                f"{confidence_words(c.confidence)}; uncertainty "
                f"{format_uncertainty(c.uncertainty_m)})")
    if verdict == "located" and primary is not None:
        return "Located by the software; NOT yet confirmed by an analyst"
    if verdict == "ambiguous":
        return "Ambiguous: several candidate locations, none confirmed"
    return "Not found in the reference imagery used"


def build_report_data(case: Case, *, generated_at: datetime | str | None = None,
                      run_verify: bool = True, figures: bool = True,
                      redact_paths: bool = True) -> ReportData:
    """Gather the report content from an open case (reads rasters for the figures).

    ``generated_at``: ``None`` (now), ``"case"`` (the case's last audit entry: the same
    case gives the same report) or a time; ``run_verify``: include a full
    ``verify_case`` run; ``figures``: draw the side-by-side and overlay figures (only
    HTML/PDF need either); ``redact_paths``: replace local paths by file name + SHA-256.
    """
    res = case.result
    decisions = case.decisions()
    claim = case.claim()
    layers = case.context_layers()
    rasters = case.rasters
    status = {r.path: _raster_status(r) for r in rasters}
    confirmed = [c for c in res.candidates
                 if decisions.get(c.rank) and decisions[c.rank].status == "confirmed"]
    sections = [_section(case, c, decisions[c.rank], status, claim, layers, figures)
                for c in confirmed]
    if not sections and res.verdict == "located" and res.candidates:
        best = res.candidates[0]
        d = decisions.get(best.rank)
        if d is None:  # show the unconfirmed best so the analyst sees what to review
            sections = [_section(case, best, None, status, claim, layers, figures)]
    primary = sections[0] if sections else None
    verification = None
    if run_verify:
        try:
            verification = verify_case(case.path)
        except WorkbenchError as exc:
            log.warning("verification failed: %s", exc)
    method = dict(res.method)
    shadows = case.shadows()
    kimg = None
    mine = [sh for sh in shadows if primary is None or sh.rank == primary.candidate.rank]
    if figures and mine:
        with contextlib.suppress(WorkbenchError):
            kimg = case.keyframe_image(mine[-1].measure.keyframe_id)
    claim_report = build_claim_report(
        claim, layers, primary.candidate if primary else None,
        primary.claim_check if primary else None, shadows, keyframe_bgr=kimg,
        footprints=[r.footprint for r in rasters if r.footprint], figures=figures)
    audit = case.audit_log()
    stamp, basis, instant = _timestamp(generated_at, audit[-1].time if audit else case.created)
    source = case.footage_source()
    imagery = case.imagery_meta()
    data = ReportData(
        case_name=case.path.name, case_path=str(case.path),
        generated_at=stamp,
        software=f"osint-geolocation-workbench {__version__}", case_software=case.software,
        schema_version=case.schema_version, created=case.created, verdict=res.verdict,
        headline=_headline(res.verdict, primary), reason=res.reason, primary=primary,
        sections=sections, candidates=[(c, decisions.get(c.rank)) for c in res.candidates],
        claim=claim, context_layers=layers, footage=case.footage,
        keyframes=[(k, case.keyframe_info(k.id)) for k in case.keyframes],
        rasters=[(r, status[r.path]) for r in rasters], method=method,
        timing_s=dict(res.timing_s), warnings=list(res.warnings), notes=case.notes(),
        points=case.points_of_interest(), audit=audit, verification=verification,
        missing_rasters=[r.path for r in rasters if status[r.path] != "present"],
        claim_report=claim_report, source=source, imagery_meta=imagery,
        generated_basis=basis, created_utc=instant)
    known = [(case.footage.video.path, case.footage.video.sha256)]
    known += [(p, r.sha256) for r in rasters for p in (r.path, r.ref_path)]
    known += [(p, s) for r in rasters for p, s in r.sidecars.items()]
    known += [(la.source_path, la.sha256) for la in layers]
    known.append((str(case.path), ""))
    if source is not None and source.archive_path:
        known.append((source.archive_path, source.archive_sha256 or ""))
    red: ReportData = redact_report(data, Redactor(known, on=redact_paths))
    return red


def crs_label(crs: str) -> str:
    """A short CRS label (``EPSG:32636 WGS 84 / UTM zone 36N``) from WKT or an EPSG string."""
    if not crs:
        return "unknown"
    try:
        from pyproj import CRS

        obj = CRS.from_user_input(crs)
        code = obj.to_epsg()
        return f"EPSG:{code} {obj.name}" if code else obj.name
    except Exception:  # pyproj CRSError is a plain Exception
        return crs[:60]


def fmt_float(v: float, digits: int) -> str:
    """Fixed-point text, ``"n/a"`` for NaN/inf."""
    return f"{v:.{digits}f}" if math.isfinite(v) else "n/a"


__all__ = ["GENERATED_BASIS", "LocationSection", "Mark", "ReportData", "ResidualRow",
           "build_report_data", "confidence_words", "crs_label", "fmt_float"]
