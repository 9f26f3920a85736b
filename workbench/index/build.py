"""Build, extend and resume a region index (``workbench index IMAGERY... --out INDEX``).

One run: catalogue the rasters (metadata only), refuse the unusable ones before
anything is written, hash each (SHA-256), learn the vocabulary on a sample of blocks
when the index is new, then describe every block not yet described, chunk by chunk.
A chunk is journalled once its files are on disk, so a killed run loses at most the
chunks in flight and the next run with the same arguments carries on.  Rasters
already indexed (same file, same bytes) are skipped: adding rasters never
re-describes the old ones; only the inverted file (cheap, counts only) is redone.

The blocks described to learn the vocabulary are not described a second time: their
features are quantised once the vocabulary exists (when blocks are described one by
one, ``group_blocks`` 1; a group's features differ from its blocks' own).  For an
index of a few dozen blocks that halves the build.

Memory is bounded by one chunk of blocks (``chunk_blocks`` x ``max_features``
features) plus the vocabulary sample's blocks (``vocab_sample_blocks`` x
``max_features``), whatever the raster size: pixels are read by window, at the
level's resolution, from overviews.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from workbench.atomic import clean_stale_in
from workbench.hashing import sha256_file
from workbench.imagery.catalog import Tile, TileCatalog, pixel_files
from workbench.index.grid import (
    BlockFeatures,
    BlockSpec,
    check_metric_crs,
    level_grids,
    resolved,
    tile_area_km2,
)
from workbench.index.groups import group_specs
from workbench.index.model import (
    BLOCK_DTYPE,
    FEATURE_DTYPE,
    BuildStats,
    ChunkRecord,
    EmptyRegionError,
    IndexConfig,
    RasterEntry,
    RegionIndexError,
)
from workbench.index.retrieve import write_inverted
from workbench.index.store import IndexStore, check_raster
from workbench.index.tasks import (
    BlockExecutor,
    BlockResult,
    Finished,
    LocalExecutor,
    Pending,
    quantised_block,
    quantised_group,
    sample_block,
)
from workbench.index.vocab import train
from workbench.progress import CancelToken, ProgressCallback, check_cancel, report


def build_index(
    imagery: Sequence[str | Path],
    out: str | Path,
    *,
    config: IndexConfig | None = None,
    workers: int = 1,
    executor: BlockExecutor | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> BuildStats:
    """Index (or add to, or resume) ``out`` with every raster found in ``imagery``.

    ``config`` applies to a new index only (an existing one keeps its own settings).
    ``workers``: threads describing blocks (each opens its own dataset), unless an
    ``executor`` is given (e.g. :class:`workbench.index.distributed.DaskExecutor`).

    Raises:
        NoUsableTilesError / RasterOpenError: nothing usable in ``imagery``.
        IndexCRSError: a raster's CRS has no metre unit (nothing written).
        IndexVersionError / IndexCorruptError: ``out`` is an index this cannot extend.
        IndexStaleError: a raster already in ``out`` changed or moved since.
        EmptyRegionError: no block of the new rasters holds features.
        OutputError: ``out`` cannot be written.  Cancelled: ``cancel`` was set.
    """
    t0 = time.perf_counter()
    own = executor is None
    ex: BlockExecutor = LocalExecutor(workers) if executor is None else executor
    try:
        return _build(imagery, Path(out), config, ex, t0, progress, cancel)
    finally:
        if own and isinstance(ex, LocalExecutor):
            ex.close()


def _build(
    imagery: Sequence[str | Path], out_path: Path, config: IndexConfig | None,
    ex: BlockExecutor, t0: float, progress: ProgressCallback | None,
    cancel: CancelToken | None,
) -> BuildStats:
    stats = BuildStats()
    catalog = TileCatalog.from_paths(imagery, cancel=cancel)
    for tile in catalog.tiles:
        check_metric_crs(tile)
    stats.notes.extend(catalog.warnings)
    existing = IndexStore.exists(out_path)
    if existing:  # what a killed build was still writing
        for folder in (out_path, out_path / "chunks"):
            clean_stale_in(folder)
    store = IndexStore.open(out_path) if existing else None
    cfg = store.config if store is not None else (config or IndexConfig())
    if store is not None:
        for r in store.rasters:
            check_raster(r)
    # hash and register (in memory until the first write)
    pending: list[tuple[Tile, RasterEntry]] = []
    entries: list[RasterEntry] = list(store.rasters) if store is not None else []
    for i, tile in enumerate(catalog.tiles):
        check_cancel(cancel)
        report(progress, "hashing rasters", i / len(catalog.tiles))
        entry = _entry_for(tile, entries, cfg, stats)
        if entry is not None:
            pending.append((tile, entry))
    report(progress, "hashing rasters", 1.0)
    known = {r.id for r in store.rasters} if store is not None else set()
    new_entries = [e for _, e in pending if e.id not in known]
    created_here = False
    kept: dict[_BlockKey, BlockFeatures] = {}
    if store is None:
        if not pending:  # pragma: no cover - from_paths raised already
            raise EmptyRegionError("no raster to index", out_path)
        centres, kept = _train_vocabulary(pending, cfg, ex, progress, cancel)
        check_cancel(cancel)  # cancelled while learning the vocabulary: no folder at all
        store = IndexStore.create(out_path, cfg, datetime.now(UTC).isoformat(timespec="seconds"))
        created_here = True
        nbytes = store.write_array("vocab.npy", centres)
        store.vocabulary = {"file": "vocab.npy", "bytes": nbytes,
                            "branch": cfg.vocab_branch, "depth": cfg.vocab_depth}
    try:
        store.rasters.extend(new_entries)
        store.save()
        _describe_all(store, pending, ex, stats, progress, cancel, kept)
        stats.megapixels = sum(e.width * e.height for _, e in pending) / 1e6
        _drop_empty(store, pending, stats)
        if not any(c.n_features for c in store.chunks):
            where = pending[0][0].path if len(pending) == 1 else out_path
            raise EmptyRegionError("empty region: no block holds valid pixels with features",
                                   where)
        write_inverted(store, progress=progress)
        store.save()
    except EmptyRegionError:
        if created_here:
            shutil.rmtree(out_path, ignore_errors=True)
        raise
    stats.seconds = time.perf_counter() - t0
    return stats


def _entry_for(
    tile: Tile, entries: list[RasterEntry], cfg: IndexConfig, stats: BuildStats
) -> RasterEntry | None:
    """The entry to (continue to) describe for ``tile``; ``None`` if it is done already."""
    path = resolved(tile.path)
    digest, size = sha256_file(tile.path)
    for r in entries:
        if r.path == path or r.sha256 == digest:
            if r.complete:
                stats.rasters_skipped += 1
                if r.path != path:
                    stats.notes.append(f"{tile.path}: same bytes as indexed {r.path}; skipped")
                return None
            return r  # interrupted earlier: resume
    st = Path(tile.path).stat()
    t = tile.transform
    entry = RasterEntry(
        id=max((r.id for r in entries), default=-1) + 1, path=path, sha256=digest, size=size,
        mtime_ns=st.st_mtime_ns, crs_wkt=tile.crs_wkt, transform=(t.a, t.b, t.c, t.d, t.e, t.f),
        width=tile.width, height=tile.height, gsd_m=tile.gsd_m, area_km2=tile_area_km2(tile),
        footprint=[list(p) for p in tile.footprint], grids=level_grids(tile, cfg),
        sources=_source_files(tile),
    )
    entries.append(entry)
    stats.rasters_added += 1
    return entry


def _source_files(tile: Tile) -> list[dict[str, object]]:
    """Size, mtime and SHA-256 of every file besides the raster that its pixels or
    georeference come from (VRT members and their own files, world file, .prj,
    .aux.xml, .ovr: :func:`~workbench.imagery.catalog.pixel_files`)."""
    own = Path(tile.path).resolve()
    out: list[dict[str, object]] = []
    for p in pixel_files(tile.path):
        if p == own:
            continue
        st = p.stat()
        out.append({"path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                    "sha256": sha256_file(p)[0]})
    return out


_BlockKey = tuple[str, tuple[float, float, float, float], float]


def _key(spec: BlockSpec) -> _BlockKey:
    return str(spec.tile.path), spec.window, spec.level_m


def _train_vocabulary(
    pending: list[tuple[Tile, RasterEntry]], cfg: IndexConfig, ex: BlockExecutor,
    progress: ProgressCallback | None, cancel: CancelToken | None,
) -> tuple[np.ndarray, dict[_BlockKey, BlockFeatures]]:
    """Vocabulary tree centres learned from a spread sample of the rasters' blocks, and
    the sampled blocks' features by block (empty when blocks are described in groups,
    whose features differ from a block's own: see :mod:`workbench.index.groups`)."""
    every: list[BlockSpec] = []
    for tile, entry in pending:
        for grid in entry.grids:
            every.extend(BlockSpec(tile, grid.window(k, tile.width, tile.height), grid.level_m,
                                   cfg.max_features) for k in range(len(grid)))
    n = min(len(every), cfg.vocab_sample_blocks)
    picks = [every[int(i)] for i in np.linspace(0, len(every) - 1, n).round().astype(int)]
    check_cancel(cancel)
    report(progress, "learning the vocabulary", 0.0)
    # blocks described one by one: keep the sample blocks' features for the build (a
    # group's features differ from a block's own: see workbench.index.groups)
    keep = cfg.group_blocks <= 1
    sampled = ex.submit(sample_block, picks, cfg.vocab_per_block, keep).result()
    sample = np.concatenate([s.sample for s in sampled]) if sampled \
        else np.zeros((0, 128), np.float32)
    if len(sample) < cfg.vocab_branch * 4:
        where = pending[0][0].path if len(pending) == 1 else None
        raise EmptyRegionError(
            f"empty region: only {len(sample)} features in {len(picks)} sampled blocks"
            " (nodata or featureless imagery)", where)
    report(progress, "learning the vocabulary", 0.5)
    kept = {_key(spec): s.described for spec, s in zip(picks, sampled, strict=True)
            if s.described is not None}
    return train(sample, cfg.vocab_branch, cfg.vocab_depth), kept


@dataclass
class _Job:
    name: str
    entry: RasterEntry
    level: int
    first: int
    specs: list[BlockSpec]


def _describe_all(
    store: IndexStore, pending: list[tuple[Tile, RasterEntry]], ex: BlockExecutor,
    stats: BuildStats, progress: ProgressCallback | None, cancel: CancelToken | None,
    kept: dict[_BlockKey, BlockFeatures],
) -> None:
    """Describe every chunk not yet journalled, two chunks in flight, writing in order.
    Blocks in ``kept`` (described for the vocabulary) are quantised, not described."""
    cfg = store.config
    voc = store.vocabulary or {}
    centres = np.asarray(store.load_array(str(voc["file"]), int(voc["bytes"])))
    branch, depth = int(voc["branch"]), int(voc["depth"])
    done_names = {c.name for c in store.chunks}
    total = sum(len(g) for _, e in pending for g in e.grids)
    jobs: list[_Job] = []
    for tile, entry in pending:
        for li, grid in enumerate(entry.grids):
            for first in range(0, len(grid), cfg.chunk_blocks):
                count = min(cfg.chunk_blocks, len(grid) - first)
                name = f"r{entry.id:05d}-l{li}-b{first:07d}"
                if name in done_names:
                    stats.blocks_resumed += count
                    continue
                specs = [BlockSpec(tile, grid.window(k, tile.width, tile.height), grid.level_m,
                                   cfg.max_features) for k in range(first, first + count)]
                jobs.append(_Job(name, entry, li, first, specs))
    done = stats.blocks_resumed
    stage = f"indexing {total} blocks"
    report(progress, stage, done / max(1, total))
    shared = ex.broadcast(centres)

    def start(job: _Job) -> Pending:
        groups = group_specs([s for s in job.specs if _key(s) not in kept], cfg.group_blocks)
        if not groups:  # every block of the chunk was described for the vocabulary
            return Finished([])
        return ex.submit(quantised_group, groups, shared, branch, depth)

    def results_of(job: _Job, submitted: Pending) -> list[BlockResult]:
        described = [r for part in submitted.result() for r in part]
        if len(described) != sum(_key(s) not in kept for s in job.specs):
            raise RegionIndexError(f"chunk {job.name}: the executor returned {len(described)}"
                                   " described blocks, not the number asked for", store.root)
        rest = iter(described)
        return [quantised_block(kept.pop(_key(s)), centres, branch, depth)
                if _key(s) in kept else next(rest) for s in job.specs]

    in_flight = [start(j) for j in jobs[:2]]
    for i, job in enumerate(jobs):
        check_cancel(cancel)
        results = results_of(job, in_flight.pop(0))
        if i + 2 < len(jobs):
            in_flight.append(start(jobs[i + 2]))
        blocks, feats = _chunk_arrays(job, results)
        store.add_chunk(ChunkRecord(job.name, job.entry.id, job.level, job.first, len(job.specs),
                                    len(feats), (0, 0)), blocks, feats)
        stats.blocks_described += len(job.specs)
        stats.features += len(feats)
        done += len(job.specs)
        report(progress, stage, done / max(1, total))
    for _, entry in pending:
        entry.complete = True
    store.save()
    report(progress, stage, 1.0)


def _chunk_arrays(job: _Job, results: list[BlockResult]) -> tuple[np.ndarray, np.ndarray]:
    """A chunk's block table ``BLOCK_DTYPE[count]`` and features ``FEATURE_DTYPE[M]``."""
    blocks = np.zeros(len(job.specs), BLOCK_DTYPE)
    parts: list[np.ndarray] = []
    for j, (spec, res) in enumerate(zip(job.specs, results, strict=True)):
        c, r, w, h = spec.window
        blocks[j] = (job.entry.id, job.level, c, r, w, h, res.scale, len(res.words))
        if not len(res.words):
            continue
        rec = np.zeros(len(res.words), FEATURE_DTYPE)
        rec["block"] = j
        rec["word"] = res.words
        rec["x"], rec["y"] = res.xy[:, 0], res.xy[:, 1]
        parts.append(rec)
    feats = np.concatenate(parts) if parts else np.zeros(0, FEATURE_DTYPE)
    return blocks, feats


def _drop_empty(store: IndexStore, pending: list[tuple[Tile, RasterEntry]],
                stats: BuildStats) -> None:
    """Keep rasters without any feature out of the index, with a note (nodata only)."""
    for tile, entry in pending:
        chunks = store.chunks_of(entry.id)
        if chunks and not any(c.n_features for c in chunks):
            store.rasters = [r for r in store.rasters if r.id != entry.id]
            store.chunks = [c for c in store.chunks if c.raster != entry.id]
            stats.notes.append(f"{tile.path}: empty region (no valid pixels with features);"
                               " not indexed")
            if stats.rasters_added:
                stats.rasters_added -= 1

