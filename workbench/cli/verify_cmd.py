"""`workbench verify CASE [--key PUBKEY ...]`: check a case against its files, its audit
log and its signatures.

Re-hashes the footage, keyframes and rasters; compares every stored row with the
digest its audit entry recorded (both directions: deleted, edited and slipped-in
rows); checks the schema's append-only triggers (dropped or planted); recomputes
confirmed locations; checks signatures of the audit head and their RFC 3161 tokens,
and says up to which audit entry the log is anchored, by which key fingerprint.

Exit codes:
  0  verified: every check ran and passed
  1  mismatch: tampering, a changed or missing file (each finding printed)
  2  bad input: the case (or a --key file) cannot be read at all
  3  not checked: no mismatch found, but some check could not run (internal failure)
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from workbench.textsafe import echo as _echo

EXIT_NOT_CHECKED = 3  # = workbench.verify.model.EXIT_NOT_CHECKED (not imported: start-up time)


def register(sub: Any) -> None:
    """Add the `verify` subcommand to the CLI's subparsers."""
    p = sub.add_parser("verify", help="check a case against its files (tampering, moved files)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("case", metavar="CASE", help="the case file (X or X.wbcase)")
    p.add_argument("--key", action="append", default=[], metavar="PUBKEY",
                   help="the analyst's public key file (KEYFILE.pub, or the key file): the "
                        "case must carry a valid signature by it (repeatable)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Verify the case; print the findings; exit code as documented above."""
    from workbench.case.anchor import load_public_key  # CLI start-up time
    from workbench.errors import WorkbenchError, describe
    from workbench.verify import verify_case

    keys = [load_public_key(k) for k in args.key]
    try:
        rep = verify_case(args.case, trusted_keys=keys)
    except (WorkbenchError, OSError):
        raise  # cannot read the case: one line, exit 2 (workbench.cli.run_command)
    except Exception as exc:
        if getattr(args, "debug", False):
            raise
        _echo(f"workbench verify: could not check {args.case}: {describe(exc)} (re-run with "
              "--debug for details)", file=sys.stderr)
        return EXIT_NOT_CHECKED
    if args.json:
        print(json.dumps({"path": rep.path, "ok": rep.ok, "status": rep.status,
                          "exit_code": rep.exit_code, "audit_head": rep.audit_head,
                          "anchoring": rep.anchoring, "anchored_seq": rep.anchored_seq,
                          "audit_entries": rep.audit_entries, "fingerprints": rep.fingerprints,
                          "checked": rep.checked, "partly": rep.partly,
                          "not_checked": rep.not_checked,
                          "findings": [f.__dict__ for f in rep.findings]}, indent=2))
    else:
        for line in rep.checked:
            _echo(f"ok    {line}")
        for line in rep.partly:
            _echo(f"partly checkable: {line}")
        for line in rep.not_checked:
            _echo(f"NOT CHECKED {line}")
        for f in rep.findings:
            _echo(str(f))
        _echo(f"anchoring: {rep.anchoring}")
        word = {"verified": "VERIFIED", "mismatch": "MISMATCH"}.get(rep.status, "NOT CHECKED")
        _echo(f"{rep.path}: {word} ({sum(f.severity == 'error' for f in rep.findings)} problems"
              f"{', partly checkable' if rep.partly else ''}"
              f"{f', {len(rep.not_checked)} checks could not run' if rep.not_checked else ''});"
              f" audit head {rep.audit_head}")
    return rep.exit_code
