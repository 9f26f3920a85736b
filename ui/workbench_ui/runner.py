"""How a background job runs, without Qt: the child-process entry point and the
one-line message an exception becomes.

Qt-free on purpose: a :class:`~workbench_ui.workers.ProcessTask` child (``spawn``) imports
this module to start its job, so the child never loads Qt.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import time
from typing import Any

from workbench.errors import Cancelled, WorkbenchError, describe

#: minimum interval between two forwarded progress updates of the same stage
PROGRESS_INTERVAL_S = 0.05


def describe_error(exc: BaseException) -> str:
    """A one-line, user-readable message for an exception from the core."""
    if isinstance(exc, MemoryError):
        return "out of memory (try smaller footage or imagery)"
    if isinstance(exc, WorkbenchError | OSError):
        return describe(exc)
    return f"internal error: {describe(exc)}"


def child_main(module: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
               queue: Any, cancel: Any, nice: int) -> None:
    """Entry point of the child process: run ``module.name(*args, progress=, cancel=,
    **kwargs)`` at ``nice`` priority and put its messages on ``queue``: ``("progress",
    stage, fraction)``, then one of ``("ok", value)``, ``("error", message)`` or
    ``("cancelled",)``."""
    if nice:
        with contextlib.suppress(OSError, AttributeError):
            os.nice(nice)
    last_t, last_stage = 0.0, ""

    def progress(stage: str, fraction: float) -> None:
        nonlocal last_t, last_stage
        now = time.monotonic()
        if stage == last_stage and now - last_t < PROGRESS_INTERVAL_S and fraction < 1.0:
            return
        last_t, last_stage = now, stage
        queue.put(("progress", stage, float(fraction)))

    try:
        fn = getattr(importlib.import_module(module), name)
        value = fn(*args, progress=progress, cancel=cancel, **kwargs)
    except Cancelled:
        queue.put(("cancelled",))
    except BaseException as exc:
        logging.getLogger(module).warning("%s failed: %s", name, exc,
                                          exc_info=not isinstance(exc, WorkbenchError))
        queue.put(("error", describe_error(exc)))
    else:
        queue.put(("cancelled",) if cancel.is_set() else ("ok", value))
