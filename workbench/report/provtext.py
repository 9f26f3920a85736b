"""Provenance text of a report, shared by the HTML and PDF writers (which escape it):
the footage source block, imagery date/attribution with who established them, and a
one-line human summary of each audit-log entry.  Plain text only.
"""

from __future__ import annotations

import math
from pathlib import PurePath
from typing import Any

from workbench.case.model import AuditEntry, FootageSource, ImageryMeta, RasterRecord
from workbench.geo import format_metres

UNKNOWN = "unknown"


def _by(user: str, time: str) -> str:
    return f"entered by the analyst {user} at {time}"


def source_rows(src: FootageSource | None, footage_sha256: str,
                archive_name: str | None = None) -> list[tuple[str, str]]:
    """The footage source block; ``archive_name``: how to show the archive's path
    (already redacted when redaction is on)."""
    if src is None:
        return [("Where obtained", "not recorded: the analyst has not entered where the "
                                   "footage was obtained (workbench case source)")]
    rows = [("Published at (URL)", src.url or "not given"),
            ("Channel / account", src.channel or "not given"),
            ("Captured / downloaded", src.obtained or "not given")]
    if src.archive_sha256:
        same = ("the same file as the footage analysed" if src.archive_sha256 == footage_sha256
                else "NOT the footage file analysed (different SHA-256)")
        rows += [("Archived copy", f"{archive_name or src.archive_name or ''} "
                                   f"({src.archive_size or 0:,} bytes)"),
                 ("Archived copy SHA-256", src.archive_sha256),
                 ("Archived copy vs footage", same)]
    else:
        rows.append(("Archived copy", "not given"))
    if src.note:
        rows.append(("Capture note", src.note))
    rows.append(("Recorded", _by(src.user, src.time)))
    return rows


def imagery_fields(rec: RasterRecord, meta: ImageryMeta | None) -> tuple[str, str, str]:
    """``(acquired, attribution, gsd)`` texts of a raster: the analyst's value marked
    "entered by the analyst" (with the file's own value when it differs), else the file's
    metadata, else ``"unknown"``."""

    def one(mine: str | None, file_value: str | None) -> str:
        if mine:
            differs = f"; the file says {file_value}" if file_value and file_value != mine \
                else ""
            return f"{mine} ({_by(meta.user, meta.time)}{differs})" if meta else mine
        return f"{file_value} (from the file's metadata)" if file_value else UNKNOWN

    acquired = one(meta.acquired if meta else None, rec.acquired)
    attribution = one(meta.attribution if meta else None, rec.attribution)
    file_gsd = f"{rec.gsd_m:.2f} m" if rec.gsd_m and math.isfinite(rec.gsd_m) else None
    gsd = one(f"{meta.gsd_m:.2f} m" if meta and meta.gsd_m else None, file_gsd)
    return acquired, attribution, gsd


def imagery_caption(rec: RasterRecord, meta: ImageryMeta | None) -> str:
    """``name, acquired ..., attribution ...`` for a figure caption."""
    acq, att, _ = imagery_fields(rec, meta)
    return f"{PurePath(rec.path).name}, acquired {acq}, attribution {att}"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6f}" if abs(v) < 1000 else f"{v:.1f}"
    return str(v)


def _latlon(d: dict[str, Any]) -> str:
    try:
        return f"{float(d['lat']):.6f}, {float(d['lon']):.6f}"
    except (KeyError, TypeError, ValueError):
        return "?"


def _name(p: Any) -> str:
    return PurePath(str(p)).name if p else "?"


def audit_time(time: str) -> str:
    """An audit time for the readable table: ``2026-12-03 07:29:48.182139Z`` (wraps at the
    space in a narrow column; the exact stored text is in the appendix)."""
    return time.replace("T", " ", 1)


def audit_summary(a: AuditEntry, limit: int = 160) -> str:
    """One human sentence of what an audit entry records (the raw JSON is in the appendix)."""
    d = a.details
    g = d.get
    act = a.action
    if act == "create":
        sha = str(g("footage_sha256"))[:16]
        text = f"case created from footage {g('footage')} (SHA-256 {sha}…)"
    elif act == "locate":
        best = g("best") or {}
        n = g("candidates")
        text = (f"locate run {g('run_id')}: verdict {g('verdict')}, {n} candidate"
                + ("" if n == 1 else "s")
                + (f", best at {_latlon(best)}" if best else ""))
    elif act in ("confirm", "reject"):
        text = (f"candidate #{g('rank')} {'confirmed' if act == 'confirm' else 'rejected'} "
                f"at {_latlon(d)}: \u201c{g('note')}\u201d")
    elif act == "note":
        text = f"note: \u201c{g('text')}\u201d"
    elif act == "keyframe":
        text = f"manual keyframe {g('id')} added (frame {g('frame_index')})"
    elif act == "tie_point":
        text = (f"tie point on candidate #{g('rank')}; position {_latlon(g('old') or {})} -> "
                f"{_latlon(g('new') or {})}")
    elif act == "point_of_interest":
        unc = g("uncertainty_m")
        text = (f"point \u201c{g('label')}\u201d at {_latlon(d)}"
                + (f" ± {format_metres(float(unc))}" if isinstance(unc, int | float) else ""))
    elif act == "claim":
        text = f"claim recorded: \u201c{g('text')}\u201d" + (
            f", time {g('claimed_time')}" if g("claimed_time") else "") + (
            f", category {g('category')}" if g("category") else "")
    elif act == "context_layer":
        text = (f"context layer \u201c{g('name')}\u201d ({g('features')} features, as of "
                f"{g('as_of') or 'unknown'})")
    elif act == "shadow":
        sa = g("sun_azimuth_deg")
        text = f"shadow measured on candidate #{g('rank')}" + (
            f": sun azimuth {float(sa):.1f}°" if isinstance(sa, int | float) else "")
    elif act == "source":
        where = g("url") or g("channel") or g("archive_name") or "?"
        text = f"footage source recorded: {where}" + (
            f", obtained {g('obtained')}" if g("obtained") else "")
    elif act == "imagery_meta":
        parts = [f"{k} {_fmt(g(k))}" for k in ("acquired", "attribution", "gsd_m") if g(k)]
        text = f"imagery {_name(g('raster'))}: " + ", ".join(parts)
    elif act == "relink":
        text = f"{g('what')} relinked to {_name(g('new_path'))} (same SHA-256)"
    elif act == "migrate":
        text = f"case schema migrated {g('from_version')} -> {g('to_version')}"
    else:
        text = ", ".join(f"{k} {_fmt(v)}" for k, v in sorted(d.items())
                         if isinstance(v, str | int | float))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["UNKNOWN", "audit_summary", "audit_time", "imagery_caption", "imagery_fields",
           "source_rows"]
