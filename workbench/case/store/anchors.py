"""The statements behind signed audit heads and their RFC 3161 tokens (schema 4), and
the small reads ``verify`` needs beyond the records (times of rows per table)."""

from __future__ import annotations

import sqlite3

from workbench.case.model import SignatureRecord, TimestampRecord
from workbench.case.store.evidence import (
    RowDigest,
    current_row_digests,
    keys_of,
    recorded_row_digests,
)
from workbench.case.store.schema import schema_problems

# tables whose rows carry the UTC time of the audit entry that wrote them
TIMED_TABLES = ("decisions", "notes", "tie_points", "claim", "context_layers",
                "points_of_interest", "shadows", "locate_runs", "signatures", "timestamps")


def _has(conn: sqlite3.Connection, table: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (table,)).fetchone() is not None


class EvidenceQueries:
    """The evidence half of :class:`~workbench.case.store.CaseDB`: signatures, tokens,
    row digests and the schema check (``conn`` is the case's connection)."""

    @property
    def conn(self) -> sqlite3.Connection:  # provided by CaseDB
        raise NotImplementedError

    def insert_signature(self, s: SignatureRecord) -> int:
        cur = self.conn.execute(
            "INSERT INTO signatures (seq, head_hash, case_id, algorithm, public_key, "
            "fingerprint, signature, user, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (s.seq, s.head_hash, s.case_id, s.algorithm, s.public_key, s.fingerprint,
             s.signature, s.user, s.time))
        return int(cur.lastrowid or 0)

    def signatures(self) -> list[SignatureRecord]:
        if not _has(self.conn, "signatures"):
            return []
        return [SignatureRecord(int(r[0]), int(r[1]), str(r[2]), str(r[3]), str(r[4]),
                                str(r[5]), str(r[6]), str(r[7]), str(r[8]), str(r[9]))
                for r in self.conn.execute(
                    "SELECT id, seq, head_hash, case_id, algorithm, public_key, fingerprint, "
                    "signature, user, time FROM signatures ORDER BY id")]

    def insert_timestamp(self, t: TimestampRecord) -> int:
        cur = self.conn.execute("INSERT INTO timestamps (signature_id, token, user, time) "
                                "VALUES (?, ?, ?, ?)", (t.signature_id, t.token, t.user, t.time))
        return int(cur.lastrowid or 0)

    def timestamps(self) -> list[TimestampRecord]:
        if not _has(self.conn, "timestamps"):
            return []
        return [TimestampRecord(int(r[0]), int(r[1]), bytes(r[2]) if r[2] is not None else b"",
                                str(r[3]), str(r[4]))
                for r in self.conn.execute("SELECT id, signature_id, token, user, time FROM "
                                           "timestamps ORDER BY id")]

    def row_times(self) -> dict[str, list[str]]:
        """``table -> [time of each row]`` for the timed tables present, plus ``keyframes
        -> [id, ...]`` and ``locate_runs.id -> [run id, ...]``."""
        out: dict[str, list[str]] = {}
        for t in TIMED_TABLES:
            if _has(self.conn, t):
                out[t] = [str(r[0]) for r in self.conn.execute(f"SELECT time FROM {t}")]
        out["keyframes"] = [str(r[0]) for r in self.conn.execute("SELECT id FROM keyframes")]
        out["locate_runs.id"] = [str(r[0]) for r in self.conn.execute("SELECT id FROM "
                                                                      "locate_runs")]
        return out

    def candidate_keys(self, run_id: int, rank: int | None = None) -> list[str]:
        """Row keys of a run's candidates (one rank, or all)."""
        if rank is None:
            return keys_of(self.conn, "candidates", "run_id = ?", (run_id,))
        return keys_of(self.conn, "candidates", "run_id = ? AND rank = ?", (run_id, rank))

    def meta_keys(self) -> list[str]:
        return keys_of(self.conn, "meta")

    def row_digests(self) -> dict[str, RowDigest]:
        """Digest of every evidence row now (:func:`~.evidence.current_row_digests`)."""
        return current_row_digests(self.conn)

    def recorded_row_digests(self) -> dict[int, dict[str, RowDigest]]:
        return recorded_row_digests(self.conn)

    def schema_problems(self) -> list[tuple[str, str]]:
        return schema_problems(self.conn)
