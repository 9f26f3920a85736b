"""`workbench verify` exit codes: 0 verified, 1 mismatch, 2 bad input, 3 could not check."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from casekit import Scene, make_scene

from workbench.case import Case
from workbench.cli import build_parser, main
from workbench.verify import check as verify_check
from workbench.verify import model as verify_model


@pytest.fixture(scope="module")
def case_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("exit")
    scene: Scene = make_scene(root / "scene")
    path = root / "e.wbcase"
    with Case.create(path, video_path=scene.video, tiles=[scene.tile], result=scene.result,
                     keyframes_dir=scene.out_dir, analyst="alice") as case:
        case.add_note("n")
    return path


def test_exit_codes_are_distinct_and_documented(case_path: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    codes = {}
    codes["verified"] = main(["verify", str(case_path)])
    junk = tmp_path / "junk.wbcase"
    junk.write_bytes(b"not a case" * 100)
    codes["bad input"] = main(["verify", str(junk)])
    codes["missing key file"] = main(["verify", str(case_path), "--key", str(tmp_path / "nokey")])

    def broken(*_: object) -> None:
        raise RuntimeError("simulated failure inside a check")

    monkeypatch.setattr(verify_check, "check_schema", broken)
    capsys.readouterr()
    codes["could not check"] = main(["verify", str(case_path)])
    out = capsys.readouterr().out
    assert "NOT CHECKED schema: could not be checked (RuntimeError: simulated failure" in out
    assert "VERIFIED" not in out
    monkeypatch.undo()
    tampered = tmp_path / "t.wbcase"
    tampered.write_bytes(case_path.read_bytes())
    conn = sqlite3.connect(tampered)
    conn.execute("UPDATE keyframes SET time_s = 99 WHERE id = 'kf0001'")
    conn.commit()
    conn.close()
    codes["mismatch"] = main(["verify", str(tampered)])
    assert codes == {"verified": verify_model.EXIT_VERIFIED, "bad input": 2,
                     "missing key file": 2, "could not check": verify_model.EXIT_NOT_CHECKED,
                     "mismatch": verify_model.EXIT_MISMATCH}
    assert len({codes["verified"], codes["mismatch"], codes["bad input"],
                codes["could not check"]}) == 4
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    help_text = sub.choices["verify"].format_help()  # type: ignore[attr-defined]
    for line in ("0  verified", "1  mismatch", "2  bad input", "3  not checked"):
        assert line in help_text


def test_a_mismatch_wins_over_a_check_that_could_not_run(case_path: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    tampered = tmp_path / "t.wbcase"
    tampered.write_bytes(case_path.read_bytes())
    conn = sqlite3.connect(tampered)
    conn.execute("UPDATE keyframes SET frame_index = 1 WHERE id = 'kf0001'")
    conn.commit()
    conn.close()

    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(verify_check, "check_anchoring", broken)
    rep = verify_check.verify_case(tampered)
    assert rep.status == "mismatch" and rep.exit_code == 1 and rep.not_checked


def test_verify_crash_outside_the_checks_exits_3(case_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import workbench.verify as verify_pkg

    def crash(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(verify_pkg, "verify_case", crash)
    assert main(["verify", str(case_path)]) == 3
    err = capsys.readouterr().err
    assert "could not check" in err and err.count("\n") == 1 and "Traceback" not in err
