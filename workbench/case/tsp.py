"""RFC 3161 time-stamps for signed audit heads: the request to send, the token to check.

Offline first: :func:`timestamp_request` builds the DER ``TimeStampReq`` (SHA-256
imprint of the data, a random nonce, ``certReq``) to send to any time-stamping
authority later (e.g. ``curl --data-binary @x.tsq -H 'Content-Type:
application/timestamp-query' URL > x.tsr``); :func:`read_token` parses the answer (a
``TimeStampResp`` or a bare token) and checks what can be checked offline: the
imprint, and the CMS signature of the token by the certificate it carries.  Whether
that certificate belongs to a TSA you trust is *not* checked (no trust store); the
signer's subject is reported so a person can.  DER through ``asn1crypto``,
signatures through ``cryptography``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from workbench.errors import UsageError

_HASHES: dict[str, Any] = {"sha256": hashes.SHA256, "sha384": hashes.SHA384,
                           "sha512": hashes.SHA512, "sha1": hashes.SHA1}
MAX_TOKEN_BYTES = 1 << 20

__all__ = ["TokenInfo", "read_token", "timestamp_request"]


def timestamp_request(data: bytes, *, nonce: int | None = None) -> bytes:
    """DER ``TimeStampReq`` for the SHA-256 of ``data`` (with a nonce and certReq)."""
    req = tsp.TimeStampReq({
        "version": 1,
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                            "hashed_message": hashlib.sha256(data).digest()},
        "nonce": nonce if nonce is not None else secrets.randbits(63),
        "cert_req": True})
    return bytes(req.dump())


@dataclass(frozen=True)
class TokenInfo:
    """What an RFC 3161 token says, and whether its signature holds.

    ``token``: DER of the ``TimeStampToken`` (CMS ContentInfo); ``hashed_message``:
    the imprint; ``gen_time``: ISO 8601 UTC; ``signature_ok``: the CMS signature
    verifies with the certificate in the token (``problem`` says why not).
    """

    token: bytes
    hash_algorithm: str
    hashed_message: bytes
    gen_time: str
    serial: int
    policy: str
    tsa: str
    signer: str
    signature_ok: bool
    problem: str | None

    def covers(self, data: bytes) -> bool:
        """``True`` when the token's imprint is the hash of ``data``."""
        h = _HASHES.get(self.hash_algorithm)
        if h is None:
            return False
        digest = hashes.Hash(h())
        digest.update(data)
        return digest.finalize() == self.hashed_message


def _token_of(der: bytes) -> cms.ContentInfo:
    try:
        resp = tsp.TimeStampResp.load(der)
        status = resp["status"]["status"].native
        if status not in ("granted", "granted_with_mods"):
            raise UsageError(f"the time-stamping authority did not grant it ({status})")
        token = resp["time_stamp_token"]
        token.native  # noqa: B018 - forces the parse, so a bare token is tried next
        return token
    except UsageError:
        raise
    except Exception:  # not a response: try a bare token (asn1crypto raises plain ValueError...)
        pass
    token = cms.ContentInfo.load(der)
    token.native  # noqa: B018
    return token


def _verify(sd: cms.SignedData, econtent: bytes) -> tuple[bool, str | None, str]:
    signer = sd["signer_infos"][0]
    alg = signer["digest_algorithm"]["algorithm"].native
    if alg not in _HASHES:
        return False, f"digest algorithm {alg} not supported", ""
    h = _HASHES[alg]
    digest = hashes.Hash(h())
    digest.update(econtent)
    attrs = signer["signed_attrs"]
    md = next((a["values"][0].native for a in attrs if a["type"].native == "message_digest"),
              None)
    if md != digest.finalize():
        return False, "the token's message digest does not match its content", ""
    sid = signer["sid"]
    cert = None
    for c in sd["certificates"] or []:
        c = c.chosen
        if sid.name == "issuer_and_serial_number":
            if c.issuer == sid.chosen["issuer"] and c.serial_number == \
                    sid.chosen["serial_number"].native:
                cert = c
        elif c.key_identifier == sid.chosen.native:
            cert = c
    if cert is None:
        return False, "the token carries no certificate of its signer", ""
    subject = cert.subject.human_friendly
    tbs = b"\x31" + attrs.dump()[1:]  # signed attributes are signed as a SET OF
    sig = signer["signature"].native
    key = x509.load_der_x509_certificate(cert.dump()).public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            if signer["signature_algorithm"].signature_algo == "rsassa_pss":
                return False, "RSASSA-PSS signed tokens are not supported", subject
            key.verify(sig, tbs, padding.PKCS1v15(), h())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(sig, tbs, ec.ECDSA(h()))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(sig, tbs)
        else:
            return False, f"signer key type {type(key).__name__} not supported", subject
    except InvalidSignature:
        return False, "the token's signature does not verify", subject
    return True, None, subject


def read_token(der: bytes, what: str = "time-stamp token") -> TokenInfo:
    """Parse an RFC 3161 ``TimeStampResp`` or token and check its signature.

    Raises ``UsageError`` (one line, naming ``what``) when it is neither, or was not
    granted.  A token that parses but whose signature fails is returned with
    ``signature_ok=False`` and ``problem`` set.
    """
    if len(der) > MAX_TOKEN_BYTES:
        raise UsageError(f"{what}: too large for a time-stamp token")
    try:
        token = _token_of(der)
        if token["content_type"].native != "signed_data":
            raise ValueError("not CMS signed data")
        sd = token["content"]
        encap = sd["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise ValueError("not a time-stamp token")
        econtent = bytes(encap["content"].contents)
        info = tsp.TSTInfo.load(econtent)
        imprint = info["message_imprint"]
        tsa = info["tsa"]
        fields = dict(
            token=bytes(token.dump()),
            hash_algorithm=str(imprint["hash_algorithm"]["algorithm"].native),
            hashed_message=bytes(imprint["hashed_message"].native),
            gen_time=info["gen_time"].native.isoformat(),
            serial=int(info["serial_number"].native),
            policy=str(info["policy"].native),
            tsa=str(tsa.chosen.human_friendly) if tsa.native is not None else "")
    except UsageError as exc:
        raise UsageError(f"{what}: {exc.message}") from exc
    except Exception as exc:  # asn1crypto reports malformed DER as ValueError/TypeError/...
        raise UsageError(f"{what}: not an RFC 3161 time-stamp response or token") from exc
    try:
        ok, problem, signer = _verify(sd, econtent)
    except Exception as exc:  # malformed signer info or certificate
        ok, problem, signer = False, f"the token's signer cannot be read ({type(exc).__name__})", ""
    return TokenInfo(**fields, signer=signer, signature_ok=ok, problem=problem)
