"""Fixtures shared by the app's tests (a module may define its own variant)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="module")
def case_file(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A small located case (``test_ui_support.make_case_data``), one per test module."""
    from test_ui_support import make_case_data

    return make_case_data(tmp_path_factory.mktemp("ui_case"))


@pytest.fixture
def window(qtbot: Any, tmp_path: Path) -> Iterator[Any]:
    """The main window with its settings in ``tmp_path``, shut down after the test."""
    from test_ui_support import open_window

    win = open_window(qtbot, tmp_path)
    yield win
    win.controller.shutdown()


@pytest.fixture(autouse=True)
def _collect_windows_between_tests() -> Iterator[None]:
    """After each app test (and after pytest-qt has closed its widgets): deliver the
    pending deletes and run Python's garbage collector, so the wrappers of closed
    windows are freed here, between tests, and not at an arbitrary allocation inside
    Qt during a later test.  A mitigation for the rare segfaults seen inside Qt calls
    while the next window was being built (QMenu.addAction, QGraphicsView update),
    which never reproduced on demand."""
    yield
    import gc

    from PyQt6.QtCore import QCoreApplication, QEvent

    if QCoreApplication.instance() is not None:
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()
    gc.collect()
