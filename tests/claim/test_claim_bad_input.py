"""Issue 13, deliverable 5: bad input through the CLI is one clear line on stderr, exit 2,
and nothing recorded in the case (audit log, layers, claim and shadows unchanged)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from casekit import Scene, make_scene

from workbench.case import Case
from workbench.cli import main

FOOT = "150,140"

# the classic "billion laughs": 10 levels of 10 references = 10^9 "lol"s if expanded
LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
          + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
                    for i in range(1, 10))
          + ']>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&lol9;</name>'
            "<Point><coordinates>36.6,35.4</coordinates></Point></Placemark></kml>\n")


def _fc(*features: dict[str, Any]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


def _feature(geometry: dict[str, Any], name: str = "f") -> dict[str, Any]:
    return {"type": "Feature", "properties": {"name": name}, "geometry": geometry}


def _million_vertices(path: Path) -> None:
    n = 1_000_050  # just over the 1,000,000 cap
    with open(path, "w") as fh:
        fh.write('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
                 '"geometry":{"type":"LineString","coordinates":[')
        fh.write(",".join(f"[{36 + i * 1e-7:.7f},35.0]" for i in range(n)))
        fh.write("]}}]}")


def _no_crs_gpkg(path: Path) -> None:
    import numpy as np
    import shapely
    from pyogrio.raw import write

    geom = shapely.to_wkb(shapely.points([[450000.0, 3900000.0]]))
    write(path, geometry=geom, field_data=[np.array(["a"], dtype=object)], fields=["name"],
          geometry_type="Point",
          crs=None, driver="GPKG")


BAD_LAYERS: list[tuple[str, Any, str]] = [
    ("laughs.kml", LAUGHS, "declares a DTD or entities"),
    ("swapped.geojson", _fc(_feature({"type": "Point", "coordinates": [35.4, 136.6]})),
     "swapped"),
    ("bowtie.geojson", _fc(_feature({"type": "Polygon", "coordinates": [
        [[36, 35], [36.1, 35.1], [36.1, 35], [36, 35.1], [36, 35]]]}, "bow")),
     "invalid geometry"),
    ("million.geojson", _million_vertices, "more than 1000000 vertices"),
    ("nocrs.gpkg", _no_crs_gpkg, "has no CRS"),
]


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    return make_scene(tmp_path_factory.mktemp("bad_scene"))


@pytest.fixture
def case_path(scene: Scene, tmp_path: Path) -> Path:
    path = tmp_path / "c.wbcase"
    with Case.create(path, video_path=scene.video, tiles=[scene.tile], result=scene.result,
                     keyframes_dir=scene.out_dir, analyst="alice") as case:
        case.confirm(1, "tower and fork match")
        case.set_claim("strike", claimed_time="2024-05-14T09:30+03:00")
    return path


def _state(path: Path) -> tuple[Any, ...]:
    with Case.open(path, readonly=True) as case:
        return (len(case.audit_log()), case.audit_log()[-1].hash, len(case.context_layers()),
                case.claim(), len(case.shadows()), case.footage_source())


def _one_line_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err, err


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
@pytest.mark.parametrize(("name", "content", "message"), BAD_LAYERS,
                         ids=[b[0] for b in BAD_LAYERS])
def test_bad_layer_is_refused_with_nothing_recorded(case_path: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    name: str, content: Any,
                                                    message: str) -> None:
    layer = tmp_path / name
    if callable(content):
        content(layer)
    else:
        layer.write_text(content)
    before = _state(case_path)
    _one_line_exit_2(capsys, ["case", "context", str(case_path), str(layer)], message)
    assert _state(case_path) == before


@pytest.mark.parametrize(("argv", "message"), [
    (["claim", "{case}", "x", "--time", "2024-05-14T09:30"], "has no zone"),
    (["claim", "{case}", "x", "--at", "35.4,136.6"], "swapped"),
    (["shadow", "{case}", "1", FOOT, "900,900"], "outside the matched area"),
    (["shadow", "{case}", "1", "2,2", "110,100"], "outside the matched area"),
    (["source", "{case}", "--channel", "x", "--obtained", "2015-09-30 14:05"], "has no zone"),
    (["imagery-meta", "{case}", "town.tif", "--date", "2015-09-30T10:00"], "has no zone"),
])
def test_bad_claim_time_shadow_or_source_records_nothing(case_path: Path,
                                                         capsys: pytest.CaptureFixture[str],
                                                         argv: list[str], message: str) -> None:
    before = _state(case_path)
    _one_line_exit_2(capsys, ["case", *[a.format(case=case_path) for a in argv]], message)
    assert _state(case_path) == before


def test_the_error_names_the_layer_file(case_path: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    layer = tmp_path / "laughs.kml"
    layer.write_text(LAUGHS)
    assert main(["case", "context", str(case_path), str(layer)]) == 2
    assert str(layer) in capsys.readouterr().err
