"""`workbench report CASE --format html,pdf,geojson,kml --out DIR`: evidential reports."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from workbench.errors import UsageError
from workbench.textsafe import safe_path


def register(sub: Any) -> None:
    """Add the `report` subcommand to the CLI's subparsers."""
    p = sub.add_parser("report", help="write HTML/PDF/GeoJSON/KML reports for a case",
                       description=__doc__)
    p.add_argument("case", metavar="CASE", help="the case file (X or X.wbcase)")
    p.add_argument("--format", default="html,pdf,geojson,kml",
                   help="comma-separated: html, pdf, geojson, kml (default: all)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="output folder: the requested formats are switched in together;"
                        " files of an earlier report of this case are replaced, nothing else")
    p.add_argument("--force", action="store_true",
                   help="write into --out even if it holds files the workbench did not"
                        " write (they are kept)")
    p.add_argument("--generated-at", metavar="ISO_TIME",
                   help="timestamp printed in the report and the PDF's creation date, ISO "
                        "8601 (e.g. 2026-01-02T03:04:05Z; no zone = UTC), or 'case' for the "
                        "case's last audit entry (reproducible); default: now, UTC")
    p.add_argument("--redact-paths", action=argparse.BooleanOptionalAction, default=True,
                   help="replace local paths by file name + SHA-256 (default: on, for shared "
                        "reports; --no-redact-paths for an internal copy)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the reports and print their paths."""
    from workbench.case import Case
    from workbench.report import FORMATS, write_reports

    formats = [f.strip().lower() for f in args.format.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise UsageError(f"unknown report format {', '.join(bad) or '(none)'}; "
                         f"use {', '.join(FORMATS)}")
    generated_at: datetime | str | None = None
    if args.generated_at is not None and args.generated_at.strip().lower() == "case":
        generated_at = "case"
    elif args.generated_at is not None:
        # an evidential report's timestamp: a real instant, printed in UTC, never free text
        try:
            generated_at = datetime.fromisoformat(args.generated_at.strip())
        except ValueError:
            raise UsageError(f"--generated-at wants an ISO 8601 time such as "
                             f"2026-01-02T03:04:05Z, not {args.generated_at!r}") from None
    with Case.open(args.case) as case:
        for path in write_reports(case, formats, args.out, generated_at=generated_at,
                                  redact_paths=args.redact_paths, force=args.force):
            print(safe_path(path))
    return 0
