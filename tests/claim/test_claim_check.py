"""The claim check against values computed independently: geodesic distances and bearings
straight from pyproj.Geod, nearest points on polygons by brute force over a densified
boundary, and the worked example's numbers on the real Syria layers."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import shape

from workbench.claim import (
    AsOf,
    check_claim,
    class_matches,
    compass_word,
    read_context_layer,
)

SYRIA = Path(__file__).resolve().parents[3] / "shared" / "data" / "context" / "syria"
needs_syria = pytest.mark.skipif(not SYRIA.is_dir(),
                                 reason=f"real context layers not present at {SYRIA}")
GEOD = Geod(ellps="WGS84")
LATAMNEH = (36.6225, 35.32083)  # story_places.geojson (Wikipedia infobox)
RAQQA = (39.00788, 35.95283)  # story_places.geojson (GeoNames)
EVENT = date(2015, 9, 30)


def fc(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def feat(geom: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geom}


def pt(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


@pytest.mark.parametrize(("bearing", "word"), [
    (0, "north"), (11.2, "north"), (11.3, "north-northeast"), (90, "east"),
    (112.5, "east-southeast"), (101.3, "east-southeast"), (123.7, "east-southeast"),
    (123.8, "southeast"), (180, "south"), (270, "west"), (348.7, "north-northwest"),
    (348.8, "north"), (359.9, "north"), (-90, "west"),
])
def test_compass_words(bearing: float, word: str) -> None:
    assert compass_word(bearing) == word


def test_distance_and_bearing_to_the_claimed_point_are_geodesic() -> None:
    az, _, dist = GEOD.inv(*LATAMNEH, *RAQQA)
    chk = check_claim(*LATAMNEH, claim_lonlat=RAQQA)
    assert chk.distance_m == pytest.approx(dist, abs=0.01)
    assert chk.bearing_deg == pytest.approx(az % 360, abs=1e-6)
    assert "227.1 km from the claimed location" in chk.summary()


def _brute_nearest_m(geom: shapely.Geometry, lon: float, lat: float) -> float:
    """Minimum geodesic distance to a polygon's boundary, densified to ~20 m steps."""
    dense = shapely.segmentize(geom.boundary, 0.0002)
    xy = shapely.get_coordinates(dense)
    _, _, d = GEOD.inv(np.full(len(xy), lon), np.full(len(xy), lat), xy[:, 0], xy[:, 1])
    return float(np.min(d))


def test_nearest_polygon_and_claimed_area_match_brute_force() -> None:
    # a slanted quadrilateral ~10 km across, north-east of the point
    area = {"type": "Polygon", "coordinates": [[[36.70, 35.40], [36.82, 35.38],
                                                [36.85, 35.47], [36.72, 35.50],
                                                [36.70, 35.40]]]}
    expect = _brute_nearest_m(shape(area), *LATAMNEH)
    chk = check_claim(*LATAMNEH, claim_area=area,
                      layers=[("zones", fc(feat(area, name="Zone", controller="X")))])
    assert chk.inside_claimed_area is False
    assert chk.area_distance_m == pytest.approx(expect, rel=1e-3)
    [rep] = chk.layers
    assert rep.nearest is not None and rep.nearest.feature == "Zone"
    assert rep.nearest.distance_m == pytest.approx(expect, rel=1e-3)
    az, _, _ = GEOD.inv(*LATAMNEH, rep.nearest.lon, rep.nearest.lat)
    assert rep.nearest.bearing_deg == pytest.approx(az % 360, abs=1e-6)
    assert compass_word(rep.nearest.bearing_deg or 0) in ("northeast", "north-northeast",
                                                          "east-northeast")
    assert chk.containing == []


def test_point_inside_a_polygon_is_contained_at_zero_distance() -> None:
    square = {"type": "Polygon", "coordinates": [[[36.5, 35.2], [36.7, 35.2], [36.7, 35.4],
                                                  [36.5, 35.4], [36.5, 35.2]]]}
    chk = check_claim(*LATAMNEH, claim_area=square,
                      layers=[("gov", fc(feat(square, shapeName="Hama")))])
    assert chk.inside_claimed_area is True and chk.area_distance_m == 0
    assert [(h.layer, h.feature) for h in chk.containing] == [("gov", "Hama")]
    assert chk.layers[0].nearest is not None
    assert chk.layers[0].nearest.words() == "here"


def test_nearest_of_each_class_is_the_brute_force_minimum() -> None:
    rng = np.random.default_rng(7)
    pts = rng.uniform([36.0, 34.8], [38.0, 36.0], size=(60, 2))
    classes = ["Islamic State", "Syrian government", "rebels (opposition)"]
    layer = fc(*[feat(pt(x, y), name=f"town {i}", controller=classes[i % 3])
                 for i, (x, y) in enumerate(pts)])
    chk = check_claim(*LATAMNEH, layers=[("control", layer)])
    [rep] = chk.layers
    assert rep.class_attribute == "controller"
    got = {n.class_value: n for n in rep.nearest_by_class}
    assert set(got) == set(classes)
    _, _, d = GEOD.inv(np.full(60, LATAMNEH[0]), np.full(60, LATAMNEH[1]), pts[:, 0], pts[:, 1])
    for k, cls in enumerate(classes):
        i = k + 3 * int(np.argmin(d[k::3]))
        assert got[cls].feature == f"town {i}"
        assert got[cls].distance_m == pytest.approx(d[i], abs=0.01)
    # sorted nearest first, and the layer's nearest is the overall minimum
    dists = [n.distance_m for n in rep.nearest_by_class]
    assert dists == sorted(dists) and rep.nearest is not None
    assert rep.nearest.distance_m == pytest.approx(float(d.min()), abs=0.01)


@pytest.mark.parametrize(("category", "value", "matches"), [
    ("Islamic State target", "Islamic State", True),
    ("ISIS command post", "Islamic State", True),
    ("Daesh depot", "IS", True),
    ("Islamic State target", "stable mixed: rebels + Jabhat al-Nusra/HTS", False),
    ("the target is a rebel depot", "Islamic State", False),  # "is" is not IS
    ("Nusra position", "stable mixed: rebels + Jabhat al-Nusra/HTS", True),
    ("government barracks", "Syrian government", True),
    ("Islamic State target", "rebels (opposition)", False),
])
def test_category_matches_party_names(category: str, value: str, matches: bool) -> None:
    assert class_matches(category, value) is matches


def test_category_is_consistent_only_where_the_layer_marks_that_party() -> None:
    here = fc(feat(pt(36.623, 35.322), name="Here", controller="Islamic State"),
              feat(pt(37.4, 35.1), name="Far", controller="Syrian government"))
    chk = check_claim(*LATAMNEH, layers=[("ctl", here)], category="Islamic State target",
                      event_date=EVENT)
    [cat] = chk.categories
    assert cat.verdict.startswith("consistent") and cat.at_point is not None
    other = fc(feat(pt(36.623, 35.322), name="Here", controller="Syrian government"))
    [cat2] = check_claim(*LATAMNEH, layers=[("ctl", other)],
                         category="Islamic State target").categories
    assert cat2.verdict.startswith("not supported") and cat2.nearest_matching is None
    assert cat2.matching_classes == []
    nothing_near = fc(feat(pt(37.4, 35.1), name="Far", controller="Syrian government"))
    [cat4] = check_claim(*LATAMNEH, layers=[("ctl", nothing_near)],
                         category="Islamic State target").categories
    assert cat4.verdict.startswith("no class") and cat4.at_point is None
    far = fc(feat(pt(37.4, 35.1), name="Far", controller="Islamic State"))
    [cat3] = check_claim(*LATAMNEH, layers=[("ctl", far)],
                         category="Islamic State target").categories
    assert cat3.verdict == "no data at the point" and cat3.nearest_matching is not None


@pytest.mark.parametrize(("as_of", "flagged", "words"), [
    ("2015-09-30", False, ""), ("2015-09", False, ""), ("2015", False, ""),
    ("c. 2015", True, "approximate"), ("c. 2017", True, "about 2017, about 1.3 years after"),
    ("2014-06", True, "1.3 years before"), ("unknown", True, "as-of date unknown"),
])
def test_layer_dates_against_the_event(as_of: str, flagged: bool, words: str) -> None:
    flag = AsOf.parse(as_of).flag(EVENT)
    assert (flag is not None) is flagged
    assert words in (flag or "")


def test_date_flag_reaches_every_sentence_of_the_check() -> None:
    layer = fc(feat(pt(36.62, 35.32), name="A", controller="rebels"))
    layer["workbench_layer"] = {"as_of": "c. 2017", "source": "s", "licence": "l"}
    chk = check_claim(*LATAMNEH, layers=[("ctl", layer)], category="Islamic State target",
                      event_date=EVENT)
    text = " ".join(chk.sentences())
    assert "Date warning for layer 'ctl': as of about 2017" in text
    assert chk.categories[0].sentence().endswith("after the event (2015-09-30).")


@needs_syria
def test_worked_example_numbers_on_the_real_layers() -> None:
    """al-Latamneh: Hama governorate, ~227 km from Raqqa, nearest IS-held place in the
    c. 2017 control layer ~76 km east-southeast; the layer is flagged as about 2017."""
    adm, _ = read_context_layer(SYRIA / "syria_adm1_geoboundaries.geojson", as_of="c. 2017")
    ctl, _ = read_context_layer(SYRIA / "control_points_hama_zhwiki_c2017.geojson",
                                as_of="c. 2017")
    chk = check_claim(*LATAMNEH, claim_lonlat=RAQQA,
                      layers=[("governorates", adm), ("control", ctl)],
                      category="Islamic State target", event_date=EVENT)
    assert [h.feature for h in chk.containing] == ["Hama"]
    assert chk.distance_m is not None and round(chk.distance_m / 1000) == 227
    control = chk.layers[1]
    is_held = next(n for n in control.nearest_by_class if n.class_value == "Islamic State")
    # independently: the minimum geodesic distance over the layer's IS-marked points
    raw = json.loads((SYRIA / "control_points_hama_zhwiki_c2017.geojson").read_text())
    xy = np.array([f["geometry"]["coordinates"] for f in raw["features"]
                   if f["properties"]["controller"] == "Islamic State"])
    az, _, d = GEOD.inv(np.full(len(xy), LATAMNEH[0]), np.full(len(xy), LATAMNEH[1]),
                        xy[:, 0], xy[:, 1])
    i = int(np.argmin(d))
    assert is_held.distance_m == pytest.approx(d[i], abs=0.01)
    assert round(is_held.distance_m / 1000) == 76
    assert compass_word(float(az[i])) == "east-southeast" == compass_word(
        is_held.bearing_deg or 0)
    assert is_held.words() == "76 km east-southeast"
    [cat] = chk.categories
    assert cat.verdict.startswith("not supported")
    assert cat.at_point is not None and cat.at_point.feature == "Al Lataminah"
    text = " ".join(chk.sentences())
    assert "76 km east-southeast" in text and "as of about 2017" in text
    assert "30 September 2015" not in text
