"""The app starts under a real X server (Xvfb, ``xcb`` platform plugin), not only offscreen.

This catches Qt plugin conflicts (e.g. plain opencv-python shipping its own Qt
plugins, missing xcb libraries) that the offscreen platform never loads.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from procs import stop

pytestmark = pytest.mark.gui

XVFB = shutil.which("Xvfb")


@pytest.fixture
def xserver(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A private Xvfb; it picks a free display itself (``-displayfd``), so tests on
    parallel workers never race for the same number."""
    if XVFB is None:
        pytest.skip("Xvfb is not installed (Debian: apt-get install xvfb; scripts/setup.sh "
                    "installs it when run as root)")
    with contextlib.ExitStack() as stack:
        log = stack.enter_context((tmp_path / "xvfb.log").open("wb"))
        read_fd, write_fd = os.pipe()
        stack.callback(os.close, read_fd)
        try:
            proc = subprocess.Popen([XVFB, "-displayfd", str(write_fd), "-screen", "0",
                                     "1366x768x24", "-nolisten", "tcp"],
                                    stdout=log, stderr=subprocess.STDOUT, pass_fds=(write_fd,))
        finally:
            os.close(write_fd)
        stack.callback(stop, [proc])
        number = b""
        deadline = time.monotonic() + 15
        while not number.endswith(b"\n"):
            ready, _, _ = select.select([read_fd], [], [], 0.2)
            chunk = os.read(read_fd, 16) if ready else b""
            if (ready and not chunk) or proc.poll() is not None or time.monotonic() > deadline:
                # installed but broken is a failure, not a skip: it would hide a broken display
                pytest.fail(f"Xvfb did not start: {(tmp_path / 'xvfb.log').read_text()[-300:]}")
            number += chunk
        yield f":{int(number)}"


def test_app_starts_under_xcb(xserver: str, tmp_path: Path) -> None:
    from test_ui_support import make_tiny_video

    video = make_tiny_video(tmp_path / "clip.mp4")
    env = dict(os.environ)
    env.update({
        "DISPLAY": xserver,
        "QT_QPA_PLATFORM": "xcb",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),  # keep the user's QSettings clean
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "QT_DEBUG_PLUGINS": "0",
    })
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.run(
        [sys.executable, "-m", "workbench_ui.app", "--quit-after", "3", str(video)],
        env=env, capture_output=True, text=True, timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "started on platform xcb" in proc.stderr, proc.stderr[-2000:]
    assert "clip.mp4" in proc.stderr  # the footage given on the command line was opened
    assert "Could not load the Qt platform plugin" not in proc.stderr


def test_case_given_on_the_command_line_is_loaded(xserver: str, tmp_path: Path) -> None:
    """`workbench-gui CASE`: the case's imagery, footage and candidates are loaded and
    Locate (again) is possible (it once showed "No imagery" with Locate disabled).  CASE
    is given without its ``.wbcase`` suffix, resolved as every CLI command does."""
    from test_ui_support import make_case_data

    data = make_case_data(tmp_path / "data")
    assert data["case"].suffix == ".wbcase"
    env = dict(os.environ)
    env.update({"DISPLAY": xserver, "QT_QPA_PLATFORM": "xcb",
                "XDG_CONFIG_HOME": str(tmp_path / "config"),
                "XDG_DATA_HOME": str(tmp_path / "xdg-data")})
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-m", "workbench_ui.app", "--quit-after", "2",
         str(data["case"].with_suffix(""))],
        env=env, capture_output=True, text=True, timeout=180,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = next(ln for ln in proc.stderr.splitlines() if "started on platform" in ln)
    assert "footage tiny.mp4" in line and "imagery 1," in line, line
    assert "candidates 2" in line and "locate enabled" in line, line
