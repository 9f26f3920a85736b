"""How a background job runs, without Qt: the child-process entry point and the
one-line message an exception becomes.

Qt-free on purpose: a :class:`~workbench_ui.workers.ProcessTask` child imports this module
to start its job, so the child never loads Qt.  Children are forked from a ``forkserver``
that has imported the job modules once (:data:`PRELOAD`), so a job starts in tens of
milliseconds instead of importing the core afresh (~0.6 s); ``spawn`` where there is no
forkserver.  A forked child starts with the server's environment, working folder and
``sys.path``, so the GUI process sends its own (:func:`parent_state`) and the child adopts
them first: a job sees what a ``spawn`` child would.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
import time
from typing import Any

from workbench.errors import Cancelled, WorkbenchError, describe

#: minimum interval between two forwarded progress updates of the same stage
PROGRESS_INTERVAL_S = 0.05
#: Qt-free modules the job server imports once, before it forks any job
PRELOAD = ("workbench_ui.runner", "workbench_ui.jobs", "workbench_ui.index_jobs")


def parent_state() -> tuple[dict[str, str], str, list[str]]:
    """``(environment, working folder, sys.path)`` of this process, for :func:`child_main`."""
    return dict(os.environ), os.getcwd(), list(sys.path)


def _adopt(state: tuple[dict[str, str], str, list[str]] | None) -> None:
    if state is None:
        return
    env, cwd, path = state
    if dict(os.environ) != env:
        os.environ.clear()
        os.environ.update(env)
    with contextlib.suppress(OSError):
        os.chdir(cwd)
    sys.path[:] = path


def describe_error(exc: BaseException) -> str:
    """A one-line, user-readable message for an exception from the core."""
    if isinstance(exc, MemoryError):
        return "out of memory (try smaller footage or imagery)"
    if isinstance(exc, WorkbenchError | OSError):
        return describe(exc)
    return f"internal error: {describe(exc)}"


def child_main(module: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
               queue: Any, cancel: Any, nice: int,
               state: tuple[dict[str, str], str, list[str]] | None = None) -> None:
    """Entry point of the child process: adopt the parent's ``state`` (:func:`parent_state`),
    run ``module.name(*args, progress=, cancel=, **kwargs)`` at ``nice`` priority and put
    its messages on ``queue``: ``("progress", stage, fraction)``, then one of ``("ok",
    value)``, ``("error", message)`` or ``("cancelled",)``."""
    _adopt(state)
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
