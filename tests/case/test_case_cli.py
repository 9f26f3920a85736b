"""`workbench case ...` subcommands, and `case new` end to end with the real engine."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from casekit import Scene, make_scene

from workbench.case import Case
from workbench.cli import main
from workbench.hashing import sha256_file


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    return make_scene(tmp_path_factory.mktemp("cli_scene"))


@pytest.fixture
def case_path(scene: Scene, tmp_path: Path) -> Path:
    path = tmp_path / "cli.wbcase"
    Case.create(path, video_path=scene.video, tiles=[scene.tile], result=scene.result,
                keyframes_dir=scene.out_dir).close()
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_decisions_notes_claim_from_the_cli(case_path: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    c = str(case_path)
    assert run(capsys, "case", "confirm", c, "1", "--note", "tower", "--user", "eve")[0] == 0
    assert run(capsys, "case", "reject", c, "2", "--note", "decoy")[0] == 0
    assert run(capsys, "case", "note", c, "called the source")[0] == 0
    assert run(capsys, "case", "claim", c, "Strike on the depot", "--at", "32.58,0.35")[0] == 0
    assert run(capsys, "case", "point", c, "1", "160", "120", "--label", "crater")[0] == 0
    assert run(capsys, "case", "tiepoint", c, "1", "50", "60", "300", "320")[0] == 0
    layer = tmp_path / "l.geojson"
    layer.write_text(json.dumps({"type": "Polygon", "coordinates": [
        [[32.0, 0.0], [33.0, 0.0], [33.0, 1.0], [32.0, 1.0], [32.0, 0.0]]]}))
    assert run(capsys, "case", "context", c, str(layer), "--name", "Region")[0] == 0
    code, out, _ = run(capsys, "case", "info", c)
    assert code == 0 and "confirmed by eve: tower" in out and "rejected" in out
    assert "Strike on the depot" in out and "36N" in out
    code, out, _ = run(capsys, "case", "info", c, "--json")
    doc = json.loads(out)
    assert [x["decision"] for x in doc["candidates"]] == ["confirmed", "rejected"]
    assert doc["notes"] == 1 and doc["audit_entries"] == 2 + 7
    with Case.open(case_path) as case:
        actions = [e.action for e in case.audit_log()]
        assert actions[2:] == ["confirm", "reject", "note", "claim", "point_of_interest",
                               "tie_point", "context_layer"]
        assert case.audit_log()[2].user == "eve"


def test_cli_errors_are_one_line(case_path: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        ("case", "confirm", str(case_path), "7", "--note", "x"),
        ("case", "info", str(tmp_path / "missing.wbcase")),
        ("case", "claim", str(case_path), "x", "--at", "nonsense"),
        ("case", "context", str(case_path), str(tmp_path / "none.kml")),
        ("case", "new", str(case_path), str(tmp_path / "v.mp4"), "--tiles", "t.tif"),
    ]
    for argv in cases:
        code, _, err = run(capsys, *argv)
        assert code == 2, argv
        assert err.startswith("workbench: error:") and err.count("\n") == 1, err
    # the refused `case new` did not touch the existing case
    with Case.open(case_path) as case:
        assert len(case.audit_log()) == 2


@pytest.mark.slow
def test_case_new_runs_locate(cut_clip: Any, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    """``case new VIDEO --tiles ...`` runs the engine itself (a short clip, one tile)."""
    path = tmp_path / "clip.wbcase"
    code, out, err = run(capsys, "case", "new", str(path), str(cut_clip.video),
                         "--tiles", str(cut_clip.raster), "--user", "tester")
    assert code == 0, err
    assert "created" in out
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers
    with Case.open(path) as case:
        res = case.result
        assert res.verdict == "located" and res.candidates and case.keyframes
        assert [r.sha256 for r in case.rasters] == [sha256_file(cut_clip.raster)[0]]
        for k in case.keyframes:
            assert case.keyframe_image(k.id).shape == (240, 320, 3)
        assert [e.action for e in case.audit_log()] == ["create", "locate"]


@pytest.mark.slow
def test_case_end_to_end_from_the_demo_locate(demo_locate: tuple[int, Path, str],
                                              demo_data: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The session's demo locate through the case: new, confirm, keyframe, verify, report."""
    rc, located, _ = demo_locate
    assert rc == 0
    path = tmp_path / "strike.wbcase"
    code, out, err = run(capsys, "case", "new", str(path), str(demo_data / "strike.mp4"),
                         "--locate-json", str(located / "locate.json"), "--user", "tester")
    assert code == 0, err
    assert "created" in out
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers
    with Case.open(path) as case:
        res = case.result
        assert res.candidates and case.keyframes
        assert len(case.rasters) == 2 and all(len(r.sha256) == 64 for r in case.rasters)
        for k in case.keyframes:
            assert case.keyframe_image(k.id).ndim == 3
        assert [e.action for e in case.audit_log()] == ["create", "locate"]
    assert run(capsys, "case", "confirm", str(path), "1", "--note", "ok")[0] == 0
    code, out, err = run(capsys, "case", "keyframe", str(path), "100")
    assert code == 0 and "manual keyframe m0001 (frame 100, 4.000 s)" in out, err
    with Case.open(path) as case:
        assert case.keyframe_image("m0001").shape == (360, 640, 3)
        assert case.audit_log()[-1].details["frame_index"] == 100
    code, out, _ = run(capsys, "verify", str(path))
    assert code == 0 and "VERIFIED" in out
    code, out, _ = run(capsys, "report", str(path), "--out", str(tmp_path / "rep"),
                       "--format", "html,geojson")
    assert code == 0 and (tmp_path / "rep" / "strike.html").is_file()


@pytest.fixture
def locate_out(scene: Scene, tmp_path: Path) -> Path:
    """A `workbench locate --out DIR` folder: DIR/locate.json with DIR/keyframes/ beside it."""
    out = tmp_path / "locate"
    shutil.copytree(scene.out_dir, out)
    (out / "locate.json").write_text(json.dumps(scene.result.to_json()), encoding="utf-8")
    return out / "locate.json"


def test_one_wbcase_rule_and_case_new_from_locate_json(
        scene: Scene, locate_out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "case", "new", "X", str(scene.video), "--locate-json",
                         str(locate_out), "--user", "ann")
    assert code == 0, err
    assert (tmp_path / "X.wbcase").is_file() and not (tmp_path / "X").exists()
    assert "X.wbcase: created; verdict located, 2 candidates" in out
    # every command taking CASE finds X.wbcase when given X
    code, out, err = run(capsys, "case", "confirm", "X", "1", "--note", "tower", "--user", "bo")
    assert code == 0 and "X.wbcase: rank 1 confirmed by bo" in out, err
    assert run(capsys, "case", "note", "X", "asked the source")[0] == 0
    code, out, _ = run(capsys, "case", "info", "X", "--json")
    assert code == 0 and json.loads(out)["candidates"][0]["decision"] == "confirmed"
    code, out, _ = run(capsys, "verify", "X")
    assert code == 0 and "X.wbcase: VERIFIED" in out
    code, out, err = run(capsys, "report", "X", "--out", "X", "--format", "geojson")
    assert code == 0 and (tmp_path / "X" / "X.geojson").is_file(), err
    code, out, _ = run(capsys, "case", "info", "X")  # the folder X does not hide X.wbcase
    assert code == 0 and "X.wbcase" in out
    # X as given wins when it exists; neither: one clear line
    code, _, err = run(capsys, "case", "info", "nothing")
    assert code == 2 and err == ("workbench: error: nothing: case file not found "
                                 "(nor nothing.wbcase)\n")
    code, _, err = run(capsys, "verify", "nothing.wbcase")
    assert code == 2 and err == "workbench: error: nothing.wbcase: case file not found\n"
    with Case.open(tmp_path / "X.wbcase") as case:
        log = case.audit_log()
        assert [e.action for e in log] == ["create", "locate", "confirm", "note"]
        assert [e.user for e in log] == ["ann", "ann", "bo", case.analyst]
        assert [k.id for k in case.keyframes] == ["kf0001", "kf0002"]
        assert case.keyframe_png("kf0001") == (locate_out.parent / "keyframes" /
                                               "kf0001.png").read_bytes()
        assert [r.path for r in case.rasters] == [str(scene.tile.resolve())]
        assert case.result.candidates[0].lat == scene.result.candidates[0].lat


def test_case_new_from_locate_json_checks_the_footage(
        scene: Scene, locate_out: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.mp4"
    other.write_bytes(scene.video.read_bytes()[:-1] + b"!")
    target = tmp_path / "Y.wbcase"
    bad = [
        (("case", "new", str(target), str(other), "--locate-json", str(locate_out)),
         "other.mp4: footage changed since it was located (SHA-256 differs)"),
        (("case", "new", str(target), str(scene.video)),
         "case new needs --tiles"),
        (("case", "new", str(target), str(scene.video), "--locate-json", str(locate_out),
          "--target", "3,4"), "a target pixel or locate settings apply when locate runs"),
        (("case", "new", str(target), str(scene.video), "--locate-json",
          str(tmp_path / "none.json")), "none.json: locate.json not found"),
    ]
    for argv, message in bad:
        code, _, err = run(capsys, *argv)
        assert code == 2 and message in err and err.count("\n") == 1, (argv, err)
    unhashed = tmp_path / "unhashed.json"
    doc = scene.result.to_json()
    doc["video"]["sha256"] = ""
    unhashed.write_text(json.dumps(doc), encoding="utf-8")
    code, _, err = run(capsys, "case", "new", str(target), str(scene.video), "--locate-json",
                       str(unhashed))
    assert code == 2 and "records no footage SHA-256" in err
    assert not list(tmp_path.glob("*.wbcase")) and not list(tmp_path.glob(".*"))
