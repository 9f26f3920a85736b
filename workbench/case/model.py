"""Plain records returned by :class:`workbench.case.Case` (decisions, notes, claim, audit
entries...): the bottom of the case package, imported by its implementation.

Times are UTC ISO 8601 strings; positions WGS84; keyframe pixels ``(x, y)`` =
(col, row) with the centre of the top-left pixel at ``(0, 0)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from workbench.claim import ShadowMeasure
from workbench.results import KeyframeRef, VideoRef

DecisionStatus = Literal["confirmed", "rejected"]


@dataclass(frozen=True)
class Decision:
    """The analyst's latest decision on one candidate rank."""

    rank: int
    status: DecisionStatus
    note: str
    user: str
    time: str
    run_id: int = 0  # the locate run it applies to (decisions apply per run)


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
    ref_path: str = ""  # the path as the locate result names it (Candidate.tile)
    sidecars: dict[str, str] = field(default_factory=dict)  # sidecar path -> SHA-256
    # True: ``sidecars`` also covers a VRT's members' own files (cases recorded from
    # 2026-12-03 on); False: the raster's direct files only (older cases)
    sidecars_recursive: bool = False


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
    candidate's homography and tile grid (:func:`workbench.position.pixel_position`).
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
    id: int = 0
    # 1-sigma radius (m) and distance outside the tie points' hull (hull diameters) from
    # workbench.position when the point was recorded; kept in its audit entry (None: not
    # estimated, or read back from the points_of_interest table, which has no column yet)
    uncertainty_m: float | None = None
    outside_hull: float | None = None


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
class TieRetraction:
    """The analyst withdrew tie point ``tie_point_id`` (append-only; the tie point stays
    on record, it no longer enters the fit)."""

    id: int
    tie_point_id: int
    reason: str
    user: str
    time: str


@dataclass(frozen=True)
class TieResidual:
    """How far an active tie point lies from the candidate's current fit: its keyframe
    pixel mapped through the homography vs the tile pixel the analyst clicked, in
    level-0 tile pixels and in metres on the ground (pixels x the raster's GSD)."""

    tie: TiePoint
    residual_px: float
    residual_m: float


@dataclass(frozen=True)
class Claim:
    """The claim being tested.

    ``lonlat``: the claimed WGS84 point ``(lon, lat)``, if any; ``area_geojson``:
    a GeoJSON geometry (Polygon/MultiPolygon, lon/lat) of the claimed area, if any;
    ``claimed_time``: when the claim says it happened, ISO 8601 with its zone, if any;
    ``category``: what the claim says the target was (e.g. "Islamic State target").
    ``user``/``time``: who recorded the claim, and when (UTC).
    """

    text: str
    lonlat: tuple[float, float] | None = None
    area_geojson: dict[str, Any] | None = None
    user: str = ""
    time: str = ""
    claimed_time: str | None = None
    category: str | None = None


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


@dataclass(frozen=True)
class ShadowRecord:
    """A shadow the analyst marked in candidate ``rank``'s keyframe (locate run
    ``run_id``), measured through its homography (see :mod:`workbench.claim.shadow`)."""

    id: int
    run_id: int
    rank: int
    measure: ShadowMeasure
    user: str
    time: str


@dataclass(frozen=True)
class FootageSource:
    """Where the footage was obtained, as entered by the analyst (Berkeley Protocol).

    ``url`` and/or ``channel`` (e.g. a Telegram channel); ``obtained``: when it was
    captured or downloaded, ISO 8601 with its zone; ``archive_*``: the archived copy
    (local path, file name, SHA-256, size in bytes) if one was named; ``user``/``time``:
    who entered it, and when (UTC).  The last record of a case is the current one.
    """

    id: int
    url: str | None
    channel: str | None
    obtained: str | None
    archive_path: str | None
    archive_name: str | None
    archive_sha256: str | None
    archive_size: int | None
    note: str | None
    user: str
    time: str


@dataclass(frozen=True)
class ImageryMeta:
    """Imagery provenance entered by the analyst for one raster (keyed by its SHA-256):
    acquisition date (``YYYY[-MM[-DD]]`` or ISO 8601 date-time), attribution, ground
    sample distance in metres; ``None`` = not entered.  The last record per raster wins."""

    id: int
    raster_sha256: str
    raster_path: str
    acquired: str | None
    attribution: str | None
    gsd_m: float | None
    user: str
    time: str


@dataclass(frozen=True)
class AuditEntry:
    """One append-only audit-log entry.

    ``time`` is UTC ISO 8601; ``action`` one of ``create``, ``locate``, ``confirm``,
    ``reject``, ``note``, ``keyframe``, ``tie_point``, ``point_of_interest``,
    ``claim``, ``context_layer``, ``shadow``, ``source``, ``imagery_meta``, ``relink``,
    ``migrate``, ``sign``, ``timestamp``; ``details`` says what changed
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
class SignatureRecord:
    """An audit head signed by an analyst's key (see :mod:`workbench.case.anchor`).

    ``seq``/``head_hash``: the audit entry signed and its chain hash; ``public_key``:
    the raw Ed25519 public key, hex; ``fingerprint``: ``SHA256:`` + hex of its SHA-256;
    ``signature``: hex of the Ed25519 signature over :func:`~workbench.case.anchor.
    anchor_message`.
    """

    id: int
    seq: int
    head_hash: str
    case_id: str
    algorithm: str
    public_key: str
    fingerprint: str
    signature: str
    user: str
    time: str


@dataclass(frozen=True)
class TimestampRecord:
    """An RFC 3161 time-stamp token (DER) imported for signature ``signature_id``."""

    id: int
    signature_id: int
    token: bytes
    user: str
    time: str


@dataclass(frozen=True)
class KeyframeBlob:
    """A keyframe ready to store: lossless PNG bytes of a BGR image, optional mask PNG."""

    ref: KeyframeRef
    png: bytes
    sha256: str
    width: int
    height: int
    mask_png: bytes | None
    mask_sha256: str | None
