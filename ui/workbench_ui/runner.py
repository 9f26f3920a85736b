"""How a background job runs, without Qt: the child-process entry point and the
one-line message an exception becomes.

Qt-free on purpose: a :class:`~workbench_ui.workers.ProcessTask` child imports this module
to start its job, so the child never loads Qt.  On Linux children are forked from a
``forkserver`` that imported the job modules once (:data:`PRELOAD`), so a short job
takes about 0.1 s instead of ~0.8 s spent importing the core afresh (the first job also
waits for what remains of the server's own start); ``spawn`` elsewhere.  multiprocessing
gives a forked child the parent's working folder and ``sys.path`` but not its
environment, which stays the server's from when it started: the GUI process sends its
own (:func:`parent_environment`) and the child adopts it first, so a job sees what a
``spawn`` child would.  The child also reopens PROJ's database rather than use the
SQLite connection the server opened at import.
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


def parent_environment() -> dict[str, str]:
    """This process's environment, for :func:`child_main`."""
    return dict(os.environ)


def _after_fork(env: dict[str, str] | None) -> None:
    if env is not None and dict(os.environ) != env:
        os.environ.clear()
        os.environ.update(env)
    if "pyproj" in sys.modules:  # forked with the server's open proj.db (SQLite): reopen it
        import pyproj.datadir  # (already imported: no start-up cost)

        pyproj.datadir.set_data_dir(pyproj.datadir.get_data_dir())


def describe_error(exc: BaseException) -> str:
    """A one-line, user-readable message for an exception from the core."""
    if isinstance(exc, MemoryError):
        return "out of memory (try smaller footage or imagery)"
    if isinstance(exc, WorkbenchError | OSError):
        return describe(exc)
    return f"internal error: {describe(exc)}"


def child_main(module: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
               queue: Any, cancel: Any, nice: int, env: dict[str, str] | None = None) -> None:
    """Entry point of the child process: adopt the parent's environment ``env``
    (:func:`parent_environment`), run ``module.name(*args, progress=, cancel=,
    **kwargs)`` at ``nice`` priority and put its messages on ``queue``: ``("progress",
    stage, fraction)``, then one of ``("ok", value)``, ``("error", message)`` or
    ``("cancelled",)``."""
    _after_fork(env)
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
