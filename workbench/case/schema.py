"""The case file's SQLite schema, its versions and the migrations between them.

Schema history:

* **1**: footage, keyframes, rasters, locate runs, candidates, decisions, notes,
  tie points and a plain audit log.
* **2** (current): adds the claim, context layers, points of interest, and the
  audit log's hash chain (``prev_hash``/``hash``); version-1 entries are chained
  on migration, which is itself logged.

A case is recognised by its ``meta`` table with ``format = workbench.case``.
Append-only tables are protected by triggers that ``RAISE`` on ``UPDATE`` /
``DELETE``; the hash chain makes edits with the triggers dropped detectable.
"""

from __future__ import annotations

import getpass
import json
import os
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FORMAT = "workbench.case"
SCHEMA_VERSION = 2
GENESIS_HASH = "0" * 64
SQLITE_MAGIC = b"SQLite format 3\x00"

_APPEND_ONLY = ("audit_log", "decisions", "notes", "tie_points", "locate_runs")


def _append_only_triggers(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
    ]


def _run(conn: sqlite3.Connection, script: str) -> None:
    """Execute ``;``-separated plain statements one by one (no implicit COMMIT, unlike
    ``executescript``; the scripts here contain no ``;`` inside statements)."""
    for stmt in script.split(";"):
        if stmt.strip():
            conn.execute(stmt)


DDL_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE footage (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    path TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL, video_json TEXT NOT NULL, copy BLOB
);
CREATE TABLE keyframes (
    id TEXT PRIMARY KEY, frame_index INTEGER NOT NULL, time_s REAL NOT NULL,
    sha256 TEXT NOT NULL, sharpness REAL NOT NULL DEFAULT 0,
    width INTEGER NOT NULL, height INTEGER NOT NULL, png BLOB NOT NULL,
    mask_png BLOB, mask_sha256 TEXT, manual INTEGER NOT NULL DEFAULT 0,
    added TEXT NOT NULL
);
CREATE TABLE rasters (
    path TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size_bytes INTEGER NOT NULL,
    meta_json TEXT NOT NULL
);
CREATE TABLE locate_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, doc TEXT NOT NULL
);
CREATE TABLE candidates (
    run_id INTEGER NOT NULL REFERENCES locate_runs(id), rank INTEGER NOT NULL,
    doc TEXT NOT NULL, PRIMARY KEY (run_id, rank)
);
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL, rank INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('confirmed', 'rejected')),
    note TEXT NOT NULL, user TEXT NOT NULL, time TEXT NOT NULL
);
CREATE TABLE notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, text TEXT NOT NULL, user TEXT NOT NULL,
    time TEXT NOT NULL
);
CREATE TABLE tie_points (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL, rank INTEGER NOT NULL,
    kx REAL NOT NULL, ky REAL NOT NULL, tx REAL NOT NULL, ty REAL NOT NULL,
    user TEXT NOT NULL, time TEXT NOT NULL
);
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, user TEXT NOT NULL,
    action TEXT NOT NULL, details TEXT NOT NULL
);
"""

DDL_V2_TABLES = """
CREATE TABLE claim (
    id INTEGER PRIMARY KEY CHECK (id = 1), text TEXT NOT NULL, lonlat_json TEXT,
    area_json TEXT, user TEXT NOT NULL, time TEXT NOT NULL
);
CREATE TABLE context_layers (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, source_path TEXT NOT NULL,
    sha256 TEXT NOT NULL, geojson TEXT NOT NULL, user TEXT NOT NULL, time TEXT NOT NULL
);
CREATE TABLE points_of_interest (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL, rank INTEGER NOT NULL,
    keyframe_id TEXT NOT NULL, x REAL NOT NULL, y REAL NOT NULL, label TEXT NOT NULL,
    lon REAL NOT NULL, lat REAL NOT NULL, user TEXT NOT NULL, time TEXT NOT NULL
);
"""
DDL_V2_AUDIT = """
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN hash TEXT NOT NULL DEFAULT '';
"""


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


def connect(path: str | os.PathLike[str], *, readonly: bool = False) -> sqlite3.Connection:
    """Open the SQLite file with crash-safe settings (rollback journal, synchronous=FULL).

    The connection is in autocommit mode: callers wrap each mutation in an explicit
    ``BEGIN IMMEDIATE`` ... ``COMMIT``.
    """
    p = Path(path).resolve()
    if readonly:
        uri = f"{p.as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=10.0)
    else:
        conn = sqlite3.connect(str(p), isolation_level=None, timeout=10.0)
    conn.row_factory = sqlite3.Row
    if not readonly:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def create_schema(conn: sqlite3.Connection, *, created: str, software: str) -> None:
    """Create the current schema in an empty database (inside the caller's transaction)."""
    _run(conn, DDL_V1 + DDL_V2_TABLES + DDL_V2_AUDIT)
    for table in _APPEND_ONLY:
        for stmt in _append_only_triggers(table):
            conn.execute(stmt)
    conn.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?)",
        [("format", FORMAT), ("schema_version", str(SCHEMA_VERSION)),
         ("created", created), ("software", software)],
    )


def read_version(conn: sqlite3.Connection) -> int | None:
    """The case's schema version, or ``None`` when this is not a workbench case."""
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if not has_meta:
        return None
    rows = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if rows.get("format") != FORMAT:
        return None
    try:
        return int(rows.get("schema_version", ""))
    except ValueError:
        return None


def _migrate_1_to_2(conn: sqlite3.Connection) -> None:
    from workbench.case.audit import entry_hash

    _run(conn, DDL_V2_TABLES + DDL_V2_AUDIT)
    for table in _APPEND_ONLY:  # the chain columns are filled in below
        conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    prev = GENESIS_HASH
    for row in conn.execute("SELECT seq, time, user, action, details FROM audit_log ORDER BY seq"):
        h = entry_hash(prev, row["seq"], row["time"], row["user"], row["action"],
                       json.loads(row["details"]))
        conn.execute("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?",
                     (prev, h, row["seq"]))
        prev = h
    for table in _APPEND_ONLY:
        for stmt in _append_only_triggers(table):
            conn.execute(stmt)


# version N -> function migrating N to N + 1 (inside one transaction)
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _migrate_1_to_2}


def migrate(conn: sqlite3.Connection, from_version: int) -> list[int]:
    """Run the migrations from ``from_version`` up to :data:`SCHEMA_VERSION`.

    Must be called inside a transaction; returns the versions passed through.
    Raises ``KeyError`` if a step is missing.
    """
    steps = []
    version = from_version
    while version < SCHEMA_VERSION:
        MIGRATIONS[version](conn)
        version += 1
        steps.append(version)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
    return steps
