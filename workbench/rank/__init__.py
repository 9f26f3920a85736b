"""The rank stage: match hypotheses of all keyframes -> a verdict and ranked candidates.

Public API: :func:`rank_hypotheses`, :class:`RankConfig` (its :meth:`RankConfig.gates`
go to the matcher too), :data:`MAX_CONFIDENCE`.
"""

from workbench.rank.model import MAX_CONFIDENCE, RankConfig
from workbench.rank.ranking import rank_hypotheses

__all__ = ["MAX_CONFIDENCE", "RankConfig", "rank_hypotheses"]
