"""Crash safety: a process killed with SIGKILL in the middle of saving leaves the case
in the previous or the new state, never a broken one."""

from __future__ import annotations

import itertools
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from casekit import Scene, make_scene

from workbench.case import Case
from workbench.case.audit import check_chain
from workbench.verify import verify_case

REPO = Path(__file__).resolve().parents[2]

WRITER = r"""
import sys
import numpy as np
from workbench.case import Case
path = sys.argv[1]
rng = np.random.default_rng(int(sys.argv[2]))
with Case.open(path) as case:
    print("ready", flush=True)
    i = 0
    while True:
        i += 1
        k = i % 5
        if k == 0:
            case.confirm(1, f"confirm {i}")
        elif k == 1:
            case.reject(2, f"reject {i}")
        elif k == 2:
            case.add_note(f"note {i} " + "x" * int(rng.integers(0, 5000)))
        elif k == 3:
            img = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
            case.add_keyframe(i, i / 25, img)
        else:
            case.add_tie_point(1, (float(rng.uniform(20, 300)), float(rng.uniform(20, 220))),
                               (float(rng.uniform(250, 500)), float(rng.uniform(250, 500))))
        print("saved", flush=True)
"""

CREATOR = r"""
import sys
sys.path.insert(0, sys.argv[2])
from pathlib import Path
from casekit import make_scene
from workbench.case import Case
root = Path(sys.argv[1])
run = sys.argv[3]
scene = make_scene(root / f"scene{run}")
print("ready", flush=True)
i = 0
while True:
    i += 1
    Case.create(root / f"c{run}_{i}.wbcase", video_path=scene.video, tiles=[scene.tile],
                result=scene.result, keyframes_dir=scene.out_dir).close()
    print("saved", flush=True)
"""


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    return make_scene(tmp_path_factory.mktemp("crash_scene"))


def _spawn(code: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", proc.stderr.read() if proc.stderr else line
    return proc


def _kill(proc: subprocess.Popen[str], delay: float) -> None:
    """SIGKILL ``delay`` seconds after the child's first save (however loaded the machine
    is, each run saves something and is then killed at a random point of its work)."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "saved", proc.stderr.read() if proc.stderr else line
    time.sleep(delay)
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def _check_consistent(path: Path) -> int:
    rep = verify_case(path)  # first, read-only: a hot journal must be rolled back, not read
    assert rep.ok, [str(f) for f in rep.findings]
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    with Case.open(path) as case:
        log = case.audit_log()
        assert check_chain(log) == []
        counts = {a: sum(e.action == a for e in log) for a in ("note", "keyframe", "tie_point")}
        assert counts["note"] == len(case.notes())
        assert counts["keyframe"] == sum(1 for k in case.keyframes if k.id.startswith("m"))
        assert counts["tie_point"] == len(case.tie_points())
        for k in case.keyframes:  # every stored keyframe decodes
            case.keyframe_image(k.id)
        n = len(log)
    return n


@pytest.mark.slow
def test_sigkill_during_saves_leaves_a_consistent_case(scene: Scene, tmp_path: Path) -> None:
    path = tmp_path / "crash.wbcase"
    Case.create(path, video_path=scene.video, tiles=[scene.tile], result=scene.result,
                keyframes_dir=scene.out_dir).close()
    rnd = random.Random(7)
    sizes = [_check_consistent(path)]
    for i in range(8):
        proc = _spawn(WRITER, str(path), str(i))
        _kill(proc, rnd.uniform(0.02, 0.4))
        sizes.append(_check_consistent(path))
    # every run acknowledged at least one save before it was killed: none may be lost
    assert all(b > a for a, b in itertools.pairwise(sizes)), sizes


@pytest.mark.slow
def test_sigkill_during_create_never_leaves_a_partial_case(tmp_path: Path) -> None:
    rnd = random.Random(3)
    for run in range(3):
        proc = _spawn(CREATOR, str(tmp_path), str(REPO / "tests"), str(run))
        _kill(proc, rnd.uniform(0.05, 0.5))
    cases = sorted(tmp_path.glob("c*.wbcase"))
    assert cases, "some cases should have been completed"
    for path in cases:
        with Case.open(path) as case:
            assert [e.action for e in case.audit_log()] == ["create", "locate"]
            assert len(case.keyframes) == 2
