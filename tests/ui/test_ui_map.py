"""The overview map dock, driven through the real window (pytest-qt, offscreen): what it
draws, clicking a candidate selects it in the table, a click gives the ground position
and the keyframe pixel that sees it, the ruler agrees with pyproj.Geod; and the core
helpers behind it (footprint preview, ground -> keyframe pixel, grid north)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("PyQt6")
pytestmark = pytest.mark.gui


def _layer(path: Path, lon: float, lat: float) -> Path:
    """A context layer: two polygons and a point, classed by ``controller``."""
    d = 0.0015

    def square(x: float, y: float, value: str) -> dict[str, Any]:
        ring = [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]
        return {"type": "Feature", "properties": {"controller": value, "name": value},
                "geometry": {"type": "Polygon", "coordinates": [ring]}}

    fc = {"type": "FeatureCollection", "features": [
        square(lon - d, lat - d / 2, "A"), square(lon + 0.0002, lat - d / 2, "B"),
        {"type": "Feature", "properties": {"controller": "B", "name": "checkpoint"},
         "geometry": {"type": "Point", "coordinates": [lon + 0.001, lat + 0.001]}}]}
    path.write_text(json.dumps(fc), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def map_case(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The synthetic UI case, with a claim, a context layer and a point of interest."""
    from test_ui_support import make_case_data

    from workbench.case.casefile import Case

    data = make_case_data(tmp_path_factory.mktemp("mapcase"))
    c1 = data["syn"].result.candidates[0]
    with Case.open(data["case"], analyst="tester") as case:
        case.set_claim("filmed near the depot", lonlat=(c1.lon + 0.0008, c1.lat - 0.0004))
        case.add_context_layer(_layer(data["root"] / "control.geojson", c1.lon, c1.lat),
                               name="control", as_of="2024-05", class_attribute="controller")
        case.set_point_of_interest(1, 150.0, 120.0, "impact")
    return data


@pytest.fixture
def window(qtbot: Any, tmp_path: Path, map_case: dict[str, Any]) -> Any:
    from test_ui_support import open_window

    win = open_window(qtbot, tmp_path)
    win.resize(1366, 768)
    assert win.controller.open_case(map_case["case"])
    win.dock_map.raise_()
    qtbot.waitUntil(lambda: not win.map.previews_pending(), timeout=20_000)
    yield win
    win.controller.shutdown()


def _select(win: Any, qtbot: Any, rank: int) -> None:
    assert win.candidates.select_rank(rank)
    qtbot.waitUntil(lambda: win.compare.candidate is not None
                    and win.compare.candidate.rank == rank, timeout=20_000)


def test_map_draws_candidates_footprint_claim_layers(window: Any, map_case: dict[str, Any]
                                                     ) -> None:
    win = window
    content = win.map.content
    assert [c.rank for c in content.candidates] == [1, 2]
    assert [Path(n).name for n, _r in content.footprints] == ["tile.tif"]
    assert content.claim_point is not None and content.points[0].label == "impact"
    assert content.layers and content.layers[0].class_attribute == "controller"
    view = win.map.view
    assert view.projection is not None
    # a candidate's marker sits where its lon/lat projects, and hits as that candidate
    for c in map_case["syn"].result.candidates:
        p = view.scene_pos_of(c.lon, c.lat)
        assert p is not None and view.viewport().rect().contains(p.toPoint())
        assert view.rank_at(round(p.x()), round(p.y())) == c.rank
    # the legend names both control classes, the claim and the imagery
    labels = [label for _c, label in view.legend]
    assert "controller: A" in labels and "controller: B" in labels
    assert "claimed" in labels and "imagery footprint" in labels
    # the imagery preview came from the raster itself and lies on its footprint
    prev = win.map.previews[str(map_case["tile"])]
    assert prev is not None and max(prev.image.shape[:2]) <= 256
    grab = view.grab().toImage()
    assert not grab.isNull()


def test_click_candidate_on_map_selects_it_in_the_table(window: Any, qtbot: Any,
                                                        map_case: dict[str, Any]) -> None:
    from PyQt6.QtCore import Qt

    win = window
    _select(win, qtbot, 1)
    c2 = map_case["syn"].result.candidates[1]
    view = win.map.view
    p = view.scene_pos_of(c2.lon, c2.lat)
    assert p is not None
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=p.toPoint())
    assert win.candidates.selected_rank() == 2
    assert win.controller.review.current_rank == 2
    assert win.map.selected == 2
    qtbot.waitUntil(lambda: win.compare.candidate is not None
                    and win.compare.candidate.rank == 2, timeout=20_000)


def test_map_click_gives_position_and_keyframe_pixel(window: Any, qtbot: Any,
                                                     map_case: dict[str, Any]) -> None:
    from PyQt6.QtCore import Qt

    from workbench.position import pixel_position

    win = window
    _select(win, qtbot, 1)
    syn = map_case["syn"]
    c1, t = syn.result.candidates[0], syn.tile_ref
    truth = pixel_position(c1.homography, c1.keyframe_xy, c1.tile_xy, t.transform, t.crs,
                           t.gsd_m, (100.0, 200.0))
    view = win.map.view
    for _ in range(6):  # zoom in so one screen pixel is well below a keyframe pixel
        view.scale(1.6, 1.6)
    view.centerOn(view.projection.point(truth.lon, truth.lat))
    p = view.scene_pos_of(truth.lon, truth.lat)
    assert p is not None
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=p.toPoint())
    lon, lat = win.map.last_ground
    assert abs(lon - truth.lon) < 2e-5 and abs(lat - truth.lat) < 2e-5
    kx, ky = win.map.last_keyframe_px
    assert abs(kx - 100.0) < 3 and abs(ky - 200.0) < 3
    text = win.map.panel.info.text()
    assert "MGRS 36U" in text and "keyframe kf0001 at pixel" in text
    assert win.compare.left.point_shown() and win.compare.right.point_shown()
    # far outside the keyframe: said so, no pixel
    win.map.show_ground(truth.lon + 0.01, truth.lat)
    assert win.map.last_keyframe_px is None
    assert "outside keyframe kf0001" in win.map.panel.info.text()


def test_imagery_click_gives_ground_position(window: Any, qtbot: Any,
                                             map_case: dict[str, Any]) -> None:
    from PyQt6.QtCore import Qt

    from workbench.geo import tile_px_to_lonlat

    win = window
    _select(win, qtbot, 1)
    win.center_tabs.setCurrentWidget(win.compare)
    win.compare.set_mode(overlay=False)
    crop, pane = win.compare.crop, win.compare.right
    pane.fit()
    cx, cy = crop.image.shape[1] / 2, crop.image.shape[0] / 2
    qtbot.mouseClick(pane.viewport(), Qt.MouseButton.LeftButton,
                     pos=pane.map_px_to_viewport(cx, cy).toPoint())
    want = tile_px_to_lonlat(crop.tile.transform, crop.tile.crs,
                             crop.to_tile(np.array([[cx, cy]])))[0]
    lon, lat = win.map.last_ground
    metres = crop.tile.gsd_m * crop.scale / pane.zoom()  # one screen pixel on the ground
    assert abs(lon - want[0]) * 111_000 * math.cos(math.radians(lat)) < 2 * metres + 0.5
    assert abs(lat - want[1]) * 111_000 < 2 * metres + 0.5
    assert win.map.panel.info.text().startswith("Imagery click:")


def test_ruler_matches_pyproj_geod_on_map_and_imagery(window: Any, qtbot: Any,
                                                      map_case: dict[str, Any]) -> None:
    from pyproj import Geod
    from PyQt6.QtCore import Qt

    win = window
    _select(win, qtbot, 1)
    win.act_ruler.trigger()
    assert win.map.ruler.active and win.map.panel.ruler_btn.isChecked()
    view = win.map.view
    c1, c2 = map_case["syn"].result.candidates
    for c in (c1, c2):
        p = view.scene_pos_of(c.lon, c.lat)
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=p.toPoint())
    m = win.map.ruler.measurement
    assert m is not None
    (lon1, lat1), (lon2, lat2) = m.a, m.b
    az, _baz, dist = Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)
    assert m.distance_m == pytest.approx(dist, rel=1e-9)
    assert m.bearing_deg == pytest.approx(az % 360, abs=1e-9)
    # the clicks were on the two candidates (to a few screen pixels)
    true_d = Geod(ellps="WGS84").inv(c1.lon, c1.lat, c2.lon, c2.lat)[2]
    assert abs(m.distance_m - true_d) < 6 * view.metres_per_px() + 1
    assert "bearing" in win.map.panel.info.text()
    # clicks on the imagery pane measure the same way (and the ruler is drawn there)
    win.center_tabs.setCurrentWidget(win.compare)
    win.compare.set_mode(overlay=False)
    pane = win.compare.right
    pane.fit()
    qtbot.mouseClick(pane.viewport(), Qt.MouseButton.LeftButton,
                     pos=pane.map_px_to_viewport(20, 20).toPoint())
    assert len(win.map.ruler.points) == 1  # a third click starts a new measurement
    qtbot.mouseClick(pane.viewport(), Qt.MouseButton.LeftButton,
                     pos=pane.map_px_to_viewport(120, 20).toPoint())
    m2 = win.map.ruler.measurement
    assert m2 is not None
    crop = win.compare.crop
    metres = 100 * crop.tile.gsd_m * crop.scale  # 100 crop pixels east of each other
    assert m2.distance_m == pytest.approx(metres, rel=0.05)
    assert 85 < m2.bearing_deg < 95 or 265 < m2.bearing_deg < 275
    assert len(win.map._pane_items) == 2
    win.act_ruler.trigger()
    assert not win.map.ruler.active and not win.map._pane_items
    assert "Ruler" not in win.map.panel.info.text()


def test_footprint_preview_reads_overview(map_case: dict[str, Any]) -> None:
    from workbench.errors import UsageError
    from workbench.imagery import catalog_file, footprint_preview

    tile = catalog_file(map_case["tile"])
    prev = footprint_preview(tile, max_px=64)
    assert max(prev.image.shape[:2]) <= 64 and prev.image.dtype == np.uint8
    assert prev.valid.all()
    # the corners are the raster's outer pixel corners on the ground
    w, h = tile.width, tile.height
    want = tile.px_to_lonlat([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]])
    assert np.allclose(prev.corners_lonlat, want, atol=1e-9)
    assert prev.footprint[0] == prev.footprint[-1]
    with pytest.raises(UsageError):
        footprint_preview(tile, max_px=2)


def test_keyframe_pixel_at_inverts_pixel_position(map_case: dict[str, Any]) -> None:
    from workbench.geo import grid_north_deg
    from workbench.position import keyframe_pixel_at, pixel_position

    syn = map_case["syn"]
    c, t = syn.result.candidates[0], syn.tile_ref
    for xy in ((5.0, 7.0), (160.0, 120.0), (300.0, 230.0)):
        pos = pixel_position(c.homography, c.keyframe_xy, c.tile_xy, t.transform, t.crs,
                             t.gsd_m, xy)
        back = keyframe_pixel_at(c.homography, t.transform, t.crs, (pos.lon, pos.lat), (320, 240))
        assert back is not None and np.allclose(back, xy, atol=1e-4)
    far = pixel_position(c.homography, c.keyframe_xy, c.tile_xy, t.transform, t.crs, t.gsd_m,
                         (600.0, 120.0))
    assert keyframe_pixel_at(c.homography, t.transform, t.crs, (far.lon, far.lat),
                             (320, 240)) is None
    # UTM 36N west of its central meridian (33 E): true north is clockwise of grid north
    north = grid_north_deg(t.transform, t.crs, (300.0, 300.0))
    lon = pixel_position(c.homography, c.keyframe_xy, c.tile_xy, t.transform, t.crs, t.gsd_m,
                         (160.0, 120.0)).lon
    lat = pixel_position(c.homography, c.keyframe_xy, c.tile_xy, t.transform, t.crs, t.gsd_m,
                         (160.0, 120.0)).lat
    assert north == pytest.approx((33.0 - lon) * math.sin(math.radians(lat)), abs=0.05)


def test_map_empties_on_close_and_refits_on_reopen(window: Any, qtbot: Any,
                                                   map_case: dict[str, Any]) -> None:
    win = window
    view = win.map.view
    view.scale(50, 50)  # zoomed far in: the candidates are off screen
    c1 = map_case["syn"].result.candidates[0]
    win.map.show_ground(c1.lon, c1.lat)
    assert win.map.last_ground is not None
    win.controller.ask_close_case()
    qtbot.waitUntil(lambda: win.session.case is None and not win.map.previews_pending(),
                    timeout=5000)
    # the imagery the case brought stays loaded (and on the map) until it is removed
    assert [n for n, _ in win.map.content.footprints] == [str(t.path) for t in win.session.tiles]
    assert not win.map.content.candidates
    win.session.remove_imagery([Path(t.path) for t in win.session.tiles])
    qtbot.waitUntil(lambda: view.projection is None, timeout=5000)
    assert view.item_count() == 0
    assert win.map.panel.legend.text() == ""
    assert win.map.last_ground is None and "MGRS" not in win.map.panel.info.text()
    assert win.controller.open_case(map_case["case"])
    qtbot.waitUntil(lambda: not win.map.previews_pending(), timeout=20_000)
    for c in map_case["syn"].result.candidates:
        p = view.scene_pos_of(c.lon, c.lat)
        assert p is not None and view.viewport().rect().contains(p.toPoint())


def test_map_focus_is_the_case_not_every_raster() -> None:
    from workbench_ui.map_items import MapCandidate, MapContent

    def ring(lon: float, lat: float) -> list[list[float]]:
        d = 0.01
        return [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]

    content = MapContent(
        candidates=[MapCandidate(1, 32.005, 0.355, 5.0, tile="near.tif")],
        footprints=[("near.tif", ring(32.0, 0.35)), ("far.tif", ring(35.0, 3.0))],
        claim_point=(32.02, 0.36))
    focus, everything = content.lonlat(focus=True), content.lonlat(focus=False)
    assert focus[:, 0].max() < 33 and everything[:, 0].max() > 35
    lon, lat = content.centre()
    assert 32.0 < lon < 32.03 and 0.35 < lat < 0.37
    # without candidates every footprint is the focus
    assert len(MapContent(footprints=content.footprints).lonlat(focus=True)) == 10
