"""Resources of one keyframe pass: the full-resolution candidate store (bounded memory)
and OpenCV's thread pool switched off while passes run."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

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
