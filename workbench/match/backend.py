"""The interface of a matcher backend (SIFT, learned, or a chain of them).

A backend places one keyframe on the tiles of a job (:meth:`Matcher.match`) and may do a
last pass once every keyframe of the job was matched (:meth:`Matcher.finish`, e.g. the
learned backend retrying keyframes with what worked on others).  Per-job state lives in
the job's :class:`~workbench.match.tilefeatures.TileFeatureCache`
(``backend_state[name]``), so a backend object itself is cheap to make.

Keyframe images are ``(H, W, 3) uint8`` BGR with an ``(H, W) uint8`` overlay mask;
hypotheses map keyframe full-resolution px -> tile level-0 px.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from workbench.imagery.catalog import Tile
from workbench.keyframes.model import Keyframe
from workbench.match.model import MatchHypothesis
from workbench.match.tilefeatures import TileFeatureCache
from workbench.progress import CancelToken, ProgressCallback


class Matcher(Protocol):
    """A matcher backend (see the module doc)."""

    name: str

    def match(
        self, kf: Keyframe, tiles: Sequence[Tile], cache: TileFeatureCache, *,
        progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
    ) -> list[MatchHypothesis]:
        """Placements of ``kf`` on ``tiles`` (any order; possibly empty)."""
        ...

    def finish(
        self, keyframes: Sequence[Keyframe], tiles: Sequence[Tile], cache: TileFeatureCache, *,
        cancel: CancelToken | None = None,
    ) -> list[MatchHypothesis]:
        """Extra placements once every keyframe of the job went through :meth:`match`."""
        ...
