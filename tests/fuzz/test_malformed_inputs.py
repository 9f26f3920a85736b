"""One test per malformed-input defect of the reliability campaign (issue 9, item 6):
each ended in an internal error, a raw escape sequence or a wrongly wound polygon."""

from __future__ import annotations

import itertools
import json
import xml.dom.minidom
from pathlib import Path

import pytest
from fuzzkit import edit_case, seed_case, seed_geotiff

from workbench.cli import main
from workbench.textsafe import safe_path, safe_text, visible_controls


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_case(tmp_path_factory.mktemp("malformed_case"))


def _area2(ring: list[list[float]]) -> float:
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring))


def _polygons(doc: dict) -> list[tuple[str, list[list[list[float]]]]]:
    out = []
    for f in doc["features"]:
        g = f["geometry"]
        if g and g["type"] == "Polygon":
            out.append((f["properties"].get("kind", ""), g["coordinates"]))
        elif g and g["type"] == "MultiPolygon":
            out += [(f["properties"].get("kind", ""), p) for p in g["coordinates"]]
    return out


def test_safe_text() -> None:
    assert safe_text("rejected\x1b[2K\rCONFIRMED") == "rejected\\x1b[2K\\rCONFIRMED"
    assert safe_text("a\u202eb") == "a\\u202eb" and safe_text("été 東京") == "été 東京"
    assert safe_text("back\\x1b") == "back\\\\x1b"  # an escape cannot be faked
    assert safe_text("a\nb", keep_newlines=True) == "a\nb"
    assert safe_path(Path("x\ny")) == "x\\ny"
    assert visible_controls("a\x01b\x0bc\ud800") == "a[U+0001]b[U+000B]c[U+D800]"


def test_case_info_escapes_notes(case: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    """`case info` printed notes raw: an escape sequence turned "rejected" into "CONFIRMED"."""
    evil = edit_case(case, tmp_path / "evil.wbcase",
                     "UPDATE decisions SET note = 'wrong place' || char(27) || '[2K'"
                     " || char(13) || '  #1 CONFIRMED'")
    assert main(["case", "info", str(evil)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out
    assert "\\x1b[2K\\r" in out


def test_kml_export_with_control_characters(case: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A control character in a label crashed the KML export (and the set after it)."""
    evil = edit_case(case, tmp_path / "ctl.wbcase",
                     "UPDATE points_of_interest SET label = 'impact' || char(1) || char(27)"
                     " || ']]>' || char(11)")
    out = tmp_path / "rep"
    assert main(["report", str(evil), "--format", "kml,geojson", "--out", str(out)]) == 0
    text = (out / "ctl.kml").read_text(encoding="utf-8")
    xml.dom.minidom.parseString(text)  # well-formed
    assert "impact[U+0001][U+001B]]]&gt;[U+000B]" in text


def test_geojson_nan_coordinates_and_winding(case: Path, tmp_path: Path) -> None:
    """A nan footprint or claimed area crashed the GeoJSON export (GEOSException)."""
    evil = edit_case(case, tmp_path / "nan.wbcase",
                     "UPDATE candidates SET doc = json_set(doc, '$.footprint',"
                     " json('[[\"nan\",1],[2,3],[4,5],[6,7]]'))")
    out = tmp_path / "rep"
    assert main(["report", str(evil), "--format", "geojson", "--out", str(out)]) == 0
    doc = json.loads((out / "nan.geojson").read_text())
    assert "NaN" not in (out / "nan.geojson").read_text()
    for kind, rings in _polygons(doc):
        assert _area2(rings[0]) > 0, kind  # exterior counter-clockwise (RFC 7946)
        assert all(_area2(r) < 0 for r in rings[1:]), kind  # holes clockwise


def test_claimed_area_wound_rfc7946(case: Path, tmp_path: Path) -> None:
    """A clockwise claimed area stored in the case was written as stored."""
    sq = [[30.0, 31.0], [30.0, 31.1], [30.1, 31.1], [30.1, 31.0], [30.0, 31.0]]  # clockwise
    evil = edit_case(case, tmp_path / "cw.wbcase",
                     "UPDATE claim SET area_json = '"
                     + json.dumps({"type": "Polygon", "coordinates": [sq]}) + "'")
    out = tmp_path / "rep"
    assert main(["report", str(evil), "--format", "geojson", "--out", str(out)]) == 0
    doc = json.loads((out / "cw.geojson").read_text())
    areas = [r for k, r in _polygons(doc) if k == "claimed_area"]
    assert areas and all(_area2(r[0]) > 0 for r in areas)


def test_tiles_geojson_footprints_counter_clockwise(tmp_path: Path) -> None:
    tif = seed_geotiff(tmp_path / "t.tif")
    out = tmp_path / "fp.geojson"
    assert main(["-q", "tiles", str(tif), "--geojson", str(out)]) == 0
    ring = json.loads(out.read_text())["features"][0]["geometry"]["coordinates"][0]
    assert _area2(ring) > 0


@pytest.mark.parametrize("sql", [
    "UPDATE notes SET text = CAST(X'fffe41c3' AS TEXT)",
    "UPDATE candidates SET doc = json_set(doc, '$.lat', 'north')",
    "UPDATE claim SET area_json = '\"x\"'",
    "UPDATE rasters SET meta_json = '\"x\"'",
])
def test_malformed_case_content_is_one_clean_line(case: Path, tmp_path: Path, sql: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Non-UTF-8 text or wrong JSON types inside a case: internal errors (exit 1) on main."""
    evil = edit_case(case, tmp_path / "bad.wbcase", sql)
    out = tmp_path / "rep"
    code = main(["report", str(evil), "--format", "geojson,kml", "--out", str(out)])
    err = capsys.readouterr().err
    assert code in (0, 2), err
    if code == 2:
        assert err.count("\n") == 1 and "bad.wbcase" in err and "internal" not in err
        assert not out.exists()


@pytest.mark.parametrize("sql", [
    "UPDATE candidates SET doc = json_set(doc, '$.lat', 'north')",
    "UPDATE rasters SET meta_json = '\"just a string\"'",
    "UPDATE notes SET text = CAST(X'fffe41' AS TEXT)",
], ids=["lat-as-text", "raster-meta-a-string", "note-not-utf8"])
def test_case_info_on_malformed_content_is_one_line(case: Path, tmp_path: Path, sql: str,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    """Hand-edited case content (wrong JSON types, text that does not decode) gave an
    internal error in `case info`; now one line naming the case, exit 2."""
    bad = edit_case(case, tmp_path / "bad.wbcase", sql)
    before = bad.read_bytes()
    capsys.readouterr()
    assert main(["case", "info", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.wbcase" in err[0] and "malformed content" in err[0], err
    # --json passes values through as stored (a text latitude stays text), never crashes
    code = main(["case", "info", "--json", str(bad)])
    err = capsys.readouterr().err
    assert code in (0, 2) and "internal error" not in err, err
    assert bad.read_bytes() == before
