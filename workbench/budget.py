"""The per-run memory budget and the working sizes derived from it.

Hostile or merely large inputs must not drive a run past the machine: footage is
decoded to frames of at most :func:`frame_pixel_cap` pixels (4K and 8K footage is
analysed and matched at about 1080p; keyframe pixels are then in that working
resolution, and ``VideoInfo`` keeps the true size), and a raster read returns at most
:func:`read_pixel_cap` output pixels.  The budget is process-wide: the CLI sets it
from ``--max-memory SIZE`` (or ``$WORKBENCH_MAX_MEMORY``); the default
(:data:`DEFAULT_BUDGET`) keeps a locate run on 8K footage under 2 GiB.  It bounds the
sizes the workbench chooses, not every allocation of every library, so it is a target,
not a hard limit (the OS's ``ulimit -v`` is the hard one).
"""

from __future__ import annotations

import math
import os
import re

__all__ = [
    "DEFAULT_BUDGET",
    "frame_pixel_cap",
    "memory_budget",
    "parse_size",
    "read_pixel_cap",
    "set_memory_budget",
]

GIB = 1 << 30
DEFAULT_BUDGET = 2 * GIB
MIN_BUDGET = 512 << 20
ENV = "WORKBENCH_MAX_MEMORY"
# measured (benchmarks/hostile): ~1 GiB for the matcher, tile features and libraries,
# then ~350 bytes per working frame pixel (keyframe variants, features, masks)
_BASE = 1 * GIB
_PER_FRAME_PX = 350
_MAX_FRAME_PX = 1920 * 1080
_MIN_FRAME_PX = 640 * 360
_PER_READ_PX = 64  # BGR + validity + float intermediates of a stretched read
_MAX_READ_PX = 32_000_000
_MIN_READ_PX = 1_000_000

_budget: int | None = None
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes for ``"2G"``, ``"1.5GiB"``, ``"800M"``, ``"4096k"``, ``"123"`` (powers of 1024).

    Raises:
        ValueError: not a size, or below 512 MiB (a run cannot work in less).
    """
    m = _SIZE.match(str(text))
    if not m:
        raise ValueError(f"not a memory size: {text!r} (e.g. 2G, 1500M)")
    value = float(m[1]) * 1024 ** " kmgt".index(m[2].lower() or " ")
    if not math.isfinite(value) or value < MIN_BUDGET:
        raise ValueError(f"memory budget {text!r} is below the 512M a run needs")
    return int(value)


def set_memory_budget(nbytes: int | None) -> None:
    """Set the process-wide budget in bytes (``None``: the default or ``$WORKBENCH_MAX_MEMORY``)."""
    global _budget
    _budget = None if nbytes is None else max(MIN_BUDGET, int(nbytes))


def memory_budget() -> int:
    """The budget in bytes: as set, else ``$WORKBENCH_MAX_MEMORY``, else the default."""
    if _budget is not None:
        return _budget
    env = os.environ.get(ENV)
    if env:
        try:
            return parse_size(env)
        except ValueError:
            pass
    return DEFAULT_BUDGET


def frame_pixel_cap() -> int:
    """Most pixels a decoded working frame may have (width x height, display size)."""
    spare = memory_budget() - _BASE
    return int(min(_MAX_FRAME_PX, max(_MIN_FRAME_PX, spare // _PER_FRAME_PX)))


def read_pixel_cap() -> int:
    """Most output pixels one raster read may return."""
    return int(min(_MAX_READ_PX, max(_MIN_READ_PX, memory_budget() // _PER_READ_PX)))
