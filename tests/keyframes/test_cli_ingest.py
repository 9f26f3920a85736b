"""`workbench info` / `workbench keyframes`: output, and bad input -> one line, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from ingest_clips import ShotSpec, encode, make_clip

from workbench.cli import main


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "small.mp4"
    make_clip(path, [ShotSpec(1.2, 1, "pan"), ShotSpec(1.2, 2, "pan")], size=(320, 180))
    return path


def test_info_text_and_json(small_clip: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(small_clip)]) == 0
    out = capsys.readouterr().out
    assert "sha256" in out and "320x180" in out
    assert main(["info", "--json", str(small_clip)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["frame_count"] == 60 and doc["width"] == 320 and len(doc["sha256"]) == 64


def test_keyframes_writes_folder(small_clip: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "kf"
    assert main(["keyframes", str(small_clip), "--out", str(out)]) == 0
    doc = json.loads((out / "keyframes.json").read_text())
    assert doc["schema"] == "workbench.keyframes/1"
    assert len(doc["keyframes"]) >= 2
    for k in doc["keyframes"]:
        assert (out / k["image"]).is_file() and (out / k["mask"]).is_file()
    assert capsys.readouterr().err == ""  # quiet off a terminal: no progress bar


def _bad(kind: str, tmp: Path, clip: Path) -> tuple[list[str], Path]:
    video = tmp / "bad.mp4"
    out = tmp / "out"
    if kind == "zero":
        video.write_bytes(b"")
    elif kind == "text":
        video.write_text("hello\n" * 100)
    elif kind == "truncated":
        data = clip.read_bytes()
        video.write_bytes(data[: len(data) // 2])
    elif kind == "one_frame":
        import numpy as np

        encode(video, [np.full((90, 160, 3), 100, np.uint8)], 25)
    elif kind == "directory":
        video = tmp
    elif kind == "missing":
        video = tmp / "nope.mp4"
    elif kind == "unwritable_out":
        video = clip
        blocker = tmp / "a_file"
        blocker.write_text("x")
        out = blocker / "out"
    return ["keyframes", str(video), "--out", str(out)], video if kind != "unwritable_out" else out


@pytest.mark.parametrize("kind", ["zero", "text", "truncated", "one_frame", "directory",
                                  "missing", "unwritable_out"])
def test_bad_input_one_line_exit_2_nothing_written(
    kind: str, small_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, named = _bad(kind, tmp_path, small_clip)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("workbench: error:")
    assert str(named.parent if kind == "unwritable_out" else named) in err[0]
    assert "Traceback" not in err[0]
    assert not (tmp_path / "out").exists()


def test_process_level_stderr_is_one_line(tmp_path: Path) -> None:
    video = tmp_path / "junk.mp4"
    video.write_text("definitely not a video\n" * 20)
    proc = subprocess.run([sys.executable, "-m", "workbench", "info", str(video)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "junk.mp4" in lines[0]


@pytest.mark.parametrize("container", ["faststart.mp4", "mkv"])
def test_truncated_file_yields_keyframes_of_the_decodable_part(
    container: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full = tmp_path / f"full.{container}"
    opts = {"movflags": "+faststart"} if container.endswith("mp4") else None
    make_clip(full, [ShotSpec(1.2, 1, "pan"), ShotSpec(1.2, 2, "pan")], size=(320, 180),
              options=opts)
    data = full.read_bytes()
    cut = tmp_path / f"cut.{container}"
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "kf"
    assert main(["keyframes", str(cut), "--out", str(out)]) == 0
    doc = json.loads((out / "keyframes.json").read_text())
    assert doc["keyframes"], "the decodable half still gives keyframes"
    assert doc["warnings"] and all(str(cut) in w for w in doc["warnings"])
    assert doc["stats"]["frames_decoded"] < 60


def test_progress_bar_only_on_a_terminal(small_clip: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    err = Tty()
    monkeypatch.setattr(sys, "stderr", err)
    assert main(["keyframes", str(small_clip), "--out", str(tmp_path / "kf")]) == 0
    assert "decoding" in err.getvalue() and "%" in err.getvalue()
    err2 = Tty()
    monkeypatch.setattr(sys, "stderr", err2)
    assert main(["-q", "keyframes", str(small_clip), "--out", str(tmp_path / "kf2")]) == 0
    assert err2.getvalue() == ""
