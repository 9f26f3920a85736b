"""The case file's SQLite schema, its versions and migrations, and opening a case database.

Schema history:

* **1**: footage, keyframes, rasters, locate runs, candidates, decisions, notes,
  tie points and a plain audit log.
* **2**: adds the claim, context layers, points of interest, and the
  audit log's hash chain (``prev_hash``/``hash``); version-1 entries are chained
  on migration, which is itself logged.
* **3**: the claim's time and category (``claimed_time``, ``category``) and
  the analyst's shadow measurements (``shadows``, append-only).
* **4** (current): ``row_digests`` (the digest of every row an audit entry wrote, see
  :mod:`workbench.case.store.evidence`), ``signatures`` and ``timestamps`` (signed
  audit heads and RFC 3161 tokens), a ``case_id`` in ``meta``, append-only /
  no-delete triggers on the remaining evidence tables; where the footage was
  obtained (``footage_sources``) and the analyst's imagery provenance
  (``imagery_meta``), both append-only (the latest row is current), and the
  1-sigma radius of each point of interest (``points_of_interest.uncertainty_m``/
  ``outside_hull``, filled from the audit log on migration).
  Also retractions of analyst tie points (``tie_point_retractions``, append-only: a
  tie point is withdrawn by a record saying why, never deleted).

A case is recognised by its ``meta`` table with ``format = workbench.case``.
Append-only tables are protected by triggers that ``RAISE`` on ``UPDATE`` /
``DELETE``; the hash chain (:mod:`workbench.case.audit`) makes edits with the
triggers dropped detectable.  Crash safety: rollback journal, ``synchronous=FULL``,
autocommit connections on which every mutation is one explicit transaction.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path

from workbench.case.audit import GENESIS_HASH, entry_hash
from workbench.case.store.evidence import schema_problems as _schema_problems
from workbench.errors import CaseCorruptError, CaseError, CaseOpenError, CaseVersionError

FORMAT = "workbench.case"
SCHEMA_VERSION = 4
SQLITE_MAGIC = b"SQLite format 3\x00"

_APPEND_ONLY = ("audit_log", "decisions", "notes", "tie_points", "locate_runs")

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


DDL_V3 = """
ALTER TABLE claim ADD COLUMN claimed_time TEXT;
ALTER TABLE claim ADD COLUMN category TEXT;
CREATE TABLE shadows (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL, rank INTEGER NOT NULL,
    keyframe_id TEXT NOT NULL, measure_json TEXT NOT NULL, user TEXT NOT NULL,
    time TEXT NOT NULL
)
"""

# schema 4: tie point retractions
DDL_V4_TIEPOINTS = """
CREATE TABLE tie_point_retractions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tie_point_id INTEGER NOT NULL UNIQUE REFERENCES tie_points(id),
    reason TEXT NOT NULL, user TEXT NOT NULL, time TEXT NOT NULL
)
"""


DDL_V4_SIGNATURES = """
CREATE TABLE signatures (
    id INTEGER PRIMARY KEY AUTOINCREMENT, seq INTEGER NOT NULL, head_hash TEXT NOT NULL,
    case_id TEXT NOT NULL, algorithm TEXT NOT NULL, public_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL, signature TEXT NOT NULL, user TEXT NOT NULL,
    time TEXT NOT NULL
);
CREATE TABLE timestamps (
    id INTEGER PRIMARY KEY AUTOINCREMENT, signature_id INTEGER NOT NULL,
    token BLOB NOT NULL, user TEXT NOT NULL, time TEXT NOT NULL
)
"""
DDL_V4_DIGESTS = """
CREATE TABLE row_digests (
    seq INTEGER NOT NULL, key TEXT NOT NULL, digest TEXT NOT NULL, fields TEXT NOT NULL,
    PRIMARY KEY (seq, key)
)
"""
# schema 4: tables whose rows are never changed, and tables whose rows are never removed
_V4_APPEND_ONLY = ("signatures", "timestamps", "row_digests", "points_of_interest",
                   "context_layers")
_V4_NO_DELETE = ("footage", "rasters", "keyframes", "candidates")

# schema 4: footage source, imagery provenance, point radius
DDL_V4_SOURCE = """
CREATE TABLE footage_sources (
    id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT, channel TEXT, obtained TEXT,
    archive_path TEXT, archive_name TEXT, archive_sha256 TEXT, archive_size INTEGER,
    note TEXT, user TEXT NOT NULL, time TEXT NOT NULL
);
CREATE TABLE imagery_meta (
    id INTEGER PRIMARY KEY AUTOINCREMENT, raster_sha256 TEXT NOT NULL,
    raster_path TEXT NOT NULL, acquired TEXT, attribution TEXT, gsd_m REAL,
    user TEXT NOT NULL, time TEXT NOT NULL
);
ALTER TABLE points_of_interest ADD COLUMN uncertainty_m REAL;
ALTER TABLE points_of_interest ADD COLUMN outside_hull REAL
"""
_APPEND_ONLY_V4_SOURCE = ("footage_sources", "imagery_meta")


def _run(conn: sqlite3.Connection, script: str) -> None:
    """Execute ``;``-separated plain statements one by one (no implicit COMMIT, unlike
    ``executescript``; the scripts here contain no ``;`` inside statements)."""
    for stmt in script.split(";"):
        if stmt.strip():
            conn.execute(stmt)


def _set_triggers(conn: sqlite3.Connection, on: bool) -> None:
    for t in _APPEND_ONLY:
        for op in ("UPDATE", "DELETE"):
            name = f"{t}_no_{op.lower()}"
            conn.execute(f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {op} ON {t} BEGIN "
                         f"SELECT RAISE(ABORT, '{t} is append-only'); END" if on
                         else f"DROP TRIGGER IF EXISTS {name}")


def _shadow_triggers(conn: sqlite3.Connection) -> None:
    """``shadows`` (schema 3) is append-only; kept apart from :data:`_APPEND_ONLY`, whose
    triggers the 1 -> 2 migration sets before the table exists."""
    for op in ("UPDATE", "DELETE"):
        conn.execute(f"CREATE TRIGGER IF NOT EXISTS shadows_no_{op.lower()} BEFORE {op} ON "
                     "shadows BEGIN SELECT RAISE(ABORT, 'shadows is append-only'); END")


def _v4_triggers(conn: sqlite3.Connection) -> None:
    for t in _V4_APPEND_ONLY + _V4_NO_DELETE:
        for op in ("UPDATE", "DELETE") if t in _V4_APPEND_ONLY else ("DELETE",):
            conn.execute(f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op.lower()} BEFORE {op} ON {t} "
                         f"BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END")


def _new_case_id(conn: sqlite3.Connection) -> None:
    """Give the case its identity (bound into signatures); kept if it has one."""
    conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('case_id', ?)",
                 (str(uuid.uuid4()),))


def _v4_source_triggers(conn: sqlite3.Connection) -> None:
    """``footage_sources`` and ``imagery_meta`` (schema 4) are append-only."""
    for t in _APPEND_ONLY_V4_SOURCE:
        for op in ("UPDATE", "DELETE"):
            conn.execute(f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op.lower()} BEFORE {op} ON "
                         f"{t} BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END")


def _v4_point_radius(conn: sqlite3.Connection) -> None:
    """Fill ``points_of_interest.uncertainty_m``/``outside_hull`` of points recorded before
    schema 4 from their audit entries (same keyframe pixel, label, user and time)."""
    for row in conn.execute("SELECT details, user, time FROM audit_log "
                            "WHERE action = 'point_of_interest' ORDER BY seq").fetchall():
        try:
            d = json.loads(row["details"])
            unc, hull = d.get("uncertainty_m"), d.get("outside_hull")
            x, y, label = float(d["x"]), float(d["y"]), str(d["label"])
        except (TypeError, ValueError, KeyError, AttributeError):
            continue  # verify reports a malformed entry; the radius stays unknown
        conn.execute("UPDATE points_of_interest SET uncertainty_m = ?, outside_hull = ? "
                     "WHERE x = ? AND y = ? AND label = ? AND user = ? AND time = ?",
                     (unc if isinstance(unc, int | float) else None,
                      hull if isinstance(hull, int | float) else None,
                      x, y, label, row["user"], row["time"]))


def _v4_tiepoint_triggers(conn: sqlite3.Connection) -> None:
    """``tie_point_retractions`` (schema 4) is append-only."""
    for op in ("UPDATE", "DELETE"):
        conn.execute(f"CREATE TRIGGER IF NOT EXISTS tie_point_retractions_no_{op.lower()} "
                     f"BEFORE {op} ON tie_point_retractions BEGIN SELECT RAISE(ABORT, "
                     "'tie_point_retractions is append-only'); END")


def connect(path: str | os.PathLike[str], *, readonly: bool = False) -> sqlite3.Connection:
    """Open the SQLite file with crash-safe settings (rollback journal, synchronous=FULL),
    in autocommit mode: mutations go through :meth:`CaseDB.tx`."""
    p = Path(path).resolve()
    if readonly:
        conn = sqlite3.connect(f"{p.as_uri()}?mode=ro", uri=True, isolation_level=None,
                               timeout=10.0)
    else:
        conn = sqlite3.connect(str(p), isolation_level=None, timeout=10.0)
    conn.row_factory = sqlite3.Row
    if not readonly:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def read_version(conn: sqlite3.Connection) -> int | None:
    """The case's schema version, or ``None`` when this is not a workbench case."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
                        ).fetchone():
        return None
    rows = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if rows.get("format") != FORMAT:
        return None
    try:
        return int(rows.get("schema_version", ""))
    except ValueError:
        return None


def _migrate_1_to_2(conn: sqlite3.Connection) -> None:
    _run(conn, DDL_V2_TABLES + DDL_V2_AUDIT)
    _set_triggers(conn, False)  # the chain columns are filled in below
    prev = GENESIS_HASH
    for row in conn.execute("SELECT seq, time, user, action, details FROM audit_log ORDER BY seq"):
        h = entry_hash(prev, row["seq"], row["time"], row["user"], row["action"],
                       json.loads(row["details"]))
        conn.execute("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?",
                     (prev, h, row["seq"]))
        prev = h
    _set_triggers(conn, True)


def _migrate_2_to_3(conn: sqlite3.Connection) -> None:
    _run(conn, DDL_V3)
    _shadow_triggers(conn)


def _migrate_3_to_4(conn: sqlite3.Connection) -> None:
    _run(conn, DDL_V4_SOURCE)
    _v4_point_radius(conn)  # before the triggers make the points append-only
    _v4_source_triggers(conn)
    _run(conn, DDL_V4_SIGNATURES)
    _run(conn, DDL_V4_DIGESTS)
    _v4_triggers(conn)
    _new_case_id(conn)
    _run(conn, DDL_V4_TIEPOINTS)
    _v4_tiepoint_triggers(conn)


# version N -> function migrating N to N + 1 (inside one transaction)
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _migrate_1_to_2,
                                                               2: _migrate_2_to_3,
                                                               3: _migrate_3_to_4}


def migrate(conn: sqlite3.Connection, from_version: int) -> list[int]:
    """Run the migrations from ``from_version`` up to :data:`SCHEMA_VERSION` inside the
    caller's transaction; returns the versions passed through."""
    steps = []
    version = from_version
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise CaseVersionError(f"no migration from case schema version {version}")
        step(conn)
        version += 1
        steps.append(version)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
    return steps


def recover(path: Path) -> None:
    """Let SQLite roll back a hot journal (a read-only connection cannot)."""
    with contextlib.suppress(sqlite3.Error):
        conn = connect(path)
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()


def _first_problem(check: str, limit: int = 120) -> str:
    """The first finding of ``PRAGMA quick_check`` (which can list hundreds), shortened."""
    lines = [ln.strip() for ln in str(check).splitlines()
             if ln.strip() and not ln.strip().startswith("***")]
    first = lines[0] if lines else " ".join(str(check).split())
    first = first if len(first) <= limit else first[: limit - 3] + "..."
    more = len(lines) - 1
    return f"{first}; {more} more problem(s)" if more > 0 else first


def _open_error(exc: sqlite3.Error, path: Path) -> CaseError:
    """Map an SQLite error while opening to a typed, one-line case error."""
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and any(
            w in text for w in ("locked", "busy", "unable to open", "readonly", "read-only")):
        return CaseOpenError(f"cannot open case file ({text})", path)
    if isinstance(exc, sqlite3.DatabaseError):
        return CaseCorruptError(f"damaged case database ({text}); nothing was changed", path)
    return CaseOpenError(f"cannot open case file ({text})", path)


def create_schema(conn: sqlite3.Connection, *, created: str, software: str) -> None:
    """Create the current schema in an empty database (inside the caller's transaction)."""
    _run(conn, DDL_V1 + DDL_V2_TABLES + DDL_V2_AUDIT + DDL_V3 + ";" + DDL_V4_SOURCE)
    _run(conn, DDL_V4_SIGNATURES)
    _run(conn, DDL_V4_DIGESTS)
    _run(conn, DDL_V4_TIEPOINTS)
    _set_triggers(conn, True)
    _shadow_triggers(conn)
    _v4_source_triggers(conn)
    _v4_triggers(conn)
    _v4_tiepoint_triggers(conn)
    conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [
        ("format", FORMAT), ("schema_version", str(SCHEMA_VERSION)), ("created", created),
        ("software", software)])
    _new_case_id(conn)


def open_connection(path: Path, *, readonly: bool,
                    on_migrate: Callable[[sqlite3.Connection, int, list[int]], None]
                    ) -> sqlite3.Connection:
    """Open an existing case database: integrity check, version check, migration of an
    older schema in one transaction (``on_migrate(conn, from_version, steps)`` logs it
    inside).  A read-only open of an older schema migrates an in-memory copy.

    Raises ``CaseOpenError``, ``CaseCorruptError``, ``CaseVersionError``.
    """
    try:
        conn = connect(path, readonly=readonly)
    except sqlite3.Error as exc:
        raise _open_error(exc, path) from exc
    try:
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise CaseCorruptError(f"damaged case database ({_first_problem(check)}); "
                                   "nothing was changed", path)
        version = read_version(conn)
        if version is None:
            raise CaseOpenError("not a workbench case file (no case metadata)", path)
        if version > SCHEMA_VERSION:
            raise CaseVersionError(
                f"case schema version {version} is newer than this software supports "
                f"(version {SCHEMA_VERSION}); update the workbench to open it", path)
        if version < SCHEMA_VERSION:
            if readonly:
                mem = sqlite3.connect(":memory:", isolation_level=None)
                conn.backup(mem)
                conn.close()
                conn = mem
                conn.row_factory = sqlite3.Row
            conn.execute("BEGIN IMMEDIATE")
            try:
                on_migrate(conn, version, migrate(conn, version))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
    except sqlite3.Error as exc:
        conn.close()
        raise _open_error(exc, path) from exc
    except BaseException:
        conn.close()
        raise
    return conn


def schema_problems(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """``[(object, problem), ...]``: how this database's tables, triggers, views and
    indexes differ from a case freshly created by this software (dropped or planted
    triggers, rebuilt tables).  Run after migration, so older cases compare too."""
    return _schema_problems(conn, create_schema)
