"""Types of the rank stage: :class:`RankConfig` and the confidence cap."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.match.gates import GateConfig


@dataclass
class RankConfig:
    """Thresholds of :func:`workbench.rank.ranking.rank_hypotheses`.

    ``inlier_mid``/``inlier_width``: logistic of the (geometry-weighted) inlier count
    giving a single keyframe's credibility.  ``max_anisotropy``/``max_scale_ratio``/
    ``min_spread``: the plausibility gates (:meth:`gates`, also passed to the matcher).
    ``located_at``/``ambiguous_at``: confidence thresholds of the verdicts.
    ``max_candidates``: candidates returned.
    ``other_weight``: weight of each agreeing keyframe after the best (correlation discount).
    ``confirm_s``/``missing_factor``: a place loses credibility (x ``missing_factor``) for
    each keyframe of the same shot within ``confirm_s`` seconds that does not see it.
    """

    inlier_mid: float = 12.0
    inlier_width: float = 3.0
    max_anisotropy: float = 4.0
    max_scale_ratio: float = 8.0
    min_spread: float = 0.02
    other_weight: float = 0.5
    located_at: float = 0.6
    ambiguous_at: float = 0.25
    max_candidates: int = 10
    cluster_min_m: float = 25.0
    confirm_s: float = 2.5
    missing_factor: float = 0.6

    def gates(self) -> GateConfig:
        """The plausibility gates these settings imply (for the matcher and the ranking)."""
        return GateConfig(inlier_mid=self.inlier_mid, max_anisotropy=self.max_anisotropy,
                          max_scale_ratio=self.max_scale_ratio, min_spread=self.min_spread)


# The confidence is never reported as certainty.  The calibrated model
# (workbench.rank.calibration, 2026-12-03 fit) says at most 0.994: 177 of 177 strongest
# calibration places were right, i.e. (n + 1) / (n + 2); the 95 % lower bound of that
# share is 1 - 3/177 = 0.983, so 0.99 is within what the data support, and reporting
# less than the model's 0.994 keeps a margin for footage unlike the generated set.
MAX_CONFIDENCE = 0.99
