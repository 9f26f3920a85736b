"""Read access to an open case (the base of :class:`workbench.case.Case`).

Every query goes through :class:`workbench.case.store.CaseDB`.  Images are
``(H, W, 3) uint8`` BGR; masks ``(H, W) uint8`` (255 = overlay); positions WGS84
lon/lat; times UTC ISO 8601.  An unknown keyframe id raises
:class:`~workbench.errors.CaseRecordNotFoundError` (also a ``KeyError``).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np

from workbench.case.ingest import decode_png
from workbench.case.model import (
    AuditEntry,
    Claim,
    ContextLayer,
    Decision,
    FootageRecord,
    FootageSource,
    ImageryMeta,
    Note,
    PointOfInterest,
    RasterRecord,
    ShadowRecord,
    SignatureRecord,
    TiePoint,
    TieRetraction,
    TimestampRecord,
)
from workbench.case.store import CaseDB
from workbench.case.store.evidence import RowDigest
from workbench.errors import CaseCorruptError, CaseError, UsageError
from workbench.results import Candidate, KeyframeRef, LocateResult, ResultFormatError, VideoRef


class CaseView:
    """Read-only queries over an open case; ``analyst`` is who the case was opened by."""

    def __init__(self, path: Path, db: CaseDB, readonly: bool, analyst: str) -> None:
        self.path = path
        self._db = db
        self.readonly = readonly
        self.analyst = analyst  # every audit entry written through this object names them

    # ---- facts -------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        """The case file's schema version (after migration)."""
        return int(self._db.meta("schema_version") or 0)

    @property
    def created(self) -> str:
        """UTC ISO time the case was created."""
        return self._db.meta("created")

    @property
    def software(self) -> str:
        """The software (name and version) that created the case."""
        return self._db.meta("software")

    @property
    def footage(self) -> FootageRecord:
        """The footage reference with file facts (size, name, whether a copy is stored)."""
        return self._db.footage()

    @property
    def video(self) -> VideoRef:
        """The source footage reference (original path, SHA-256, fps, size, duration)."""
        return self.footage.video

    def footage_copy(self) -> bytes | None:
        """The stored byte copy of the footage, if the case was created with one."""
        return self._db.footage_copy()

    @property
    def rasters(self) -> list[RasterRecord]:
        """The reference rasters recorded in the case."""
        return self._db.rasters()

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

    def _grid(self, tile: str) -> RasterRecord:
        """The raster record of ``tile`` with its georeferencing (``CaseError`` without)."""
        rec = self.raster_for(tile)
        if rec is None or len(rec.transform) < 6 or not rec.crs:
            raise CaseError(f"no georeferencing recorded for raster {tile!r}", self.path)
        return rec

    @property
    def keyframes(self) -> list[KeyframeRef]:
        """All keyframes (automatic and manual), in time order.  ``image``/``mask`` are
        ``None``: pixels come from :meth:`keyframe_image` / :meth:`keyframe_mask`."""
        return self._db.keyframes()

    def keyframe_info(self, keyframe_id: str) -> dict[str, Any]:
        """Stored facts of a keyframe: ``width``, ``height``, ``manual``, ``added``,
        ``mask_sha256``."""
        return self._db.keyframe_info(keyframe_id)

    def keyframe_png(self, keyframe_id: str) -> bytes:
        """The stored lossless PNG bytes of a keyframe."""
        return self._db.keyframe_png(keyframe_id)

    def keyframe_mask_png(self, keyframe_id: str) -> bytes | None:
        """The stored PNG bytes of a keyframe's overlay mask, or ``None``."""
        return self._db.keyframe_mask_png(keyframe_id)

    def keyframe_image(self, keyframe_id: str) -> np.ndarray:
        """Decode a stored keyframe: ``(H, W, 3) uint8`` BGR."""
        return decode_png(self.keyframe_png(keyframe_id), grey=False,
                          what=f"{self.path}: keyframe {keyframe_id}")

    def keyframe_mask(self, keyframe_id: str) -> np.ndarray | None:
        """The keyframe's overlay mask ``(H, W) uint8`` (255 = overlay), or ``None``."""
        png = self.keyframe_mask_png(keyframe_id)
        return None if png is None else decode_png(png, grey=True,
                                                   what=f"{self.path}: mask of {keyframe_id}")

    # ---- results -----------------------------------------------------------

    def candidates(self) -> list[Candidate]:
        """The latest run's candidates as currently refined (manual tie points applied)."""
        return self._db.candidates(self._db.latest_run_id())

    def candidate(self, rank: int) -> Candidate:
        """Candidate ``rank`` of the latest run; ``UsageError`` if there is none."""
        cands = self.candidates()
        for c in cands:
            if c.rank == rank:
                return c
        ranks = ", ".join(str(c.rank) for c in cands) or "none"
        raise UsageError(f"no candidate with rank {rank} (ranks: {ranks})", self.path)

    def locate_run(self, run_id: int | None = None) -> LocateResult:
        """A locate run (default: the latest) exactly as the engine stored it: candidates
        before any manual tie point, automatic keyframes only."""
        run = self._db.latest_run_id() if run_id is None else run_id
        try:
            return LocateResult.from_json(self._db.run_doc(run))
        except ResultFormatError as exc:
            raise CaseCorruptError(f"stored locate result is malformed ({exc.message})",
                                   self.path) from exc

    @property
    def result(self) -> LocateResult:
        """The latest locate result, with candidates as currently refined in the case
        (manual tie points applied) and manual keyframes appended."""
        res = self.locate_run()
        res.candidates = self.candidates()
        known = {k.id for k in res.keyframes}
        res.keyframes = [*res.keyframes, *(k for k in self.keyframes if k.id not in known)]
        return res

    def locate_runs(self) -> list[tuple[int, str]]:
        """``[(run id, UTC time), ...]`` oldest first."""
        return self._db.locate_runs()

    # ---- analyst records ---------------------------------------------------

    def decisions(self) -> dict[int, Decision]:
        """The latest decision per candidate rank of the latest run (undecided ranks absent)."""
        return {d.rank: d for d in self._db.decisions(self._db.latest_run_id())}

    def decision_history(self) -> list[Decision]:
        """Every decision ever recorded, all runs, oldest first."""
        return self._db.decisions()

    def notes(self) -> list[Note]:
        """Free-text notes, oldest first."""
        return self._db.notes()

    def tie_points(self, rank: int | None = None, *,
                   include_retracted: bool = False) -> list[TiePoint]:
        """Analyst-added tie points of the latest run (all, or for one rank), oldest first;
        the retracted ones only with ``include_retracted``."""
        return self._db.tie_points(self._db.latest_run_id(), rank,
                                   include_retracted=include_retracted)

    def tie_point_retractions(self) -> list[TieRetraction]:
        """Withdrawn tie points (append-only records with the analyst's reason)."""
        return self._db.tie_point_retractions()

    def points_of_interest(self) -> list[PointOfInterest]:
        """Geolocated analyst points, oldest first."""
        return self._db.points_of_interest()

    def claim(self) -> Claim | None:
        """The claim being tested, or ``None``."""
        return self._db.claim()

    def shadows(self) -> list[ShadowRecord]:
        """Every shadow the analyst measured, oldest first."""
        return self._db.shadows()

    def context_layers(self) -> list[ContextLayer]:
        """Context layers in import order."""
        return self._db.context_layers()

    def footage_sources(self) -> list[FootageSource]:
        """Where the footage was obtained, every record oldest first (last = current)."""
        return self._db.footage_sources()

    def footage_source(self) -> FootageSource | None:
        """The current footage-source record, or ``None`` if none was entered."""
        rows = self._db.footage_sources()
        return rows[-1] if rows else None

    def imagery_meta(self) -> dict[str, ImageryMeta]:
        """Analyst-entered imagery provenance: raster SHA-256 -> its latest record."""
        return {m.raster_sha256: m for m in self._db.imagery_meta()}

    def audit_log(self) -> list[AuditEntry]:
        """The whole audit log, oldest first."""
        return self._db.audit_entries()

    # ---- evidence (what verify compares; see workbench.case.store.evidence) ----

    @property
    def case_id(self) -> str:
        """The case's identity (a UUID, schema 4 on; bound into its signatures)."""
        return self._db.meta("case_id")

    def row_digests(self) -> dict[str, RowDigest]:
        """``"table/id" -> (row digest, field digests)`` of every evidence row now."""
        return self._db.row_digests()

    def recorded_row_digests(self) -> dict[int, dict[str, RowDigest]]:
        """The row digests each audit entry recorded: ``seq -> {"table/id": ...}``."""
        return self._db.recorded_row_digests()

    def row_times(self) -> dict[str, list[str]]:
        """``table -> [UTC time of each row]`` (``keyframes``: ids; ``locate_runs.id``)."""
        return self._db.row_times()

    def schema_problems(self) -> list[tuple[str, str]]:
        """Differences from the schema this software creates (dropped/planted triggers)."""
        return self._db.schema_problems()

    def signatures(self) -> list[SignatureRecord]:
        """Signed audit heads, oldest first."""
        return self._db.signatures()

    def timestamps(self) -> list[TimestampRecord]:
        """Imported RFC 3161 time-stamp tokens, oldest first."""
        return self._db.timestamps()
