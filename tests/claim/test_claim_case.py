"""The claim, context layers and shadows through the case: recorded and audit-logged,
bad input refused with nothing recorded, checked by verify, printed by the CLI and
escaped in the report."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import rasterio
from casekit import Scene, make_scene
from pyproj import Geod, Transformer

from workbench.case import Case
from workbench.claim import ShadowError, layer_meta
from workbench.cli import main
from workbench.errors import ContextLayerError, UsageError
from workbench.geo import apply_homography
from workbench.report import write_reports
from workbench.verify import verify_case

EVIL = "<script>alert('x')</script> & </td></table> ]]>"
GEOD = Geod(ellps="WGS84")
FOOT, TIP = (150.0, 140.0), (110.0, 100.0)  # inside the keyframe's inlier hull


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    return make_scene(tmp_path_factory.mktemp("claim_scene"))


def _new_case(scene: Scene, path: Path) -> Path:
    with Case.create(path, video_path=scene.video, tiles=[scene.tile], result=scene.result,
                     keyframes_dir=scene.out_dir, analyst="alice") as case:
        case.confirm(1, "tower and fork match")
    return path


def _layer(path: Path, lon: float, lat: float) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": f"Town {EVIL}", "controller": "Islamic State"},
         "geometry": {"type": "Point", "coordinates": [lon + 0.05, lat]}},
        {"type": "Feature", "properties": {"name": "Here", "controller": "rebels"},
         "geometry": {"type": "Point", "coordinates": [lon, lat + 0.001]}}]}))
    return path


def _true_shadow(scene: Scene) -> tuple[float, float]:
    """Independent: keyframe px -> tile px (the scene's true homography) -> CRS through
    rasterio's affine (pixel centres) -> lon/lat (pyproj) -> geodesic azimuth, length."""
    txy = apply_homography(scene.h_true, np.array([FOOT, TIP]))
    with rasterio.open(scene.tile) as ds:
        a, b, c, d, e, f = tuple(ds.transform)[:6]
        crs = ds.crs
    xs = [a * (x + 0.5) + b * (y + 0.5) + c for x, y in txy]
    ys = [d * (x + 0.5) + e * (y + 0.5) + f for x, y in txy]
    lon, lat = Transformer.from_crs(crs, 4326, always_xy=True).transform(xs, ys)
    az, _, dist = GEOD.inv(lon[0], lat[0], lon[1], lat[1])
    return az % 360.0, dist


def test_claim_layers_and_shadow_are_recorded_and_verified(scene: Scene,
                                                           tmp_path: Path) -> None:
    path = _new_case(scene, tmp_path / "c.wbcase")
    with Case.open(path, analyst="bob") as case:
        c = case.candidate(1)
        case.set_claim("strike", lonlat=(c.lon + 0.5, c.lat), claimed_time="2024-05-14T09:30Z",
                       category="Islamic State target")
        layer = case.add_context_layer(_layer(tmp_path / "ctl.geojson", c.lon, c.lat),
                                       name="control", as_of="c. 2017", licence="CC BY-SA",
                                       source="transcribed map")
        rec = case.add_shadow(1, FOOT, TIP)
    with Case.open(path) as case:
        claim = case.claim()
        assert claim is not None and claim.claimed_time == "2024-05-14T09:30:00+00:00"
        assert claim.category == "Islamic State target" and claim.user == "bob"
        [stored] = case.context_layers()
        meta = layer_meta(stored.geojson)
        assert (meta.as_of, meta.licence, meta.source) == ("c. 2017", "CC BY-SA",
                                                           "transcribed map")
        assert stored.id == layer.id
        [sh] = case.shadows()
        assert sh == rec and sh.rank == 1 and sh.user == "bob"
        az, length = _true_shadow(scene)
        assert sh.measure.shadow_azimuth_deg == pytest.approx(az, abs=1e-6)
        assert sh.measure.length_m == pytest.approx(length, abs=1e-3)
        assert sh.measure.sun_azimuth_deg == pytest.approx((az + 180) % 360, abs=1e-6)
        actions = [e.action for e in case.audit_log()]
        assert actions[-3:] == ["claim", "context_layer", "shadow"]
        assert case.audit_log()[-1].details["rank"] == 1
    report = verify_case(path)
    assert report.ok, report.findings


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda case: case.set_claim("x", claimed_time="2024-05-14T09:30"), UsageError,
     "has no zone"),
    (lambda case: case.set_claim("x", lonlat=(0.35, 132.58)), UsageError, "swapped"),
    (lambda case: case.add_shadow(1, FOOT, (310.0, 235.0)), ShadowError,
     "outside the matched area"),
    (lambda case: case.add_shadow(1, FOOT, (150.5, 140.5)), ShadowError, "less than 4 px"),
    (lambda case: case.add_shadow(1, FOOT, TIP, click_px=0), UsageError, "click"),
    (lambda case: case.add_context_layer(case.path.parent / "none.kml"), ContextLayerError,
     "not found"),
])
def test_bad_input_records_nothing(scene: Scene, tmp_path: Path, call: object,
                                   error: type[Exception], message: str) -> None:
    path = _new_case(scene, tmp_path / "c.wbcase")
    with Case.open(path) as case:
        before = len(case.audit_log())
        with pytest.raises(error, match=message) as err:
            call(case)  # type: ignore[operator]
        assert "\n" not in str(err.value)
        assert len(case.audit_log()) == before and case.shadows() == []


def test_layer_with_a_bad_as_of_records_nothing(scene: Scene, tmp_path: Path) -> None:
    path = _new_case(scene, tmp_path / "c.wbcase")
    with Case.open(path) as case:
        c = case.candidate(1)
        with pytest.raises(UsageError, match="as-of date"):
            case.add_context_layer(_layer(tmp_path / "l.geojson", c.lon, c.lat),
                                   as_of="30 Sept 2015")
        assert case.context_layers() == []


def test_verify_catches_an_edited_shadow(scene: Scene, tmp_path: Path) -> None:
    path = _new_case(scene, tmp_path / "c.wbcase")
    with Case.open(path) as case:
        case.add_shadow(1, FOOT, TIP)
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER shadows_no_update")
    doc = json.loads(conn.execute("SELECT measure_json FROM shadows").fetchone()[0])
    doc["sun_azimuth_deg"] = (doc["sun_azimuth_deg"] + 40) % 360
    conn.execute("UPDATE shadows SET measure_json = ?", (json.dumps(doc),))
    conn.commit()
    conn.close()
    report = verify_case(path)
    assert not report.ok
    assert any(f.subject == "shadow 1" and f.kind == "audit_mismatch" for f in report.findings)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_claim_context_shadow(scene: Scene, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = str(_new_case(scene, tmp_path / "c.wbcase"))
    code, _, err = run(capsys, "case", "claim", path, "x", "--time", "2024-05-14 09:30")
    assert code == 2 and "has no zone" in err and err.count("\n") == 1
    code, _, err = run(capsys, "case", "shadow", path, "1", "150,140", "900,900")
    assert code == 2 and "outside the matched area" in err and err.count("\n") == 1
    code, out, _ = run(capsys, "case", "shadow", path, "1", "150,140", "110,100")
    assert code == 0 and "sun azimuth" in out and "no claimed time recorded" in out
    with Case.open(path) as case:
        c = case.candidate(1)
        assert len(case.shadows()) == 1
    layer = _layer(tmp_path / "ctl.geojson", c.lon, c.lat)
    code, out, _ = run(capsys, "case", "context", path, str(layer), "--as-of", "c. 2017",
                       "--licence", "CC BY-SA")
    assert code == 0 and "2 features, as of about 2017" in out
    code, _, _ = run(capsys, "case", "claim", path, "strike", "--time",
                     "2024-05-14T09:30+03:00", "--category", "Islamic State target")
    assert code == 0
    code, out, _ = run(capsys, "case", "shadow", path, "1", "150,140", "110,100")
    assert code == 0 and "At the claimed time 2024-05-14T09:30:00+03:00" in out
    # 09:30 in May near the equator the sun is east-north-east; this shadow wants south-east
    assert "NOT consistent with the shadow" in out and "fits on no date of 2024" in out
    code, out, _ = run(capsys, "case", "info", path)
    assert "claimed time: 2024-05-14T09:30:00+03:00" in out and "shadows measured: 2" in out
    assert "as of about 2017 (as of about 2017, about 6.4 years before the event" in out
    code, out, _ = run(capsys, "case", "info", path, "--json")
    doc = json.loads(out)
    assert doc["claim"]["category"] == "Islamic State target" and len(doc["shadows"]) == 2


def test_report_sections_are_escaped(scene: Scene, tmp_path: Path) -> None:
    path = _new_case(scene, tmp_path / "c.wbcase")
    with Case.open(path) as case:
        c = case.candidate(1)
        case.set_claim(f"claim {EVIL}", lonlat=(c.lon + 0.3, c.lat),
                       claimed_time="2024-05-14T09:30+03:00", category=f"IS {EVIL}")
        case.add_context_layer(_layer(tmp_path / "ctl.geojson", c.lon, c.lat),
                               name=f"control {EVIL}", as_of="c. 2017",
                               licence=f"lic {EVIL}", source=f"src {EVIL}")
        case.add_shadow(1, FOOT, TIP)
        paths = write_reports(case, ["html", "pdf", "geojson", "kml"], tmp_path / "out",
                              generated_at="2026-01-02T03:04:05Z")
    html = next(p for p in paths if p.suffix == ".html").read_text(encoding="utf-8")
    assert "<script>" not in html and "</td></table> ]]>" not in html
    assert "&lt;script&gt;" in html
    for needle in ("Time check (sun and shadow)", "as of about 2017", "Locator map",
                   "Sun azimuth over the day", "Claimed target category",
                   "Nearest marked &#x27;Islamic State&#x27;", "Date warning"):
        assert needle in html, needle
    gj = json.loads(next(p for p in paths if p.suffix == ".geojson").read_text())
    kinds = {f["properties"]["kind"]: f for f in gj["features"]}
    assert kinds["shadow"]["geometry"]["type"] == "LineString"
    assert kinds["claimed_location"]["properties"]["claimed_time"] == "2024-05-14T09:30:00+03:00"
    [lay] = gj["workbench"]["context_layers"]
    assert lay["as_of"] == "about 2017" and "years before the event" in lay["date_warning"]
    assert "IS &lt;script&gt;" in next(p for p in paths if p.suffix == ".kml").read_text()
    pdf = next(p for p in paths if p.suffix == ".pdf")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000


def test_report_with_a_shadow_but_no_claimed_time(scene: Scene, tmp_path: Path) -> None:
    path = _new_case(scene, tmp_path / "c.wbcase")
    with Case.open(path) as case:
        case.add_shadow(1, FOOT, TIP)
        [html] = write_reports(case, ["html"], tmp_path / "out",
                               generated_at="2026-01-02T03:04:05Z")
    text = html.read_text(encoding="utf-8")
    assert "Time check (sun and shadow)" in text
    assert "No claimed time or date was recorded" in text
    assert "Sun azimuth over the day" not in text  # no day to draw without a date
