"""Every query and statement on an open case database (:class:`CaseDB`), returning the
records of :mod:`workbench.case.model`.

:class:`workbench.case.Case` holds the rules; this module only stores and fetches.
Each mutation runs inside :meth:`CaseDB.tx` (``BEGIN IMMEDIATE`` ... ``COMMIT``).
Stored JSON that cannot be parsed raises :class:`~workbench.errors.CaseCorruptError`;
an unknown keyframe id :class:`~workbench.errors.CaseRecordNotFoundError`.
"""

from __future__ import annotations

import contextlib
import json
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
    ShadowRecord,
    TiePoint,
    TieRetraction,
)
from workbench.case.store.anchors import EvidenceQueries
from workbench.case.store.evidence import keys_of, record_rows
from workbench.case.store.provenance import ProvenanceQueries
from workbench.case.store.schema import connect, create_schema, open_connection
from workbench.claim import ShadowMeasure
from workbench.errors import (
    CaseCorruptError,
    CaseRecordNotFoundError,
    OutputError,
    UsageError,
)
from workbench.results import Candidate, KeyframeRef, VideoRef


class CaseDB(EvidenceQueries, ProvenanceQueries):
    """One case database connection and the statements run on it (the evidence queries:
    :class:`~workbench.case.store.anchors.EvidenceQueries`; footage source and imagery
    provenance: :class:`~workbench.case.store.provenance.ProvenanceQueries`)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn: sqlite3.Connection | None = conn
        self.path = path

    # ---- lifecycle ---------------------------------------------------------

    @classmethod
    def create(cls, path: Path) -> CaseDB:
        """A connection to a new, empty database file at ``path``; the caller runs
        :meth:`create_schema` and its first content in one transaction.  ``OutputError`` if
        it cannot be written."""
        try:
            return cls(connect(path), path)
        except sqlite3.Error as exc:
            raise OutputError(f"cannot write case file ({exc})", path) from exc

    def create_schema(self, *, created: str, software: str) -> None:
        """Create the current schema (inside the caller's transaction)."""
        create_schema(self.conn, created=created, software=software)

    @classmethod
    def open(cls, path: Path, *, readonly: bool,
             on_migrate: Callable[[CaseDB, int, list[int]], None]) -> CaseDB:
        """Open an existing case (:func:`~workbench.case.store.schema.open_connection`:
        integrity, version, migration; ``on_migrate(db, from_version, steps)`` appends
        the migration's audit entry inside its transaction)."""
        conn = open_connection(path, readonly=readonly,
                               on_migrate=lambda c, v, steps: on_migrate(cls(c, path), v, steps))
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
                     time: str | None = None, rows: list[str] | None = None) -> AuditEntry:
        """Append one chained entry inside the caller's transaction; returns it.

        ``rows``: keys (``table/id``, see :mod:`~workbench.case.store.evidence`) of the
        rows this action created or changed, already written: their digests are recorded
        and ``details`` gains ``rows_sha256`` and ``rows`` (their number)."""
        row = self.conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
                                ).fetchone()
        seq = (row["seq"] + 1) if row else 1
        prev = row["hash"] if row else GENESIS_HASH
        when = time or utc_now()
        if rows is not None:
            agg, n = record_rows(self.conn, seq, rows)
            details = {**details, "rows_sha256": agg, "rows": n}
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
                sidecars={str(k): str(v) for k, v in (m.get("sidecars") or {}).items()},
                sidecars_recursive=m.get("sidecars_recursive") is True))
        return out

    def insert_raster(self, rec: dict[str, Any]) -> str:
        """``rec``: ``path``, ``sha256``, ``size_bytes``; the rest is stored as metadata.
        Returns the row's key."""
        meta = {k: v for k, v in rec.items() if k not in ("path", "sha256", "size_bytes")}
        cur = self.conn.execute("INSERT INTO rasters (path, sha256, size_bytes, meta_json) "
                          "VALUES (?, ?, ?, ?)",
                          (rec["path"], rec["sha256"], rec["size_bytes"], canonical_json(meta)))
        return f"rasters/{cur.lastrowid}"

    def relink_raster(self, old_path: str, new_path: str) -> list[str]:
        """Returns the keys of the rows changed."""
        keys = keys_of(self.conn, "rasters", "path = ?", (old_path,))
        self.conn.execute("UPDATE rasters SET path = ? WHERE path = ?", (new_path, old_path))
        return keys

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

    def insert_decision(self, d: Decision) -> int:
        cur = self.conn.execute("INSERT INTO decisions (run_id, rank, status, note, user, time) "
                          "VALUES (?, ?, ?, ?, ?, ?)",
                          (d.run_id, d.rank, d.status, d.note, d.user, d.time))
        return int(cur.lastrowid or 0)

    def notes(self) -> list[Note]:
        return [Note(int(r["id"]), r["text"], r["user"], r["time"])
                for r in self.conn.execute("SELECT id, text, user, time FROM notes ORDER BY id")]

    def insert_note(self, text: str, user: str, time: str) -> int:
        cur = self.conn.execute("INSERT INTO notes (text, user, time) VALUES (?, ?, ?)",
                                (text, user, time))
        return int(cur.lastrowid or 0)

    def tie_points(self, run_id: int, rank: int | None = None, *,
                   include_retracted: bool = False) -> list[TiePoint]:
        q = "SELECT * FROM tie_points WHERE run_id = ?"
        args: tuple[int, ...] = (run_id,)
        if rank is not None:
            q, args = q + " AND rank = ?", (*args, rank)
        if not include_retracted:
            q += " AND id NOT IN (SELECT tie_point_id FROM tie_point_retractions)"
        return [TiePoint(int(r["id"]), int(r["rank"]), (r["kx"], r["ky"]), (r["tx"], r["ty"]),
                         r["user"], r["time"])
                for r in self.conn.execute(q + " ORDER BY id", args)]

    def insert_tie_point(self, run_id: int, t: TiePoint) -> int:
        cur = self.conn.execute(
            "INSERT INTO tie_points (run_id, rank, kx, ky, tx, ty, user, time) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, t.rank, *t.keyframe_xy, *t.tile_xy, t.user, t.time))
        return int(cur.lastrowid or 0)

    def tie_point_retractions(self) -> list[TieRetraction]:
        return [TieRetraction(int(r["id"]), int(r["tie_point_id"]), r["reason"], r["user"],
                              r["time"])
                for r in self.conn.execute("SELECT * FROM tie_point_retractions ORDER BY id")]

    def insert_tie_point_retraction(self, r: TieRetraction) -> int:
        cur = self.conn.execute(
            "INSERT INTO tie_point_retractions (tie_point_id, reason, user, time) "
            "VALUES (?, ?, ?, ?)", (r.tie_point_id, r.reason, r.user, r.time))
        return int(cur.lastrowid or 0)

    def points_of_interest(self) -> list[PointOfInterest]:
        return [PointOfInterest(int(r["rank"]), r["keyframe_id"], r["x"], r["y"], r["label"],
                                r["lon"], r["lat"], r["user"], r["time"], int(r["id"]),
                                r["uncertainty_m"], r["outside_hull"])
                for r in self.conn.execute("SELECT * FROM points_of_interest ORDER BY id")]

    def insert_point_of_interest(self, run_id: int, p: PointOfInterest) -> int:
        cur = self.conn.execute(
            "INSERT INTO points_of_interest (run_id, rank, keyframe_id, x, y, label, lon, "
            "lat, user, time, uncertainty_m, outside_hull) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, p.rank, p.keyframe_id, p.x, p.y, p.label, p.lon, p.lat, p.user, p.time,
             p.uncertainty_m, p.outside_hull))
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
        return Claim(r["text"], lonlat, area, r["user"], r["time"], r["claimed_time"],
                     r["category"])

    def replace_claim(self, c: Claim) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO claim (id, text, lonlat_json, area_json, user, time, "
            "claimed_time, category) VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
            (c.text, canonical_json(c.lonlat) if c.lonlat else None,
             canonical_json(c.area_geojson) if c.area_geojson else None, c.user, c.time,
             c.claimed_time, c.category))

    def shadows(self) -> list[ShadowRecord]:
        out = []
        for r in self.conn.execute("SELECT * FROM shadows ORDER BY id"):
            doc = self._json(r["measure_json"], "shadow")
            try:
                measure = ShadowMeasure.from_json(doc)
            except (KeyError, TypeError, ValueError) as exc:
                raise CaseCorruptError(f"stored shadow {r['id']} is malformed",
                                       self.path) from exc
            out.append(ShadowRecord(int(r["id"]), int(r["run_id"]), int(r["rank"]), measure,
                                    r["user"], r["time"]))
        return out

    def insert_shadow(self, s: ShadowRecord) -> int:
        cur = self.conn.execute(
            "INSERT INTO shadows (run_id, rank, keyframe_id, measure_json, user, time) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (s.run_id, s.rank, s.measure.keyframe_id, canonical_json(s.measure.to_json()),
             s.user, s.time))
        return int(cur.lastrowid or 0)

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
