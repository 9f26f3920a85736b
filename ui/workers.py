"""Run the core's long functions off the GUI thread, with progress and cancel.

A :class:`Task` runs ``fn(*args, progress=..., cancel=..., **kwargs)`` in a
``QThread``.  The core calls ``progress(stage, fraction)`` from the worker
thread; the task forwards it as a Qt signal (queued to the GUI thread, and
throttled so a chatty stage cannot flood the event loop).  ``cancel()`` sets a
``threading.Event`` the core polls; the core then raises
:class:`~workbench.errors.Cancelled`.  Any exception becomes the ``failed``
signal carrying its one-line ``str()`` -- never a traceback in the GUI.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import QObject, QThread, pyqtSignal

from workbench.errors import Cancelled, WorkbenchError

log = logging.getLogger(__name__)

#: minimum interval between two forwarded progress updates of the same stage
PROGRESS_INTERVAL_S = 0.05


def describe_error(exc: BaseException) -> str:
    """A one-line, user-readable message for an exception from the core."""
    if isinstance(exc, WorkbenchError):
        return str(exc)
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return f"{where}{exc.strerror or exc}"
    if isinstance(exc, MemoryError):
        return "out of memory (try smaller footage or imagery)"
    text = " ".join(str(exc).split())
    return f"internal error: {type(exc).__name__}: {text}" if text else type(exc).__name__


class _Thread(QThread):
    """The thread itself; signals are emitted from ``run`` and queued to the GUI."""

    progressed = pyqtSignal(str, float)
    done = pyqtSignal(object)
    error = pyqtSignal(str)
    was_cancelled = pyqtSignal()

    def __init__(self, task: Task) -> None:
        super().__init__()
        self._task = task
        self._last = 0.0
        self._stage = ""

    def _progress(self, stage: str, fraction: float) -> None:
        now = time.monotonic()
        if stage == self._stage and now - self._last < PROGRESS_INTERVAL_S and fraction < 1.0:
            return
        self._stage, self._last = stage, now
        self.progressed.emit(stage, float(fraction))

    def run(self) -> None:
        t = self._task
        try:
            kwargs = dict(t.kwargs)
            if t.with_progress:
                kwargs["progress"] = self._progress
                kwargs["cancel"] = t.cancel_event
            value = t.fn(*t.args, **kwargs)
        except Cancelled:
            self.was_cancelled.emit()
        except BaseException as exc:
            log.warning("%s failed: %s", t.name, exc, exc_info=not isinstance(exc, WorkbenchError))
            self.error.emit(describe_error(exc))
        else:
            if t.cancel_event.is_set():
                self.was_cancelled.emit()
            else:
                self.done.emit(value)


class Task(QObject):
    """One background job.  Connect the signals, then :meth:`start`.

    Signals (all delivered in the GUI thread):
        progress(str stage, float fraction): fraction in [0, 1], -1 when unknown.
        succeeded(object): the function's return value.
        failed(str): one-line error message.
        cancelled(): the job stopped because :meth:`cancel` was called.
        finished(): after any of the three above.

    Args:
        fn: the core function to run.
        args, kwargs: passed through.
        name: shown in logs.
        with_progress: pass ``progress=``/``cancel=`` keyword arguments to ``fn``.
    """

    progress = pyqtSignal(str, float)
    succeeded = pyqtSignal(object)
    failed = pyqtSignal(str)
    cancelled = pyqtSignal()
    finished = pyqtSignal()

    def __init__(
        self,
        fn: Callable[..., Any],
        *args: Any,
        name: str = "task",
        with_progress: bool = True,
        parent: QObject | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(parent)
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.name = name
        self.with_progress = with_progress
        self.cancel_event = threading.Event()
        self._thread: _Thread | None = None
        self._finished = False

    def start(self) -> None:
        """Start the job in its own thread (once)."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name} already started")
        th = _Thread(self)
        th.progressed.connect(self.progress)
        th.done.connect(self._on_done)
        th.error.connect(self._on_error)
        th.was_cancelled.connect(self._on_cancelled)
        self._thread = th
        th.start()

    def cancel(self) -> None:
        """Ask the job to stop at its next cancellation point."""
        self.cancel_event.set()

    def is_running(self) -> bool:
        """True from :meth:`start` until the result has been delivered."""
        return self._thread is not None and not self._finished

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until the thread has ended (tests, application shutdown)."""
        return True if self._thread is None else bool(self._thread.wait(msecs))

    def _finish(self) -> None:
        self._finished = True
        self.finished.emit()

    def _on_done(self, value: object) -> None:
        self.succeeded.emit(value)
        self._finish()

    def _on_error(self, message: str) -> None:
        self.failed.emit(message)
        self._finish()

    def _on_cancelled(self) -> None:
        self.cancelled.emit()
        self._finish()
