"""``verify``: signed audit heads and their RFC 3161 tokens - what is anchored, what not.

A valid signature covers audit entries 1..``seq``: its Ed25519 signature verifies
with its public key over (case id, ``seq``, chain hash), and entry ``seq`` still has
that chain hash.  A log rewritten and re-chained after signing changes that hash
(``anchor_head``); an altered signature row fails (``anchor_signature``).  Who owns
the key is not something the case can prove: pass the analyst's public key
(``trusted_keys``) and a case without a valid signature by it is a mismatch
(``anchor_untrusted``); otherwise the fingerprint is printed to compare out of band.
"""

from __future__ import annotations

from collections.abc import Sequence

from workbench.case import Case
from workbench.case.anchor import anchor_message, check_signature, fingerprint
from workbench.case.model import AuditEntry, SignatureRecord
from workbench.case.tsp import read_token
from workbench.errors import UsageError
from workbench.verify.model import VerifyReport


def _short(h: str) -> str:
    return h[:16] + "..." if len(h) > 16 else h


def _valid(case: Case, rep: VerifyReport, s: SignatureRecord,
           by_seq: dict[int, AuditEntry]) -> bool:
    subject = f"signature {s.id}"
    if fingerprint(s.public_key) != s.fingerprint:
        rep.error("anchor_signature", subject, "stored fingerprint is not that of the stored "
                  "public key (edited outside the workbench)")
        return False
    if not check_signature(s.public_key, s.signature,
                           anchor_message(s.case_id, s.seq, s.head_hash)):
        rep.error("anchor_signature", subject, f"does not verify with key {s.fingerprint} "
                  "(signature, key or signed head altered)")
        return False
    if s.case_id != case.case_id:
        rep.error("anchor_signature", subject, f"signs case {s.case_id}, this case is "
                  f"{case.case_id or 'without an id'} (copied from another case)")
        return False
    e = by_seq.get(s.seq)
    if e is None:
        rep.error("anchor_head", subject, f"signs audit #{s.seq}, which is no longer in the "
                  "log (log truncated or rewritten)")
        return False
    if e.hash != s.head_hash:
        rep.error("anchor_head", subject, f"signs audit #{s.seq} with chain hash "
                  f"{_short(s.head_hash)}; that entry now hashes to {_short(e.hash)}: the log "
                  "was rewritten after signing")
        return False
    return True


def check_anchoring(case: Case, rep: VerifyReport, entries: list[AuditEntry],
                    trusted_keys: Sequence[str] = ()) -> None:
    """Check every signature and token; set ``rep.anchoring``/``anchored_seq``.

    ``trusted_keys``: raw Ed25519 public keys (hex) the signatures must come from.
    """
    by_seq = {e.seq: e for e in entries}
    sigs = case.signatures()
    valid = [s for s in sigs if _valid(case, rep, s, by_seq)]
    trusted = {fingerprint(k) for k in trusted_keys}
    good = [s for s in valid if not trusted or s.fingerprint in trusted]
    if trusted and not good:
        rep.error("anchor_untrusted", "signatures", "no valid signature by the given key "
                  f"{', '.join(sorted(trusted))} (signed by "
                  f"{', '.join(sorted({s.fingerprint for s in valid})) or 'nobody'})")
    stamped: dict[int, str] = {}
    valid_ids = {s.id: s for s in valid}
    for t in case.timestamps():
        subject = f"time-stamp token {t.id}"
        try:
            info = read_token(t.token)
        except UsageError as exc:
            rep.error("anchor_timestamp", subject, f"{exc.message} (edited outside the "
                      "workbench)")
            continue
        s = valid_ids.get(t.signature_id)
        if not info.signature_ok:
            rep.error("anchor_timestamp", subject, f"{info.problem}")
        elif s is None:
            rep.error("anchor_timestamp", subject, f"its signature {t.signature_id} is not a "
                      "valid signature of this case")
        elif not info.covers(bytes.fromhex(s.signature)):
            rep.error("anchor_timestamp", subject, f"does not time-stamp signature {s.id}")
        else:
            stamped[s.id] = (f"time-stamped {info.gen_time} by "
                             f"{info.tsa or info.signer or 'an unnamed TSA'} (token signature "
                             "valid; the TSA certificate is not checked against a trust store)")
    rep.audit_entries = len(entries)
    rep.fingerprints = sorted({s.fingerprint for s in good})
    last = entries[-1].seq if entries else 0
    if not good:
        rep.anchored_seq = 0
        rep.anchoring = ("not anchored: no valid signature" + (" by the given key" if trusted
                                                               else "") +
                         " (workbench case sign CASE --key KEYFILE); only the audit head "
                         "hash, recorded elsewhere, can show a rewritten log")
        return
    best = max(good, key=lambda s: (s.seq, s.id))
    rep.anchored_seq = best.seq
    who = "a trusted key" if trusted else "a key not checked against a trusted one (--key)"
    line = (f"anchored up to audit #{best.seq} of {last}: signed by {best.user} at "
            f"{best.time} with {who}, fingerprint {best.fingerprint}")
    if best.id in stamped:
        line += f"; {stamped[best.id]}"
    if best.seq < last:
        line += (f"; entries #{best.seq + 1}-#{last} are not anchored"
                 if best.seq + 1 < last else f"; entry #{last} is not anchored")
        if [e.action for e in entries if e.seq > best.seq] == ["sign"]:
            line += " (the signature's own record)"
    rep.anchoring = line
    rep.checked.append(f"{len(valid)} signature(s) verify; {len(stamped)} time-stamped")
