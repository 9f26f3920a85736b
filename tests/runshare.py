"""Expensive test inputs built once per test run and shared by the pytest-xdist workers."""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")


def run_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary folder of the whole test run: with pytest-xdist, the parent of the
    workers' own base folders (``pytest-N/popen-gwK``); without it, the base folder."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str,
                 build: Callable[[Path], T]) -> T:
    """``build(folder)`` run once per test run, however many xdist workers ask for it.

    The first worker to take the lock builds into ``<run root>/once-<name>/`` and pickles
    the value beside it; the others wait for the lock and read the value.  A build that
    fails leaves no value, so the next asker starts again from an empty folder (and fails
    the same way, in its own test).  Treat the folder as read-only.
    """
    root = run_root(tmp_path_factory)
    folder = root / f"once-{name}"
    done = root / f"once-{name}.pickle"
    with open(root / f"once-{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.is_file():
            value: T = pickle.loads(done.read_bytes())
            return value
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        value = build(folder)
        done.write_bytes(pickle.dumps(value))
        return value
