"""Match one keyframe against every tile of a catalog: RootSIFT + USAC/MAGSAC homography.

How it copes with real footage:

* **Scale** (footage usually 3-20x finer than the imagery): the keyframe is
  described at several shrink levels (``MatchConfig.frame_levels``) so that one of
  them has roughly the tile's ground resolution; tiles are read at their own
  resolution, or coarser when large (``tile_max_pixels``), then the best
  hypotheses are re-verified on a native-resolution window (coarse-to-fine).
* **Heading**: SIFT is rotation invariant (any heading 0-360 degrees).
* **Oblique views** (down to 30 degrees depression): affine simulation; the
  keyframe is also described after a vertical stretch of 1/sin(depression)
  (``stretches``), which undoes most of the foreshortening of a pitched camera.
* **Cross-modal / white-hot thermal**: CLAHE-normalised grey, and the inverted
  keyframe is described too (``polarities``).
* **Geometry**: ``cv2.findHomography`` with ``USAC_MAGSAC``; inliers and geometric
  statistics are kept in :attr:`MatchHypothesis.scores` for :mod:`workbench.rank`.

Conventions: keyframe images ``(H, W, 3) uint8`` BGR with an overlay mask
``(H, W) uint8`` (255 = burned-in overlay, ignored); homographies map keyframe
full-resolution pixels to tile level-0 pixels, ``(x, y)`` = (col, row) with
the centre of the top-left pixel at ``(0, 0)``; tile CRS is the tile's own.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

from workbench.errors import UsageError
from workbench.match.features import (
    Features,
    detect,
    match_descriptors,
    match_per_owner,
    normalise,
    to_grey,
    usable_mask,
)
from workbench.match.geometry import hypothesis_scores
from workbench.match.tilefeatures import TileDatabase, TileFeatureCache, TileFeatures
from workbench.progress import CancelToken, ProgressCallback, check_cancel, report

if TYPE_CHECKING:
    from workbench.imagery.catalog import Tile, TileCatalog
    from workbench.keyframes.model import Keyframe

log = logging.getLogger(__name__)

POLARITIES = ("normal", "inverted")


@dataclass
class MatchConfig:
    """Tuning of :func:`match_keyframe` (defaults are what the benchmark uses).

    ``frame_levels``: keyframe shrink factors tried (1 = full resolution).
    ``stretches``: vertical stretch factors (affine simulation of oblique views).
    ``polarities``: ``"normal"`` and/or ``"inverted"`` (white-hot thermal).
    ``ratio``: Lowe ratio-test threshold.  ``ransac_px``: MAGSAC threshold in
    working tile pixels.  ``min_inliers``: smallest homography support kept.
    ``tile_max_pixels``: tiles larger than this are read coarser for the first pass.
    ``refine``: re-verify coarse hypotheses on a native-resolution tile window.
    ``seed_inliers``/``grow_below``/``grow_radius_px``/``grow_max_dist``: hypotheses
    with fewer than ``grow_below`` inliers (down to ``seed_inliers``) are grown by
    guided matching: every keyframe feature is matched only to tile features within
    ``grow_radius_px`` working px of where the homography puts it (local ratio test,
    RootSIFT distance below ``grow_max_dist``), then MAGSAC runs again; seeds that do
    not reach ``min_inliers`` are dropped.
    ``per_tile_ratio``: apply the ratio test within each tile (not across all tiles).
    ``early_stop_inliers``: variant groups (polarity x stretch) are tried in order and
    the rest skipped once a hypothesis has this many inliers.
    ``matcher``: ``"sift"`` (RootSIFT only), ``"auto"`` (RootSIFT, then the learned
    matcher of :mod:`workbench.learned` for keyframes left without a plausible
    hypothesis, when its extra is installed) or ``"learned"`` (the learned matcher on
    every keyframe too; an error without the extra).  ``learned_*``: its settings
    (keyframe shrink levels, headings swept, feature counts, LighterGlue runs per
    keyframe, inlier floor of its hypotheses).
    """

    frame_levels: tuple[float, ...] = (1.0, 0.5, 0.25)
    stretches: tuple[float, ...] = (1.0, 1.6)
    polarities: tuple[str, ...] = POLARITIES
    ratio: float = 0.85
    ransac_px: float = 3.0
    min_inliers: int = 8
    frame_min_side: int = 64
    frame_max_features: int = 2500
    tile_max_pixels: int = 2_000_000
    tile_max_features: int = 30_000
    refine: bool = True
    refine_max_pixels: int = 1_500_000
    max_hypotheses_per_tile: int = 3
    early_stop_inliers: int = 60
    per_tile_ratio: bool = True
    seed_inliers: int = 8
    grow_below: int = 40
    grow_radius_px: float = 8.0
    grow_max_dist: float = 0.8
    matcher: str = "auto"
    learned_levels: tuple[float, ...] = (1.0, 0.5)
    learned_headings: int = 4
    learned_frame_features: int = 2048
    learned_tile_features: int = 4096
    learned_top: int = 2
    learned_min_inliers: int = 25


@dataclass
class MatchHypothesis:
    """A keyframe placed on a tile by a homography.

    ``homography``: ``(3, 3) float64`` keyframe px -> tile level-0 px.
    ``keyframe_xy`` / ``tile_xy``: ``(N, 2) float64`` inlier tie points (keyframe
    full-resolution px / tile level-0 px).  ``scores``: geometric statistics
    (see :func:`workbench.geometry.hypothesis_scores`) plus ``putative`` matches,
    ``polarity`` (0 normal, 1 inverted), ``stretch`` and ``level``.
    """

    keyframe_id: str
    tile: Tile
    homography: np.ndarray
    keyframe_xy: np.ndarray
    tile_xy: np.ndarray
    inliers: int
    scores: dict[str, float] = field(default_factory=dict)
    frame_size: tuple[int, int] = (0, 0)  # (width, height) of the keyframe


@dataclass
class Variant:
    polarity: int
    stretch: float
    level: float
    feats: Features  # xy in keyframe full-resolution px


def keyframe_variants(
    image: np.ndarray, overlay_mask: np.ndarray | None, config: MatchConfig,
    only: tuple[str, float] | None = None,
) -> list[Variant]:
    """Describe a ``(H, W, 3) uint8`` BGR keyframe under every (polarity, stretch, level).

    ``overlay_mask``: ``(H, W) uint8`` 255 = burned-in overlay (no keypoints there).
    ``only``: restrict to one ``(polarity, stretch)`` group.
    Returned keypoints are in the keyframe's full-resolution pixel grid.
    """
    grey = to_grey(image)
    h, w = grey.shape
    usable = usable_mask(grey, overlay_mask)
    out: list[Variant] = []
    for pol_name in config.polarities:
        if only is not None and pol_name != only[0]:
            continue
        pol = POLARITIES.index(pol_name)
        base = 255 - grey if pol else grey
        for stretch in config.stretches:
            if only is not None and stretch != only[1]:
                continue
            for level in config.frame_levels:
                sx, sy = level, level * stretch
                nw, nh = round(w * sx), round(h * sy)
                if min(nw, nh) < config.frame_min_side or max(sx, sy) > 2.0:
                    continue
                interp = cv2.INTER_AREA if sx < 1 else cv2.INTER_LINEAR
                img = cv2.resize(base, (nw, nh), interpolation=interp)
                msk = cv2.resize(usable, (nw, nh), interpolation=cv2.INTER_NEAREST)
                img = normalise(img, msk > 0)
                f = detect(img, msk, max_features=config.frame_max_features)
                if len(f) < 4:
                    continue
                ax, ay = nw / w, nh / h
                back = np.array([[1 / ax, 0, 0.5 / ax - 0.5], [0, 1 / ay, 0.5 / ay - 0.5]])
                out.append(Variant(pol, stretch, level, f.mapped(back)))
    return out


def match_keyframe(
    kf: Keyframe,
    catalog: TileCatalog,
    config: MatchConfig | None = None,
    *,
    cache: TileFeatureCache | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> list[MatchHypothesis]:
    """All plausible placements of keyframe ``kf`` on the tiles of ``catalog``.

    ``kf.image``: ``(H, W, 3) uint8`` BGR; ``kf.overlay_mask``: ``(H, W) uint8``.
    ``cache``: tile features shared across keyframes (pass the same one for every
    keyframe of a job; a private one is made otherwise).
    Returns hypotheses sorted by inlier count (best first); possibly empty.
    """
    cfg = config or MatchConfig()
    cache = cache if cache is not None else TileFeatureCache(cfg)
    tiles = list(catalog.tiles)
    report(progress, f"matching {kf.id}", 0.0)
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
    from workbench.match.guided import grow, refine  # imported here: guided imports this module

    hyps: list[MatchHypothesis] = []
    top = max((len(f.kxy) for fs in per_tile.values() for f in fs), default=0)
    for j, (ti, found) in enumerate(sorted(per_tile.items())):
        check_cancel(cancel)
        report(progress, f"verifying {kf.id}", 0.7 + 0.3 * j / max(len(per_tile), 1))
        tile = tiles[ti]
        tf = cache.coarse(tile)
        for best in _dedupe(found, cfg.max_hypotheses_per_tile):
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
            hyps.append(
                MatchHypothesis(
                    keyframe_id=kf.id, tile=tile, homography=hyp.h0, keyframe_xy=hyp.kxy,
                    tile_xy=hyp.txy, inliers=len(hyp.kxy), scores=hyp.scores, frame_size=(w, h),
                )
            )
    if _want_learned(cfg, hyps):
        from workbench.match.learned import learned_hypotheses

        hyps += learned_hypotheses(kf, tiles, cache, cfg, cancel=cancel)
    report(progress, f"matching {kf.id}", 1.0)
    hyps.sort(key=lambda m: -m.inliers)
    return hyps


MATCHERS = ("sift", "auto", "learned")
_warned_missing = False


def _want_learned(cfg: MatchConfig, hyps: Sequence[MatchHypothesis]) -> bool:
    """Whether the learned matcher runs on this keyframe (see ``MatchConfig.matcher``)."""
    global _warned_missing
    if cfg.matcher not in MATCHERS:
        raise UsageError(f"unknown matcher {cfg.matcher!r} (use one of {', '.join(MATCHERS)})")
    if cfg.matcher == "sift":
        return False
    if cfg.matcher == "learned":
        return True
    from workbench.rank.ranking import RankConfig, effective_inliers, plausibility

    rc = RankConfig()
    if any(plausibility(h.scores, rc) * effective_inliers(h) >= rc.inlier_mid for h in hyps):
        return False  # SIFT found a plausible placement: the common case costs nothing
    from workbench.match.learned import available

    if not available():
        if not _warned_missing:
            log.info("learned matcher fallback not installed (extra 'learned'); SIFT only")
            _warned_missing = True
        return False
    return True


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


@dataclass
class Found:
    h0: np.ndarray  # keyframe px -> tile level-0 px
    kxy: np.ndarray
    txy: np.ndarray
    scores: dict[str, float]
    variant: Variant


def match_variants(
    variants: Sequence[Variant], tf: TileFeatures, cfg: MatchConfig, frame_wh: tuple[int, int],
    *, guide: np.ndarray | None = None, guide_px: float = 0.0,
) -> list[Found]:
    """Try every keyframe variant against one tile (window); one hypothesis per variant.

    ``guide``: an expected keyframe->level-0 homography; putative matches farther
    than ``guide_px`` level-0 px from its prediction are dropped (refinement).
    """
    found: list[Found] = []
    for v in variants:
        pairs = match_descriptors(v.feats, tf.feats, ratio=cfg.ratio)
        if len(pairs) < cfg.min_inliers:
            continue
        kxy = v.feats.xy[pairs[:, 0]].astype(np.float64)
        wxy = tf.feats.xy[pairs[:, 1]].astype(np.float64)  # working px
        if guide is not None:
            pred = cv2.perspectiveTransform(kxy[None], guide)[0]
            near = np.linalg.norm(pred - tf.to_level0(wxy), axis=1) < guide_px
            kxy, wxy = kxy[near], wxy[near]
        f = estimate(v, kxy, wxy, tf, cfg, frame_wh)
        if f is not None:
            found.append(f)
    return found


def estimate(
    v: Variant, kxy: np.ndarray, wxy: np.ndarray, tf: TileFeatures, cfg: MatchConfig,
    frame_wh: tuple[int, int], min_inliers: int | None = None,
) -> Found | None:
    """USAC/MAGSAC homography from putative pairs (keyframe px, working px); ``None`` if weak."""
    need = cfg.min_inliers if min_inliers is None else min_inliers
    if len(kxy) < need:
        return None
    hm, inl = cv2.findHomography(
        kxy, wxy, cv2.USAC_MAGSAC, cfg.ransac_px, maxIters=5000, confidence=0.999
    )
    if hm is None or inl is None:
        return None
    m = inl.ravel().astype(bool)
    if int(m.sum()) < need:
        return None
    h0 = tf.level0_from_working() @ hm
    h0 = h0 / h0[2, 2]
    kin = kxy[m]
    tin = tf.to_level0(wxy[m])
    scores = hypothesis_scores(h0, kin, tin, frame_wh, tf.tile_gsd_m)
    if not np.isfinite(scores.get("anisotropy", np.nan)):
        return None
    scores.update(
        putative=float(len(kxy)), polarity=float(v.polarity), stretch=v.stretch,
        level=v.level, tile_scale=tf.scale,
    )
    return Found(h0, kin, tin, scores, v)


def _dedupe(found: list[Found], keep: int) -> list[Found]:
    """Best hypotheses first, dropping those whose centre lands near a better one."""
    found = sorted(found, key=lambda f: -len(f.kxy))
    out: list[Found] = []
    for f in found:
        c = f.scores["centre_x"], f.scores["centre_y"]
        radius = max(f.scores["footprint_diag_px"] * 0.25, 5.0)
        if any(
            np.hypot(c[0] - o.scores["centre_x"], c[1] - o.scores["centre_y"]) < radius
            for o in out
        ):
            continue
        out.append(f)
        if len(out) >= keep:
            break
    return out
