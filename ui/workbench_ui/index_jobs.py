"""Region-index jobs the GUI runs in a child process, and their progress text.

Qt-free on purpose (like :mod:`workbench_ui.jobs`): :class:`workbench_ui.workers.ProcessTask`
imports this module in its job server, which forks the child processes; Qt must not be
loaded there.  Arguments
and results are picklable (paths, plain data).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from workbench.index import IndexConfig, build_index
from workbench.locate.indexed import locate_in_index
from workbench.progress import CancelToken, ProgressCallback


@dataclass(frozen=True)
class IndexSummary:
    """What an "Index imagery…" run did (for the message after it)."""

    index: Path
    rasters_added: int
    blocks_described: int
    blocks_resumed: int


@dataclass(frozen=True)
class LocateSummary:
    """What a "Locate in index…" run found: verdict, best place, where it was written."""

    out_dir: Path
    verdict: str
    windows_searched: int
    area_km2: float
    best_lonlat: tuple[float, float] | None
    reason: str = ""


def index_job(
    imagery: list[Path],
    out: Path,
    config: IndexConfig | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> IndexSummary:
    """Index (or extend, or resume) ``out`` with the rasters/folders in ``imagery``
    (``config``: settings of a new index; default :class:`IndexConfig`)."""
    stats = build_index(imagery, out, config=config, progress=progress, cancel=cancel)
    return IndexSummary(out, int(stats.rasters_added), int(stats.blocks_described),
                        int(stats.blocks_resumed))


def locate_index_job(
    video: Path,
    index: Path,
    out_dir: Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> LocateSummary:
    """``workbench locate VIDEO --index INDEX --out OUT_DIR`` (``locate.json`` written there)."""
    result = locate_in_index(video, index, out_dir=out_dir, progress=progress, cancel=cancel)
    search = result.method.get("search", {})
    best = (result.candidates[0].lon, result.candidates[0].lat) if result.candidates else None
    return LocateSummary(out_dir, result.verdict, int(search.get("windows_searched", 0)),
                         float(search.get("area_km2", 0.0)), best, result.reason or "")


_BLOCKS = re.compile(r"(\d+) blocks")


@dataclass
class ProgressText:
    """Turns ``(stage, fraction)`` progress into a line for people: the stage, blocks
    done out of the total when the stage counts blocks ("indexing 480 blocks"), and an
    ETA from the time spent in the stage so far (none while too little is done)."""

    clock: Callable[[], float] = time.monotonic
    _stage: str = ""
    _t0: float = 0.0
    _f0: float = 0.0
    _history: list[str] = field(default_factory=list)

    def __call__(self, stage: str, fraction: float) -> str:
        now = float(self.clock())
        if stage != self._stage:
            self._stage, self._t0, self._f0 = stage, now, max(0.0, fraction)
        parts = [stage]
        m = _BLOCKS.search(stage)
        if m and fraction >= 0:
            total = int(m.group(1))
            parts.append(f"{round(fraction * total)} / {total} blocks done")
        elif fraction >= 0:
            parts.append(f"{100 * fraction:.0f} %")
        eta = self._eta(now, fraction)
        if eta is not None:
            parts.append(f"ETA {eta}")
        return ", ".join(parts)

    def _eta(self, now: float, fraction: float) -> str | None:
        done = fraction - self._f0
        spent = now - self._t0
        if fraction < 0 or fraction >= 1.0 or done < 0.02 or spent < 2.0:
            return None
        left = spent * (1.0 - fraction) / done
        if left < 60:
            return f"{left:.0f} s"
        if left < 3600:
            return f"{int(left // 60)} min {int(left % 60):02d} s"
        return f"{int(left // 3600)} h {int(left % 3600 // 60):02d} min"
