"""Every SQL statement of the case file: its schema, versions and migrations, and the
queries behind :class:`workbench.case.Case` (which holds the rules; this module only
stores and fetches).

Schema history:

* **1**: footage, keyframes, rasters, locate runs, candidates, decisions, notes,
  tie points and a plain audit log.
* **2** (current): adds the claim, context layers, points of interest, and the
  audit log's hash chain (``prev_hash``/``hash``); version-1 entries are chained
  on migration, which is itself logged.

A case is recognised by its ``meta`` table with ``format = workbench.case``.
Append-only tables are protected by triggers that ``RAISE`` on ``UPDATE`` /
``DELETE``; the hash chain (:mod:`workbench.case.audit`) makes edits with the
triggers dropped detectable.  Crash safety: rollback journal, ``synchronous=FULL``,
one ``BEGIN IMMEDIATE`` ... ``COMMIT`` per mutation (:meth:`CaseDB.tx`).

Records come back as the types of :mod:`workbench.case.model`; stored JSON that
cannot be parsed raises :class:`~workbench.errors.CaseCorruptError`, an unknown
keyframe id :class:`~workbench.errors.CaseRecordNotFoundError`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from workbench.case.audit import GENESIS_HASH, canonical_json, entry_hash, normalised, utc_now
from workbench.case.model import (
    AuditEntry,
    Claim,
    ContextLayer,
    Decision,
    FootageRecord,
    KeyframeBlob,
    Note,
    PointOfInterest,
    RasterRecord,
    TiePoint,
)
from workbench.errors import (
    CaseCorruptError,
    CaseError,
    CaseOpenError,
    CaseRecordNotFoundError,
    CaseVersionError,
    OutputError,
    UsageError,
)
from workbench.results import Candidate, KeyframeRef, VideoRef

FORMAT = "workbench.case"
SCHEMA_VERSION = 2
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


# version N -> function migrating N to N + 1 (inside one transaction)
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _migrate_1_to_2}


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


class CaseDB:
    """One case database connection and the statements run on it."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn: sqlite3.Connection | None = conn
        self.path = path

    # ---- lifecycle ---------------------------------------------------------

    @classmethod
    def create(cls, path: Path, *, created: str, software: str) -> CaseDB:
        """A new, empty case database of the current schema at ``path`` (a fresh file).
        ``OutputError`` if it cannot be written."""
        try:
            db = cls(connect(path), path)
            with db.tx() as conn:
                _run(conn, DDL_V1 + DDL_V2_TABLES + DDL_V2_AUDIT)
                _set_triggers(conn, True)
                conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [
                    ("format", FORMAT), ("schema_version", str(SCHEMA_VERSION)),
                    ("created", created), ("software", software)])
        except sqlite3.Error as exc:
            raise OutputError(f"cannot write case file ({exc})", path) from exc
        return db

    @classmethod
    def open(cls, path: Path, *, readonly: bool,
             on_migrate: Callable[[CaseDB, int, list[int]], None]) -> CaseDB:
        """Open an existing case: integrity check, version check, migration of an older
        schema (one transaction; ``on_migrate(db, from_version, steps)`` logs it inside).
        A read-only open of an older schema migrates an in-memory copy.

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
                db = cls(conn, path)
                with db.tx():
                    on_migrate(db, version, migrate(conn, version))
        except sqlite3.Error as exc:
            conn.close()
            raise _open_error(exc, path) from exc
        except BaseException:
            conn.close()
            raise
        return cls(conn, path)

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise UsageError("case is closed", self.path)
        return self._conn

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextlib.contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One atomic write transaction, rolled back on any exception; an SQLite failure
        (disk full, locked...) becomes ``OutputError`` naming the case."""
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise OutputError(f"cannot write case file ({exc})", self.path) from exc

    def _json(self, text: str | None, what: str) -> Any:
        try:
            return json.loads(text) if text is not None else None
        except (TypeError, ValueError) as exc:
            raise CaseCorruptError(f"stored {what} is not valid JSON", self.path) from exc

    def _one(self, sql: str, args: tuple[Any, ...], what: str) -> sqlite3.Row:
        row = self.conn.execute(sql, args).fetchone()
        if row is None:
            raise CaseRecordNotFoundError(f"no {what} in the case", self.path)
        return row

    # ---- meta and audit log ---------------------------------------------------

    def meta(self, key: str) -> str:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row["value"]) if row else ""

    def append_audit(self, action: str, details: dict[str, Any], user: str, *,
                     time: str | None = None) -> AuditEntry:
        """Append one chained entry inside the caller's transaction; returns it."""
        row = self.conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
                                ).fetchone()
        seq = (row["seq"] + 1) if row else 1
        prev = row["hash"] if row else GENESIS_HASH
        when = time or utc_now()
        details = normalised(details)
        h = entry_hash(prev, seq, when, user, action, details)
        self.conn.execute(
            "INSERT INTO audit_log (seq, time, user, action, details, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (seq, when, user, action, canonical_json(details), prev, h))
        return AuditEntry(seq, when, user, action, details, prev, h)

    def audit_entries(self) -> list[AuditEntry]:
        """All entries, oldest first (details that fail to parse become
        ``{"_unparsable": text}`` so the chain check reports them)."""
        out = []
        for r in self.conn.execute("SELECT seq, time, user, action, details, prev_hash, hash "
                                   "FROM audit_log ORDER BY seq"):
            try:
                details = json.loads(r["details"])
            except (TypeError, ValueError):
                details = None
            if not isinstance(details, dict):
                details = {"_unparsable": r["details"]}
            out.append(AuditEntry(int(r["seq"]), str(r["time"]), str(r["user"]),
                                  str(r["action"]), details, str(r["prev_hash"]),
                                  str(r["hash"])))
        return out

    # ---- footage and rasters -------------------------------------------------

    def footage(self) -> FootageRecord:
        row = self.conn.execute(
            "SELECT path, name, sha256, size_bytes, video_json, copy IS NOT NULL AS has_copy "
            "FROM footage WHERE id = 1").fetchone()
        if row is None:
            raise CaseCorruptError("case has no footage record", self.path)
        doc = dict(self._json(row["video_json"], "footage"))
        doc.update(path=row["path"], sha256=row["sha256"])
        try:
            video = VideoRef(**doc)
        except TypeError as exc:
            raise CaseCorruptError(f"stored footage record is malformed ({exc})",
                                   self.path) from exc
        return FootageRecord(video, int(row["size_bytes"]), str(row["name"]),
                             bool(row["has_copy"]))

    def footage_copy(self) -> bytes | None:
        row = self.conn.execute("SELECT copy FROM footage WHERE id = 1").fetchone()
        return bytes(row["copy"]) if row is not None and row["copy"] is not None else None

    def insert_footage(self, path: str, name: str, sha256: str, size: int,
                       video_doc: dict[str, Any], copy: bytes | None) -> None:
        self.conn.execute("INSERT INTO footage (id, path, name, sha256, size_bytes, video_json,"
                          " copy) VALUES (1, ?, ?, ?, ?, ?, ?)",
                          (path, name, sha256, size, canonical_json(video_doc), copy))

    def relink_footage(self, new_path: str) -> None:
        self.conn.execute("UPDATE footage SET path = ? WHERE id = 1", (new_path,))

    def rasters(self) -> list[RasterRecord]:
        out = []
        for r in self.conn.execute("SELECT path, sha256, size_bytes, meta_json FROM rasters "
                                   "ORDER BY rowid"):
            m = self._json(r["meta_json"], "raster record")
            out.append(RasterRecord(
                path=r["path"], sha256=r["sha256"], size_bytes=int(r["size_bytes"]),
                crs=str(m.get("crs", "")), transform=tuple(m.get("transform", ())),
                width=int(m.get("width", 0)), height=int(m.get("height", 0)),
                gsd_m=float(m.get("gsd_m", 0.0)), footprint=list(m.get("footprint", [])),
                acquired=m.get("acquired"), attribution=m.get("attribution"),
                ref_path=str(m.get("ref_path", r["path"])),
                sidecars={str(k): str(v) for k, v in (m.get("sidecars") or {}).items()}))
        return out

    def insert_raster(self, rec: dict[str, Any]) -> None:
        """``rec``: ``path``, ``sha256``, ``size_bytes``; the rest is stored as metadata."""
        meta = {k: v for k, v in rec.items() if k not in ("path", "sha256", "size_bytes")}
        self.conn.execute("INSERT INTO rasters (path, sha256, size_bytes, meta_json) "
                          "VALUES (?, ?, ?, ?)",
                          (rec["path"], rec["sha256"], rec["size_bytes"], canonical_json(meta)))

    def relink_raster(self, old_path: str, new_path: str) -> None:
        self.conn.execute("UPDATE rasters SET path = ? WHERE path = ?", (new_path, old_path))

    # ---- keyframes -----------------------------------------------------------

    def keyframes(self) -> list[KeyframeRef]:
        return [KeyframeRef(r["id"], int(r["frame_index"]), float(r["time_s"]), r["sha256"],
                            float(r["sharpness"]))
                for r in self.conn.execute("SELECT id, frame_index, time_s, sha256, sharpness "
                                           "FROM keyframes ORDER BY time_s, id")]

    def keyframe_info(self, keyframe_id: str) -> dict[str, Any]:
        r = self._one("SELECT width, height, manual, added, mask_sha256 FROM keyframes "
                      "WHERE id = ?", (keyframe_id,), f"keyframe {keyframe_id!r}")
        return {"width": int(r["width"]), "height": int(r["height"]),
                "manual": bool(r["manual"]), "added": r["added"],
                "mask_sha256": r["mask_sha256"]}

    def keyframe_png(self, keyframe_id: str) -> bytes:
        return bytes(self._one("SELECT png FROM keyframes WHERE id = ?", (keyframe_id,),
                               f"keyframe {keyframe_id!r}")["png"])

    def keyframe_mask_png(self, keyframe_id: str) -> bytes | None:
        r = self._one("SELECT mask_png FROM keyframes WHERE id = ?", (keyframe_id,),
                      f"keyframe {keyframe_id!r}")
        return bytes(r["mask_png"]) if r["mask_png"] is not None else None

    def insert_keyframes(self, blobs: list[KeyframeBlob], added: str, *,
                         manual: bool = False) -> None:
        for b in blobs:
            self.conn.execute(
                "INSERT INTO keyframes (id, frame_index, time_s, sha256, sharpness, width,"
                " height, png, mask_png, mask_sha256, manual, added) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (b.ref.id, b.ref.frame_index, b.ref.time_s, b.sha256, b.ref.sharpness,
                 b.width, b.height, b.png, b.mask_png, b.mask_sha256, int(manual), added))

    def count_manual_keyframes(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM keyframes WHERE manual = 1"
                                     ).fetchone()[0])

    # ---- locate runs and candidates --------------------------------------------

    def latest_run_id(self) -> int:
        row = self.conn.execute("SELECT MAX(id) AS id FROM locate_runs").fetchone()
        if row is None or row["id"] is None:
            raise CaseCorruptError("case has no locate run", self.path)
        return int(row["id"])

    def run_doc(self, run_id: int) -> dict[str, Any]:
        """The ``locate.json`` document of a run exactly as stored."""
        row = self._one("SELECT doc FROM locate_runs WHERE id = ?", (run_id,),
                        f"locate run {run_id}")
        doc = self._json(row["doc"], "locate result")
        if not isinstance(doc, dict):
            raise CaseCorruptError("stored locate result is not a JSON object", self.path)
        return doc

    def locate_runs(self) -> list[tuple[int, str]]:
        return [(int(r["id"]), str(r["time"]))
                for r in self.conn.execute("SELECT id, time FROM locate_runs ORDER BY id")]

    def insert_run(self, doc: dict[str, Any], time: str) -> int:
        """Store a run's document and its candidates; returns the new run id."""
        cur = self.conn.execute("INSERT INTO locate_runs (time, doc) VALUES (?, ?)",
                                (time, canonical_json(doc)))
        run = int(cur.lastrowid or 0)
        for c in doc["candidates"]:
            self.conn.execute("INSERT INTO candidates (run_id, rank, doc) VALUES (?, ?, ?)",
                              (run, int(c["rank"]), canonical_json(c)))
        return run

    def candidates(self, run_id: int) -> list[Candidate]:
        out = []
        for r in self.conn.execute("SELECT doc FROM candidates WHERE run_id = ? ORDER BY rank",
                                   (run_id,)):
            try:
                out.append(Candidate(**self._json(r["doc"], "candidate")))
            except TypeError as exc:
                raise CaseCorruptError(f"stored candidate is malformed ({exc})",
                                       self.path) from exc
        return out

    def update_candidate(self, run_id: int, rank: int, doc: dict[str, Any]) -> None:
        self.conn.execute("UPDATE candidates SET doc = ? WHERE run_id = ? AND rank = ?",
                          (canonical_json(doc), run_id, rank))

    # ---- analyst records -------------------------------------------------------

    def decisions(self, run_id: int | None = None) -> list[Decision]:
        """Decisions oldest first, of one run or of all runs."""
        q = "SELECT run_id, rank, status, note, user, time FROM decisions"
        args: tuple[int, ...] = ()
        if run_id is not None:
            q, args = q + " WHERE run_id = ?", (run_id,)
        return [Decision(int(r["rank"]), r["status"], r["note"], r["user"], r["time"],
                         int(r["run_id"]))
                for r in self.conn.execute(q + " ORDER BY id", args)]

    def insert_decision(self, d: Decision) -> None:
        self.conn.execute("INSERT INTO decisions (run_id, rank, status, note, user, time) "
                          "VALUES (?, ?, ?, ?, ?, ?)",
                          (d.run_id, d.rank, d.status, d.note, d.user, d.time))

    def notes(self) -> list[Note]:
        return [Note(int(r["id"]), r["text"], r["user"], r["time"])
                for r in self.conn.execute("SELECT id, text, user, time FROM notes ORDER BY id")]

    def insert_note(self, text: str, user: str, time: str) -> int:
        cur = self.conn.execute("INSERT INTO notes (text, user, time) VALUES (?, ?, ?)",
                                (text, user, time))
        return int(cur.lastrowid or 0)

    def tie_points(self, run_id: int, rank: int | None = None) -> list[TiePoint]:
        q = "SELECT * FROM tie_points WHERE run_id = ?"
        args: tuple[int, ...] = (run_id,)
        if rank is not None:
            q, args = q + " AND rank = ?", (*args, rank)
        return [TiePoint(int(r["id"]), int(r["rank"]), (r["kx"], r["ky"]), (r["tx"], r["ty"]),
                         r["user"], r["time"])
                for r in self.conn.execute(q + " ORDER BY id", args)]

    def insert_tie_point(self, run_id: int, t: TiePoint) -> int:
        cur = self.conn.execute(
            "INSERT INTO tie_points (run_id, rank, kx, ky, tx, ty, user, time) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, t.rank, *t.keyframe_xy, *t.tile_xy, t.user, t.time))
        return int(cur.lastrowid or 0)

    def points_of_interest(self) -> list[PointOfInterest]:
        return [PointOfInterest(int(r["rank"]), r["keyframe_id"], r["x"], r["y"], r["label"],
                                r["lon"], r["lat"], r["user"], r["time"], int(r["id"]))
                for r in self.conn.execute("SELECT * FROM points_of_interest ORDER BY id")]

    def insert_point_of_interest(self, run_id: int, p: PointOfInterest) -> int:
        cur = self.conn.execute(
            "INSERT INTO points_of_interest (run_id, rank, keyframe_id, x, y, label, lon, "
            "lat, user, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, p.rank, p.keyframe_id, p.x, p.y, p.label, p.lon, p.lat, p.user, p.time))
        return int(cur.lastrowid or 0)

    def claim(self) -> Claim | None:
        r = self.conn.execute("SELECT * FROM claim WHERE id = 1").fetchone()
        if r is None:
            return None
        ll = self._json(r["lonlat_json"], "claim") if r["lonlat_json"] else None
        area = self._json(r["area_json"], "claim area") if r["area_json"] else None
        try:
            lonlat = (float(ll[0]), float(ll[1])) if ll else None
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise CaseCorruptError("stored claim position is malformed", self.path) from exc
        return Claim(r["text"], lonlat, area, r["user"], r["time"])

    def replace_claim(self, c: Claim) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO claim (id, text, lonlat_json, area_json, user, time) "
            "VALUES (1, ?, ?, ?, ?, ?)",
            (c.text, canonical_json(c.lonlat) if c.lonlat else None,
             canonical_json(c.area_geojson) if c.area_geojson else None, c.user, c.time))

    def context_layers(self) -> list[ContextLayer]:
        return [ContextLayer(int(r["id"]), r["name"], r["source_path"], r["sha256"],
                             self._json(r["geojson"], "context layer"), r["user"], r["time"])
                for r in self.conn.execute("SELECT * FROM context_layers ORDER BY id")]

    def insert_context_layer(self, layer: ContextLayer) -> int:
        cur = self.conn.execute(
            "INSERT INTO context_layers (name, source_path, sha256, geojson, user, time) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (layer.name, layer.source_path, layer.sha256, canonical_json(layer.geojson),
             layer.user, layer.time))
        return int(cur.lastrowid or 0)
