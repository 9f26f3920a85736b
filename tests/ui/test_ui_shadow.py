"""The shadow panel: foot then tip clicks, start again, and the record request."""

from __future__ import annotations

import pytest

pytest.importorskip("PyQt6")

from PyQt6.QtCore import Qt
from workbench_ui.shadow_panel import ShadowPanel

pytestmark = pytest.mark.gui


def test_two_clicks_then_record(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = ShadowPanel()
    qtbot.addWidget(panel)
    assert not panel.record_btn.isEnabled()
    panel.add_click(319.1, 179.7)
    assert not panel.record_btn.isEnabled() and "foot: (319.1, 179.7)" in panel.points.text()
    panel.add_click(214.8, 148.6)
    assert panel.record_btn.isEnabled() and "tip: (214.8, 148.6)" in panel.points.text()
    with qtbot.waitSignal(panel.recordRequested) as sig:
        qtbot.mouseClick(panel.record_btn, Qt.MouseButton.LeftButton)
    assert sig.args == [319.1, 179.7, 214.8, 148.6]
    panel.add_click(10.0, 20.0)  # a third click starts a new pair
    assert panel.foot == (10.0, 20.0) and panel.tip is None
    assert not panel.record_btn.isEnabled()
    panel.show_result(["sun azimuth 129.4", "consistent with the shadow"])
    assert "consistent" in panel.result.text()
    qtbot.mouseClick(panel.clear_btn, Qt.MouseButton.LeftButton)
    assert panel.foot is None and panel.result.text() == ""


def test_two_clicks_on_the_keyframe_record_a_shadow(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Through the main window: mark on, click the foot and the tip on the comparison's
    keyframe, record; the case holds the shadow, measured through the candidate's
    homography (checked independently: rasterio affine + pyproj geodesic azimuth), and
    the sun check against the claimed time reaches the panel."""
    import numpy as np
    from pyproj import Geod, Transformer
    from test_ui_support import make_case_data, open_window

    from workbench.case import Case
    from workbench.geo import apply_homography

    data = make_case_data(tmp_path / "data")
    with Case.open(data["case"], analyst="tester") as case:
        case.set_claim("strike", claimed_time="2015-09-30T10:00+03:00")
    win = open_window(qtbot, tmp_path)
    try:
        c, s = win.controller, win.session
        assert c.open_case(data["case"])
        assert win.candidates.select_rank(1)
        qtbot.waitUntil(lambda: win.compare.candidate is not None
                        and win.compare.candidate.rank == 1, timeout=20_000)
        win.center_tabs.setCurrentWidget(win.compare)
        win.compare.set_mode(overlay=False)
        view = win.compare.left
        view.fit()
        panel = win.shadow_panel
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                         pos=view.map_px_to_viewport(160, 120).toPoint())
        assert panel.foot is None  # not marking: a click is a point to geolocate
        panel.mark_btn.click()
        for x, y in ((160, 120), (120, 90)):
            qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                             pos=view.map_px_to_viewport(x, y).toPoint())
        assert panel.foot is not None and panel.tip is not None
        assert abs(panel.foot[0] - 160) < 2 and abs(panel.tip[1] - 90) < 2
        assert len(win.shadow._items) == 3  # foot, tip and the line drawn on the keyframe
        n_audit = len(s.audit_log())
        panel.record_btn.click()
        [rec] = s.case.shadows()
        assert rec.rank == 1 and rec.user == s.case.analyst
        assert rec.measure.foot_px == pytest.approx(panel.foot)
        assert [e.action for e in s.audit_log()][n_audit:] == ["shadow"]
        # independent: keyframe px -> tile px -> UTM (pixel centres) -> lon/lat -> azimuth
        syn = data["syn"]
        txy = apply_homography(syn.homography, np.array([panel.foot, panel.tip]))
        a, b, x0, d, e, y0 = syn.tile_ref.transform
        xs = [a * (x + 0.5) + b * (y + 0.5) + x0 for x, y in txy]
        ys = [d * (x + 0.5) + e * (y + 0.5) + y0 for x, y in txy]
        lon, lat = Transformer.from_crs("EPSG:32636", 4326, always_xy=True).transform(xs, ys)
        az, _, dist = Geod(ellps="WGS84").inv(lon[0], lat[0], lon[1], lat[1])
        assert rec.measure.shadow_azimuth_deg == pytest.approx(az % 360, abs=1e-6)
        assert rec.measure.length_m == pytest.approx(dist, abs=1e-3)
        assert f"recorded by {s.case.analyst}" in panel.result.text()
        qtbot.waitUntil(lambda: "At the claimed time" in panel.result.text(), timeout=60_000)
        assert "2015-09-30T10:00:00+03:00" in panel.result.text()
    finally:
        win.controller.shutdown()
