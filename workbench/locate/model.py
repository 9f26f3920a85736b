"""Types of the locate stage: :class:`LocateConfig` and the result file's name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from workbench.keyframes.model import KeyframeConfig
from workbench.match.model import MatchConfig
from workbench.rank.model import RankConfig

LOCATE_JSON = "locate.json"

ImageryAccuracy = float | Mapping[str, float] | None
"""The reference imagery's stated horizontal accuracy, 1-sigma radial, metres: one value
for every raster, or per raster path (full path or file name); ``None``: not known."""


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
    ``feature_cache``: folder keeping tile features between jobs, and the VRTs of the
    windows an index search verified (``windows/``), so the same windows are not
    described again (default: the ``WORKBENCH_FEATURE_CACHE`` environment variable,
    else none).
    ``imagery_accuracy_m``: the reference imagery's stated horizontal accuracy (1-sigma
    radial, metres; :func:`workbench.position.ce90_to_sigma_m` converts a CE90), one value
    for all rasters or per raster path / file name: added in quadrature to every radius
    and listed as its ``imagery_m`` part; ``None`` (default): not known, the radii are
    relative to the imagery.  ``imagery_accuracy_source``: where that figure comes from
    (e.g. ``"analyst"``, ``"metadata: ..."``), recorded with it.
    """

    match: MatchConfig = field(default_factory=MatchConfig)
    rank: RankConfig = field(default_factory=RankConfig)
    keyframes: KeyframeConfig = field(default_factory=KeyframeConfig)
    max_keyframes: int = 6
    companion_s: float = 1.0
    hash_tiles: bool = True
    threads: int = 0  # cv2.setNumThreads; 0 = leave OpenCV's default
    feature_cache: str | None = None  # on-disk tile-feature cache folder (see tilefeatures)
    imagery_accuracy_m: ImageryAccuracy = None
    imagery_accuracy_source: str = "analyst"
