"""Tile features computed once per job and shared by every keyframe.

A :class:`TileFeatures` holds RootSIFT features of a tile (or of a window of it)
read at some working resolution; ``xy`` are in that *working* grid and
:meth:`TileFeatures.to_level0` maps them to the tile's level-0 pixel grid
(``(x, y)`` = (col, row), centre of the top-left pixel at ``(0, 0)``).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from workbench.atomic import atomic_write_bytes
from workbench.errors import OutputError, RasterError
from workbench.hashing import sha256_bytes
from workbench.imagery.catalog import Tile, pixel_files, read_tile
from workbench.match.features import Features, detect, normalise, to_grey
from workbench.match.model import MatchConfig

log = logging.getLogger(__name__)

CACHE_ENV = "WORKBENCH_FEATURE_CACHE"
CACHE_VERSION = 3  # 3: keyed by every file the pixels come from
BLOCK = 768  # level-0 px side of the native-resolution blocks used for refinement


@dataclass
class TileFeatures:
    """Features of a tile read at ``scale`` level-0 px per working px.

    Working pixel ``(0, 0)`` centre = level-0 pixel ``(col_off, row_off)`` centre (so
    ``level0 = working * scale + (col_off, row_off)``).
    ``tile_gsd_m``: metres per level-0 pixel.
    """

    feats: Features
    scale: float
    col_off: float
    row_off: float
    tile_gsd_m: float
    shape: tuple[int, int]  # working (height, width)

    def level0_from_working(self) -> np.ndarray:
        """``(3, 3) float64`` working px -> level-0 px."""
        s = self.scale
        return np.array([[s, 0, self.col_off], [0, s, self.row_off], [0, 0, 1.0]])

    def to_level0(self, xy: np.ndarray) -> np.ndarray:
        """``(N, 2)`` working px -> ``(N, 2) float64`` level-0 px."""
        p = np.asarray(xy, np.float64)
        return np.stack([self.col_off + self.scale * p[:, 0], self.row_off + self.scale * p[:, 1]],
                        axis=1)


@dataclass
class TileDatabase:
    """Coarse features of several tiles concatenated (one kd-tree for all of them).

    ``owner[i]``: index of the tile (in the list given to
    :meth:`TileFeatureCache.database`) that feature ``i`` belongs to;
    ``starts[t]``: index of tile ``t``'s first feature.
    """

    feats: Features
    owner: np.ndarray
    starts: np.ndarray


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def cache_root(cache_dir: str | None = None) -> Path | None:
    """The on-disk feature cache folder: ``cache_dir``, else ``$WORKBENCH_FEATURE_CACHE``,
    else ``None`` (no disk cache)."""
    root = cache_dir or os.environ.get(CACHE_ENV)
    return Path(root) if root else None


@dataclass
class TileFeatureCache:
    """Per-job cache of tile features (coarse whole-tile pass and refinement windows).

    ``config``: ``tile_max_pixels``,
    ``tile_max_features``, ``refine_max_pixels`` are used).  Tiles that fail to
    read are remembered (``warnings``) and skipped.  With ``cache_dir`` (or the
    ``WORKBENCH_FEATURE_CACHE`` environment variable) features are also kept on disk,
    keyed by the raster's resolved path, the size and modification time of every file
    its pixels come from (a VRT's members included) and the settings, so later jobs
    against the same rasters skip feature extraction.
    """

    config: MatchConfig
    cache_dir: str | None = None  # on-disk feature cache; default $WORKBENCH_FEATURE_CACHE
    warnings: list[str] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)  # tiles whose pixels could not be read
    _coarse: dict[str, TileFeatures | None] = field(default_factory=dict)
    _db: TileDatabase | None = None
    _db_key: tuple[str, ...] = ()
    # reduced refinement windows (large: at most 16 kept) and native-resolution blocks
    # with their merged boxes (at most 64); separate so that one kind never evicts the other
    _windows: OrderedDict[tuple[Any, ...], TileFeatures | None] = field(
        default_factory=OrderedDict
    )
    _block_cache: OrderedDict[tuple[Any, ...], TileFeatures | None] = field(
        default_factory=OrderedDict
    )
    # path, size and mtime of the files each tile's pixels come from (disk cache keys)
    _file_stamps: dict[str, list[list[Any]]] = field(default_factory=dict, repr=False)
    _pixel_memo: dict[Path, tuple[set[Path], bool]] = field(default_factory=dict, repr=False)
    # per-job state of matcher backends (e.g. the learned backend's models and hints),
    # keyed by backend name, made on demand by the backend
    backend_state: dict[str, Any] = field(default_factory=dict, repr=False)

    def database(self, tiles: list[Tile]) -> TileDatabase:
        """All tiles' coarse features in one searchable set (built once per tile list)."""
        key = tuple(str(t.path) for t in tiles)
        if self._db is None or self._db_key != key:
            parts: list[Features] = []
            owner: list[np.ndarray] = []
            starts: list[int] = []
            n = 0
            for i, t in enumerate(tiles):
                tf = self.coarse(t)
                starts.append(n)
                if tf is not None:
                    parts.append(tf.feats)
                    owner.append(np.full(len(tf.feats), i, np.int32))
                    n += len(tf.feats)
            feats = Features.concat(parts)
            own = np.concatenate(owner) if owner else np.zeros(0, np.int32)
            self._db = TileDatabase(feats, own, np.array(starts, np.int64))
            self._db_key = key
        return self._db

    def coarse(self, tile: Tile) -> TileFeatures | None:
        """Features of the whole tile at (at most) ``tile_max_pixels`` working pixels."""
        key = str(tile.path)
        if key not in self._coarse:
            self._coarse[key] = self._describe(tile, None, self.config.tile_max_pixels)
        return self._coarse[key]

    def window(self, tile: Tile, outline: np.ndarray, margin: float = 0.3) -> TileFeatures | None:
        """Features of the window around ``outline`` (``(K, 2)`` level-0 px), finer than coarse."""
        lo = outline.min(axis=0)
        hi = outline.max(axis=0)
        pad = (hi - lo) * margin + 16
        c0 = int(max(0, np.floor(lo[0] - pad[0])))
        r0 = int(max(0, np.floor(lo[1] - pad[1])))
        c1 = int(min(tile.width, np.ceil(hi[0] + pad[0])))
        r1 = int(min(tile.height, np.ceil(hi[1] + pad[1])))
        if c1 - c0 < 16 or r1 - r0 < 16:
            return None
        if (c1 - c0) * (r1 - r0) <= self.config.refine_max_pixels * 1.5:
            return self._blocks(tile, c0, r0, c1, r1)
        # too large for native resolution: one reduced window, snapped to a coarse grid
        q = 64
        c0, r0 = c0 // q * q, r0 // q * q
        c1, r1 = min(tile.width, -(-c1 // q) * q), min(tile.height, -(-r1 // q) * q)
        key = (str(tile.path), c0, r0, c1, r1)
        if key not in self._windows:
            self._windows[key] = self._describe(
                tile, (c0, r0, c1 - c0, r1 - r0), self.config.refine_max_pixels
            )
            while len(self._windows) > 16:
                self._windows.popitem(last=False)
        return self._windows[key]

    def _blocks(self, tile: Tile, c0: int, r0: int, c1: int, r1: int) -> TileFeatures | None:
        """Native-resolution features of level-0 box ``[c0, c1) x [r0, r1)`` assembled from
        fixed blocks (described once, shared by every keyframe looking there)."""
        b, pad = BLOCK, 48
        bxs = range(c0 // b * b, c1, b)
        bys = range(r0 // b * b, r1, b)
        cache = self._block_cache
        key = (str(tile.path), "blocks", bxs.start, bys.start, bxs.stop, bys.stop)
        if key in cache:
            return cache[key]
        parts: list[Features] = []
        for by in bys:
            for bx in bxs:
                bkey = (str(tile.path), "block", bx, by)
                if bkey not in cache:
                    tf = self._describe(tile, (bx - pad, by - pad, b + 2 * pad, b + 2 * pad),
                                        (b + 2 * pad) ** 2)
                    blk = None
                    if tf is not None:
                        xy = tf.to_level0(tf.feats.xy)
                        core = (xy[:, 0] >= bx - 0.5) & (xy[:, 0] < bx + b - 0.5) \
                            & (xy[:, 1] >= by - 0.5) & (xy[:, 1] < by + b - 0.5)
                        f = tf.feats
                        blk = TileFeatures(
                            Features(xy[core].astype(np.float32), f.size[core], f.desc[core]),
                            1.0, 0.0, 0.0, tf.tile_gsd_m, (tile.height, tile.width))
                    cache[bkey] = blk
                blk = cache[bkey]
                if blk is not None:
                    parts.append(blk.feats)
        merged = None
        if parts:
            merged = TileFeatures(Features.concat(parts), 1.0, 0.0, 0.0, float(tile.gsd_m),
                                  (tile.height, tile.width))
        cache[key] = merged
        while len(cache) > 64:
            cache.popitem(last=False)
        return merged

    def _describe(
        self, tile: Tile, window: tuple[int, int, int, int] | None, max_pixels: int
    ) -> TileFeatures | None:
        disk = self._disk_path(tile, window, max_pixels)
        if disk is not None and disk.is_file():
            cached = _load(disk, tile)
            if cached is not None:
                return cached
        tf = self._compute(tile, window, max_pixels)
        if tf is not None and disk is not None:
            _save(disk, tf)
        return tf

    def _disk_path(
        self, tile: Tile, window: tuple[int, int, int, int] | None, max_pixels: int
    ) -> Path | None:
        """Where these features are cached on disk (``None``: no disk cache)."""
        root = cache_root(self.cache_dir)
        if root is None:
            return None
        files = self._file_stamps.get(str(tile.path))
        if files is None:
            try:  # every file the pixels come from: a mosaic's members change, not the VRT
                files = [[str(p), *_stamp(p)]
                         for p in pixel_files(tile.path, memo=self._pixel_memo)]
            except (RasterError, OSError):
                return None
            self._file_stamps[str(tile.path)] = files
        ident = json.dumps([
            CACHE_VERSION, str(Path(tile.path).resolve()), files,
            window, max_pixels, self.config.tile_max_features,
        ])
        return root / f"{sha256_bytes(ident.encode())[:32]}.npz"

    def _compute(
        self, tile: Tile, window: tuple[int, int, int, int] | None, max_pixels: int
    ) -> TileFeatures | None:
        try:
            timg = read_tile(tile, window=window, max_pixels=max_pixels)
        except RasterError as exc:
            msg = str(exc)
            log.warning("skipping tile: %s", msg)
            self.warnings.append(msg)
            self.failed.add(str(tile.path))
            return None
        grey = to_grey(timg.image)
        valid = np.asarray(timg.valid, bool)
        if not valid.any():
            return None
        mask = cv2.erode(valid.astype(np.uint8) * 255, np.ones((5, 5), np.uint8))
        feats = detect(normalise(grey, valid), mask, max_features=self.config.tile_max_features)
        log.debug("%s window=%s scale=%.2f: %d features", tile.path, window, timg.scale, len(feats))
        # working px (0, 0) -> level-0 px (pixel-centre convention on both sides)
        origin = timg.to_level0(np.zeros((1, 2)))[0]
        return TileFeatures(
            feats, float(timg.scale), float(origin[0]), float(origin[1]), float(tile.gsd_m),
            (grey.shape[0], grey.shape[1]),
        )


def _save(path: Path, tf: TileFeatures) -> None:
    """Write features to ``path`` (npz; descriptors as float16); failures only logged."""
    buf = io.BytesIO()
    np.savez(
        buf, xy=tf.feats.xy, size=tf.feats.size, desc=tf.feats.desc.astype(np.float16),
        meta=np.array([tf.scale, tf.col_off, tf.row_off, tf.tile_gsd_m, *tf.shape], np.float64),
    )
    try:
        atomic_write_bytes(path, buf.getvalue())
    except OutputError as exc:
        log.warning("feature cache not written: %s", exc)


def _load(path: Path, tile: Tile) -> TileFeatures | None:
    """Features from the disk cache, or ``None`` if the entry is unreadable."""
    try:
        with np.load(path) as z:
            meta = z["meta"]
            feats = Features(z["xy"].astype(np.float32), z["size"].astype(np.float32),
                             np.ascontiguousarray(z["desc"].astype(np.float32)))
    except (OSError, ValueError, KeyError) as exc:
        log.warning("ignoring unreadable feature cache entry %s (%s)", path, exc)
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    return TileFeatures(feats, float(meta[0]), float(meta[1]), float(meta[2]), float(meta[3]),
                        (int(meta[4]), int(meta[5])))
