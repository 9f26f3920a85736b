"""Tie points are withdrawn by an appended retraction, never deleted: the candidate is
refitted without the point (restored to the engine's result when none is left), the
audit log says why, residuals follow, verify accepts the outcome and the table refuses
edits."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from casekit import Scene, make_scene, to_schema_3

from workbench.case import Case
from workbench.errors import UsageError
from workbench.geo import apply_homography
from workbench.verify import verify_case


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    return make_scene(tmp_path_factory.mktemp("retract_scene"))


def _case(scene: Scene, path: Path) -> Case:
    return Case.create(path, video_path=scene.video, tiles=[scene.tile], result=scene.result,
                       keyframes_dir=scene.out_dir, analyst="alice")


def test_retract_refits_and_restores(scene: Scene, tmp_path: Path) -> None:
    with _case(scene, tmp_path / "c.wbcase") as case:
        c0 = case.candidate(1)
        exact = apply_homography(scene.h_true, np.array([[50.0, 60.0]]))[0]
        good = case.add_tie_point(1, (50.0, 60.0), (float(exact[0]), float(exact[1])))
        bad = case.add_tie_point(1, (160.0, 120.0), (float(exact[0]) + 200, float(exact[1])))
        moved = case.candidate(1)
        assert abs(moved.lon - c0.lon) > 1e-6
        res = {r.tie.id: r for r in case.tie_point_residuals(1)}
        assert set(res) == {good.id, bad.id}
        assert res[bad.id].residual_px > res[good.id].residual_px
        assert res[bad.id].residual_m == pytest.approx(
            res[bad.id].residual_px * case.rasters[0].gsd_m)

        with pytest.raises(UsageError, match="say why"):
            case.retract_tie_point(bad.id, "  ")
        n = len(case.audit_log())
        r = case.retract_tie_point(bad.id, "clicked the wrong corner")
        assert r.tie_point_id == bad.id and len(case.audit_log()) == n + 1
        e = case.audit_log()[-1]
        assert e.action == "tie_point_retract" and e.details["reason"] == \
            "clicked the wrong corner" and e.details["old"]["lon"] == pytest.approx(moved.lon)
        assert [t.id for t in case.tie_points(1)] == [good.id]
        assert len(case.tie_points(1, include_retracted=True)) == 2
        back = case.candidate(1)
        assert back.lat == pytest.approx(c0.lat, abs=1e-7)
        assert back.lon == pytest.approx(c0.lon, abs=1e-7)
        with pytest.raises(UsageError, match="no active tie point"):
            case.retract_tie_point(bad.id, "again")

        case.retract_tie_point(good.id, "not needed")
        restored = case.candidate(1)
        assert restored == case.locate_run().candidates[0]  # exactly the engine's result
        assert case.tie_point_residuals(1) == []
        case.confirm(1, "checked the landmarks")
    rep = verify_case(tmp_path / "c.wbcase")
    assert rep.ok, [f.message for f in rep.errors]


def test_retractions_are_append_only(scene: Scene, tmp_path: Path) -> None:
    path = tmp_path / "c.wbcase"
    with _case(scene, path) as case:
        exact = apply_homography(scene.h_true, np.array([[50.0, 60.0]]))[0]
        t = case.add_tie_point(1, (50.0, 60.0), (float(exact[0]), float(exact[1])))
        case.retract_tie_point(t.id, "duplicate")
    conn = sqlite3.connect(path)
    try:
        for sql in ("DELETE FROM tie_point_retractions",
                    "UPDATE tie_point_retractions SET reason = 'x'", "DELETE FROM tie_points"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(sql)
    finally:
        conn.close()


def test_v3_case_migrates_to_v4(scene: Scene, tmp_path: Path) -> None:
    path = tmp_path / "c.wbcase"
    _case(scene, path).close()
    to_schema_3(path)
    with Case.open(path) as case:
        assert case.schema_version == 4
        assert case.tie_point_retractions() == []


def test_cli_retract(scene: Scene, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from workbench.cli import main

    path = tmp_path / "c.wbcase"
    _case(scene, path).close()
    exact = apply_homography(scene.h_true, np.array([[50.0, 60.0]]))[0]
    assert main(["case", "tiepoint", str(path), "1", "50", "60", str(exact[0] + 80),
                 str(exact[1])]) == 0
    assert "tie point 1 added" in capsys.readouterr().out
    # no reason: refused in one line, nothing recorded
    assert main(["case", "tiepoint-retract", str(path), "1", "--reason", " "]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "say why" in err[0] and "Traceback" not in err[0]
    assert main(["case", "tiepoint-retract", str(path), "1", "--reason", "wrong roof"]) == 0
    assert "tie point 1 retracted" in capsys.readouterr().out
    with Case.open(path) as case:
        assert case.tie_points() == [] and case.audit_log()[-1].details["reason"] == "wrong roof"
        assert case.candidate(1) == case.locate_run().candidates[0]
    assert main(["case", "tiepoint-retract", str(path), "7", "--reason", "x"]) == 2
