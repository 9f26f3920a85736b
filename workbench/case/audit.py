"""The case's append-only, hash-chained audit log.

Each entry records UTC time, user, action and a JSON ``details`` dict saying what
changed.  ``hash = sha256(prev_hash + "\\n" + canonical JSON of (seq, time, user,
action, details))``; the first entry chains from 64 zeros.  SQLite triggers
refuse ``UPDATE``/``DELETE`` on the table; :func:`check_chain` detects edits made
with the triggers dropped (any changed, removed or reordered entry breaks the
chain from that point).  Removing entries from the *end* cannot be detected from
the file alone: reports print the head hash so it can be recorded elsewhere.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from workbench.case.schema import GENESIS_HASH, canonical_json, current_user, utc_now
from workbench.hashing import sha256_bytes


@dataclass(frozen=True)
class AuditEntry:
    """One append-only audit-log entry.

    ``time`` is UTC ISO 8601; ``action`` one of ``create``, ``locate``, ``confirm``,
    ``reject``, ``note``, ``keyframe``, ``tie_point``, ``point_of_interest``,
    ``claim``, ``context_layer``, ``relink``, ``migrate``; ``details`` says what changed
    (JSON-ready dict).  ``hash`` = SHA-256 hex of ``prev_hash`` + the canonical JSON
    of this entry, so any edit or deletion breaks the chain (see ``verify_case``).
    """

    seq: int
    time: str
    user: str
    action: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


def entry_hash(prev_hash: str, seq: int, time: str, user: str, action: str,
               details: dict[str, Any]) -> str:
    """The chain hash of one entry (hex SHA-256)."""
    body = canonical_json({"seq": seq, "time": time, "user": user, "action": action,
                           "details": details})
    return sha256_bytes(f"{prev_hash}\n{body}".encode())


def append(conn: sqlite3.Connection, action: str, details: dict[str, Any],
           user: str | None = None, *, time: str | None = None) -> AuditEntry:
    """Append one entry inside the caller's transaction; returns it."""
    row = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    seq = (row["seq"] + 1) if row else 1
    prev = row["hash"] if row else GENESIS_HASH
    when = time or utc_now()
    who = current_user(user)
    details = json.loads(canonical_json(details))  # normalise (tuples -> lists, no NaN)
    h = entry_hash(prev, seq, when, who, action, details)
    conn.execute(
        "INSERT INTO audit_log (seq, time, user, action, details, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (seq, when, who, action, canonical_json(details), prev, h),
    )
    return AuditEntry(seq, when, who, action, details, prev, h)


def read_all(conn: sqlite3.Connection) -> list[AuditEntry]:
    """All entries, oldest first, as ``AuditEntry`` (details that fail to parse become
    ``{"_unparsable": text}`` so :func:`check_chain` reports them)."""
    out = []
    for r in conn.execute(
        "SELECT seq, time, user, action, details, prev_hash, hash FROM audit_log ORDER BY seq"
    ):
        try:
            details = json.loads(r["details"])
            if not isinstance(details, dict):
                details = {"_unparsable": r["details"]}
        except (TypeError, ValueError):
            details = {"_unparsable": r["details"]}
        out.append(AuditEntry(int(r["seq"]), str(r["time"]), str(r["user"]), str(r["action"]),
                              details, str(r["prev_hash"]), str(r["hash"])))
    return out


def check_chain(entries: list[AuditEntry]) -> list[tuple[int, str]]:
    """Verify the hash chain; returns ``[(seq, problem), ...]`` (empty when intact)."""
    problems: list[tuple[int, str]] = []
    prev = GENESIS_HASH
    expected_seq = 1
    for e in entries:
        if e.seq != expected_seq:
            problems.append((e.seq, f"sequence gap: expected entry #{expected_seq}, found "
                                    f"#{e.seq} (entries removed)"))
        if e.prev_hash != prev:
            problems.append((e.seq, f"prev_hash {e.prev_hash[:12]}... does not match the "
                                    f"previous entry's hash {prev[:12]}..."))
        h = entry_hash(e.prev_hash, e.seq, e.time, e.user, e.action, e.details)
        if h != e.hash:
            problems.append((e.seq, f"content does not match its hash (entry edited: "
                                    f"{e.action} by {e.user} at {e.time})"))
        prev = e.hash
        expected_seq = e.seq + 1
    return problems
