"""`workbench case source` and `workbench case imagery-meta`: provenance the analyst
enters (issue 13), registered by :mod:`workbench.cli.case_cmd`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from workbench.textsafe import echo as _echo


def register_provenance(add: Any, open_case: Any) -> None:
    """``case source`` and ``case imagery-meta`` (issue 13, analyst-entered provenance).

    ``add(name, help)``: the ``case`` parser's subcommand factory; ``open_case(args)``:
    ``case_cmd``'s one way of opening CASE for the ``--user`` analyst."""
    sp = add("source", "record where the footage was obtained (URL or channel, capture time, "
                       "archived copy)")
    sp.add_argument("--url", help="where it was published (https://...)")
    sp.add_argument("--channel", help="the channel or account that published it")
    sp.add_argument("--obtained", metavar="ISO8601",
                    help="when it was captured/downloaded, with its zone "
                         "(e.g. 2015-09-30T14:05+00:00)")
    sp.add_argument("--archive", metavar="FILE",
                    help="the archived copy (hashed; its SHA-256 goes into the report)")
    sp.add_argument("--note", help="how it was captured (tool, account used...)")
    sp.set_defaults(func=_source, open_case=open_case)

    sp = add("imagery-meta", "record a raster's acquisition date, attribution and GSD as "
                             "established by the analyst")
    sp.add_argument("raster", metavar="RASTER", help="the raster's path or file name")
    sp.add_argument("--date", metavar="DATE",
                    help="acquisition date: YYYY, YYYY-MM, YYYY-MM-DD or ISO 8601 with zone")
    sp.add_argument("--attribution", help="provider / licence line (e.g. 'Maxar via ...')")
    sp.add_argument("--gsd", type=float, metavar="M", help="ground sample distance, metres")
    sp.set_defaults(func=_imagery_meta, open_case=open_case)



def _source(args: argparse.Namespace) -> int:
    with args.open_case(args) as case:
        s = case.set_footage_source(url=args.url, channel=args.channel, obtained=args.obtained,
                                    archive=args.archive, note=args.note)
        same = ""
        if s.archive_sha256:
            same = (" (the same file as the footage)" if s.archive_sha256 == case.video.sha256
                    else " (NOT the footage file: a different SHA-256)")
        _echo(f"{case.path}: footage source recorded by {s.user} at {s.time}"
              + (f"; archive SHA-256 {s.archive_sha256}{same}" if s.archive_sha256 else ""))
    return 0


def _imagery_meta(args: argparse.Namespace) -> int:
    with args.open_case(args) as case:
        m = case.set_imagery_meta(args.raster, acquired=args.date,
                                  attribution=args.attribution, gsd_m=args.gsd)
        _echo(f"{case.path}: imagery metadata of {Path(m.raster_path).name} recorded by "
              f"{m.user} at {m.time}")
    return 0
