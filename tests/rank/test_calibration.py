"""The calibrated confidence (workbench.rank.calibration): evidence, the fitted model, the hook."""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import pytest

from workbench.rank import calibration
from workbench.rank.calibration import Evidence, Model, cluster_evidence, strength, with_rivals
from workbench.rank.model import RankConfig


def _ev(**kw: float) -> Evidence:
    base = {"combined": 1.0, "unconfirmed": 1.0, "inliers": 60.0, "plausibility": 1.0,
            "share": 1.0, "n_keyframes": 3, "n_shots": 1, "n_matched": 3}
    base.update(kw)
    return Evidence(**base)  # type: ignore[arg-type]


def test_strength_grows_with_each_kind_of_support() -> None:
    e = _ev()
    assert strength(replace(e, inliers=120)) > strength(e)
    assert strength(replace(e, n_keyframes=4)) > strength(e)
    assert strength(replace(e, plausibility=0.5)) < strength(e)
    assert strength(replace(e, unconfirmed=0.6)) < strength(e)


def test_step_model_reads_its_bins_and_scales_by_the_combined_evidence() -> None:
    m = Model("t", edges=(2.0, 4.0), probs=(0.3, 0.7, 0.95), counts=(10, 10, 10))
    assert m.cap == 0.95
    weak = _ev(inliers=3, n_keyframes=1)  # log1p(3) < 2
    mid = _ev(inliers=20, n_keyframes=1)  # log1p(20) ~ 3.0
    strong = _ev(inliers=100, n_keyframes=3)
    assert m.probability(weak) == pytest.approx(0.3)
    assert m.probability(mid) == pytest.approx(0.7)
    assert m.probability(strong) == pytest.approx(0.95)
    # a place its keyframe also sees elsewhere (half the credibility) gets half
    assert m.probability(replace(strong, combined=0.5)) == pytest.approx(0.475)


def test_rivals_are_places_with_at_least_half_the_evidence() -> None:
    evs = with_rivals([_ev(combined=0.9), _ev(combined=0.5), _ev(combined=0.2)])
    assert [e.n_rivals for e in evs] == [1, 1, 2]


def test_cluster_evidence_counts_keyframes_and_shots() -> None:
    from workbench.match import MatchHypothesis

    def member(kf: str, n: int, plaus: float, post: float) -> SimpleNamespace:
        h = MatchHypothesis.__new__(MatchHypothesis)
        h.keyframe_id, h.inliers, h.scores = kf, n, {}
        return SimpleNamespace(hyp=h, lon=1.0, lat=2.0, plaus=plaus, post=post)

    ms = [member("a", 40, 1.0, 0.9), member("b", 80, 0.5, 0.8), member("c", 30, 1.0, 0.7)]
    e = cluster_evidence(ms, 0.97, 0.6, {"a": 0, "b": 0, "c": 1}, 4)
    assert (e.n_keyframes, e.n_shots, e.n_matched) == (3, 2, 4)
    assert e.inliers == 40 and e.plausibility == 1.0  # the best inliers x plausibility
    assert e.share == 0.9 and e.keyframe_id == "a" and (e.lon, e.lat) == (1.0, 2.0)
    assert e.combined == 0.97 and e.unconfirmed == 0.6


def test_fitted_model_is_monotone_and_keeps_strong_right_answers_located() -> None:
    m = calibration.MODEL
    assert m.version != "unfitted"
    assert len(m.probs) == len(m.edges) + 1 == len(m.counts)
    assert list(m.probs) == sorted(m.probs) and all(0 < p < 1 for p in m.probs)
    assert list(m.edges) == sorted(m.edges)
    # (n + 1) / (n + 2) per bin: never more certain than the places behind it allow
    for p, n in zip(m.probs, m.counts, strict=True):
        assert p <= (n + 1) / (n + 2) + 1e-4
    # a place supported by several keyframes with solid inliers is `located`
    several = _ev(inliers=25, n_keyframes=2, n_matched=3, combined=0.99)
    assert m.probability(several) >= RankConfig().located_at
    assert not math.isnan(m.probability(_ev(inliers=0, n_keyframes=1)))
