"""``locate`` against a region index: shortlist windows, then verify only those.

``video -> keyframes -> per shot, all keyframes pool their visual words -> the
index's tf-idf shortlist of blocks -> merged windows -> today's matcher and ranking
on those windows only -> candidates mapped back to the original rasters``.

The verification is exactly :func:`workbench.locate.pipeline.locate`'s: each window
is presented to it as a one-source VRT over the indexed raster (see
:mod:`workbench.index.windows`), and every tile coordinate of the result (tie
points, homography, centre) is then translated back to the original raster's
level-0 grid, with the original raster's path, SHA-256 (recorded by the index and
checked against the file's size and mtime, or re-hashed with ``deep_check``) and
georeference in ``locate.json``.

Searching more ground gives false matches more chances, so the bar for ``located``
rises with the area searched: the inlier count at which one keyframe is half
credible (``RankConfig.inlier_mid``) grows by ``bar_per_decade`` per factor 10 of
indexed area above ``bar_from_km2``.  ``locate.json`` reports the windows searched
and the areas in ``method["search"]``.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from workbench.atomic import atomic_write_text
from workbench.errors import KeyframeError
from workbench.hashing import sha256_bytes, sha256_file
from workbench.imagery.catalog import TileCatalog, catalog_file
from workbench.index.build import build_index
from workbench.index.grid import tile_area_km2
from workbench.index.query import shortlist_shots
from workbench.index.retrieve import Retriever
from workbench.index.windows import (
    Window,
    merge_windows,
    to_source_px,
    union_area_km2,
    window_vrt_text,
)
from workbench.keyframes import KeyframeSet, extract_keyframes, save_keyframes
from workbench.locate.assemble import accuracy_for
from workbench.locate.model import ImageryAccuracy, stated_accuracy
from workbench.locate.pipeline import (
    LocateConfig,
    add_companions,
    locate,
    select_keyframes,
    write_locate_json,
)
from workbench.match.pipeline import MatchHypothesis
from workbench.match.tilefeatures import cache_root
from workbench.progress import CancelToken, ProgressCallback, report, scaled
from workbench.rank.ranking import RankConfig
from workbench.results import LocateResult, TileRef
from workbench.video.reader import probe

log = logging.getLogger(__name__)


@dataclass
class IndexSearchConfig:
    """How much of the index is verified and how the bar rises with area.

    ``shortlist``: blocks kept per shot; ``max_windows``: windows verified in all;
    ``margin``: each block grown by this share of its side; ``bar_from_km2`` /
    ``bar_per_decade``: see the module docstring; ``deep_check``: re-hash every
    indexed raster before searching (default: size + mtime, hash when they differ).
    ``index_above_mpx``: ``locate --tiles`` indexes rasters larger than this on the fly
    (:func:`locate_tiles`).  ``exclude``: indexed rasters left out of this search (e.g.
    the raster of a first result, to ask whether a second place also matches).
    """

    shortlist: int = 10
    max_windows: int = 12
    margin: float = 0.125
    bar_from_km2: float = 10.0
    bar_per_decade: float = 2.0
    deep_check: bool = False
    index_above_mpx: float = 96.0
    exclude: tuple[str, ...] = ()


def raised_bar(rank: RankConfig, area_km2: float, cfg: IndexSearchConfig) -> RankConfig:
    """``rank`` with ``inlier_mid`` raised for ``area_km2`` searched (see module docstring)."""
    decades = max(0.0, math.log10(max(area_km2, 1e-9) / cfg.bar_from_km2))
    return replace(rank, inlier_mid=rank.inlier_mid + cfg.bar_per_decade * decades)


def locate_in_index(
    video: str | os.PathLike[str],
    index: str | os.PathLike[str],
    *,
    out_dir: str | os.PathLike[str] | None = None,
    target_xy: tuple[float, float] | None = None,
    config: LocateConfig | None = None,
    search: IndexSearchConfig | None = None,
    keyframes: KeyframeSet | None = None,
    extra_tiles: Sequence[str | os.PathLike[str]] = (),
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> LocateResult:
    """Find where ``video`` was filmed inside the region index at ``index``.

    Same arguments, result and outputs as :func:`workbench.locate.pipeline.locate`
    (``tile`` paths are the indexed rasters), plus ``method["search"]``.
    ``extra_tiles``: rasters not in the index, verified whole beside the windows.

    Raises:
        RegionIndexError subclasses: the index cannot be used (another version,
        truncated file, a raster moved or changed since indexing, empty).
        Everything :func:`~workbench.locate.pipeline.locate` raises.
    """
    cfg = config or LocateConfig()
    scfg = search or IndexSearchConfig()
    t0 = time.perf_counter()
    report(progress, "opening the index", 0.0)
    ret = Retriever.load(index, deep=scfg.deep_check)
    if scfg.exclude:
        ret = ret.without(scfg.exclude)
    kset = keyframes
    if kset is None:
        try:
            kset = extract_keyframes(video, cfg.keyframes, progress=scaled(progress, 0.0, 0.2),
                                     cancel=cancel)
        except KeyframeError:
            kset = None
    chosen = select_keyframes(kset.keyframes, cfg.max_keyframes) if kset else []
    if keyframes is None and kset is not None and chosen and cfg.companion_s > 0:
        chosen = add_companions(video, chosen, kset, cfg.max_keyframes, cfg.companion_s)
    report(progress, "shortlisting windows", 0.2)
    merged, per_shot = shortlist_shots(ret, chosen, top=scfg.shortlist, cancel=cancel)
    windows = merge_windows(merged, margin=scfg.margin, max_windows=scfg.max_windows)
    t_short = time.perf_counter() - t0
    extra = TileCatalog.from_paths(list(extra_tiles)).tiles if extra_tiles else []
    area = ret.area_km2 + sum(tile_area_km2(t) for t in extra)
    sub_cfg = replace(cfg, hash_tiles=False, companion_s=0.0, max_keyframes=max(1, len(chosen)),
                      rank=raised_bar(cfg.rank, area, scfg))
    with tempfile.TemporaryDirectory(prefix="workbench-windows-") as tmp:
        vrts = _window_vrts(windows, Path(tmp), cfg.feature_cache)
        sub_cfg.imagery_accuracy_m = _window_accuracy(cfg.imagery_accuracy_m, windows, vrts)
        sub_set = None
        if kset is not None:
            sub_set = KeyframeSet(video=kset.video, keyframes=chosen, shots=kset.shots,
                                  warnings=kset.warnings, config=kset.config)
        if vrts or extra:
            paths = [*(t.path for t in extra), *vrts]
            result = locate(video, paths, target_xy=target_xy, config=sub_cfg,
                            keyframes=sub_set if sub_set is not None else None,
                            progress=scaled(progress, 0.25, 0.95), cancel=cancel,
                            hypothesis_filter=lambda hs: drop_window_duplicates(hs, windows,
                                                                                 vrts))
        else:
            result = _nothing(video, sub_set, cfg, target_xy)
        _to_sources(result, windows, vrts, cfg.hash_tiles)
    # the accuracy as the caller stated it, not as given to the windows
    result.method.update(stated_accuracy(cfg.imagery_accuracy_m, cfg.imagery_accuracy_source))
    result.method["search"] = {
        "index": str(Path(index)),
        "rasters": len(ret.store.rasters) - len(ret.excluded),
        "rasters_left_out": sorted(r.path for r in ret.store.rasters if r.id in ret.excluded),
        "area_km2": round(area, 4),
        "area_indexed_km2": round(ret.area_km2, 4),
        "tiles_searched_whole": len(extra),
        "blocks_indexed": ret.n_blocks,
        "shots": len(per_shot),
        "blocks_shortlisted": len(merged),
        "windows_searched": len(windows),
        "area_searched_km2": round(union_area_km2(windows), 4),
        "located_bar_inlier_mid": round(sub_cfg.rank.inlier_mid, 3),
        "shortlist_s": round(t_short, 3),
    }
    if out_dir is not None and sub_set is not None and chosen:
        save_keyframes(sub_set, Path(out_dir) / "keyframes")
        result.keyframes = [
            k.to_ref(image=f"keyframes/{k.id}.png", mask=f"keyframes/{k.id}_mask.png")
            for k in chosen
        ]
    result.timing_s["total"] = round(time.perf_counter() - t0, 3)
    result.timing_s["shortlist"] = round(t_short, 3)
    if out_dir is not None:
        write_locate_json(result, out_dir)
    report(progress, "done", 1.0)
    return result


def locate_tiles(
    video: str | os.PathLike[str],
    tile_paths: Sequence[str | os.PathLike[str]],
    *,
    out_dir: str | os.PathLike[str] | None = None,
    target_xy: tuple[float, float] | None = None,
    config: LocateConfig | None = None,
    search: IndexSearchConfig | None = None,
    index_cache: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> LocateResult:
    """``locate --tiles``: rasters above ``search.index_above_mpx`` megapixels (a large
    mosaic, COG or VRT the whole-raster first pass would read far too coarse) are
    indexed on the fly and searched through the index; the others are matched whole,
    as :func:`~workbench.locate.pipeline.locate` does (which this is, unchanged, when
    no raster is that large).  ``index_cache``: keep the on-the-fly index there (it is
    reused and extended by later runs); default a temporary folder.
    """
    scfg = search or IndexSearchConfig()
    catalog = TileCatalog.from_paths(list(tile_paths), cancel=cancel)
    big = [t for t in catalog.tiles if t.width * t.height > scfg.index_above_mpx * 1e6]
    if not big:
        return locate(video, tile_paths, out_dir=out_dir, target_xy=target_xy, config=config,
                      progress=progress, cancel=cancel)
    small = [t.path for t in catalog.tiles if t not in big]
    with tempfile.TemporaryDirectory(prefix="workbench-index-") as tmp:
        idx = Path(index_cache) if index_cache is not None else Path(tmp) / "index"
        build_index([t.path for t in big], idx, progress=scaled(progress, 0.0, 0.3),
                    cancel=cancel)
        result = locate_in_index(video, idx, out_dir=out_dir, target_xy=target_xy,
                                 config=config, search=scfg, extra_tiles=small,
                                 progress=scaled(progress, 0.3, 1.0), cancel=cancel)
    result.method["search"]["index"] = str(index_cache) if index_cache else "(on the fly)"
    if out_dir is not None:
        write_locate_json(result, out_dir)
    return result


def _window_accuracy(stated: ImageryAccuracy, windows: Sequence[Window],
                     vrts: Sequence[Path]) -> ImageryAccuracy:
    """A per-raster stated accuracy keyed by the windows' VRTs too (each window takes its
    indexed raster's value), so a window's radii include it; one value for all rasters
    is kept as it is."""
    if not isinstance(stated, Mapping):
        return stated
    out = dict(stated)
    for win, vrt in zip(windows, vrts, strict=True):
        acc = accuracy_for(win.raster.path, stated)
        if acc is not None:
            out[str(vrt)] = acc  # the window's tile path, as _to_sources knows it
    return out


def _window_vrts(windows: Sequence[Window], tmp: Path, cache_dir: str | None) -> list[Path]:
    """One VRT per window, in ``tmp``; with an on-disk feature cache, in its ``windows/``
    folder instead, named after the VRT's text and the SHA-256 of the pixels' files as
    indexed, and written once: searching the same windows again (another clip of the same
    place, the app's "locate again") then finds their features in the cache instead of
    describing them again.  Whether those features are still current is the feature
    cache's key to decide (every file the window's pixels come from, nested VRT members
    included); a cache folder that cannot be used is passed over."""
    root = cache_root(cache_dir)
    paths = []
    for i, win in enumerate(windows):
        text = window_vrt_text(win)
        if root is not None:
            content = [text, win.raster.sha256, *(str(s.get("sha256")) for s in win.raster.sources)]
            key = sha256_bytes("\n".join(content).encode())[:32]
            path = root / "windows" / f"{key}.vrt"
            try:
                paths.append(path if path.is_file() else atomic_write_text(path, text))
                continue
            except OSError as exc:  # OutputError, or a folder that cannot be entered
                log.warning("feature cache not used for windows: %s", exc)
                root = None
        paths.append(atomic_write_text(tmp / f"window{i:03d}.vrt", text))
    return paths


def drop_window_duplicates(
    hyps: list[MatchHypothesis], windows: Sequence[Window], vrts: Sequence[Path]
) -> list[MatchHypothesis]:
    """Keep one hypothesis per (keyframe, place): overlapping windows of one raster find
    the same place twice, and two hypotheses of one keyframe would split its credibility.
    Places are compared in the source raster's level-0 pixels (window offset added);
    the one with more inliers is kept."""
    by_vrt = {str(v): w for v, w in zip(vrts, windows, strict=True)}
    kept: list[tuple[MatchHypothesis, int, float, float, float]] = []
    for h in sorted(hyps, key=lambda h: -h.inliers):
        w = by_vrt.get(str(h.tile.path))
        if w is None:
            kept.append((h, -1, 0.0, 0.0, 0.0))
            continue
        x = float(h.scores.get("centre_x", 0.0)) + w.col_off
        y = float(h.scores.get("centre_y", 0.0)) + w.row_off
        radius = max(float(h.scores.get("footprint_diag_px", 0.0)) * 0.25, 5.0)
        if any(k.keyframe_id == h.keyframe_id and rid == w.raster.id
               and math.hypot(x - kx, y - ky) < max(radius, kr)
               for k, rid, kx, ky, kr in kept):
            continue
        kept.append((h, w.raster.id, x, y, radius))
    return [k[0] for k in kept]


def _nothing(video: str | os.PathLike[str], kset: KeyframeSet | None, cfg: LocateConfig,
             target_xy: tuple[float, float] | None) -> LocateResult:
    """The result when no keyframe gave a shortlist (no usable keyframe / no words)."""
    ref = kset.video.to_ref() if kset is not None else probe(video).to_ref()
    reason = ("no usable keyframe" if not (kset and kset.keyframes)
              else "no indexed block shares visual words with the footage")
    return LocateResult(verdict="not_located", video=ref,
                        keyframes=[k.to_ref() for k in (kset.keyframes if kset else [])],
                        candidates=[], reason=reason,
                        method={"target_xy": list(target_xy) if target_xy else None})


def _to_sources(result: LocateResult, windows: Sequence[Window], vrts: Sequence[Path],
                hash_tiles: bool) -> None:
    """Rewrite window tiles of ``result`` (candidates and shot placements) as their
    original rasters (in place); tiles searched whole keep their reference (hashed when
    ``hash_tiles``)."""
    by_vrt = {str(v): w for v, w in zip(vrts, windows, strict=True)}
    for c in result.candidates:
        w = by_vrt.get(c.tile)
        if w is None:
            continue
        shift = np.array([[1.0, 0.0, w.col_off], [0.0, 1.0, w.row_off], [0.0, 0.0, 1.0]])
        if c.homography:
            c.homography = (shift @ np.asarray(c.homography, np.float64)).tolist()
        c.tile_xy = to_source_px(w, c.tile_xy)
        if "centre_x" in c.scores and "centre_y" in c.scores:
            c.scores["centre_x"] += w.col_off
            c.scores["centre_y"] += w.row_off
        c.scores["window_col_off"] = float(w.col_off)
        c.scores["window_row_off"] = float(w.row_off)
        c.tile = w.raster.path
    for p in (p for s in result.shots for p in s.placements):
        w = by_vrt.get(p.tile)
        if w is None:
            continue
        shift = np.array([[1.0, 0.0, w.col_off], [0.0, 1.0, w.row_off], [0.0, 0.0, 1.0]])
        p.homography = (shift @ np.asarray(p.homography, np.float64)).tolist()
        p.tile = w.raster.path
    refs: dict[str, TileRef] = {}
    vrt_paths = {str(v) for v in vrts}
    for ref in result.tiles:
        if ref.path not in vrt_paths:
            digest = sha256_file(ref.path)[0] if hash_tiles else ref.sha256
            refs[ref.path] = replace(ref, sha256=digest)
    for w in windows:
        if w.raster.path not in refs:
            tile = catalog_file(w.raster.path)
            refs[w.raster.path] = tile.to_ref(w.raster.sha256)
    result.tiles = list(refs.values())
    result.warnings = [_unwindow(msg, windows, vrts) for msg in result.warnings]


def _unwindow(message: str, windows: Sequence[Window], vrts: Sequence[Path]) -> str:
    for v, w in zip(vrts, windows, strict=True):
        message = message.replace(str(v), f"{w.raster.path} (window {w.col_off},{w.row_off})")
    return message
