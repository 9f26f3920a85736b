"""Signing case audit heads with the analyst's Ed25519 key.

    workbench keygen --out KEYFILE [--force]     # KEYFILE (private, 0600) + KEYFILE.pub
    workbench case sign CASE --key KEYFILE [--tsq OUT.tsq]
    workbench case timestamp CASE TOKEN.tsr      # import an RFC 3161 answer to OUT.tsq

``case sign`` first verifies the case file's own records (audit log, rows, schema,
earlier signatures: a case that fails is not signed), then signs the audit head
(entry number, chain hash, case id) and stores the signature in the case (its own
audit entry follows it); ``--tsq`` also writes an
RFC 3161 time-stamp request over the signature, to send to a time-stamping authority
when one is reachable, e.g.
``curl --data-binary @OUT.tsq -H 'Content-Type: application/timestamp-query' URL > OUT.tsr``;
``case timestamp`` checks the answer and stores it.  ``workbench verify CASE --key
KEYFILE.pub`` then says what is anchored.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from workbench.textsafe import echo as _echo

MAX_TOKEN_FILE = 1 << 20


def register(sub: Any) -> None:
    """Add `keygen` to the CLI's subparsers."""
    p = sub.add_parser("keygen", help="make an Ed25519 key pair to sign cases with",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, metavar="KEYFILE",
                   help="private key file to write (KEYFILE.pub is written beside it)")
    p.add_argument("--force", action="store_true", help="replace existing key files")
    p.set_defaults(func=_keygen)


def register_case_actions(add: Any) -> None:
    """Add `case sign` and `case timestamp` (``add(name, help)`` makes a case subparser)."""
    sp = add("sign", "sign the case's audit head with your Ed25519 key")
    sp.add_argument("--key", required=True, metavar="KEYFILE", help="private key file "
                    "(workbench keygen)")
    sp.add_argument("--tsq", metavar="OUT.tsq", help="also write an RFC 3161 time-stamp "
                    "request over the signature (DER), to send to a TSA later")
    sp.set_defaults(func=_sign)
    sp = add("timestamp", "import an RFC 3161 time-stamp answer (.tsr) for a signature")
    sp.add_argument("token", metavar="TOKEN.tsr")
    sp.set_defaults(func=_timestamp)


def _keygen(args: argparse.Namespace) -> int:
    from workbench.case.anchor import generate_key  # CLI start-up time

    priv, pub, fp = generate_key(args.out, overwrite=args.force)
    _echo(f"private key: {priv} (keep it private; mode 0600)")
    _echo(f"public key:  {pub}")
    _echo(f"fingerprint: {fp}")
    return 0


def _sign(args: argparse.Namespace) -> int:
    from workbench.atomic import atomic_write_bytes  # CLI start-up time
    from workbench.case import Case
    from workbench.case.anchor import load_private_key

    key = load_private_key(args.key)
    _refuse_tampered(args.case)
    with Case.open(args.case, analyst=args.user) as case:
        rec = case.sign(key)
        tsq = case.timestamp_request(rec.id) if args.tsq else None
    if tsq is not None:
        atomic_write_bytes(args.tsq, tsq)
    _echo(f"signed audit #{rec.seq} (hash {rec.head_hash}) of case {rec.case_id}")
    _echo(f"key fingerprint: {rec.fingerprint}")
    if tsq is not None:
        _echo(f"time-stamp request: {args.tsq} (send it to a TSA; import the answer with "
              "workbench case timestamp)")
    return 0


# findings about the case file itself (not about moved footage or rasters): a case with
# any of them is not signed, so a signature never vouches for an edited log or row
_INTERNAL = ("audit_", "row_", "schema_changed", "record_unreadable", "anchor_")


def _refuse_tampered(case: str) -> None:
    from workbench.errors import UsageError  # CLI start-up time
    from workbench.verify import verify_case

    rep = verify_case(case)
    bad = [f for f in rep.findings
           if f.severity == "error" and f.kind.startswith(_INTERNAL)]
    if bad:
        raise UsageError(f"not signed: the case does not verify ({len(bad)} problems, first: "
                         f"{bad[0]}); run workbench verify", rep.path)


def _timestamp(args: argparse.Namespace) -> int:
    from workbench.case import Case  # CLI start-up time
    from workbench.errors import UsageError

    path = Path(args.token)
    try:
        if path.stat().st_size > MAX_TOKEN_FILE:
            raise UsageError("too large for a time-stamp token", path)
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read time-stamp token ({exc.strerror or exc})", path) from exc
    with Case.open(args.case, analyst=args.user) as case:
        rec, info = case.add_timestamp(data, what=str(path))
    _echo(f"time-stamp token stored for signature {rec.signature_id}: {info.gen_time} by "
          f"{info.tsa or info.signer} (TSA certificate not checked against a trust store)")
    return 0
