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
