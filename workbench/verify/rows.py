"""``verify``: every stored row against the audit log, in both directions, and the schema.

From schema 4 on, each audit entry that wrote rows recorded their digests (the
entry's ``rows_sha256`` covers them, the hash chain covers the entry; see
:mod:`workbench.case.store.evidence`).  So:

* a row an entry recorded that is gone -> ``row_deleted``;
* a row whose content differs from the latest entry that wrote it -> ``row_changed``,
  naming the fields (``doc.verdict``, ``time_s``, ``geojson.features``...);
* a row no entry recorded -> ``audit_missing`` (inserted outside the workbench);
* recorded digests that no longer match their entry -> ``audit_rows``;
* tables, triggers, views or indexes that differ from the schema this software
  creates -> ``schema_changed`` (a dropped trigger, a planted one).

Entries written before schema 4 carry no digests: their rows are checked by
:mod:`workbench.verify.legacy` (field by field against what the entries logged) and
the report says what stays uncheckable.
"""

from __future__ import annotations

from workbench.case import Case
from workbench.case.model import AuditEntry
from workbench.case.store.evidence import RowDigest, rows_aggregate
from workbench.verify.model import VerifyReport

# audit actions that write rows (and so, from schema 4 on, record their digests)
ROW_ACTIONS = frozenset({"create", "locate", "confirm", "reject", "note", "keyframe",
                         "tie_point", "point_of_interest", "claim", "context_layer",
                         "shadow", "relink", "sign", "timestamp", "source", "imagery_meta",
                         "tie_point_retract"})
_LABEL = {"meta": "case metadata", "footage": "footage", "rasters": "raster",
          "keyframes": "keyframe", "locate_runs": "locate run", "candidates": "candidate row",
          "decisions": "decision", "notes": "note", "tie_points": "tie point",
          "claim": "claim", "context_layers": "context layer",
          "points_of_interest": "point of interest", "shadows": "shadow",
          "signatures": "signature", "timestamps": "time-stamp token",
          "footage_sources": "footage source", "imagery_meta": "imagery provenance",
          "tie_point_retractions": "tie point retraction"}


# the candidate fields a refit (adding or retracting an analyst tie point) changes
_REFIT = frozenset({"doc.homography", "doc.lat", "doc.lon", "doc.footprint", "doc.scores",
                    "doc.target"})
# (action, table) -> the fields an entry of that action may change in a row an earlier
# entry recorded ("*": any); every other row is written once and recorded once
_RERECORD: dict[tuple[str, str], frozenset[str] | str] = {
    ("claim", "claim"): "*",
    ("relink", "footage"): frozenset({"path"}),
    ("relink", "rasters"): frozenset({"path"}),
    ("tie_point", "candidates"): _REFIT,
    ("tie_point_retract", "candidates"): _REFIT,
    ("migrate", "meta"): frozenset({"value"}),
}


def subject_of(key: str) -> str:
    """``"notes/3"`` -> ``"note 3"``; ``"keyframes/kf0001"`` -> ``"keyframe kf0001"``."""
    table, _, ident = key.partition("/")
    return f"{_LABEL.get(table, table)} {ident}"


def _changed_fields(want: dict[str, str], have: dict[str, str]) -> list[str]:
    return sorted(n for n in set(want) | set(have) if want.get(n) != have.get(n))


def _check_rerecord(rep: VerifyReport, e: AuditEntry, key: str,
                    before: tuple[AuditEntry, RowDigest], now: RowDigest) -> None:
    """An entry recording a row an earlier entry recorded may change only what its action
    changes (a relink the path...): an entry appended to launder an edit is caught."""
    allowed = _RERECORD.get((e.action, key.partition("/")[0]))
    if allowed == "*":
        return
    changed = _changed_fields(before[1][1], now[1])
    bad = changed if allowed is None else [c for c in changed if c not in allowed]
    if allowed is None or bad:
        what = f"changed {', '.join(bad)}" if bad else "recorded it again"
        rep.error("audit_rows", f"audit #{e.seq}", f"{e.action} entry {what} of "
                  f"{subject_of(key)} (recorded by audit #{before[0].seq}); a {e.action} "
                  + ("does not change it" if allowed is None else
                     f"changes only {', '.join(sorted(allowed))}"))


def check_schema(case: Case, rep: VerifyReport) -> None:
    """Tables, triggers, views and indexes against the schema this software creates."""
    problems = case.schema_problems()
    for obj, msg in problems:
        rep.error("schema_changed", obj, msg)
    if not problems:
        rep.checked.append("schema: tables and append-only triggers as the workbench "
                           "creates them")


def check_rows(case: Case, rep: VerifyReport, entries: list[AuditEntry]
               ) -> tuple[list[AuditEntry], list[str]]:
    """Compare every row with the digest its audit entry recorded (both directions).

    Returns ``(legacy entries, uncovered row keys)``: the row-writing entries from
    before schema 4 (no digests) and the rows no entry recorded, which
    :mod:`workbench.verify.legacy` then checks field by field.
    """
    recorded = case.recorded_row_digests()
    by_seq = {e.seq: e for e in entries}
    expected: dict[str, tuple[AuditEntry, RowDigest]] = {}
    legacy: list[AuditEntry] = []
    digests_began = False
    for e in entries:
        agg = e.details.get("rows_sha256")
        if agg is None:
            if e.action in ROW_ACTIONS and digests_began:
                rep.error("audit_rows", f"audit #{e.seq}", f"{e.action} entry records no row "
                          "digests although earlier entries do (log rewritten)")
            elif e.action in ROW_ACTIONS:
                legacy.append(e)
            continue
        digests_began = True
        rows = recorded.get(e.seq, {})
        if rows_aggregate(rows) != agg or len(rows) != e.details.get("rows"):
            rep.error("audit_rows", f"audit #{e.seq}", f"the row digests recorded with this "
                      f"{e.action} entry were changed or removed (they no longer match its "
                      "rows_sha256)")
        for key, dig in rows.items():
            if key in expected:
                _check_rerecord(rep, e, key, expected[key], dig)
            expected[key] = (e, dig)
    for seq in sorted(set(recorded) - {e.seq for e in entries if "rows_sha256" in e.details}):
        rep.error("audit_rows", f"audit #{seq}", "row digests are recorded for an entry that "
                  f"{'does not exist' if seq not in by_seq else 'records none'} (planted)")
    current = case.row_digests()
    n_ok = 0
    for key, (e, (digest, fields)) in expected.items():
        now = current.get(key)
        if now is None:
            rep.error("row_deleted", subject_of(key), f"written by audit #{e.seq} ({e.action} "
                      f"by {e.user} at {e.time}); the row is gone (deleted outside the "
                      "workbench)")
        elif now[0] != digest:
            names = _changed_fields(fields, now[1]) or ["content"]
            rep.error("row_changed", subject_of(key), f"stored {', '.join(names)} "
                      f"{'differs' if len(names) == 1 else 'differ'} from what audit #{e.seq} "
                      f"({e.action} by {e.user}) recorded (edited outside the workbench)")
        else:
            n_ok += 1
    uncovered = [k for k in current if k not in expected]
    if not legacy:
        for key in uncovered:
            rep.error("audit_missing", subject_of(key), "row has no audit-log entry "
                      "(inserted outside the workbench)")
        uncovered = []
    if expected:
        rep.checked.append(f"{n_ok} of {len(expected)} rows recorded by the audit log match "
                           "their digests" + (f"; {len(uncovered)} rows from before schema 4"
                                              if uncovered else ""))
    return legacy, uncovered
