"""Locate results: the contract between the engine, the case file, reports and the UI.

A :class:`LocateResult` serialises to ``locate.json`` (schema
``workbench.locate/1``).  Its required fields are the CLI contract other tools
depend on; the extra fields (homography, tile transform, correspondences) let a
third party recompute every location from the stored tie points.

Minor revisions (``schema_minor``, :data:`SCHEMA_MINOR`) only *add* top-level keys, so
a reader of an earlier minor, which builds its objects from the keys it knows, keeps
working; objects nested in the earlier keys (candidates, keyframes, tiles) never gain
keys, except the free-form ``target``, ``scores`` and ``method`` dicts.  Minor 1 adds
``shots`` (per-shot verdicts and keyframe placements, :class:`ShotResult`) and
``uncertainty`` (each candidate's radius by parts).  This reader accepts any minor of
schema 1 and ignores keys it does not know.  See ``docs/locate-json.md``.

Pixel convention everywhere here: ``(x, y)`` = (column, row) with the *centre*
of the top-left pixel at ``(0, 0)`` (OpenCV's convention), ``float64``.
Keyframe pixels are in the keyframe's full-resolution grid; tile pixels in the
raster's full-resolution grid (overview level 0).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from workbench.errors import WorkbenchError

SCHEMA = "workbench.locate/1"
SCHEMA_MINOR = 1
Verdict = Literal["located", "ambiguous", "not_located"]
VERDICTS: tuple[str, ...] = ("located", "ambiguous", "not_located")


class ResultFormatError(WorkbenchError, ValueError):
    """A ``locate.json`` document is malformed or of an unknown schema."""


@dataclass(frozen=True)
class VideoRef:
    """The footage a result is about (metadata as probed, hash of the original file)."""

    path: str
    sha256: str
    fps: float
    width: int
    height: int
    duration_s: float
    frame_count: int = 0
    codec: str = ""


@dataclass(frozen=True)
class KeyframeRef:
    """A keyframe used for matching.  ``image``/``mask`` are paths relative to the output folder."""

    id: str
    frame_index: int
    time_s: float
    sha256: str
    sharpness: float = 0.0
    image: str | None = None
    mask: str | None = None


@dataclass(frozen=True)
class TileRef:
    """A reference raster as catalogued.

    ``crs`` is WKT (or an ``EPSG:n`` string); ``transform`` is the rasterio affine
    ``(a, b, c, d, e, f)`` of overview level 0 mapping pixel *corner* coordinates to
    CRS coordinates; ``footprint`` is a closed WGS84 ``[[lon, lat], ...]`` ring.
    """

    path: str
    sha256: str
    crs: str
    transform: tuple[float, float, float, float, float, float]
    width: int
    height: int
    gsd_m: float
    footprint: list[list[float]]
    acquired: str | None = None
    attribution: str | None = None


@dataclass
class Candidate:
    """One candidate location: a keyframe matched onto a tile.

    ``lat``/``lon``: WGS84 ground position of the keyframe's image centre.
    ``homography``: 3x3 row-major, keyframe pixel -> tile pixel.
    ``keyframe_xy``/``tile_xy``: the inlier tie points, ``[[x, y], ...]`` each.
    ``confidence`` in ``[0, 1]``; ``uncertainty_m`` a 1-sigma-ish radius in metres.
    ``target``: the geolocated ``--target`` pixel: ``{"x", "y", "lat", "lon"}``.
    """

    rank: int
    lat: float
    lon: float
    confidence: float
    uncertainty_m: float
    keyframe_id: str
    tile: str
    inliers: int
    footprint: list[list[float]]
    homography: list[list[float]] = field(default_factory=list)
    keyframe_xy: list[list[float]] = field(default_factory=list)
    tile_xy: list[list[float]] = field(default_factory=list)
    supporting_keyframes: list[str] = field(default_factory=list)
    target: dict[str, float] | None = None
    scores: dict[str, float] = field(default_factory=dict)


@dataclass
class Placement:
    """One keyframe of a located shot placed on the ground.

    ``lon``/``lat``: WGS84 of the keyframe's centre pixel; ``uncertainty``: its radius
    by parts (``{"radius_m", "radius_2sigma_m", "components": {"match_m",
    "extrapolation_m", "imagery_m"}, "imagery_source"}``, metres, 1-sigma unless named);
    ``homography``: 3x3 keyframe px -> level-0 px of ``tile``; ``via``: ``None`` when the
    keyframe itself was matched to the imagery, else the wider keyframe of the same shot it
    was placed through (extreme zoom), ``via_homography`` mapping this keyframe's px ->
    that keyframe's px; ``target``: the ``--target`` pixel placed through it.
    """

    keyframe: str
    lon: float
    lat: float
    tile: str
    homography: list[list[float]]
    uncertainty: dict[str, Any] = field(default_factory=dict)
    via: str | None = None
    via_homography: list[list[float]] | None = None
    target: dict[str, float] | None = None


@dataclass
class ShotResult:
    """What one shot of the footage shows.

    ``shot``: the keyframe pass's shot index (``-1``: unknown, e.g. keyframes saved
    without shots); ``keyframes``: the ids matched from this shot; ``verdict``: this
    shot's own verdict; ``candidate_rank``: the candidate that is this shot's place
    (``None``: no place); ``confidence``: of that place, from this shot's keyframes
    alone; ``placements``: the shot's keyframes placed at it (located shots only);
    ``start_frame``/``end_frame``: the shot's frames ``[start, end)`` when the keyframe
    pass found them (``None``: not known), so keyframes picked later get their shot.
    """

    shot: int
    keyframes: list[str]
    verdict: Verdict
    candidate_rank: int | None
    confidence: float = 0.0
    reason: str = ""
    placements: list[Placement] = field(default_factory=list)
    start_frame: int | None = None
    end_frame: int | None = None


@dataclass
class LocateResult:
    """Everything ``workbench locate`` found, ready for ``locate.json``."""

    verdict: Verdict
    video: VideoRef
    keyframes: list[KeyframeRef]
    candidates: list[Candidate]
    tiles: list[TileRef] = field(default_factory=list)
    timing_s: dict[str, float] = field(default_factory=dict)
    reason: str = ""
    method: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    shots: list[ShotResult] = field(default_factory=list)
    uncertainty: list[dict[str, Any]] = field(default_factory=list)  # {"rank", ...} by parts
    schema: str = SCHEMA
    schema_minor: int = SCHEMA_MINOR

    def best(self) -> Candidate | None:
        """The rank-1 candidate, or ``None``."""
        return self.candidates[0] if self.candidates else None

    def tile(self, path: str) -> TileRef | None:
        """The catalogued :class:`TileRef` with this path, or ``None``."""
        return next((t for t in self.tiles if t.path == path), None)

    def shot_of_keyframe(self) -> dict[str, int]:
        """Keyframe id -> its shot index, as recorded in ``shots`` (empty before minor 1)."""
        return {k: s.shot for s in self.shots for k in s.keyframes}

    def uncertainty_of(self, rank: int) -> dict[str, Any] | None:
        """Candidate ``rank``'s radius by parts (the ``uncertainty`` entry), or ``None``."""
        return next((u for u in self.uncertainty if u.get("rank") == rank), None)

    def imagery_accuracy_of(self, rank: int) -> tuple[float | None, str]:
        """The reference imagery's stated 1-sigma accuracy in metres, and where it came
        from, that candidate ``rank``'s radius includes: ``(None, "")`` when none was
        stated.  Every other position found through the candidate (a clicked pixel,
        ``case point``, a refitted target) includes the same part."""
        entry = self.uncertainty_of(rank) or {}
        parts = entry.get("components")
        v = parts.get("imagery_m") if isinstance(parts, dict) else None
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) \
                or v < 0:
            return None, ""
        return float(v), str(entry.get("imagery_source") or "")

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (only builtins; floats finite)."""
        doc = asdict(self)
        doc = {"schema": doc.pop("schema"), "schema_minor": doc.pop("schema_minor"), **doc}
        return _finite(doc)

    @classmethod
    def from_json(cls, doc: Any) -> LocateResult:
        """Parse a ``locate.json`` document; raise :class:`ResultFormatError` if malformed."""
        if not isinstance(doc, dict):
            raise ResultFormatError("locate result is not a JSON object")
        if doc.get("schema") != SCHEMA:
            raise ResultFormatError(f"unknown locate schema {doc.get('schema')!r}")
        try:
            verdict = doc["verdict"]
            if verdict not in VERDICTS:
                raise ResultFormatError(f"unknown verdict {verdict!r}")
            tiles = []
            for t in doc.get("tiles", []):
                t = _known(TileRef, t)
                t["transform"] = tuple(float(v) for v in t["transform"])
                tiles.append(TileRef(**t))
            shots = []
            for s in doc.get("shots", []):
                s = _known(ShotResult, s)
                if s.get("verdict") not in VERDICTS:
                    raise ResultFormatError(f"unknown shot verdict {s.get('verdict')!r}")
                s["placements"] = [Placement(**_known(Placement, p))
                                   for p in s.get("placements", [])]
                shots.append(ShotResult(**s))
            return cls(
                verdict=verdict,
                video=VideoRef(**_known(VideoRef, doc["video"])),
                keyframes=[KeyframeRef(**_known(KeyframeRef, k)) for k in doc["keyframes"]],
                candidates=[Candidate(**_known(Candidate, c)) for c in doc["candidates"]],
                tiles=tiles,
                timing_s={str(k): float(v) for k, v in doc.get("timing_s", {}).items()},
                reason=str(doc.get("reason", "")),
                method=dict(doc.get("method", {})),
                warnings=[str(w) for w in doc.get("warnings", [])],
                shots=shots,
                uncertainty=[dict(u) for u in doc.get("uncertainty", [])],
                schema_minor=int(doc.get("schema_minor", 0)),
            )
        except ResultFormatError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise ResultFormatError(f"malformed locate result ({exc})") from exc


def _known(cls: Any, obj: Any) -> dict[str, Any]:
    """``obj``'s keys that are fields of dataclass ``cls`` (keys of a later minor ignored)."""
    if not isinstance(obj, dict):
        raise ResultFormatError(f"{cls.__name__.lower()} entry is not a JSON object")
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in obj.items() if k in names}


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj
