"""Resources of one keyframe pass: the full-resolution candidate store (bounded memory)
and OpenCV's thread pool switched off while passes run."""

from __future__ import annotations

import queue
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np

from workbench.progress import ProgressCallback, report

T = TypeVar("T")
_CV_LOCK = threading.Lock()
_CV_USERS = 0
_CV_SAVED = 1


@contextmanager
def opencv_one_thread() -> Iterator[None]:
    """OpenCV's own thread pool off while a pass runs (restored when the last one ends).

    Every OpenCV call of the pass works on a small image; farming each out to the pool
    costs more CPU than it saves (measured in ``benchmarks/keyframes``: 25-30 % of the
    pass's CPU at 480p and 1080p).  Decoding stays threaded (FFmpeg's own threads).
    The setting is process-wide: results do not depend on it, only speed.
    """
    global _CV_USERS, _CV_SAVED
    with _CV_LOCK:
        if _CV_USERS == 0:
            _CV_SAVED = cv2.getNumThreads()
            cv2.setNumThreads(1)
        _CV_USERS += 1
    try:
        yield
    finally:
        with _CV_LOCK:
            _CV_USERS -= 1
            if _CV_USERS == 0:
                cv2.setNumThreads(_CV_SAVED)


class CandidateStore:
    """Full-resolution candidate images: in memory up to ``budget`` bytes, then in a temp folder."""

    def __init__(self, budget: int = 8 << 20) -> None:
        self.budget = budget
        self._mem: dict[int, np.ndarray] = {}
        self._bytes = 0
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._n = 0

    def put(self, image: np.ndarray) -> int:
        slot = self._n
        self._n += 1
        if self._bytes + image.nbytes <= self.budget:
            self._mem[slot] = image
            self._bytes += image.nbytes
        else:
            if self._tmp is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="workbench-kf-")
            np.save(Path(self._tmp.name) / f"{slot}.npy", image)
        return slot

    def get(self, slot: int) -> np.ndarray:
        if slot in self._mem:
            return self._mem[slot]
        if self._tmp is None:
            raise KeyError(slot)
        return np.load(Path(self._tmp.name) / f"{slot}.npy")

    def close(self) -> None:
        self._mem.clear()
        self._bytes = 0
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


_ITEM, _PROGRESS, _ERROR, _END = range(4)


def read_ahead(make: Callable[[ProgressCallback], Iterator[T]],
               progress: ProgressCallback | None, depth: int = 8) -> Iterator[T]:
    """Yield the items of ``make(relay)``, computed on a thread of its own up to ``depth``
    items ahead, in order.

    The producer's progress calls (through ``relay``) and its exception reach the caller
    on the caller's thread, in order with the items.  When the caller stops early (or
    raises), the producer stops after its current item and is joined, so its resources
    (an open container) are closed before this generator returns.
    """
    q: queue.Queue[tuple[int, Any]] = queue.Queue(max(1, depth))
    stop = threading.Event()

    def put(kind: int, item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put((kind, item), timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def relay(stage: str, fraction: float) -> None:
        put(_PROGRESS, (stage, fraction))

    def run() -> None:
        try:
            items = make(relay)
            try:
                for item in items:
                    if not put(_ITEM, item):
                        break
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()
            put(_END, None)
        except BaseException as exc:  # handed to the caller, raised there
            put(_ERROR, exc)

    worker = threading.Thread(target=run, name="workbench-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            kind, item = q.get()
            if kind == _ITEM:
                yield item
            elif kind == _PROGRESS:
                report(progress, *item)
            elif kind == _ERROR:
                raise item
            else:
                return
    finally:
        stop.set()
        worker.join()
