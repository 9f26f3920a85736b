"""The match stage: place keyframes on reference tiles by homographies.

Public API: :func:`match_keyframe` (one keyframe, the backend ``MatchConfig.matcher``
names), :func:`finish_matching` (a job's last pass), :class:`MatchConfig`,
:class:`LearnedConfig`, :class:`MatchHypothesis`, :class:`GateConfig`,
:class:`TileFeatureCache`, :class:`Matcher` (the backend interface).
"""

from workbench.match.backend import Matcher
from workbench.match.gates import GateConfig, effective_inliers, plausibility
from workbench.match.model import MATCHERS, LearnedConfig, MatchConfig, MatchHypothesis
from workbench.match.pipeline import check_matcher, finish_matching, match_keyframe, matcher_for
from workbench.match.tilefeatures import TileFeatureCache

__all__ = [
    "MATCHERS",
    "GateConfig",
    "LearnedConfig",
    "MatchConfig",
    "MatchHypothesis",
    "Matcher",
    "TileFeatureCache",
    "check_matcher",
    "effective_inliers",
    "finish_matching",
    "match_keyframe",
    "matcher_for",
    "plausibility",
]
