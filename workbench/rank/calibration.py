"""Calibrated confidence: the probability that a candidate place is right, from its evidence.

The ranking (:mod:`workbench.rank.ranking`) groups the hypotheses of all keyframes into
places (clusters).  For each place this module reads the evidence the engine already
has (:class:`Evidence`: inliers and geometric plausibility of the best placement, its
share of its keyframe's credibility, how many keyframes and shots agree, how many
near-identical frames of the same shot do *not* see it, how many rival places there
are) and maps it through a small logistic model fitted on a generated calibration set
(``benchmarks/calibration``: rendered clips with truth, disjoint from
``benchmarks/locate``, with negatives).  The output is meant to be read as a
probability: of candidates reported at 0.8, about 8 in 10 are right.

The coefficients are constants below (:data:`MODEL`), written by
``benchmarks/calibration/fit.py``; :data:`MODEL_VERSION` names the fit.  The largest
probability reported (``cap``) is fitted too: it is the rule-of-three upper bound of the
error rate among the calibration set's most confident candidates, so a confidence never
claims more certainty than the data behind it supports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from workbench.match.gates import effective_inliers
from workbench.match.model import MatchHypothesis


class Member(Protocol):
    """What this module reads of one hypothesis of a place (the ranking's ``_Hyp``)."""

    hyp: MatchHypothesis
    lon: float
    lat: float
    plaus: float
    post: float


@dataclass(frozen=True)
class Evidence:
    """The evidence behind one candidate place (one cluster of hypotheses).

    ``combined``: the ranking's evidence combination (best keyframe's credibility raised
    by agreeing keyframes, 0-1) before the same-shot penalty ``unconfirmed`` (0-1, 1 =
    every nearby frame of the shot agrees).  ``inliers``: effective inliers of the best
    placement; ``plausibility``: its geometric plausibility (0-1); ``share``: its share
    of its keyframe's credibility (low when the keyframe also matches elsewhere).
    ``n_keyframes`` / ``n_shots``: distinct keyframes / shots supporting the place;
    ``n_matched``: keyframes matched in the job.  ``n_rivals``: other places whose
    combined evidence is at least half of this one's.  ``keyframe_id``, ``lon``,
    ``lat`` (WGS84) name the place (not used by the model).
    """

    combined: float
    unconfirmed: float
    inliers: float
    plausibility: float
    share: float
    n_keyframes: int
    n_shots: int
    n_matched: int
    n_rivals: int = 0
    keyframe_id: str = ""
    lon: float = 0.0
    lat: float = 0.0


def cluster_evidence(
    members: Sequence[Member],
    combined: float,
    unconfirmed: float,
    shot_of: Mapping[str, Any],
    n_matched: int,
) -> Evidence:
    """Evidence of one place: ``members`` strongest first (the first is the representative),
    ``shot_of``: keyframe id -> shot index (``None`` if unknown)."""
    best = members[0]
    kfs = {m.hyp.keyframe_id for m in members}
    shots = {shot_of.get(k) for k in kfs}
    top = max(members, key=lambda m: effective_inliers(m.hyp) * m.plaus)
    return Evidence(
        combined=float(combined), unconfirmed=float(unconfirmed),
        inliers=effective_inliers(top.hyp), plausibility=float(top.plaus),
        share=float(max(m.post for m in members)), n_keyframes=len(kfs),
        n_shots=len(shots), n_matched=max(1, int(n_matched)),
        keyframe_id=best.hyp.keyframe_id, lon=float(best.lon), lat=float(best.lat),
    )


def with_rivals(evidence: Sequence[Evidence]) -> list[Evidence]:
    """``evidence`` with ``n_rivals`` filled in (places with at least half the combined evidence)."""
    out = []
    for i, e in enumerate(evidence):
        n = sum(1 for j, o in enumerate(evidence) if j != i and o.combined >= 0.5 * e.combined)
        out.append(Evidence(**{**e.__dict__, "n_rivals": n}))
    return out


FEATURES = ("logit_combined", "log_unconfirmed", "log_inliers", "plausibility", "share",
            "log_keyframes", "agree_fraction", "several_shots", "log1p_rivals")


def features(e: Evidence) -> list[float]:
    """The model's inputs for ``e`` (order of :data:`FEATURES`)."""
    c = min(1.0 - 1e-6, max(1e-6, e.combined))
    return [
        math.log(c / (1.0 - c)),
        math.log(max(1e-6, e.unconfirmed)),
        math.log(max(1.0, e.inliers)),
        e.plausibility,
        e.share,
        math.log(max(1, e.n_keyframes)),
        e.n_keyframes / max(1, e.n_matched),
        1.0 if e.n_shots >= 2 else 0.0,
        math.log1p(e.n_rivals),
    ]


@dataclass(frozen=True)
class Model:
    """Logistic model: ``p = 1 / (1 + exp(-(intercept + sum(coef * (x - mean) / scale))))``,
    then capped at ``cap``."""

    version: str
    intercept: float
    coef: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    cap: float

    def probability(self, e: Evidence) -> float:
        """The calibrated probability that the place of ``e`` is right (0..``cap``)."""
        z = self.intercept
        for c, x, m, s in zip(self.coef, features(e), self.mean, self.scale, strict=True):
            z += c * (x - m) / s
        p = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
        return min(self.cap, p)


# BEGIN FITTED (written by benchmarks/calibration/fit.py; do not edit by hand)
MODEL_VERSION = "unfitted"
MODEL = Model(
    version=MODEL_VERSION,
    intercept=0.0,
    coef=(1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    mean=(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    scale=(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
    cap=0.99,
)
# END FITTED


def calibrated_confidences(evidence: Sequence[Evidence], model: Model | None = None) -> list[float]:
    """The calibrated probability of each place of one job (``n_rivals`` computed here)."""
    m = model or MODEL
    return [m.probability(e) for e in with_rivals(evidence)]
