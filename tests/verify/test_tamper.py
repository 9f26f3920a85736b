"""`workbench verify` sees every edit of what a report prints as evidence (issue 9).

One case with every kind of record is built once per module; each test tampers a copy
of it with plain SQLite, as someone with a shell would (dropping the table's trigger
first and putting it back afterwards, so only the row check can see it), and expects
`workbench verify` to exit 1 and name what was changed.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from casekit import Scene, make_scene

from workbench.cli import main
from workbench.verify import verify_case


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scene, Path]:
    from workbench.case import Case
    from workbench.geo import apply_homography

    root = tmp_path_factory.mktemp("tamper")
    scene = make_scene(root / "scene")
    layer = root / "control.geojson"
    layer.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"side": "A"}, "geometry": {
            "type": "Polygon", "coordinates": [[[30.0, 50.0], [30.1, 50.0], [30.1, 50.1],
                                                [30.0, 50.1], [30.0, 50.0]]]}}]}))
    path = root / "base.wbcase"
    with Case.create(path, video_path=scene.video, tiles=[scene.tile], result=scene.result,
                     keyframes_dir=scene.out_dir, analyst="alice") as case:
        case.confirm(1, "matches the water tower")
        case.reject(2, "decoy")
        case.add_note("seen from the north-east")
        c = case.candidate(1)
        case.set_claim("strike on the depot", lonlat=(c.lon, c.lat))
        case.add_context_layer(layer, name="control", source="analyst", as_of="2024-05-14")
        case.set_point_of_interest(1, 160.0, 150.0, "impact")
        img = np.full((240, 320, 3), 90, np.uint8)
        mask = np.zeros((240, 320), np.uint8)
        mask[:20] = 255
        case.add_keyframe(50, 2.0, img, mask)
        tile_xy = apply_homography(scene.h_true, np.array([[100.0, 120.0]]))[0]
        case.add_tie_point(1, (100.0, 120.0), (float(tile_xy[0]), float(tile_xy[1])))
        case.add_shadow(1, (150.0, 150.0), (170.0, 160.0))
        case.set_footage_source(url="https://example.org/v/1", channel="@ministry")
        case.set_imagery_meta(scene.tile, acquired="2024-05-01", attribution="Provider X")
    return scene, path


@pytest.fixture
def case_path(base: tuple[Scene, Path], tmp_path: Path) -> Path:
    dst = tmp_path / "t.wbcase"
    shutil.copyfile(base[1], dst)
    return dst


@pytest.fixture
def db(case_path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(case_path, isolation_level=None)
    yield conn
    conn.close()


def behind_triggers(conn: sqlite3.Connection, table: str, *stmts: str,
                    args: tuple[object, ...] = ()) -> None:
    """Run ``stmts`` on ``table`` with its triggers dropped, then put them back as they
    were (so the schema check is clean and only the row check can see the edit)."""
    saved = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND "
                         "tbl_name = ?", (table,)).fetchall()
    for name, _ in saved:
        conn.execute(f"DROP TRIGGER {name}")
    for s in stmts:
        conn.execute(s, args) if "?" in s else conn.execute(s)
    for _, sql in saved:
        conn.execute(sql)


def edit_json(conn: sqlite3.Connection, table: str, column: str, where: str, **changes: object
              ) -> None:
    (text,) = conn.execute(f"SELECT {column} FROM {table} WHERE {where}").fetchone()
    doc = json.loads(text)
    for k, v in changes.items():
        doc[k] = v
    behind_triggers(conn, table, f"UPDATE {table} SET {column} = ? WHERE {where}",
                    args=(json.dumps(doc),))


def detected(path: Path, capsys: pytest.CaptureFixture[str], *names: str) -> str:
    """`workbench verify` exits 1 (mismatch) and its output names each of ``names``."""
    capsys.readouterr()
    code = main(["verify", str(path)])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "MISMATCH" in out
    for n in names:
        assert n in out, (n, out)
    return out


def test_untouched_case_verifies(case_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(case_path)]) == 0
    out = capsys.readouterr().out
    assert "VERIFIED" in out and "anchoring: not anchored" in out
    rep = verify_case(case_path)
    assert rep.ok and rep.exit_code == 0 and not rep.partly and not rep.not_checked


# ---- rows deleted with their trigger dropped (and put back) -----------------------------

@pytest.mark.parametrize(("table", "where", "subject"), [
    ("notes", "id = 1", "note 1"),
    ("decisions", "rank = 2", "decision 2"),
    ("claim", "id = 1", "claim 1"),
    ("context_layers", "id = 1", "context layer 1"),
    ("points_of_interest", "id = 1", "point of interest 1"),
    ("keyframes", "id = 'm0001'", "keyframe m0001"),
    ("tie_points", "id = 1", "tie point 1"),
])
def test_deleted_row_is_detected(case_path: Path, db: sqlite3.Connection, table: str,
                                 where: str, subject: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    behind_triggers(db, table, f"DELETE FROM {table} WHERE {where}")
    out = detected(case_path, capsys, f"row_deleted [{subject}]", "deleted outside")
    assert "schema_changed" not in out  # the triggers were put back: the rows tell


@pytest.mark.parametrize(("table", "stmt"), [
    ("footage_sources", "DELETE FROM footage_sources"),
    ("footage_sources", "UPDATE footage_sources SET channel = '@someone_else'"),
    ("imagery_meta", "DELETE FROM imagery_meta"),
    ("imagery_meta", "UPDATE imagery_meta SET acquired = '2015-09-30'"),
])
def test_source_and_imagery_provenance_are_evidence(case_path: Path, db: sqlite3.Connection,
                                                    table: str, stmt: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    behind_triggers(db, table, stmt)
    out = detected(case_path, capsys)
    assert table in out or "row_" in out, out


# ---- fields edited ------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value"), [
    ("verdict", "not_located"), ("reason", "forged reason"),
    ("warnings", ["nothing to see"]), ("method", {"matcher": "by eye"}),
])
def test_locate_result_edit_is_detected(case_path: Path, db: sqlite3.Connection, field: str,
                                        value: object,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    edit_json(db, "locate_runs", "doc", "id = 1", **{field: value})
    detected(case_path, capsys, "row_changed [locate run 1]", f"doc.{field}")


def test_context_layer_geometry_edit_is_detected(case_path: Path, db: sqlite3.Connection,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (text,) = db.execute("SELECT geojson FROM context_layers WHERE id = 1").fetchone()
    fc = json.loads(text)
    fc["features"][0]["geometry"]["coordinates"][0][1] = [31.0, 50.0]  # move a vertex
    behind_triggers(db, "context_layers", "UPDATE context_layers SET geojson = ?",
                    args=(json.dumps(fc),))
    detected(case_path, capsys, "row_changed [context layer 1]", "geojson.features")


@pytest.mark.parametrize(("column", "delta"), [("time_s", 1.5), ("frame_index", 7)])
def test_keyframe_timing_edit_is_detected(case_path: Path, db: sqlite3.Connection,
                                          column: str, delta: float,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    for kid in ("kf0001", "m0001"):
        db.execute(f"UPDATE keyframes SET {column} = {column} + ? WHERE id = ?", (delta, kid))
    detected(case_path, capsys, "row_changed [keyframe kf0001]", "row_changed [keyframe m0001]",
             column)


def test_mask_blob_edit_is_detected(case_path: Path, db: sqlite3.Connection,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    import hashlib

    mask = np.zeros((240, 320), np.uint8)  # the HUD strip "un-masked"
    png = cv2.imencode(".png", mask)[1].tobytes()
    db.execute("UPDATE keyframes SET mask_png = ?, mask_sha256 = ? WHERE id = 'kf0001'",
               (png, hashlib.sha256(png).hexdigest()))  # blob and its hash, consistently
    detected(case_path, capsys, "row_changed [keyframe kf0001]", "mask_png")
    db.execute("UPDATE keyframes SET mask_png = NULL, mask_sha256 = NULL WHERE id = 'm0001'")
    detected(case_path, capsys, "row_changed [keyframe m0001]", "mask_png")


@pytest.mark.parametrize(("field", "value"), [("fps", 50.0), ("duration_s", 2.0)])
def test_footage_metadata_edit_is_detected(case_path: Path, db: sqlite3.Connection,
                                           field: str, value: float,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    edit_json(db, "footage", "video_json", "id = 1", **{field: value})
    detected(case_path, capsys, "row_changed [footage 1]", f"video_json.{field}")


@pytest.mark.parametrize(("field", "value"), [("acquired", "2019-01-01"),
                                              ("attribution", "Someone Else")])
def test_raster_metadata_edit_is_detected(case_path: Path, db: sqlite3.Connection,
                                          field: str, value: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    edit_json(db, "rasters", "meta_json", "rowid = 1", **{field: value})
    detected(case_path, capsys, "row_changed [raster 1]", f"meta_json.{field}")


def test_slipped_in_row_is_detected(case_path: Path, db: sqlite3.Connection,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    db.execute("INSERT INTO points_of_interest (run_id, rank, keyframe_id, x, y, label, lon, "
               "lat, user, time) VALUES (1, 1, 'kf0001', 5, 5, 'forged', 0, 0, 'alice', "
               "'2030-01-01T00:00:00Z')")
    detected(case_path, capsys, "audit_missing [point of interest 2]")


def test_recorded_digests_cannot_be_rewritten_to_match(case_path: Path, db: sqlite3.Connection,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    from workbench.case.store.evidence import digest_of

    behind_triggers(db, "notes", "UPDATE notes SET text = 'forged' WHERE id = 1")
    d, f = digest_of(db, "notes/1")
    behind_triggers(db, "row_digests", "UPDATE row_digests SET digest = ?, fields = ? "
                    "WHERE key = 'notes/1'", args=(d, json.dumps(f)))
    detected(case_path, capsys, "audit_rows")


# ---- the schema's triggers ------------------------------------------------------------------

def test_dropped_trigger_is_detected(case_path: Path, db: sqlite3.Connection,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    db.execute("DROP TRIGGER decisions_no_update")
    detected(case_path, capsys, "schema_changed [trigger decisions_no_update]", "dropped")


def test_planted_trigger_is_detected(case_path: Path, db: sqlite3.Connection,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    db.execute("CREATE TRIGGER soften AFTER INSERT ON decisions BEGIN "
               "UPDATE decisions SET status = 'rejected' WHERE id = NEW.id; END")
    detected(case_path, capsys, "schema_changed [trigger soften]", "planted")


def test_each_issue_tamper_is_named(base: tuple[Scene, Path], tmp_path: Path) -> None:
    """The count the issue's closing note quotes: every tamper of its first bullet, and
    edits and deletions of every other evidence table."""
    tampers = {
        "delete note": ("notes", "DELETE FROM notes"),
        "delete decision": ("decisions", "DELETE FROM decisions WHERE rank = 1"),
        "delete claim": ("claim", "DELETE FROM claim"),
        "delete context layer": ("context_layers", "DELETE FROM context_layers"),
        "delete point of interest": ("points_of_interest", "DELETE FROM points_of_interest"),
        "delete manual keyframe": ("keyframes", "DELETE FROM keyframes WHERE manual = 1"),
        "delete locate run": ("locate_runs", "DELETE FROM locate_runs"),
        "edit keyframe time": ("keyframes", "UPDATE keyframes SET time_s = 9"),
        "edit keyframe frame index": ("keyframes", "UPDATE keyframes SET frame_index = 1"),
        "edit mask blob": ("keyframes", "UPDATE keyframes SET mask_png = NULL"),
        "edit note": ("notes", "UPDATE notes SET text = 'x'"),
        "edit decision": ("decisions", "UPDATE decisions SET status = 'confirmed'"),
        "edit decision note": ("decisions", "UPDATE decisions SET note = 'x' WHERE rank = 1"),
        "edit claim": ("claim", "UPDATE claim SET category = 'x'"),
        "edit point of interest": ("points_of_interest", "UPDATE points_of_interest SET "
                                   "lon = lon + 0.01"),
        "edit manual keyframe image": ("keyframes", "UPDATE keyframes SET png = x'00' "
                                       "WHERE manual = 1"),
        "edit tie point": ("tie_points", "UPDATE tie_points SET tx = tx + 3"),
        "delete tie point": ("tie_points", "DELETE FROM tie_points"),
        "edit shadow": ("shadows", "UPDATE shadows SET keyframe_id = 'kf0002'"),
        "delete shadow": ("shadows", "DELETE FROM shadows"),
        "edit candidate": ("candidates", "UPDATE candidates SET doc = json_set(doc, "
                           "'$.confidence', 0.99) WHERE rank = 2"),
        "edit case metadata": ("meta", "UPDATE meta SET value = 'x' WHERE key = 'software'"),
    }
    for field, value in (("verdict", "ambiguous"), ("reason", "x"), ("warnings", ["x"]),
                         ("method", {})):
        tampers[f"edit locate {field}"] = ("locate_runs", "json:doc:id = 1:" + field,
                                           value)  # type: ignore[assignment]
    for field, value in (("fps", 1.0), ("duration_s", 1.0)):
        tampers[f"edit footage {field}"] = ("footage", "json:video_json:id = 1:" + field,
                                            value)  # type: ignore[assignment]
    for field, value in (("acquired", "1999"), ("attribution", "x")):
        tampers[f"edit raster {field}"] = ("rasters", "json:meta_json:rowid = 1:" + field,
                                           value)  # type: ignore[assignment]
    tampers["edit layer geometry"] = ("context_layers", "json:geojson:id = 1:features", [])  # type: ignore[assignment]
    found = []
    for name, spec in tampers.items():
        path = tmp_path / f"{len(found)}.wbcase"
        shutil.copyfile(base[1], path)
        conn = sqlite3.connect(path, isolation_level=None)
        table, stmt = spec[0], spec[1]
        if stmt.startswith("json:"):
            _, col, where, key = stmt.split(":")
            edit_json(conn, table, col, where, **{key: spec[2]})  # type: ignore[misc]
        else:
            behind_triggers(conn, table, stmt)
        conn.close()
        rep = verify_case(path)
        if rep.exit_code == 1 and any(f.kind in ("row_deleted", "row_changed")
                                      for f in rep.findings):
            found.append(name)
    print(f"\ntampers detected: {len(found)} / {len(tampers)}")
    assert sorted(found) == sorted(tampers)


def test_text_naming_a_blob_digest_does_not_pass_for_the_blob(
        case_path: Path, db: sqlite3.Connection, capsys: pytest.CaptureFixture[str]) -> None:
    import hashlib

    (mask,) = db.execute("SELECT mask_png FROM keyframes WHERE id = 'kf0001'").fetchone()
    fake = "sha256:" + hashlib.sha256(mask).hexdigest()  # what the digest form of the blob reads
    db.execute("UPDATE keyframes SET mask_png = ?, mask_sha256 = NULL WHERE id = 'kf0001'",
               (fake,))
    detected(case_path, capsys, "row_changed [keyframe kf0001]", "mask_png")


@pytest.mark.parametrize(("table", "column", "where", "field", "value", "action", "key"), [
    ("locate_runs", "doc", "id = 1", "verdict", "ambiguous", "locate", "locate_runs/1"),
    ("footage", "video_json", "id = 1", "fps", 60.0, "relink", "footage/1"),
])
def test_an_appended_entry_cannot_launder_an_edit(case_path: Path, db: sqlite3.Connection,
                                                  table: str, column: str, where: str,
                                                  field: str, value: object, action: str,
                                                  key: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A forger appends a well-chained entry that records the edited row's new digest."""
    from workbench.case.store import CaseDB

    edit_json(db, table, column, where, **{field: value})
    db.row_factory = sqlite3.Row  # as the store opens it
    store = CaseDB(db, case_path)
    with store.tx():
        store.append_audit(action, {"what": "footage"}, "mallory", rows=[key])
    detected(case_path, capsys, "audit_rows", f"{action} entry changed {column}.{field}")
