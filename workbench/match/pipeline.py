"""Match one keyframe against every tile of a catalog, with the backend the config names.

The backends (:class:`workbench.match.backend.Matcher`) are the SIFT cascade
(:class:`workbench.match.cascade.SiftMatcher`: RootSIFT + USAC/MAGSAC, guided growth,
coarse-to-fine refinement) and the optional learned matcher
(:class:`workbench.match.learned.LearnedBackend`, XFeat + LighterGlue).
``MatchConfig.matcher`` selects them (:func:`matcher_for`): ``"sift"`` alone, ``"auto"``
(SIFT, then the learned backend for a keyframe SIFT left without a plausible placement,
when its extra is installed) or ``"learned"`` (SIFT and the learned backend on every
keyframe).  The plausibility gates (:mod:`workbench.match.gates`) take the caller's
thresholds (``gates``: :meth:`workbench.rank.model.RankConfig.gates`).

Conventions: keyframe images ``(H, W, 3) uint8`` BGR with an overlay mask
``(H, W) uint8`` (255 = burned-in overlay, ignored); homographies map keyframe
full-resolution pixels to tile level-0 pixels, ``(x, y)`` = (col, row) with
the centre of the top-left pixel at ``(0, 0)``; tile CRS is the tile's own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import workbench.match.learned as learned
from workbench.errors import UsageError
from workbench.imagery.catalog import Tile, TileCatalog
from workbench.keyframes.model import Keyframe
from workbench.match.backend import Matcher
from workbench.match.cascade import SiftMatcher
from workbench.match.gates import GateConfig, has_plausible
from workbench.match.model import MATCHERS, MatchConfig, MatchHypothesis
from workbench.match.tilefeatures import TileFeatureCache
from workbench.progress import CancelToken, ProgressCallback, report

log = logging.getLogger(__name__)

_warned_missing = False


@dataclass
class ChainMatcher:
    """``first`` on every keyframe, then ``second`` where ``when(first's hypotheses)``."""

    first: Matcher
    second: Matcher
    when: Callable[[Sequence[MatchHypothesis]], bool]
    name: str = "chain"

    def match(
        self, kf: Keyframe, tiles: Sequence[Tile], cache: TileFeatureCache, *,
        progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
    ) -> list[MatchHypothesis]:
        """``first``'s placements of ``kf``, plus ``second``'s when asked for."""
        hyps = self.first.match(kf, tiles, cache, progress=progress, cancel=cancel)
        if self.when(hyps):
            # no progress: the keyframe's progress already reached the first's end
            hyps += self.second.match(kf, tiles, cache, cancel=cancel)
        return hyps

    def finish(
        self, keyframes: Sequence[Keyframe], tiles: Sequence[Tile], cache: TileFeatureCache, *,
        cancel: CancelToken | None = None,
    ) -> list[MatchHypothesis]:
        """Both backends' job-level passes."""
        return (self.first.finish(keyframes, tiles, cache, cancel=cancel)
                + self.second.finish(keyframes, tiles, cache, cancel=cancel))


@dataclass
class LearnedFallback:
    """The ``"auto"`` rule: the learned backend runs on a keyframe only when SIFT found
    no plausible placement (``gates``) and the learned extra is installed."""

    gates: GateConfig = field(default_factory=GateConfig)

    def __call__(self, hyps: Sequence[MatchHypothesis]) -> bool:
        global _warned_missing
        if has_plausible(hyps, self.gates):
            return False  # SIFT found a plausible placement: the common case costs nothing
        if not learned.available():
            if not _warned_missing:
                log.info("learned matcher fallback not installed (extra 'learned'); SIFT only")
                _warned_missing = True
            return False
        return True


def check_matcher(config: MatchConfig) -> None:
    """Fail fast on an unusable ``config.matcher``.

    Raises:
        UsageError: an unknown name.  MatcherUnavailableError: ``"learned"`` without
            its optional extra.
    """
    if config.matcher not in MATCHERS:
        raise UsageError(f"unknown matcher {config.matcher!r} (use one of {', '.join(MATCHERS)})")
    if config.matcher == "learned":
        learned.require()


def matcher_for(config: MatchConfig, gates: GateConfig | None = None) -> Matcher:
    """The backend ``config.matcher`` names (see the module doc); ``gates``: the caller's
    plausibility thresholds (default :class:`GateConfig`)."""
    check_matcher(config)
    gates = gates or GateConfig()
    sift = SiftMatcher(config)
    if config.matcher == "sift":
        return sift
    second = learned.LearnedBackend(config, gates)
    if config.matcher == "learned":
        return ChainMatcher(sift, second, lambda _: True, name="learned")
    return ChainMatcher(sift, second, LearnedFallback(gates), name="auto")


def match_keyframe(
    kf: Keyframe,
    catalog: TileCatalog,
    config: MatchConfig | None = None,
    *,
    gates: GateConfig | None = None,
    cache: TileFeatureCache | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> list[MatchHypothesis]:
    """All plausible placements of keyframe ``kf`` on the tiles of ``catalog``.

    ``kf.image``: ``(H, W, 3) uint8`` BGR; ``kf.overlay_mask``: ``(H, W) uint8``.
    ``gates``: plausibility thresholds (pass the ranking's, ``RankConfig.gates()``).
    ``cache``: tile features shared across keyframes (pass the same one for every
    keyframe of a job; a private one is made otherwise).
    Returns hypotheses sorted by inlier count (best first); possibly empty.
    """
    cfg = config or MatchConfig()
    backend = matcher_for(cfg, gates)
    cache = cache if cache is not None else TileFeatureCache(cfg)
    report(progress, f"matching {kf.id}", 0.0)
    hyps = backend.match(kf, list(catalog.tiles), cache, progress=progress, cancel=cancel)
    report(progress, f"matching {kf.id}", 1.0)
    hyps.sort(key=lambda m: -m.inliers)
    return hyps


def finish_matching(
    keyframes: Sequence[Keyframe],
    catalog: TileCatalog,
    config: MatchConfig | None = None,
    *,
    gates: GateConfig | None = None,
    cache: TileFeatureCache,
    cancel: CancelToken | None = None,
) -> list[MatchHypothesis]:
    """Extra placements after every keyframe of a job went through :func:`match_keyframe`
    with ``cache`` (e.g. the learned backend retrying keyframes with the job's hints)."""
    backend = matcher_for(config or MatchConfig(), gates)
    return backend.finish(keyframes, list(catalog.tiles), cache, cancel=cancel)
