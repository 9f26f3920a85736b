"""Output folders never lose a file: manifests, foreign files refused, whole sets switched,
no temp folder surviving a kill (workbench.outputs.output_set and the --out commands)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from workbench.atomic import atomic_directory, clean_stale
from workbench.cli import main
from workbench.errors import OutputError
from workbench.outputs import MANIFEST_NAME, check_output_dir, output_set


def _clip(path: Path, n: int = 30, size: tuple[int, int] = (160, 120)) -> Path:
    """A 1.2 s textured clip (PyAV, H.264) with one cut, enough for a few keyframes."""
    import av

    rng = np.random.default_rng(1)
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=25)
        st.width, st.height, st.pix_fmt = size[0], size[1], "yuv420p"
        base = [rng.integers(0, 255, (size[1] // 8, size[0] // 8, 3), np.uint8)
                for _ in range(2)]
        for i in range(n):
            img = np.kron(base[i * 2 // n], np.ones((8, 8, 1), np.uint8))
            img = np.roll(img, i, axis=1)
            for pkt in st.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _clip(tmp_path_factory.mktemp("clip") / "c.mp4")


def _hidden(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.startswith(".") and n != MANIFEST_NAME)


def test_keyframes_out_keeps_foreign_files(clip: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """main replaced DIR whole when it held a keyframes.json, deleting notes.txt."""
    out = tmp_path / "kf"
    assert main(["-q", "keyframes", str(clip), "--out", str(out)]) == 0
    (out / "notes.txt").write_text("mine")
    assert main(["-q", "keyframes", str(clip), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "notes.txt" in err and "--force" in err and err.count("\n") == 1
    assert (out / "notes.txt").read_text() == "mine"
    assert main(["-q", "keyframes", str(clip), "--out", str(out), "--force"]) == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "keyframes.json").is_file()
    assert _hidden(out) == [] and not [n for n in os.listdir(tmp_path) if ".wbtmp" in n]


def test_keyframes_out_dot_leaves_no_temp(clip: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`--out .` left a temp folder on main."""
    work = tmp_path / "here"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["-q", "keyframes", str(clip), "--out", "."]) == 0
    assert (work / "keyframes.json").is_file()
    assert _hidden(work) == [] and _hidden(tmp_path) == []
    first = set(os.listdir(work))
    assert main(["-q", "keyframes", str(clip), "--out", ".", "--max-keyframes", "1"]) == 0
    now = set(os.listdir(work))
    assert now <= first and _hidden(work) == []  # the earlier run's extra PNGs were removed
    doc = json.loads((work / MANIFEST_NAME).read_text())
    assert sorted(doc["sets"]["keyframes"]) == sorted(now - {MANIFEST_NAME})


def test_output_set_switches_whole_and_keeps_other_sets(tmp_path: Path) -> None:
    out = tmp_path / "o"
    with output_set(out, "a") as st:
        (st / "a1").write_text("1")
        (st / "sub").mkdir()
        (st / "sub" / "a2").write_text("2")
    with output_set(out, "b") as st:
        (st / "b1").write_text("b")
    with output_set(out, "a") as st:
        (st / "a1").write_text("new")
    assert (out / "a1").read_text() == "new"
    assert not (out / "sub" / "a2").exists()  # the set's own stale file went
    assert (out / "b1").read_text() == "b"  # another set's file stayed
    with pytest.raises(RuntimeError), output_set(out, "a") as st:
        (st / "a1").write_text("half")
        raise RuntimeError("boom")
    assert (out / "a1").read_text() == "new"
    assert _hidden(out) == [] and not [n for n in os.listdir(tmp_path) if ".wbtmp" in n]


def test_output_set_refuses_foreign_then_keeps_them(tmp_path: Path) -> None:
    out = tmp_path / "o"
    (out / "d").mkdir(parents=True)
    (out / "d" / "evidence.mp4").write_bytes(b"x" * 10)
    with pytest.raises(OutputError, match="did not write"):
        check_output_dir(out, "a")
    with output_set(out, "a", force=True) as st:
        (st / "r.json").write_text("{}")
    assert (out / "d" / "evidence.mp4").read_bytes() == b"x" * 10
    with output_set(out, "a", force=True) as st:
        (st / "r2.json").write_text("{}")
    assert (out / "d" / "evidence.mp4").exists() and not (out / "r.json").exists()


_KILLED = """
import os, signal, sys
from pathlib import Path
from workbench.outputs import output_set
with output_set(Path(sys.argv[1]), "a") as st:
    (st / "a1").write_text("new")
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_killed_writer_leaves_old_set_and_next_run_cleans(tmp_path: Path) -> None:
    out = tmp_path / "o"
    with output_set(out, "a") as st:
        (st / "a1").write_text("old")
    proc = subprocess.run([sys.executable, "-c", _KILLED, str(out)], check=False)
    assert proc.returncode == -signal.SIGKILL
    assert (out / "a1").read_text() == "old"
    assert len(_hidden(tmp_path)) == 1  # the killed run's staging folder
    check_output_dir(out, "a")
    assert _hidden(tmp_path) == []


def test_half_swap_is_finished_by_next_run(tmp_path: Path) -> None:
    """A kill between moving the old folder aside and the new one in: the next run puts
    the complete new folder in place (or the old back), never leaves nothing."""
    out = tmp_path / "o"
    dead = 2 ** 22 + 12345  # above pid_max on the test machines: never alive
    new = tmp_path / f".o.wbnew-{dead}-ab12"
    old = tmp_path / f".o.wbold-{dead}-cd34"
    new.mkdir()
    (new / "f").write_text("new")
    old.mkdir()
    (old / "f").write_text("old")
    clean_stale(out)
    assert (out / "f").read_text() == "new" and _hidden(tmp_path) == []
    # only the old one left: restored
    out2 = tmp_path / "p"
    old2 = tmp_path / f".p.wbold-{dead}-cd34"
    old2.mkdir()
    (old2 / "f").write_text("old")
    clean_stale(out2)
    assert (out2 / "f").read_text() == "old"


def test_atomic_directory_refuses_dot_and_cleans_stale(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputError), atomic_directory(".") as _:
        pass
    assert _hidden(tmp_path) == []
    dead = 2 ** 22 + 12345
    (tmp_path / f".x.wbtmp-{dead}-ab12").mkdir()
    with atomic_directory(tmp_path / "x") as st:
        (st / "f").write_text("1")
    assert _hidden(tmp_path) == []


def test_report_set_is_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A format failing mid-set (the 100 kB note PDF crash) left the earlier files new and
    the later ones never written; now the previous set stays whole."""
    from casekit import make_scene

    import workbench.report.kml as kml_mod
    from workbench.case import Case
    from workbench.report import write_reports

    scene = make_scene(tmp_path / "scene")
    out = tmp_path / "rep"
    with Case.create(tmp_path / "c.wbcase", video_path=scene.video, tiles=[scene.tile],
                     result=scene.result, keyframes_dir=scene.out_dir, analyst="a") as case:
        first = write_reports(case, ["geojson", "kml"], out, generated_at="2026-01-01T00:00:00Z")
        before = {p.name: p.read_bytes() for p in first}

        def boom(_data: object) -> bytes:
            raise RuntimeError("renderer crashed")

        case.confirm(1, "changes the GeoJSON")
        monkeypatch.setattr(kml_mod, "kml_bytes", boom)
        with pytest.raises(RuntimeError):
            write_reports(case, ["geojson", "kml"], out, generated_at="2026-02-01T00:00:00Z")
    assert {p.name: p.read_bytes() for p in first} == before
    assert _hidden(out) == [] and not [n for n in os.listdir(tmp_path) if ".wbtmp" in n]


def test_scratch_dir_of_a_killed_case_new_is_removed_by_the_next_run(tmp_path: Path) -> None:
    """`case new` locates inside a scratch folder beside the case; a kill left it behind
    (`.wbcase-*`).  Now it is named for the case and removed by the next run."""
    import subprocess
    import sys

    from workbench.atomic import scratch_dir

    target = tmp_path / "x.wbcase"
    code = ("import os, sys; from pathlib import Path; from workbench.atomic import scratch_dir\n"
            "with scratch_dir(Path(sys.argv[1])) as d:\n"
            "    (d / 'keyframes').mkdir(); print(d, flush=True); os.kill(os.getpid(), 9)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True,
                          text=True)
    assert proc.returncode == -9
    left = Path(proc.stdout.strip())
    assert left.is_dir() and left.parent == tmp_path  # what a kill leaves
    with scratch_dir(target) as work:
        assert not left.exists()  # the next run removed it first
        assert work.parent == tmp_path and work.is_dir()
    assert not work.exists() and sorted(tmp_path.iterdir()) == []


def test_clean_stale_in_removes_dead_writers_temp_files_only(tmp_path: Path) -> None:
    """A killed writer's temporary files in a folder it resumes in (a region index's
    chunks) are removed; a live writer's and other files are not."""
    import os

    from workbench.atomic import clean_stale_in

    dead = tmp_path / ".c1.feats.npy.wbtmp-999999999-ab12.tmp"  # no such process
    live = tmp_path / f".c2.feats.npy.wbtmp-{os.getpid()}-cd34.tmp"
    kept = tmp_path / "c0.feats.npy"
    for p in (dead, live, kept):
        p.write_bytes(b"x")
    assert clean_stale_in(tmp_path) == [dead]
    assert not dead.exists() and live.exists() and kept.exists()
