"""``verify``: analyst records (decisions, notes, points, claim, layers, shadows, tie point
retractions) vs the
audit log.

The audit log is hash-chained, but the tables the reports are made from
(``decisions``, ``notes``, ``points_of_interest``, ``claim``, ``context_layers``,
``shadows``)
are separate rows: anyone with an SQLite shell can drop the append-only triggers
and rewrite a justification, a note or the claim without touching the log.
Every such row must therefore equal what its audit entry (same action, same
time) recorded, field by field; a difference is an ``audit_mismatch`` error, a
row with no entry an ``audit_missing`` error.  Manual tie points are checked in
:mod:`workbench.verify.check`.  Records are read through the case's API.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from workbench.case import Case
from workbench.case.model import AuditEntry
from workbench.claim import layer_meta
from workbench.errors import CaseCorruptError

# table row field -> audit-detail key, per action
_DECISION = {"rank": "rank", "status": "status", "note": "note", "run_id": "run_id"}
_NOTE = {"text": "text"}
_POI = {"rank": "rank", "keyframe_id": "keyframe_id", "x": "x", "y": "y", "label": "label",
        "lon": "lon", "lat": "lat"}
_CLAIM = {"text": "text", "lonlat": "lonlat", "area": "area", "claimed_time": "claimed_time",
          "category": "category"}
_LAYER = {"name": "name", "source_path": "source", "sha256": "sha256",
          "layer_source": "layer_source", "licence": "licence", "as_of": "as_of",
          "class_attribute": "class_attribute", "features": "features"}
_RETRACT = {"tie_point_id": "id", "reason": "reason"}
_SHADOW = {k: k for k in ("rank", "keyframe_id", "foot_px", "tip_px", "foot", "tip",
                          "length_m", "shadow_azimuth_deg", "sun_azimuth_deg", "sigma_deg",
                          "sigma_click_deg", "sigma_fit_deg", "click_px")}


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values; floats within 1e-9 (relative) after the JSON round trip."""
    if isinstance(a, tuple):
        a = list(a)
    if isinstance(b, tuple):
        b = list(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        fa, fb = float(a), float(b)
        return fa == fb or math.isclose(fa, fb, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def _differences(row: dict[str, Any], entry: AuditEntry, fields: dict[str, str]) -> list[str]:
    """Names of the row's fields that differ from the entry (keys the entry lacks are skipped:
    older schema versions logged less)."""
    diff = [col for col, key in fields.items()
            if key in entry.details and not _same(row[col], entry.details[key])]
    if row.get("user") != entry.user:
        diff.append("user")
    return diff


def _rows(case: Case) -> Iterator[tuple[tuple[str, ...], str, dict[str, Any], dict[str, str]]]:
    """``(actions, subject, row, fields)`` for every record the audit log must account for
    (``actions``: the audit actions that may have written it)."""
    for d in case.decision_history():
        yield ("confirm", "reject"), f"decision on rank {d.rank}", asdict(d), _DECISION
    for n in case.notes():
        yield ("note",), f"note {n.id}", asdict(n), _NOTE
    for p in case.points_of_interest():
        yield ("point_of_interest",), f"point of interest {p.id}", asdict(p), _POI
    claim = case.claim()
    if claim is not None:
        row = asdict(claim)
        row.update(lonlat=claim.lonlat, area=claim.area_geojson)
        yield ("claim",), "claim", row, _CLAIM
    for layer in case.context_layers():
        meta = layer_meta(layer.geojson)
        row = asdict(layer)
        row.update(layer_source=meta.source, licence=meta.licence, as_of=meta.as_of,
                   class_attribute=meta.class_attribute,
                   features=len(layer.geojson.get("features") or []))
        yield ("context_layer",), f"context layer {layer.id}", row, _LAYER
    for r in case.tie_point_retractions():
        yield ("tie_point_retract",), f"retraction of tie point {r.tie_point_id}", asdict(r), \
            _RETRACT
    for sh in case.shadows():
        row = {"rank": sh.rank, "user": sh.user, "time": sh.time, **sh.measure.to_json()}
        yield ("shadow",), f"shadow {sh.id}", row, _SHADOW


def check_records(case: Case, entries: list[AuditEntry]
                  ) -> tuple[list[tuple[str, str, str]], int]:
    """Compare every analyst record with its audit entry.

    Args:
        case: the open case, read through its API only.
        entries: the case's audit log, oldest first.

    Returns:
        ``([(kind, subject, message), ...], records_checked)`` with ``kind``
        ``audit_missing`` or ``audit_mismatch``.
    """
    by_key: dict[tuple[str, str], list[AuditEntry]] = {}
    for e in entries:
        by_key.setdefault((e.action, e.time), []).append(e)
    problems: list[tuple[str, str, str]] = []
    n = 0
    try:
        rows = list(_rows(case))
    except CaseCorruptError as exc:  # a record edited into unreadable JSON
        return [("audit_mismatch", "analyst records", f"{exc.message} (edited outside the "
                 "workbench)")], 0
    for actions, subject, row, fields in rows:
        n += 1
        candidates = [e for a in actions for e in by_key.get((a, row["time"]), [])]
        if not candidates:
            problems.append(("audit_missing", subject, f"{'/'.join(actions)} recorded at "
                             f"{row['time']} has "
                             "no audit-log entry (inserted outside the workbench)"))
            continue
        diffs = [_differences(row, e, fields) for e in candidates]
        best = min(diffs, key=len)
        if best:
            seq = candidates[diffs.index(best)].seq
            problems.append(("audit_mismatch", subject,
                             f"stored {', '.join(best)} "
                             f"{'differs' if len(best) == 1 else 'differ'} from audit #{seq} "
                             "(edited outside the workbench)"))
    return problems, n
