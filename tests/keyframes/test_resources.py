"""The keyframe pass's resources: the read-ahead thread (order, progress on the
caller's thread, errors, early stop)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workbench.errors import VideoDecodeError
from workbench.keyframes.extract import extract_keyframes
from workbench.keyframes.model import KeyframeConfig
from workbench.keyframes.resources import read_ahead
from workbench.progress import ProgressCallback


def test_items_arrive_in_order_and_progress_on_the_callers_thread() -> None:
    producer_threads: set[int] = set()
    calls: list[tuple[str, float, int]] = []

    def make(relay: ProgressCallback) -> Iterator[int]:
        for i in range(50):
            producer_threads.add(threading.get_ident())
            relay("counting", i / 50)
            yield i

    got = list(read_ahead(make, lambda s, f: calls.append((s, f, threading.get_ident())),
                          depth=3))
    assert got == list(range(50))
    assert producer_threads and threading.get_ident() not in producer_threads
    assert [f for _, f, _ in calls] == [i / 50 for i in range(50)]
    assert {t for _, _, t in calls} == {threading.get_ident()}


def test_a_producer_error_is_raised_to_the_caller_after_the_items_before_it() -> None:
    def make(relay: ProgressCallback) -> Iterator[int]:
        yield 1
        yield 2
        raise VideoDecodeError("broken", Path("x.mp4"))

    got: list[int] = []
    with pytest.raises(VideoDecodeError, match="broken"):
        for item in read_ahead(make, None):
            got.append(item)
    assert got == [1, 2]


def test_stopping_early_closes_the_producer_before_returning() -> None:
    closed = threading.Event()
    made = 0

    def make(relay: ProgressCallback) -> Iterator[int]:
        nonlocal made
        try:
            while True:
                made += 1
                yield made
        finally:
            closed.set()

    items = read_ahead(make, None, depth=2)
    assert next(items) == 1
    items.close()
    assert closed.is_set()
    assert made <= 5  # stopped a few items ahead, not run on


def test_the_pass_reports_progress_on_the_callers_thread(cut_clip: Any) -> None:
    threads: set[int] = set()
    extract_keyframes(cut_clip.video, KeyframeConfig(max_keyframes=2),
                      progress=lambda s, f: threads.add(threading.get_ident()))
    assert threads == {threading.get_ident()}
