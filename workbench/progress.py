"""Progress reporting and cancellation for long work (decoding, matching).

Long functions take two optional keyword arguments:

``progress``: a :data:`ProgressCallback` called as ``progress(stage, fraction)``
    with a short human stage name ("decoding", "matching kf0003 vs tile.tif")
    and ``fraction`` in ``[0, 1]`` for that stage (``-1`` when unknown).
    It is called from the worker thread; a GUI must marshal it to its own thread.
``cancel``: anything with ``is_set() -> bool`` (e.g. ``threading.Event``).
    Work checks it between units and raises :class:`~workbench.errors.Cancelled`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from workbench.errors import Cancelled

ProgressCallback = Callable[[str, float], None]


class CancelToken(Protocol):
    """What long work needs of a cancel event: ``threading.Event`` satisfies it."""

    def is_set(self) -> bool: ...


def check_cancel(cancel: CancelToken | None) -> None:
    """Raise :class:`Cancelled` if ``cancel`` is set; do nothing if it is ``None``."""
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def report(progress: ProgressCallback | None, stage: str, fraction: float) -> None:
    """Call ``progress(stage, fraction)`` if a callback was given."""
    if progress is not None:
        progress(stage, max(-1.0, min(1.0, float(fraction))))


def scaled(progress: ProgressCallback | None, lo: float, hi: float) -> ProgressCallback | None:
    """A callback mapping a sub-task's ``[0, 1]`` onto ``[lo, hi]`` of ``progress``."""
    if progress is None:
        return None

    def _cb(stage: str, fraction: float) -> None:
        progress(stage, fraction if fraction < 0 else lo + (hi - lo) * fraction)

    return _cb
