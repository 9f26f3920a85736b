"""Reports: HTML/PDF/GeoJSON/KML content, escaping, reproducibility, bad input."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from casekit import Scene, make_scene

from workbench.case.casefile import Case
from workbench.cli import main
from workbench.errors import OutputError, UsageError
from workbench.report import write_reports

EVIL = "<script>alert('x')</script> ]]> <![CDATA[ <b>bold</b> ]]> & </td></table>"
KML_NS = {"k": "http://www.opengis.net/kml/2.2"}


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    return make_scene(tmp_path_factory.mktemp("report_scene"))


@pytest.fixture(scope="module")
def case_path(scene: Scene, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report_case") / "demo.wbcase"
    with Case.create(path, video_path=scene.video, tiles=[scene.tile], result=scene.result,
                     keyframes_dir=scene.out_dir, analyst="alice") as case:
        c = case.candidate(1)
        case.confirm(1, f"water tower and road fork match {EVIL}")
        case.reject(2, "decoy")
        case.add_note(f"note {EVIL}")
        case.set_point_of_interest(1, 200.0, 90.0, f"impact {EVIL}")
        case.set_claim(f"claim {EVIL}", lonlat=(c.lon + 0.002, c.lat))
        layer = path.parent / "control.geojson"
        sq = [[c.lon - 0.01, c.lat - 0.01], [c.lon + 0.01, c.lat - 0.01],
              [c.lon + 0.01, c.lat + 0.01], [c.lon - 0.01, c.lat + 0.01],
              [c.lon - 0.01, c.lat - 0.01]]
        layer.write_text(json.dumps({"type": "Feature", "properties": {"name": "Zone <i>A"},
                                     "geometry": {"type": "Polygon", "coordinates": [sq]}}))
        case.add_context_layer(layer, name="Control 14 May")
    return path


@pytest.fixture(scope="module")
def reports(case_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("reports")
    with Case.open(case_path) as case:
        paths = write_reports(case, ["html", "pdf", "geojson", "kml"], out,
                              generated_at="2026-01-02T03:04:05Z")
    return {p.suffix[1:]: p for p in paths}


def test_all_formats_written(reports: dict[str, Path]) -> None:
    assert set(reports) == {"html", "pdf", "geojson", "kml"}
    assert all(p.stat().st_size > 1000 and p.name.startswith("demo.") for p in reports.values())
    assert reports["pdf"].read_bytes().startswith(b"%PDF-")


def test_html_is_self_contained_escaped_and_complete(reports: dict[str, Path],
                                                     scene: Scene) -> None:
    html = reports["html"].read_text(encoding="utf-8")
    assert "<script" not in html.lower()  # all markup from case text is escaped
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html and "<![CDATA[" not in html
    assert html.count("<table") == html.count("</table>")  # structure intact
    assert 'http-equiv="Content-Security-Policy"' in html and "default-src 'none'" in html
    srcs = re.findall(r'src="([^"]*)"', html)
    # side by side, overlay and the claim's locator map
    assert len(srcs) == 3 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r'(href|src)="(https?:|//|file:)', html)
    for text in ("1. Summary", "2. Claim check", "3. Confirmed locations", "Footage evidence",
                 "Imagery used", "Method", "Audit log", "Integrity check", "VERIFIED",
                 "Located and confirmed by the analyst", "36N", "Control 14 May",
                 "Zone &lt;i&gt;A", scene.result.video.sha256, "2024-01-15",
                 "synthetic town (workbench fixtures)", "SIFT+RANSAC", "P1", "target",
                 "Generated 2026-01-02T03:04:05Z"):
        assert text in html, text
    assert re.search(r"223 m from the claimed location", html)  # 0.002 deg lon at 0.35 N (WGS84)
    # residual table: 24 engine tie points, exact data -> zero residuals
    assert "Tie points: 24; RMS reprojection error 0.00 px" in html


def test_html_identical_apart_from_timestamp(case_path: Path, reports: dict[str, Path],
                                             tmp_path: Path) -> None:
    with Case.open(case_path) as case:
        [again] = write_reports(case, ["html"], tmp_path, generated_at="2030-12-31T23:59:59Z")
    a = reports["html"].read_text(encoding="utf-8").replace("2026-01-02T03:04:05Z", "T")
    b = again.read_text(encoding="utf-8").replace("2030-12-31T23:59:59Z", "T")
    assert a == b


def test_geojson_rfc7946_and_reproducible(case_path: Path, reports: dict[str, Path],
                                          scene: Scene, tmp_path: Path) -> None:
    raw = reports["geojson"].read_bytes()
    with Case.open(case_path) as case:
        [again] = write_reports(case, ["geojson", "kml"], tmp_path)[:1]
    assert again.read_bytes() == raw
    doc = json.loads(raw)
    assert doc["type"] == "FeatureCollection"
    kinds = [f["properties"]["kind"] for f in doc["features"]]
    assert kinds.count("candidate") == 2 and "frame_footprint" in kinds
    assert {"target", "point_of_interest", "claimed_location"} <= set(kinds)
    best = next(f for f in doc["features"] if f["properties"].get("rank") == 1
                and f["properties"]["kind"] == "candidate")
    c = scene.result.candidates[0]
    assert best["geometry"]["coordinates"] == pytest.approx([c.lon, c.lat], abs=1e-7)
    p = best["properties"]
    assert p["status"] == "confirmed" and p["confidence"] == 0.92 and p["uncertainty_m"] == 6.0
    assert p["keyframe_time_s"] == 0.5 and p["footage_sha256"] == scene.result.video.sha256
    assert len(p["keyframe_sha256"]) == 64 and len(p["raster_sha256"]) == 64
    from shapely.geometry import shape

    for f in doc["features"]:
        if f["geometry"]["type"] == "Polygon":
            ring = f["geometry"]["coordinates"][0]
            assert ring[0] == ring[-1]
            assert shape(f["geometry"]).exterior.is_ccw  # right-hand rule


def test_kml_parses_and_escapes(case_path: Path, reports: dict[str, Path],
                                tmp_path: Path) -> None:
    raw = reports["kml"].read_bytes()
    with Case.open(case_path) as case:
        kml2 = write_reports(case, ["kml"], tmp_path)[0]
    assert kml2.read_bytes() == raw  # ids renumbered: same bytes in one process, too
    root = ET.fromstring(raw)
    marks = root.findall(".//k:Placemark", KML_NS)
    names = [m.findtext("k:name", namespaces=KML_NS) for m in marks]
    assert "#1 confirmed" in names and "#2 rejected" in names
    assert f"impact {EVIL}" in names  # the label survives as plain text
    desc = next(m.findtext("k:description", namespaces=KML_NS) for m in marks
                if m.findtext("k:name", namespaces=KML_NS) == "#1 confirmed")
    assert "&lt;script&gt;" in desc and "<script>" not in desc  # HTML-escaped inside CDATA
    assert root.findall(".//k:Polygon", KML_NS)  # frame footprints


def test_pdf_reproducible_and_contains_text(case_path: Path, reports: dict[str, Path],
                                            tmp_path: Path) -> None:
    with Case.open(case_path) as case:
        [again] = write_reports(case, ["pdf"], tmp_path, generated_at="2026-01-02T03:04:05Z")
    assert again.read_bytes() == reports["pdf"].read_bytes()
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    text = subprocess.run(["pdftotext", "-layout", str(reports["pdf"]), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert "Located and confirmed by the analyst" in text
    assert "<script>alert('x')</script>" in text  # printed literally, not interpreted
    assert "Audit log" in text and "Footage evidence" in text


def test_missing_raster_still_reports(scene: Scene, tmp_path: Path) -> None:
    local = make_scene(tmp_path / "s")
    path = tmp_path / "m.wbcase"
    with Case.create(path, video_path=local.video, tiles=[local.tile], result=local.result,
                     keyframes_dir=local.out_dir) as case:
        case.confirm(1, "ok")
    local.tile.unlink()
    out = tmp_path / "out"
    assert main(["report", str(path), "--out", str(out), "--format", "html,geojson,kml"]) == 0
    html = (out / "m.html").read_text(encoding="utf-8")
    # shared by default: the file's name, never the analyst's folders
    assert "Imagery missing at report time" in html and "town.tif" in html
    assert str(local.tile.parent) not in html and str(tmp_path) not in html
    assert json.loads((out / "m.geojson").read_text())["features"]
    assert main(["report", str(path), "--out", str(out), "--format", "html",
                 "--no-redact-paths"]) == 0
    html = (out / "m.html").read_text(encoding="utf-8")
    assert str(local.tile.resolve()) in html
    assert "missing at report time" in html and "MISMATCH" in html
    # the reports are one set: the new set (HTML only) replaced the old one whole
    assert not (out / "m.geojson").exists()


def test_bad_arguments(case_path: Path, tmp_path: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with Case.open(case_path) as case:
        with pytest.raises(UsageError):
            write_reports(case, ["docx"], tmp_path)
        with pytest.raises(OutputError):
            write_reports(case, ["geojson"], blocker / "sub")
    assert main(["report", str(case_path), "--out", str(tmp_path), "--format", "html,doc"]) == 2
    assert main(["report", str(case_path), "--out", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert err.count("workbench: error:") == 2 and "Traceback" not in err
    assert not list(tmp_path.glob("*.html"))
