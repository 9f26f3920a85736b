"""``workbench tiles``: listing, --json, warnings and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from workbench_fixtures.rasters import make_edge_rasters

from workbench.cli import main


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_edge_rasters(tmp_path_factory.mktemp("edge_cli"))


def test_tiles_json_lists_tiles_and_warnings(
    edge: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    good = edge["utm"].parent
    code = main(["tiles", str(good), str(edge["text_tif"]), "--json", "--sha256"])
    assert code == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert "text.tif" in captured.err  # stdout is JSON: warnings also go to the log
    assert doc["schema"] == "workbench.tiles/1"
    by_path = {t["path"]: t for t in doc["tiles"]}
    utm = by_path[str(edge["utm"])]
    assert utm["crs"] == "EPSG:32633" and utm["width"] == 200 and len(utm["sha256"]) == 64
    assert utm["acquired"] == "2021-05-06T07:08:09" and utm["attribution"] == "(c) Test Sat"
    assert len(utm["bounds_lonlat"]) == 4 and utm["footprint"][0] == utm["footprint"][-1]
    assert len(doc["warnings"]) == 1 and "text.tif" in doc["warnings"][0]


def test_tiles_text_listing(edge: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tiles", str(edge["utm"]), str(edge["plain_png"])]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "plain.png" not in captured.err  # listed once, on stdout, not logged again
    assert str(edge["utm"]) in out and "EPSG:32633" in out and "50.0 cm/px" in out
    assert "2021-05-06T07:08:09" in out and "(c) Test Sat" in out
    assert "1 usable raster(s), 1 skipped" in out
    assert "warning: skipped" in out and "plain.png" in out


def test_tiles_geojson_footprints(
    edge: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sub" / "footprints.geojson"
    assert main(["tiles", str(edge["utm"]), str(edge["rotated"]), "--geojson", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 2
    ring = doc["features"][1]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 65
    assert doc["features"][0]["properties"]["crs"] == "EPSG:32633"
    bad = tmp_path / "file.txt"
    bad.write_text("x")
    assert main(["tiles", str(edge["utm"]), "--geojson", str(bad / "f.geojson")]) == 2
    assert "file.txt" in capsys.readouterr().err


@pytest.mark.parametrize("case", ["empty", "missing", "text_tif", "bad_folder"])
def test_tiles_unusable_arguments_exit_2_one_line(
    edge: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    target = {
        "empty": tmp_path,
        "missing": tmp_path / "missing.tif",
        "text_tif": edge["text_tif"],
        "bad_folder": edge["text_tif"].parent,
    }[case]
    assert main(["-q", "tiles", str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("workbench: error:") and "\n" not in err
    assert str(target) in err
    assert "Traceback" not in err
