"""Tile catalog on generated edge cases: formats, CRSs, masks, dtypes, bad input, reads."""

from __future__ import annotations

import logging
import math
import threading
from pathlib import Path

import numpy as np
import pytest
from pyproj import Geod
from workbench_fixtures.rasters import make_edge_rasters

from workbench import geo
from workbench.errors import (
    Cancelled,
    CRSError,
    NotGeoreferencedError,
    NoUsableTilesError,
    RasterOpenError,
    UsageError,
)
from workbench.imagery import contain, meta
from workbench.imagery.catalog import (
    Tile,
    TileCatalog,
    catalog_file,
    iter_windows,
    read_tile,
    tile_files,
)
from workbench.imagery.read import clear_cache
from workbench.results import TileRef

GOOD = (
    "utm", "geographic", "webmerc", "rotated", "custom_wkt", "nodata", "alpha",
    "alpha_unflagged", "rgbnir", "uint16", "float", "palette", "overviews", "vrt",
    "png_world_prj", "png_world_aux", "jpeg_world_prj", "sidecar",
)
BAD = {
    "png_world_only": NotGeoreferencedError,
    "plain_png": NotGeoreferencedError,
    "gcps_only": NotGeoreferencedError,
    "rpcs_only": NotGeoreferencedError,
    "local_crs": CRSError,
    "truncated_header": RasterOpenError,
    "truncated_data": RasterOpenError,
    "text_tif": RasterOpenError,
    "vrt_missing_source": RasterOpenError,
    "gpkg_two_tables": RasterOpenError,
    "off_earth": CRSError,
}


@pytest.fixture(scope="session")
def edge(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_edge_rasters(tmp_path_factory.mktemp("edge_rasters"))


@pytest.fixture(scope="session")
def tiles(edge: dict[str, Path]) -> dict[str, Tile]:
    return {name: catalog_file(edge[name]) for name in GOOD}


# --- catalogue -----------------------------------------------------------------------


@pytest.mark.parametrize("name", GOOD)
def test_good_rasters_catalogue(tiles: dict[str, Tile], name: str) -> None:
    t = tiles[name]
    assert t.width > 0 and t.height > 0
    assert t.footprint[0] == t.footprint[-1] and len(t.footprint) >= 5
    w, s, e, n = t.bounds_lonlat
    assert w < e and s < n
    assert 0.3 < t.gsd_m < 2.0


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_rasters_raise_typed_errors_naming_the_file(
    edge: dict[str, Path], name: str
) -> None:
    if name not in edge:
        pytest.skip(f"{name}: this GDAL build cannot write it")
    with pytest.raises(BAD[name]) as info:
        catalog_file(edge[name])
    text = str(info.value)
    assert str(edge[name]) in text and "\n" not in text


def test_utm_metadata_date_and_copyright(tiles: dict[str, Tile]) -> None:
    t = tiles["utm"]
    assert t.crs_name == "EPSG:32633" and t.driver == "GTiff" and t.count == 3
    assert t.acquired == "2021-05-06T07:08:09" and t.acquired_source == "tag:TIFFTAG_DATETIME"
    assert t.attribution == "(c) Test Sat"
    assert t.gsd_m == pytest.approx(0.5, rel=2e-3)  # UTM scale factor near the central meridian


def test_sidecar_json_and_vrt_metadata(tiles: dict[str, Tile]) -> None:
    t = tiles["sidecar"]
    assert t.acquired == "2019-03-04T10:11:12Z"
    assert t.attribution == "Example Drone Co"
    assert t.attribution_source is not None and "oam_like_meta.json" in t.attribution_source
    assert tiles["vrt"].driver == "VRT" and tiles["vrt"].acquired == "2021-05-06T07:08:09"


def _deg_lengths(lat: float) -> tuple[float, float]:
    """Metres per degree of longitude and latitude on WGS84 (closed form)."""
    a, f = 6378137.0, 1 / 298.257223563
    e2 = f * (2 - f)
    s2 = math.sin(math.radians(lat)) ** 2
    lon_m = math.pi / 180 * a * math.cos(math.radians(lat)) / math.sqrt(1 - e2 * s2)
    lat_m = math.pi / 180 * a * (1 - e2) / (1 - e2 * s2) ** 1.5
    return lon_m, lat_m


def test_gsd_geographic_is_geodesic(tiles: dict[str, Tile]) -> None:
    t = tiles["geographic"]  # 1e-5 degree pixels at ~45 N
    lat = t.px_to_lonlat([[t.width / 2 - 0.5, t.height / 2 - 0.5]])[0, 1]
    lon_m, lat_m = _deg_lengths(lat)
    assert t.gsd_xy_m[0] == pytest.approx(1e-5 * lon_m, rel=1e-4)
    assert t.gsd_xy_m[1] == pytest.approx(1e-5 * lat_m, rel=1e-4)
    assert t.gsd_m == pytest.approx((t.gsd_xy_m[0] + t.gsd_xy_m[1]) / 2)


def test_gsd_web_mercator_shrinks_with_latitude(tiles: dict[str, Tile]) -> None:
    t = tiles["webmerc"]  # 1 m Web Mercator pixels at 60 N: about 0.5 m on the ground
    assert t.gsd_m == pytest.approx(0.5, rel=5e-3)
    assert t.bounds_lonlat[3] == pytest.approx(60.0, abs=1e-4)


def test_rotated_footprint_follows_the_affine(tiles: dict[str, Tile]) -> None:
    t = tiles["rotated"]
    corners = [(0, 0), (t.width, 0), (t.width, t.height), (0, t.height)]
    a = t.transform
    expected = [(a.a * c + a.b * r + a.c, a.d * c + a.e * r + a.f) for c, r in corners]
    ring = np.array(t.footprint)
    for (x, y), k in zip(expected, (0, 16, 32, 48), strict=True):  # 16 points per edge
        assert ring[k] == pytest.approx([x, y], abs=1e-9)
    # a rotated raster's bounds are wider than the unrotated extent
    w, _, e, _ = t.bounds_lonlat
    assert (e - w) > t.width * 1e-5 * math.cos(math.radians(30)) + 1e-9
    # the per-pixel step is still 1e-5 degree along columns, whatever the direction
    g = Geod(ellps="WGS84")
    cx, cy = t.width / 2 - 0.5, t.height / 2 - 0.5
    p = t.px_to_lonlat([[cx, cy], [cx + 1.0, cy]])
    assert t.gsd_xy_m[0] == pytest.approx(g.inv(p[0, 0], p[0, 1], p[1, 0], p[1, 1])[2], rel=1e-6)


def test_custom_wkt_crs(tiles: dict[str, Tile]) -> None:
    t = tiles["custom_wkt"]
    assert t.crs_name == "custom"
    lon, lat = t.px_to_lonlat([[0, 0]])[0]
    assert lon == pytest.approx(31.5, abs=0.01)  # 0 m east of the false easting
    assert 31 < lat < 32


def test_world_file_png_with_prj_and_aux_matches_geotiff(tiles: dict[str, Tile]) -> None:
    ref = tiles["utm"].transform
    for name in ("png_world_prj", "png_world_aux", "jpeg_world_prj"):
        t = tiles[name]
        assert t.driver in ("PNG", "JPEG")
        assert tuple(t.transform)[:6] == pytest.approx(tuple(ref)[:6])
        assert np.allclose(t.footprint, tiles["utm"].footprint, atol=1e-9)


def test_alpha_flags(tiles: dict[str, Tile]) -> None:
    assert tiles["alpha"].has_alpha and not tiles["rgbnir"].has_alpha
    assert tiles["nodata"].nodata == 0.0 and tiles["nodata"].count == 1


def test_px_lonlat_round_trip_and_geo_agreement(tiles: dict[str, Tile]) -> None:
    for name in ("utm", "rotated", "webmerc", "custom_wkt"):
        t = tiles[name]
        xy = np.array([[0.0, 0.0], [10.5, 20.25], [t.width - 1.0, t.height - 1.0]])
        ll = t.px_to_lonlat(xy)
        assert np.allclose(t.lonlat_to_px(ll), xy, atol=1e-6)
        ref = geo.tile_px_to_lonlat(tuple(t.transform)[:6], t.crs_wkt, xy)
        assert np.allclose(ll, ref, atol=1e-12)
        assert t.contains_lonlat(*ll[1]) and not t.contains_lonlat(ll[1][0] + 1.0, ll[1][1])


def test_window_around_and_intersecting(tiles: dict[str, Tile], edge: dict[str, Path]) -> None:
    t = tiles["utm"]  # 0.5 m pixels
    lon, lat = t.px_to_lonlat([[100.0, 75.0]])[0]
    win = t.window_around(lon, lat, 10.0)
    assert win is not None
    assert np.allclose(win, (100.5 - 20, 75.5 - 20, 40, 40), atol=0.05)
    img = read_tile(t, window=win)
    assert img.image.shape[:2] == (40, 40) and img.valid.all()
    assert abs(int(img.image[20, 20, 2]) - 100) <= 1  # red = column at the centre
    assert t.window_around(lon, lat, -1.0) is None
    cat = TileCatalog.from_paths([edge["utm"], edge["geographic"]])
    w, s, e, n = t.bounds_lonlat
    assert [x.path for x in cat.intersecting(w, s, e, n)] == [edge["utm"]]
    assert cat.intersecting(0.0, 0.0, 1.0, 1.0) == []
    assert [x.path for x in cat.covering(lon, lat)] == [edge["utm"]]


def test_to_ref(tiles: dict[str, Tile]) -> None:
    t = tiles["utm"]
    ref = t.to_ref("ab" * 32)
    assert isinstance(ref, TileRef) and ref.sha256 == "ab" * 32
    assert ref.transform == (t.transform.a, t.transform.b, t.transform.c,
                             t.transform.d, t.transform.e, t.transform.f)
    assert ref.width == 200 and ref.footprint == t.footprint and ref.acquired == t.acquired


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2019:07:14 10:00:00", "2019-07-14T10:00:00"),
        ("2020-07-01T09:30:00.123Z", "2020-07-01T09:30:00Z"),
        ("2020/07/01 09:30+0200", "2020-07-01T09:30:00+0200"),
        ("20160816", "2016-08-16"),
        ("2016-02-30", "2016-02-30"),  # impossible date: kept verbatim, not invented
        ("summer 2015\x00", "summer 2015"),
        ("", None),
    ],
)
def test_normalise_date(raw: str, iso: str | None) -> None:
    assert meta.normalise_date(raw) == iso


def test_imagery_domain_and_html_attribution(tmp_path: Path, edge: dict[str, Path]) -> None:
    import rasterio

    p = tmp_path / "wv.tif"
    p.write_bytes(edge["utm"].read_bytes())
    with rasterio.open(p, "r+") as ds:
        ds.update_tags(ns="IMAGERY", ACQUISITIONDATETIME="2020-07-01T09:30:00Z")
        ds.update_tags(ATTRIBUTION='<a href="https://x.example">&copy; Example Imaging</a>')
    t = catalog_file(p)
    assert t.acquired == "2020-07-01T09:30:00Z"
    assert t.acquired_source == "imagery:ACQUISITIONDATETIME"
    assert t.attribution == "© Example Imaging"


# --- TileCatalog.from_paths ----------------------------------------------------------


def test_from_paths_folder_recursive_sorted_with_warnings(
    edge: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    root = edge["utm"].parent.parent
    with caplog.at_level(logging.WARNING, logger="workbench.imagery"):
        cat = TileCatalog.from_paths([root])
    paths = [t.path for t in cat.tiles]
    assert paths == sorted(paths, key=str)
    names = {p.name for p in paths}
    assert {"utm.tif", "utm.vrt", "world_prj.png"} <= names
    assert "oam_like_meta.json" not in names and "world_aux.png.aux.xml" not in names
    # offline by default: the XYZ description is refused (said once), not catalogued
    assert "offline_xyz.xml" not in names
    assert sum("offline_xyz.xml" in w and "--allow-network" in w for w in cat.warnings) == 1
    bad_names = {edge[n].name for n in BAD if n in edge}
    assert not names & bad_names
    made = [n for n in BAD if n in edge]
    for n in made:  # every bad file is named once in the warnings and the log
        assert sum(str(edge[n]) in w for w in cat.warnings) == 1
        assert str(edge[n]) in caplog.text
    assert len(cat.warnings) == len(made) + 1


def test_from_paths_dedupes_and_keeps_argument_order(edge: dict[str, Path]) -> None:
    cat = TileCatalog.from_paths([edge["vrt"], edge["utm"], edge["utm"].parent, str(edge["vrt"])])
    assert cat.tiles[0].path == edge["vrt"] and cat.tiles[1].path == edge["utm"]
    resolved = [t.path.resolve() for t in cat.tiles]
    assert len(resolved) == len(set(resolved))


def test_from_paths_errors(edge: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        TileCatalog.from_paths([])
    missing = tmp_path / "nope.tif"
    with pytest.raises(RasterOpenError, match=r"nope\.tif"):
        TileCatalog.from_paths([missing])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NoUsableTilesError, match="no raster files found") as info:
        TileCatalog.from_paths([empty])
    assert str(empty) in str(info.value)
    with pytest.raises(NoUsableTilesError) as info2:
        TileCatalog.from_paths([edge["text_tif"]])
    assert "text.tif" in str(info2.value) and "not a raster" in str(info2.value)
    with pytest.raises(NoUsableTilesError):
        TileCatalog.from_paths([edge["plain_png"].parent])  # only bad files there


def test_from_paths_progress_and_cancel(edge: dict[str, Path]) -> None:
    seen: list[float] = []
    TileCatalog.from_paths([edge["utm"].parent], progress=lambda s, f: seen.append(f))
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        TileCatalog.from_paths([edge["utm"].parent], cancel=ev)


def test_gpkg_and_mbtiles(edge: dict[str, Path]) -> None:
    if "gpkg" not in edge and "mbtiles" not in edge:
        pytest.skip("this GDAL build writes neither GeoPackage nor MBTiles rasters")
    for name in ("gpkg", "mbtiles"):
        if name not in edge:
            continue
        t = catalog_file(edge[name])
        assert t.crs_name == "EPSG:3857"
        assert t.bounds_lonlat[0] == pytest.approx(32.5937, abs=1e-3)
        img = read_tile(t, window=(0, 0, 100, 100))
        # pattern: red = column, green = row (BGR output); tiles may be shifted a pixel
        assert abs(int(img.image[50, 60, 2]) - 60) <= 2 and abs(int(img.image[50, 60, 1]) - 50) <= 2
    if "mbtiles" in edge:
        assert catalog_file(edge["mbtiles"]).attribution == "MBTiles Test Co"


def test_wms_offline_catalogues_then_read_fails_cleanly(edge: dict[str, Path]) -> None:
    with pytest.raises(RasterOpenError, match="--allow-network"):
        catalog_file(edge["wms_offline"])  # refused unless the network is allowed
    contain.set_containment(allow_network=True)
    try:
        t = catalog_file(edge["wms_offline"])
        assert t.driver == "WMS" and t.width > 10**7 and len(t.overviews) > 5
        with pytest.raises(RasterOpenError) as info:
            read_tile(t, window=(t.width // 2, t.height // 2, 256, 256))
        assert "offline_xyz.xml" in str(info.value) and "\n" not in str(info.value)
    finally:
        contain.set_containment()


def test_cataloguing_reads_no_pixels(tmp_path: Path, edge: dict[str, Path]) -> None:
    """A TIFF whose compressed blocks are garbage still catalogues; the read then fails."""
    import rasterio

    src = tmp_path / "deflate.tif"
    with rasterio.open(edge["utm"]) as ds:
        prof = ds.profile | {"compress": "deflate", "tiled": True, "blockxsize": 64,
                             "blockysize": 64}
        data = ds.read()
    with rasterio.open(src, "w", **prof) as dst:
        dst.write(data)
    with rasterio.open(src) as ds:
        off = int(ds.get_tag_item("BLOCK_OFFSET_1_1", "TIFF", bidx=1))
        size = int(ds.get_tag_item("BLOCK_SIZE_1_1", "TIFF", bidx=1))
    raw = bytearray(src.read_bytes())
    raw[off : off + size] = b"\xff" * size
    src.write_bytes(bytes(raw))
    t = catalog_file(src)
    with pytest.raises(RasterOpenError, match=r"deflate\.tif"):
        read_tile(t)


def test_sha256_tile_and_tile_files(edge: dict[str, Path], tiles: dict[str, Tile]) -> None:
    import hashlib

    p = edge["png_world_prj"]
    from workbench.hashing import sha256_file

    assert sha256_file(p)[0] == hashlib.sha256(p.read_bytes()).hexdigest()
    assert sha256_file(tiles["png_world_prj"].path, chunk_size=1000) == (
        hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_size)
    names = {f.name for f in tile_files(tiles["png_world_prj"])}
    assert {"world_prj.png", "world_prj.pgw", "world_prj.prj"} <= names
    assert "oam_like_meta.json" in {f.name for f in tile_files(tiles["sidecar"])}
    with pytest.raises(RasterOpenError, match=r"missing\.png"):
        sha256_file(p.with_name("missing.png"), error=RasterOpenError)


# --- read_tile -------------------------------------------------------------------------


def test_read_full_native_is_exact(tiles: dict[str, Tile]) -> None:
    img = read_tile(tiles["utm"])
    assert img.image.shape == (150, 200, 3) and img.image.dtype == np.uint8
    assert img.scale == 1.0 and img.valid.all()
    cols = np.arange(200)
    assert (img.image[7, :, 2] == cols % 256).all()  # red (BGR index 2) = column
    assert (img.image[:, 9, 1] == np.arange(150)).all()  # green = row


def test_window_and_scale_mapping_formula(tiles: dict[str, Tile]) -> None:
    t = tiles["utm"]
    img = read_tile(t, window=(10, 20, 100, 60), gsd_m=2 * t.gsd_m)
    assert img.scale == pytest.approx(2.0) and img.image.shape == (30, 50, 3)
    assert (img.col_off, img.row_off) == (10, 20)
    u = np.arange(50)
    # level0 = (out + 0.5) * scale - 0.5 + offset; red = column so average = level-0 x
    expected_x = (u + 0.5) * img.scale - 0.5 + img.col_off
    assert np.abs(img.image[3, :, 2].astype(float) - expected_x).max() <= 0.5
    v = np.arange(30)
    expected_y = (v + 0.5) * img.scale - 0.5 + img.row_off
    assert np.abs(img.image[:, 4, 1].astype(float) - expected_y).max() <= 0.5
    pts = np.array([[0.0, 0.0], [12.0, 7.5]])
    assert np.allclose(img.to_level0(pts), [[10.5, 20.5], [34.5, 35.5]])
    assert np.allclose(img.from_level0(img.to_level0(pts)), pts)


def test_square_pixels_on_a_geographic_raster(tiles: dict[str, Tile]) -> None:
    t = tiles["geographic"]  # 1e-5 degree pixels at 45 N: ~0.79 m x 1.11 m on the ground
    gx, gy = t.gsd_xy_m
    img = read_tile(t, gsd_m=1.0, square_pixels=True)
    assert img.scale == pytest.approx(1.0 / gx) and img.scale_y == pytest.approx(1.0 / gy)
    assert img.image.shape[:2] == (math.ceil(150 * gy), math.ceil(200 * gx))
    # red = column, green = row: check the two-axis mapping on the pattern
    pts = np.array([[30.0, 40.0], [100.0, 90.0]])
    lvl = img.to_level0(pts)
    assert np.allclose(lvl[:, 0], (pts[:, 0] + 0.5) * img.scale - 0.5)
    assert np.allclose(lvl[:, 1], (pts[:, 1] + 0.5) * img.scale_y - 0.5)
    for (u, v), (x, y) in zip(pts.astype(int), lvl, strict=True):
        assert abs(int(img.image[v, u, 2]) - x) <= 1.0 and abs(int(img.image[v, u, 1]) - y) <= 1.0
    assert np.allclose(img.from_level0(lvl), pts)
    # the ground size of an output pixel is now 1 m along both axes
    a, b, c = t.px_to_lonlat(img.to_level0(np.array([[50.0, 50.0], [51.0, 50.0], [50.0, 51.0]])))
    g = Geod(ellps="WGS84")
    assert g.inv(a[0], a[1], b[0], b[1])[2] == pytest.approx(1.0, rel=1e-3)
    assert g.inv(a[0], a[1], c[0], c[1])[2] == pytest.approx(1.0, rel=1e-3)
    # default stays one scale for both axes
    plain = read_tile(t, gsd_m=1.0)
    assert plain.scale == plain.scale_y == pytest.approx(1.0 / t.gsd_m)
    wins = list(iter_windows(t, gsd_m=1.0, window_px=64, square_pixels=True))
    assert all(im.scale_y == pytest.approx(1.0 / gy) for _, im in wins)
    assert all(im.image.shape[0] <= 64 and im.image.shape[1] <= 64 for _, im in wins)


def test_overview_read_is_small_and_consistent(tiles: dict[str, Tile]) -> None:
    t = tiles["overviews"]
    assert t.overviews  # COG with internal overviews
    img = read_tile(t, gsd_m=t.gsd_m * 4)
    assert img.image.shape == (192, 256, 3)
    # green = row % 256 averaged: the centre row of output 100 is level-0 row 401.5 -> 145.5
    assert abs(int(img.image[100, 128, 1]) - 145) <= 2


def test_window_outside_raster_is_invalid(tiles: dict[str, Tile]) -> None:
    t = tiles["utm"]
    img = read_tile(t, window=(-50, -20, 100, 60))
    assert img.image.shape == (60, 100, 3)
    assert not img.valid[:20].any() and not img.valid[:, :50].any()
    assert img.valid[20:, 50:].all()
    assert img.image[25, 60, 2] == 10  # level-0 column 10
    far = read_tile(t, window=(1000, 1000, 10, 10))
    assert not far.valid.any() and far.image.shape == (10, 10, 3)


def test_masks_nodata_alpha_float(tiles: dict[str, Tile]) -> None:
    nd = read_tile(tiles["nodata"])
    assert not nd.valid[:10].any() and not nd.valid[:, :10].any() and nd.valid[10:, 10:].all()
    assert (nd.image[50, 50] == nd.image[50, 50, 0]).all()  # grey replicated
    for name in ("alpha", "alpha_unflagged"):
        a = read_tile(tiles[name])
        assert not a.valid[:, :100].any() and a.valid[:, 100:].all(), name
        assert a.image[3, 150, 2] == 150  # RGB taken from bands 1-3, not the alpha
    nir = read_tile(tiles["rgbnir"])
    assert nir.valid.all() and nir.image[3, 150, 2] == 150 and nir.image[3, 150, 1] == 3
    f = read_tile(tiles["float"])
    assert not f.valid[:5, :5].any() and f.valid[5:, 5:].all()
    assert f.image[:, :, 0][f.valid].max() == 255 and f.image[:, :, 0][f.valid].min() == 0


def test_uint16_stretch_is_consistent_across_windows(tiles: dict[str, Tile]) -> None:
    clear_cache()
    t = tiles["uint16"]
    a = read_tile(t, window=(0, 0, 120, 100))
    b = read_tile(t, window=(60, 50, 120, 100))
    assert a.image.dtype == np.uint8
    assert (a.image[50:100, 60:120] == b.image[0:50, 0:60]).all()
    full = read_tile(t)
    assert full.image[:, :, 2].min() == 0 and full.image[:, :, 2].max() == 255  # 2-98 % stretch
    # monotonic in the data: red rises with the column
    assert (np.diff(full.image[10, :150, 2].astype(int)) >= 0).all()


def test_stretch_sampled_on_a_grid_without_overviews(
    tiles: dict[str, Tile], monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.imagery import bands as raster_bands

    clear_cache()
    ref = read_tile(tiles["uint16"]).image
    clear_cache()
    monkeypatch.setattr(raster_bands, "_GRID_SAMPLE_ABOVE_PX", 100)  # force the 8x8 window grid
    got = read_tile(tiles["uint16"]).image
    clear_cache()
    assert got.shape == ref.shape
    # a sparse sample gives slightly different percentiles, not a different picture
    assert np.abs(got.astype(int) - ref.astype(int)).mean() < 12
    assert got[:, :, 2].max() >= 240 and got[:, :, 2].min() <= 15


def test_jpeg_world_file_reads_close_to_original(tiles: dict[str, Tile]) -> None:
    a = read_tile(tiles["jpeg_world_prj"]).image.astype(int)
    b = read_tile(tiles["utm"]).image.astype(int)
    assert np.abs(a - b).mean() < 6  # JPEG quality 95


def test_palette_expands_colours(tiles: dict[str, Tile]) -> None:
    img = read_tile(tiles["palette"], window=(0, 0, 4, 1))
    # index = column % 4: red, green, blue, white -> BGR
    assert img.image[0].tolist() == [[0, 0, 255], [0, 255, 0], [255, 0, 0], [255, 255, 255]]


def test_max_pixels_raises_scale(tiles: dict[str, Tile]) -> None:
    img = read_tile(tiles["overviews"], max_pixels=10_000)
    h, w = img.valid.shape
    assert h * w <= 10_000 and img.scale > 1.0
    assert w == math.ceil(1024 / img.scale - 1e-9)


@pytest.mark.parametrize(
    "kwargs",
    [{"window": (0, 0, 0, 10)}, {"window": (0, 0, 10)}, {"window": "abc"},
     {"gsd_m": -1.0}, {"gsd_m": float("nan")}, {"max_pixels": 0}],
)
def test_read_tile_bad_arguments(tiles: dict[str, Tile], kwargs: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        read_tile(tiles["utm"], **kwargs)  # type: ignore[arg-type]


def test_read_tile_file_replaced_after_cataloguing(tmp_path: Path, edge: dict[str, Path]) -> None:
    p = tmp_path / "gone.tif"
    p.write_bytes(edge["utm"].read_bytes())
    t = catalog_file(p)
    p.write_text("now text")
    with pytest.raises(RasterOpenError, match=r"gone\.tif"):
        read_tile(t)


def test_read_tile_concurrent_threads(tiles: dict[str, Tile]) -> None:
    t = tiles["overviews"]
    ref = read_tile(t, window=(0, 0, 512, 512), gsd_m=2 * t.gsd_m).image
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3):
                got = read_tile(t, window=(0, 0, 512, 512), gsd_m=2 * t.gsd_m).image
                if not np.array_equal(got, ref):
                    raise AssertionError("thread read differs")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors


# --- iter_windows ----------------------------------------------------------------------


def test_iter_windows_covers_the_raster(tiles: dict[str, Tile]) -> None:
    t = tiles["overviews"]  # 1024 x 768
    got = list(iter_windows(t, gsd_m=2 * t.gsd_m, window_px=128, overlap=0.25))
    covered = np.zeros((t.height, t.width), bool)
    for (c, r, w, h), img in got:
        assert img.image.shape[0] <= 128 and img.image.shape[1] <= 128
        assert img.col_off == c and img.row_off == r and img.scale == pytest.approx(2.0)
        covered[int(r) : int(r + h), int(c) : int(c + w)] = True
    assert covered.all()
    starts = sorted({c for (c, _, _, _), _ in got})
    assert starts[1] - starts[0] == pytest.approx(192)  # 256 level-0 px * (1 - 0.25)
    assert starts[-1] + 256 == pytest.approx(1024)


def test_iter_windows_small_raster_and_cancel(tiles: dict[str, Tile]) -> None:
    t = tiles["utm"]
    got = list(iter_windows(t, window_px=1024))
    assert len(got) == 1 and got[0][0] == (0.0, 0.0, 200.0, 150.0)
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        next(iter_windows(t, cancel=ev))
    with pytest.raises(UsageError):
        next(iter_windows(t, overlap=1.0))


def test_tiles_are_hashable_and_fifo_is_refused(tiles: dict[str, Tile], tmp_path: Path) -> None:
    import os

    assert len({tiles["utm"], tiles["utm"], tiles["vrt"]}) == 2
    fifo = tmp_path / "pipe.tif"
    os.mkfifo(fifo)
    with pytest.raises(RasterOpenError, match="regular file"):
        TileCatalog.from_paths([fifo])
    (tmp_path / "ok.tif").write_bytes(b"")  # an empty .tif beside the FIFO: skipped, named
    with pytest.raises(NoUsableTilesError):
        TileCatalog.from_paths([tmp_path])


def test_unexpected_driver_errors_become_warnings_and_typed_errors(
    edge: dict[str, Path], tiles: dict[str, Tile], monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.imagery import catalog as tiles_mod
    from workbench.imagery import read as raster_io

    real = tiles_mod.catalog_file

    def flaky(path: Path) -> Tile:
        if Path(path).name == "utm.tif":
            raise RuntimeError("driver exploded")
        return real(path)

    monkeypatch.setattr(tiles_mod, "catalog_file", flaky)
    cat = TileCatalog.from_paths([edge["utm"].parent])
    assert edge["utm"] not in [t.path for t in cat.tiles] and len(cat.tiles) > 5
    assert any(str(edge["utm"]) in w and "driver exploded" in w for w in cat.warnings)

    def boom(*_: object) -> None:
        raise RuntimeError("CPLE_AppDefined odd block")

    monkeypatch.setattr(raster_io, "band_layout", boom)
    with pytest.raises(RasterOpenError, match="odd block") as info:
        read_tile(tiles["utm"])
    assert str(edge["utm"]) in str(info.value)
