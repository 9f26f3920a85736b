"""One pixel -> position function (workbench.position), checked against rendered footage's
ground truth, and the same answer through locate --target, the app and ``case point``."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from workbench.case.casefile import Case
from workbench.cli import main
from workbench.compare import locate_pixel
from workbench.errors import UsageError
from workbench.geo import format_uncertainty, haversine_m, keyframe_px_to_lonlat
from workbench.locate.pipeline import LocateConfig, locate
from workbench.position import outside_hull_ratio, pixel_position, point_uncertainty_m
from workbench.results import LocateResult

TARGET = (20.0, 20.0)  # near the corner, like the demo's check pixel
GRID = [(x, y) for y in (5, 60, 120, 180, 235) for x in (5, 80, 160, 240, 315)]


@pytest.fixture(scope="module")
def located(cut_clip: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """``locate --target 20,20`` on the rendered cut clip (truth known), 3 keyframes."""
    out = tmp_path_factory.mktemp("position") / "out"
    locate(cut_clip.video, [cut_clip.raster], out_dir=out, target_xy=TARGET,
           config=LocateConfig(max_keyframes=3))
    return cut_clip, out


def _result(out: Path) -> LocateResult:
    return LocateResult.from_json(json.loads((out / "locate.json").read_text(encoding="utf-8")))


def _errors(res: LocateResult, truth: Any, rank: int,
            keep: Callable[[np.ndarray], np.ndarray] | None = None
            ) -> np.ndarray:
    """``(len(GRID), 3)``: outside-hull ratio, stated radius (m), true error (m) of the grid
    pixels of candidate ``rank``, fitted on the tie points ``keep`` (all by default)."""
    c = next(c for c in res.candidates if c.rank == rank)
    tile = res.tile(c.tile)
    assert tile is not None
    frame = next(k.frame_index for k in res.keyframes if k.id == c.keyframe_id)
    kxy, txy = np.asarray(c.keyframe_xy), np.asarray(c.tile_xy)
    h = np.asarray(c.homography)
    if keep is not None:
        kxy, txy = kxy[keep(kxy)], txy[keep(kxy)]
        h = cv2.findHomography(kxy, txy, 0)[0]
    rows = []
    for xy in GRID:
        p = pixel_position(h, kxy, txy, tile.transform, tile.crs, tile.gsd_m, xy)
        true_lon, true_lat = truth.frame_px_to_lonlat(frame, np.array([xy], float))[0]
        rows.append((p.outside_hull, p.uncertainty_m,
                     haversine_m(p.lon, p.lat, float(true_lon), float(true_lat))))
    return np.array(rows)


def test_radius_covers_the_true_position_inside_and_outside_the_hull(located) -> None:
    clip, out = located
    res = _result(out)
    assert res.verdict == "located"
    # all tie points: nearly the whole frame is inside their hull
    a = _errors(res, clip.truth, 1)
    assert (a[:, 2] <= 2 * a[:, 1]).all(), a
    # only the tie points in the frame's middle: the corners are far outside their hull
    a = _errors(res, clip.truth, 1,
                lambda k: (abs(k[:, 0] - 160) < 70) & (abs(k[:, 1] - 120) < 55))
    inside, far = a[a[:, 0] == 0], a[a[:, 0] > 0.5]
    assert len(inside) and len(far) >= 4
    assert (a[:, 2] <= 2 * a[:, 1]).all(), a  # the truth lies within 2x the radius...
    assert far[:, 1].min() > 2 * inside[:, 1].max()  # ...because the radius grew outside
    # and the extrapolation really is worse there (the test is not vacuous)
    assert far[:, 2].max() > 2 * inside[:, 2].max()


def test_same_pixel_same_position_through_locate_app_and_case_point(
        located, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clip, out = located
    res = _result(out)
    c = res.candidates[1] if len(res.candidates) > 1 else res.candidates[0]
    assert c.target is not None
    tile = res.tile(c.tile)
    assert tile is not None
    # a candidate's own radius is the radius of its centre pixel's position
    kf = next(k for k in res.keyframes if k.id == c.keyframe_id)
    assert kf.image is not None
    hk, wk = cv2.imread(str(out / kf.image)).shape[:2]
    centre = locate_pixel(c, tile, (wk - 1) / 2, (hk - 1) / 2)
    assert haversine_m(centre.lon, centre.lat, c.lon, c.lat) < 0.01
    assert centre.uncertainty_m == pytest.approx(c.uncertainty_m, abs=0.01)
    # the app's function
    app = locate_pixel(c, tile, *TARGET)
    assert haversine_m(app.lon, app.lat, c.target["lon"], c.target["lat"]) < 0.01
    assert app.uncertainty_m == pytest.approx(c.target["uncertainty_m"], abs=0.01)
    # workbench case point (CLI): printed and stored in the point's audit entry
    path = tmp_path / "p.wbcase"
    Case.create(path, video_path=clip.video, tiles=[clip.raster], result=res,
                keyframes_dir=out).close()
    capsys.readouterr()
    assert main(["case", "point", str(path), str(c.rank), "20", "20", "--label", "impact"]) == 0
    line = capsys.readouterr().out
    m = re.search(r"'impact' at (-?[\d.]+), (-?[\d.]+), uncertainty (±[\d.]+ k?m)", line)
    assert m, line
    lat, lon = float(m[1]), float(m[2])
    assert haversine_m(lon, lat, c.target["lon"], c.target["lat"]) < 0.02  # 7 decimals
    assert m[3] == format_uncertainty(c.target["uncertainty_m"])
    with Case.open(path, readonly=True) as case:
        entry = [e for e in case.audit_log() if e.action == "point_of_interest"][-1]
        poi = case.points_of_interest()[-1]
    assert haversine_m(poi.lon, poi.lat, c.target["lon"], c.target["lat"]) < 0.01
    assert entry.details["uncertainty_m"] == pytest.approx(c.target["uncertainty_m"], abs=0.01)


def test_position_is_the_homography_and_grid_and_flags_extrapolation() -> None:
    h = np.array([[2.0, 0.1, 10.0], [0.05, 2.0, 20.0], [1e-5, 0.0, 1.0]])
    rng = np.random.default_rng(1)
    kxy = rng.uniform(100, 200, (30, 2))
    ph = np.hstack([kxy, np.ones((30, 1))]) @ h.T
    txy = ph[:, :2] / ph[:, 2:] + rng.normal(0, 0.5, (30, 2))
    transform, crs = (0.5, 0.0, 500_000.0, 0.0, -0.5, 100_000.0), "EPSG:32636"
    p = pixel_position(h, kxy, txy, transform, crs, 0.5, (150.0, 150.0))
    lon, lat = keyframe_px_to_lonlat(h, transform, crs, np.array([[150.0, 150.0]]))[0]
    assert (p.lon, p.lat) == pytest.approx((lon, lat))
    assert not p.extrapolated and p.outside_hull == 0
    assert p.uncertainty_m == pytest.approx(point_uncertainty_m(h, kxy, txy, (150, 150), 0.5))
    far = pixel_position(h, kxy, txy, transform, crs, 0.5, (400.0, 150.0))
    assert far.extrapolated and far.outside_hull == pytest.approx(
        outside_hull_ratio((400.0, 150.0), kxy))
    assert far.uncertainty_m > 3 * p.uncertainty_m
    assert "outside the matched area" in far.as_text() and far.mgrs.startswith("36")
    few = pixel_position(h, kxy[:3], txy[:3], transform, crs, 0.5, (150.0, 150.0))
    assert np.isnan(few.uncertainty_m) and format_uncertainty(few.uncertainty_m) == "not estimated"
    with pytest.raises(UsageError, match="homography"):
        pixel_position([], kxy, txy, transform, crs, 0.5, (1.0, 1.0))


def test_radius_by_parts_adds_the_imagery_in_quadrature() -> None:
    from workbench.position import TWO_SIGMA, Uncertainty, ce90_to_sigma_m, uncertainty

    u = Uncertainty(match_m=3.0, extrapolation_m=1.0)
    assert u.radius_m == pytest.approx(4.0) and u.imagery_m is None
    v = u.with_imagery(3.0, "analyst")
    assert v.radius_m == pytest.approx(5.0) and v.imagery_source == "analyst"
    assert v.radius_2sigma_m == pytest.approx(TWO_SIGMA * 5.0)
    assert u.with_imagery(float("nan")).imagery_m is None
    assert u.with_match_error(4.0).match_m == pytest.approx(5.0)
    doc = v.to_json()
    assert doc["components"] == {"match_m": 3.0, "extrapolation_m": 1.0, "imagery_m": 3.0}
    assert doc["radius_m"] == pytest.approx(5.0)
    # a CE90 of 2.146 sigma-per-axis is the circular normal's 90 % radius
    assert ce90_to_sigma_m(2.1460) == pytest.approx(1.5096, abs=1e-3)
    # the parts of a real fit: extrapolation only outside the hull, imagery as given
    h = np.diag([0.5, 0.5, 1.0])
    k = np.array([[x, y] for x in (50, 100, 150) for y in (50, 100, 150)], float)
    t = k * 0.5 + np.random.default_rng(0).normal(0, 0.3, k.shape)
    inside = uncertainty(h, k, t, (100, 100), 1.0, imagery_accuracy_m=2.0)
    outside = uncertainty(h, k, t, (400, 100), 1.0, imagery_accuracy_m=2.0)
    assert inside.extrapolation_m == 0 and outside.extrapolation_m > outside.match_m
    assert inside.imagery_m == outside.imagery_m == 2.0
    pos = pixel_position(h, k, t, (1.0, 0, 500000, 0, -1.0, 100000), "EPSG:32636", 1.0,
                         (100, 100), imagery_accuracy_m=2.0, imagery_source="analyst")
    assert pos.components is not None and pos.uncertainty_m == pytest.approx(
        pos.components.radius_m)
    target = pos.to_target()
    assert target["uncertainty_imagery_m"] == 2.0
    assert target["uncertainty_m"] == pytest.approx(math.hypot(
        target["uncertainty_match_m"] + target["uncertainty_extrapolation_m"], 2.0))
