"""The SIFT matcher backend: RootSIFT variants of the keyframe against every tile, then
guided growth of weak hypotheses and coarse-to-fine refinement.

* **Scale** (footage usually 3-20x finer than the imagery): the keyframe is described at
  several shrink levels; tiles are read at their own resolution, or coarser when large
  (``tile_max_pixels``), then the keyframe's best hypotheses are re-verified on a
  native-resolution window (:func:`workbench.match.guided.refine`).
* **Cascade**: variant groups (polarity x stretch) are tried in order and the rest
  skipped once one placement has ``early_stop_inliers`` inliers.
* **Weak seeds** are grown by guided matching (:func:`workbench.match.guided.grow`).

Conventions: keyframes ``(H, W, 3) uint8`` BGR, overlay masks ``(H, W) uint8``;
homographies map keyframe full-resolution px -> tile level-0 px, ``(x, y)`` = (col, row).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from workbench.imagery.catalog import Tile
from workbench.keyframes.model import Keyframe
from workbench.match.features import match_descriptors, match_per_owner
from workbench.match.guided import grow, refine
from workbench.match.model import Found, MatchConfig, MatchHypothesis, Variant
from workbench.match.sift import dedupe, estimate, keyframe_variants, to_hypothesis
from workbench.match.tilefeatures import TileDatabase, TileFeatureCache
from workbench.progress import CancelToken, ProgressCallback, check_cancel, report


@dataclass
class SiftMatcher:
    """The RootSIFT backend (settings: the :class:`MatchConfig` itself)."""

    config: MatchConfig
    name: str = "sift"

    def match(
        self, kf: Keyframe, tiles: Sequence[Tile], cache: TileFeatureCache, *,
        progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
    ) -> list[MatchHypothesis]:
        """Placements of ``kf`` (``kf.image`` ``(H, W, 3) uint8`` BGR) on ``tiles``."""
        cfg = self.config
        tiles = list(tiles)
        db = cache.database(tiles)
        check_cancel(cancel)
        h, w = kf.image.shape[:2]
        per_tile: dict[int, list[Found]] = {}
        groups = [(p, st) for st in cfg.stretches for p in cfg.polarities]
        variants: list[Variant] = []
        for k, group in enumerate(groups):
            # cascade: stop once one placement is clearly supported (saves time on easy footage)
            most = max((len(f.kxy) for fs in per_tile.values() for f in fs), default=0)
            if most >= cfg.early_stop_inliers:
                break
            check_cancel(cancel)
            report(progress, f"matching {kf.id}", 0.1 + 0.6 * k / len(groups))
            group_variants = keyframe_variants(kf.image, kf.overlay_mask, cfg, only=group)
            variants += group_variants
            per_tile = _match_group(group_variants, db, tiles, cache, cfg, (w, h), per_tile)
        most = max((len(f.kxy) for fs in per_tile.values() for f in fs), default=0)
        if most < cfg.grow_below and cfg.zoom_levels:
            # deep zoom: nothing convincing at the usual scales; the keyframe may be far
            # finer than the imagery, so shrink it further (small images, few features)
            for group in groups:
                check_cancel(cancel)
                deep = keyframe_variants(kf.image, kf.overlay_mask, cfg, only=group,
                                         levels=cfg.zoom_levels, min_side=cfg.zoom_min_side)
                variants += deep
                per_tile = _match_group(deep, db, tiles, cache, cfg, (w, h), per_tile)
        hyps: list[MatchHypothesis] = []
        top = max((len(f.kxy) for fs in per_tile.values() for f in fs), default=0)
        for j, (ti, found) in enumerate(sorted(per_tile.items())):
            check_cancel(cancel)
            report(progress, f"verifying {kf.id}", 0.7 + 0.3 * j / max(len(per_tile), 1))
            tile = tiles[ti]
            tf = cache.coarse(tile)
            for best in dedupe(found, cfg.max_hypotheses_per_tile):
                hyp = best
                if len(hyp.kxy) < cfg.grow_below and tf is not None:
                    grown = grow(hyp, variants, tf, cfg, (w, h))
                    if grown is not None and len(grown.kxy) > len(hyp.kxy):
                        hyp = grown
                if len(hyp.kxy) < cfg.min_inliers:
                    continue  # a seed that did not grow
                if cfg.refine and hyp.scores["tile_scale"] > 1.3 and len(best.kxy) >= top:
                    # only the keyframe's best placement is worth a native-resolution read
                    hyp = refine(hyp, variants, tile, cache, cfg, (w, h))
                hyps.append(to_hypothesis(hyp, kf.id, tile, (w, h)))
        return hyps

    def finish(
        self, keyframes: Sequence[Keyframe], tiles: Sequence[Tile], cache: TileFeatureCache, *,
        cancel: CancelToken | None = None,
    ) -> list[MatchHypothesis]:
        """Nothing: SIFT has no job-level pass."""
        return []


def _match_group(
    variants: Sequence[Variant], db: TileDatabase, tiles: Sequence[Tile],
    cache: TileFeatureCache, cfg: MatchConfig, frame_wh: tuple[int, int],
    per_tile: dict[int, list[Found]],
) -> dict[int, list[Found]]:
    """Match variants against the all-tile database; add one hypothesis per (variant, tile)."""
    for v in variants:
        if cfg.per_tile_ratio:
            pairs = match_per_owner(v.feats, db.feats, db.owner, ratio=cfg.ratio)
        else:
            pairs = match_descriptors(v.feats, db.feats, ratio=cfg.ratio, mutual_unique=True)
        if len(pairs) < cfg.min_inliers:
            continue
        owner = db.owner[pairs[:, 1]]
        for ti in np.unique(owner):
            sub = pairs[owner == ti]
            if len(sub) < cfg.min_inliers:
                continue
            tf = cache.coarse(tiles[int(ti)])
            if tf is None:
                continue
            kxy = v.feats.xy[sub[:, 0]].astype(np.float64)
            wxy = tf.feats.xy[sub[:, 1] - int(db.starts[ti])].astype(np.float64)
            f = estimate(v, kxy, wxy, tf, cfg, frame_wh, min(cfg.seed_inliers, cfg.min_inliers))
            if f is not None:
                per_tile.setdefault(int(ti), []).append(f)
    return per_tile
