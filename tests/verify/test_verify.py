"""`workbench verify`: precise findings for tampering and moved files, exit codes."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from casekit import Scene, make_scene

from workbench.case import Case
from workbench.cli import main
from workbench.verify import VerifyReport, verify_case


@pytest.fixture
def scene(tmp_path: Path) -> Scene:
    return make_scene(tmp_path / "scene")  # per test: some tests damage the inputs


@pytest.fixture
def case_path(scene: Scene, tmp_path: Path) -> Path:
    path = tmp_path / "v.wbcase"
    with Case.create(path, video_path=scene.video, tiles=[scene.tile], result=scene.result,
                     keyframes_dir=scene.out_dir, analyst="alice") as case:
        case.confirm(1, "matches")
        case.reject(2, "decoy")
        case.add_note("note")
    return path


def kinds(rep: VerifyReport) -> set[str]:
    return {f.kind for f in rep.findings if f.severity == "error"}


def sql(path: Path, *stmts: str, args: tuple[object, ...] = ()) -> None:
    conn = sqlite3.connect(path)
    for s in stmts:
        conn.execute(s, args) if args and "?" in s else conn.execute(s)
    conn.commit()
    conn.close()


def test_clean_case_verifies(case_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rep = verify_case(case_path)
    assert rep.ok and rep.findings == [] and len(rep.audit_head) == 64
    assert any("recomputed from 24 tie points" in c for c in rep.checked)
    assert main(["verify", str(case_path)]) == 0
    assert "VERIFIED" in capsys.readouterr().out


def test_changed_footage(case_path: Path, scene: Scene,
                         capsys: pytest.CaptureFixture[str]) -> None:
    with scene.video.open("ab") as fh:
        fh.write(b"\0")
    rep = verify_case(case_path)
    [f] = rep.findings
    assert f.kind == "footage_hash" and f.subject == str(scene.video.resolve())
    assert scene.result.video.sha256 in f.message
    assert main(["verify", str(case_path)]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH" in out and "footage_hash" in out


def test_moved_footage_and_raster(case_path: Path, scene: Scene) -> None:
    scene.video.rename(scene.video.with_name("moved.mp4"))
    shutil.move(scene.tile, scene.tile.with_name("elsewhere.tif"))
    rep = verify_case(case_path)
    assert kinds(rep) == {"footage_missing", "raster_missing"}
    raster = next(f for f in rep.findings if f.kind == "raster_missing")
    assert raster.subject == str(scene.tile.resolve()) and "moved or deleted" in raster.message


def test_changed_raster(case_path: Path, scene: Scene) -> None:
    data = bytearray(scene.tile.read_bytes())
    data[-100] ^= 0xFF
    scene.tile.write_bytes(bytes(data))
    rep = verify_case(case_path)
    assert kinds(rep) == {"raster_hash"}


def test_tampered_keyframe(case_path: Path) -> None:
    import cv2
    import numpy as np

    with Case.open(case_path) as case:
        img = case.keyframe_image("kf0001")
    img[100:120, 100:120] = 0  # "remove" something from the frame
    png = cv2.imencode(".png", img)[1].tobytes()
    sql(case_path, "UPDATE keyframes SET png = ? WHERE id = 'kf0001'", args=(png,))
    rep = verify_case(case_path)
    f = next(f for f in rep.findings if f.kind == "keyframe_hash")
    assert (f.kind, f.subject) == ("keyframe_hash", "kf0001") and "altered" in f.message
    assert {(f.kind, f.subject) for f in rep.findings} == {("keyframe_hash", "kf0001"),
                                                           ("row_changed", "keyframe kf0001")}
    # also rewriting the stored hash is caught by the audit log's record of it
    import hashlib

    sql(case_path, "UPDATE keyframes SET sha256 = ? WHERE id = 'kf0001'",
        args=(hashlib.sha256(png).hexdigest(),))
    rep = verify_case(case_path)
    assert {(f.kind, f.subject) for f in rep.findings} == {("keyframe_hash", "kf0001"),
                                                           ("row_changed", "keyframe kf0001")}
    assert "audit log" in next(f for f in rep.findings if f.kind == "keyframe_hash").message
    assert "png, sha256 differ" in next(f for f in rep.findings if f.kind == "row_changed"
                                        ).message
    assert np.any(img)  # keep numpy import used in both branches


def test_moved_location_is_detected(case_path: Path) -> None:
    conn = sqlite3.connect(case_path)
    doc = json.loads(conn.execute("SELECT doc FROM candidates WHERE rank = 1").fetchone()[0])
    conn.close()
    doc["lat"] += 0.001  # move the confirmed location ~110 m north
    sql(case_path, "UPDATE candidates SET doc = ? WHERE rank = 1", args=(json.dumps(doc),))
    rep = verify_case(case_path)
    assert {"candidate_changed", "location_mismatch", "refit_mismatch"} <= kinds(rep)
    loc = next(f for f in rep.findings if f.kind == "location_mismatch")
    assert loc.subject == "rank 1" and " m from where its homography" in loc.message


def test_altered_tie_points_are_detected(case_path: Path) -> None:
    conn = sqlite3.connect(case_path)
    doc = json.loads(conn.execute("SELECT doc FROM candidates WHERE rank = 1").fetchone()[0])
    conn.close()
    doc["tile_xy"] = [[x + 40.0 * (i % 2), y] for i, (x, y) in enumerate(doc["tile_xy"])]
    sql(case_path, "UPDATE candidates SET doc = ? WHERE rank = 1", args=(json.dumps(doc),))
    rep = verify_case(case_path)
    assert "residuals" in kinds(rep)


def test_audit_tampering_is_detected(case_path: Path) -> None:
    # a decision slipped in without the workbench: no audit entry
    sql(case_path, "INSERT INTO decisions (run_id, rank, status, note, user, time) VALUES "
                   "(1, 2, 'confirmed', 'forged', 'mallory', '2030-01-01T00:00:00.000000Z')")
    rep = verify_case(case_path)
    assert kinds(rep) == {"audit_missing"}
    # editing history with the append-only triggers dropped breaks the hash chain
    sql(case_path, "DROP TRIGGER audit_log_no_update",
        "UPDATE audit_log SET user = 'mallory' WHERE action = 'confirm'")
    rep = verify_case(case_path)
    chain = [f for f in rep.findings if f.kind == "audit_chain"]
    assert chain and chain[0].subject == "audit #3" and "edited" in chain[0].message


def test_verify_never_modifies_the_case(case_path: Path, scene: Scene) -> None:
    scene.video.unlink()
    before = case_path.read_bytes()
    assert not verify_case(case_path).ok
    assert case_path.read_bytes() == before


def test_unreadable_case_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "junk.wbcase"
    bad.write_bytes(b"not a case" * 100)
    assert main(["verify", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "junk.wbcase" in err and err.count("\n") == 1 and "Traceback" not in err


def test_manual_tie_points_checked_against_the_audit_log(case_path: Path) -> None:
    with Case.open(case_path) as case:
        for k in range(6):  # careless manual tie points: a warning, not a tampering error
            case.add_tie_point(1, (30.0 + 40 * k, 40.0 + 25 * k), (700.0 - 90 * k, 20.0 + 7 * k))
    rep = verify_case(case_path)
    assert rep.ok and [f.kind for f in rep.findings] == ["residuals"]
    assert rep.findings[0].severity == "warning"
    sql(case_path, "DROP TRIGGER tie_points_no_update", "UPDATE tie_points SET tx = tx + 5")
    rep = verify_case(case_path)
    assert {f.kind for f in rep.findings if f.severity == "error"} == {
        "audit_mismatch", "row_changed", "schema_changed"}  # the dropped trigger too
    assert sum(f.kind == "audit_mismatch" for f in rep.findings) == 6
    assert sum(f.kind == "row_changed" and "tx" in f.message for f in rep.findings) == 6


def test_sidecar_files_are_part_of_the_evidence(case_path: Path, scene: Scene) -> None:
    world = scene.tile.with_name(scene.tile.name + ".aux.xml")  # GDAL PAM sidecar
    world.write_text("<PAMDataset><SRS>EPSG:4326</SRS></PAMDataset>")  # appears afterwards
    rep = verify_case(case_path)
    side = [f for f in rep.findings if f.kind == "raster_sidecar"]
    assert side and side[0].subject == str(world.resolve()) and "new sidecar" in side[0].message


def test_copy_of_footage_in_the_case(scene: Scene, tmp_path: Path) -> None:
    path = tmp_path / "copy.wbcase"
    Case.create(path, video_path=scene.video, tiles=[scene.tile], result=scene.result,
                keyframes_dir=scene.out_dir, copy_video=True).close()
    with Case.open(path) as case:
        assert case.footage.has_copy and case.footage_copy() == scene.video.read_bytes()
    scene.video.unlink()
    rep = verify_case(path)
    [f] = rep.findings
    assert f.kind == "footage_missing" and "verified copy" in f.message
    assert any("footage copy in the case" in c for c in rep.checked)


def test_copy_of_footage_is_the_data_hashed_and_has_a_size_limit(
    scene: Scene, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    from workbench.case import ingest as case_ingest
    from workbench.errors import UsageError

    path = tmp_path / "copy.wbcase"
    Case.create(path, video_path=scene.video, tiles=[scene.tile], result=scene.result,
                keyframes_dir=scene.out_dir, copy_video=True).close()
    with Case.open(path) as case:
        assert hashlib.sha256(case.footage_copy() or b"").hexdigest() == case.video.sha256
    monkeypatch.setattr(case_ingest, "MAX_VIDEO_COPY_BYTES", 10)
    big = tmp_path / "big.wbcase"
    with pytest.raises(UsageError, match="too large to copy"):
        Case.create(big, video_path=scene.video, tiles=[scene.tile], result=scene.result,
                    keyframes_dir=scene.out_dir, copy_video=True)
    assert not big.exists()


def test_relink_moved_files(case_path: Path, scene: Scene, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    moved_dir = tmp_path / "archive"
    moved_dir.mkdir()
    video = Path(shutil.move(scene.video, moved_dir / "renamed.mp4"))
    tile = Path(shutil.move(scene.tile, moved_dir / "town_copy.tif"))
    assert not verify_case(case_path).ok
    assert main(["case", "relink", str(case_path), str(video)]) == 0
    assert main(["case", "relink", str(case_path), str(tile)]) == 0
    capsys.readouterr()
    rep = verify_case(case_path)
    assert rep.ok, [str(f) for f in rep.findings]
    with Case.open(case_path) as case:
        assert case.video.path == str(video.resolve())
        relinks = [e for e in case.audit_log() if e.action == "relink"]
        assert [e.details["what"] for e in relinks] == ["footage", "raster"]
        assert relinks[0].details["old_path"] == str(scene.video.resolve())
    other = tmp_path / "other.bin"
    other.write_bytes(b"unrelated")
    assert main(["case", "relink", str(case_path), str(other)]) == 2
    assert "matches neither" in capsys.readouterr().err
