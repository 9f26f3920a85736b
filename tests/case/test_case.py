"""Case files: create/open round trip, decisions and audit log, manual edits, claim,
schema versions and migration, corrupted files, read-only locations, new_case."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from casekit import KF_H, KF_W, Scene, make_scene

from workbench.case import Case
from workbench.case.audit import check_chain
from workbench.case.geometry import keyframe_to_lonlat
from workbench.case.store import DDL_V1, SCHEMA_VERSION
from workbench.errors import (
    CaseCorruptError,
    CaseError,
    CaseOpenError,
    CaseRecordNotFoundError,
    CaseVersionError,
    OutputError,
    UsageError,
)
from workbench.geo import apply_homography

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@pytest.fixture(scope="session")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    return make_scene(tmp_path_factory.mktemp("case_scene"))


def new(scene: Scene, path: Path, **kw: object) -> Case:
    kw.setdefault("analyst", "alice")
    return Case.create(path, video_path=scene.video, tiles=[scene.tile], result=scene.result,
                       keyframes_dir=scene.out_dir, **kw)  # type: ignore[arg-type]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_create_open_round_trip(scene: Scene, tmp_path: Path) -> None:
    path = tmp_path / "c.wbcase"
    new(scene, path).close()
    assert path.is_file() and not list(tmp_path.glob(".*tmp*"))
    with Case.open(path) as case:
        assert case.schema_version == SCHEMA_VERSION
        assert case.video.sha256 == scene.result.video.sha256
        assert case.video.fps == 25.0 and case.video.width == KF_W
        assert case.footage.name == scene.video.name
        ids = [k.id for k in case.keyframes]
        assert ids == ["kf0001", "kf0002"]
        png = (scene.out_dir / "keyframes" / "kf0001.png").read_bytes()
        assert case.keyframe_png("kf0001") == png
        assert case.keyframes[0].sha256 == hashlib.sha256(png).hexdigest()
        img = case.keyframe_image("kf0001")
        assert img.shape == (KF_H, KF_W, 3) and img.dtype == np.uint8
        mask = case.keyframe_mask("kf0001")
        assert mask is not None and mask[:18].min() == 255 and mask[18:].max() == 0
        [raster] = case.rasters
        assert raster.path == str(scene.tile.resolve()) and raster.acquired == "2024-01-15"
        assert raster.sha256 == digest(scene.tile) and len(raster.transform) == 6
        res = case.result
        assert res.verdict == "located" and [c.rank for c in res.candidates] == [1, 2]
        assert res.candidates[0].lat == pytest.approx(scene.result.candidates[0].lat, abs=1e-12)
        log = case.audit_log()
        assert [e.action for e in log] == ["create", "locate"]
        assert all(e.user == "alice" and ISO_Z.match(e.time) for e in log)
        assert log[0].details["footage_sha256"] == scene.result.video.sha256
        for read in (case.keyframe_image, case.keyframe_png, case.keyframe_mask,
                     case.keyframe_info):
            with pytest.raises(CaseRecordNotFoundError) as exc:
                read("nope")
            assert isinstance(exc.value, KeyError)  # old `except KeyError` callers still work
            assert str(exc.value) == f"{path}: no keyframe 'nope' in the case"


def test_create_refuses_existing_file_unless_overwrite(scene: Scene, tmp_path: Path) -> None:
    path = tmp_path / "c.wbcase"
    new(scene, path).close()
    before = digest(path)
    with pytest.raises(CaseError, match="already exists"):
        new(scene, path)
    assert digest(path) == before
    new(scene, path, overwrite=True).close()


def test_create_checks_inputs(scene: Scene, tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(OutputError):
        new(scene, blocker / "c.wbcase")
    changed = tmp_path / "changed.mp4"
    changed.write_bytes(scene.video.read_bytes() + b"x")
    with pytest.raises(CaseError, match="footage changed"):
        Case.create(tmp_path / "x.wbcase", video_path=changed, tiles=[scene.tile],
                    result=scene.result, keyframes_dir=scene.out_dir)
    with pytest.raises(CaseError, match="kf0001"):
        Case.create(tmp_path / "y.wbcase", video_path=scene.video, tiles=[scene.tile],
                    result=scene.result, keyframes_dir=tmp_path)
    assert not list(tmp_path.glob("*.wbcase"))


def test_decisions_notes_and_audit(scene: Scene, tmp_path: Path) -> None:
    path = tmp_path / "c.wbcase"
    new(scene, path).close()
    with Case.open(path, analyst="bob") as case:
        assert case.analyst == "bob"
        case.reject(1, "first look: wrong")
    with Case.open(path, analyst="carol") as case:
        d = case.confirm(1, "water tower matches")
        case.reject(2, "decoy")
        n = case.add_note("asked the source for the original file")
        dec = case.decisions()
        assert dec[1].status == "confirmed" and dec[1].user == "carol"
        assert dec[1].note == "water tower matches" and dec[1].time == d.time
        assert dec[2].status == "rejected" and dec[2].user == "carol"
        assert [x.user for x in case.decision_history()] == ["bob", "carol", "carol"]
        assert [x.text for x in case.notes()] == [n.text]
        log = case.audit_log()
        assert [e.action for e in log][2:] == ["reject", "confirm", "reject", "note"]
        assert log[3].details["previous"] == "rejected" and log[3].user == "carol"
        assert log[3].details["lat"] == pytest.approx(scene.result.candidates[0].lat)
        assert check_chain(log) == []
        with pytest.raises(UsageError, match="rank 9"):
            case.confirm(9, "x")
        with pytest.raises(UsageError):
            case.add_note("   ")
        assert len(case.audit_log()) == len(log)  # failed actions leave no entry


def test_audit_log_is_append_only(scene: Scene, tmp_path: Path) -> None:
    path = tmp_path / "c.wbcase"
    with new(scene, path) as case:
        case.add_note("n")
        case.confirm(1, "c")
        case.add_tie_point(1, (10.0, 30.0), (300.0, 300.0))
    conn = sqlite3.connect(path)
    for stmt in ("UPDATE audit_log SET user = 'mallory'", "DELETE FROM audit_log",
                 "DELETE FROM notes", "UPDATE decisions SET note = 'x'",
                 "DELETE FROM tie_points", "UPDATE locate_runs SET doc = '{}'"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(stmt)
    conn.close()


def test_user_defaults_to_environment(scene: Scene, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_USER", "Dana Investigator")
    with new(scene, tmp_path / "c.wbcase", analyst=None) as case:
        assert case.analyst == "Dana Investigator"
        assert case.add_note("x").user == "Dana Investigator"
        assert {e.user for e in case.audit_log()} == {"Dana Investigator"}
    with Case.open(tmp_path / "c.wbcase", analyst="  Eve   Ng ") as case:
        assert case.add_note("y").user == "Eve Ng"  # bound once, whitespace normalised


def test_manual_keyframe_tie_point_and_point_of_interest(scene: Scene, tmp_path: Path) -> None:
    with new(scene, tmp_path / "c.wbcase") as case:
        img = np.random.default_rng(1).integers(0, 255, (120, 160, 3), dtype=np.uint8)
        mask = np.zeros((120, 160), np.uint8)
        mask[:10] = 255
        ref = case.add_keyframe(40, 1.6, img, mask)
        assert ref.id == "m0001"
        assert np.array_equal(case.keyframe_image("m0001"), img)
        assert np.array_equal(case.keyframe_mask("m0001"), mask)
        assert case.keyframe_info("m0001")["manual"]
        assert "m0001" in [k.id for k in case.result.keyframes]
        with pytest.raises(UsageError):
            case.add_keyframe(1, 0.0, img.astype(np.float32))

        c0 = case.candidate(1)
        # a correct extra tie point leaves the position where it was (exact data)
        exact = apply_homography(scene.h_true, np.array([[50.0, 60.0]]))[0]
        case.add_tie_point(1, (50.0, 60.0), (float(exact[0]), float(exact[1])))
        c1 = case.candidate(1)
        assert c1.lat == pytest.approx(c0.lat, abs=1e-7)
        assert c1.scores["manual_tie_points"] == 1.0
        # a wrong one moves it, and the audit entry records old and new
        case.add_tie_point(1, (160.0, 120.0), (float(exact[0]) + 200, float(exact[1])))
        c2 = case.candidate(1)
        assert abs(c2.lon - c0.lon) > 1e-6
        entry = case.audit_log()[-1]
        assert entry.action == "tie_point" and entry.details["old"]["lon"] == pytest.approx(
            c1.lon) and entry.details["new"]["lon"] == pytest.approx(c2.lon)
        assert len(case.tie_points(1)) == 2 and case.tie_points(2) == []
        with pytest.raises(UsageError, match="outside"):
            case.add_tie_point(1, (5000.0, 1.0), (1.0, 1.0))

        rec = case.rasters[0]
        poi = case.set_point_of_interest(2, 100.0, 80.0, "impact crater")
        c = case.candidate(2)
        lon, lat = keyframe_to_lonlat(c.homography, rec.transform, rec.crs, (100.0, 80.0))
        assert (poi.lon, poi.lat) == pytest.approx((lon, lat))
        assert case.points_of_interest()[0].label == "impact crater"


def test_claim_and_context_layers(scene: Scene, tmp_path: Path) -> None:
    from workbench.claim import check_claim

    with new(scene, tmp_path / "c.wbcase") as case:
        c = case.candidate(1)
        square = [[c.lon - 1e-3, c.lat - 1e-3], [c.lon + 1e-3, c.lat - 1e-3],
                  [c.lon + 1e-3, c.lat + 1e-3], [c.lon - 1e-3, c.lat + 1e-3],
                  [c.lon - 1e-3, c.lat - 1e-3]]
        far = [[p[0] + 0.01, p[1]] for p in square]
        gj = tmp_path / "control.geojson"
        gj.write_text(json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"name": "Side A <b>"},
             "geometry": {"type": "Polygon", "coordinates": [square]}},
            {"type": "Feature", "properties": {"name": "Side B"},
             "geometry": {"type": "Polygon", "coordinates": [far]}},
            {"type": "Feature", "properties": {"name": "a road"},
             "geometry": {"type": "LineString", "coordinates": square[:2]}}]}))
        layer = case.add_context_layer(gj, name="Control 2024-05-14")
        assert len(layer.geojson["features"]) == 3  # lines are kept (nearest feature)
        kml = tmp_path / "zone.kml"
        coords = " ".join(f"{x},{y},0" for x, y in far)
        kml.write_text('<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2">'
                       f"<Document><Placemark><name>Zone K</name><Polygon><outerBoundaryIs>"
                       f"<LinearRing><coordinates>{coords}</coordinates></LinearRing>"
                       "</outerBoundaryIs></Polygon></Placemark></Document></kml>")
        case.add_context_layer(kml)
        claimed = (c.lon + 0.001, c.lat)
        case.set_claim("Strike hit the depot", lonlat=claimed,
                       area_geojson={"type": "Polygon", "coordinates": [far]})
        cl = case.claim()
        assert cl is not None and cl.lonlat == pytest.approx(claimed)
        chk = check_claim(c.lon, c.lat, cl.lonlat, cl.area_geojson,
                          [(x.name, x.geojson) for x in case.context_layers()])
        assert chk.distance_m == pytest.approx(111.3, rel=0.01)  # 0.001 deg of lon at the equator
        assert chk.inside_claimed_area is False and (chk.area_distance_m or 0) > 800
        assert [(h.layer, h.feature) for h in chk.containing] == [
            ("Control 2024-05-14", "Side A <b>")]
        assert "111 m from the claimed location" in chk.summary()
        assert [e.action for e in case.audit_log()][-3:] == ["context_layer", "context_layer",
                                                             "claim"]
        with pytest.raises(UsageError):
            case.set_claim("x", lonlat=(500.0, 1.0))
        bad = tmp_path / "bad.geojson"
        bad.write_text("{not json")
        with pytest.raises(CaseError, match=r"bad\.geojson"):
            case.add_context_layer(bad)


def test_newer_schema_version_is_refused(scene: Scene, tmp_path: Path) -> None:
    path = tmp_path / "future.wbcase"
    new(scene, path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    before = digest(path)
    with pytest.raises(CaseVersionError) as exc:
        Case.open(path)
    msg = str(exc.value)
    assert "future.wbcase" in msg and "99" in msg and str(SCHEMA_VERSION) in msg
    assert "\n" not in msg and digest(path) == before


def _make_v1(path: Path) -> None:
    """A version-1 case as the first release wrote it (no claim tables, no hash chain)."""
    conn = sqlite3.connect(path)
    conn.executescript(DDL_V1)
    conn.executemany("INSERT INTO meta VALUES (?, ?)", [
        ("format", "workbench.case"), ("schema_version", "1"),
        ("created", "2025-01-01T00:00:00.000000Z"), ("software", "workbench 0.0.9")])
    video = {"fps": 25.0, "width": 320, "height": 240, "duration_s": 4.0}
    conn.execute("INSERT INTO footage VALUES (1, '/gone/v.mp4', 'v.mp4', ?, 10, ?, NULL)",
                 ("ab" * 32, json.dumps(video)))
    doc = {"schema": "workbench.locate/1", "verdict": "not_located",
           "video": {"path": "/gone/v.mp4", "sha256": "ab" * 32, **video},
           "keyframes": [], "candidates": []}
    conn.execute("INSERT INTO locate_runs (time, doc) VALUES ('2025-01-01T00:00:01Z', ?)",
                 (json.dumps(doc),))
    for i, action in enumerate(("create", "locate", "note"), start=1):
        conn.execute("INSERT INTO audit_log (time, user, action, details) VALUES (?, ?, ?, ?)",
                     (f"2025-01-01T00:00:0{i}.000000Z", "old", action, json.dumps({"i": i})))
    conn.execute("INSERT INTO notes (text, user, time) VALUES ('old note', 'old', "
                 "'2025-01-01T00:00:03.000000Z')")
    conn.commit()
    conn.close()


def test_older_schema_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "v1.wbcase"
    _make_v1(path)
    before = digest(path)
    with Case.open(path, readonly=True) as case:  # read-only: migrated in memory only
        assert case.schema_version == SCHEMA_VERSION and case.claim() is None
    assert digest(path) == before
    with Case.open(path) as case:
        assert case.schema_version == SCHEMA_VERSION
        log = case.audit_log()
        assert [e.action for e in log] == ["create", "locate", "note", "migrate"]
        assert log[-1].details["from_version"] == 1 and check_chain(log) == []
        assert case.notes()[0].text == "old note"
        case.set_claim("claim after migration")
    with Case.open(path) as case:
        assert case.schema_version == SCHEMA_VERSION and len(case.audit_log()) == 5


@pytest.mark.parametrize("damage", ["random", "truncated", "empty", "zeroed_page"])
def test_corrupted_case_gives_clear_error_and_is_untouched(scene: Scene, tmp_path: Path,
                                                           damage: str) -> None:
    path = tmp_path / "broken.wbcase"
    new(scene, path).close()
    data = path.read_bytes()
    if damage == "random":
        data = np.random.default_rng(0).bytes(len(data))
    elif damage == "truncated":
        data = data[: len(data) // 3]
    elif damage == "empty":
        data = b""
    else:  # a zeroed page in the middle of the database (b-tree pages destroyed)
        data = data[:4096] + b"\0" * 8192 + data[4096 + 8192:]
    path.write_bytes(data)
    os.utime(path, (1_000_000_000, 1_000_000_000))
    with pytest.raises(CaseCorruptError) as exc, Case.open(path) as case:
        case.result  # noqa: B018 - reading may be where the damage shows
        case.audit_log()
    assert "broken.wbcase" in str(exc.value) and "\n" not in str(exc.value)
    assert path.read_bytes() == data and path.stat().st_mtime == 1_000_000_000


def test_not_a_case(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(CaseOpenError, match="not a workbench case"):
        Case.open(other)
    with pytest.raises(CaseOpenError, match="not found"):
        Case.open(tmp_path / "missing.wbcase")


def test_read_only_case(scene: Scene, tmp_path: Path) -> None:
    path = tmp_path / "ro.wbcase"
    new(scene, path).close()
    before = digest(path)
    with Case.open(path, readonly=True) as case:
        assert case.decisions() == {}
        with pytest.raises(OutputError, match="read-only"):
            case.confirm(1, "x")
    assert digest(path) == before


def test_case_in_read_only_folder(scene: Scene, tmp_path: Path, make_readonly) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    new(scene, folder / "c.wbcase").close()
    before = digest(folder / "c.wbcase")
    make_readonly(folder)
    with pytest.raises(OutputError):
        new(scene, folder / "d.wbcase")
    with Case.open(folder / "c.wbcase") as case:  # opens read-only by itself
        assert case.readonly
        with pytest.raises(OutputError):
            case.add_note("x")
    assert sorted(p.name for p in folder.iterdir()) == ["c.wbcase"]
    assert digest(folder / "c.wbcase") == before


def test_unwritable_location_opens_read_only(scene: Scene, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """What a read-only folder looks like to the workbench (root ignores real permissions)."""
    path = tmp_path / "c.wbcase"
    new(scene, path).close()
    before = digest(path)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if mode == os.W_OK
                        else real_access(p, mode))
    with Case.open(path) as case:
        assert case.readonly and case.decisions() == {}
        with pytest.raises(OutputError, match="read-only"):
            case.add_note("x")
    assert digest(path) == before


def test_new_case_cancelled_leaves_nothing(scene: Scene, tmp_path: Path) -> None:
    import threading

    from workbench.case import new_case
    from workbench.errors import Cancelled

    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        new_case(tmp_path / "x.wbcase", scene.video, [scene.tile], cancel=ev)
    assert list(tmp_path.iterdir()) == []


def test_all_case_sql_lives_in_the_store() -> None:
    """The case is an API: no module outside ``workbench.case.store`` speaks SQL to it
    (``verify``, reports, the CLI and the app read through ``Case``)."""
    root = Path(__file__).resolve().parents[2]
    sql = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|CREATE TABLE|DELETE FROM|PRAGMA)\b"
                     r"|\bsqlite3\b|\.conn\b")
    store = root / "workbench" / "case" / "store"
    offenders = []
    for folder in ("workbench/case", "workbench/verify", "workbench/report", "workbench/cli",
                   "ui/workbench_ui"):
        for py in sorted((root / folder).rglob("*.py")):
            if store in py.parents:
                continue
            offenders += [f"{py.relative_to(root)}:{i}" for i, line in
                          enumerate(py.read_text(encoding="utf-8").splitlines(), 1)
                          if sql.search(line)]
    assert offenders == []
    assert list(store.glob("*.py"))  # the rule is about a place that exists
