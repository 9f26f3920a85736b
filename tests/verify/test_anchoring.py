"""Signed audit heads (`workbench keygen`, `case sign`, `case timestamp`) and what
`workbench verify` says about them: anchored up to which entry, by which key; a log
rewritten and re-chained after signing fails."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from casekit import Scene, make_scene
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from workbench.case import Case
from workbench.case.audit import GENESIS_HASH, entry_hash
from workbench.case.store.evidence import digest_of, rows_aggregate
from workbench.cli import main
from workbench.verify import verify_case


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scene, Path, Path]:
    root = tmp_path_factory.mktemp("anchor")
    scene = make_scene(root / "scene")
    path = root / "base.wbcase"
    with Case.create(path, video_path=scene.video, tiles=[scene.tile], result=scene.result,
                     keyframes_dir=scene.out_dir, analyst="alice") as case:
        case.confirm(1, "matches the water tower")
        case.add_note("seen from the north-east")
    key = root / "alice.key"
    assert main(["keygen", "--out", str(key)]) == 0
    return scene, path, key


@pytest.fixture
def work(base: tuple[Scene, Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A signed copy of the base case, and the analyst's key file."""
    path = tmp_path / "s.wbcase"
    shutil.copyfile(base[1], path)
    assert main(["case", "sign", str(path), "--key", str(base[2]), "--user", "alice"]) == 0
    return path, base[2]


def rewrite_note_and_rechain(path: Path, text: str) -> None:
    """What a careful forger with an SQLite shell does: edit a row, update its recorded
    digest and the entry's rows_sha256, and re-chain every hash after it."""
    conn = sqlite3.connect(path, isolation_level=None)
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                            ).fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("UPDATE notes SET text = ? WHERE id = 1", (text,))
    seq = conn.execute("SELECT seq FROM row_digests WHERE key = 'notes/1'").fetchone()[0]
    d, f = digest_of(conn, "notes/1")
    conn.execute("UPDATE row_digests SET digest = ?, fields = ? WHERE key = 'notes/1'",
                 (d, json.dumps(f, sort_keys=True, separators=(",", ":"))))
    rows = {k: (dg, json.loads(fl)) for k, dg, fl in conn.execute(
        "SELECT key, digest, fields FROM row_digests WHERE seq = ?", (seq,))}
    prev = GENESIS_HASH
    for s, time, user, action, details in conn.execute(
            "SELECT seq, time, user, action, details FROM audit_log ORDER BY seq").fetchall():
        det = json.loads(details)
        if s == seq:
            det.update(text=text, rows_sha256=rows_aggregate(rows))
        h = entry_hash(prev, s, time, user, action, det)
        conn.execute("UPDATE audit_log SET details = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                     (json.dumps(det, sort_keys=True, separators=(",", ":"),
                                 ensure_ascii=False), prev, h, s))
        prev = h
    for _, sql in triggers:
        conn.execute(sql)
    conn.close()


def test_keygen_writes_a_private_key_and_its_public_half(base: tuple[Scene, Path, Path],
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    key = base[2]
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    pub = serialization.load_pem_public_key(key.with_name(key.name + ".pub").read_bytes())
    assert pub is not None
    assert main(["keygen", "--out", str(key)]) == 2  # never overwritten silently
    err = capsys.readouterr().err
    assert "alice.key" in err and "already exists" in err and err.count("\n") == 1


def test_signed_case_verifies_and_says_up_to_where(work: tuple[Path, Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path, key = work
    capsys.readouterr()
    assert main(["verify", str(path), "--key", str(key) + ".pub"]) == 0
    out = capsys.readouterr().out
    with Case.open(path, readonly=True) as case:
        [sig] = case.signatures()
        n = len(case.audit_log())
    assert sig.seq == n - 1  # the sign entry itself follows what it signs
    assert f"anchored up to audit #{sig.seq} of {n}" in out and "VERIFIED" in out
    assert sig.fingerprint in out and sig.fingerprint.startswith("SHA256:")
    assert "a trusted key" in out and f"entry #{n} is not anchored" in out
    rep = verify_case(path)
    assert rep.ok and rep.anchored_seq == sig.seq and rep.fingerprints == [sig.fingerprint]
    assert main(["verify", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["status"], doc["exit_code"], doc["anchored_seq"], doc["audit_entries"]) == (
        "verified", 0, sig.seq, n) and doc["fingerprints"] == [sig.fingerprint]
    assert "not checked against a trusted one" in rep.anchoring


def test_rewritten_and_rechained_log_fails_only_when_signed(
        base: tuple[Scene, Path, Path], work: tuple[Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    unsigned = tmp_path / "u.wbcase"
    shutil.copyfile(base[1], unsigned)
    rewrite_note_and_rechain(unsigned, "seen from the south")
    # the limit of an unkeyed chain: a careful rewrite passes, and verify says so
    rep = verify_case(unsigned)
    assert rep.ok and rep.anchored_seq == 0 and rep.anchoring.startswith("not anchored")
    path, _ = work
    rewrite_note_and_rechain(path, "seen from the south")
    capsys.readouterr()
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert "anchor_head [signature 1]" in out and "rewritten after signing" in out
    assert "anchoring: not anchored" in out


def test_resigned_by_another_key_fails_against_the_analysts_key(
        work: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, key = work
    rewrite_note_and_rechain(path, "forged")
    other = tmp_path / "mallory.key"
    assert main(["keygen", "--out", str(other)]) == 0
    # the CLI refuses to sign a case that does not verify; a forger uses the library
    assert main(["case", "sign", str(path), "--key", str(other)]) == 2
    from workbench.case.anchor import load_private_key

    with Case.open(path, analyst="mallory") as case:
        case.sign(load_private_key(other))
    capsys.readouterr()
    assert main(["verify", str(path), "--key", str(key) + ".pub"]) == 1
    out = capsys.readouterr().out
    assert "anchor_untrusted" in out and "no valid signature by the given key" in out


def test_altered_signature_row_fails(work: tuple[Path, Path]) -> None:
    path, _ = work
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER signatures_no_update")
    conn.execute("UPDATE signatures SET seq = seq - 1")
    conn.close()
    rep = verify_case(path)
    kinds = {f.kind for f in rep.findings}
    assert rep.exit_code == 1 and {"anchor_signature", "row_changed", "schema_changed"} <= kinds


def test_sign_needs_a_readable_ed25519_key(base: tuple[Scene, Path, Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "k.wbcase"
    shutil.copyfile(base[1], path)
    bad = tmp_path / "bad.key"
    bad.write_text("not a key")
    before = path.read_bytes()
    assert main(["case", "sign", str(path), "--key", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.key" in err and err.count("\n") == 1 and "Traceback" not in err
    assert path.read_bytes() == before


# ---- RFC 3161 -----------------------------------------------------------------------------

def _tsa() -> tuple[rsa.RSAPrivateKey, asn1_x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(4242)
            .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
            .not_valid_after(datetime(2040, 1, 1, tzinfo=UTC))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                           critical=True)
            .sign(key, hashes.SHA256()))
    return key, asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _response(key: rsa.RSAPrivateKey, cert: asn1_x509.Certificate, imprint: bytes) -> bytes:
    """A granted TimeStampResp as a TSA would send it (RSA, SHA-256)."""
    econtent = tsp.TSTInfo({
        "version": 1, "policy": "1.2.3.4",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                            "hashed_message": imprint},
        "serial_number": 77, "gen_time": datetime(2026, 12, 3, 8, 0, tzinfo=UTC)}).dump()
    attrs = cms.CMSAttributes([
        cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
        cms.CMSAttribute({"type": "message_digest",
                          "values": [hashlib.sha256(econtent).digest()]})])
    sig = key.sign(attrs.dump(), padding.PKCS1v15(), hashes.SHA256())
    signer = cms.SignerInfo({
        "version": "v1",
        "sid": cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber(
            {"issuer": cert.issuer, "serial_number": cert.serial_number})}),
        "digest_algorithm": {"algorithm": "sha256"}, "signed_attrs": attrs,
        "signature_algorithm": {"algorithm": "sha256_rsa"}, "signature": sig})
    sd = cms.SignedData({
        "version": "v3", "digest_algorithms": [{"algorithm": "sha256"}],
        "encap_content_info": {"content_type": "tst_info",
                               "content": cms.ParsableOctetString(econtent)},
        "certificates": [cert], "signer_infos": [signer]})
    token = cms.ContentInfo({"content_type": "signed_data", "content": sd})
    return bytes(tsp.TimeStampResp({"status": {"status": "granted"},
                                    "time_stamp_token": token}).dump())


def test_timestamp_request_and_token(base: tuple[Scene, Path, Path], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ts.wbcase"
    shutil.copyfile(base[1], path)
    tsq = tmp_path / "head.tsq"
    assert main(["case", "sign", str(path), "--key", str(base[2]), "--tsq", str(tsq)]) == 0
    req = tsp.TimeStampReq.load(tsq.read_bytes())
    with Case.open(path, readonly=True) as case:
        [sig] = case.signatures()
    imprint = hashlib.sha256(bytes.fromhex(sig.signature)).digest()
    assert req["message_imprint"]["hashed_message"].native == imprint
    assert req["cert_req"].native is True and req["nonce"].native > 0
    key, cert = _tsa()
    wrong = tmp_path / "wrong.tsr"
    wrong.write_bytes(_response(key, cert, hashlib.sha256(b"other").digest()))
    capsys.readouterr()
    assert main(["case", "timestamp", str(path), str(wrong)]) == 2
    assert "none of this case's signatures" in capsys.readouterr().err
    junk = tmp_path / "junk.tsr"
    junk.write_bytes(b"\x30\x03\x02\x01\x00 junk")
    assert main(["case", "timestamp", str(path), str(junk)]) == 2
    assert "not an RFC 3161" in capsys.readouterr().err
    good = tmp_path / "head.tsr"
    good.write_bytes(_response(key, cert, imprint))
    assert main(["case", "timestamp", str(path), str(good)]) == 0
    capsys.readouterr()
    assert main(["verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert "time-stamped 2026-12-03T08:00:00+00:00 by" in out and "Test TSA" in out
    # a token altered inside the case no longer verifies
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER timestamps_no_update")
    token = bytearray(conn.execute("SELECT token FROM timestamps").fetchone()[0])
    token[-5] ^= 0xFF  # inside the signature
    conn.execute("UPDATE timestamps SET token = ?", (bytes(token),))
    conn.close()
    rep = verify_case(path)
    assert "anchor_timestamp" in {f.kind for f in rep.findings} and rep.exit_code == 1


def test_report_prints_the_anchoring(work: tuple[Path, Path], tmp_path: Path) -> None:
    from workbench.report import write_reports

    path, _ = work
    with Case.open(path, readonly=True) as case:
        [sig] = case.signatures()
        [html] = write_reports(case, ["html"], tmp_path / "rep")
    text = html.read_text(encoding="utf-8")
    assert f"Anchoring: anchored up to audit #{sig.seq} of {sig.seq + 1}" in text
    assert sig.fingerprint in text and "VERIFIED" in text


def test_a_tampered_case_is_not_signed(base: tuple[Scene, Path, Path], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.wbcase"
    shutil.copyfile(base[1], path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE keyframes SET time_s = 7 WHERE id = 'kf0001'")
    conn.close()
    before = path.read_bytes()
    capsys.readouterr()
    assert main(["case", "sign", str(path), "--key", str(base[2])]) == 2
    err = capsys.readouterr().err
    assert "not signed: the case does not verify" in err and err.count("\n") == 1
    assert path.read_bytes() == before
