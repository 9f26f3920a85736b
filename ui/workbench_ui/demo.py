"""Help ▸ Open demo: where the bundled demo data is generated (once) and reused.

The job itself is :func:`ui.jobs.demo_job` (run in a child process); the data comes
from :func:`fixtures.cli.make_demo`: a procedurally drawn town GeoTIFF, a distractor
town elsewhere, and a 10 s strike clip with title card and HUD.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from workbench_ui.session import app_data_dir


def demo_dir() -> Path:
    return app_data_dir() / "demo"


def demo_available() -> bool:
    """True when the ``fixtures`` package (the demo generator) is installed."""
    return importlib.util.find_spec("workbench_fixtures.cli") is not None
