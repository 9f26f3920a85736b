"""Types of the locate stage: :class:`LocateConfig` and the result file's name."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.errors import UsageError
from workbench.keyframes.model import KeyframeConfig
from workbench.match.model import MatchConfig
from workbench.rank.model import RankConfig

LOCATE_JSON = "locate.json"

ImageryAccuracy = float | Mapping[str, float] | None
"""The reference imagery's stated horizontal accuracy, 1-sigma radial, metres: one value
for every raster, or per raster path (full path or file name); ``None``: not known."""


def check_imagery_accuracy(value: ImageryAccuracy) -> None:
    """``UsageError`` unless ``value`` is ``None``, a finite number of metres >= 0, or a
    mapping of raster path / file name to such numbers."""
    def ok(v: object) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) \
            and v >= 0

    if value is None or ok(value):
        return
    if isinstance(value, Mapping) and all(isinstance(k, str) and ok(v)
                                          for k, v in value.items()):
        return
    raise UsageError("imagery accuracy must be a finite number of metres >= 0, or one per "
                     f"raster, not {value!r}")


def stated_accuracy(value: ImageryAccuracy, source: str) -> dict[str, Any]:
    """``locate.json``'s ``method`` record of the accuracy as stated (JSON-ready):
    ``{"imagery_accuracy_m": number | {raster: number} | None, "imagery_accuracy_source":
    str | None}``; ``value`` as :class:`LocateConfig` accepts it."""
    if value is None:
        return {"imagery_accuracy_m": None, "imagery_accuracy_source": None}
    stated = {k: float(v) for k, v in value.items()} if isinstance(value, Mapping) \
        else float(value)
    return {"imagery_accuracy_m": stated, "imagery_accuracy_source": source}


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

    def __post_init__(self) -> None:
        check_imagery_accuracy(self.imagery_accuracy_m)
