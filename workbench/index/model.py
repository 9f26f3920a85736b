"""Types of the region index (bottom module of :mod:`workbench.index`).

An index cuts every raster into a grid of *blocks* at a few fixed ground
resolutions (``levels_m``), describes each block once with capped RootSIFT
features, quantises them to visual words of a vocabulary learned at the first
build, and keeps on disk only what retrieval needs (word id and block position of
every feature).  Blocks are shortlisted by tf-idf over an inverted file; the
shortlisted windows are then verified from the raster's own pixels, so a result
found through the index is as verifiable as one found directly (the index records
each raster's SHA-256, georeference and block grid).

Pixel convention: block windows are level-0 ``(col_off, row_off, width, height)``
in pixel *corner* coordinates of the raster (as :func:`workbench.imagery.read.read_tile`
takes them); feature positions inside a block are working pixels of the block read
at its level's ground resolution, centre of the top-left pixel at ``(0, 0)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench.errors import UsageError, WorkbenchError

FORMAT = "workbench.index"
# 2: blocks of a grid row may be described in groups (``IndexConfig.group_blocks``, kept
# in the manifest) and quantised in batches; version 1 indexes are refused
VERSION = 2

# per-feature record of a chunk file (8 bytes): block (index into the chunk's block
# table, so chunks hold at most 65 536 blocks), visual word (vocabularies of at most
# 65 536 words), and the feature's position inside the block (working px, rounded)
FEATURE_DTYPE = np.dtype([("block", "<u2"), ("word", "<u2"), ("x", "<u2"), ("y", "<u2")])
MAX_WORDS = 1 << 16
# per-block record of a chunk file (level-0 window in pixel-corner coordinates)
BLOCK_DTYPE = np.dtype([
    ("raster", "<u4"), ("level", "<u1"), ("col_off", "<f8"), ("row_off", "<f8"),
    ("width", "<f8"), ("height", "<f8"), ("scale", "<f8"), ("n_features", "<u4"),
])


# --- errors --------------------------------------------------------------------------


class RegionIndexError(WorkbenchError):
    """Base for problems with a region index."""


class IndexVersionError(RegionIndexError, ValueError):
    """The index was written in another format or version than this software reads."""


class IndexCorruptError(RegionIndexError, ValueError):
    """An index file is truncated, unreadable or disagrees with the manifest."""


class IndexStaleError(RegionIndexError, ValueError):
    """A raster was moved, deleted or changed since it was indexed."""


class EmptyRegionError(RegionIndexError, ValueError):
    """Nothing to index or search: no block holds valid pixels with features."""


class IndexCRSError(RegionIndexError, ValueError):
    """A raster's CRS has no metre (or other convertible length) unit."""


# --- settings and records ------------------------------------------------------------


@dataclass(frozen=True)
class IndexConfig:
    """How rasters are cut and described (fixed when an index is created).

    ``levels_m``: candidate ground resolutions (m/px) of the block grids; each raster
    is indexed at the ``levels_per_raster`` finest levels not finer than
    ``native_tolerance`` x its own ground resolution (so 0.5 m imagery gets 1 m and
    2 m; 10 m imagery 16 m and 32 m); imagery more than ``max_detail_loss`` times finer
    than the finest level (0.3 m) is also described at its own resolution first (0.3 m
    and 1 m).  ``block_px``: block side in working pixels of
    its level; ``overlap``: fraction of a block shared with its neighbour.
    ``max_features``: cap of RootSIFT features per block (strongest, spread over the
    block).  ``vocab_branch``/``vocab_depth``: hierarchical k-means vocabulary of
    ``branch ** depth`` visual words; ``vocab_sample_blocks``/``vocab_per_block``: how
    many blocks and descriptors per block train it.  ``chunk_blocks``: blocks per
    chunk file (the unit that survives a kill).  ``group_blocks``: at most this many
    neighbouring blocks of a grid row are read and run through SIFT's detector
    together (:mod:`workbench.index.groups`; 1 = one block at a time, the default:
    groups of 6 build about 16 % faster but lost two of nine same-sensor places from
    the shortlist on real 0.3 m imagery, ``benchmarks/scale`` README).
    """

    levels_m: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
    levels_per_raster: int = 2
    native_tolerance: float = 0.9
    max_detail_loss: float = 2.5
    block_px: int = 512
    overlap: float = 0.25
    max_features: int = 1200
    vocab_branch: int = 16
    vocab_depth: int = 3
    vocab_sample_blocks: int = 48
    vocab_per_block: int = 400
    chunk_blocks: int = 32
    group_blocks: int = 1

    def __post_init__(self) -> None:
        if self.vocab_branch ** self.vocab_depth > MAX_WORDS or self.vocab_branch < 2:
            raise UsageError(f"vocabulary of {self.vocab_branch}^{self.vocab_depth} words;"
                             f" at most {MAX_WORDS} are stored")
        if not 1 <= self.chunk_blocks <= 65_536:
            raise UsageError(f"chunk_blocks must be 1..65536, not {self.chunk_blocks}")
        if not 1 <= self.group_blocks <= 64:
            raise UsageError(f"group_blocks must be 1..64, not {self.group_blocks}")
        if self.block_px < 64 or self.max_features < 16 or not 0 <= self.overlap < 0.9:
            raise UsageError("block_px >= 64, max_features >= 16 and 0 <= overlap < 0.9 needed")
        if not self.levels_m or any(not (v > 0) for v in self.levels_m):
            raise UsageError(f"levels must be positive metres per pixel: {self.levels_m}")

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready copy (tuples as lists)."""
        return {
            "levels_m": list(self.levels_m), "levels_per_raster": self.levels_per_raster,
            "native_tolerance": self.native_tolerance,
            "max_detail_loss": self.max_detail_loss, "block_px": self.block_px,
            "overlap": self.overlap, "max_features": self.max_features,
            "vocab_branch": self.vocab_branch, "vocab_depth": self.vocab_depth,
            "vocab_sample_blocks": self.vocab_sample_blocks,
            "vocab_per_block": self.vocab_per_block, "chunk_blocks": self.chunk_blocks,
            "group_blocks": self.group_blocks,
        }

    @staticmethod
    def from_json(doc: dict[str, Any]) -> IndexConfig:
        """The inverse of :meth:`to_json` (raises ``KeyError``/``TypeError`` on bad input)."""
        d = dict(doc)
        d["levels_m"] = tuple(float(v) for v in d["levels_m"])
        return IndexConfig(**d)


@dataclass(frozen=True)
class LevelGrid:
    """The block grid of one raster at one ground resolution.

    ``level_m``: metres per working pixel; ``scale``: level-0 pixels per working pixel
    (mean of x and y); ``cols``/``rows``: level-0 pixel-corner starts of the blocks;
    ``size``: level-0 side of a full block.  Block ``k`` is row ``k // len(cols)``,
    column ``k % len(cols)``; blocks at the right/bottom edge are clipped to the raster.
    """

    level_m: float
    scale: float
    size: float
    cols: tuple[float, ...]
    rows: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.cols) * len(self.rows)

    def window(self, k: int, width: int, height: int) -> tuple[float, float, float, float]:
        """Level-0 ``(col_off, row_off, width, height)`` of block ``k`` (clipped to the raster)."""
        c = self.cols[k % len(self.cols)]
        r = self.rows[k // len(self.cols)]
        return (c, r, min(self.size, width - c), min(self.size, height - r))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"level_m": self.level_m, "scale": self.scale, "size": self.size,
                "cols": list(self.cols), "rows": list(self.rows)}

    @staticmethod
    def from_json(doc: dict[str, Any]) -> LevelGrid:
        """Inverse of :meth:`to_json`."""
        return LevelGrid(float(doc["level_m"]), float(doc["scale"]), float(doc["size"]),
                         tuple(float(v) for v in doc["cols"]),
                         tuple(float(v) for v in doc["rows"]))


@dataclass
class RasterEntry:
    """One indexed raster: identity, georeference and block grids.

    ``sha256``/``size``/``mtime_ns``: the file as indexed (size and mtime are a fast
    first check; the hash decides).  ``crs_wkt``/``transform`` (rasterio affine
    coefficients ``a, b, c, d, e, f``, level-0 pixel corners -> CRS): its georeference.
    ``area_km2``: ground area of the level-0 grid.  ``sources``: the other files its
    pixels or georeference come from (sidecars; VRT members and their own files, down
    through nested VRTs, in indexes built from 3 December 2026), each with its SHA-256.
    ``complete``: every block of every level is described (False while a build runs
    or after a kill).
    """

    id: int
    path: str
    sha256: str
    size: int
    mtime_ns: int
    crs_wkt: str
    transform: tuple[float, float, float, float, float, float]
    width: int
    height: int
    gsd_m: float
    area_km2: float
    footprint: list[list[float]]
    grids: list[LevelGrid] = field(default_factory=list)
    complete: bool = False
    # files the pixels also come from (VRT sources, world file, .prj, .aux.xml, .ovr):
    # [{"path", "size", "mtime_ns", "sha256"}], checked like the raster itself
    sources: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id, "path": self.path, "sha256": self.sha256, "size": self.size,
            "mtime_ns": self.mtime_ns, "crs_wkt": self.crs_wkt,
            "transform": list(self.transform), "width": self.width, "height": self.height,
            "gsd_m": self.gsd_m, "area_km2": self.area_km2, "footprint": self.footprint,
            "grids": [g.to_json() for g in self.grids], "complete": self.complete,
            "sources": self.sources,
        }

    @staticmethod
    def from_json(doc: dict[str, Any]) -> RasterEntry:
        """Inverse of :meth:`to_json`."""
        t = tuple(float(v) for v in doc["transform"])
        if len(t) != 6:
            raise ValueError("transform must have 6 coefficients")
        return RasterEntry(
            id=int(doc["id"]), path=str(doc["path"]), sha256=str(doc["sha256"]),
            size=int(doc["size"]), mtime_ns=int(doc["mtime_ns"]), crs_wkt=str(doc["crs_wkt"]),
            transform=(t[0], t[1], t[2], t[3], t[4], t[5]), width=int(doc["width"]),
            height=int(doc["height"]), gsd_m=float(doc["gsd_m"]),
            area_km2=float(doc["area_km2"]), footprint=[list(p) for p in doc["footprint"]],
            grids=[LevelGrid.from_json(g) for g in doc["grids"]],
            complete=bool(doc["complete"]),
            sources=[dict(f) for f in doc.get("sources", [])],
        )


@dataclass(frozen=True)
class ChunkRecord:
    """A finished chunk: blocks ``first .. first + count - 1`` of one raster's level grid.

    ``name``: file stem inside ``chunks/`` (``NAME.blocks.npy`` and ``NAME.feats.npy``);
    ``bytes``: sizes of both files as written (a shorter file is truncated).
    """

    name: str
    raster: int
    level: int
    first: int
    count: int
    n_features: int
    bytes: tuple[int, int]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"name": self.name, "raster": self.raster, "level": self.level,
                "first": self.first, "count": self.count, "n_features": self.n_features,
                "bytes": list(self.bytes)}

    @staticmethod
    def from_json(doc: dict[str, Any]) -> ChunkRecord:
        """Inverse of :meth:`to_json`."""
        b = [int(v) for v in doc["bytes"]]
        return ChunkRecord(str(doc["name"]), int(doc["raster"]), int(doc["level"]),
                           int(doc["first"]), int(doc["count"]), int(doc["n_features"]),
                           (b[0], b[1]))


@dataclass(frozen=True)
class Shortlisted:
    """A block worth verifying: where it is and how strongly the query's words voted for it.

    ``window``: level-0 ``(col_off, row_off, width, height)`` (pixel corners) of the
    block in ``raster.path``; ``level_m``: the block's ground resolution (m/px);
    ``score``: tf-idf cosine similarity with the query (0..1).
    """

    raster: RasterEntry
    level_m: float
    window: tuple[float, float, float, float]
    score: float
    block_id: int


@dataclass
class BuildStats:
    """What one :func:`workbench.index.build.build_index` run did."""

    rasters_added: int = 0
    rasters_skipped: int = 0
    blocks_described: int = 0
    blocks_resumed: int = 0
    features: int = 0
    megapixels: float = 0.0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
