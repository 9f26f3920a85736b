"""Shared pytest fixtures: where the real imagery lives, and generated inputs."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runshare import once_per_run, run_root

from workbench.match.tilefeatures import CACHE_ENV

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; skips the test when it is absent."""
    imagery = SHARED_DATA / "imagery"
    if not imagery.is_dir():
        pytest.skip(f"real imagery not available (expected at {imagery})")
    return SHARED_DATA


# --- generated inputs (fixtures/ package) -------------------------------------------
# town_tif:  the demo town GeoTIFF, demo_data's tiles/town.tif (seed 0, 2048x2048 px,
#            0.5 m/px, EPSG:32636, centred on lon/lat 32.58, 0.35; 3-band uint8 RGB,
#            tiled, overviews).
# demo_data: the folder written by ``workbench-fixtures demo``: tiles/town.tif,
#            tiles/other_town.tif (distractor: other seed and place), strike.mp4
#            (10 s, 640x360, 25 fps, 1.5 s title card, HUD, 2 shots, hard cut) and
#            strike.truth.json (+ strike.hud*.png masks); load with fixtures.truth.Truth.
# cut_clip:  a CutClip(video, truth_path, truth, raster): 320x240 @ 25 fps, 1 s title
#            card, HUD, 3 shots of 1.5 s joined by hard cuts, rendered from town_tif.
# demo_locate: the demo located once per run (see its docstring).
# All are built once per test run, shared by the xdist workers (about 12 s in all).


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``workbench-fixtures demo`` folder (see the comment above)."""
    from workbench_fixtures.cli import make_demo

    def build(folder: Path) -> Path:
        make_demo(folder)
        return folder

    return once_per_run(tmp_path_factory, "demo", build)


@pytest.fixture(scope="session")
def town_tif(demo_data: Path) -> Path:
    """The demo town GeoTIFF (see the comment above): the demo set's own file, not a
    second drawing of it, so the run's feature cache (keyed by path) describes it once
    for every test that matches against it."""
    return demo_data / "tiles" / "town.tif"


@pytest.fixture(scope="session", autouse=True)
def feature_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One on-disk tile-feature cache for the whole run (``$WORKBENCH_FEATURE_CACHE``).

    Several tests locate against the same session-scoped demo tiles; with the cache
    their tile features are computed once per run (entries are written atomically, so
    two workers describing the same tile at once only waste time).  Entries are keyed by
    path, size and mtime, so a test that writes its own raster never sees another's
    features.  Tests of the cache itself pass ``cache_dir`` explicitly.
    """
    root = run_root(tmp_path_factory) / "feature_cache"  # shared by the workers
    root.mkdir(exist_ok=True)
    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(root)
    yield root
    if before is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = before


@pytest.fixture(scope="session")
def demo_locate(demo_data: Path, tmp_path_factory: pytest.TempPathFactory
                ) -> tuple[int, Path, str]:
    """``workbench locate strike.mp4 --tiles tiles --out OUT --target 300,170`` on the demo,
    run once per test run: ``(exit code, OUT, stdout)``.  OUT holds ``locate.json`` and
    ``keyframes/`` (a ``workbench keyframes`` folder).  Treat OUT as read-only.
    """
    from workbench.cli import main

    def build(folder: Path) -> tuple[int, Path, str]:
        out = folder / "out"
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            rc = main(["locate", str(demo_data / "strike.mp4"), "--tiles",
                       str(demo_data / "tiles"), "--out", str(out), "--target", "300,170"])
        return rc, out, buf.getvalue()

    return once_per_run(tmp_path_factory, "demo_locate", build)


@pytest.fixture(scope="session")
def cut_clip(tmp_path_factory: pytest.TempPathFactory, town_tif: Path) -> Any:
    """A short clip with title card, HUD and 3 hard-cut shots: ``fixtures.testclips.CutClip``."""
    from workbench_fixtures.testclips import make_cut_clip

    return once_per_run(tmp_path_factory, "cut_clip", lambda d: make_cut_clip(town_tif, d))


@pytest.fixture
def make_readonly():
    """Return ``make(folder)``: makes ``folder`` a place nobody may create files in,
    *also when the tests run as root* (as CI does).

    Root ignores permission bits, so as root the folder is also made immutable
    with ``chattr +i``; the test skips if neither makes it read-only.  Undone at
    teardown.
    """
    import os
    import shutil
    import stat
    import subprocess

    done: list[tuple[Path, bool]] = []

    def make(folder: Path) -> Path:
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
        immutable = False
        chattr = shutil.which("chattr")
        if os.geteuid() == 0 and chattr is not None:
            setattr_ = subprocess.run([chattr, "+i", str(folder)], capture_output=True)
            immutable = setattr_.returncode == 0
        done.append((folder, immutable))
        probe = folder / ".probe"
        try:
            probe.write_bytes(b"")
        except OSError:
            return folder
        probe.unlink()
        pytest.skip("cannot make a read-only folder here (root without chattr +i)")

    yield make
    for folder, immutable in reversed(done):
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
        folder.chmod(stat.S_IRWXU)


@pytest.fixture
def readonly_dir(tmp_path: Path, make_readonly) -> Path:
    """An empty folder nobody may create files in (see :func:`make_readonly`)."""
    folder = tmp_path / "readonly"
    folder.mkdir()
    return make_readonly(folder)


# --- parallel runs (scripts/test.sh: pytest-xdist, --dist worksteal) -------------------
# The expensive session inputs are built once per run and shared (``once_per_run``).
# Tests that need a machine-wide resource take a free one (Xvfb -displayfd, port 0), so
# any test may run beside any other.  Tests marked ``slow`` (the longest, measured with
# --durations) come first: work stealing gives each worker half of the list, so they all
# start at once on the first worker, and the second takes over the rest of that worker's
# queue when its own half is done; no long test is left to start near the end.


def pytest_configure(config: pytest.Config) -> None:
    # One OpenMP thread per test process (torch's CPU kernels): two xdist workers on two
    # cores would otherwise run four spinning OpenMP threads, which measured 2.8x the CPU
    # time of tests/match/test_learned.py.  OpenCV's own pool does not spin; left alone.
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable
