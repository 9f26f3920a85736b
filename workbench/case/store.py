"""Read access to an open case database (the base of :class:`workbench.case.Case`).

Images are ``(H, W, 3) uint8`` BGR; masks ``(H, W) uint8`` (255 = overlay);
positions WGS84 lon/lat; times UTC ISO 8601.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from workbench.case import audit
from workbench.case.ingest import decode_png
from workbench.case.model import (
    Claim,
    ContextLayer,
    Decision,
    FootageRecord,
    Note,
    PointOfInterest,
    RasterRecord,
    TiePoint,
)
from workbench.errors import CaseCorruptError, UsageError
from workbench.results import Candidate, KeyframeRef, LocateResult, ResultFormatError, VideoRef


class CaseStore:
    """Read-only queries over an open case connection."""

    path: Path
    readonly: bool
    _conn: sqlite3.Connection | None

    # ---- plumbing ----------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise UsageError("case is closed", self.path)
        return self._conn

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One atomic write transaction (rolled back on any exception)."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _meta(self, key: str) -> str:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row["value"]) if row else ""

    def _run_id(self) -> int:
        row = self.conn.execute("SELECT MAX(id) AS id FROM locate_runs").fetchone()
        if row is None or row["id"] is None:
            raise CaseCorruptError("case has no locate run", self.path)
        return int(row["id"])

    def _json(self, text: str, what: str) -> Any:
        try:
            return json.loads(text)
        except (TypeError, ValueError) as exc:
            raise CaseCorruptError(f"stored {what} is not valid JSON", self.path) from exc

    # ---- facts -------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        """The case file's schema version (after migration)."""
        return int(self._meta("schema_version") or 0)

    @property
    def created(self) -> str:
        """UTC ISO time the case was created."""
        return self._meta("created")

    @property
    def software(self) -> str:
        """The software (name and version) that created the case."""
        return self._meta("software")

    @property
    def footage(self) -> FootageRecord:
        """The footage reference with file facts (size, name, whether a copy is stored)."""
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

    @property
    def video(self) -> VideoRef:
        """The source footage reference (original path, SHA-256, fps, size, duration)."""
        return self.footage.video

    def footage_copy(self) -> bytes | None:
        """The stored byte copy of the footage, if the case was created with one."""
        row = self.conn.execute("SELECT copy FROM footage WHERE id = 1").fetchone()
        return bytes(row["copy"]) if row is not None and row["copy"] is not None else None

    @property
    def rasters(self) -> list[RasterRecord]:
        """The reference rasters recorded in the case."""
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

    def raster_for(self, tile: str) -> RasterRecord | None:
        """The raster record a candidate's ``tile`` path refers to (by path, then name)."""
        recs = self.rasters
        for r in recs:
            if tile in (r.ref_path, r.path):
                return r
        with contextlib.suppress(OSError):
            resolved = str(Path(tile).resolve())
            for r in recs:
                if r.path == resolved:
                    return r
        return next((r for r in recs if Path(r.path).name == Path(tile).name), None)

    # ---- keyframes ---------------------------------------------------------

    @property
    def keyframes(self) -> list[KeyframeRef]:
        """All keyframes (automatic and manual), in time order.  ``image``/``mask`` are
        ``None``: pixels come from :meth:`keyframe_image` / :meth:`keyframe_mask`."""
        return [KeyframeRef(r["id"], int(r["frame_index"]), float(r["time_s"]), r["sha256"],
                            float(r["sharpness"]))
                for r in self.conn.execute(
                    "SELECT id, frame_index, time_s, sha256, sharpness FROM keyframes "
                    "ORDER BY time_s, id")]

    def keyframe_info(self, keyframe_id: str) -> dict[str, Any]:
        """Stored facts of a keyframe: ``width``, ``height``, ``manual``, ``added``,
        ``mask_sha256``.  ``KeyError`` if unknown."""
        r = self.conn.execute("SELECT width, height, manual, added, mask_sha256 FROM keyframes "
                              "WHERE id = ?", (keyframe_id,)).fetchone()
        if r is None:
            raise KeyError(keyframe_id)
        return {"width": int(r["width"]), "height": int(r["height"]),
                "manual": bool(r["manual"]), "added": r["added"],
                "mask_sha256": r["mask_sha256"]}

    def keyframe_png(self, keyframe_id: str) -> bytes:
        """The stored lossless PNG bytes of a keyframe.  ``KeyError`` if unknown."""
        r = self.conn.execute("SELECT png FROM keyframes WHERE id = ?", (keyframe_id,)).fetchone()
        if r is None:
            raise KeyError(keyframe_id)
        return bytes(r["png"])

    def keyframe_image(self, keyframe_id: str) -> np.ndarray:
        """Decode a stored keyframe: ``(H, W, 3) uint8`` BGR.  ``KeyError`` if unknown."""
        return decode_png(self.keyframe_png(keyframe_id), grey=False,
                          what=f"{self.path}: keyframe {keyframe_id}")

    def keyframe_mask(self, keyframe_id: str) -> np.ndarray | None:
        """The keyframe's overlay mask ``(H, W) uint8`` (255 = overlay), or ``None``."""
        r = self.conn.execute("SELECT mask_png FROM keyframes WHERE id = ?",
                              (keyframe_id,)).fetchone()
        if r is None:
            raise KeyError(keyframe_id)
        if r["mask_png"] is None:
            return None
        return decode_png(bytes(r["mask_png"]), grey=True,
                          what=f"{self.path}: mask of {keyframe_id}")

    # ---- results -----------------------------------------------------------

    def candidates(self) -> list[Candidate]:
        """The latest run's candidates as currently refined (manual tie points applied)."""
        run = self._run_id()
        out = []
        for r in self.conn.execute("SELECT doc FROM candidates WHERE run_id = ? ORDER BY rank",
                                   (run,)):
            try:
                out.append(Candidate(**self._json(r["doc"], "candidate")))
            except TypeError as exc:
                raise CaseCorruptError(f"stored candidate is malformed ({exc})",
                                       self.path) from exc
        return out

    def candidate(self, rank: int) -> Candidate:
        """Candidate ``rank`` of the latest run; ``UsageError`` if there is none."""
        for c in self.candidates():
            if c.rank == rank:
                return c
        ranks = ", ".join(str(c.rank) for c in self.candidates()) or "none"
        raise UsageError(f"no candidate with rank {rank} (ranks: {ranks})", self.path)

    @property
    def result(self) -> LocateResult:
        """The latest locate result, with candidates as currently refined in the case
        (manual tie points applied) and manual keyframes appended."""
        run = self._run_id()
        row = self.conn.execute("SELECT doc FROM locate_runs WHERE id = ?", (run,)).fetchone()
        try:
            res = LocateResult.from_json(self._json(row["doc"], "locate result"))
        except ResultFormatError as exc:
            raise CaseCorruptError(f"stored locate result is malformed ({exc.message})",
                                   self.path) from exc
        res.candidates = self.candidates()
        known = {k.id for k in res.keyframes}
        res.keyframes = [*res.keyframes, *(k for k in self.keyframes if k.id not in known)]
        return res

    def locate_runs(self) -> list[tuple[int, str]]:
        """``[(run id, UTC time), ...]`` oldest first."""
        return [(int(r["id"]), str(r["time"]))
                for r in self.conn.execute("SELECT id, time FROM locate_runs ORDER BY id")]

    # ---- analyst records ---------------------------------------------------

    def decisions(self) -> dict[int, Decision]:
        """The latest decision per candidate rank of the latest run (undecided ranks absent)."""
        out: dict[int, Decision] = {}
        for r in self.conn.execute(
                "SELECT rank, status, note, user, time FROM decisions WHERE run_id = ? "
                "ORDER BY id", (self._run_id(),)):
            out[int(r["rank"])] = Decision(int(r["rank"]), r["status"], r["note"], r["user"],
                                           r["time"])
        return out

    def notes(self) -> list[Note]:
        """Free-text notes, oldest first."""
        return [Note(int(r["id"]), r["text"], r["user"], r["time"])
                for r in self.conn.execute("SELECT id, text, user, time FROM notes ORDER BY id")]

    def tie_points(self, rank: int | None = None) -> list[TiePoint]:
        """Analyst-added tie points of the latest run (all, or for one rank), oldest first."""
        q = "SELECT * FROM tie_points WHERE run_id = ?"
        args: tuple[int, ...] = (self._run_id(),)
        if rank is not None:
            q += " AND rank = ?"
            args = (*args, rank)
        return [TiePoint(int(r["id"]), int(r["rank"]), (r["kx"], r["ky"]), (r["tx"], r["ty"]),
                         r["user"], r["time"])
                for r in self.conn.execute(q + " ORDER BY id", args)]

    def points_of_interest(self) -> list[PointOfInterest]:
        """Geolocated analyst points, oldest first."""
        return [PointOfInterest(int(r["rank"]), r["keyframe_id"], r["x"], r["y"], r["label"],
                                r["lon"], r["lat"], r["user"], r["time"])
                for r in self.conn.execute("SELECT * FROM points_of_interest ORDER BY id")]

    def claim(self) -> Claim | None:
        """The claim being tested, or ``None``."""
        r = self.conn.execute("SELECT * FROM claim WHERE id = 1").fetchone()
        if r is None:
            return None
        ll = self._json(r["lonlat_json"], "claim") if r["lonlat_json"] else None
        area = self._json(r["area_json"], "claim area") if r["area_json"] else None
        return Claim(r["text"], (float(ll[0]), float(ll[1])) if ll else None, area,
                     r["user"], r["time"])

    def context_layers(self) -> list[ContextLayer]:
        """Context layers in import order."""
        return [ContextLayer(int(r["id"]), r["name"], r["source_path"], r["sha256"],
                             self._json(r["geojson"], "context layer"), r["user"], r["time"])
                for r in self.conn.execute("SELECT * FROM context_layers ORDER BY id")]

    def audit_log(self) -> list[audit.AuditEntry]:
        """The whole audit log, oldest first."""
        return audit.read_all(self.conn)
