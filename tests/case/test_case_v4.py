"""Case schema 4: row digests with every audit entry, the case id, and older cases (made
here by stripping a case back to schema 3) that verify honestly as partly checkable."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from casekit import Scene, make_scene, to_schema_3

from workbench.case import Case
from workbench.case.store import SCHEMA_VERSION
from workbench.cli import main
from workbench.verify import verify_case


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scene, Path]:
    root = tmp_path_factory.mktemp("v4")
    scene = make_scene(root / "scene")
    path = root / "base.wbcase"
    with Case.create(path, video_path=scene.video, tiles=[scene.tile], result=scene.result,
                     keyframes_dir=scene.out_dir, analyst="alice") as case:
        case.confirm(1, "matches")
        case.add_note("first note")
    return scene, path


@pytest.fixture
def old(made: tuple[Scene, Path], tmp_path: Path) -> Path:
    path = tmp_path / "old.wbcase"
    shutil.copyfile(made[1], path)
    to_schema_3(path)
    return path


def test_every_row_writing_entry_records_its_rows(made: tuple[Scene, Path]) -> None:
    with Case.open(made[1], readonly=True) as case:
        assert case.schema_version == SCHEMA_VERSION == 4 and len(case.case_id) == 36
        case_id = case.case_id
        entries = case.audit_log()
        recorded = case.recorded_row_digests()
        current = case.row_digests()
    assert [e.action for e in entries] == ["create", "locate", "confirm", "note"]
    assert all(e.details["rows"] == len(recorded[e.seq]) > 0 for e in entries)
    assert entries[0].details["case_id"] == case_id
    assert {"footage/1", "rasters/1", "keyframes/kf0001", "meta/case_id"} <= set(recorded[1])
    assert {"locate_runs/1", "candidates/1", "candidates/2"} == set(recorded[2])
    covered = {k for rows in recorded.values() for k in rows}
    assert covered == set(current)  # every row of the case is accounted for


def test_old_case_verifies_as_partly_checkable(old: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["verify", str(old)]) == 0
    out = capsys.readouterr().out
    assert "VERIFIED (0 problems, partly checkable)" in out
    assert "partly checkable:" in out and "locate warnings" in out
    before = old.read_bytes()
    rep = verify_case(old)
    assert rep.ok and rep.partly and old.read_bytes() == before  # migrated in memory only


@pytest.mark.parametrize(("stmt", "kind", "subject"), [
    ("UPDATE footage SET video_json = json_set(video_json, '$.fps', 12.5)",
     "footage_metadata", None),
    ("UPDATE keyframes SET time_s = time_s + 2 WHERE id = 'kf0001'", "keyframe_changed",
     "kf0001"),
    ("UPDATE rasters SET meta_json = json_set(meta_json, '$.acquired', '1999-01-01')",
     "raster_metadata", None),
    ("DELETE FROM notes", "row_deleted", "audit #4"),
    ("UPDATE locate_runs SET doc = json_set(doc, '$.verdict', 'ambiguous')", "audit_mismatch",
     "locate run 1"),
    ("DROP TRIGGER decisions_no_update", "schema_changed", "trigger decisions_no_update"),
])
def test_old_case_tampering_still_detected(old: Path, stmt: str, kind: str,
                                           subject: str | None) -> None:
    conn = sqlite3.connect(old, isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND "
                                "name LIKE 'notes_%' OR name LIKE 'locate_runs_%'").fetchall():
        if "DROP TRIGGER" not in stmt:
            conn.execute(f"DROP TRIGGER {name}")
    conn.execute(stmt)
    conn.close()
    rep = verify_case(old)
    hits = [f for f in rep.findings if f.kind == kind]
    assert rep.exit_code == 1 and hits, [str(f) for f in rep.findings]
    if subject is not None:
        assert hits[0].subject == subject


def test_old_case_migrated_on_disk_records_digests_from_then_on(old: Path) -> None:
    with Case.open(old, analyst="bob") as case:
        assert case.schema_version == 4 and case.case_id
        note = case.add_note("after the upgrade")
        migrate = next(e for e in case.audit_log() if e.action == "migrate")
    assert migrate.details["from_version"] == 3 and migrate.details["rows"] == 2
    rep = verify_case(old)
    assert rep.ok and rep.partly, [str(f) for f in rep.findings]
    conn = sqlite3.connect(old, isolation_level=None)
    conn.execute("DROP TRIGGER notes_no_update")
    conn.execute("UPDATE notes SET text = 'forged' WHERE id = ?", (note.id,))
    conn.execute("CREATE TRIGGER notes_no_update BEFORE UPDATE ON notes BEGIN "
                 "SELECT RAISE(ABORT, 'notes is append-only'); END")
    conn.close()
    rep = verify_case(old)
    assert any(f.kind == "row_changed" and f.subject == f"note {note.id}" and "text" in f.message
               for f in rep.findings)


def test_rows_are_append_only_in_schema_4(made: tuple[Scene, Path], tmp_path: Path) -> None:
    path = tmp_path / "c.wbcase"
    shutil.copyfile(made[1], path)
    conn = sqlite3.connect(path, isolation_level=None)
    for stmt in ("DELETE FROM keyframes", "UPDATE row_digests SET digest = ''",
                 "DELETE FROM candidates", "DELETE FROM footage"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(stmt)
    conn.close()
