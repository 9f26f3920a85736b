"""The audit log's hash chain, and who/when an entry is written by (no SQL here).

Each entry records UTC time, user, action and a JSON ``details`` dict saying what
changed.  ``hash = sha256(prev_hash + "\\n" + canonical JSON of (seq, time, user,
action, details))``; the first entry chains from 64 zeros.  SQLite triggers
refuse ``UPDATE``/``DELETE`` on the table (:mod:`workbench.case.store`);
:func:`check_chain` detects edits made with the triggers dropped (any changed,
removed or reordered entry breaks the chain from that point).  Removing entries
from the *end* cannot be detected from the file alone: reports print the head hash
so it can be recorded elsewhere.
"""

from __future__ import annotations

import getpass
import json
import os
from datetime import UTC, datetime
from typing import Any

from workbench.case.model import AuditEntry
from workbench.hashing import sha256_bytes

GENESIS_HASH = "0" * 64

__all__ = ["GENESIS_HASH", "AuditEntry", "canonical_json", "check_chain", "current_user",
           "entry_hash", "utc_now"]


def utc_now() -> str:
    """The current UTC time as ISO 8601 with microseconds and a ``Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def current_user(user: str | None = None) -> str:
    """``user`` if given, else ``$WORKBENCH_USER``, else the login name, else ``unknown``."""
    if user is not None and user.strip():
        return " ".join(user.split())
    env = os.environ.get("WORKBENCH_USER", "").strip()
    if env:
        return env
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return "unknown"


def canonical_json(obj: Any) -> str:
    """Deterministic compact JSON (sorted keys, UTF-8 kept) used for hashing and storage."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def normalised(details: dict[str, Any]) -> dict[str, Any]:
    """``details`` as it reads back from storage (tuples -> lists; ``ValueError`` on NaN)."""
    return dict(json.loads(canonical_json(details)))


def entry_hash(prev_hash: str, seq: int, time: str, user: str, action: str,
               details: dict[str, Any]) -> str:
    """The chain hash of one entry (hex SHA-256)."""
    body = canonical_json({"seq": seq, "time": time, "user": user, "action": action,
                           "details": details})
    return sha256_bytes(f"{prev_hash}\n{body}".encode())


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
