"""Evidential reports from a case: HTML, PDF, GeoJSON and KML.

``write_reports(case, ["html", "pdf", "geojson", "kml"], out_dir)`` writes
``<case>.html`` (one self-contained file, images embedded as data URIs),
``<case>.pdf`` (reportlab), ``<case>.geojson`` (RFC 7946, lon/lat) and
``<case>.kml`` (placemarks + frame footprints), named after the case file.
Reports are reproducible: the same case gives byte-identical GeoJSON/KML and
HTML/PDF identical apart from the
generation timestamp (pass ``generated_at`` to pin it).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import shapely

from workbench.atomic import atomic_write_bytes
from workbench.case.files import content_errors
from workbench.errors import UsageError
from workbench.outputs import check_output_dir, output_set
from workbench.progress import CancelToken, ProgressCallback, check_cancel, report

if TYPE_CHECKING:
    from workbench.case.casefile import Case
    from workbench.report.model import ReportData

FORMATS: tuple[str, ...] = ("html", "pdf", "geojson", "kml")


_GEOMETRY_ERRORS = (shapely.errors.ShapelyError,)


def _render(fmt: str, data: ReportData) -> bytes:
    """One format's bytes (renderers imported on first use: reportlab, simplekml)."""
    if fmt == "html":
        from workbench.report.html import render_html

        return render_html(data).encode("utf-8")
    if fmt == "pdf":
        from workbench.report.pdf import pdf_bytes

        return pdf_bytes(data)
    if fmt == "geojson":
        from workbench.report.geojson import geojson_bytes

        return geojson_bytes(data)
    from workbench.report.kml import kml_bytes

    return kml_bytes(data)


def write_reports(
    case: Case,
    formats: Sequence[str],
    out_dir: str | os.PathLike[str],
    *,
    generated_at: datetime | str | None = None,
    redact_paths: bool = True,
    force: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> list[Path]:
    """Write the requested report formats for ``case`` into ``out_dir``; returns the paths.

    Args:
        case: an open :class:`~workbench.case.Case`.
        formats: any of ``FORMATS`` (``UsageError`` on an unknown one).
        out_dir: created if needed; ``OutputError`` if not writable.  The requested
            formats are one output set (:func:`workbench.outputs.output_set`, set
            ``report:<case name>``): all are built first, then switched in at once, so a
            failure or a kill leaves the previous reports whole; files the workbench did
            not write there are refused unless ``force`` (then kept).
        generated_at: the timestamp printed in HTML/PDF and the PDF's creation date
            (default: now, UTC; ``"case"``: the case's last audit entry).
        redact_paths: replace local paths by file name + SHA-256 (on by default: reports
            are shared).
        progress, cancel: see :mod:`workbench.progress` (checked between formats).

    A raster missing at report time does not stop the report: the report names it
    and the satellite-crop figures for it are replaced by a notice.
    """
    wanted = [str(f).strip().lower() for f in formats]
    bad = [f for f in wanted if f not in FORMATS]
    if bad or not wanted:
        raise UsageError(f"unknown report format {', '.join(bad) or '(none)'}; "
                         f"use {', '.join(FORMATS)}")
    stem = case.path.stem or "report"
    set_name = f"report:{stem}"
    out = check_output_dir(out_dir, set_name, force=force)
    from workbench.report.model import build_report_data

    report(progress, "gathering report content", 0.0)
    documents = any(f in ("html", "pdf") for f in wanted)
    with content_errors(case.path, "gathering the report", _GEOMETRY_ERRORS):
        data = build_report_data(case, generated_at=generated_at, run_verify=documents,
                                 figures=documents,
                                 redact_paths=redact_paths)
    unique = list(dict.fromkeys(wanted))  # in the given order
    payloads: list[tuple[str, bytes]] = []
    for i, fmt in enumerate(unique):
        check_cancel(cancel)
        report(progress, f"writing {fmt}", (i + 1) / (len(unique) + 1))
        with content_errors(case.path, f"writing {fmt}", _GEOMETRY_ERRORS):
            payloads.append((f"{stem}.{fmt}", _render(fmt, data)))
    check_cancel(cancel)
    with output_set(out, set_name, force=force) as stage:
        for name, payload in payloads:
            # atomic_write_bytes gives the file the usual mode (0666 less the umask)
            atomic_write_bytes(stage / name, payload)
    report(progress, "reports written", 1.0)
    return [out / name for name, _ in payloads]
