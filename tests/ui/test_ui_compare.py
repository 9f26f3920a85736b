"""Side-by-side comparison: the Qt-free crop/warp/point helpers and the CompareWidget."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_ui_support import KF_H, KF_W, Synthetic, make_synthetic

from workbench.compare import (
    locate_pixel,
    numbered_landmarks,
    satellite_crop,
    warp_to_crop,
)
from workbench.errors import RasterOpenError, UsageError
from workbench.geo import (
    apply_homography,
    format_metres,
    format_uncertainty,
    keyframe_px_to_lonlat,
)
from workbench.position import point_uncertainty_m


@pytest.fixture(scope="module")
def syn(tmp_path_factory: pytest.TempPathFactory) -> Synthetic:
    return make_synthetic(tmp_path_factory.mktemp("ui_compare"))


def test_crop_maps_back_to_tile_pixels(syn: Synthetic) -> None:
    cand = syn.result.candidates[0]
    crop = satellite_crop(cand, syn.tile_ref, (KF_W, KF_H), max_side=200)
    assert crop.image.shape[0] * crop.image.shape[1] <= 200 * 200
    assert crop.scale > 1.0  # decimated
    pts = np.array([[10.0, 20.0], [150.5, 99.25]])
    np.testing.assert_allclose(crop.to_tile(crop.to_crop(pts)), pts)
    # the crop covers every tie point
    cxy = crop.to_crop(np.asarray(cand.tile_xy))
    h, w = crop.image.shape[:2]
    assert (cxy[:, 0] >= 0).all() and (cxy[:, 0] < w).all()
    assert (cxy[:, 1] >= 0).all() and (cxy[:, 1] < h).all()


def test_warp_aligns_keyframe_with_imagery(syn: Synthetic) -> None:
    good, bad = syn.result.candidates
    crop = satellite_crop(good, syn.tile_ref, (KF_W, KF_H))
    warped, alpha = warp_to_crop(syn.keyframe, good, crop, syn.mask)
    on = alpha > 0
    assert on.sum() > 1000
    err_good = np.abs(warped[on].astype(int) - crop.image[on].astype(int)).mean()
    crop_b = satellite_crop(bad, syn.tile_ref, (KF_W, KF_H))
    warped_b, alpha_b = warp_to_crop(syn.keyframe, bad, crop_b, syn.mask)
    on_b = alpha_b > 0
    err_bad = np.abs(warped_b[on_b].astype(int) - crop_b.image[on_b].astype(int)).mean()
    assert err_good < 12 < err_bad
    # the HUD strip is left transparent
    hud_tile = apply_homography(good.homography, np.array([[160.0, 5.0]]))
    hx, hy = crop.to_crop(hud_tile)[0].round().astype(int)
    assert alpha[hy, hx] == 0


def test_locate_pixel_matches_geo_and_flags_extrapolation(syn: Synthetic) -> None:
    cand = syn.result.candidates[0]
    fix = locate_pixel(cand, syn.tile_ref, 160, 120)
    lon, lat = keyframe_px_to_lonlat(cand.homography, syn.tile_ref.transform,
                                     syn.tile_ref.crs, np.array([[160, 120]]))[0]
    assert fix.lon == pytest.approx(lon) and fix.lat == pytest.approx(lat)
    # the one uncertainty model of workbench.position, at this pixel (not the centre's)
    unc = point_uncertainty_m(cand.homography, cand.keyframe_xy, cand.tile_xy, (160, 120),
                              syn.tile_ref.gsd_m)
    assert not fix.extrapolated and fix.uncertainty_m == pytest.approx(unc)
    assert fix.mgrs.startswith("36U")
    assert "N" in fix.dms and "E" in fix.dms
    assert f"uncertainty: {format_uncertainty(unc)}\n" in fix.as_text()
    corner = locate_pixel(cand, syn.tile_ref, 1, 1)
    assert corner.extrapolated and corner.uncertainty_m > fix.uncertainty_m


def test_bad_candidate_inputs_are_typed_errors(syn: Synthetic, tmp_path: Path) -> None:
    cand = syn.result.candidates[0]
    broken = type(cand)(**{**cand.__dict__, "homography": []})
    with pytest.raises(UsageError):
        locate_pixel(broken, syn.tile_ref, 1, 1)
    missing = type(syn.tile_ref)(**{**syn.tile_ref.__dict__, "path": str(tmp_path / "no.tif")})
    with pytest.raises(RasterOpenError, match=r"no\.tif"):
        satellite_crop(cand, missing, (KF_W, KF_H))


def test_landmarks_numbered_consecutively(syn: Synthetic) -> None:
    cand = syn.result.candidates[0]
    crop = satellite_crop(cand, syn.tile_ref, (KF_W, KF_H))
    marks = numbered_landmarks(cand, crop, limit=7)
    assert [m[0] for m in marks] == list(range(1, 8))
    ties = {tuple(p) for p in cand.keyframe_xy}
    assert all(tuple(m[1]) in ties for m in marks)
    # spread over the frame, not the first 7 of the list (which sit on one row)
    ys = [m[1][1] for m in marks]
    assert max(ys) - min(ys) > 100
    # the crop side is the same landmark mapped through the homography
    for _n, kxy, cxy in marks:
        txy = apply_homography(syn.homography, np.array([kxy]))
        np.testing.assert_allclose(crop.to_crop(txy)[0], cxy, atol=1e-6)
    assert len(numbered_landmarks(cand, crop, limit=100)) == len(cand.keyframe_xy)


def test_format_metres_never_says_zero() -> None:
    assert format_metres(0.26) == "0.3 m"
    assert format_metres(0.0) == "0.1 m"
    assert format_metres(42.4) == "42 m"
    assert format_metres(2500) == "2.5 km"
    assert format_uncertainty(6.04) == "±6.0 m" and format_uncertainty(0.0) == "not estimated"


# --- the widget --------------------------------------------------------------------


@pytest.fixture
def compare(qtbot, syn: Synthetic):  # type: ignore[no-untyped-def]
    from workbench_ui.compare import CompareWidget
    from workbench_ui.compare_data import prepare

    w = CompareWidget()
    qtbot.addWidget(w)
    w.resize(1000, 500)
    w.show()
    qtbot.waitExposed(w)
    w.apply(prepare(syn.result.candidates[0], syn.tile_ref, syn.keyframe, syn.mask))
    return w


def test_widget_numbers_same_landmarks_on_both_sides(compare, syn: Synthetic) -> None:  # type: ignore[no-untyped-def]
    n = len(syn.result.candidates[0].keyframe_xy)
    assert compare.left.marker_count() == n == compare.right.marker_count()
    assert "Candidate 1" in compare.title.text()
    compare.marks_box.setChecked(False)
    assert not any(m.isVisible() for m in compare.left._markers)


def test_click_on_keyframe_emits_pixel(compare, qtbot) -> None:  # type: ignore[no-untyped-def]
    from PyQt6.QtCore import Qt

    compare.left.fit()
    pos = compare.left.map_px_to_viewport(100, 80).toPoint()
    with qtbot.waitSignal(compare.pointPicked, timeout=1000) as sig:
        qtbot.mouseClick(compare.left.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    x, y = sig.args
    assert abs(x - 100) < 2 and abs(y - 80) < 2


def test_linked_views_follow_the_same_ground(compare, syn: Synthetic) -> None:  # type: ignore[no-untyped-def]
    compare.left.set_zoom(compare.left.zoom() * 3)
    compare.left.center_on_px(100, 150)
    kx, ky = compare.left.center_px()
    expect = compare.crop.to_crop(apply_homography(syn.homography, np.array([[kx, ky]])))[0]
    rx, ry = compare.right.center_px()
    assert abs(rx - expect[0]) < 3 and abs(ry - expect[1]) < 3
    compare.link_box.setChecked(False)
    compare.left.center_on_px(250, 60)
    assert compare.right.center_px() == pytest.approx((rx, ry), abs=0.5)


def test_overlay_opacity_and_swipe(compare) -> None:  # type: ignore[no-untyped-def]
    compare.set_mode(overlay=True)
    compare.opacity.setValue(25)
    compare.swipe.setValue(30)
    assert compare._warp_item.opacity() == pytest.approx(0.25)
    assert compare._warp_item.divider == pytest.approx(0.3)
    w = compare._warp_item.pixmap().width()
    assert compare._divider_line.line().x1() == pytest.approx(0.3 * w)


def test_point_drawn_on_both_sides(compare, syn: Synthetic) -> None:  # type: ignore[no-untyped-def]
    fix = locate_pixel(syn.result.candidates[0], syn.tile_ref, 160, 120)
    compare.set_point(fix)
    assert compare.left.point_shown() and compare.right.point_shown()
    compare.set_point(None)
    assert not compare.right.point_shown()
