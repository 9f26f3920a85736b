"""Calibrated confidence: the probability that a candidate place is right, from its evidence.

The ranking (:mod:`workbench.rank.ranking`) groups the hypotheses of all keyframes into
places (clusters).  For each place this module reads the evidence the engine already
has (:class:`Evidence`: inliers and geometric plausibility of the best placement, its
share of its keyframe's credibility, how many keyframes and shots agree, how many
near-identical frames of the same shot do *not* see it, how many rival places there
are) and maps it to a probability through a small model fitted on a generated
calibration set (``benchmarks/calibration``: rendered clips with truth, disjoint from
``benchmarks/locate``, with negatives): the share of right places per bin of evidence
strength (:func:`strength`), as a posterior mean ``(right + 1) / (n + 2)``, made
monotone, times the place's combined evidence (which keeps places that exclude each
other, one keyframe matching two places, from both looking certain).  Read it as a
probability: of candidates reported at 0.8, about 8 in 10 should be right.

Why not a logistic regression on the features: on the calibration set (and on the
benchmark) every place that passes the geometric gates is right; there is no wrong
place to fit a slope on, so the data only bound the error rate, and that is what the
fitted value says (``(n + 1) / (n + 2)`` for ``n`` right places of ``n``).  Refitting
with wrong places in the set makes the bins separate by themselves.

The fitted constants are below (:data:`MODEL`), written by
``benchmarks/calibration/fit.py``; :data:`MODEL_VERSION` names the fit.
:data:`workbench.rank.model.MAX_CONFIDENCE` still caps what is reported.
"""

from __future__ import annotations

import bisect
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
    """``evidence`` with ``n_rivals`` set: other places with at least half the combined evidence."""
    out = []
    for i, e in enumerate(evidence):
        n = sum(1 for j, o in enumerate(evidence) if j != i and o.combined >= 0.5 * e.combined)
        out.append(Evidence(**{**e.__dict__, "n_rivals": n}))
    return out


def strength(e: Evidence) -> float:
    """One evidence-strength score of a place, increasing with every kind of support:
    ``log(1 + inliers x plausibility) + log(keyframes agreeing) + log(unconfirmed)``."""
    return (math.log1p(max(0.0, e.inliers) * max(0.0, e.plausibility))
            + math.log(max(1, e.n_keyframes)) + math.log(max(1e-6, e.unconfirmed)))


@dataclass(frozen=True)
class Model:
    """Monotone step function of :func:`strength`: a place whose strength is at least
    ``edges[i - 1]`` (and below ``edges[i]``) gets ``probs[i]``; ``len(probs) ==
    len(edges) + 1``.  Fitted per strength bin as the posterior mean of the share right,
    ``(right + 1) / (n + 2)`` (uniform prior), made monotone (pool adjacent violators):
    calibrated in expectation, and never more certain than the number of observed
    places allows (a bin of ``n`` places, all right, says ``(n + 1) / (n + 2)``).
    ``counts``: calibration places per bin (documentation of the fit)."""

    version: str
    edges: tuple[float, ...]
    probs: tuple[float, ...]
    counts: tuple[int, ...] = ()

    @property
    def cap(self) -> float:
        """The largest confidence this model ever reports."""
        return max(self.probs)

    def probability(self, e: Evidence) -> float:
        """The calibrated probability that the place of ``e`` is right: the fitted share
        right at its :func:`strength`, times its ``combined`` evidence (the best
        keyframe's share of its own credibility, raised by agreeing keyframes: places one
        keyframe matches equally well exclude each other, so their probabilities cannot
        add up to more than one, and agreement of other keyframes makes a coincidence
        less likely)."""
        return self.probs[bisect.bisect_right(self.edges, strength(e))] * max(0.0, e.combined)


# BEGIN FITTED (written by benchmarks/calibration/fit.py; do not edit by hand)
MODEL_VERSION = "bins-360clips-212places-sift"
MODEL = Model(
    version=MODEL_VERSION,
    edges=(4.4308,),
    probs=(0.973, 0.9944),
    counts=(35, 177),
)
# END FITTED


def calibrated_confidences(evidence: Sequence[Evidence], model: Model | None = None) -> list[float]:
    """The calibrated probability of each place of one job (``n_rivals`` computed here)."""
    m = model or MODEL
    return [m.probability(e) for e in with_rivals(evidence)]
