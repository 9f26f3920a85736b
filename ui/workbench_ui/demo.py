"""Help ▸ Open demo: where the bundled demo data is generated (once) and reused.

The job itself is :func:`workbench_ui.jobs.demo_job` (run in a child process); the data
comes from :func:`workbench_fixtures.cli.make_demo`: a procedurally drawn town GeoTIFF, a
distractor town elsewhere, and a 10 s strike clip with title card and HUD.  The app never
imports the test-data generators itself: only the demo job's child process does.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from workbench_ui.session import app_data_dir


def demo_dir() -> Path:
    return app_data_dir() / "demo"


def demo_available() -> bool:
    """True when ``workbench_fixtures`` (the demo generator) is installed.

    Looked up without importing it (``find_spec`` of a top-level name imports nothing).
    """
    return importlib.util.find_spec("workbench_fixtures") is not None
