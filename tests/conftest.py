"""Shared pytest fixtures: where the real imagery lives, and generated inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; skips the test when it is absent."""
    imagery = SHARED_DATA / "imagery"
    if not imagery.is_dir():
        pytest.skip(f"real imagery not available (expected at {imagery})")
    return SHARED_DATA
