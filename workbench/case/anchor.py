"""Anchored audit heads: the analyst's Ed25519 key signs a case's audit head (no SQL here).

The hash chain (:mod:`workbench.case.audit`) is unkeyed: whoever can write the file
can edit entries and re-chain them.  A signature binds one state of the log - the
entry ``seq``, its chain ``hash`` and the case's ``case_id`` - to a key the analyst
keeps outside the case, so a rewritten chain no longer matches what was signed.
The signed message is the canonical JSON of ``{"format": "workbench.case.anchor/1",
"case_id", "seq", "hash"}`` (:func:`anchor_message`).

Keys are files: the private key PEM (PKCS#8, unencrypted, mode 0600) and its public
key ``KEYFILE.pub`` (PEM SubjectPublicKeyInfo).  A key is named by its fingerprint
``SHA256:<hex of SHA-256 of the 32 raw public-key bytes>``.  Signing and checking go
through the ``cryptography`` library.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from workbench.atomic import atomic_write_bytes, check_writable_dir
from workbench.case.audit import canonical_json
from workbench.errors import UsageError
from workbench.hashing import sha256_bytes

ANCHOR_FORMAT = "workbench.case.anchor/1"
ALGORITHM = "ed25519"
MAX_KEY_FILE_BYTES = 64 * 1024

__all__ = ["ALGORITHM", "ANCHOR_FORMAT", "anchor_message", "check_signature", "fingerprint",
           "generate_key", "load_private_key", "load_public_key", "public_hex", "sign"]


def anchor_message(case_id: str, seq: int, head_hash: str) -> bytes:
    """The bytes an analyst signs for audit entry ``seq`` with chain hash ``head_hash``."""
    return canonical_json({"format": ANCHOR_FORMAT, "case_id": case_id, "seq": int(seq),
                           "hash": head_hash}).encode()


def public_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The 32 raw public-key bytes, hex."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def fingerprint(public_key_hex: str) -> str:
    """``SHA256:<hex>`` of the raw public key (what the analyst compares out of band)."""
    try:
        raw = bytes.fromhex(public_key_hex)
    except ValueError:
        raw = public_key_hex.encode()
    return "SHA256:" + sha256_bytes(raw)


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    """Ed25519 signature of ``message``, hex."""
    return key.sign(message).hex()


def check_signature(public_key_hex: str, signature_hex: str, message: bytes) -> bool:
    """``True`` when ``signature_hex`` is a valid Ed25519 signature of ``message`` by
    ``public_key_hex``; ``False`` for a wrong signature or malformed key/signature."""
    try:
        pub = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        pub.verify(bytes.fromhex(signature_hex), message)
    except (ValueError, InvalidSignature):
        return False
    return True


def _read(path: Path, what: str) -> bytes:
    try:
        if path.stat().st_size > MAX_KEY_FILE_BYTES:
            raise UsageError(f"not a {what} (file too large)", path)
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise UsageError(f"{what} not found", path) from exc
    except IsADirectoryError as exc:
        raise UsageError(f"{what} is a folder", path) from exc
    except OSError as exc:
        raise UsageError(f"cannot read {what} ({exc.strerror or exc})", path) from exc


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """The Ed25519 private key in a PEM file (as :func:`generate_key` writes it).

    ``UsageError`` naming the file when it is missing, encrypted, or not an Ed25519 key.
    """
    p = Path(path)
    data = _read(p, "key file")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:
        raise UsageError("key file is encrypted (use an unencrypted Ed25519 key)", p) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise UsageError("not a PEM private key (make one with workbench keygen)", p) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise UsageError(f"not an Ed25519 key ({type(key).__name__})", p)
    return key


def load_public_key(path: str | os.PathLike[str]) -> str:
    """The raw public key (hex) in a PEM public-key file or, failing that, the public half
    of a PEM private-key file.  ``UsageError`` naming the file otherwise."""
    p = Path(path)
    data = _read(p, "public key file")
    try:
        pub = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        return public_hex(load_private_key(p))
    if not isinstance(pub, Ed25519PublicKey):
        raise UsageError(f"not an Ed25519 public key ({type(pub).__name__})", p)
    return public_hex(pub)


def generate_key(out: str | os.PathLike[str], *, overwrite: bool = False) -> tuple[Path, Path,
                                                                                  str]:
    """Write a new Ed25519 key: ``out`` (private, PEM PKCS#8, mode 0600) and ``out.pub``.

    Returns ``(private path, public path, fingerprint)``.  An existing file is refused
    unless ``overwrite`` (``UsageError``); ``OutputError`` if the folder is not writable.
    """
    priv_path = Path(out)
    pub_path = priv_path.with_name(priv_path.name + ".pub")
    for p in (priv_path, pub_path):
        if p.is_dir():
            raise UsageError("is a folder, not a key file name", p)
        if p.exists() and not overwrite:
            raise UsageError("a file already exists here (choose another name or --force)", p)
    check_writable_dir(priv_path.parent)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    atomic_write_bytes(priv_path, pem, private=True)
    atomic_write_bytes(pub_path, pub)
    return priv_path, pub_path, fingerprint(public_hex(key))
