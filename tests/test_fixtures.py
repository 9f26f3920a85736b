"""The test-data generators: town GeoTIFF, footage renderer, truth, CLI."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import rasterio
from pyproj import Geod, Transformer
from workbench_fixtures.camera import Camera
from workbench_fixtures.cli import main as fixtures_main
from workbench_fixtures.cli import make_demo
from workbench_fixtures.footage import render_footage, render_still
from workbench_fixtures.spec import FootageSpec, ShotSpec
from workbench_fixtures.town import draw_town, make_town_geotiff
from workbench_fixtures.truth import Truth, TruthError

from workbench.errors import (
    NotGeoreferencedError,
    OutputError,
    RasterOpenError,
    UsageError,
)
from workbench.geo import apply_homography, haversine_m, tile_px_to_lonlat

GEOD = Geod(ellps="WGS84")


def decode(path: Path) -> list[np.ndarray]:
    """All frames of a video as (H, W, 3) uint8 BGR."""
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]


def lonlat_to_px(ds: rasterio.DatasetReader, lon: float, lat: float) -> np.ndarray:
    """WGS84 -> raster level-0 px (pixel-centre convention)."""
    x, y = Transformer.from_crs("EPSG:4326", ds.crs, always_xy=True).transform(lon, lat)
    col, row = ~ds.transform @ (x, y)
    return np.array([col - 0.5, row - 0.5])


def small_spec(**kw: object) -> FootageSpec:
    base: dict[str, object] = {
        "shots": [
            ShotSpec(
                duration_s=0.4, heading_deg=40, depression_deg=80, slant_range_m=300, gsd_m=0.3
            )
        ],
        "width": 160,
        "height": 120,
        "fps": 10.0,
        "seed": 5,
    }
    base.update(kw)
    return FootageSpec(**base)  # type: ignore[arg-type]


# --- town ------------------------------------------------------------------------------


def test_town_geotiff_is_georeferenced_tiled_rgb_with_overviews(town_tif: Path) -> None:
    with rasterio.open(town_tif) as ds:
        assert ds.crs.to_epsg() == 32636
        assert (ds.width, ds.height, ds.count) == (2048, 2048, 3)
        assert ds.dtypes == ("uint8", "uint8", "uint8")
        assert ds.profile["tiled"] and ds.block_shapes[0] == (256, 256)
        assert ds.overviews(1) == [2, 4, 8, 16]
        assert abs(ds.transform.a - 0.5) < 1e-9 and abs(ds.transform.e + 0.5) < 1e-9
        centre = tile_px_to_lonlat(
            list(ds.transform)[:6], ds.crs.to_wkt(), np.array([[1023.5, 1023.5]])
        )[0]
        assert haversine_m(centre[0], centre[1], 32.58, 0.35) < 0.5
        # real content, not flat: many distinct colours and strong local contrast
        img = ds.read(out_shape=(3, 512, 512))
        assert img.std() > 20
        assert len(np.unique(img.reshape(3, -1).T // 16, axis=0)) > 100


def test_town_is_deterministic_and_seed_dependent() -> None:
    a = draw_town(seed=4, width=256, height=256)
    b = draw_town(seed=4, width=256, height=256)
    c = draw_town(seed=5, width=256, height=256)
    assert a.shape == (256, 256, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert np.abs(a.astype(int) - c.astype(int)).mean() > 15


def test_town_patches_match_unambiguously(town_tif: Path) -> None:
    """A patch is found at its own place and nowhere else (not a repetitive pattern)."""
    with rasterio.open(town_tif) as ds:
        grey = cv2.cvtColor(
            np.moveaxis(ds.read(out_shape=(3, 1024, 1024)), 0, 2), cv2.COLOR_RGB2GRAY
        )
    rng = np.random.default_rng(0)
    for _ in range(6):
        x, y = rng.integers(100, 1024 - 164, 2)
        patch = grey[y : y + 64, x : x + 64]
        score = cv2.matchTemplate(grey, patch, cv2.TM_CCOEFF_NORMED)
        _, best, _, loc = cv2.minMaxLoc(score)
        assert loc == (x, y)
        score[max(0, y - 16) : y + 16, max(0, x - 16) : x + 16] = -1
        assert score.max() < 0.9 * best


def test_rotated_town_keeps_its_centre(tmp_path: Path) -> None:
    out = make_town_geotiff(
        tmp_path / "r.tif",
        seed=2,
        width=256,
        height=256,
        rotated=True,
        centre_lonlat=(30.5, 50.45),
        crs="EPSG:32636",
    )
    with rasterio.open(out) as ds:
        assert abs(ds.transform.b) > 0.05  # rotated geotransform
        c = tile_px_to_lonlat(list(ds.transform)[:6], ds.crs.to_wkt(), np.array([[127.5, 127.5]]))[
            0
        ]
    assert haversine_m(c[0], c[1], 30.5, 50.45) < 0.5


def test_town_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        make_town_geotiff(tmp_path / "x.tif", width=10)
    with pytest.raises(UsageError):
        make_town_geotiff(tmp_path / "x.tif", width=128, height=128, crs="EPSG:4326")
    assert list(tmp_path.iterdir()) == []


# --- stills: geometry -------------------------------------------------------------------


@pytest.mark.parametrize("heading", [0.0, 37.0, 250.0])
def test_nadir_still_geometry(town_tif: Path, heading: float) -> None:
    target = (32.5809, 0.3509)
    cam = Camera(target, heading_deg=heading, depression_deg=90, slant_range_m=300, hfov_deg=25)
    img, h = render_still(town_tif, cam, width=320, height=240)
    assert img.shape == (240, 320, 3) and img.dtype == np.uint8
    gsd = 300 * 2 * math.tan(math.radians(12.5)) / 320
    with rasterio.open(town_tif) as ds:
        tpx = lonlat_to_px(ds, *target)
        # the target lands on the centre pixel
        assert np.allclose(apply_homography(h, tpx[None])[0], (159.5, 119.5), atol=0.05)
        # a point 40 m east lands 40/gsd px along the image's "east" direction
        lon, lat, _ = GEOD.fwd(target[0], target[1], 90.0, 40.0)
        got = apply_homography(h, lonlat_to_px(ds, lon, lat)[None])[0]
    a = math.radians(heading)
    want = (159.5 + 40 / gsd * math.cos(a), 119.5 - 40 / gsd * math.sin(a))
    assert np.allclose(got, want, atol=0.5)


def test_nadir_still_shows_the_raster(town_tif: Path) -> None:
    """North-up nadir view at the raster's own resolution == the raster crop."""
    target = (32.5809, 0.3509)
    hfov = math.degrees(2 * math.atan(0.5 * 200 / (2 * 400)))  # 0.5 m/px at 400 m
    img, _ = render_still(town_tif, Camera(target, 0.0, 90.0, 400.0, hfov), width=200, height=200)
    with rasterio.open(town_tif) as ds:
        col, row = np.round(lonlat_to_px(ds, *target)).astype(int)
        crop = np.moveaxis(ds.read(window=((row - 100, row + 100), (col - 100, col + 100))), 0, 2)[
            ..., ::-1
        ]
    ncc = cv2.matchTemplate(img[20:180, 20:180], np.ascontiguousarray(crop), cv2.TM_CCOEFF_NORMED)
    _, best, _, loc = cv2.minMaxLoc(ncc)
    assert best > 0.9
    assert abs(loc[0] - 20) <= 1 and abs(loc[1] - 20) <= 1


def test_still_rejects_targets_off_the_raster(town_tif: Path) -> None:
    with pytest.raises(UsageError, match="outside the raster"):
        render_still(town_tif, Camera((10.0, 10.0)))
    with pytest.raises(UsageError):
        render_still(town_tif, Camera((32.58, 0.35), depression_deg=2.0))


def test_unusable_rasters_raise_typed_errors(tmp_path: Path) -> None:
    with pytest.raises(RasterOpenError):
        render_still(tmp_path / "missing.tif", Camera((0, 0)))
    png = tmp_path / "plain.png"
    cv2.imwrite(str(png), np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(NotGeoreferencedError):
        render_still(png, Camera((0, 0)))


# --- footage and truth ----------------------------------------------------------------


def test_cut_clip_frame_ranges_and_truth(cut_clip) -> None:  # type: ignore[no-untyped-def]
    t: Truth = cut_clip.truth
    frames = decode(cut_clip.video)
    assert len(frames) == t.frame_count == len(t.frames)
    assert frames[0].shape == (240, 320, 3)
    assert t.title_card == {"start_frame": 0, "end_frame": 25}
    kinds = [(s.start_frame, s.end_frame, s.kind) for s in t.shots]
    assert kinds[0] == (0, 25, "title_card")
    assert [k for *_, k in kinds[1:]] == ["footage"] * 3
    # shots tile the clip without gaps
    assert all(a.end_frame == b.start_frame for a, b in zip(t.shots, t.shots[1:], strict=False))
    assert t.shots[-1].end_frame == t.frame_count
    for f in t.frames[:25]:
        assert f.homography() is None and f.camera is None
    for f in t.frames[25:]:
        assert f.homography() is not None and f.camera is not None
    # the title card is dark, footage is not
    assert frames[5].mean() < 50 and frames[40].mean() > 60

    # hard cuts: a big change across each cut, small changes inside shots
    def diff(i: int) -> float:
        return float(np.abs(frames[i].astype(int) - frames[i - 1].astype(int)).mean())

    cuts = t.cut_frames()
    inside = [diff(i) for i in range(26, t.frame_count) if i not in cuts]
    assert min(diff(c) for c in cuts) > 3 * np.median(inside)


def test_truth_centre_and_target_are_consistent(cut_clip) -> None:  # type: ignore[no-untyped-def]
    t: Truth = cut_clip.truth
    with rasterio.open(cut_clip.raster) as ds:
        for f in t.frames[25:]:
            shot = t.shots[f.shot]
            assert shot.target is not None and f.centre is not None and f.target_px is not None
            h = f.homography()
            assert h is not None
            tpx = apply_homography(
                h, lonlat_to_px(ds, shot.target["lon"], shot.target["lat"])[None]
            )
            assert np.allclose(tpx[0], f.target_px, atol=1e-6)
            # no shake: the target is on the centre pixel, and the centre is the target
            assert np.allclose(tpx[0], (159.5, 119.5), atol=0.05)
            d = haversine_m(
                f.centre["lon"], f.centre["lat"], shot.target["lon"], shot.target["lat"]
            )
            assert d < 0.5 * (f.gsd_m or 0)
            back = t.frame_px_to_lonlat(f.index, np.array([[159.5, 119.5]]))[0]
            assert haversine_m(back[0], back[1], f.centre["lon"], f.centre["lat"]) < 1e-3
            assert f.camera is not None and f.camera.alt_m > 0


def test_truth_file_roundtrip_and_bad_files(cut_clip, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    loaded = Truth.load(cut_clip.truth_path)
    assert loaded == cut_clip.truth.__class__.load(cut_clip.truth_path)
    data = json.loads(cut_clip.truth_path.read_text())
    assert data["schema"] == "workbench.fixtures.truth/1"
    assert len(data["frames"][40]["homography_raster_to_frame"]) == 3
    assert (cut_clip.truth_path.parent / loaded.video).resolve() == cut_clip.video.resolve()
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(TruthError, match=r"bad\.json"):
        Truth.load(bad)
    bad.write_text('{"schema": "other"}')
    with pytest.raises(TruthError):
        Truth.load(bad)


def test_hud_mask_covers_what_the_hud_drew(town_tif: Path, tmp_path: Path) -> None:
    spec = dict(
        crf=0,
        shots=[
            ShotSpec(
                duration_s=0.3,
                target_lonlat=(32.5809, 0.3509),
                depression_deg=75,
                slant_range_m=400,
                gsd_m=0.4,
            )
        ],
        width=320,
        height=240,
    )
    plain = render_footage(town_tif, tmp_path / "a.mp4", small_spec(**spec))
    hud = render_footage(
        town_tif,
        tmp_path / "b.mp4",
        small_spec(hud=True, **spec),
        truth_path=tmp_path / "b.truth.json",
    )
    assert plain.hud_mask is None
    mask_path = hud.hud_mask_path(tmp_path / "b.truth.json")
    assert mask_path is not None
    mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
    assert mask.shape == (240, 320) and set(np.unique(mask)) <= {0, 255}
    coverage = (mask > 0).mean()
    assert 0.01 < coverage < 0.2
    shot0 = cv2.imread(str(tmp_path / hud.hud_mask_shots[0]), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(shot0, mask)  # one shot: the union is that shot's mask
    a, b = decode(tmp_path / "a.mp4"), decode(tmp_path / "b.mp4")
    changed = np.zeros(mask.shape, bool)
    for fa, fb in zip(a, b, strict=True):
        changed |= np.abs(fa.astype(int) - fb.astype(int)).max(axis=2) > 40
    near = cv2.dilate(mask, np.ones((5, 5), np.uint8)) > 0
    assert changed.sum() > 500
    assert (changed & ~near).sum() < 0.01 * changed.sum()  # HUD drew only inside the mask
    assert (changed & (mask > 0)).sum() > 0.3 * (mask > 0).sum()  # and the mask is not padded


def test_render_is_deterministic(town_tif: Path, tmp_path: Path) -> None:
    spec = small_spec(shake_deg=0.5, noise_sigma=4, hud=True, thermal="whitehot")
    t1 = render_footage(town_tif, tmp_path / "1.mp4", spec)
    t2 = render_footage(town_tif, tmp_path / "2.mp4", spec)
    assert (tmp_path / "1.mp4").read_bytes() == (tmp_path / "2.mp4").read_bytes()
    assert [f.homography_raster_to_frame for f in t1.frames] == [
        f.homography_raster_to_frame for f in t2.frames
    ]
    t3 = render_footage(town_tif, tmp_path / "3.mp4", small_spec(shake_deg=0.5, seed=6))
    assert t3.frames[2].camera != t1.frames[2].camera
    # shake moves the target off the centre, and the truth says where it went
    assert (
        max(
            math.hypot(f.target_px[0] - 79.5, f.target_px[1] - 59.5)
            for f in t1.frames
            if f.target_px
        )
        > 0.3
    )


def test_thermal_frames_are_grey(town_tif: Path, tmp_path: Path) -> None:
    render_footage(town_tif, tmp_path / "t.mp4", small_spec(thermal="whitehot", crf=10))
    f = decode(tmp_path / "t.mp4")[1].astype(int)
    # no chroma: the channels differ by a constant (YUV rounding) at most
    assert (f[..., 0] - f[..., 1]).std() < 1.5 and (f[..., 2] - f[..., 1]).std() < 1.5
    assert f.std() > 20


def test_fade_transition_dims_frames(town_tif: Path, tmp_path: Path) -> None:
    shots = [
        ShotSpec(duration_s=1.0, depression_deg=80, slant_range_m=300, gsd_m=0.4),
        ShotSpec(
            duration_s=1.0,
            heading_deg=180,
            depression_deg=80,
            slant_range_m=300,
            gsd_m=0.4,
            transition="fade",
        ),
    ]
    t = render_footage(town_tif, tmp_path / "f.mp4", small_spec(shots=shots, fade_s=0.3))
    assert t.shots[1].transition == "fade"
    fades = [f.fade for f in t.frames]
    assert fades[0] == 1.0 and min(fades) < 0.5
    assert fades[t.shots[1].start_frame] < 0.5 and fades[-1] == 1.0


def test_bad_specs_and_outputs(town_tif: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        render_footage(town_tif, tmp_path / "x.mp4", small_spec(width=161))
    with pytest.raises(UsageError, match="horizon"):
        render_footage(
            town_tif,
            tmp_path / "x.mp4",
            small_spec(shots=[ShotSpec(depression_deg=10, hfov_deg=60)]),
        )
    with pytest.raises(UsageError, match="outside the raster"):
        render_footage(town_tif, tmp_path / "x.mp4", small_spec(target_lonlat=(0.0, 0.0)))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError):
        render_footage(town_tif, blocker / "x.mp4", small_spec())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # nothing half-written


# --- CLI and demo ---------------------------------------------------------------------


def test_demo_data(demo_data: Path) -> None:
    t = Truth.load(demo_data / "strike.truth.json")
    assert (demo_data / "tiles" / "town.tif").is_file()
    assert (demo_data / "tiles" / "other_town.tif").is_file()
    assert t.fps == 25 and (t.width, t.height) == (640, 360) and t.frame_count == 250
    assert t.title_card == {"start_frame": 0, "end_frame": 38}
    foot = t.footage_shots()
    assert len(foot) == 2 and all(s.transition == "cut" for s in foot)
    gsds = [f.gsd_m for f in t.frames if f.gsd_m]
    assert min(gsds) > 0.1 and max(gsds) <= 0.25 + 1e-6  # 2-4x finer than the 0.5 m tile
    deps = [f.camera.depression_deg for f in t.frames if f.camera]
    assert min(deps) > 44 and max(deps) < 71
    heads = [f.camera.heading_deg for f in t.frames[38:120] if f.camera]
    assert heads[-1] - heads[0] > 10  # orbit
    with rasterio.open(demo_data / "tiles" / "other_town.tif") as ds:
        lon, lat = ds.lnglat()
        assert haversine_m(lon, lat, t.target["lon"], t.target["lat"]) > 100_000
    frames = decode(demo_data / "strike.mp4")
    assert len(frames) == 250 and frames[0].shape == (360, 640, 3)
    mtime = (demo_data / "strike.mp4").stat().st_mtime_ns
    make_demo(demo_data)  # idempotent: complete set is left alone
    assert (demo_data / "strike.mp4").stat().st_mtime_ns == mtime


def test_cli_town_and_footage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tif = tmp_path / "t.tif"
    assert fixtures_main(["town", str(tif), "--seed", "3", "--size", "512x384"]) == 0
    with rasterio.open(tif) as ds:
        assert (ds.width, ds.height) == (512, 384)
    mp4 = tmp_path / "c.mp4"
    rc = fixtures_main(
        [
            "footage",
            str(tif),
            str(mp4),
            "--size",
            "160x120",
            "--duration",
            "0.3",
            "--fps",
            "10",
            "--cuts",
            "2",
            "--hud",
            "--title-card",
            "0.5",
            "--thermal",
            "whitehot",
            "--gsd",
            "0.4",
            "--zoom",
            "1.5",
            "--range",
            "300",
            "--depression",
            "70,80",
            "--orbit",
            "10",
        ]
    )
    assert rc == 0
    t = Truth.load(tmp_path / "c.truth.json")
    assert len(t.footage_shots()) == 3 and t.title_card == {"start_frame": 0, "end_frame": 5}
    assert len(decode(mp4)) == t.frame_count == 5 + 3 * 3


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = fixtures_main(["footage", str(tmp_path / "none.tif"), str(tmp_path / "o.mp4")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "none.tif" in err
    with pytest.raises(SystemExit) as exc:
        fixtures_main(["footage", "a.tif", "b.mp4", "--depression", "x"])
    assert exc.value.code == 2


# --- real imagery -------------------------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("rel", "rng"),
    [
        ("vegas_spacenet/RGB-PanSharpen_AOI_2_Vegas_img0.tif", 150.0),  # EPSG:4326, RGBA
        ("sentinel2_virginia/s2_rgb_B04B03B02_10m.tif", 6000.0),  # UTM, uint16
        ("kampala_oam/oam_z20_part0.tif", 120.0),  # EPSG:3857, RGBA
    ],
)
def test_real_rasters(shared_data: Path, rel: str, rng: float, tmp_path: Path) -> None:
    path = shared_data / "imagery" / rel
    with rasterio.open(path) as ds:
        lon, lat = ds.lnglat()
        tpx = lonlat_to_px(ds, lon, lat)
    cam = Camera((lon, lat), heading_deg=30, depression_deg=90, slant_range_m=rng, hfov_deg=20)
    img, h = render_still(path, cam, width=320, height=240)
    assert np.allclose(apply_homography(h, tpx[None])[0], (159.5, 119.5), atol=0.1)
    assert img.mean() > 30 and img.std() > 10  # stretched, not black or saturated
    t = render_footage(
        path,
        tmp_path / "r.mp4",
        small_spec(
            shots=[
                ShotSpec(
                    duration_s=0.3,
                    heading_deg=120,
                    orbit_deg_per_s=20,
                    depression_deg=60,
                    slant_range_m=rng,
                    hfov_deg=20,
                )
            ],
            hud=True,
        ),
    )
    f = t.frames[-1]
    assert f.centre is not None
    assert haversine_m(f.centre["lon"], f.centre["lat"], lon, lat) < 2 * (f.gsd_m or 0)


# --- other rasters, progress, cancel ----------------------------------------------------


def test_truth_homography_for_another_raster(cut_clip) -> None:  # type: ignore[no-untyped-def]
    t: Truth = cut_clip.truth
    f = t.frames[60]
    own = t.homography_for_raster(60, t.raster_transform, t.raster_crs)
    assert own is not None and t.homography_for_raster(0, t.raster_transform, t.raster_crs) is None
    pts = np.array([[100.0, 200.0], [900.0, 1300.0], [1500.0, 700.0]])
    assert np.allclose(apply_homography(own, pts), apply_homography(f.homography(), pts), atol=0.05)
    # the same ground on a 2x coarser grid in another CRS (geographic)
    with rasterio.open(cut_clip.raster) as ds:
        b_tf, b_crs = _coarse_geographic_grid(ds)
    hb = t.homography_for_raster(60, b_tf, b_crs)
    assert hb is not None and t.target is not None
    geo_px = ~b_tf @ (t.shots[1].target["lon"], t.shots[1].target["lat"])  # type: ignore[index]
    got = apply_homography(hb, np.array([[geo_px[0] - 0.5, geo_px[1] - 0.5]]))[0]
    assert np.allclose(got, f.target_px, atol=0.2)


def _coarse_geographic_grid(ds: rasterio.DatasetReader) -> tuple[rasterio.Affine, str]:
    lon, lat = ds.lnglat()
    deg = 1.0 / 111_320  # about 1 m
    return rasterio.Affine(deg, 0, lon - 500 * deg, 0, -deg, lat + 500 * deg), "EPSG:4326"


def test_rotated_raster_footage(tmp_path: Path) -> None:
    tif = make_town_geotiff(tmp_path / "rot.tif", seed=9, width=768, height=768, rotated=True)
    with rasterio.open(tif) as ds:
        lon, lat = ds.lnglat()
    cam = Camera((lon, lat), heading_deg=0, depression_deg=90, slant_range_m=150, hfov_deg=30)
    img, h = render_still(tif, cam, width=160, height=120)
    gsd = 150 * 2 * math.tan(math.radians(15)) / 160
    with rasterio.open(tif) as ds:
        e_lon, e_lat, _ = GEOD.fwd(lon, lat, 90.0, 20.0)
        got = apply_homography(h, lonlat_to_px(ds, e_lon, e_lat)[None])[0]
    # north-up picture even though the raster grid is rotated: east is to the right
    assert np.allclose(got, (79.5 + 20 / gsd, 59.5), atol=0.5)
    assert img.mean() > 40


def test_grey_uint16_raster_with_nodata(tmp_path: Path) -> None:
    path = tmp_path / "g16.tif"
    rng = np.random.default_rng(0)
    data = (cv2.resize(rng.random((16, 16)), (200, 200)) * 3000 + 1000).astype(np.uint16)
    data[:, :60] = 0  # nodata strip on the west
    prof = {
        "driver": "GTiff",
        "width": 200,
        "height": 200,
        "count": 1,
        "dtype": "uint16",
        "crs": "EPSG:32618",
        "transform": rasterio.Affine(2, 0, 400000, 0, -2, 4100000),
        "nodata": 0,
    }
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(data, 1)
    with rasterio.open(path) as ds:
        lon, lat = ds.lnglat()
    img, _ = render_still(path, Camera((lon, lat), 0, 90, 400, 40), width=160, height=120)
    assert np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2])
    west, east = img[:, :8], img[:, -40:]
    assert west.max() == 0  # nodata and outside the raster stay black
    assert east.mean() > 40 and east.std() > 10  # stretched uint16


def test_progress_and_cancel(town_tif: Path, tmp_path: Path) -> None:
    import threading

    from workbench.errors import Cancelled

    seen: list[float] = []
    render_footage(
        town_tif, tmp_path / "p.mp4", small_spec(), progress=lambda stage, f: seen.append(f)
    )
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    ev = threading.Event()

    def stop(stage: str, f: float) -> None:
        if f > 0.3:
            ev.set()

    with pytest.raises(Cancelled):
        render_footage(
            town_tif,
            tmp_path / "c.mp4",
            small_spec(),
            progress=stop,
            cancel=ev,
            truth_path=tmp_path / "c.truth.json",
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.mp4"]


def test_coverage_reports_frames_beyond_the_raster(tmp_path: Path) -> None:
    tif = make_town_geotiff(tmp_path / "s.tif", seed=1, width=256, height=256)
    with rasterio.open(tif) as ds:
        corner = tile_px_to_lonlat(
            list(ds.transform)[:6], ds.crs.to_wkt(), np.array([[2.0, 2.0], [128.0, 128.0]])
        )
    shot = dict(duration_s=0.2, depression_deg=90, slant_range_m=150, hfov_deg=30)
    t = render_footage(
        tif,
        tmp_path / "a.mp4",
        small_spec(
            shots=[
                ShotSpec(target_lonlat=tuple(corner[0]), **shot),  # type: ignore[arg-type]
                ShotSpec(target_lonlat=tuple(corner[1]), **shot),
            ]
        ),
    )  # type: ignore[arg-type]
    first, second = t.frames[0].coverage, t.frames[-1].coverage
    assert 0.15 < first < 0.4  # a quarter of the view is on the raster
    assert second > 0.99


def test_ground_detail_and_tone_change_pixels_not_geometry(town_tif: Path, tmp_path: Path) -> None:
    shot = [
        ShotSpec(
            duration_s=0.3,
            target_lonlat=(32.58304, 0.35074),
            depression_deg=60,
            slant_range_m=400,
            gsd_m=0.15,
        )
    ]
    base = render_footage(town_tif, tmp_path / "a.mp4", small_spec(shots=shot, crf=5))
    det = render_footage(
        town_tif,
        tmp_path / "b.mp4",
        small_spec(shots=shot, crf=5, ground_detail=0.15, gamma=1.3, saturation=0.5),
    )
    assert [f.homography_raster_to_frame for f in base.frames] == [
        f.homography_raster_to_frame for f in det.frames
    ]
    a, b = decode(tmp_path / "a.mp4")[1], decode(tmp_path / "b.mp4")[1]

    def sharp(img: np.ndarray) -> float:
        return float(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())

    assert sharp(b) > 1.5 * sharp(a)  # finer detail than the 0.5 m raster can give
    sat = lambda im: cv2.cvtColor(im, cv2.COLOR_BGR2HSV)[..., 1].mean()  # noqa: E731
    assert sat(b) < 0.8 * sat(a)
    with pytest.raises(UsageError):
        render_footage(town_tif, tmp_path / "c.mp4", small_spec(gamma=0.0))


def test_truth_agrees_with_an_independent_image_match(cut_clip) -> None:  # type: ignore[no-untyped-def]
    """SIFT + RANSAC between a decoded frame and the raster finds the truth's geometry."""
    t: Truth = cut_clip.truth
    frames = decode(cut_clip.video)
    sift = cv2.SIFT_create(3000)
    centre = np.array([[(t.width - 1) / 2, (t.height - 1) / 2]])
    with rasterio.open(cut_clip.raster) as ds:
        for i in (70, 110):
            h = t.frames[i].homography()
            assert h is not None
            want = apply_homography(np.linalg.inv(h), centre)[0]
            x0, y0 = (want - 300).astype(int)
            crop = np.moveaxis(ds.read([1, 2, 3], window=((y0, y0 + 600), (x0, x0 + 600))), 0, 2)
            g_tile = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
            g_frame = cv2.cvtColor(frames[i], cv2.COLOR_BGR2GRAY)
            k1, d1 = sift.detectAndCompute(g_frame, None)
            k2, d2 = sift.detectAndCompute(g_tile, None)
            pairs = cv2.BFMatcher().knnMatch(d1, d2, k=2)
            good = [a for a, b in pairs if a.distance < 0.8 * b.distance]
            p1 = np.float32([k1[a.queryIdx].pt for a in good])
            p2 = np.float32([k2[a.trainIdx].pt for a in good]) + np.float32([x0, y0])
            est, inliers = cv2.findHomography(p1, p2, cv2.RANSAC, 4.0)
            assert est is not None and inliers.sum() >= 15
            got = apply_homography(est, centre)[0]
            assert np.linalg.norm(got - want) < 3.0  # tile px (0.5 m)


def test_demo_cancel_leaves_no_manifest(tmp_path: Path) -> None:
    import threading

    from workbench.errors import Cancelled

    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        make_demo(tmp_path / "d", cancel=ev)
    assert not (tmp_path / "d" / "demo.json").exists()


def test_altitude_and_zoom_schedule(town_tif: Path, tmp_path: Path) -> None:
    shot = ShotSpec(
        duration_s=1.6,
        target_lonlat=(32.5809, 0.3509),
        altitude_m=300.0,
        depression_deg=(50.0, 80.0),
        hfov_deg=(20.0, 20.0, 5.0, 5.0),
    )
    t = render_footage(town_tif, tmp_path / "z.mp4", small_spec(shots=[shot]))
    cams = [f.camera for f in t.frames if f.camera]
    assert len(cams) == 16
    assert all(abs(c.alt_m - 300.0) < 1e-6 for c in cams)  # constant height, slant varies
    assert cams[0].slant_range_m > cams[-1].slant_range_m
    hfov = [c.hfov_deg for c in cams]
    assert hfov[0] == pytest.approx(20.0) and hfov[-1] == pytest.approx(5.0)
    assert hfov[:4] == pytest.approx([20.0] * 4, abs=0.5)  # hold, then zoom in, then hold
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(hfov))
    with pytest.raises(UsageError):
        small_spec(shots=[ShotSpec(hfov_deg=(20.0, -1.0))]).validate()


def test_pillarbox_drone_hud_and_watermark(town_tif: Path, tmp_path: Path) -> None:
    shot = ShotSpec(
        duration_s=0.3,
        target_lonlat=(32.5809, 0.3509),
        depression_deg=60,
        slant_range_m=400,
        gsd_m=0.3,
    )
    t = render_footage(
        town_tif,
        tmp_path / "p.mp4",
        small_spec(
            shots=[shot],
            width=320,
            height=240,
            bars_px=(40, 0),
            hud=True,
            hud_style="drone",
            watermark="@channel",
            crf=10,
        ),
        truth_path=tmp_path / "p.truth.json",
    )
    assert t.content_box == [40, 0, 280, 240]
    f = t.frames[1]
    assert f.target_px is not None and np.allclose(f.target_px, (159.5, 119.5), atol=0.05)
    assert f.gsd_m == pytest.approx(0.3)  # of the 240 px wide picture, not the 320 px frame
    img = decode(tmp_path / "p.mp4")[1]
    assert img[:, :36].max() < 20 and img[:, -36:].max() < 20  # black bars
    mask = cv2.imread(str(tmp_path / "p.hud.png"), cv2.IMREAD_GRAYSCALE)
    assert mask[:, :40].max() == 0 and mask[:, 280:].max() == 0
    assert mask[200:225, 180:280].mean() > 10  # the watermark is in the mask
    assert mask[100:140, 140:180].max() == 0  # drone style: no crosshair


def test_every_edge_case_raster_renders_or_fails_typed(tmp_path: Path) -> None:
    """Untrusted rasters: a picture, or a one-line WorkbenchError naming the file."""
    from workbench_fixtures.rasters import make_edge_rasters
    from workbench_fixtures.source import RasterSource
    from workbench_fixtures.view import raster_centre_lonlat

    from workbench.errors import WorkbenchError

    rendered = []
    for name, path in make_edge_rasters(tmp_path).items():
        try:
            with RasterSource(path) as src:
                centre = raster_centre_lonlat(src)
            img, _ = render_still(path, Camera(centre, 0, 90, 100, 20), width=64, height=48)
        except WorkbenchError as exc:
            assert "\n" not in str(exc) and Path(path).name in str(exc), name
            continue
        assert img.shape == (48, 64, 3)
        rendered.append(name)
    for good in ("utm", "geographic", "webmerc", "rotated", "uint16", "palette", "rgbnir"):
        assert good in rendered
