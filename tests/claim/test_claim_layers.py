"""Context layers: GeoJSON, KML, GeoPackage and Shapefile read through GDAL/OGR, reprojected
to WGS84, with source/licence/as-of recorded, and every kind of bad file refused in one
line naming it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import Polygon

from workbench.claim import AsOf, layer_meta, read_context_layer
from workbench.claim import layers as layers_mod
from workbench.errors import ContextLayerError, UsageError

SYRIA = Path(__file__).resolve().parents[3] / "shared" / "data" / "context" / "syria"
needs_syria = pytest.mark.skipif(not SYRIA.is_dir(),
                                 reason=f"real context layers not present at {SYRIA}")


def write_geojson(path: Path, features: list[dict[str, Any]], **extra: Any) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features, **extra}))
    return path


def point(lon: float, lat: float, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def write_utm_square(path: Path, driver: str, crs: str | None = "EPSG:32636") -> Path:
    """A 100 m square around (32.58 E, 0.35 N) in UTM 36N, written by GDAL itself."""
    tr = Transformer.from_crs(4326, 32636, always_xy=True)
    x, y = tr.transform(32.58, 0.35)
    poly = Polygon([(x - 50, y - 50), (x + 50, y - 50), (x + 50, y + 50), (x - 50, y + 50)])
    pyogrio.raw.write(path, np.array([shapely.to_wkb(poly)], dtype=object), [np.array(["Sector 7"],
                  dtype=object)], fields=["name"], geometry_type="Polygon", crs=crs,
                  driver=driver)
    return path


@pytest.mark.parametrize(("name", "driver"), [("areas.gpkg", "GPKG"),
                                              ("areas.shp", "ESRI Shapefile")])
def test_projected_layers_are_reprojected_to_lonlat(tmp_path: Path, name: str,
                                                    driver: str) -> None:
    path = write_utm_square(tmp_path / name, driver)
    fc, sha = read_context_layer(path, source="district office", licence="CC BY 4.0",
                                 as_of="2024-05-14")
    [f] = fc["features"]
    assert f["properties"]["name"] == "Sector 7"
    assert sha == hashlib.sha256(path.read_bytes()).hexdigest()
    ring = np.array(f["geometry"]["coordinates"][0])
    assert ring[:, 0].min() < 32.58 < ring[:, 0].max()
    assert ring[:, 1].min() < 0.35 < ring[:, 1].max()
    # 100 m at the equator is ~0.0009 degrees: metres were turned into degrees
    assert 0.0008 < ring[:, 0].max() - ring[:, 0].min() < 0.001
    meta = layer_meta(fc)
    assert (meta.source, meta.licence, meta.as_of) == ("district office", "CC BY 4.0",
                                                       "2024-05-14")
    assert meta.as_of_date().label() == "14 May 2024" and "32636" in meta.crs


def test_points_and_lines_are_kept_with_their_properties(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "towns.geojson", [
        point(36.6, 35.3, name="A", controller="Islamic State", pop=12),
        {"type": "Feature", "properties": {"name": "road"},
         "geometry": {"type": "LineString", "coordinates": [[36.5, 35.2], [36.7, 35.4]]}}])
    fc, _ = read_context_layer(path)
    kinds = [f["geometry"]["type"] for f in fc["features"]]
    assert kinds == ["Point", "LineString"]
    assert fc["features"][0]["properties"] == {"name": "A", "controller": "Islamic State",
                                               "pop": 12}
    meta = layer_meta(fc)
    assert meta.as_of == "unknown" and meta.licence == "not stated"
    assert meta.source == "file towns.geojson"


def test_kml_placemarks_are_read(tmp_path: Path) -> None:
    kml = tmp_path / "zone.kml"
    kml.write_text('<?xml version="1.0" encoding="UTF-8"?>'
                   '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark>'
                   "<name>Zone &lt;A&gt;</name><Polygon><outerBoundaryIs><LinearRing>"
                   "<coordinates>32.0,0.0 32.1,0.0 32.1,0.1 32.0,0.1 32.0,0.0</coordinates>"
                   "</LinearRing></outerBoundaryIs></Polygon></Placemark>"
                   "<Placemark><name>Post</name><Point><coordinates>32.2,0.05</coordinates>"
                   "</Point></Placemark></Document></kml>")
    fc, _ = read_context_layer(kml)
    names = sorted(str(f["properties"].get("Name") or f["properties"].get("name"))
                   for f in fc["features"])
    assert names == ["Post", "Zone <A>"]


BAD_KML_ENTITIES = ('<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa">'
                    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
                    '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark>'
                    "<name>&b;</name><Point><coordinates>1,1</coordinates></Point>"
                    "</Placemark></Document></kml>")


def _bowtie() -> dict[str, Any]:
    return {"type": "Feature", "properties": {"name": "bow"}, "geometry": {
        "type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}}


@pytest.mark.parametrize(("name", "content", "message"), [
    ("entities.kml", BAD_KML_ENTITIES, "entity expansion"),
    ("nan.kml", '<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Placemark>'
     "<Point><coordinates>nan,nan</coordinates></Point></Placemark></kml>", "non-finite"),
    ("swapped.geojson", json.dumps({"type": "FeatureCollection",
                                    "features": [point(40.0, -105.0, name="Denver")]}),
     "swapped"),
    ("metres.geojson", json.dumps({"type": "FeatureCollection",
                                   "features": [point(450000.0, 3900000.0)]}), "not degrees"),
    ("bowtie.geojson", json.dumps({"type": "FeatureCollection", "features": [_bowtie()]}),
     "invalid geometry"),
    ("broken.geojson", "{not json", "not a readable"),
    ("empty.geojson", json.dumps({"type": "FeatureCollection", "features": []}),
     "no features"),
    ("layer.csv", "a,b\n1,2\n", "unknown context layer type"),
])
def test_bad_layers_are_one_line_errors_naming_the_file(tmp_path: Path, name: str,
                                                        content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ContextLayerError, match=message) as err:
        read_context_layer(path)
    text = str(err.value)
    assert "\n" not in text and text.startswith(str(path))


def test_bowtie_error_says_where_it_crosses(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "bow.geojson", [_bowtie()])
    with pytest.raises(ContextLayerError, match=r"feature 1 \(bow\).*Self-intersection"):
        read_context_layer(path)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_layer_without_crs_is_refused(tmp_path: Path) -> None:
    path = write_utm_square(tmp_path / "nocrs.shp", "ESRI Shapefile", crs=None)
    assert not path.with_suffix(".prj").exists()
    with pytest.raises(ContextLayerError, match=r"no CRS \(no \.prj file"):
        read_context_layer(path)


def test_too_many_vertices_or_bytes_are_refused(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    ring = [[36 + 0.001 * np.cos(t), 35 + 0.001 * np.sin(t)]
            for t in np.linspace(0, 2 * np.pi, 2000)[:-1]]
    ring.append(ring[0])
    path = write_geojson(tmp_path / "dense.geojson", [
        {"type": "Feature", "properties": {},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}])
    read_context_layer(path)  # fine under the real cap
    monkeypatch.setattr(layers_mod, "MAX_VERTICES", 1000)
    with pytest.raises(ContextLayerError, match="more than 1000 vertices"):
        read_context_layer(path)
    monkeypatch.setattr(layers_mod, "MAX_LAYER_BYTES", 100)
    with pytest.raises(ContextLayerError, match="too large"):
        read_context_layer(path)


def test_missing_file_and_bad_as_of(tmp_path: Path) -> None:
    with pytest.raises(ContextLayerError, match="not found"):
        read_context_layer(tmp_path / "none.geojson")
    path = write_geojson(tmp_path / "ok.geojson", [point(1, 1)])
    with pytest.raises(UsageError, match="as-of date '30/09/2015'"):
        read_context_layer(path, as_of="30/09/2015")


@pytest.mark.parametrize(("text", "label", "approximate"), [
    ("c. 2017", "about 2017", True), ("2017", "2017", False), ("~2017-06", "about June 2017",
                                                              True),
    ("2015-09-30", "30 September 2015", False), ("", "unknown", False),
])
def test_as_of_labels(text: str, label: str, approximate: bool) -> None:
    when = AsOf.parse(text)
    assert when.label() == label and when.approximate is approximate


@needs_syria
def test_real_syria_layers_read_with_their_dates() -> None:
    adm, _ = read_context_layer(SYRIA / "syria_adm1_geoboundaries.geojson", as_of="c. 2017")
    assert len(adm["features"]) == 14
    assert {f["properties"]["shapeName"] for f in adm["features"]} >= {"Hama", "Ar-Raqqa"}
    ctl, _ = read_context_layer(SYRIA / "control_points_hama_zhwiki_c2017.geojson",
                                as_of="c. 2017", licence="CC BY-SA (Wikipedia contributors)")
    assert len(ctl["features"]) == 35
    assert {f["geometry"]["type"] for f in ctl["features"]} == {"Point"}
    meta = layer_meta(ctl)
    # PROVENANCE.md: about 2017, revision unknown -- never the 30 Sept 2015 situation
    assert meta.as_of_date().label() == "about 2017"
    assert "2015" not in meta.as_of_date().label()
    assert "c. 2017" in meta.source  # the file's own description is kept as its source
