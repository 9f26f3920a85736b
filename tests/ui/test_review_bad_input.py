"""Review of bad input, end to end: one line naming the file, exit 2, nothing half-written.

Also the evidential checks found in the review: decisions need a justification,
points of interest must lie in the keyframe, and ``verify`` compares every
analyst record (not just its existence) with the hash-chained audit log.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import sqlite3
from pathlib import Path

import pytest
from casekit import Scene, make_scene

from workbench.case import Case
from workbench.cli import main
from workbench.errors import CaseError, UsageError
from workbench.verify import verify_case


@pytest.fixture(scope="module")
def base_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scene, Path]:
    root = tmp_path_factory.mktemp("review")
    scene = make_scene(root / "scene")
    path = root / "base.wbcase"
    with Case.create(path, video_path=scene.video, tiles=[scene.tile], result=scene.result,
                     keyframes_dir=scene.out_dir, analyst="alice") as case:
        case.confirm(1, "water tower matches")
        case.reject(2, "decoy")
        case.add_note("first note")
        case.set_point_of_interest(1, 160.0, 150.0, "impact")
        case.set_claim("filmed in the town", lonlat=(32.58, 0.35))
    return scene, path


@pytest.fixture
def case_path(base_case: tuple[Scene, Path], tmp_path: Path) -> Path:
    path = tmp_path / "c.wbcase"
    shutil.copy(base_case[1], path)
    return path


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(argv)
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    return code, err


def tamper(path: Path, *stmts: str) -> None:
    """Edit the case like an SQLite shell would: drop the append-only triggers first."""
    conn = sqlite3.connect(path)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    for s in stmts:
        conn.execute(s)
    conn.commit()
    conn.close()


# --- verify: the analyst's records must equal their audit entries ------------------------


@pytest.mark.parametrize(("stmt", "subject"), [
    ("UPDATE decisions SET note = 'looks fine' WHERE rank = 1", "decision on rank 1"),
    ("UPDATE decisions SET status = 'confirmed' WHERE rank = 2", "decision on rank 2"),
    ("UPDATE notes SET text = 'innocent'", "note 1"),
    ("UPDATE claim SET text = 'filmed elsewhere'", "claim"),
    ("UPDATE claim SET lonlat_json = '[30.0,1.0]'", "claim"),
    ("UPDATE points_of_interest SET lat = lat + 0.01", "point of interest 1"),
    ("UPDATE points_of_interest SET label = 'nothing here'", "point of interest 1"),
    ("UPDATE decisions SET user = 'mallory' WHERE rank = 1", "decision on rank 1"),
])
def test_records_edited_outside_the_workbench_fail_verify(
        case_path: Path, stmt: str, subject: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = verify_case(case_path)
    assert before.ok, [str(f) for f in before.findings]  # the same case, untouched, verifies
    tamper(case_path, stmt)
    rep = verify_case(case_path)
    assert not rep.ok
    assert any(f.kind == "audit_mismatch" and f.subject == subject for f in rep.findings), \
        [str(f) for f in rep.findings]
    assert main(["verify", str(case_path)]) == 1
    assert "MISMATCH" in capsys.readouterr().out


def test_inserted_claim_without_audit_entry_fails_verify(case_path: Path) -> None:
    assert verify_case(case_path).ok
    tamper(case_path, "DELETE FROM claim",
           "INSERT INTO claim (id, text, user, time) VALUES (1, 'forged', 'alice', "
           "'2020-01-01T00:00:00.000000Z')")
    rep = verify_case(case_path)
    assert any(f.kind == "audit_missing" and f.subject == "claim" for f in rep.findings)


# --- decisions and points of interest -------------------------------------------------------


@pytest.mark.parametrize("action", ["confirm", "reject"])
def test_decision_without_justification_is_refused(
        case_path: Path, action: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = case_path.read_bytes()
    code, err = run_cli(["case", action, str(case_path), "1", "--note", "  "], capsys)
    assert code == 2
    assert len(err) == 1 and str(case_path) in err[0] and "justification" in err[0]
    assert case_path.read_bytes() == before
    with Case.open(case_path) as case, pytest.raises(UsageError):
        case.confirm(1, "")


@pytest.mark.parametrize(("x", "y"), [("-5000", "99999"), ("320", "10"), ("10", "-1")])
def test_point_outside_the_keyframe_is_refused(
        case_path: Path, x: str, y: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = case_path.read_bytes()
    code, err = run_cli(["case", "point", str(case_path), "1", x, y, "--label", "p"], capsys)
    assert code == 2
    assert len(err) == 1 and str(case_path) in err[0] and "outside keyframe" in err[0]
    assert case_path.read_bytes() == before


def test_point_inside_the_keyframe_edges_is_accepted(case_path: Path) -> None:
    with Case.open(case_path) as case:
        case.set_point_of_interest(1, 0.0, 0.0, "corner")
        case.set_point_of_interest(1, 319.0, 239.0, "other corner")
    assert verify_case(case_path).ok


# --- report ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01T00:00:00Z", ""])
def test_report_generated_at_must_be_a_time(
        case_path: Path, tmp_path: Path, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rep"
    code, err = run_cli(["report", str(case_path), "--format", "html", "--out", str(out),
                         "--generated-at", value], capsys)
    assert code == 2
    assert len(err) == 1 and "--generated-at" in err[0] and "Traceback" not in err[0]
    assert not out.exists()


def test_report_generated_at_is_printed_in_utc(
        case_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rep"
    assert main(["report", str(case_path), "--format", "html", "--out", str(out),
                 "--generated-at", "2026-01-02T05:04:05+02:00"]) == 0
    html = next(out.glob("*.html")).read_text(encoding="utf-8")
    assert "Generated 2026-01-02T03:04:05Z" in html


@pytest.mark.parametrize(("metres", "text"), [(0.26, "±0.3 m"), (math.nan, "not estimated"),
                                              (0.0, "not estimated")])
def test_sub_metre_or_missing_uncertainty_is_not_printed_as_zero(
        base_case: tuple[Scene, Path], tmp_path: Path, metres: float, text: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    scene = base_case[0]
    cands = [dataclasses.replace(c, uncertainty_m=metres) for c in scene.result.candidates]
    result = dataclasses.replace(scene.result, candidates=cands)
    path = tmp_path / "u.wbcase"
    Case.create(path, video_path=scene.video, tiles=[scene.tile], result=result,
                keyframes_dir=scene.out_dir, analyst="alice").close()
    out = tmp_path / "rep"
    assert main(["report", str(path), "--format", "html,pdf,geojson,kml", "--out", str(out)]) == 0
    kml = next(out.glob("*.kml")).read_text(encoding="utf-8")
    assert f"<th align='left'>uncertainty</th><td>{text}</td>" in kml
    assert text in next(out.glob("*.html")).read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["case", "info", str(path)]) == 0
    info = capsys.readouterr().out
    assert text in info and "±0 m" not in info and "nan" not in info


# --- tiles: nothing usable -> exactly one line ------------------------------------------------


@pytest.mark.parametrize("cmd", ["locate", "case new", "tiles --json"])
def test_no_usable_tiles_is_one_line(tmp_path: Path, base_case: tuple[Scene, Path], cmd: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "imagery"
    bad.mkdir()
    (bad / "a_text.tif").write_text("not a raster\n")
    (bad / "b_empty.tif").write_bytes(b"")
    one = tmp_path / "one"
    one.mkdir()
    (one / "only.tif").write_text("not a raster either\n")
    video = str(base_case[0].video)
    for tiles, name in ((bad, "a_text.tif"), (one / "only.tif", "only.tif")):
        argv = {"locate": ["locate", video, "--tiles", str(tiles), "--out", str(tmp_path / "o")],
                "case new": ["case", "new", str(tmp_path / "n.wbcase"), video, "--tiles",
                             str(tiles)],
                "tiles --json": ["tiles", "--json", str(tiles)]}[cmd]
        code, err = run_cli(argv, capsys)
        assert code == 2
        assert len(err) == 1, err
        assert str(tiles) in err[0] and name in err[0]
    assert not (tmp_path / "n.wbcase").exists()


# --- damaged case files ----------------------------------------------------------------------


def test_damaged_case_error_is_short(case_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # zero 4 pages of keyframe-PNG overflow chains (the middle of the file, well past the
    # schema and table roots, which move as the schema grows): the schema still reads,
    # but PRAGMA quick_check lists hundreds of characters of problems
    data = bytearray(case_path.read_bytes())
    page = int.from_bytes(data[16:18], "big") or 65536
    start = len(data) // page * 5 // 10
    data[start * page:(start + 4) * page] = bytes(4 * page)
    case_path.write_bytes(bytes(data))
    for argv in (["case", "info", str(case_path)], ["verify", str(case_path)],
                 ["report", str(case_path), "--out", str(case_path.parent / "rep")]):
        code, err = run_cli(argv, capsys)
        assert code == 2
        assert len(err) == 1 and str(case_path) in err[0] and "damaged" in err[0], err
        assert len(err[0]) < 300 and "more problem(s)" in err[0], err[0]
        assert "Traceback" not in err[0]
    assert case_path.read_bytes() == bytes(data)
    assert not (case_path.parent / "rep").exists()


# --- where a new case goes -----------------------------------------------------------------


def test_case_new_never_replaces_the_footage(base_case: tuple[Scene, Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    scene = base_case[0]
    video = tmp_path / "strike.mp4"
    shutil.copy(scene.video, video)
    before = video.read_bytes()
    # arguments swapped / a typo: the case goes beside it, named strike.mp4.wbcase
    with Case.create(video, video_path=video, tiles=[scene.tile], result=_result_for(scene, video),
                     keyframes_dir=scene.out_dir, overwrite=True) as case:
        assert case.path == tmp_path / "strike.mp4.wbcase"
    assert video.read_bytes() == before


def test_overwrite_replaces_case_files_only(base_case: tuple[Scene, Path], tmp_path: Path) -> None:
    scene = base_case[0]
    other = tmp_path / "notes.wbcase"
    other.write_text("my notes, not a case\n")
    with pytest.raises(CaseError, match="not a case file"):
        Case.create(other, video_path=scene.video, tiles=[scene.tile], result=scene.result,
                    keyframes_dir=scene.out_dir, overwrite=True)
    assert other.read_text() == "my notes, not a case\n"


def test_case_new_into_a_folder_is_refused(base_case: tuple[Scene, Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "cases"
    folder.mkdir()
    video = make_video(tmp_path / "clip.mp4", frames=3)
    code, err = run_cli(["case", "new", str(folder), str(video), "--tiles",
                         str(base_case[0].tile)], capsys)
    assert code == 2
    assert len(err) == 1 and str(folder) in err[0] and "folder" in err[0], err
    assert sorted(tmp_path.iterdir()) == [folder, video] and not list(folder.iterdir())


def make_video(path: Path, frames: int, size: tuple[int, int] = (64, 48)) -> Path:
    """A tiny real H.264 clip of random frames (PyAV)."""
    import numpy as np
    from ingest_clips import encode

    rng = np.random.default_rng(1)
    encode(path, [rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
                  for _ in range(frames)], 25)
    return path


def _result_for(scene: Scene, video: Path) -> object:
    return dataclasses.replace(scene.result, video=dataclasses.replace(scene.result.video,
                                                                        path=str(video)))


# --- usage errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    [], ["bogus"], ["tiles"], ["case"], ["locate", "v.mp4", "--tiles", "--out", "o"],
    ["keyframes", "v.mp4", "--out", "o", "--max-keyframes", "0"],
    ["case", "point", "c.wbcase", "one", "1", "2", "--label", "x"],
])
def test_usage_errors_are_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    captured = capsys.readouterr()
    err = [line for line in captured.err.splitlines() if line.strip()]
    assert len(err) == 1 and "error:" in err[0] and "--help" in err[0], err
    assert captured.out == ""


@pytest.mark.parametrize("argv", [[], ["town", "t.tif", "--size", "abc"],
                                  ["footage", "a.tif", "b.mp4", "--depression", "x"]])
def test_fixtures_usage_errors_are_one_line(argv: list[str],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from workbench_fixtures.cli import main as fixtures_main

    with pytest.raises(SystemExit) as exc:
        fixtures_main(argv)
    assert exc.value.code == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "workbench-fixtures" in err[0] and "error:" in err[0], err


# --- every case-action error names a file ---------------------------------------------------


def test_case_action_errors_name_the_file(case_path: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    area = tmp_path / "area.geojson"
    area.write_text('{"type": "Polygon", "coordinates": [[[500, 100], [501, 100], [501, 101], '
                    '[500, 100]]]}')
    points = tmp_path / "points.geojson"
    points.write_text('{"type": "Point", "coordinates": [1, 2]}')
    c = str(case_path)
    before = case_path.read_bytes()
    for argv, named in [
        (["case", "claim", c, "text", "--area", str(area)], area),
        (["case", "claim", c, "text", "--area", str(points)], points),
        (["case", "claim", c, "text", "--at", "500,100"], case_path),
        (["case", "claim", c, " ", "--at", "32.5,0.3"], case_path),
        (["case", "point", c, "1", "nan", "1", "--label", "x"], case_path),
        (["case", "tiepoint", c, "1", "nan", "1", "1", "1"], case_path),
        (["case", "tiepoint", c, "1", "10", "10", "99999", "1"], case_path),
    ]:
        code, err = run_cli(argv, capsys)
        assert code == 2, argv
        assert len(err) == 1 and str(named) in err[0], (argv, err)
    assert case_path.read_bytes() == before


def test_closed_stdout_is_not_reported_as_bad_input(base_case: tuple[Scene, Path]) -> None:
    import os
    import subprocess
    import sys

    r, w = os.pipe()
    os.close(r)  # like `workbench tiles ... | head -0`
    try:
        proc = subprocess.run([sys.executable, "-m", "workbench", "tiles", str(base_case[0].tile)],
                              stdout=w, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(w)
    assert proc.returncode == 141, proc.stderr
    assert proc.stderr == ""


# --- manual keyframes come from the recorded footage only ---------------------------------------


def test_manual_keyframe_refuses_substituted_footage(
        base_case: tuple[Scene, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from workbench.hashing import sha256_file

    scene = base_case[0]
    video = make_video(tmp_path / "clip.mp4", frames=3)
    result = _result_for(scene, video)
    result.video = dataclasses.replace(result.video, sha256=sha256_file(video)[0])
    path = tmp_path / "k.wbcase"
    Case.create(path, video_path=video, tiles=[scene.tile], result=result,
                keyframes_dir=scene.out_dir).close()
    assert main(["case", "keyframe", str(path), "1"]) == 0  # the recorded footage: fine
    capsys.readouterr()
    make_video(video, frames=4, size=(64, 48))  # another clip at the same path
    before = path.read_bytes()
    code, err = run_cli(["case", "keyframe", str(path), "1"], capsys)
    assert code == 2
    assert len(err) == 1 and str(video) in err[0] and "changed" in err[0], err
    assert path.read_bytes() == before


def test_point_fix_with_unestimated_uncertainty(base_case: tuple[Scene, Path]) -> None:
    from workbench.compare import locate_pixel
    from workbench.results import LocateResult

    scene = base_case[0]
    # the point's radius comes from the candidate's tie points (workbench.position), not
    # from its stored radius: with 3 tie points it cannot be estimated
    cands = [dataclasses.replace(c, uncertainty_m=math.nan, keyframe_xy=c.keyframe_xy[:3],
                                 tile_xy=c.tile_xy[:3]) for c in scene.result.candidates]
    doc = dataclasses.replace(scene.result, candidates=cands).to_json()  # NaN -> null
    result = LocateResult.from_json(doc)
    fix = locate_pixel(result.candidates[0], result.tiles[0], 160.0, 120.0)
    assert math.isnan(fix.uncertainty_m) and math.isfinite(fix.lat)
    assert "uncertainty: ±unknown" not in fix.as_text()


def test_ui_candidates_table_with_unestimated_uncertainty(base_case: tuple[Scene, Path]) -> None:
    pytest.importorskip("PyQt6")
    from PyQt6.QtWidgets import QApplication
    from workbench_ui.candidates import COLUMNS, SORT_ROLE, CandidatesModel

    from workbench.results import LocateResult

    _app = QApplication.instance() or QApplication([])
    scene = base_case[0]
    cands = [dataclasses.replace(c, uncertainty_m=math.inf) for c in scene.result.candidates]
    result = LocateResult.from_json(dataclasses.replace(scene.result, candidates=cands).to_json())
    assert result.candidates[0].uncertainty_m is None  # how it comes back from JSON
    model = CandidatesModel()
    model.set_result(result)
    col = COLUMNS.index("± m")
    assert model.data(model.index(0, col)) == "unknown"
    assert model.data(model.index(0, col), SORT_ROLE) == math.inf
    assert _app is not None
