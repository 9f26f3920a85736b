"""The statements behind signed audit heads and their RFC 3161 tokens (schema 4), and
the small reads ``verify`` needs beyond the records (times of rows per table)."""

from __future__ import annotations

import sqlite3

from workbench.case.model import SignatureRecord, TimestampRecord

# tables whose rows carry the UTC time of the audit entry that wrote them
TIMED_TABLES = ("decisions", "notes", "tie_points", "claim", "context_layers",
                "points_of_interest", "shadows", "locate_runs", "signatures", "timestamps")


def _has(conn: sqlite3.Connection, table: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (table,)).fetchone() is not None


def insert_signature(conn: sqlite3.Connection, s: SignatureRecord) -> int:
    cur = conn.execute(
        "INSERT INTO signatures (seq, head_hash, case_id, algorithm, public_key, fingerprint,"
        " signature, user, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (s.seq, s.head_hash, s.case_id, s.algorithm, s.public_key, s.fingerprint,
         s.signature, s.user, s.time))
    return int(cur.lastrowid or 0)


def signatures(conn: sqlite3.Connection) -> list[SignatureRecord]:
    if not _has(conn, "signatures"):
        return []
    return [SignatureRecord(int(r[0]), int(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]),
                            str(r[6]), str(r[7]), str(r[8]), str(r[9]))
            for r in conn.execute("SELECT id, seq, head_hash, case_id, algorithm, public_key, "
                                  "fingerprint, signature, user, time FROM signatures "
                                  "ORDER BY id")]


def insert_timestamp(conn: sqlite3.Connection, t: TimestampRecord) -> int:
    cur = conn.execute("INSERT INTO timestamps (signature_id, token, user, time) "
                       "VALUES (?, ?, ?, ?)", (t.signature_id, t.token, t.user, t.time))
    return int(cur.lastrowid or 0)


def timestamps(conn: sqlite3.Connection) -> list[TimestampRecord]:
    if not _has(conn, "timestamps"):
        return []
    return [TimestampRecord(int(r[0]), int(r[1]), bytes(r[2]) if r[2] is not None else b"",
                            str(r[3]), str(r[4]))
            for r in conn.execute("SELECT id, signature_id, token, user, time FROM timestamps "
                                  "ORDER BY id")]


def row_times(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """``table -> [time of each row]`` for the timed tables present, plus ``keyframes ->
    [id, ...]`` (the rows' identities the audit log names)."""
    out: dict[str, list[str]] = {}
    for t in TIMED_TABLES:
        if _has(conn, t):
            out[t] = [str(r[0]) for r in conn.execute(f"SELECT time FROM {t}")]
    out["keyframes"] = [str(r[0]) for r in conn.execute("SELECT id FROM keyframes")]
    out["locate_runs.id"] = [str(r[0]) for r in conn.execute("SELECT id FROM locate_runs")]
    return out
