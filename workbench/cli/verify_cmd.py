"""`workbench verify CASE`: re-hash footage, keyframes and rasters, recompute locations.

Exit code 0 when everything matches, 1 when a mismatch is found (each one printed
precisely), 2 when the case cannot be read at all.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: Any) -> None:
    """Add the `verify` subcommand to the CLI's subparsers."""
    p = sub.add_parser("verify", help="check a case against its files (tampering, moved files)",
                       description=__doc__)
    p.add_argument("case", metavar="CASE", help="the case file (X or X.wbcase)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Verify the case; print the findings; 0 if all good, 1 on any mismatch."""
    from workbench.verify import verify_case

    rep = verify_case(args.case)
    if args.json:
        print(json.dumps({"path": rep.path, "ok": rep.ok, "audit_head": rep.audit_head,
                          "checked": rep.checked,
                          "findings": [f.__dict__ for f in rep.findings]}, indent=2))
    else:
        for line in rep.checked:
            print(f"ok    {line}")
        for f in rep.findings:
            print(str(f))
        print(f"{rep.path}: {'VERIFIED' if rep.ok else 'MISMATCH'} "
              f"({sum(f.severity == 'error' for f in rep.findings)} problems); "
              f"audit head {rep.audit_head}")
    return 0 if rep.ok else 1
