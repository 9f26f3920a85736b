"""Time check: sun positions against published NOAA and NREL SPA values, the shadow's
azimuth through a homography and georeference (with grid convergence and the click
uncertainty derived by hand), and the times and dates a shadow fits."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import pytest
from pyproj import Geod, Transformer

from workbench.claim import ShadowError, check_time, measure_shadow, parse_time, sun_positions
from workbench.errors import UsageError
from workbench.results import Candidate, TileRef

GEOD = Geod(ellps="WGS84")
LATAMNEH = (36.6225, 35.32083)
SYRIA_TZ = timezone(timedelta(hours=3))  # EEST, in force on 30 Sept 2015


# NOAA Solar Calculator spreadsheet (NOAA_Solar_Calculations_day.xls), rows as published:
# (local time, UTC offset h, lat, lon, solar zenith (no refraction), solar azimuth)
NOAA_ROWS = [
    (datetime(2010, 6, 21, 0, 6), -6, 40.0, -105.0, 115.245718494866, 345.86910228316),
    (datetime(2023, 9, 21, 5, 33), -8, 37.4219444444444, -122.079583333333,
     95.2408647936783, 85.1264242410581),
]


@pytest.mark.parametrize(("local", "offset", "lat", "lon", "zenith", "azimuth"), NOAA_ROWS)
def test_sun_matches_noaa_spreadsheet(local: datetime, offset: int, lat: float, lon: float,
                                      zenith: float, azimuth: float) -> None:
    when = local.replace(tzinfo=timezone(timedelta(hours=offset)))
    az, _, geometric = sun_positions(lon, lat, [when])
    # NOAA's algorithm (Meeus, low order) and SPA agree to about 0.01 degree
    assert az[0] == pytest.approx(azimuth, abs=0.01)
    assert 90.0 - geometric[0] == pytest.approx(zenith, abs=0.01)


def test_sun_at_noaa_solar_noon_and_sunrise() -> None:
    """NOAA's spreadsheet for 40 N 105 W, 21 June 2010 (UTC-6): solar noon at day fraction
    0.542851602667169 (sun due south), sunrise at 0.230045084953299 (NOAA's sunrise is
    the geometric centre 0.833 degrees below the horizon)."""
    tz = timezone(timedelta(hours=-6))
    midnight = datetime(2010, 6, 21, tzinfo=tz)
    noon = midnight + timedelta(days=0.542851602667169)
    rise = midnight + timedelta(days=0.230045084953299)
    az, _, geometric = sun_positions(-105.0, 40.0, [noon, rise])
    # near the zenith (73 deg up) the azimuth swings ~0.02 deg per second of clock
    assert az[0] == pytest.approx(180.0, abs=0.2)
    assert geometric[1] == pytest.approx(-0.833, abs=0.03)


def test_sun_matches_the_spa_paper_example() -> None:
    """Reda & Andreas (2004), NREL/TP-560-34302, table A5.1: 17 Oct 2003 12:30:30 UTC-7,
    39.742476 N 105.1786 W: topocentric azimuth 194.34024 deg (zenith 50.11162 at 820 mbar,
    11 C, 1830 m; we compute at sea level in a standard atmosphere)."""
    when = datetime(2003, 10, 17, 12, 30, 30, tzinfo=timezone(timedelta(hours=-7)))
    az, apparent, _ = sun_positions(-105.1786, 39.742476, [when])
    assert az[0] == pytest.approx(194.34024, abs=0.001)
    assert 90.0 - apparent[0] == pytest.approx(50.11162, abs=0.05)


def test_time_needs_a_zone() -> None:
    assert parse_time("2015-09-30T09:10+03:00").utcoffset() == timedelta(hours=3)
    assert parse_time("2015-09-30T06:10Z") == datetime(2015, 9, 30, 6, 10, tzinfo=UTC)
    with pytest.raises(UsageError, match="has no zone"):
        parse_time("2015-09-30T09:10")
    with pytest.raises(UsageError, match="not ISO 8601"):
        parse_time("30/09/2015 9am")
    with pytest.raises(UsageError, match="without a zone"):
        sun_positions(*LATAMNEH, [datetime(2015, 9, 30, 9, 10)])


def test_time_check_finds_the_claimed_time_and_rejects_another() -> None:
    claimed = datetime(2015, 9, 30, 9, 10, tzinfo=SYRIA_TZ)
    [sun_az], _, _ = sun_positions(*LATAMNEH, [claimed])
    chk = check_time(*LATAMNEH, float(sun_az), 1.5, claimed_time=claimed)
    assert chk.consistent is True and chk.difference_deg == pytest.approx(0.0, abs=1e-6)
    assert chk.tolerance_deg == pytest.approx(3.0)
    assert any(w.start <= claimed <= w.end for w in chk.windows)
    assert len(chk.windows) == 1 and chk.windows[0].start.hour in (8, 9)
    assert any(d.start <= claimed.date() <= d.end for d in chk.dates)
    assert not any(d.start <= date(2015, 6, 21) <= d.end for d in chk.dates)
    assert "consistent with the shadow" in " ".join(chk.sentences())
    # the same shadow against an afternoon claim: the sun was in the west
    late = claimed.replace(hour=15)
    chk2 = check_time(*LATAMNEH, float(sun_az), 1.5, claimed_time=late)
    assert chk2.consistent is False and abs(chk2.difference_deg or 0) > 90
    assert "NOT consistent" in " ".join(chk2.sentences())
    # the window's edges sit where the sun is tolerance_deg away (checked directly)
    w = chk.windows[0]
    az_edges, _, _ = sun_positions(*LATAMNEH, [w.start, w.end])
    assert abs(az_edges[0] - sun_az) == pytest.approx(3.0, abs=0.35)
    assert abs(az_edges[1] - sun_az) == pytest.approx(3.0, abs=0.35)


def test_time_check_needs_a_zone_and_a_positive_sigma() -> None:
    with pytest.raises(UsageError, match="no zone"):
        check_time(*LATAMNEH, 120.0, 1.0, claimed_time=datetime(2015, 9, 30, 9))
    with pytest.raises(UsageError, match="positive"):
        check_time(*LATAMNEH, 120.0, 0.0, day=date(2015, 9, 30), tz=SYRIA_TZ)
    with pytest.raises(UsageError, match="date and its time zone"):
        check_time(*LATAMNEH, 120.0, 1.0, day=date(2015, 9, 30))


# --- the shadow through the homography ---------------------------------------------------

UTM37 = "EPSG:32637"  # central meridian 39 E: al-Latamneh is 2.4 deg west of it


def _scene(h: np.ndarray | None = None) -> tuple[Candidate, TileRef]:
    """A north-up 0.5 m UTM 37N tile around al-Latamneh; keyframe px -> tile px by ``h``
    (identity by default); 5 x 5 inliers spanning the keyframe's 0..1000 px."""
    x0, y0 = Transformer.from_crs(4326, UTM37, always_xy=True).transform(*LATAMNEH)
    transform = (0.5, 0.0, x0 - 250.0, 0.0, -0.5, y0 + 250.0)
    tile = TileRef("tile.tif", "0" * 64, UTM37, transform, 1000, 1000, 0.5, [])
    hm = np.eye(3) if h is None else h
    kxy = np.array([[x, y] for x in range(0, 1001, 250) for y in range(0, 1001, 250)], float)
    ph = np.c_[kxy, np.ones(len(kxy))] @ hm.T
    txy = ph[:, :2] / ph[:, 2:]
    cand = Candidate(1, LATAMNEH[1], LATAMNEH[0], 0.9, 2.0, "kf1", "tile.tif", len(kxy), [],
                     hm.tolist(), kxy.tolist(), txy.tolist())
    return cand, tile


def _true_azimuth(tile: TileRef, foot_tile: tuple[float, float],
                  tip_tile: tuple[float, float]) -> tuple[float, float]:
    """Independent: tile px centres -> UTM by the affine, -> lon/lat by pyproj, Geod."""
    a, _, c, _, e, f = tile.transform
    to_ll = Transformer.from_crs(UTM37, 4326, always_xy=True)
    (lon1, lon2), (lat1, lat2) = to_ll.transform(
        [a * (foot_tile[0] + 0.5) + c, a * (tip_tile[0] + 0.5) + c],
        [e * (foot_tile[1] + 0.5) + f, e * (tip_tile[1] + 0.5) + f])
    az, _, dist = GEOD.inv(lon1, lat1, lon2, lat2)
    return az % 360.0, dist


def test_shadow_azimuth_includes_grid_convergence() -> None:
    cand, tile = _scene()
    # shadow straight "up" the north-up tile: grid north, which is not true north here
    m = measure_shadow(cand, tile, (200, 300), (200, 200))
    expect, length = _true_azimuth(tile, (200, 300), (200, 200))
    assert m.shadow_azimuth_deg == pytest.approx(expect, abs=1e-6)
    assert m.length_m == pytest.approx(length, abs=1e-3) and length == pytest.approx(50, 0.01)
    # grid convergence (lon - 39) * sin(lat) ~ -1.38 deg: true azimuth of grid north ~358.6
    assert m.shadow_azimuth_deg == pytest.approx(360 - 2.3775 * math.sin(math.radians(35.32)),
                                                 abs=0.02)
    assert m.sun_azimuth_deg == pytest.approx((expect + 180) % 360, abs=1e-6)


def test_shadow_through_a_rotating_homography() -> None:
    th = math.radians(30)
    h = np.array([[math.cos(th), -math.sin(th), 300.0], [math.sin(th), math.cos(th), 100.0],
                  [0.0, 0.0, 1.0]])
    cand, tile = _scene(h)
    foot, tip = (150.0, 250.0), (250.0, 200.0)
    ft = h @ np.array([*foot, 1.0])
    tt = h @ np.array([*tip, 1.0])
    expect, _ = _true_azimuth(tile, (ft[0], ft[1]), (tt[0], tt[1]))
    m = measure_shadow(cand, tile, foot, tip)
    assert m.shadow_azimuth_deg == pytest.approx(expect, abs=1e-6)


def test_shadow_uncertainty_from_the_clicks() -> None:
    """An exact homography: only the clicks count.  Each end moved 1.5 px across a 100 px
    (50 m) shadow turns it by atan(1.5/100); two independent ends: x sqrt(2)."""
    cand, tile = _scene()
    m = measure_shadow(cand, tile, (200, 300), (200, 200), click_px=1.5)
    assert m.sigma_fit_deg == pytest.approx(0.0, abs=1e-6)
    assert m.sigma_click_deg == pytest.approx(math.degrees(math.sqrt(2) * 1.5 / 100), rel=0.01)
    longer = measure_shadow(cand, tile, (200, 400), (200, 0), click_px=1.5)
    assert longer.sigma_deg == pytest.approx(m.sigma_deg / 4, rel=0.01)


def test_shadow_uncertainty_grows_with_the_fit_residual() -> None:
    cand, tile = _scene()
    noisy = np.array(cand.tile_xy) + np.random.default_rng(1).normal(0, 2.0, (25, 2))
    cand.tile_xy = noisy.tolist()
    m = measure_shadow(cand, tile, (200, 300), (200, 200))
    rms_m = float(np.sqrt(np.mean(np.sum((noisy - np.array(cand.keyframe_xy)) ** 2, 1)))) * 0.5
    assert m.sigma_fit_deg == pytest.approx(math.degrees(math.atan2(math.sqrt(2) * rms_m, 50)),
                                            rel=0.01)
    assert m.sigma_deg == pytest.approx(math.hypot(m.sigma_fit_deg, m.sigma_click_deg))


@pytest.mark.parametrize(("foot", "tip", "message"), [
    ((200, 300), (200, 1050), "tip .* outside the matched area of keyframe kf1"),
    ((-5, 300), (200, 200), "foot .* outside the matched area"),
    ((200, 300), (201, 301), "less than 4 px apart"),
    ((float("nan"), 300), (200, 200), "finite"),
])
def test_bad_shadows_are_refused(foot: tuple[float, float], tip: tuple[float, float],
                                 message: str) -> None:
    cand, tile = _scene()
    with pytest.raises(ShadowError, match=message):
        measure_shadow(cand, tile, foot, tip)


def test_shadow_needs_a_homography_and_a_matched_area() -> None:
    cand, tile = _scene()
    cand.homography = []
    with pytest.raises(ShadowError, match="no homography"):
        measure_shadow(cand, tile, (200, 300), (200, 200))
    cand, tile = _scene()
    cand.keyframe_xy = []
    with pytest.raises(ShadowError, match="no matched area"):
        measure_shadow(cand, tile, (200, 300), (200, 200))


def test_shadow_to_time_end_to_end() -> None:
    """A shadow drawn where the sun's shadow fell at 09:10 (UTC+3) on 30 Sept 2015 fits
    that time and not 15:00."""
    claimed = datetime(2015, 9, 30, 9, 10, tzinfo=SYRIA_TZ)
    [sun_az], _, _ = sun_positions(*LATAMNEH, [claimed])
    cand, tile = _scene()
    # draw the shadow in tile px along the true direction (sun + 180), 60 m long
    shadow_az = (float(sun_az) + 180.0) % 360.0
    lon2, lat2, _ = GEOD.fwd(*LATAMNEH, shadow_az, 60.0)
    to_utm = Transformer.from_crs(4326, UTM37, always_xy=True)
    a, _, c, _, e, f = tile.transform
    (x1, x2), (y1, y2) = to_utm.transform([LATAMNEH[0], lon2], [LATAMNEH[1], lat2])
    foot = ((x1 - c) / a - 0.5, (y1 - f) / e - 0.5)
    tip = ((x2 - c) / a - 0.5, (y2 - f) / e - 0.5)
    m = measure_shadow(cand, tile, foot, tip)
    assert m.sun_azimuth_deg == pytest.approx(float(sun_az), abs=0.01)
    ok = check_time(*LATAMNEH, m.sun_azimuth_deg, m.sigma_deg, claimed_time=claimed)
    assert ok.consistent is True
    bad = check_time(*LATAMNEH, m.sun_azimuth_deg, m.sigma_deg,
                     claimed_time=claimed.replace(hour=15))
    assert bad.consistent is False
