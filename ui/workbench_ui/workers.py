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
import multiprocessing as mp
import sys
import threading
import time
from collections.abc import Callable
from queue import Empty
from typing import Any

from PyQt6.QtCore import QObject, QThread, QTimer, pyqtSignal

from workbench.errors import Cancelled, WorkbenchError
from workbench_ui.runner import (
    PRELOAD,
    PROGRESS_INTERVAL_S,
    child_main,
    describe_error,
    parent_environment,
)

log = logging.getLogger(__name__)

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
        if self._thread is not None:
            self._thread.wait(5000)  # run() has returned; let the thread end before cleanup
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


# --- child-process jobs --------------------------------------------------------------------

#: how long a cancelled child may take to stop before it is terminated
CANCEL_GRACE_S = 10.0
POLL_MS = 25


def job_context() -> Any:
    """The multiprocessing context of child-process jobs: on Linux a ``forkserver`` that
    preloads the Qt-free job modules (:data:`workbench_ui.runner.PRELOAD`), elsewhere
    ``spawn`` (forking after numpy and OpenCV are loaded is not safe on macOS).  The server
    is a fresh interpreter (it never loads Qt), started by :func:`start_job_server` or the
    first job; each job is forked from it."""
    if not sys.platform.startswith("linux") or "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(list(PRELOAD))
    return ctx


def start_job_server() -> None:
    """Start the job server now, so it has imported the job modules by the time the
    analyst starts the first job (a job's start waits for that).  Returns at once; does
    nothing where jobs are spawned."""
    if job_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        try:
            forkserver.ensure_running()
        except OSError as exc:  # the first job will try again and report it
            log.warning("could not start the job server: %s", exc)


class ProcessTask(QObject):
    """Like :class:`Task`, but runs ``fn`` in a child process (:func:`job_context`), at
    lower priority.

    The GUI process then never competes with the job for Python's GIL, so the event
    loop stays responsive while matching, and a crash in native code (FFmpeg, GDAL) on
    untrusted input ends only the child: it is reported as ``failed``.  ``fn`` must be
    a module-level function of a Qt-free module (see :mod:`workbench_ui.jobs`) taking
    ``progress=``/``cancel=``; arguments and result must be picklable.
    """

    progress = pyqtSignal(str, float)
    succeeded = pyqtSignal(object)
    failed = pyqtSignal(str)
    cancelled = pyqtSignal()
    finished = pyqtSignal()

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str = "job", nice: int = 5,
                 parent: QObject | None = None, **kwargs: Any) -> None:
        super().__init__(parent)
        self.fn, self.args, self.kwargs, self.name, self.nice = fn, args, kwargs, name, nice
        self._ctx = job_context()
        self.cancel_event = self._ctx.Event()
        self._queue: Any = None
        self._proc: Any = None
        self._finished = False
        self._cancel_at = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)

    def start(self) -> None:
        if self._proc is not None:
            raise RuntimeError(f"{self.name} already started")
        self._queue = self._ctx.Queue()
        self._proc = self._ctx.Process(
            target=child_main,
            args=(self.fn.__module__, self.fn.__name__, self.args, self.kwargs, self._queue,
                  self.cancel_event, self.nice, parent_environment()),
            name=f"workbench-{self.name}",
            daemon=True,
        )
        try:
            self._proc.start()
        except Exception as exc:  # e.g. a job server that died: a message, not a dead app
            self._proc = None
            log.warning("%s could not start: %s", self.name, exc)
            self._end("error", f"the {self.name} job could not start ({describe_error(exc)})")
            return
        self._timer.start()

    def cancel(self) -> None:
        if not self.cancel_event.is_set():
            self.cancel_event.set()
            self._cancel_at = time.monotonic()

    def is_running(self) -> bool:
        return self._proc is not None and not self._finished

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until the child has exited (tests, application shutdown)."""
        if self._proc is None:
            return True
        self._proc.join(msecs / 1000.0)
        if self._proc.is_alive():
            return False
        self._poll()
        return True

    def _end(self, kind: str, payload: Any = None) -> None:
        if self._finished:
            return
        self._finished = True
        self._timer.stop()
        if kind == "ok":
            self.succeeded.emit(payload)
        elif kind == "error":
            self.failed.emit(str(payload))
        else:
            self.cancelled.emit()
        self.finished.emit()
        if self._proc is not None:
            # The child has sent its last message and is exiting (interpreter teardown,
            # at low priority, can take a second on a busy machine).  Never wait for it
            # on the GUI thread: it is reaped when the next child starts
            # (multiprocessing does that in ``Process.start``) or at exit.
            self._proc.join(0)

    def _poll(self) -> None:
        if self._finished or self._queue is None:
            return
        for _ in range(200):
            try:
                msg = self._queue.get_nowait()
            except Empty:
                break
            except (EOFError, OSError):
                break
            kind = msg[0]
            if kind == "progress":
                self.progress.emit(msg[1], msg[2])
            else:
                self._end(kind, msg[1] if len(msg) > 1 else None)
                return
        proc = self._proc
        if proc is not None and not proc.is_alive():
            # the result may still be in flight in the pipe: one last look
            try:
                msg = self._queue.get(timeout=0.2)
            except (Empty, EOFError, OSError):
                msg = None
            if msg is not None and msg[0] != "progress":
                self._end(msg[0], msg[1] if len(msg) > 1 else None)
            elif self.cancel_event.is_set():
                self._end("cancelled")
            else:
                self._end("error", f"the {self.name} job stopped unexpectedly "
                          f"(exit code {proc.exitcode}); nothing was saved")
            return
        if self._cancel_at and time.monotonic() - self._cancel_at > CANCEL_GRACE_S and proc:
            log.warning("%s did not stop after cancel: terminating it", self.name)
            proc.terminate()


class TaskPool(QObject):
    """The window's background tasks: each runs until it ends; all are cancelled and
    waited for when the window closes (:meth:`shutdown`)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tasks: set[Task | ProcessTask] = set()

    def run(self, task: Task | ProcessTask) -> Task | ProcessTask:
        """Start ``task`` (its signals already connected) and keep it until it ends."""
        self.tasks.add(task)
        task.finished.connect(lambda t=task: self.tasks.discard(t))
        task.finished.connect(task.deleteLater)  # (the QObject; results were delivered)
        task.start()
        return task

    def shutdown(self, msecs: int = 15_000) -> None:
        """Cancel every running task, then wait (up to ``msecs`` each) for it to end."""
        for t in list(self.tasks):
            t.cancel()
        for t in list(self.tasks):
            t.wait(msecs)
