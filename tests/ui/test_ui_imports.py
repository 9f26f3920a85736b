"""What the desktop app loads at run time: not the test-data generators.

``workbench_fixtures`` (the demo town and footage generators) is imported only by the
Help ▸ Open demo job, in its child process; starting the app, opening footage and
checking whether the demo can be offered must not load it.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("PyQt6")
pytestmark = pytest.mark.gui

SCRIPT = """
import sys
from workbench_ui import app
from workbench_ui.demo import demo_available

code = app.main(["--quit-after", "2", sys.argv[1]])
available = demo_available()
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "workbench_fixtures")
print(f"window module loaded: {'workbench_ui.main_window' in sys.modules}", file=sys.stderr)
print(f"demo available: {available}", file=sys.stderr)
print(f"fixtures loaded: {loaded}", file=sys.stderr)
sys.exit(code)
"""


def test_the_app_does_not_load_the_test_data_generators(tmp_path: Path) -> None:
    if importlib.util.find_spec("workbench_fixtures") is None:
        pytest.skip("workbench_fixtures is not installed: nothing to leak")
    from test_ui_support import make_tiny_video

    video = make_tiny_video(tmp_path / "clip.mp4")
    env = dict(os.environ)
    env.update({
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),  # keep the user's QSettings clean
        "XDG_DATA_HOME": str(tmp_path / "data"),
    })
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(video)], env=env,
                          capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr[-2000:]
    err = proc.stderr
    assert "started on platform offscreen" in err and "footage clip.mp4" in err, err[-2000:]
    assert "window module loaded: True" in err
    assert "demo available: True" in err
    assert "fixtures loaded: []" in err, err[-2000:]
