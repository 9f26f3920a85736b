"""Evidential reports from a case: HTML, PDF, GeoJSON and KML.

``write_reports(case, ["html", "pdf", "geojson", "kml"], out_dir)`` writes
``report.html`` (one self-contained file, images embedded as data URIs),
``report.pdf`` (reportlab), ``report.geojson`` (RFC 7946, lon/lat) and
``report.kml`` (placemarks + frame footprints).  Reports are reproducible: the
same case gives byte-identical GeoJSON/KML and HTML/PDF identical apart from the
generation timestamp (pass ``generated_at`` to pin it).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..case import Case

FORMATS: tuple[str, ...] = ("html", "pdf", "geojson", "kml")


def write_reports(
    case: Case,
    formats: Sequence[str],
    out_dir: str | os.PathLike[str],
    *,
    generated_at: datetime | str | None = None,
) -> list[Path]:
    """Write the requested report formats for ``case`` into ``out_dir``; returns the paths.

    Args:
        case: an open :class:`~workbench.case.Case`.
        formats: any of ``FORMATS`` (``UsageError`` on an unknown one).
        out_dir: created if needed; ``OutputError`` if not writable.  Each file is
            written atomically.
        generated_at: the timestamp printed in HTML/PDF (default: now, UTC).

    A raster missing at report time does not stop the report: the report names it
    and the satellite-crop figures for it are replaced by a notice.
    """
    raise NotImplementedError
