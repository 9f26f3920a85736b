"""Types of the locate stage: :class:`LocateConfig` and the result file's name."""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.keyframes.model import KeyframeConfig
from workbench.match.model import MatchConfig
from workbench.rank.model import RankConfig

LOCATE_JSON = "locate.json"


@dataclass
class LocateConfig:
    """Settings of :func:`workbench.locate.locate`.

    ``match`` / ``rank`` / ``keyframes``: the stages' settings (the rank settings'
    plausibility gates reach the matcher too).
    ``max_keyframes``: keyframes matched (sharpest per shot first, spread over shots).
    ``companion_s``: when a clip yields fewer keyframes than ``max_keyframes`` (short
    single-shot clips), frames this many seconds before/after each keyframe, in the same
    shot, are matched too, so that agreement across frames can be measured (0 = off;
    never when the caller passes its own ``keyframes``, unless it asks for them).
    ``hash_tiles``: record each tile's SHA-256 in the result (for case files).
    ``feature_cache``: folder keeping tile features between jobs (default: the
    ``WORKBENCH_FEATURE_CACHE`` environment variable, else none).
    """

    match: MatchConfig = field(default_factory=MatchConfig)
    rank: RankConfig = field(default_factory=RankConfig)
    keyframes: KeyframeConfig = field(default_factory=KeyframeConfig)
    max_keyframes: int = 6
    companion_s: float = 1.0
    hash_tiles: bool = True
    threads: int = 0  # cv2.setNumThreads; 0 = leave OpenCV's default
    feature_cache: str | None = None  # on-disk tile-feature cache folder (see tilefeatures)
