"""Signing a case's audit head and importing RFC 3161 tokens (part of
:class:`workbench.case.Case`; see :mod:`workbench.case.anchor` and :mod:`workbench.case.tsp`).

Each is one transaction with its audit entry (``sign``, ``timestamp``), whose row
digests cover the stored signature or token.  The signed head is the entry *before*
the ``sign`` entry, so ``verify`` reports the log anchored up to that entry.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from workbench.case.anchor import ALGORITHM, anchor_message, fingerprint, public_hex, sign
from workbench.case.audit import utc_now
from workbench.case.ingest import check_not_readonly
from workbench.case.model import SignatureRecord, TimestampRecord
from workbench.case.tsp import TokenInfo, read_token, timestamp_request
from workbench.case.view import CaseView
from workbench.errors import CaseError, UsageError


class CaseSigning(CaseView):
    """Anchoring actions of :class:`workbench.case.Case`."""

    def sign(self, key: Ed25519PrivateKey) -> SignatureRecord:
        """Sign the current audit head (entry seq, chain hash, case id) with ``key``.

        Returns the stored record (hex public key, ``SHA256:`` fingerprint, hex
        signature).  ``CaseError`` if the case has no identity or no audit entry.
        """
        check_not_readonly(self.readonly, self.path)
        case_id = self.case_id
        if not case_id:
            raise CaseError("case has no case id (open it writable once to migrate it)",
                            self.path)
        with self._db.tx():
            entries = self._db.audit_entries()
            if not entries:
                raise CaseError("case has no audit log to sign", self.path)
            head = entries[-1]
            pub = public_hex(key)
            rec = SignatureRecord(0, head.seq, head.hash, case_id, ALGORITHM, pub,
                                  fingerprint(pub),
                                  sign(key, anchor_message(case_id, head.seq, head.hash)),
                                  self.analyst, utc_now())
            sid = self._db.insert_signature(rec)
            self._db.append_audit("sign", {
                "signature_id": sid, "seq": head.seq, "head_hash": head.hash,
                "case_id": case_id, "algorithm": ALGORITHM, "fingerprint": rec.fingerprint},
                self.analyst, time=rec.time, rows=[f"signatures/{sid}"])
        return SignatureRecord(sid, *[getattr(rec, f) for f in (
            "seq", "head_hash", "case_id", "algorithm", "public_key", "fingerprint",
            "signature", "user", "time")])

    def timestamp_request(self, signature_id: int | None = None) -> bytes:
        """A DER RFC 3161 request over a signature's bytes (default: the latest one), to
        send to a time-stamping authority; nothing is stored."""
        sig = self._signature(signature_id)
        return timestamp_request(bytes.fromhex(sig.signature))

    def _signature(self, signature_id: int | None) -> SignatureRecord:
        sigs = self.signatures()
        if not sigs:
            raise UsageError("case is not signed yet (workbench case sign)", self.path)
        if signature_id is None:
            return sigs[-1]
        for s in sigs:
            if s.id == signature_id:
                return s
        raise UsageError(f"no signature {signature_id} in the case", self.path)

    def add_timestamp(self, token_der: bytes, what: str = "time-stamp token"
                      ) -> tuple[TimestampRecord, TokenInfo]:
        """Store an RFC 3161 token (or response) for the signature it time-stamps.

        ``UsageError`` when it is not a token, does not verify, or covers no signature
        of this case; nothing is stored then.
        """
        check_not_readonly(self.readonly, self.path)
        info = read_token(token_der, what)
        if not info.signature_ok:
            raise UsageError(f"{what}: {info.problem}")
        sig = next((s for s in self.signatures() if info.covers(bytes.fromhex(s.signature))),
                   None)
        if sig is None:
            raise UsageError(f"{what}: time-stamps none of this case's signatures")
        with self._db.tx():
            rec = TimestampRecord(0, sig.id, info.token, self.analyst, utc_now())
            tid = self._db.insert_timestamp(rec)
            self._db.append_audit("timestamp", {
                "timestamp_id": tid, "signature_id": sig.id, "seq": sig.seq,
                "gen_time": info.gen_time, "tsa": info.tsa or info.signer,
                "serial": str(info.serial)}, self.analyst, time=rec.time,
                rows=[f"timestamps/{tid}"])
        return TimestampRecord(tid, sig.id, info.token, rec.user, rec.time), info
