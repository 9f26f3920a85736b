"""Tile catalog on every real raster in ../shared/data/imagery (skips when absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workbench.imagery import Tile, TileCatalog, iter_windows, read_tile

pytestmark = pytest.mark.shared_data

# From ../shared/data/PROVENANCE.md: CRS, width, height, bands, dtype, nominal m/px along
# columns, and lon/lat bounds (W, S, E, N).
EXPECTED: dict[str, tuple[str, int, int, int, str, float, tuple[float, float, float, float]]] = {
    "bali_pix4d/pix4d_alpha_nodata.tif": (
        "EPSG:32750", 686, 758, 4, "uint8", 0.353, (115.1597, -8.5862, 115.1619, -8.5838)),
    "colorado_usgs/201404_13SED190110_201404_0x1500m_CL_1.tif": (
        "EPSG:26913", 383, 232, 3, "uint8", 0.15, (-104.7753, 38.9534, -104.7747, 38.9538)),
    "kampala_oam/oam_z19_part0.tif": (
        "EPSG:3857", 768, 512, 4, "uint8", 0.299, (32.5937, 0.3502, 32.5957, 0.3516)),
    "kampala_oam/oam_z20_part0.tif": (
        "EPSG:3857", 1536, 1024, 4, "uint8", 0.149, (32.5937, 0.3502, 32.5957, 0.3516)),
    "kampala_oam/oam_z21_part0.tif": (
        "EPSG:3857", 3072, 2048, 4, "uint8", 0.0746, (32.5937, 0.3502, 32.5957, 0.3516)),
    "naip_nd_timeseries/m_4709963_se_14_1_20090818.tif": (
        "EPSG:26914", 934, 724, 4, "uint8", 5.0, (-99.1856, 47.0040, -99.1240, 47.0367)),
    "naip_nd_timeseries/m_4709963_se_14_1_20120731.tif": (
        "EPSG:26914", 934, 723, 4, "uint8", 5.0, (-99.1856, 47.0040, -99.1240, 47.0367)),
    "naip_nd_timeseries/m_4709963_se_14_1_20160816.tif": (
        "EPSG:26914", 934, 723, 4, "uint8", 5.0, (-99.1856, 47.0041, -99.1240, 47.0367)),
    "naip_nd_timeseries/m_4709963_se_14_1_20200831.tif": (
        "EPSG:26914", 934, 723, 4, "uint8", 5.0, (-99.1856, 47.0041, -99.1241, 47.0367)),
    "sentinel2_virginia/s2_rgb_B04B03B02_10m.tif": (
        "EPSG:32618", 1933, 1947, 3, "uint16", 10.0, (-75.7297, 37.5847, -75.5090, 37.7614)),
    "vegas_spacenet/RGB-PanSharpen_AOI_2_Vegas_img0.tif": (
        "EPSG:4326", 1300, 1300, 4, "uint8", 0.24, (-115.1706, 36.2371, -115.1671, 36.2406)),
}


@pytest.fixture(scope="module")
def catalog(shared_data: Path) -> TileCatalog:
    return TileCatalog.from_paths([shared_data / "imagery"])


@pytest.fixture(scope="module")
def by_name(catalog: TileCatalog, shared_data: Path) -> dict[str, Tile]:
    root = shared_data / "imagery"
    return {t.path.relative_to(root).as_posix(): t for t in catalog.tiles}


def test_every_real_raster_is_catalogued(catalog: TileCatalog, by_name: dict[str, Tile]) -> None:
    assert not catalog.warnings
    assert set(EXPECTED) <= set(by_name)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_raster_metadata(by_name: dict[str, Tile], name: str) -> None:
    crs, w, h, count, dtype, gsd_x, bounds = EXPECTED[name]
    t = by_name[name]
    assert (t.crs_name, t.width, t.height, t.count, t.dtype) == (crs, w, h, count, dtype)
    assert t.gsd_xy_m[0] == pytest.approx(gsd_x, rel=0.03)
    assert np.allclose(t.bounds_lonlat, bounds, atol=2e-4)


def test_real_alpha_nodata_and_dates(by_name: dict[str, Tile]) -> None:
    assert by_name["bali_pix4d/pix4d_alpha_nodata.tif"].has_alpha
    assert by_name["vegas_spacenet/RGB-PanSharpen_AOI_2_Vegas_img0.tif"].has_alpha
    naip = by_name["naip_nd_timeseries/m_4709963_se_14_1_20160816.tif"]
    assert naip.nodata == 0.0 and not naip.has_alpha
    assert naip.acquired == "2016-08-16" and naip.acquired_source == "filename"
    # the geographic Vegas chip: 0.24 m along columns but 0.30 m along rows at 36 N
    vegas = by_name["vegas_spacenet/RGB-PanSharpen_AOI_2_Vegas_img0.tif"]
    assert vegas.gsd_xy_m[1] == pytest.approx(0.30, rel=0.03)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_raster_reads_at_2m(by_name: dict[str, Tile], name: str) -> None:
    t = by_name[name]
    img = read_tile(t, gsd_m=max(2.0, t.gsd_m), max_pixels=2_000_000)
    h, w = img.valid.shape
    assert img.image.shape == (h, w, 3) and img.image.dtype == np.uint8
    assert img.valid.mean() > 0.5
    assert img.image[img.valid].std() > 5  # real texture, not a blank or saturated read
    assert img.scale == pytest.approx(max(2.0, t.gsd_m) / t.gsd_m, rel=1e-6) or h * w <= 2_000_000


def test_kampala_unflagged_alpha_is_detected(by_name: dict[str, Tile]) -> None:
    t = by_name["kampala_oam/oam_z19_part0.tif"]
    img = read_tile(t)
    assert 0.99 < img.valid.mean() < 1.0  # about 0.3 % transparent from the stitched web tiles


def test_kampala_zoom_levels_agree(by_name: dict[str, Tile]) -> None:
    """The same ground at 7.5 / 15 / 30 cm reads the same at a common 0.6 m."""
    imgs = [
        read_tile(by_name[f"kampala_oam/oam_z{z}_part0.tif"], gsd_m=0.6).image.astype(float)
        for z in (19, 20, 21)
    ]
    h = min(i.shape[0] for i in imgs)
    w = min(i.shape[1] for i in imgs)
    a, b, c = (i[2 : h - 2, 2 : w - 2] for i in imgs)
    assert np.corrcoef(a.ravel(), c.ravel())[0, 1] > 0.9
    assert np.corrcoef(b.ravel(), c.ravel())[0, 1] > 0.9


def test_sentinel2_uint16_windows_sweep(by_name: dict[str, Tile]) -> None:
    t = by_name["sentinel2_virginia/s2_rgb_B04B03B02_10m.tif"]
    wins = list(iter_windows(t, gsd_m=40.0, window_px=256, overlap=0.25))
    # 1024 level-0 px windows, step <= 768: starts 0, 454/455, 909 on each axis
    assert len(wins) == 9
    starts = sorted({c for (c, _, _, _), _ in wins})
    assert starts[0] == 0 and starts[-1] == pytest.approx(t.width - 256 * wins[0][1].scale, abs=1)
    for (c, r, _, _), img in wins:
        assert img.image.shape[0] <= 256 and img.valid.mean() > 0.9
        assert 40 < img.image.mean() < 220
        assert (c, r) == (img.col_off, img.row_off)


def test_kampala_zoom_levels_share_one_pixel_grid(by_name: dict[str, Tile]) -> None:
    """Web-map zoom levels nest exactly: z21 px = (z19 px + 0.5) * 4 - 0.5 at any ground point."""
    z19 = by_name["kampala_oam/oam_z19_part0.tif"]
    z21 = by_name["kampala_oam/oam_z21_part0.tif"]
    px19 = np.array([[10.0, 20.0], [383.5, 255.5], [700.25, 500.75]])
    ll = z19.px_to_lonlat(px19)
    assert np.allclose(z21.lonlat_to_px(ll), (px19 + 0.5) * 4 - 0.5, atol=1e-3)
    assert z19.gsd_m / z21.gsd_m == pytest.approx(4.0, rel=1e-6)
