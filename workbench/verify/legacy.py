"""``verify`` for rows written before schema 4 (no row digests): field by field against
what their audit entries logged, both directions, and an honest list of what stays
uncheckable.

A schema 1-3 case logged for each action what it did (a note's text, a decision's
justification, a locate run's verdict, reason, method and keyframe hashes, the
footage and raster hashes at creation); the locate run's stored document also
records the footage's probe facts, the keyframes' times and the rasters' dates.  So
an edit of one of those rows alone shows; an edit of a row *and* of the run document
it is compared with, or of a field nobody logged (warnings, layer geometry, masks of
automatic keyframes), does not - ``VerifyReport.partly`` says so.
"""

from __future__ import annotations

import math
from typing import Any

from workbench.case import Case
from workbench.case.model import AuditEntry
from workbench.errors import CaseCorruptError
from workbench.results import LocateResult
from workbench.verify.model import VerifyReport

# action -> table whose rows carry the entry's time
_TIMED = {"confirm": "decisions", "reject": "decisions", "note": "notes",
          "tie_point": "tie_points", "point_of_interest": "points_of_interest",
          "context_layer": "context_layers", "shadow": "shadows"}
_VIDEO_FIELDS = ("fps", "width", "height", "duration_s", "frame_count", "codec")
_RASTER_FIELDS = ("crs", "width", "height", "gsd_m", "acquired", "attribution")
PARTLY = ("recorded before schema 4 (no row digests), so only what the audit log and the "
          "stored locate runs recorded can be compared: locate warnings and timings, context "
          "layers' geometry (only the source file's hash and feature count were logged), "
          "overlay masks of automatic keyframes, and coordinated edits of a row together "
          "with the locate run it is compared with cannot be detected")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        return float(a) == float(b) or math.isclose(float(a), float(b), rel_tol=1e-9)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _runs(case: Case, rep: VerifyReport) -> dict[int, LocateResult]:
    out = {}
    for run_id, _ in case.locate_runs():
        try:
            out[run_id] = case.locate_run(run_id)
        except CaseCorruptError as exc:
            rep.error("record_unreadable", f"locate run {run_id}", f"{exc.message} (edited "
                      "outside the workbench)")
    return out


def _reverse(case: Case, rep: VerifyReport, legacy: list[AuditEntry]) -> None:
    """Every legacy entry still has its row."""
    times = case.row_times()
    for e in legacy:
        table = _TIMED.get(e.action)
        gone = False
        if table is not None:
            gone = e.time not in times.get(table, [])
        elif e.action == "keyframe":
            gone = str(e.details.get("id")) not in times["keyframes"]
        elif e.action == "locate":
            gone = str(e.details.get("run_id")) not in times["locate_runs.id"]
        if gone:
            rep.error("row_deleted", f"audit #{e.seq}", f"the {e.action} logged by {e.user} at "
                      f"{e.time} has no row any more (deleted outside the workbench)")
    claims = [e for e in legacy if e.action == "claim"]
    if claims:
        claim = case.claim()
        if claim is None:
            rep.error("row_deleted", "claim", f"audit #{claims[-1].seq} recorded a claim; the "
                      "case has none (deleted outside the workbench)")
        elif claim.time != claims[-1].time and claim.time not in [e.time for e in claims]:
            rep.error("audit_missing", "claim", "the stored claim is not the one the audit "
                      "log recorded last")


def _check_locate(rep: VerifyReport, e: AuditEntry, run: LocateResult | None) -> None:
    subject = f"locate run {e.details.get('run_id')}"
    if run is None:
        return
    logged = e.details
    diffs = [k for k, have in (("verdict", run.verdict), ("reason", run.reason),
                               ("method", run.method), ("candidates", len(run.candidates)))
             if k in logged and not _same(logged[k], have)]
    kf = logged.get("keyframes")
    if isinstance(kf, dict) and {k.id: k.sha256 for k in run.keyframes} != kf:
        diffs.append("keyframes")
    if diffs:
        rep.error("audit_mismatch", subject, f"stored {', '.join(diffs)} "
                  f"{'differs' if len(diffs) == 1 else 'differ'} from audit #{e.seq} (edited "
                  "outside the workbench)")


def check_legacy(case: Case, rep: VerifyReport, entries: list[AuditEntry],
                 legacy: list[AuditEntry], uncovered: list[str]) -> None:
    """Field-by-field checks of the rows written before schema 4 (see the module doc)."""
    if not legacy and not uncovered:
        return
    rep.partly.append(f"{len(legacy)} audit entries and {len(uncovered)} rows were " + PARTLY)
    _reverse(case, rep, legacy)
    runs = _runs(case, rep)
    for e in legacy:
        if e.action == "locate":
            _check_locate(rep, e, runs.get(int(e.details.get("run_id") or 0)))
    first = runs[min(runs)] if runs else None
    legacy_tables = {k.partition("/")[0] for k in uncovered}
    if first is not None and "footage" in legacy_tables:
        video = case.video
        diffs = [f for f in _VIDEO_FIELDS if not _same(getattr(video, f), getattr(first.video, f))]
        if diffs:
            rep.error("footage_metadata", case.footage.name, f"stored {', '.join(diffs)} "
                      "differ(s) from the footage facts of the first locate run (edited "
                      "outside the workbench)")
    if "keyframes" in legacy_tables:
        _check_keyframes(case, rep, entries, runs)
    if "rasters" in legacy_tables:
        tiles = {t.sha256: t for r in runs.values() for t in r.tiles}
        for rec in case.rasters:
            t = tiles.get(rec.sha256)
            if t is None:
                continue
            diffs = [f for f in _RASTER_FIELDS if not _same(getattr(rec, f), getattr(t, f))]
            if not _same(list(rec.transform), list(t.transform)):
                diffs.append("transform")
            if diffs:
                rep.error("raster_metadata", rec.path, f"stored {', '.join(diffs)} differ(s) "
                          "from the raster as the locate run catalogued it (edited outside the "
                          "workbench)")


def _check_keyframes(case: Case, rep: VerifyReport, entries: list[AuditEntry],
                     runs: dict[int, LocateResult]) -> None:
    known: dict[str, tuple[int, float, str]] = {}
    for r in runs.values():
        for k in r.keyframes:
            known.setdefault(k.id, (k.frame_index, k.time_s, k.sha256))
    manual = {str(e.details.get("id")): e for e in entries if e.action == "keyframe"}
    for ref in case.keyframes:
        want: tuple[Any, ...] | None = known.get(ref.id)
        e = manual.get(ref.id)
        if want is None and e is not None:
            want = (e.details.get("frame_index"), e.details.get("time_s"),
                    e.details.get("sha256"))
            if bool(e.details.get("mask")) != (case.keyframe_mask_png(ref.id) is not None):
                rep.error("keyframe_changed", ref.id, f"overlay mask "
                          f"{'removed' if e.details.get('mask') else 'added'} since audit "
                          f"#{e.seq} (edited outside the workbench)")
        if want is None:
            continue
        diffs = [n for n, a, b in zip(("frame_index", "time_s", "sha256"), want,
                                      (ref.frame_index, ref.time_s, ref.sha256), strict=True)
                 if not _same(a, b)]
        if diffs:
            rep.error("keyframe_changed", ref.id, f"stored {', '.join(diffs)} differ(s) from "
                      "what the locate run / audit log recorded (edited outside the workbench)")
