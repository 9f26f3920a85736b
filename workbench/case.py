"""Case files: one portable SQLite file (``.wbcase``) holding a whole investigation.

A case holds the footage reference (path, SHA-256, probe metadata, optionally a
copy), the keyframes as lossless PNG blobs with their hashes and presentation
times, the reference rasters used (path, hash, CRS, footprint, acquisition date,
attribution), every locate run (the ``locate.json`` document), the current
candidates (with analyst-added tie points), the analyst's decisions, notes,
points of interest, the claim being tested with its context layers, and an
append-only, hash-chained audit log.

Crash safety: the database uses a rollback journal with ``synchronous=FULL``;
each mutation (confirm, note, ...) is one transaction, so killing the process at
any moment leaves the previous or the new state.  A case is created in a
temporary sibling file and renamed into place, so a half-created case never
appears under the final name.

Conventions: images are ``(H, W, 3) uint8`` **BGR**; masks ``(H, W) uint8``
with 255 on burned-in overlay; keyframe pixels ``(x, y)`` = (col, row) with the
centre of the top-left pixel at ``(0, 0)``; tile pixels the same in the raster's
level-0 grid; positions are WGS84 lon/lat.  Times are UTC ISO 8601
(``2026-11-24T23:40:00.123456Z``).

Typical use::

    with Case.open("strike.wbcase") as case:
        case.confirm(1, "matches the water tower and the road fork")
        print(case.decisions()[1].status)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .progress import CancelToken, ProgressCallback
from .results import KeyframeRef, LocateResult, VideoRef

if TYPE_CHECKING:
    from .verify import VerifyReport

CASE_SUFFIX = ".wbcase"

DecisionStatus = Literal["confirmed", "rejected"]


@dataclass(frozen=True)
class AuditEntry:
    """One append-only audit-log entry.

    ``time`` is UTC ISO 8601; ``action`` one of ``create``, ``locate``, ``confirm``,
    ``reject``, ``note``, ``keyframe``, ``tie_point``, ``point_of_interest``,
    ``claim``, ``context_layer``, ``migrate``; ``details`` says what changed
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


@dataclass(frozen=True)
class Decision:
    """The analyst's latest decision on one candidate rank."""

    rank: int
    status: DecisionStatus
    note: str
    user: str
    time: str


@dataclass(frozen=True)
class Note:
    """A free-text analyst note (not tied to a candidate)."""

    id: int
    text: str
    user: str
    time: str


@dataclass(frozen=True)
class RasterRecord:
    """A reference raster used by the case, as recorded at creation time.

    ``crs`` is WKT or ``EPSG:n``; ``transform`` the rasterio affine of level 0
    (pixel corners); ``footprint`` a closed WGS84 ``[[lon, lat], ...]`` ring.
    """

    path: str
    sha256: str
    size_bytes: int
    crs: str = ""
    transform: tuple[float, ...] = ()
    width: int = 0
    height: int = 0
    gsd_m: float = 0.0
    footprint: list[list[float]] = field(default_factory=list)
    acquired: str | None = None
    attribution: str | None = None


@dataclass(frozen=True)
class FootageRecord:
    """The source footage: ``video`` as probed, plus file facts at case creation."""

    video: VideoRef
    size_bytes: int
    name: str
    has_copy: bool


@dataclass(frozen=True)
class PointOfInterest:
    """An analyst-clicked point (e.g. the impact) on a candidate's keyframe, geolocated.

    ``x``, ``y``: keyframe pixel (col, row); ``lon``, ``lat``: WGS84 through the
    candidate's homography and tile grid.
    """

    rank: int
    keyframe_id: str
    x: float
    y: float
    label: str
    lon: float
    lat: float
    user: str
    time: str


@dataclass(frozen=True)
class TiePoint:
    """An analyst-added correspondence: keyframe pixel <-> tile level-0 pixel."""

    id: int
    rank: int
    keyframe_xy: tuple[float, float]
    tile_xy: tuple[float, float]
    user: str
    time: str


@dataclass(frozen=True)
class Claim:
    """The claim being tested.

    ``lonlat``: the claimed WGS84 point ``(lon, lat)``, if any; ``area_geojson``:
    a GeoJSON geometry (Polygon/MultiPolygon, lon/lat) of the claimed area, if any.
    """

    text: str
    lonlat: tuple[float, float] | None = None
    area_geojson: dict[str, Any] | None = None
    user: str = ""
    time: str = ""


@dataclass(frozen=True)
class ContextLayer:
    """A context layer (e.g. areas of control on a date) as a GeoJSON FeatureCollection.

    ``geojson`` is in WGS84 lon/lat (converted on import from GeoJSON, KML or
    GeoPackage); ``sha256`` is the hash of the source file when imported.
    """

    id: int
    name: str
    source_path: str
    sha256: str
    geojson: dict[str, Any]
    user: str
    time: str


class Case:
    """An open case file.  Use :meth:`create` / :meth:`open`, then :meth:`close` (or ``with``).

    Every mutating method is one SQLite transaction and appends one audit entry.
    Not thread-safe: use one ``Case`` per thread (the UI opens it on its worker).
    """

    path: Path

    # ---- lifecycle ---------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        video_path: str | os.PathLike[str],
        tiles: Sequence[str | os.PathLike[str]],
        result: LocateResult,
        keyframes_dir: str | os.PathLike[str],
        user: str | None = None,
        copy_video: bool = False,
        overwrite: bool = False,
    ) -> Case:
        """Create a new case file from a locate result; returns it open.

        Args:
            path: the ``.wbcase`` file to create (suffix added if missing).
            video_path: the original footage; hashed (SHA-256) and probed facts stored.
            tiles: the reference rasters; each is hashed and its metadata recorded
                (from ``result.tiles`` when catalogued there).
            result: the locate result to store as the first locate run.
            keyframes_dir: the folder ``KeyframeRef.image``/``mask`` are relative to
                (``locate(out_dir=...)``'s ``out_dir``); the PNGs are stored as blobs.
            user: the analyst name for the audit log (default ``getpass.getuser()``).
            copy_video: also store a byte copy of the footage inside the case.
            overwrite: replace an existing file at ``path`` (else ``CaseError``).

        Raises:
            OutputError: the folder is not writable. CaseError: ``path`` exists.
            CaseError: a keyframe PNG is missing or unreadable.
        """
        raise NotImplementedError

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, readonly: bool = False) -> Case:
        """Open an existing case; migrates an older schema in place (atomically).

        Raises:
            CaseOpenError: missing/unreadable file or not a workbench case.
            CaseCorruptError: damaged database (the file is left untouched).
            CaseVersionError: written by a newer schema version (names both versions).
        """
        raise NotImplementedError

    def close(self) -> None:
        """Close the database connection (idempotent)."""
        raise NotImplementedError

    def __enter__(self) -> Case:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---- read access -------------------------------------------------------

    @property
    def schema_version(self) -> int:
        """The case file's schema version (after migration)."""
        raise NotImplementedError

    @property
    def created(self) -> str:
        """UTC ISO time the case was created."""
        raise NotImplementedError

    @property
    def video(self) -> VideoRef:
        """The source footage reference (original path, SHA-256, fps, size, duration)."""
        raise NotImplementedError

    @property
    def footage(self) -> FootageRecord:
        """The footage reference with file facts (size, name, whether a copy is stored)."""
        raise NotImplementedError

    @property
    def result(self) -> LocateResult:
        """The latest locate result, with candidates as currently refined in the case
        (manual tie points applied) and manual keyframes appended."""
        raise NotImplementedError

    @property
    def keyframes(self) -> list[KeyframeRef]:
        """All keyframes (automatic and manual), in time order.  ``image``/``mask`` are ``None``:
        pixels come from :meth:`keyframe_image` / :meth:`keyframe_mask`."""
        raise NotImplementedError

    @property
    def rasters(self) -> list[RasterRecord]:
        """The reference rasters recorded in the case."""
        raise NotImplementedError

    def keyframe_image(self, keyframe_id: str) -> np.ndarray:
        """Decode a stored keyframe: ``(H, W, 3) uint8`` BGR.  ``KeyError`` if unknown."""
        raise NotImplementedError

    def keyframe_mask(self, keyframe_id: str) -> np.ndarray | None:
        """The keyframe's overlay mask ``(H, W) uint8`` (255 = overlay), or ``None``."""
        raise NotImplementedError

    def keyframe_png(self, keyframe_id: str) -> bytes:
        """The stored lossless PNG bytes of a keyframe (hash = ``KeyframeRef.sha256``)."""
        raise NotImplementedError

    def decisions(self) -> dict[int, Decision]:
        """The latest decision per candidate rank (ranks without one are absent)."""
        raise NotImplementedError

    def notes(self) -> list[Note]:
        """Free-text notes, oldest first."""
        raise NotImplementedError

    def tie_points(self, rank: int | None = None) -> list[TiePoint]:
        """Analyst-added tie points (all, or for one rank), oldest first."""
        raise NotImplementedError

    def points_of_interest(self) -> list[PointOfInterest]:
        """Geolocated analyst points, oldest first."""
        raise NotImplementedError

    def claim(self) -> Claim | None:
        """The claim being tested, or ``None``."""
        raise NotImplementedError

    def context_layers(self) -> list[ContextLayer]:
        """Context layers in import order."""
        raise NotImplementedError

    def audit_log(self) -> list[AuditEntry]:
        """The whole audit log, oldest first."""
        raise NotImplementedError

    # ---- analyst actions (each one transaction + one audit entry) ----------

    def confirm(self, rank: int, note: str, user: str | None = None) -> Decision:
        """Confirm candidate ``rank`` with a justification note.  ``UsageError`` if no such rank."""
        raise NotImplementedError

    def reject(self, rank: int, note: str, user: str | None = None) -> Decision:
        """Reject candidate ``rank`` with a note.  ``UsageError`` if no such rank."""
        raise NotImplementedError

    def add_note(self, text: str, user: str | None = None) -> Note:
        """Add a free-text note (``UsageError`` if empty)."""
        raise NotImplementedError

    def add_keyframe(
        self,
        frame_index: int,
        time_s: float,
        image: np.ndarray,
        mask: np.ndarray | None = None,
        user: str | None = None,
    ) -> KeyframeRef:
        """Store a manual keyframe (analyst-picked frame) as lossless PNG.

        Args:
            image: ``(H, W, 3) uint8`` BGR frame at full resolution.
            mask: ``(H, W) uint8`` overlay mask (255 = overlay) or ``None``.
        Returns the new ``KeyframeRef`` (id ``m0001``...; sha256 of the PNG bytes).
        """
        raise NotImplementedError

    def add_tie_point(
        self,
        rank: int,
        keyframe_xy: tuple[float, float],
        tile_xy: tuple[float, float],
        user: str | None = None,
    ) -> TiePoint:
        """Add a manual correspondence to candidate ``rank`` and refit its location.

        ``keyframe_xy`` is a keyframe pixel of the candidate's keyframe; ``tile_xy`` a
        level-0 pixel of the candidate's tile.  The homography is refitted by least
        squares over all its correspondences; the audit entry records old and new
        position.
        """
        raise NotImplementedError

    def set_point_of_interest(
        self, rank: int, x: float, y: float, label: str, user: str | None = None
    ) -> PointOfInterest:
        """Geolocate keyframe pixel ``(x, y)`` of candidate ``rank`` and record it."""
        raise NotImplementedError

    def set_claim(
        self,
        text: str,
        lonlat: tuple[float, float] | None = None,
        area_geojson: dict[str, Any] | None = None,
        user: str | None = None,
    ) -> Claim:
        """Record (or replace) the claim being tested.

        ``lonlat`` is ``(lon, lat)`` WGS84; ``area_geojson`` a GeoJSON Polygon/
        MultiPolygon geometry (or Feature) in lon/lat.  ``UsageError`` on bad values.
        """
        raise NotImplementedError

    def add_context_layer(
        self,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        user: str | None = None,
    ) -> ContextLayer:
        """Import polygons from a GeoJSON, KML or GeoPackage file (stored as WGS84 GeoJSON).

        Raises ``CaseError`` subclasses naming the file when it cannot be read.
        """
        raise NotImplementedError

    def add_locate_run(self, result: LocateResult, keyframes_dir: str | os.PathLike[str],
                       user: str | None = None) -> None:
        """Store a new locate run (e.g. re-run with manual keyframes); it becomes ``result``."""
        raise NotImplementedError


def new_case(
    path: str | os.PathLike[str],
    video: str | os.PathLike[str],
    tiles: Sequence[str | os.PathLike[str]],
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    user: str | None = None,
    target_xy: tuple[float, float] | None = None,
    config: Any = None,
    copy_video: bool = False,
) -> Case:
    """Run ``workbench.locate.locate`` on ``video`` against ``tiles`` and store it all in a
    new case at ``path``; returns the open case.  Nothing is left at ``path`` on error or
    cancel.  Raises ``OutputError`` before any work if the folder is not writable."""
    raise NotImplementedError


def verify_case(path: str | os.PathLike[str]) -> VerifyReport:
    """Re-hash footage, keyframes and rasters and recompute confirmed locations.

    Returns a :class:`workbench.verify.VerifyReport` (``ok`` flag + precise findings).
    See :mod:`workbench.verify`.
    """
    from .verify import verify_case as _verify

    return _verify(path)
